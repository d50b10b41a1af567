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
    faults::{Finding, Seeded, TcpProxy, apiserver_address, long},
    kube_client, kubectl, namespace,
    scene::{CONVERGE, scene, secret_value, unique_email, user_yaml},
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
    let goalert_services = count_by_name(&format!("{run} s"), "services").await;
    let goalert_users = count_by_name(&run.replace(' ', "-").to_lowercase(), "users").await;
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
    let alerts = testbed()
        .admin_graphql(
            "query($ids: [ID!], $s: String!) { alerts(input: { filterByServiceID: $ids, search: $s, first: 100 }) { nodes { id } } }",
            json!({ "ids": service_ids.values().collect::<Vec<_>>(), "s": run }),
        )
        .await;
    let opened = alerts["alerts"]["nodes"].as_array().unwrap().len();
    assert_eq!(opened, services.min(100), "every key opened an alert");

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

/// How many GoAlert objects of `kind` ("services" or "users") have each name matching `search`.
async fn count_by_name(search: &str, kind: &str) -> BTreeMap<String, usize> {
    let field = if kind == "users" { "email" } else { "name" };
    let query = format!(
        "query($s: String!, $after: String) {{ {kind}(input: {{ search: $s, first: 100, after: $after }}) {{ nodes {{ {field} }} pageInfo {{ endCursor hasNextPage }} }} }}"
    );
    let mut counts = BTreeMap::new();
    let mut after: Option<String> = None;
    for _ in 0..50 {
        let page = testbed()
            .admin_graphql(&query, json!({ "s": search, "after": after }))
            .await;
        for node in page[kind]["nodes"].as_array().unwrap() {
            *counts
                .entry(node[field].as_str().unwrap().to_owned())
                .or_insert(0) += 1;
        }
        if page[kind]["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page[kind]["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    counts
}
