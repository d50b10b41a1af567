//! Where the serving certificate comes from: self-managed (a CA in a Secret, leaves issued and
//! renewed in-process, caBundle injected) or cert-manager (files, reloaded when they change).

use std::{
    path::PathBuf,
    sync::Arc,
    time::{Duration, SystemTime},
};

use anyhow::Context as _;
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, api::PostParams};

use super::{
    READINESS_CHECK, WebhookArgs, ca_bundle,
    certs::{self, CertStore, Pem},
};
use crate::{metrics::Metrics, server::Readiness};

/// The CA from the Secret, creating both when missing. Every replica ends up with the same CA:
/// a replica that loses the race to create the Secret reads the winner's.
pub(super) async fn load_or_create_ca(
    secrets: &Api<Secret>,
    name: &str,
    validity: Duration,
) -> anyhow::Result<Pem> {
    for _ in 0..3 {
        if let Some(secret) = secrets.get_opt(name).await? {
            let data = secret.data.unwrap_or_default();
            let text = |key: &str| {
                data.get(key)
                    .map(|v| String::from_utf8_lossy(&v.0).into_owned())
                    .with_context(|| format!("Secret {name} has no {key}"))
            };
            return Ok(Pem {
                cert: text("ca.crt")?,
                key: text("ca.key")?,
            });
        }
        let ca = certs::new_ca(validity)?;
        let secret: Secret = serde_json::from_value(serde_json::json!({
            "metadata": {
                "name": name,
                "labels": {
                    "app.kubernetes.io/managed-by": "goalert-provisioning",
                    "app.kubernetes.io/component": "webhook-ca",
                },
            },
            "type": "Opaque",
            "stringData": { "ca.crt": ca.cert, "ca.key": ca.key },
        }))?;
        match secrets.create(&PostParams::default(), &secret).await {
            Ok(_) => {
                tracing::info!(secret = name, "webhook: created a CA");
                return Ok(ca);
            }
            Err(kube::Error::Api(e)) if e.code == 409 => continue,
            Err(e) => return Err(e).context(format!("cannot create the Secret {name}")),
        }
    }
    anyhow::bail!("cannot read or create the Secret {name}")
}

pub(super) async fn self_managed(
    args: &WebhookArgs,
    kube: &Client,
    metrics: Metrics,
    readiness: Readiness,
) -> anyhow::Result<Arc<CertStore>> {
    let namespace = args
        .service_namespace
        .clone()
        .unwrap_or_else(|| kube.default_namespace().to_owned());
    let secrets: Api<Secret> = Api::namespaced(kube.clone(), &namespace);
    let names = args.dns_names(&namespace);
    let validity: Duration = args.cert_validity.into();
    let renew_before: Duration = args.cert_renew_before.into();

    let ca = load_or_create_ca(&secrets, &args.secret_name, args.ca_validity.into()).await?;
    let leaf = certs::new_leaf(&ca, &names, &args.ip_sans, validity)?;
    let store = CertStore::new(leaf.certified_key()?);
    metrics.webhooks.certificate_expires(leaf.not_after()?);

    let (args, kube, store_) = (args.clone(), kube.clone(), store.clone());
    tokio::spawn(async move {
        let mut ca = ca;
        let mut expires = leaf.not_after().unwrap_or_else(|_| SystemTime::now());
        loop {
            // caBundle: at start, then again on every pass in case it was reset (for example
            // by a tool that replaced the configurations).
            let injected = match ca_bundle::inject(&kube, &args.configuration_name, ca.cert.as_bytes()).await
            {
                Ok(()) => {
                    if readiness.report(READINESS_CHECK, Ok(())).await {
                        tracing::info!("webhook: caBundle in place");
                    }
                    true
                }
                Err(error) => {
                    let reason = format!(
                        "cannot write caBundle into the webhook configurations {:?}: {error}",
                        args.configuration_name
                    );
                    if readiness.report(READINESS_CHECK, Err(reason.clone())).await {
                        tracing::error!(%reason, "webhook");
                    }
                    false
                }
            };
            let mut delay = certs::renewal_delay(expires, renew_before);
            if !injected {
                delay = delay.min(Duration::from_secs(5));
            }
            tokio::time::sleep(delay.min(Duration::from_secs(300))).await;
            if certs::renewal_delay(expires, renew_before) > Duration::from_secs(1) {
                continue;
            }
            // Renew: the CA may have been replaced meanwhile (the Secret deleted to rotate it).
            match load_or_create_ca(&secrets, &args.secret_name, args.ca_validity.into()).await {
                Ok(current) => ca = current,
                Err(error) => {
                    tracing::warn!(%error, "webhook: cannot re-read the CA; keeping the one in memory")
                }
            }
            match certs::new_leaf(&ca, &names, &args.ip_sans, validity)
                .and_then(|leaf| Ok((leaf.certified_key()?, leaf.not_after()?)))
            {
                Ok((key, not_after)) => {
                    store_.replace(key);
                    expires = not_after;
                    metrics.webhooks.certificate_expires(not_after);
                    tracing::info!(expires = %humantime::format_rfc3339_seconds(not_after), "webhook: serving certificate renewed");
                }
                Err(error) => tracing::error!(%error, "webhook: cannot renew the serving certificate"),
            }
        }
    });
    Ok(store)
}

pub(super) async fn cert_manager(args: &WebhookArgs, metrics: Metrics) -> anyhow::Result<Arc<CertStore>> {
    let read = |dir: PathBuf| async move {
        let cert = tokio::fs::read_to_string(dir.join("tls.crt")).await?;
        let key = tokio::fs::read_to_string(dir.join("tls.key")).await?;
        anyhow::Ok(Pem { cert, key })
    };
    let dir = args.cert_dir.clone();
    let first = read(dir.clone())
        .await
        .with_context(|| format!("cannot read tls.crt and tls.key in {}", dir.display()))?;
    let store = CertStore::new(first.certified_key()?);
    metrics.webhooks.certificate_expires(first.not_after()?);
    let store_ = store.clone();
    tokio::spawn(async move {
        let mut current = first.cert;
        loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            match read(dir.clone()).await {
                Ok(pem) if pem.cert != current => match pem.certified_key() {
                    Ok(key) => {
                        store_.replace(key);
                        if let Ok(expires) = pem.not_after() {
                            metrics.webhooks.certificate_expires(expires);
                        }
                        current = pem.cert;
                        tracing::info!("webhook: reloaded the certificate cert-manager renewed");
                    }
                    // cert-manager writes the files one after the other: retry next round.
                    Err(error) => tracing::debug!(%error, "webhook: certificate files not consistent yet"),
                },
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "webhook: cannot read the certificate files"),
            }
        }
    });
    Ok(store)
}
