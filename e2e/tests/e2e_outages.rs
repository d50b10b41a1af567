//! Outages, for real on the testbed, each on processes of the test's own so the shared testbed
//! is never disturbed: a GoAlert of its own stopped and started and its PostgreSQL connections
//! dropped and refused (a restart, through a TCP proxy), a kube-apiserver of its own on the
//! testbed's etcd restarted, and a GoAlert behind a proxy answering errors, slowly or garbage.
//! The CI-sized versions run here; `e2e/faults.sh` runs the long ones (FAULTS_LONG=1).
#![cfg(feature = "e2e")]

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use e2e::{
    FreshGoAlert, Operator, eventually,
    faults::{
        Apiserver, Fault, FaultProxy, Finding, TcpProxy, count_by_name, long, metric_sum,
        user_yaml_with_username, username,
    },
    kubectl, namespace,
    scene::{CONVERGE, Scene, scene_with},
    testbed, unique_name,
};
use goalert_client::OPERATOR_DOCUMENT;
use goalert_provisioning::api::{GoAlertEscalationPolicy, GoAlertRotation, GoAlertUser};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, Resource, ResourceExt, api::ListParams};
use serde_json::json;

fn policy_yaml(name: &str, goalert_name: &str, user: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: {name}\nspec:\n  escalationPolicyName: {goalert_name}\n  steps:\n    - delayMinutes: 5\n      targets: [{{userRef: {{name: {user}}}}}]\n"
    )
}

fn rotation_yaml(name: &str, goalert_name: &str, participant_email: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: {name}\nspec:\n  rotationName: {goalert_name}\n  timeZone: Etc/UTC\n  type: Daily\n  start: \"2026-01-05T09:00:00Z\"\n  participants:\n    - email: {participant_email}\n"
    )
}

/// The testbed's PostgreSQL, from GoAlert's database URL.
fn postgres_address() -> SocketAddr {
    let url = url::Url::parse(&testbed().db_url).unwrap();
    SocketAddr::new(url.host_str().unwrap().parse().unwrap(), url.port().unwrap())
}

fn ready_condition(conditions: Option<&Vec<Condition>>) -> Option<Condition> {
    conditions?.iter().find(|c| c.type_ == "Ready").cloned()
}

/// Waits until every user, rotation and escalation policy in the scene's namespace is Ready for
/// its current generation; returns how many there are. A failure shows the operator's retries.
async fn all_ready(scene: &Scene, limit: Duration) -> usize {
    let users: Api<GoAlertUser> = scene.api();
    let rotations: Api<GoAlertRotation> = scene.api();
    let policies: Api<GoAlertEscalationPolicy> = scene.api();
    eventually("every resource Ready for its generation", limit, || async {
        let mut pending = Vec::new();
        let mut count = 0;
        let params = ListParams::default();
        let mut note = |name: String, generation: Option<i64>, ready: Option<Condition>| {
            count += 1;
            match ready {
                Some(c) if c.status == "True" && c.observed_generation == generation => {}
                other => pending.push(format!("{name}: {other:?}")),
            }
        };
        for user in users.list(&params).await.map_err(|e| e.to_string())? {
            let ready = ready_condition(user.status.as_ref().map(|s| &s.common.conditions));
            note(user.name_any(), user.meta().generation, ready);
        }
        for rotation in rotations.list(&params).await.map_err(|e| e.to_string())? {
            let ready = ready_condition(rotation.status.as_ref().map(|s| &s.common.conditions));
            note(rotation.name_any(), rotation.meta().generation, ready);
        }
        for policy in policies.list(&params).await.map_err(|e| e.to_string())? {
            let ready = ready_condition(policy.status.as_ref().map(|s| &s.common.conditions));
            note(policy.name_any(), policy.meta().generation, ready);
        }
        if pending.is_empty() {
            Ok(count)
        } else {
            let logs = scene.operator.logs();
            let retries: Vec<&str> = logs.lines().filter(|l| l.contains("retry_in=")).collect();
            let tail = &retries[retries.len().saturating_sub(12)..];
            Err(format!(
                "{}\nthe operator's last retries:\n{}",
                pending.join("\n"),
                tail.join("\n")
            ))
        }
    })
    .await
}

/// Waits until the user's Ready condition for its current generation is False for one of
/// `reasons`; returns (reason, message).
async fn user_not_ready(scene: &Scene, name: &str, reasons: &[&str], limit: Duration) -> (String, String) {
    let users: Api<GoAlertUser> = scene.api();
    eventually(&format!("user {name} not Ready ({reasons:?})"), limit, || async {
        let user = users.get(name).await.map_err(|e| e.to_string())?;
        match ready_condition(user.status.as_ref().map(|s| &s.common.conditions)) {
            Some(c)
                if c.status == "False"
                    && reasons.contains(&c.reason.as_str())
                    && c.observed_generation == user.meta().generation =>
            {
                Ok((c.reason, c.message))
            }
            other => Err(format!("{other:?}")),
        }
    })
    .await
}

/// All of the operator's GoAlert requests so far.
async fn goalert_requests(operator: &Operator) -> u64 {
    let (_, metrics) = operator.get("/metrics").await;
    metric_sum(&metrics, "goalert_provisioning_goalert_requests_total")
}

/// At most how many GoAlert requests `objects` failing resources and the readiness check may
/// send in `window`: each resource retries after 5 s, doubling (so at most log2(window / 5 s)
/// + 2 tries), plus one for the spec change that woke it; the readiness check every 5 s.
fn request_bound(objects: usize, window: Duration) -> u64 {
    let tries = (window.as_secs_f64() / 5.0).max(1.0).log2().ceil() as u64 + 3;
    objects as u64 * tries + window.as_secs() / 5 + 2
}

/// The `retry_in` delays the operator logged for resource `name`, in order.
fn retry_delays(logs: &str, name: &str) -> Vec<Duration> {
    let needle = format!("name={name} ");
    logs.lines()
        .filter(|l| l.contains(&needle))
        .filter_map(|l| l.split("retry_in=").nth(1)?.split_whitespace().next())
        .filter_map(|d| d.strip_suffix('s')?.parse::<f64>().ok())
        .map(Duration::from_secs_f64)
        .collect()
}

async fn patch_users(scene: &Scene, users: usize, version: &str) {
    for i in 0..users {
        scene
            .patch_spec::<GoAlertUser>(
                &format!("u{i}"),
                json!({ "displayName": format!("Outage user {i} {version}") }),
            )
            .await;
    }
}

/// GoAlert stopped (20 s; 2 min in the long run) under an operator with resources, then its
/// PostgreSQL restarted (every connection dropped, new ones refused, 10 s; 30 s long): the
/// operator keeps running, backs off, says why on every resource, the webhook admits with a
/// warning what it cannot check, and everything converges after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn goalert_stopped_and_postgres_restarted_back_off_say_why_and_converge() {
    let (users, outage, db_outage) = if long() {
        (10, Duration::from_secs(120), Duration::from_secs(30))
    } else {
        (3, Duration::from_secs(20), Duration::from_secs(10))
    };
    let postgres = TcpProxy::start(postgres_address()).await;
    let mut goalert = FreshGoAlert::start_with_db_port(postgres.port).await;
    let mut webhooks = e2e::webhooks::serve_for("outage", &goalert).await;
    let run = unique_name("Outage");
    let email = |i: usize| format!("{}-{i}@example.com", run.replace(' ', "-").to_lowercase());
    {
        let scene = &webhooks.scene;
        for i in 0..users {
            scene.apply(&user_yaml_with_username(
                &format!("u{i}"),
                &email(i),
                &username(&run, i),
                &format!("User {i}"),
            ));
        }
        scene.apply(&policy_yaml("policy", &format!("{run} policy"), "u0"));
        all_ready(scene, CONVERGE).await;
    }

    // GoAlert stopped; every user changed while it is down.
    goalert.stop();
    let stopped = Instant::now();
    let scene = &webhooks.scene;
    patch_users(scene, users, "v2").await;
    for i in 0..users {
        let (_, message) = user_not_ready(scene, &format!("u{i}"), &["GoAlertUnavailable"], CONVERGE).await;
        assert!(message.contains("cannot reach GoAlert"), "u{i}: {message}");
    }
    // The webhook admits, with a warning, a reference it cannot check while GoAlert is down:
    // a user only GoAlert knows (its administrator, made by hand).
    let (ok, _, stderr) = kubectl(
        &["apply", "-n", &scene.namespace, "-f", "-"],
        Some(&rotation_yaml(
            "late",
            &format!("{run} late"),
            "admin@example.com",
        )),
    );
    assert!(ok, "a valid object is admitted while GoAlert is down: {stderr}");
    assert!(
        stderr.contains("could not check that user") && stderr.contains("admitted unchecked"),
        "the webhook warns what it could not check: {stderr}"
    );

    let before = goalert_requests(&scene.operator).await;
    let window_start = Instant::now();
    tokio::time::sleep(outage.saturating_sub(stopped.elapsed())).await;
    let window = window_start.elapsed();
    let requests = goalert_requests(&scene.operator).await - before;
    let objects = users + 2;
    let bound = request_bound(objects, window);
    assert!(
        requests <= bound,
        "{requests} GoAlert requests in {window:?} with GoAlert down (at most {bound})"
    );
    let logs = scene.operator.logs();
    let delays = retry_delays(&logs, "u0");
    assert!(
        delays.len() >= 2 && delays[0] < delays[delays.len() - 1],
        "u0's retries back off: {delays:?}\n{logs}"
    );
    // The readiness check looks every 30 s while GoAlert answers, every 5 s once it does not.
    webhooks
        .scene
        .operator
        .wait_for_readyz(Duration::from_secs(40), |status, body| {
            status != 200 && body.contains("[-]goalert") && body.contains("cannot reach GoAlert")
        })
        .await;
    assert!(webhooks.scene.operator.is_running(), "the operator keeps running");
    assert!(!logs.contains("panicked"), "{logs}");

    goalert.start_again().await;
    let restarted = Instant::now();
    // The last retry before the restart may be scheduled up to twice the outage later.
    let objects_ready = all_ready(&webhooks.scene, outage * 2 + CONVERGE).await;
    let recovered = restarted.elapsed();
    assert_eq!(
        objects_ready, objects,
        "the users, the policy and the rotation made while down"
    );
    let found = count_by_name(&goalert.url, "User", "users").await;
    let duplicates = found.values().filter(|n| **n > 1).count();
    assert_eq!((found.len(), duplicates), (users, 0), "{found:?}");
    Finding {
        scenario: "GoAlert stopped",
        done: format!(
            "a GoAlert of the test's own stopped for {} s under an operator with {objects} resources; every user's spec changed and a rotation applied while it was down",
            outage.as_secs()
        ),
        checked: format!(
            "each changed user Ready False GoAlertUnavailable (\"cannot reach GoAlert\"); /readyz [-]goalert; the webhook admitted the rotation with a warning; {requests} GoAlert requests in {} s (bound {bound}); u0's retry delays {delays:?}; the operator kept running; all Ready after the restart, one GoAlert user each",
            window.as_secs()
        ),
        objects,
        duplicates,
        seconds_to_recover: recovered.as_secs_f64(),
        ..Finding::default()
    }
    .record();

    // PostgreSQL restarted: every connection GoAlert holds dropped, new ones refused.
    let scene = &webhooks.scene;
    postgres.refuse();
    let db_down = Instant::now();
    patch_users(scene, users, "v3").await;
    let mut reasons = Vec::new();
    for i in 0..users {
        let (reason, message) = user_not_ready(
            scene,
            &format!("u{i}"),
            // GoAlert without its database cannot check a session or a login either: it answers
            // 401, then "unknown username/password", which reads as refused credentials.
            &["GoAlertUnavailable", "GoAlertError", "GoAlertUnauthorized"],
            CONVERGE,
        )
        .await;
        assert!(message.contains("GoAlert"), "u{i}: {message}");
        reasons.push(reason);
    }
    let before = goalert_requests(&scene.operator).await;
    let window_start = Instant::now();
    tokio::time::sleep(db_outage.saturating_sub(db_down.elapsed())).await;
    let window = window_start.elapsed();
    let requests = goalert_requests(&scene.operator).await - before;
    let bound = request_bound(objects, window);
    assert!(
        requests <= bound,
        "{requests} GoAlert requests in {window:?} with its database down (at most {bound})"
    );
    postgres.restore();
    let restored = Instant::now();
    all_ready(scene, db_outage * 2 + CONVERGE).await;
    let recovered = restored.elapsed();
    assert!(webhooks.scene.operator.is_running(), "the operator keeps running");
    Finding {
        scenario: "PostgreSQL restarted",
        done: format!(
            "the GoAlert's PostgreSQL connections dropped and new ones refused for {} s (a restart, at a TCP proxy); every user's spec changed meanwhile",
            db_outage.as_secs()
        ),
        checked: format!(
            "each changed user Ready False ({reasons:?}); {requests} GoAlert requests in {} s (bound {bound}); all Ready after, the operator kept running",
            window.as_secs()
        ),
        objects,
        seconds_to_recover: recovered.as_secs_f64(),
        ..Finding::default()
    }
    .record();
    e2e::remove_goalert_objects(&webhooks.scene.namespace);
}

/// The operator's own kube-apiserver (on the testbed's etcd) killed and started again: the
/// operator keeps running, its watches resume, and a resource created and one changed while
/// the apiserver was down are provisioned afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_kube_apiserver_resumes_watches_and_provisions_what_changed_meanwhile() {
    let down_for = Duration::from_secs(if long() { 60 } else { 10 });
    let mut apiserver = Apiserver::start().await;
    let kubeconfig = apiserver.kubeconfig();
    let namespace = namespace("apiserver").await;
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let operator = Operator::start(
        &namespace,
        &[
            ("GOALERT_URL", testbed().goalert_url.as_str()),
            ("GOALERT_API_KEY", key.as_str()),
            ("KUBECONFIG", kubeconfig.to_str().unwrap()),
        ],
    );
    let mut scene = Scene {
        namespace,
        operator,
        kube: e2e::kube_client().await,
        goalert: testbed().admin(),
    };
    let run = unique_name("Apiserver");
    let email = |i: usize| format!("{}-{i}@example.com", run.replace(' ', "-").to_lowercase());
    scene.apply(&user_yaml_with_username(
        "before",
        &email(0),
        &username(&run, 0),
        "Before",
    ));
    scene.ready::<GoAlertUser>("before").await;

    apiserver.stop();
    let stopped = Instant::now();
    // Through the testbed's apiserver, which the operator does not talk to.
    scene.apply(&user_yaml_with_username(
        "meanwhile",
        &email(1),
        &username(&run, 1),
        "Meanwhile",
    ));
    scene
        .patch_spec::<GoAlertUser>(
            "before",
            json!({ "displayName": "Changed while the apiserver was down" }),
        )
        .await;
    tokio::time::sleep(down_for.saturating_sub(stopped.elapsed())).await;
    assert!(
        scene.operator.is_running(),
        "the operator survives its apiserver going away"
    );
    apiserver.start_again().await;
    let restarted = Instant::now();
    let id = scene.ready::<GoAlertUser>("meanwhile").await;
    let before = scene.synced::<GoAlertUser>("before").await;
    let recovered = restarted.elapsed();
    let name = scene
        .graphql(
            "query($id: ID!) { user(id: $id) { name } }",
            json!({ "id": before.status.unwrap().common.goalert_id }),
        )
        .await;
    assert_eq!(name["user"]["name"], "Changed while the apiserver was down");
    let made = scene
        .graphql("query($id: ID!) { user(id: $id) { email } }", json!({ "id": id }))
        .await;
    assert_eq!(made["user"]["email"], email(1).as_str());
    assert!(scene.operator.is_running(), "one operator process throughout");
    let logs = scene.operator.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    Finding {
        scenario: "kube-apiserver restarted",
        done: format!(
            "the operator's kube-apiserver (a process of the test's own on the testbed's etcd) killed for {} s; a user created and another changed meanwhile",
            down_for.as_secs()
        ),
        checked: "the operator kept running; after the restart the new user is Ready with its GoAlert user and the changed one carries the change in GoAlert".into(),
        objects: 2,
        seconds_to_recover: recovered.as_secs_f64(),
        ..Finding::default()
    }
    .record();
    e2e::remove_goalert_objects(&scene.namespace);
}

/// GoAlert behind a proxy that answers HTTP 500, then 502, then garbage bodies, then slowly:
/// each time the operator stays up, says on each resource what GoAlert answered, sends a
/// bounded number of requests, and converges when the proxy passes again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_goalert_answering_errors_garbage_or_slowly_is_reported_and_converged_after() {
    let (users, hold) = if long() {
        (10, Duration::from_secs(60))
    } else {
        (3, Duration::from_secs(10))
    };
    let proxy = FaultProxy::start(&testbed().goalert_url).await;
    let url = proxy.url();
    let mut scene = scene_with("faulty", &[("GOALERT_URL", url.as_str())]).await;
    let run = unique_name("Faulty");
    let email = |i: usize| format!("{}-{i}@example.com", run.replace(' ', "-").to_lowercase());
    for i in 0..users {
        scene.apply(&user_yaml_with_username(
            &format!("u{i}"),
            &email(i),
            &username(&run, i),
            &format!("User {i}"),
        ));
    }
    scene.apply(&policy_yaml("policy", &format!("{run} policy"), "u0"));
    all_ready(&scene, CONVERGE).await;
    let objects = users + 1;

    let phases = [
        ("HTTP 500", Fault::Status(500), "GoAlertError", "HTTP 500"),
        ("HTTP 502", Fault::Status(502), "GoAlertUnavailable", "HTTP 502"),
        ("garbage", Fault::Garbage, "GoAlertError", "HTTP 200"),
    ];
    let mut seen = Vec::new();
    let mut slowest = Duration::ZERO;
    for (version, (what, fault, reason, says)) in phases.into_iter().enumerate() {
        proxy.set(fault);
        let started = Instant::now();
        let before = proxy.requests();
        patch_users(&scene, users, &format!("{what} {version}")).await;
        for i in 0..users {
            let (_, message) = user_not_ready(&scene, &format!("u{i}"), &[reason], CONVERGE).await;
            assert!(message.contains(says), "{what}: u{i}: {message}");
        }
        tokio::time::sleep(hold).await;
        let requests = proxy.requests() - before;
        let bound = request_bound(objects, started.elapsed());
        assert!(
            requests <= bound,
            "{what}: {requests} requests in {:?} (at most {bound})",
            started.elapsed()
        );
        assert!(scene.operator.is_running(), "{what}: the operator keeps running");
        proxy.set(Fault::Pass);
        let passing = Instant::now();
        all_ready(&scene, hold * 4 + CONVERGE).await;
        slowest = slowest.max(passing.elapsed());
        seen.push(format!("{what}: {reason}, {requests} requests (bound {bound})"));
    }

    // Slow answers, within the client's timeout: converges, slowly, without errors.
    proxy.set(Fault::Delay(Duration::from_secs(2)));
    let errors_before = {
        let (_, metrics) = scene.operator.get("/metrics").await;
        metric_sum(&metrics, "controller_runtime_reconcile_errors_total")
    };
    patch_users(&scene, users, "slow").await;
    all_ready(&scene, CONVERGE * 2).await;
    let (_, metrics) = scene.operator.get("/metrics").await;
    let slow_errors = metric_sum(&metrics, "controller_runtime_reconcile_errors_total") - errors_before;
    assert_eq!(
        slow_errors,
        0,
        "slow answers are no errors:\n{}",
        scene.operator.logs()
    );
    proxy.set(Fault::Pass);
    let logs = scene.operator.logs();
    assert!(!logs.contains("panicked"), "{logs}");
    Finding {
        scenario: "GoAlert answering errors, garbage, slowly",
        done: format!(
            "a fault-injecting HTTP proxy in front of GoAlert answered every request with HTTP 500, then 502, then a garbage 200 body, for {} s each after the resources reported it, then delayed every answer by 2 s; every user's spec changed in each phase",
            hold.as_secs()
        ),
        checked: format!(
            "each user Ready False with the reason and GoAlert's status in the message; requests bounded; the operator kept running; all Ready once the proxy passed again; slow answers converged with no reconcile error. {}; proxy counts {:?}",
            seen.join("; "),
            proxy.counts()
        ),
        objects,
        seconds_to_recover: slowest.as_secs_f64(),
        ..Finding::default()
    }
    .record();
    e2e::remove_goalert_objects(&scene.namespace);
}
