//! The operator serving its admission webhooks out of cluster, registered with the real
//! kube-apiserver the way the chart registers them (webhooks/{validating,mutating}.yaml), but
//! under a per-test name, port and namespaceSelector: tests run side by side and never affect
//! other test binaries.

use std::time::Duration;

use goalert_client::{GoAlert, OPERATOR_DOCUMENT};
use serde_json::{Value, json};

use crate::{
    FreshGoAlert, Operator, eventually, free_port, kube_client, kubectl, namespace, repo_root, scene::Scene,
    testbed,
};

/// A scene whose operator also serves the webhooks for its namespace; removes the
/// configurations when dropped so a failing test leaves nothing that refuses writes.
pub struct Webhooks {
    pub scene: Scene,
    /// Where the operator serves /validate and /mutate (HTTPS on 127.0.0.1).
    pub port: u16,
    pub configuration: String,
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

/// The webhooks for a new namespace, served by an operator with an API key for `goalert_url`
/// (the testbed's GoAlert when None); see [`Webhooks::start_in`].
pub async fn start(prefix: &str, goalert_url: Option<&str>, extra_env: &[(&str, &str)]) -> Webhooks {
    Webhooks::start_in(namespace(prefix).await, goalert_url, extra_env).await
}

/// The webhooks for a new namespace, served by an operator with `goalert_env` (GOALERT_URL and
/// its credentials, and any other settings); `goalert` is an administrator's client of the same
/// GoAlert, for the test's own reads. See [`Webhooks::serve_in`].
pub async fn serve(prefix: &str, goalert_env: &[(&str, &str)], goalert: GoAlert) -> Webhooks {
    Webhooks::serve_in(namespace(prefix).await, goalert_env, goalert).await
}

/// [`serve`] for a GoAlert of the test's own, with the testbed's administrator login.
pub async fn serve_for(prefix: &str, goalert: &FreshGoAlert) -> Webhooks {
    let tb = testbed();
    let env = [
        ("GOALERT_URL", goalert.url.as_str()),
        ("GOALERT_USERNAME", tb.admin_user.as_str()),
        ("GOALERT_PASSWORD", tb.admin_password.as_str()),
    ];
    serve(prefix, &env, goalert.admin()).await
}

impl Webhooks {
    /// [`Webhooks::serve_in`] with an API key for `goalert_url` (the testbed's GoAlert when None);
    /// `extra_env` wins over the defaults, POD_NAMESPACE included.
    pub async fn start_in(namespace: String, goalert_url: Option<&str>, extra_env: &[(&str, &str)]) -> Self {
        let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
        let goalert_url = goalert_url.unwrap_or(&testbed().goalert_url).to_owned();
        let mut env = vec![
            ("GOALERT_URL", goalert_url.as_str()),
            ("GOALERT_API_KEY", key.as_str()),
        ];
        env.extend_from_slice(extra_env);
        Self::serve_in(namespace, &env, testbed().admin()).await
    }

    /// Registers webhooks/{validating,mutating}.yaml for `namespace` and starts the operator
    /// watching it and serving them. Returns once the API server calls the webhooks.
    pub async fn serve_in(namespace: String, goalert_env: &[(&str, &str)], goalert: GoAlert) -> Self {
        Self::serve_replicas_in(namespace, 1, goalert_env, goalert)
            .await
            .0
    }

    /// [`Webhooks::serve_in`] with `replicas` operators, as a Deployment with that many replicas
    /// runs them: one CA Secret, one pair of configurations, each configuration with one webhook
    /// per replica (the same rules, each calling its replica), so the API server calls every
    /// replica on every review. The first replica is the scene's; the others are returned with
    /// their ports.
    pub async fn serve_replicas_in(
        namespace: String,
        replicas: usize,
        goalert_env: &[(&str, &str)],
        goalert: GoAlert,
    ) -> (Self, Vec<(u16, Operator)>) {
        let ports: Vec<u16> = (0..replicas).map(|_| free_port()).collect();
        let configuration = format!("goalert-provisioning-{namespace}");
        for file in ["webhooks/validating.yaml", "webhooks/mutating.yaml"] {
            let text = std::fs::read_to_string(repo_root().join(file)).unwrap();
            let mut config: Value = serde_yaml::from_str(&text).unwrap();
            config["metadata"]["name"] = json!(configuration);
            let template = config["webhooks"][0].clone();
            let path = template["clientConfig"]["url"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            let webhooks: Vec<Value> = ports
                .iter()
                .enumerate()
                .map(|(i, port)| {
                    let mut webhook = template.clone();
                    if i > 0 {
                        // Names are unique within a configuration.
                        webhook["name"] = json!(format!("replica{i}.{}", template["name"].as_str().unwrap()));
                    }
                    webhook["clientConfig"]["url"] = json!(format!("https://127.0.0.1:{port}/{path}"));
                    webhook["namespaceSelector"] =
                        json!({ "matchLabels": { "kubernetes.io/metadata.name": namespace } });
                    webhook
                })
                .collect();
            config["webhooks"] = json!(webhooks);
            let (ok, _, stderr) = kubectl(&["apply", "-f", "-"], Some(&config.to_string()));
            assert!(ok, "{stderr}");
        }
        let mut operators = Vec::new();
        for port in &ports {
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
            operators.push((*port, Operator::start(&namespace, &env)));
        }
        for (_, operator) in &operators {
            operator
                .wait_for_readyz(Duration::from_secs(60), |_, body| body.contains("[+]webhooks ok"))
                .await;
        }
        let mut operators = operators.into_iter();
        let (port, operator) = operators.next().expect("at least one replica");
        let webhooks = Webhooks {
            scene: Scene {
                namespace,
                operator,
                kube: kube_client().await,
                goalert,
            },
            port,
            configuration,
        };
        // The API server picks up new configurations within about a second: wait until a
        // known-bad object is refused by the webhook (not by the CRD).
        let bad = repo_root().join("e2e/bad-manifests/rotation-unknown-time-zone.yaml");
        eventually("the webhook is called", Duration::from_secs(30), || async {
            let (ok, _, stderr) = apply_file(&webhooks.scene.namespace, bad.to_str().unwrap(), true);
            // The CRD alone cannot tell a misspelt zone: this message comes from the webhook.
            if !ok && stderr.contains("is not an IANA time zone name") {
                Ok(())
            } else {
                Err(stderr)
            }
        })
        .await;
        (webhooks, operators.collect())
    }
}
