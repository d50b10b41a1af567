//! Faults, for real on the testbed: the operator killed mid-convergence, a leader cut off from
//! the API server, a deletion GoAlert refuses, a key for another document. The CI-sized
//! versions run here; `e2e/faults.sh` runs the long ones (FAULTS_LONG=1) and writes a report.
#![cfg(feature = "e2e")]

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use e2e::{
    Operator, eventually,
    faults::{Finding, Seeded, TcpProxy, apiserver_address, count_by_name, long},
    kube_client, kubectl, namespace,
    scene::{CONVERGE, scene, scene_with, secret_value, unique_email, user_yaml},
    testbed, unique_name,
};
use goalert_client::OPERATOR_DOCUMENT;
use goalert_provisioning::api::{GoAlertEscalationPolicy, GoAlertService, GoAlertUser};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, api::ListParams};
use serde_json::json;

fn policy_yaml(name: &str, goalert_name: &str, user: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: {name}\nspec:\n  escalationPolicyName: {goalert_name}\n  steps:\n    - delayMinutes: 5\n      targets: [{{userRef: {{name: {user}}}}}]\n"
    )
}

fn service_yaml(name: &str, goalert_name: &str, policy: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertService\nmetadata:\n  name: {name}\nspec:\n  serviceName: {goalert_name}\n  escalationPolicyRef: {{name: {policy}}}\n  integrationKeys:\n    - name: generic\n      secretRef: {{name: {name}-keys, key: url}}\n"
    )
}

#[tokio::test]
async fn a_deletion_goalert_refuses_shows_on_the_resource_until_retain_lets_it_go() {
    let scene = scene("blocked").await;
    scene.apply(&user_yaml("u1", &unique_email("blocked")));
    scene.apply(&policy_yaml("policy", &unique_name("Blocked"), "u1"));
    let policy_id = scene.ready::<GoAlertEscalationPolicy>("policy").await;
    // A service made by hand in GoAlert, which no resource knows about, uses the policy.
    let hand_made = scene
        .graphql(
            "mutation($input: CreateServiceInput!) { createService(input: $input) { id } }",
            json!({ "input": { "name": unique_name("Hand made"), "escalationPolicyID": policy_id } }),
        )
        .await["createService"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let (ok, _, stderr) = kubectl(
        &[
            "delete",
            "-n",
            &scene.namespace,
            "goalertescalationpolicy",
            "policy",
            "--wait=false",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let message = scene
        .not_ready::<GoAlertEscalationPolicy>("policy", "DeletionBlocked")
        .await;
    for part in ["in use", "services", &policy_id, "deletionPolicy: Retain"] {
        assert!(message.contains(part), "{part:?} missing from {message:?}");
    }
    scene
        .wait_for_event("policy", "DeletionBlocked: cannot delete")
        .await;
    let (_, table, _) = kubectl(
        &["get", "-n", &scene.namespace, "goalertescalationpolicy", "policy"],
        None,
    );
    assert!(
        table.contains("DeletionBlocked"),
        "kubectl get shows why: {table}"
    );
    let kept = scene
        .graphql(
            "query($id: ID!) { escalationPolicy(id: $id) { id } }",
            json!({ "id": policy_id }),
        )
        .await;
    assert_eq!(kept["escalationPolicy"]["id"], policy_id.as_str());

    // The second way out: keep it in GoAlert and let the resource go.
    scene
        .patch_spec::<GoAlertEscalationPolicy>("policy", json!({ "deletionPolicy": "Retain" }))
        .await;
    let api = scene.api::<GoAlertEscalationPolicy>();
    eventually("the resource is gone", CONVERGE, || async {
        match api.get_opt("policy").await.map_err(|e| e.to_string())? {
            None => Ok(()),
            Some(policy) => Err(format!("{:?}", policy.status)),
        }
    })
    .await;
    scene.wait_for_event("policy", "Retained").await;
    Finding {
        scenario: "deletion refused by GoAlert",
        done: "a policy deleted while a hand-made GoAlert service uses it; then deletionPolicy: Retain".into(),
        checked: "Ready False DeletionBlocked in kubectl get, a Warning Event naming the use and both ways out, the policy kept in GoAlert; Retain lets the resource go".into(),
        objects: 2,
        ..Finding::default()
    }
    .record();
    scene
        .graphql(
            "mutation($t: [TargetInput!]) { deleteAll(input: $t) }",
            json!({ "t": [
                { "type": "service", "id": hand_made },
                { "type": "escalationPolicy", "id": policy_id },
            ]}),
        )
        .await;
    e2e::remove_goalert_objects(&scene.namespace);
}

/// Sum of the operator's GoAlert requests so far, every operation and result.
/// Watches the operator's GoAlert requests for 30 s while `resources` resources keep failing,
/// and asserts they stay within what backoff allows. Returns the window, the count and the bound.
async fn no_retry_storm(operator: &Operator, resources: usize) -> (Duration, u64, u64) {
    let before = goalert_requests(operator).await;
    let window = Duration::from_secs(30);
    tokio::time::sleep(window).await;
    let requests = goalert_requests(operator).await - before;
    // Backoff doubles from 5 s: at most 3 retries per resource in 30 s, plus the readiness check.
    let bound = (resources as u64) * 3 + 2;
    assert!(
        requests <= bound,
        "{requests} GoAlert requests in {window:?} (at most {bound})"
    );
    (window, requests, bound)
}

async fn goalert_requests(operator: &Operator) -> u64 {
    let (_, metrics) = operator.get("/metrics").await;
    metrics
        .lines()
        .filter(|l| l.starts_with("goalert_provisioning_goalert_requests_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test]
async fn a_key_for_another_document_is_one_clear_condition_and_no_retry_storm() {
    // A key minted for an older operator version's document.
    let old_document = format!("{OPERATOR_DOCUMENT}\n# an older operator version\n");
    let key = testbed().mint_api_key(&old_document).await;
    let scene = scene_with("oldkey", &[("GOALERT_API_KEY", key.as_str())]).await;
    let users = 3;
    for i in 0..users {
        scene.apply(&user_yaml(&format!("u{i}"), &unique_email("oldkey")));
    }
    for i in 0..users {
        let message = scene
            .not_ready::<GoAlertUser>(&format!("u{i}"), "GoAlertUnauthorized")
            .await;
        assert!(
            message.contains("print-api-key-query"),
            "says how to fix it: {message}"
        );
    }
    let (window, requests, bound) = no_retry_storm(&scene.operator, users).await;
    let logs = scene.operator.logs();
    let lines = logs
        .lines()
        .filter(|l| l.contains("different GraphQL document") && !l.contains("DEBUG"))
        .count();
    assert!(
        lines <= users + 1,
        "one line per resource and one for the operator, not per retry: {lines}\n{logs}"
    );
    let (_, metrics) = scene.operator.get("/metrics").await;
    assert!(
        metrics.contains(r#"controller_runtime_reconcile_total{controller="goalertuser",result="error"}"#),
        "the failures are visible in metrics:\n{metrics}"
    );
    Finding {
        scenario: "API key for another document",
        done: format!("an operator started with a key minted for an older document; {users} users applied"),
        checked: format!(
            "each user Ready False GoAlertUnauthorized saying how to mint a key; {requests} GoAlert requests in {}s (bound {bound}); {lines} warning lines",
            window.as_secs()
        ),
        objects: users,
        ..Finding::default()
    }
    .record();
    e2e::remove_goalert_objects(&scene.namespace);
}

async fn leads(operator: &Operator) -> bool {
    let (_, metrics) = operator.get("/metrics").await;
    metrics.lines().any(|l| l == "goalert_provisioning_leader 1")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_cut_off_from_the_api_server_stops_before_another_takes_over() {
    let namespace = namespace("partition").await;
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let proxy = TcpProxy::start(apiserver_address()).await;
    let dir = tempfile::tempdir().unwrap();
    let through_proxy = proxy.kubeconfig(dir.path());
    let through_proxy = through_proxy.to_str().unwrap();
    let start = |identity: &str, kubeconfig: Option<&str>| {
        let mut env = vec![
            ("GOALERT_URL", testbed().goalert_url.as_str()),
            ("GOALERT_API_KEY", key.as_str()),
            ("LEADER_ELECTION", "true"),
            ("LEADER_ELECTION_LEASE_DURATION", "6s"),
            ("POD_NAMESPACE", namespace.as_str()),
            ("POD_NAME", identity),
        ];
        env.extend(kubeconfig.map(|path| ("KUBECONFIG", path)));
        Operator::start(&namespace, &env)
    };
    let mut cut_off = start("cut-off", Some(through_proxy));
    eventually("the first replica leads", CONVERGE, || async {
        if leads(&cut_off).await {
            Ok(())
        } else {
            Err(cut_off.logs())
        }
    })
    .await;
    let other = start("other", None);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(!leads(&other).await, "the second replica follows");

    proxy.cut();
    let cut_at = Instant::now();
    // Sample the follower first: if it leads while the cut-off leader still runs, both could write.
    let deadline = cut_at + Duration::from_secs(30);
    let took_over = loop {
        let other_leads = leads(&other).await;
        let still_running = cut_off.is_running();
        match (other_leads, still_running) {
            (true, true) => panic!("both replicas lead:\n{}", cut_off.logs()),
            (true, false) => break cut_at.elapsed(),
            _ => assert!(
                Instant::now() < deadline,
                "no takeover within 30 s; cut-off runs: {still_running}\n{}",
                cut_off.logs()
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let logs = cut_off.logs();
    assert!(
        logs.contains("could not renew the leader election Lease"),
        "the cut-off leader says why it stopped:\n{logs}"
    );
    Finding {
        scenario: "leader cut off from the API server",
        done: "two replicas, 6 s Lease; the leader's connection to the kube-apiserver cut (process left running)".into(),
        checked: "the cut-off leader exits before the other replica leads; the other takes over".into(),
        seconds_to_recover: took_over.as_secs_f64(),
        ..Finding::default()
    }
    .record();
}

/// Kills the operator (SIGKILL) at seeded random points while resources converge, restarting
/// it each time; then every resource is Ready with exactly one GoAlert object, every key opens
/// an alert, and no key was replaced.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_convergence_leaves_no_duplicates_and_working_keys() {
    let (services, kills) = if long() { (99, 50) } else { (5, 3) };
    let namespace = namespace("crash").await;
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let env = [
        ("GOALERT_URL", testbed().goalert_url.as_str()),
        ("GOALERT_API_KEY", key.as_str()),
    ];
    let run = unique_name("Crash");
    let email = |i: usize| format!("{}-{i}@example.com", run.replace(' ', "-").to_lowercase());
    let mut manifests = String::new();
    for i in 0..services {
        manifests += &format!("{}---\n", user_yaml(&format!("u{i}"), &email(i)));
    }
    manifests += &format!("{}---\n", policy_yaml("policy", &format!("{run} policy"), "u0"));
    for i in 0..services {
        manifests += &format!(
            "{}---\n",
            service_yaml(&format!("s{i}"), &format!("{run} s{i}"), "policy")
        );
    }
    let objects = 2 * services + 1;
    let (ok, _, stderr) = kubectl(&["apply", "-n", &namespace, "-f", "-"], Some(&manifests));
    assert!(ok, "{stderr}");

    let kube = kube_client().await;
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), &namespace);
    let mut first_seen: BTreeMap<String, String> = BTreeMap::new();
    let note_keys = async |first_seen: &mut BTreeMap<String, String>| {
        for secret in secrets.list(&ListParams::default()).await.unwrap() {
            let name = secret.metadata.name.clone().unwrap();
            if name.ends_with("-keys") {
                first_seen
                    .entry(name)
                    .or_insert_with(|| secret_value(&secret, "url"));
            }
        }
    };
    let mut seeded = Seeded::from_env();
    let mut operators = vec![Operator::start(&namespace, &env)];
    for _ in 0..kills {
        tokio::time::sleep(Duration::from_millis(300 + seeded.below(3000))).await;
        operators.last_mut().unwrap().kill();
        note_keys(&mut first_seen).await;
        operators.push(Operator::start(&namespace, &env));
    }
    let restarted = Instant::now();

    let limit = CONVERGE * if long() { 10 } else { 2 };
    let users: Api<GoAlertUser> = Api::namespaced(kube.clone(), &namespace);
    let services_api: Api<GoAlertService> = Api::namespaced(kube.clone(), &namespace);
    let policies: Api<GoAlertEscalationPolicy> = Api::namespaced(kube.clone(), &namespace);
    let ready = |conditions: Option<&Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition>>| {
        conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
    };
    let service_ids: BTreeMap<String, String> = eventually("every resource Ready", limit, || async {
        let users = users
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        let policies = policies
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        let services = services_api
            .list(&ListParams::default())
            .await
            .map_err(|e| e.to_string())?;
        let not_ready = users
            .iter()
            .filter(|u| !ready(u.status.as_ref().map(|s| &s.common.conditions)))
            .count()
            + policies
                .iter()
                .filter(|p| !ready(p.status.as_ref().map(|s| &s.common.conditions)))
                .count()
            + services
                .iter()
                .filter(|s| !ready(s.status.as_ref().map(|s| &s.common.conditions)))
                .count();
        if not_ready > 0 {
            return Err(format!("{not_ready} not Ready"));
        }
        Ok(services
            .iter()
            .map(|s| {
                let id = s
                    .status
                    .as_ref()
                    .and_then(|s| s.common.goalert_id.clone())
                    .unwrap();
                (s.metadata.name.clone().unwrap(), id)
            })
            .collect())
    })
    .await;
    let recovered = restarted.elapsed();
    note_keys(&mut first_seen).await;

    // Counted through GoAlert's API: every object of this run, found by its unique prefix.
    let goalert_services = count_by_name(&testbed().goalert_url, &format!("{run} s"), "services").await;
    let goalert_users = count_by_name(
        &testbed().goalert_url,
        &run.replace(' ', "-").to_lowercase(),
        "users",
    )
    .await;
    let duplicates = goalert_services
        .values()
        .chain(goalert_users.values())
        .filter(|n| **n > 1)
        .count();
    assert_eq!(
        goalert_services.len(),
        services,
        "one GoAlert service per resource: {goalert_services:?}"
    );
    assert_eq!(
        goalert_users.len(),
        services,
        "one GoAlert user per resource: {goalert_users:?}"
    );
    assert_eq!(duplicates, 0, "{goalert_services:?} {goalert_users:?}");

    let mut keys_working = 0;
    for (name, id) in &service_ids {
        let secret = secrets.get(&format!("{name}-keys")).await.unwrap();
        let url = secret_value(&secret, "url");
        assert_eq!(
            first_seen.get(&format!("{name}-keys")),
            Some(&url),
            "{name}: the key first written is the key kept"
        );
        let keys = testbed()
            .admin_graphql(
                "query($id: ID!) { service(id: $id) { integrationKeys { href } } }",
                json!({ "id": id }),
            )
            .await;
        let hrefs = keys["service"]["integrationKeys"].as_array().unwrap();
        assert_eq!(hrefs.len(), 1, "{name}: exactly one integration key: {hrefs:?}");
        assert_eq!(
            hrefs[0]["href"],
            url.as_str(),
            "{name}: the Secret holds GoAlert's key"
        );
        let sent = reqwest::Client::new()
            .post(&url)
            .form(&[("summary", format!("{run} {name}"))])
            .send()
            .await
            .unwrap();
        assert!(sent.status().is_success(), "{name}: {}", sent.status());
        keys_working += 1;
    }
    // GoAlert filters alerts by at most 50 services at a time.
    let ids: Vec<&String> = service_ids.values().collect();
    let mut opened = 0;
    for chunk in ids.chunks(50) {
        let alerts = testbed()
            .admin_graphql(
                "query($ids: [ID!], $s: String!) { alerts(input: { filterByServiceID: $ids, search: $s, first: 100 }) { nodes { id } } }",
                json!({ "ids": chunk, "s": run }),
            )
            .await;
        opened += alerts["alerts"]["nodes"].as_array().unwrap().len();
    }
    assert_eq!(opened, services, "every key opened an alert");

    let logs: String = operators.iter().map(Operator::logs).collect();
    let secrets_leaked = first_seen
        .values()
        .filter(|url| {
            let token = url.rsplit('=').next().unwrap_or(url);
            !token.is_empty() && logs.contains(token)
        })
        .count();
    assert_eq!(secrets_leaked, 0, "integration keys in the operator's logs");
    Finding {
        scenario: "kill -9 mid-convergence",
        done: format!(
            "{objects} resources applied at once; operator killed with SIGKILL {kills} times at seeded random points (0.3-3.3 s after each start) and restarted"
        ),
        checked: "every resource Ready; one GoAlert object per resource (GoAlert API, by name); one integration key per service, equal to the Secret's and to the first one written; each key opens an alert; no key in logs".into(),
        objects,
        duplicates,
        keys_working,
        secrets_leaked,
        seconds_to_recover: recovered.as_secs_f64(),
    }
    .record();
    e2e::remove_goalert_objects(&namespace);
}

/// Mints an admin API key for the operator's document expiring at `expires_at`; returns
/// (id, token).
async fn mint_key(expires_at: &str) -> (String, String) {
    let data = testbed()
        .admin_graphql(
            "mutation($input: CreateGQLAPIKeyInput!) { createGQLAPIKey(input: $input) { id token } }",
            json!({ "input": {
                "name": unique_name("e2e key"),
                "description": "minted by a fault test",
                "expiresAt": expires_at,
                "role": "admin",
                "query": OPERATOR_DOCUMENT,
            }}),
        )
        .await;
    let key = &data["createGQLAPIKey"];
    (
        key["id"].as_str().unwrap().to_owned(),
        key["token"].as_str().unwrap().to_owned(),
    )
}

/// Users made with a key that then stops working (`stop` revokes it or waits for its expiry):
/// each user says so once, with how to fix it, and the operator does not storm GoAlert.
async fn a_key_that_stops_working(scenario: &'static str, prefix: &str, key: &str, stop: impl AsyncFnOnce()) {
    let mut scene = scene_with(prefix, &[("GOALERT_API_KEY", key)]).await;
    let users = 3;
    for i in 0..users {
        scene.apply(&user_yaml(&format!("u{i}"), &unique_email(prefix)));
    }
    for i in 0..users {
        scene.ready::<GoAlertUser>(&format!("u{i}")).await;
    }
    stop().await;
    // Resyncs (every 3 s) find out.
    for i in 0..users {
        let message = scene
            .not_ready::<GoAlertUser>(&format!("u{i}"), "GoAlertUnauthorized")
            .await;
        assert!(
            message.contains("API key") && message.contains("create-api-key"),
            "says how to fix it: {message}"
        );
    }
    let (window, requests, bound) = no_retry_storm(&scene.operator, users).await;
    let logs = scene.operator.logs();
    let lines: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("GoAlert refused the credentials") && !l.contains("DEBUG"))
        .collect();
    assert!(
        !lines.is_empty() && lines.len() <= users + 1,
        "one line per resource and one for the operator, not per retry: {}\n{logs}",
        lines.len()
    );
    assert!(
        lines.iter().all(|l| l.contains("create-api-key")),
        "every line says how to fix it: {lines:?}"
    );
    let (status, readyz) = scene.operator.get("/readyz").await;
    assert!(
        status != 200 && readyz.contains("GoAlert refused the credentials"),
        "/readyz says why: {status} {readyz}"
    );
    Finding {
        scenario,
        done: format!("{users} users Ready under an operator's API key; then the key {prefix}"),
        checked: format!(
            "each user Ready False GoAlertUnauthorized saying how to mint a key; /readyz says why; {requests} GoAlert requests in {}s (bound {bound}); {} warning lines",
            window.as_secs(),
            lines.len()
        ),
        objects: users,
        ..Finding::default()
    }
    .record();
    // The operator cannot delete from GoAlert any more: stop it, let the resources go, and
    // delete their users as GoAlert's administrator.
    scene.operator.kill();
    let mut targets = Vec::new();
    for i in 0..users {
        let name = format!("u{i}");
        let user = scene.api::<GoAlertUser>().get(&name).await.unwrap();
        targets.extend(
            user.status
                .and_then(|s| s.common.goalert_id)
                .map(|id| json!({ "type": "user", "id": id })),
        );
        let (ok, _, stderr) = kubectl(
            &[
                "patch",
                "-n",
                &scene.namespace,
                "goalertuser",
                &name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ],
            None,
        );
        assert!(ok, "{stderr}");
    }
    e2e::remove_goalert_objects(&scene.namespace);
    scene
        .graphql(
            "mutation($t: [TargetInput!]) { deleteAll(input: $t) }",
            json!({ "t": targets }),
        )
        .await;
}

#[tokio::test]
async fn a_revoked_key_is_one_clear_condition_and_no_retry_storm() {
    let (id, key) = mint_key("2099-01-01T00:00:00Z").await;
    a_key_that_stops_working("API key revoked", "revoked", &key, async || {
        testbed()
            .admin_graphql(
                "mutation($id: ID!) { deleteGQLAPIKey(id: $id) }",
                json!({ "id": id }),
            )
            .await;
    })
    .await;
}

#[tokio::test]
async fn an_expired_key_is_one_clear_condition_and_no_retry_storm() {
    let lifetime = Duration::from_secs(40);
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::try_from(lifetime).unwrap();
    let (_, key) = mint_key(&expires.to_string()).await;
    let minted = Instant::now();
    a_key_that_stops_working("API key expired", "expired", &key, async || {
        tokio::time::sleep(lifetime.saturating_sub(minted.elapsed())).await;
    })
    .await;
}

/// A person edits the same GoAlert service by hand while the operator applies spec changes to
/// it, round after round (at seeded random moments): the result is the spec, and the operator
/// settles (no mutation and no failed reconcile over the following resyncs).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hand_edits_racing_the_operators_updates_end_at_the_spec_without_an_error_loop() {
    let rounds = if long() { 30 } else { 5 };
    let scene = scene("handedit").await;
    let run = unique_name("Hand edit");
    scene.apply(&user_yaml("u1", &unique_email("handedit")));
    scene.apply(&policy_yaml("policy", &format!("{run} policy"), "u1"));
    scene.apply(&service_yaml("s", &format!("{run} s"), "policy"));
    let id = scene.ready::<GoAlertService>("s").await;
    let mut seeded = Seeded::from_env();
    let started = Instant::now();
    for round in 0..rounds {
        let spec = scene.patch_spec::<GoAlertService>("s", json!({ "description": format!("spec {round}") }));
        let by_hand = async {
            tokio::time::sleep(Duration::from_millis(seeded.below(400))).await;
            scene
                .graphql(
                    "mutation($input: UpdateServiceInput!) { updateService(input: $input) }",
                    json!({ "input": {
                        "id": id,
                        "name": format!("{run} by hand {round}"),
                        "description": format!("by hand {round}"),
                    }}),
                )
                .await
        };
        tokio::join!(spec, by_hand);
        tokio::time::sleep(Duration::from_millis(200 + seeded.below(1500))).await;
    }
    let last = format!("spec {}", rounds - 1);
    eventually("GoAlert's service is the spec", CONVERGE, || async {
        let service = scene
            .graphql(
                "query($id: ID!) { service(id: $id) { name description } }",
                json!({ "id": id }),
            )
            .await;
        let now = (
            service["service"]["name"].as_str().unwrap_or_default().to_owned(),
            service["service"]["description"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
        );
        if now == (format!("{run} s"), last.clone()) {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
    scene.synced::<GoAlertService>("s").await;
    let recovered = started.elapsed();

    // Settled: over three resyncs, nothing written and nothing failed.
    let errors = async || {
        let (_, metrics) = scene.operator.get("/metrics").await;
        e2e::faults::metric_sum(&metrics, "controller_runtime_reconcile_errors_total")
    };
    let (mutations, failures) = (scene.mutations().await, errors().await);
    tokio::time::sleep(Duration::from_secs(10)).await;
    let settled = (scene.mutations().await - mutations, errors().await - failures);
    assert_eq!(
        settled,
        (0, 0),
        "(mutations, failed reconciles) after settling\n{}",
        scene.operator.logs()
    );
    let events = scene.events("s");
    let corrections = events.matches("DriftCorrected").count();
    Finding {
        scenario: "hand edits racing the operator's updates",
        done: format!(
            "{rounds} rounds: the service's spec description changed while a person renamed and re-described the same GoAlert service (0-0.4 s apart)"
        ),
        checked: format!(
            "GoAlert's service ends at the spec's name and last description, Ready; over 10 s after, no mutation and no failed reconcile; {failures} failed reconciles during the rounds, {corrections} DriftCorrected Events"
        ),
        objects: 3,
        seconds_to_recover: recovered.as_secs_f64(),
        ..Finding::default()
    }
    .record();
    e2e::remove_goalert_objects(&scene.namespace);
}
