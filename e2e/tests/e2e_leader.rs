//! Two operator processes share a Lease on the real apiserver: one reconciles, the other waits,
//! and takes over when the leader is killed, also in the middle of converging many objects
//! (that one's long version runs in `e2e/faults.sh`).
#![cfg(feature = "e2e")]

use std::time::{Duration, Instant};

use e2e::{
    Operator, eventually,
    faults::{Finding, count_by_name, long, metric_sum, user_yaml_with_username, username},
    kube_client, namespace,
    scene::CONVERGE,
    testbed, unique_name,
};
use goalert_client::OPERATOR_DOCUMENT;
use goalert_provisioning::api::{GoAlertEscalationPolicy, GoAlertRotation, GoAlertService, GoAlertUser};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{Api, api::ListParams};
use serde_json::json;

fn rotation_yaml(name: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: {name}\nspec:\n  rotationName: {}\n  type: Daily\n  timeZone: Etc/UTC\n  start: \"2026-01-05T09:00:00Z\"\n",
        unique_name("Leader")
    )
}

async fn leads(operator: &Operator) -> bool {
    let (_, metrics) = operator.get("/metrics").await;
    metrics.lines().any(|l| l == "goalert_provisioning_leader 1")
}

async fn reconciled(operator: &Operator) -> bool {
    let (_, metrics) = operator.get("/metrics").await;
    metrics.contains("controller_runtime_reconcile_total{")
}

/// Two replicas with leader election on a 6 s Lease in `namespace`, and which of them leads.
async fn two_replicas(namespace: &str) -> ([Operator; 2], usize) {
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let start = |identity: &str| {
        Operator::start(
            namespace,
            &[
                ("GOALERT_URL", testbed().goalert_url.as_str()),
                ("GOALERT_API_KEY", key.as_str()),
                ("LEADER_ELECTION", "true"),
                ("LEADER_ELECTION_LEASE_DURATION", "6s"),
                ("POD_NAMESPACE", namespace),
                ("POD_NAME", identity),
            ],
        )
    };
    let replicas = [start("replica-a"), start("replica-b")];
    let leader = eventually("exactly one replica leads", CONVERGE, || async {
        match (leads(&replicas[0]).await, leads(&replicas[1]).await) {
            (true, false) => Ok(0),
            (false, true) => Ok(1),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    (replicas, leader)
}

#[tokio::test]
async fn one_of_two_replicas_reconciles_and_the_other_takes_over_when_it_dies() {
    let namespace = namespace("leader").await;
    let (mut replicas, leader) = two_replicas(&namespace).await;
    let follower = 1 - leader;

    let kube = kube_client().await;
    let apply = |name: &str| {
        let (ok, _, stderr) = e2e::kubectl(
            &["apply", "-n", &namespace, "-f", "-"],
            Some(&rotation_yaml(name)),
        );
        assert!(ok, "{stderr}");
    };
    let ready = |name: &'static str| {
        let api: kube::Api<GoAlertRotation> = kube::Api::namespaced(kube.clone(), &namespace);
        async move {
            eventually(&format!("rotation {name} Ready"), CONVERGE, || {
                let api = api.clone();
                async move {
                    let rotation = api.get(name).await.map_err(|e| e.to_string())?;
                    let ready = rotation
                        .status
                        .and_then(|s| s.common.conditions.into_iter().find(|c| c.type_ == "Ready"));
                    match ready {
                        Some(c) if c.status == "True" => Ok(()),
                        other => Err(format!("{other:?}")),
                    }
                }
            })
            .await
        }
    };

    apply("first");
    ready("first").await;
    assert!(reconciled(&replicas[leader]).await, "the leader reconciles");
    assert!(!reconciled(&replicas[follower]).await, "the follower does not");

    replicas[leader].kill();
    eventually(
        "the follower takes the Lease over",
        Duration::from_secs(30),
        || async {
            if leads(&replicas[follower]).await {
                Ok(())
            } else {
                Err("not yet".to_owned())
            }
        },
    )
    .await;
    apply("second");
    ready("second").await;
    assert!(reconciled(&replicas[follower]).await, "the new leader reconciles");
}

fn ready(conditions: Option<&Vec<Condition>>) -> bool {
    conditions.is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// How many of the namespace's users, policies and services are Ready.
async fn ready_count(kube: &kube::Client, namespace: &str) -> Result<usize, String> {
    let params = ListParams::default();
    let users: Api<GoAlertUser> = Api::namespaced(kube.clone(), namespace);
    let policies: Api<GoAlertEscalationPolicy> = Api::namespaced(kube.clone(), namespace);
    let services: Api<GoAlertService> = Api::namespaced(kube.clone(), namespace);
    let e = |e: kube::Error| e.to_string();
    Ok(users
        .list(&params)
        .await
        .map_err(e)?
        .iter()
        .filter(|u| ready(u.status.as_ref().map(|s| &s.common.conditions)))
        .count()
        + policies
            .list(&params)
            .await
            .map_err(e)?
            .iter()
            .filter(|p| ready(p.status.as_ref().map(|s| &s.common.conditions)))
            .count()
        + services
            .list(&params)
            .await
            .map_err(e)?
            .iter()
            .filter(|s| ready(s.status.as_ref().map(|s| &s.common.conditions)))
            .count())
}

/// The leader killed (SIGKILL) while many objects converge: the follower, which reconciled
/// nothing until then, leads within 15 s and finishes; every resource has exactly one GoAlert
/// object and every service exactly one integration key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_leader_killed_mid_convergence_is_replaced_within_15_s_and_nothing_is_made_twice() {
    let services = if long() { 60 } else { 10 };
    let namespace = namespace("leaderkill").await;
    let (mut replicas, leader) = two_replicas(&namespace).await;
    let follower = 1 - leader;

    let run = unique_name("Leader kill");
    let email = |i: usize| format!("{}-{i}@example.com", run.replace(' ', "-").to_lowercase());
    let mut manifests = String::new();
    for i in 0..services {
        manifests += &format!(
            "{}---\n",
            user_yaml_with_username(
                &format!("u{i}"),
                &email(i),
                &username(&run, i),
                &format!("{run} u{i}")
            )
        );
    }
    manifests += &format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: policy\nspec:\n  escalationPolicyName: {run} policy\n  steps:\n    - delayMinutes: 5\n      targets: [{{userRef: {{name: u0}}}}]\n---\n"
    );
    for i in 0..services {
        manifests += &format!(
            "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertService\nmetadata:\n  name: s{i}\nspec:\n  serviceName: {run} s{i}\n  escalationPolicyRef: {{name: policy}}\n  integrationKeys:\n    - name: generic\n      secretRef: {{name: s{i}-keys, key: url}}\n---\n"
        );
    }
    let objects = 2 * services + 1;
    let (ok, _, stderr) = e2e::kubectl(&["apply", "-n", &namespace, "-f", "-"], Some(&manifests));
    assert!(ok, "{stderr}");

    // Mid-convergence: the leader has created a few GoAlert objects. (Counted from its metrics:
    // reconciles share one GoAlert request at a time, so with many objects all progress together
    // and none may be Ready yet.)
    let kube = kube_client().await;
    let creates = async |operator: &Operator| {
        let (_, metrics) = operator.get("/metrics").await;
        ["CreateUser", "CreateEscalationPolicy", "CreateService"]
            .iter()
            .map(|op| {
                metric_sum(
                    &metrics,
                    &format!(r#"goalert_provisioning_goalert_requests_total{{operation="{op}""#),
                )
            })
            .sum::<u64>()
    };
    let created_at_kill = eventually("the leader creates a few objects", CONVERGE * 5, || async {
        match creates(&replicas[leader]).await {
            n if n >= 3 => Ok(n),
            n => Err(format!("{n} created")),
        }
    })
    .await;
    let at_kill = ready_count(&kube, &namespace).await.unwrap();
    assert!(
        !reconciled(&replicas[follower]).await,
        "the follower reconciled nothing while it followed"
    );
    replicas[leader].kill();
    let killed = Instant::now();
    assert!(
        at_kill < objects,
        "the leader was killed mid-convergence ({at_kill} of {objects} Ready)"
    );
    eventually("the follower leads", Duration::from_secs(15), || async {
        if leads(&replicas[follower]).await {
            Ok(())
        } else {
            Err(replicas[follower].logs())
        }
    })
    .await;
    let took_over = killed.elapsed();
    eventually(
        "every object Ready",
        CONVERGE * if long() { 10 } else { 3 },
        || async {
            match ready_count(&kube, &namespace).await? {
                n if n == objects => Ok(()),
                n => Err(format!("{n} of {objects} Ready")),
            }
        },
    )
    .await;
    let recovered = killed.elapsed();

    let url = &testbed().goalert_url;
    let goalert_services = count_by_name(url, &format!("{run} s"), "services").await;
    let goalert_users = count_by_name(url, &run, "users").await;
    let duplicates = goalert_services
        .values()
        .chain(goalert_users.values())
        .filter(|n| **n > 1)
        .count();
    assert_eq!(goalert_services.len(), services, "{goalert_services:?}");
    assert_eq!(goalert_users.len(), services, "{goalert_users:?}");
    assert_eq!(duplicates, 0, "{goalert_services:?} {goalert_users:?}");
    let services_api: Api<GoAlertService> = Api::namespaced(kube.clone(), &namespace);
    let mut keys_working = 0;
    for service in services_api.list(&ListParams::default()).await.unwrap() {
        let id = service.status.and_then(|s| s.common.goalert_id).unwrap();
        let keys = testbed()
            .admin_graphql(
                "query($id: ID!) { service(id: $id) { integrationKeys { id } } }",
                json!({ "id": id }),
            )
            .await;
        let keys = keys["service"]["integrationKeys"].as_array().unwrap().len();
        assert_eq!(keys, 1, "{id}: exactly one integration key");
        keys_working += 1;
    }
    let created_after = creates(&replicas[follower]).await;
    Finding {
        scenario: "leader killed mid-convergence",
        done: format!(
            "two replicas, 6 s Lease; {objects} resources applied at once; the leader killed with SIGKILL after {created_at_kill} create requests, {at_kill} resources Ready"
        ),
        checked: format!(
            "the follower reconciled nothing before the kill and led {:.1} s after it (bound 15 s); every resource Ready; one GoAlert object per resource and one integration key per service (GoAlert API); {created_after} create requests by the new leader",
            took_over.as_secs_f64()
        ),
        objects,
        duplicates,
        keys_working,
        seconds_to_recover: recovered.as_secs_f64(),
        ..Finding::default()
    }
    .record();
    e2e::remove_goalert_objects(&namespace);
}
