//! Where the serving certificate comes from: self-managed (a CA in a Secret, leaves issued and
//! renewed in-process, caBundle injected, the CA rotated as [`rotation`] decides) or cert-manager
//! (files, reloaded when they change).

use std::{
    collections::BTreeMap,
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use anyhow::Context as _;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{Api, Client, api::PostParams};
use rustls::sign::CertifiedKey;

use super::{
    READINESS_CHECK, WebhookArgs, ca_bundle,
    certs::{self, CertStore, Pem},
    rotation::{self, CaAction, CaSecret, InPlace, Previous, Reissue},
};
use crate::{metrics::Metrics, server::Readiness};

/// The CA Secret's keys: the CA (`ca.crt`, `ca.key`) and, during a rotation, the CA it replaced
/// and until when that one is still trusted (RFC 3339).
const CA_CERT: &str = "ca.crt";
const CA_KEY: &str = "ca.key";
const PREVIOUS_CERT: &str = "previous-ca.crt";
const PREVIOUS_UNTIL: &str = "previous-ca-until";

fn parse_ca_secret(name: &str, secret: &Secret) -> anyhow::Result<CaSecret> {
    let data = secret.data.clone().unwrap_or_default();
    let text = |key: &str| data.get(key).map(|v| String::from_utf8_lossy(&v.0).into_owned());
    let required = |key: &str| text(key).with_context(|| format!("Secret {name} has no {key}"));
    let cert = required(CA_CERT)?;
    let previous = match (text(PREVIOUS_CERT), text(PREVIOUS_UNTIL)) {
        (Some(cert), Some(until)) => Some(Previous {
            cert,
            until: humantime::parse_rfc3339(until.trim())
                .with_context(|| format!("Secret {name}: {PREVIOUS_UNTIL} is not an RFC 3339 time"))?,
        }),
        _ => None,
    };
    Ok(CaSecret {
        not_after: certs::not_after(&cert).with_context(|| format!("Secret {name}: {CA_CERT}"))?,
        key: required(CA_KEY)?,
        cert,
        previous,
    })
}

fn ca_secret_data(ca: &CaSecret) -> BTreeMap<String, ByteString> {
    let mut data = BTreeMap::from([
        (CA_CERT.to_owned(), ByteString(ca.cert.clone().into_bytes())),
        (CA_KEY.to_owned(), ByteString(ca.key.clone().into_bytes())),
    ]);
    if let Some(previous) = &ca.previous {
        data.insert(
            PREVIOUS_CERT.into(),
            ByteString(previous.cert.clone().into_bytes()),
        );
        let until = humantime::format_rfc3339_seconds(previous.until).to_string();
        data.insert(PREVIOUS_UNTIL.into(), ByteString(until.into_bytes()));
    }
    data
}

/// A new CA that replaces `replaced` (a certificate PEM), which stays trusted while leaves it
/// signed may still be served.
fn new_ca_secret(
    replaced: Option<&str>,
    ca_validity: Duration,
    previous_until: SystemTime,
) -> anyhow::Result<CaSecret> {
    let ca = certs::new_ca(ca_validity)?;
    Ok(CaSecret {
        not_after: ca.not_after()?,
        cert: ca.cert,
        key: ca.key,
        previous: replaced.map(|cert| Previous {
            cert: cert.to_owned(),
            until: previous_until,
        }),
    })
}

/// The self-managed mode's settings for the CA Secret.
struct CaSettings {
    secrets: Api<Secret>,
    name: String,
    ca_validity: Duration,
    ca_renew_before: Duration,
    leaf_validity: Duration,
    check_period: Duration,
}

impl CaSettings {
    /// The CA Secret, made when missing and renewed when due ([`rotation::ca_action`]).
    /// `serving_ca` is the CA this replica's leaf chains to, if it has one: a Secret deleted to
    /// rotate is made again with it as the previous CA. Every replica ends up with the same
    /// Secret: a create or replace that loses a race (409) reads the winner's.
    async fn sync(&self, serving_ca: Option<&str>) -> anyhow::Result<CaSecret> {
        let name = &self.name;
        for _ in 0..3 {
            let existing = self.secrets.get_opt(name).await?;
            let current = existing.as_ref().map(|s| parse_ca_secret(name, s)).transpose()?;
            let now = SystemTime::now();
            let until = rotation::previous_until(now, self.leaf_validity, self.check_period);
            let written = match (
                rotation::ca_action(current.as_ref(), now, self.ca_renew_before),
                existing,
            ) {
                (CaAction::Keep, _) => return current.context("kept a Secret that exists"),
                (CaAction::Create, _) => {
                    let next = new_ca_secret(serving_ca, self.ca_validity, until)?;
                    let secret: Secret = serde_json::from_value(serde_json::json!({
                        "metadata": {
                            "name": name,
                            "labels": {
                                "app.kubernetes.io/managed-by": "goalert-provisioning",
                                "app.kubernetes.io/component": "webhook-ca",
                            },
                        },
                        "type": "Opaque",
                        "data": ca_secret_data(&next),
                    }))?;
                    self.secrets
                        .create(&PostParams::default(), &secret)
                        .await
                        .map(|_| (next, "created a CA"))
                }
                (CaAction::Renew, Some(mut secret)) => {
                    let replaced = current.as_ref().map(|c| c.cert.as_str());
                    let next = new_ca_secret(replaced, self.ca_validity, until)?;
                    // Replaced with the resourceVersion read: of two replicas renewing at once,
                    // one wins and the other reads its CA.
                    secret.data = Some(ca_secret_data(&next));
                    self.secrets
                        .replace(name, &PostParams::default(), &secret)
                        .await
                        .map(|_| (next, "renewed the CA before it expires"))
                }
                (CaAction::Renew, None) => unreachable!("only an existing Secret is due for renewal"),
            };
            match written {
                Ok((next, what)) => {
                    tracing::info!(
                        secret = name.as_str(),
                        expires = %humantime::format_rfc3339_seconds(next.not_after),
                        "webhook: {what}"
                    );
                    return Ok(next);
                }
                Err(kube::Error::Api(e)) if e.code == 409 => continue,
                Err(e) => return Err(e).context(format!("cannot write the Secret {name}")),
            }
        }
        anyhow::bail!("cannot read or write the Secret {name}: it changed under every attempt")
    }
}

/// The serving certificate, with the CA it chains to (kept in memory: a renewal before the
/// bundle holding a new CA has settled is issued from it again).
struct Leaf {
    ca: Pem,
    not_after: SystemTime,
}

fn new_leaf(ca: &Pem, args: &WebhookArgs, names: &[String]) -> anyhow::Result<(Arc<CertifiedKey>, Leaf)> {
    let leaf = certs::new_leaf(ca, names, &args.ip_sans, args.cert_validity.into())?;
    let leaf_ = Leaf {
        ca: ca.clone(),
        not_after: leaf.not_after()?,
    };
    Ok((leaf.certified_key()?, leaf_))
}

pub(super) async fn self_managed(
    args: &WebhookArgs,
    kube: &Client,
    metrics: Metrics,
    readiness: Readiness,
) -> anyhow::Result<Arc<CertStore>> {
    let (ca_validity, ca_renew_before): (Duration, Duration) =
        (args.ca_validity.into(), args.ca_renew_before.into());
    anyhow::ensure!(
        ca_renew_before < ca_validity,
        "--webhook-ca-renew-before ({}) must be shorter than --webhook-ca-validity ({}): \
         else every new CA is due for renewal at once",
        args.ca_renew_before,
        args.ca_validity
    );
    let namespace = args
        .service_namespace
        .clone()
        .unwrap_or_else(|| kube.default_namespace().to_owned());
    let settings = CaSettings {
        secrets: Api::namespaced(kube.clone(), &namespace),
        name: args.secret_name.clone(),
        ca_validity,
        ca_renew_before,
        leaf_validity: args.cert_validity.into(),
        check_period: args.ca_check_period.into(),
    };
    let names = args.dns_names(&namespace);
    let renew_before: Duration = args.cert_renew_before.into();

    let mut secret = settings.sync(None).await?;
    let (key, mut leaf) = new_leaf(&secret.pem(), args, &names)?;
    let store = CertStore::new(key);
    metrics.webhooks.certificate_expires(leaf.not_after);

    let (args, kube, store_) = (args.clone(), kube.clone(), store.clone());
    tokio::spawn(async move {
        let mut in_place = InPlace::default();
        loop {
            // caBundle on every pass: it changes with a rotation, and a tool that replaced the
            // configurations may have reset it.
            let bundle = rotation::bundle(&secret, &leaf.ca.cert, SystemTime::now());
            let injected = match ca_bundle::inject(&kube, &args.configuration_name, bundle.as_bytes()).await {
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
            in_place.record(injected.then_some(bundle.as_str()), Instant::now());

            let due = certs::renewal_delay(leaf.not_after, renew_before) <= Duration::from_secs(1);
            let settled = in_place.settled(&secret.cert, Instant::now());
            let from = match rotation::reissue(&secret, &leaf.ca.cert, settled, due) {
                Reissue::No => None,
                Reissue::FromSecretCa => Some(secret.pem()),
                Reissue::FromServingCa => Some(leaf.ca.clone()),
            };
            if let Some(ca) = from {
                let moved = !rotation::same_cert(&ca.cert, &leaf.ca.cert);
                match new_leaf(&ca, &args, &names) {
                    Ok((key, next)) => {
                        store_.replace(key);
                        metrics.webhooks.certificate_expires(next.not_after);
                        tracing::info!(
                            expires = %humantime::format_rfc3339_seconds(next.not_after),
                            new_ca = moved,
                            "webhook: serving certificate renewed"
                        );
                        leaf = next;
                    }
                    Err(error) => tracing::error!(%error, "webhook: cannot renew the serving certificate"),
                }
            }

            let mut delay = settings
                .check_period
                .min(certs::renewal_delay(leaf.not_after, renew_before));
            if !injected {
                delay = delay.min(Duration::from_secs(5));
            }
            tokio::time::sleep(delay).await;
            // A short period rather than a watch: one GET of one named Secret, which the chart's
            // Role already grants by resourceName (a watch would need list and watch on Secrets),
            // and the pass re-checks the configurations anyway.
            match settings.sync(Some(&leaf.ca.cert)).await {
                Ok(current) => {
                    if !rotation::same_cert(&current.cert, &secret.cert) {
                        tracing::info!(
                            secret = settings.name.as_str(),
                            expires = %humantime::format_rfc3339_seconds(current.not_after),
                            "webhook: the CA changed; moving to it once the caBundle holding it is in place"
                        );
                    }
                    secret = current;
                }
                Err(error) => {
                    tracing::warn!(
                        error = format!("{error:#}"),
                        "webhook: cannot read the CA Secret; keeping the CA in memory"
                    );
                }
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
