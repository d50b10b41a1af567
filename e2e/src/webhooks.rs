//! The operator serving its admission webhooks out of cluster, registered with the real
//! kube-apiserver the way the chart registers them (webhooks/{validating,mutating}.yaml), but
//! under a per-test name, port and namespaceSelector: tests run side by side and never affect
//! other test binaries.

use std::time::Duration;

use goalert_client::GoAlert;
use serde_json::{Value, json};

use crate::{Operator, eventually, free_port, kube_client, kubectl, namespace, repo_root, scene::Scene};

/// A scene whose operator also serves the webhooks for its namespace; removes the
/// configurations when dropped so a failing test leaves nothing that refuses writes.
pub struct Webhooks {
    pub scene: Scene,
    pub configuration: String,
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        for kind in ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"] {
            let _ = kubectl(&["delete", kind, &self.configuration, "--ignore-not-found"], None);
        }
    }
}

/// A new namespace whose operator (with `goalert_env`: GOALERT_URL and its credentials, and
/// any other settings) serves both webhooks for it; `goalert` is an administrator's client of
/// the same GoAlert, for the test's own reads. Returns once the API server calls the webhooks.
pub async fn serve(prefix: &str, goalert_env: &[(&str, &str)], goalert: GoAlert) -> Webhooks {
    let namespace = namespace(prefix).await;
    let port = free_port();
    let configuration = format!("goalert-provisioning-{namespace}");
    for file in ["webhooks/validating.yaml", "webhooks/mutating.yaml"] {
        let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
        let mut config: Value = serde_yaml::from_str(&text).unwrap();
        config["metadata"]["name"] = json!(configuration);
        let webhook = &mut config["webhooks"][0];
        let path = webhook["clientConfig"]["url"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap()
            .to_owned();
        webhook["clientConfig"]["url"] = json!(format!("https://127.0.0.1:{port}/{path}"));
        webhook["namespaceSelector"] = json!({ "matchLabels": { "kubernetes.io/metadata.name": namespace } });
        let (ok, _, stderr) = kubectl(&["apply", "-f", "-"], Some(&config.to_string()));
        assert!(ok, "{stderr}");
    }
    let bind = format!("127.0.0.1:{port}");
    let mut env = vec![
        ("WEBHOOK_CERT_MODE", "self-managed"),
        ("WEBHOOK_BIND_ADDRESS", bind.as_str()),
        ("WEBHOOK_CERT_IP_SANS", "127.0.0.1"),
        ("WEBHOOK_CONFIGURATION_NAME", configuration.as_str()),
        ("WEBHOOK_SECRET_NAME", "goalert-provisioning-webhook-tls"),
        ("POD_NAMESPACE", namespace.as_str()),
    ];
    env.extend_from_slice(goalert_env);
    let operator = Operator::start(&namespace, &env);
    operator
        .wait_for_readyz(Duration::from_secs(60), |_, body| body.contains("[+]webhooks ok"))
        .await;
    let webhooks = Webhooks {
        scene: Scene {
            namespace,
            operator,
            kube: kube_client().await,
            goalert,
        },
        configuration,
    };
    // The API server picks up new configurations within about a second: wait until a known-bad
    // object is refused by the webhook (not by the CRD).
    let bad = repo_root().join("e2e/bad-manifests/rotation-unknown-time-zone.yaml");
    eventually("the webhook is called", Duration::from_secs(30), || async {
        let (ok, _, stderr) = kubectl(
            &[
                "apply",
                "-n",
                &webhooks.scene.namespace,
                "-f",
                bad.to_str().unwrap(),
                "--dry-run=server",
            ],
            None,
        );
        // The CRD alone cannot tell a misspelt zone: this message comes from the webhook.
        if !ok && stderr.contains("is not an IANA time zone name") {
            Ok(())
        } else {
            Err(stderr)
        }
    })
    .await;
    webhooks
}
