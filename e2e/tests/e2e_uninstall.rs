//! Deleting a CRD while the operator runs removes every resource of its kind, and must never
//! empty GoAlert. This is its own test binary: binaries run one after the other, so no other
//! test loses its resources while the CRD is gone.
#![cfg(feature = "e2e")]

use e2e::{
    eventually, kubectl,
    scene::{CONVERGE, Scene, scene},
    unique_name,
};
use goalert_client::model::TargetType;
use goalert_provisioning::api::GoAlertRotation;

const CRD: &str = "goalertrotations.goalert.heystaq.com";

/// Puts the CRD back however the test ends. Resources of earlier test binaries, whose operators
/// are gone, still hold the finalizer: released here as an administrator would after
/// uninstalling, so the deletion can finish.
struct Reinstall;

impl Drop for Reinstall {
    fn drop(&mut self) {
        let (_, leftovers, _) = kubectl(
            &[
                "get",
                "goalertrotations",
                "-A",
                "-o",
                "jsonpath={range .items[*]}{.metadata.namespace} {.metadata.name}{\"\\n\"}{end}",
            ],
            None,
        );
        for line in leftovers.lines() {
            if let Some((namespace, name)) = line.split_once(' ') {
                kubectl(
                    &[
                        "patch",
                        "goalertrotation",
                        name,
                        "-n",
                        namespace,
                        "--type",
                        "merge",
                        "-p",
                        r#"{"metadata":{"finalizers":null}}"#,
                    ],
                    None,
                );
            }
        }
        let (ok, _, stderr) = kubectl(
            &["wait", "--for=delete", &format!("crd/{CRD}"), "--timeout=60s"],
            None,
        );
        assert!(ok, "{CRD} deleted: {stderr}");
        let file = format!("{}/crds/{CRD}.yaml", e2e::repo_root().display());
        let (ok, _, stderr) = kubectl(
            &["apply", "--server-side", "--force-conflicts", "-f", &file],
            None,
        );
        assert!(ok, "reinstalling {CRD}: {stderr}");
        let (ok, _, stderr) = kubectl(
            &[
                "wait",
                "--for",
                "condition=Established",
                "--timeout",
                "60s",
                "-f",
                &file,
            ],
            None,
        );
        assert!(ok, "{CRD} Established: {stderr}");
    }
}

#[tokio::test]
async fn deleting_a_crd_keeps_every_goalert_object() {
    let scene: Scene = scene("uninstall").await;
    let name = unique_name("Outlives Its CRD");
    scene.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: created\nspec:\n  rotationName: {name}\n  type: Daily\n  timeZone: Etc/UTC\n  start: \"2026-01-05T09:00:00Z\"\n  deletionPolicy: Delete\n"
    ));
    let id = scene.ready::<GoAlertRotation>("created").await;

    let _reinstall = Reinstall;
    let (ok, _, stderr) = kubectl(&["delete", "crd", CRD, "--wait=false"], None);
    assert!(ok, "deleting {CRD}: {stderr}");
    let rotations = scene.api::<GoAlertRotation>();
    eventually("the resource is removed with its CRD", CONVERGE, || async {
        match rotations.get_opt("created").await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;

    assert_eq!(
        scene.rotation(&id).await["name"],
        name.as_str(),
        "even with deletionPolicy Delete, removing the CRD deletes nothing in GoAlert\n{}",
        scene.operator.logs()
    );
    let events = scene.events("created");
    assert!(
        events.contains("its CustomResourceDefinition is being deleted"),
        "{events}"
    );

    scene
        .goalert
        .delete(&[(TargetType::Rotation, id.as_str())])
        .await
        .unwrap();
}
