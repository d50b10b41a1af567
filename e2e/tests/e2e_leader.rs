//! Two operator processes share a Lease on the real apiserver: one reconciles, the other waits,
//! and takes over when the leader is killed.
#![cfg(feature = "e2e")]

use std::time::Duration;

use e2e::{Operator, eventually, kube_client, namespace, scene::CONVERGE, testbed, unique_name};
use goalert_client::OPERATOR_DOCUMENT;
use goalert_provisioning::api::GoAlertRotation;

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

#[tokio::test]
async fn one_of_two_replicas_reconciles_and_the_other_takes_over_when_it_dies() {
    let namespace = namespace("leader").await;
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let start = |identity: &str| {
        Operator::start(
            &namespace,
            &[
                ("GOALERT_URL", testbed().goalert_url.as_str()),
                ("GOALERT_API_KEY", key.as_str()),
                ("LEADER_ELECTION", "true"),
                ("LEADER_ELECTION_LEASE_DURATION", "6s"),
                ("POD_NAMESPACE", namespace.as_str()),
                ("POD_NAME", identity),
            ],
        )
    };
    let mut replicas = [start("replica-a"), start("replica-b")];
    let leader = eventually("exactly one replica leads", CONVERGE, || async {
        match (leads(&replicas[0]).await, leads(&replicas[1]).await) {
            (true, false) => Ok(0),
            (false, true) => Ok(1),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
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
