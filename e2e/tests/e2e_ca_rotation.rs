//! The self-managed webhook CA rotated under two replicas, through the real kube-apiserver: the
//! CA Secret deleted (a rotation by hand) or its CA due for renewal. Every review the API server
//! sends meanwhile goes to both replicas (one webhook per replica in each configuration) and
//! none fails; both replicas end up serving certificates of the new CA, and the caBundle, which
//! carried the old and the new CA during the rotation, ends with the new one alone.
#![cfg(feature = "e2e")]

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};

use e2e::{Operator, eventually, kube_client, kubectl, namespace, testbed, webhooks::Webhooks};
use goalert_client::OPERATOR_DOCUMENT;
use goalert_provisioning::api::GoAlertUser;
use k8s_openapi::api::{
    admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration},
    core::v1::Secret,
};
use kube::{Api, api::PostParams};
use serde_json::json;

const SECRET: &str = "goalert-provisioning-webhook-tls";

/// Short leaves so a rotation finishes within the test: the old CA stays trusted for a leaf's
/// validity plus one check period after the rotation.
const SHORT_LEAVES: [(&str, &str); 3] = [
    ("WEBHOOK_CERT_VALIDITY", "15s"),
    ("WEBHOOK_CERT_RENEW_BEFORE", "5s"),
    ("WEBHOOK_CA_CHECK_PERIOD", "1s"),
];

async fn two_replicas(prefix: &str, env: &[(&str, &str)]) -> (Webhooks, Vec<(u16, Operator)>) {
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let mut all = vec![
        ("GOALERT_URL", testbed().goalert_url.as_str()),
        ("GOALERT_API_KEY", key.as_str()),
    ];
    all.extend_from_slice(&SHORT_LEAVES);
    all.extend_from_slice(env);
    Webhooks::serve_replicas_in(namespace(prefix).await, 2, &all, testbed().admin()).await
}

async fn secret_ca(namespace: &str) -> Option<String> {
    let secrets: Api<Secret> = Api::namespaced(kube_client().await, namespace);
    let secret = secrets.get_opt(SECRET).await.ok()??;
    let data = secret.data?;
    Some(String::from_utf8_lossy(&data.get("ca.crt")?.0).into_owned())
}

/// Every caBundle of both configurations (one per webhook, so one per replica).
async fn bundles(configuration: &str) -> Vec<String> {
    let client = kube_client().await;
    let validating = Api::<ValidatingWebhookConfiguration>::all(client.clone())
        .get(configuration)
        .await
        .unwrap();
    let mutating = Api::<MutatingWebhookConfiguration>::all(client)
        .get(configuration)
        .await
        .unwrap();
    let text = |b: Option<&k8s_openapi::ByteString>| b.map(|b| String::from_utf8_lossy(&b.0).into_owned());
    let mut all: Vec<String> = validating
        .webhooks
        .iter()
        .flatten()
        .filter_map(|w| text(w.client_config.ca_bundle.as_ref()))
        .collect();
    all.extend(
        mutating
            .webhooks
            .iter()
            .flatten()
            .filter_map(|w| text(w.client_config.ca_bundle.as_ref())),
    );
    all
}

fn certificates(bundle: &str) -> usize {
    bundle.matches("-----BEGIN CERTIFICATE-----").count()
}

/// Whether the replica on `port` serves a certificate that verifies with `ca` as the only root
/// (a new connection each time, so a new handshake).
async fn serves_leaf_of(port: u16, ca: &str) -> Result<(), String> {
    goalert_client::tls::ensure_crypto_provider();
    let root = reqwest::Certificate::from_pem(ca.as_bytes()).map_err(|e| e.to_string())?;
    let client = reqwest::Client::builder()
        .tls_certs_only([root])
        .build()
        .map_err(|e| e.to_string())?;
    // Any HTTP answer (GET on a POST route) means the handshake verified.
    match client
        .get(format!("https://127.0.0.1:{port}/validate"))
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("replica on {port}: {e:?}")),
    }
}

/// Dry-run creates through the API server until `stop`: both replicas' validating and mutating
/// webhooks review each (failurePolicy Fail, so a TLS failure is a failed create). Returns the
/// number of reviews and the failures.
fn reviews_until(namespace: &str, stop: Arc<AtomicBool>) -> tokio::task::JoinHandle<(usize, Vec<String>)> {
    let namespace = namespace.to_owned();
    tokio::spawn(async move {
        let users = Api::<GoAlertUser>::namespaced(kube_client().await, &namespace);
        let user: GoAlertUser = serde_json::from_value(json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertUser",
            "metadata": { "name": "rotating" },
            "spec": { "email": "rotating@example.com" },
        }))
        .unwrap();
        let dry_run = PostParams {
            dry_run: true,
            ..Default::default()
        };
        let (mut reviews, mut failures) = (0, Vec::new());
        while !stop.load(Ordering::Relaxed) {
            match users.create(&dry_run, &user).await {
                Ok(created) if created.spec.username.as_deref() == Some("rotating") => {}
                Ok(_) => failures.push(format!("review {reviews}: not mutated")),
                Err(e) => failures.push(format!("review {reviews}: {e}")),
            }
            reviews += 1;
            // A bounded loop: about 20 reviews a second, as a busy GitOps sync sends them.
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (reviews, failures)
    })
}

/// Runs reviews while `rotate` happens and the rotation completes; asserts none failed.
async fn rotation_fails_no_review(
    webhooks: &Webhooks,
    others: &[(u16, Operator)],
    rotate: impl AsyncFnOnce(&str),
) {
    let ns = &webhooks.scene.namespace;
    let ports: Vec<u16> = std::iter::once(webhooks.port)
        .chain(others.iter().map(|(p, _)| *p))
        .collect();
    let old = secret_ca(ns).await.expect("the first replica made the CA");
    for port in &ports {
        serves_leaf_of(*port, &old).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let reviews = reviews_until(ns, stop.clone());
    let started = Instant::now();

    rotate(&old).await;
    let new = eventually("a new CA in the Secret", Duration::from_secs(60), || async {
        match secret_ca(ns).await {
            Some(ca) if ca.trim() != old.trim() => Ok(ca),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let both = eventually(
        "a caBundle with the old and the new CA",
        Duration::from_secs(30),
        || async {
            let all = bundles(&webhooks.configuration).await;
            if all
                .iter()
                .any(|b| b.contains(new.trim()) && b.contains(old.trim()))
            {
                Ok(())
            } else {
                Err(format!("{all:?}"))
            }
        },
    );
    both.await;
    for port in &ports {
        eventually(
            &format!("the replica on {port} serves a leaf of the new CA"),
            Duration::from_secs(30),
            || serves_leaf_of(*port, &new),
        )
        .await;
    }
    // The old CA is dropped once no leaf it signed can be valid (15 s leaves, 1 s period).
    eventually(
        "the caBundle holds the new CA alone",
        Duration::from_secs(60),
        || async {
            let all = bundles(&webhooks.configuration).await;
            if all.len() == 2 * ports.len()
                && all.iter().all(|b| certificates(b) == 1 && b.contains(new.trim()))
            {
                Ok(())
            } else {
                Err(format!("{all:?}"))
            }
        },
    )
    .await;
    // Leaves keep renewing from the new CA: a few more reviews after the bundle shrank.
    tokio::time::sleep(Duration::from_secs(6)).await;
    stop.store(true, Ordering::Relaxed);
    let (count, failures) = reviews.await.unwrap();
    let logs = |o: &Operator| o.logs();
    println!(
        "{count} reviews through kube-apiserver over {:?} of rotation (each to both replicas), {} failed",
        started.elapsed(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{failures:#?}\nreplica 0:\n{}\nreplica 1:\n{}",
        logs(&webhooks.scene.operator),
        others.iter().map(|(_, o)| logs(o)).collect::<String>()
    );
    // The loop reviews continuously from before the rotation until after it completed; on a
    // loaded 2-core testbed a review can take 250 ms, so only a floor on the count.
    assert!(count >= 20, "only {count} reviews");
    for port in &ports {
        serves_leaf_of(*port, &new).await.unwrap();
        assert!(
            serves_leaf_of(*port, &old).await.is_err(),
            "{port} still serves the old CA's leaf"
        );
    }
}

#[tokio::test]
async fn deleting_the_ca_secret_rotates_the_ca_and_no_review_fails() {
    let (webhooks, others) = two_replicas("ca-delete", &[]).await;
    let ns = webhooks.scene.namespace.clone();
    rotation_fails_no_review(&webhooks, &others, async |_| {
        let (ok, _, stderr) = kubectl(&["delete", "secret", "-n", &ns, SECRET], None);
        assert!(ok, "{stderr}");
    })
    .await;
}

#[tokio::test]
async fn the_ca_is_renewed_before_it_expires_and_no_review_fails() {
    // A CA valid 80 s, renewed 40 s before it expires: the first renewal comes 40 s after the
    // replicas start; the previous CA is dropped 16 s later, well before the next renewal.
    let (webhooks, others) = two_replicas(
        "ca-renew",
        &[("WEBHOOK_CA_VALIDITY", "80s"), ("WEBHOOK_CA_RENEW_BEFORE", "40s")],
    )
    .await;
    rotation_fails_no_review(&webhooks, &others, async |_| {}).await;
    let renewed = others
        .iter()
        .map(|(_, o)| o.logs())
        .chain([webhooks.scene.operator.logs()])
        .filter(|l| l.contains("renewed the CA before it expires"))
        .count();
    assert!(renewed >= 1, "a replica renewed the CA");
}
