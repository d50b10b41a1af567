//! The operator serving its admission webhooks to the real kube-apiserver (out of cluster, on
//! 127.0.0.1 over TLS, with the caBundle the operator injected). Each registration is limited to
//! one namespace, so tests run side by side and never affect other test binaries.

use std::time::Duration;

use goalert_client::OPERATOR_DOCUMENT;
use serde_json::{Value, json};

use crate::{Operator, eventually, free_port, kubectl, namespace, repo_root, testbed};

/// The operator with its webhooks registered for `namespace`; removes the configurations when
/// dropped so a failing test leaves nothing that refuses writes.
pub struct Webhooks {
    pub operator: Operator,
    /// Where the operator serves /validate and /mutate (HTTPS on 127.0.0.1).
    pub port: u16,
    pub configuration: String,
    pub namespace: String,
}

impl Drop for Webhooks {
    fn drop(&mut self) {
        for kind in ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"] {
            let _ = kubectl(&["delete", kind, &self.configuration, "--ignore-not-found"], None);
        }
    }
}

pub fn apply_file(namespace: &str, path: &str, dry_run: bool) -> (bool, String, String) {
    let mut args = vec!["apply", "-n", namespace, "-f", path];
    if dry_run {
        args.push("--dry-run=server");
    }
    kubectl(&args, None)
}

/// Registers webhooks/{validating,mutating}.yaml for a new namespace and starts the operator
/// serving them; see [`Webhooks::start_in`].
pub async fn start(prefix: &str, goalert_url: Option<&str>, extra_env: &[(&str, &str)]) -> Webhooks {
    Webhooks::start_in(namespace(prefix).await, goalert_url, extra_env).await
}

impl Webhooks {
    /// Registers webhooks/{validating,mutating}.yaml under a per-namespace name, port and
    /// namespaceSelector, and starts the operator watching `namespace` and serving them
    /// (`extra_env` wins over the defaults, POD_NAMESPACE included).
    pub async fn start_in(namespace: String, goalert_url: Option<&str>, extra_env: &[(&str, &str)]) -> Self {
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
            webhook["namespaceSelector"] =
                json!({ "matchLabels": { "kubernetes.io/metadata.name": namespace } });
            let (ok, _, stderr) = kubectl(&["apply", "-f", "-"], Some(&config.to_string()));
            assert!(ok, "{stderr}");
        }
        let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
        let goalert_url = goalert_url.unwrap_or(&testbed().goalert_url).to_owned();
        let bind = format!("127.0.0.1:{port}");
        let mut env = vec![
            ("GOALERT_URL", goalert_url.as_str()),
            ("GOALERT_API_KEY", key.as_str()),
            ("WEBHOOK_CERT_MODE", "self-managed"),
            ("WEBHOOK_BIND_ADDRESS", bind.as_str()),
            ("WEBHOOK_CERT_IP_SANS", "127.0.0.1"),
            ("WEBHOOK_CONFIGURATION_NAME", configuration.as_str()),
            ("WEBHOOK_SECRET_NAME", "goalert-provisioning-webhook-tls"),
            ("POD_NAMESPACE", namespace.as_str()),
        ];
        env.extend_from_slice(extra_env);
        let operator = Operator::start(&namespace, &env);
        operator
            .wait_for_readyz(Duration::from_secs(60), |_, body| body.contains("[+]webhooks ok"))
            .await;
        let webhooks = Webhooks {
            operator,
            port,
            configuration,
            namespace,
        };
        // The API server picks up new configurations within about a second: wait until a
        // known-bad object is refused by the webhook (not by the CRD).
        let bad = repo_root().join("e2e/bad-manifests/rotation-unknown-time-zone.yaml");
        eventually("the webhook is called", Duration::from_secs(30), || async {
            let (ok, _, stderr) = apply_file(&webhooks.namespace, bad.to_str().unwrap(), true);
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
}
