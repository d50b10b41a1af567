//! What GitOps tools see: kstatus (sigs.k8s.io/cli-utils, what Flux waits on) and the Argo CD
//! health check of docs/gitops.md, run over real resources in each state the operator reports,
//! agree with the conditions: Ready, waiting for a dependency, invalid spec, GoAlert down, and a
//! deletion GoAlert's outage blocks.
#![cfg(feature = "e2e")]

use std::time::Duration;

use e2e::{
    FreshGoAlert, Operator, eventually, health, kube_client, kubectl, namespace, scene::Scene, testbed,
};
use goalert_provisioning::api::GoAlertRotation;
use kube::{Api, api::DeleteParams};
use serde_json::Value;

const OBJECTS: &str = r#"
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertRotation
metadata:
  name: healthy
spec:
  timeZone: Etc/UTC
  type: Daily
  start: "2026-01-05T09:00:00Z"
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertService
metadata:
  name: waiting
spec:
  escalationPolicyRef:
    name: not-created-yet
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertRotation
metadata:
  name: invalid
spec:
  timeZone: Europe/Amsterdm
  type: Daily
  start: "2026-01-05T09:00:00Z"
"#;

/// The object as `kubectl get -o json` gives it, which is what kstatus and Argo CD read.
fn fetched(namespace: &str, kind: &str, name: &str) -> Value {
    let (ok, stdout, stderr) = kubectl(&["get", "-n", namespace, kind, name, "-o", "json"], None);
    assert!(ok, "{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// (Ready's reason, kstatus, Argo CD health) of one object.
fn verdicts(namespace: &str, kind: &str, name: &str) -> (String, String, String) {
    let object = fetched(namespace, kind, name);
    let ready = object["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Ready")
        .map(|c| c["reason"].as_str().unwrap_or_default().to_owned())
        .unwrap_or_default();
    (
        ready,
        health::kstatus(&object).0,
        health::argocd_health(&object).0,
    )
}

/// Waits until the object's Ready reason is `reason`, then returns what kstatus and Argo CD say.
async fn once_reason(namespace: &str, kind: &str, name: &str, reason: &str) -> (String, String) {
    eventually(
        &format!("{kind} {name} reports {reason}"),
        Duration::from_secs(90),
        || async {
            let (ready, kstatus, argocd) = verdicts(namespace, kind, name);
            if ready == reason {
                Ok((kstatus, argocd))
            } else {
                Err(format!("Ready reason {ready:?}"))
            }
        },
    )
    .await
}

#[tokio::test]
async fn kstatus_and_the_argocd_check_agree_with_the_conditions_in_every_state() {
    let goalert = FreshGoAlert::start().await;
    let tb = testbed();
    let ns = namespace("health").await;
    let scene = Scene {
        operator: Operator::start(
            &ns,
            &[
                ("GOALERT_URL", &goalert.url),
                ("GOALERT_USERNAME", &tb.admin_user),
                ("GOALERT_PASSWORD", &tb.admin_password),
                ("RESYNC_PERIOD", "3s"),
            ],
        ),
        namespace: ns.clone(),
        kube: kube_client().await,
        goalert: goalert.admin(),
    };
    scene.apply(OBJECTS);
    let rotation = "goalertrotation";
    let expect = |state: &str, got: (String, String), kstatus: &str, argocd: &str| {
        assert_eq!(
            got,
            (kstatus.to_owned(), argocd.to_owned()),
            "{state}: kstatus and Argo CD"
        );
    };
    expect(
        "Ready",
        once_reason(&ns, rotation, "healthy", "Synced").await,
        "Current",
        "Healthy",
    );
    expect(
        "waiting for a dependency",
        once_reason(&ns, "goalertservice", "waiting", "DependencyNotReady").await,
        "InProgress",
        "Progressing",
    );
    expect(
        "invalid spec",
        once_reason(&ns, rotation, "invalid", "InvalidSpec").await,
        "Failed",
        "Degraded",
    );

    // GoAlert goes away: the next resync cannot reach it.
    drop(goalert);
    expect(
        "GoAlert down",
        once_reason(&ns, rotation, "healthy", "GoAlertUnavailable").await,
        "InProgress",
        "Progressing",
    );
    // Deleting what the operator created needs GoAlert: the finalizer holds the object.
    Api::<GoAlertRotation>::namespaced(scene.kube.clone(), &ns)
        .delete("healthy", &DeleteParams::default())
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let object = fetched(&ns, rotation, "healthy");
    assert!(object["metadata"]["deletionTimestamp"].is_string(), "{object}");
    assert_eq!(health::kstatus(&object).0, "Terminating", "blocked deletion");
    assert_eq!(
        health::argocd_health(&object).0,
        "Progressing",
        "blocked deletion: {object}"
    );

    // Let the namespace go: without GoAlert the finalizers are removed by hand.
    for (kind, name) in [
        (rotation, "healthy"),
        (rotation, "invalid"),
        ("goalertservice", "waiting"),
    ] {
        let _ = kubectl(
            &[
                "patch",
                "-n",
                &ns,
                kind,
                name,
                "--type=merge",
                "-p",
                r#"{"metadata":{"finalizers":null}}"#,
            ],
            None,
        );
    }
}
