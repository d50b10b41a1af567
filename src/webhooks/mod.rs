//! Admission webhooks, served by the operator binary itself over HTTPS (axum on rustls):
//!
//! - `POST /validate`: every kind, every CREATE, UPDATE and DELETE. Checks what the CRDs' own
//!   rules cannot: references resolve (to a custom resource in the namespace, from the watch
//!   caches, or to an object in GoAlert), no two resources claim one GoAlert object, names and
//!   values GoAlert would refuse. GoAlert unreachable → the checks that needed it become
//!   warnings, so an outage never blocks a sync of otherwise valid objects.
//! - `POST /mutate`: fills defaults where fields are absent ([`mutate`]).
//!
//! Certificates come from [`certs`]: self-managed (a CA in a Secret, serving certificates issued
//! in-process and renewed before they expire, caBundle injected by [`ca_bundle`]) or
//! cert-manager (files, reloaded when they change). See docs/webhooks.md.

pub mod ca_bundle;
pub mod certs;
mod listener;
pub mod lookups;
pub mod mutate;
pub mod review;
pub mod validate;

use std::{
    borrow::Cow,
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use anyhow::Context as _;
use axum::{Json, Router, extract::State, routing::post};
use clap::{Args, ValueEnum};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Client, Resource,
    api::{DynamicObject, PostParams},
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;

use self::{
    certs::{CertStore, Pem},
    review::{FORBIDDEN, Findings},
    validate::{Admitted, ClusterView, Lookups, Pending, RefKind},
};
use crate::{
    api::{
        GROUP, GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService,
        GoAlertUser,
    },
    metrics::Metrics,
    server::Readiness,
    tenancy::{Governed, Tenancy},
};
use goalert_client::GoAlert;

/// How the webhook server gets its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CertMode {
    /// Make a CA (kept in a Secret, shared by every replica) and serving certificates, renew them
    /// before they expire, and write the CA into the webhook configurations.
    SelfManaged,
    /// Read tls.crt and tls.key from a directory (cert-manager's Secret, mounted) and reload them
    /// when they change; cert-manager's cainjector writes caBundle.
    CertManager,
}

/// The admission webhook server.
#[derive(Debug, Clone, Args)]
pub struct WebhookArgs {
    /// Do not serve the admission webhooks.
    #[arg(long = "webhooks-disabled", env = "WEBHOOK_DISABLED")]
    pub disabled: bool,

    /// Where the serving certificate comes from. Without it the webhook server does not start
    /// (the chart always sets it when webhooks are enabled).
    #[arg(long = "webhook-cert-mode", env = "WEBHOOK_CERT_MODE", value_enum)]
    pub cert_mode: Option<CertMode>,

    /// Address of the HTTPS endpoints /validate and /mutate.
    #[arg(
        long = "webhook-bind-address",
        env = "WEBHOOK_BIND_ADDRESS",
        default_value = "0.0.0.0:9443"
    )]
    pub bind_address: SocketAddr,

    /// cert-manager mode: the directory holding tls.crt and tls.key.
    #[arg(
        long = "webhook-cert-dir",
        env = "WEBHOOK_CERT_DIR",
        default_value = "/tmp/k8s-webhook-server/serving-certs"
    )]
    pub cert_dir: PathBuf,

    /// The Service in front of the webhook: the certificate is valid for svc, svc.ns, svc.ns.svc
    /// and svc.ns.svc.cluster.local.
    #[arg(
        long = "webhook-service-name",
        env = "WEBHOOK_SERVICE_NAME",
        default_value = "goalert-provisioning-webhook"
    )]
    pub service_name: String,

    /// IP addresses the certificate is also valid for (comma-separated), for example 127.0.0.1
    /// when the API server calls an operator running outside the cluster.
    #[arg(
        long = "webhook-cert-ip-sans",
        env = "WEBHOOK_CERT_IP_SANS",
        value_delimiter = ','
    )]
    pub ip_sans: Vec<IpAddr>,

    /// Namespace of the Service and of the CA Secret (default: the kubeconfig's namespace).
    #[arg(long = "webhook-namespace", env = "POD_NAMESPACE")]
    pub service_namespace: Option<String>,

    /// Name of the ValidatingWebhookConfiguration and MutatingWebhookConfiguration whose
    /// caBundle the operator writes (self-managed mode).
    #[arg(
        long = "webhook-configuration-name",
        env = "WEBHOOK_CONFIGURATION_NAME",
        default_value = "goalert-provisioning"
    )]
    pub configuration_name: String,

    /// Secret holding the CA (self-managed mode); created when missing.
    #[arg(
        long = "webhook-secret-name",
        env = "WEBHOOK_SECRET_NAME",
        default_value = "goalert-provisioning-webhook-tls"
    )]
    pub secret_name: String,

    /// Lifetime of each serving certificate (self-managed mode).
    #[arg(
        long = "webhook-cert-validity",
        env = "WEBHOOK_CERT_VALIDITY",
        default_value = "90days"
    )]
    pub cert_validity: humantime::Duration,

    /// Renew the serving certificate this long before it expires.
    #[arg(
        long = "webhook-cert-renew-before",
        env = "WEBHOOK_CERT_RENEW_BEFORE",
        default_value = "30days"
    )]
    pub cert_renew_before: humantime::Duration,

    /// Lifetime of the CA made when the Secret has none.
    #[arg(
        long = "webhook-ca-validity",
        env = "WEBHOOK_CA_VALIDITY",
        default_value = "10years"
    )]
    pub ca_validity: humantime::Duration,

    /// How long a review waits for GoAlert before admitting with a warning instead.
    #[arg(
        long = "webhook-lookup-timeout",
        env = "WEBHOOK_LOOKUP_TIMEOUT",
        default_value = "2s"
    )]
    pub lookup_timeout: humantime::Duration,

    /// A reference by name to a custom resource that does not exist in the namespace: warn
    /// (default: admitted, so a folder applies in one pass; refused only when a resource with a
    /// name one edit away exists, "did you mean ..."), or deny.
    #[arg(
        long = "webhook-missing-references",
        env = "WEBHOOK_MISSING_REFERENCES",
        value_enum,
        default_value = "warn"
    )]
    pub missing_references: validate::MissingNames,

    /// How long GoAlert's answers are reused.
    #[arg(
        long = "webhook-lookup-cache-ttl",
        env = "WEBHOOK_LOOKUP_CACHE_TTL",
        default_value = "30s"
    )]
    pub lookup_cache_ttl: humantime::Duration,
}

impl WebhookArgs {
    pub fn enabled(&self) -> bool {
        !self.disabled && self.cert_mode.is_some()
    }
}

pub const READINESS_CHECK: &str = "webhooks";

/// Watch caches of every kind, in the scope the operator watches.
#[derive(Clone)]
struct Stores {
    users: Store<GoAlertUser>,
    rotations: Store<GoAlertRotation>,
    schedules: Store<GoAlertSchedule>,
    policies: Store<GoAlertEscalationPolicy>,
    services: Store<GoAlertService>,
    admins: Store<GoAlertAdmin>,
}

fn watch<K>(client: &Client, namespace: Option<&str>) -> Store<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (reader, writer) = reflector::store();
    let stream = reflector::reflector(writer, watcher(api, watcher::Config::default().any_semantic()))
        .default_backoff()
        .touched_objects();
    tokio::spawn(async move {
        stream
            .for_each(|event| {
                if let Err(error) = event {
                    tracing::warn!(kind = K::kind(&()).as_ref(), %error, "webhook watch");
                }
                futures::future::ready(())
            })
            .await;
    });
    reader
}

impl Stores {
    fn start(client: &Client, namespace: Option<&str>) -> Self {
        Self {
            users: watch(client, namespace),
            rotations: watch(client, namespace),
            schedules: watch(client, namespace),
            policies: watch(client, namespace),
            services: watch(client, namespace),
            admins: watch(client, namespace),
        }
    }

    async fn ready(&self) {
        let _ = futures::join!(
            self.users.wait_until_ready(),
            self.rotations.wait_until_ready(),
            self.schedules.wait_until_ready(),
            self.policies.wait_until_ready(),
            self.services.wait_until_ready(),
            self.admins.wait_until_ready(),
        );
    }

    fn view(&self) -> ClusterView {
        ClusterView {
            users: self.users.state(),
            rotations: self.rotations.state(),
            schedules: self.schedules.state(),
            policies: self.policies.state(),
            services: self.services.state(),
            admins: self.admins.state(),
        }
    }
}

struct Shared {
    stores: Stores,
    lookups: Box<dyn Lookups>,
    lookup_timeout: Duration,
    missing_references: validate::MissingNames,
    metrics: Metrics,
    tenancy: Tenancy,
}

/// Serves the webhooks until the process stops. Returns at once (never resolving) when they are
/// disabled.
pub async fn run(
    args: WebhookArgs,
    tenancy: Tenancy,
    kube: Client,
    goalert: GoAlert,
    metrics: Metrics,
    readiness: Readiness,
    watch_namespace: Option<String>,
) -> anyhow::Result<()> {
    if !args.enabled() {
        tracing::info!("admission webhooks disabled");
        return std::future::pending().await;
    }
    let stores = Stores::start(&kube, watch_namespace.as_deref());
    let certificate = match args.cert_mode {
        Some(CertMode::CertManager) => cert_manager(&args, metrics.clone()).await?,
        _ => self_managed(&args, &kube, metrics.clone(), readiness.clone()).await?,
    };
    let shared = Arc::new(Shared {
        stores: stores.clone(),
        lookups: Box::new(lookups::CachedGoAlert::new(goalert, args.lookup_cache_ttl.into())),
        lookup_timeout: args.lookup_timeout.into(),
        missing_references: args.missing_references,
        metrics,
        tenancy,
    });
    let router = Router::new()
        .route("/validate", post(validate))
        .route("/mutate", post(mutate))
        .with_state(shared);
    if tokio::time::timeout(Duration::from_secs(30), stores.ready())
        .await
        .is_err()
    {
        tracing::warn!("webhook: watch caches not filled within 30 s; serving anyway");
    }
    let listener = listener::TlsListener::bind(args.bind_address, certificate)
        .await
        .with_context(|| format!("cannot listen on {}", args.bind_address))?;
    tracing::info!(address = %args.bind_address, "serving admission webhooks /validate and /mutate over HTTPS");
    if args.cert_mode == Some(CertMode::CertManager) {
        readiness.report(READINESS_CHECK, Ok(())).await;
    }
    axum::serve(listener, router)
        .await
        .context("webhook server failed")
}

// --- certificates ------------------------------------------------------------------------------

fn dns_names(args: &WebhookArgs, namespace: &str) -> Vec<String> {
    let svc = &args.service_name;
    vec![
        svc.clone(),
        format!("{svc}.{namespace}"),
        format!("{svc}.{namespace}.svc"),
        format!("{svc}.{namespace}.svc.cluster.local"),
    ]
}

/// The CA from the Secret, creating both when missing. Every replica ends up with the same CA:
/// a replica that loses the race to create the Secret reads the winner's.
async fn load_or_create_ca(secrets: &Api<Secret>, name: &str, validity: Duration) -> anyhow::Result<Pem> {
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

async fn self_managed(
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
    let names = dns_names(args, &namespace);
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

async fn cert_manager(args: &WebhookArgs, metrics: Metrics) -> anyhow::Result<Arc<CertStore>> {
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

// --- reviews -----------------------------------------------------------------------------------

/// The metric label for a review: its kind when it is one of ours, `unknown` otherwise, so a
/// caller cannot grow the label set.
fn metric_kind(request: &AdmissionRequest<DynamicObject>) -> Cow<'static, str> {
    (request.kind.group == GROUP)
        .then(|| reviewer(&request.kind.kind))
        .flatten()
        .map_or(Cow::Borrowed("unknown"), |(kind, _)| kind)
}

fn typed<K: DeserializeOwned>(object: &DynamicObject) -> Result<K, String> {
    serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}

async fn review_kind<K: Admitted + Governed>(
    shared: &Shared,
    request: &AdmissionRequest<DynamicObject>,
) -> Findings {
    let mut findings = Findings::default();
    let namespace = request.namespace.clone().unwrap_or_default();
    let view = shared.stores.view();
    match request.operation {
        Operation::Delete => {
            if let Some(kind) = RefKind::of(&request.kind.kind) {
                let referrers = validate::referrers(&namespace, kind, &request.name, &view);
                if !referrers.is_empty() {
                    findings.warn(format!(
                        "{} {:?} is still referenced by {}; they stop being reconciled until the reference is fixed",
                        request.kind.kind,
                        request.name,
                        referrers.join(", ")
                    ));
                }
            }
        }
        Operation::Create | Operation::Update => {
            let Some(object) = &request.object else {
                return findings;
            };
            let object: K = match typed(object) {
                Ok(object) => object,
                Err(error) => {
                    findings.invalid("spec", format!("cannot be read: {error}"));
                    return findings;
                }
            };
            let old: Option<K> = request.old_object.as_ref().and_then(|o| typed(o).ok());
            if let Some(old) = &old {
                // Metadata-only updates (finalizers, labels) and objects on their way out are
                // never refused: the operator must always be able to finish a deletion.
                let spec = |o: &K| serde_json::to_value(o).ok().map(|v| v["spec"].clone());
                if spec(old) == spec(&object) || object.meta().deletion_timestamp.is_some() {
                    return findings;
                }
            }
            // The tenancy model first: a refused spec is not looked up in GoAlert at all.
            let refusals = object.refusals(&shared.tenancy);
            if !refusals.is_empty() {
                for refusal in refusals {
                    findings.error(refusal.field, FORBIDDEN, refusal.message);
                }
                return findings;
            }
            let mut pending = Pending::default();
            object.check(old.as_ref(), &view, &mut findings, &mut pending);
            let references = object.references();
            validate::resolve(
                &namespace,
                &references,
                &pending,
                &view,
                shared.lookups.as_ref(),
                shared.lookup_timeout,
                shared.missing_references,
                &mut findings,
            )
            .await;
        }
        Operation::Connect => {}
    }
    findings
}

/// The review of one kind.
type Review =
    for<'a> fn(&'a Shared, &'a AdmissionRequest<DynamicObject>) -> validate::BoxFuture<'a, Findings>;

/// The review of the kind named `kind`, if this webhook reviews it, with the kind's name as the
/// operator spells it (a metric label from a fixed set).
fn reviewer(kind: &str) -> Option<(Cow<'static, str>, Review)> {
    fn review<'a, K: Admitted + Governed>(
        shared: &'a Shared,
        request: &'a AdmissionRequest<DynamicObject>,
    ) -> validate::BoxFuture<'a, Findings> {
        Box::pin(review_kind::<K>(shared, request))
    }
    fn entry<K: Admitted + Governed>() -> (Cow<'static, str>, Review) {
        (K::kind(&()), review::<K>)
    }
    [
        entry::<GoAlertUser>(),
        entry::<GoAlertRotation>(),
        entry::<GoAlertSchedule>(),
        entry::<GoAlertEscalationPolicy>(),
        entry::<GoAlertService>(),
        entry::<GoAlertAdmin>(),
    ]
    .into_iter()
    .find(|(name, _)| name == kind)
}

fn request_of(
    review: AdmissionReview<DynamicObject>,
) -> Result<AdmissionRequest<DynamicObject>, Box<AdmissionResponse>> {
    review
        .try_into()
        .map_err(|e| Box::new(AdmissionResponse::invalid(e)))
}

async fn validate(
    State(shared): State<Arc<Shared>>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    let started = Instant::now();
    let request = match request_of(review) {
        Ok(request) => request,
        Err(response) => return Json(response.into_review()),
    };
    let kind = request.kind.kind.clone();
    let findings = if request.kind.group != GROUP {
        let mut f = Findings::default();
        f.invalid(
            "kind",
            format!(
                "{}/{} is not a kind this webhook reviews",
                request.kind.group, kind
            ),
        );
        f
    } else {
        match reviewer(&kind) {
            Some((_, review)) => review(&shared, &request).await,
            None => {
                let mut f = Findings::default();
                f.invalid("kind", format!("{kind} is not a kind this webhook reviews"));
                f
            }
        }
    };
    let denied = !findings.errors.is_empty();
    let response = AdmissionResponse::from(&request);
    let message = findings.message();
    let warnings = findings.warnings.len();
    let response = findings.respond(response, &kind, &request.name);
    let elapsed = started.elapsed();
    shared
        .metrics
        .webhooks
        .observe("validate", &metric_kind(&request), elapsed, denied);
    if denied {
        tracing::info!(uid = %request.uid, %kind, namespace = ?request.namespace, name = %request.name, operation = ?request.operation, %message, ?elapsed, "denied");
    } else {
        tracing::debug!(uid = %request.uid, %kind, name = %request.name, operation = ?request.operation, warnings, ?elapsed, "admitted");
    }
    Json(response.into_review())
}

async fn mutate(
    State(shared): State<Arc<Shared>>,
    Json(review): Json<AdmissionReview<DynamicObject>>,
) -> Json<AdmissionReview<DynamicObject>> {
    let started = Instant::now();
    let request = match request_of(review) {
        Ok(request) => request,
        Err(response) => return Json(response.into_review()),
    };
    let kind = request.kind.kind.clone();
    let mut response = AdmissionResponse::from(&request);
    if request.kind.group == GROUP
        && matches!(request.operation, Operation::Create | Operation::Update)
        && let Some(object) = &request.object
    {
        let json = serde_json::to_value(object).unwrap_or_default();
        let old = request
            .old_object
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok());
        let patch = mutate::defaults(&kind, &json, old.as_ref());
        if !patch.0.is_empty() {
            response = match response.clone().with_patch(patch) {
                Ok(patched) => patched,
                Err(error) => {
                    tracing::error!(%error, "webhook: cannot serialize a patch");
                    response
                }
            };
        }
    }
    shared
        .metrics
        .webhooks
        .observe("mutate", &metric_kind(&request), started.elapsed(), false);
    Json(response.into_review())
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        webhooks: WebhookArgs,
    }

    #[test]
    fn every_kind_is_reviewed() {
        for kind in crate::api::kinds() {
            assert!(reviewer(&kind.kind).is_some(), "{} is not reviewed", kind.kind);
        }
        assert!(reviewer("Secret").is_none());
    }

    #[test]
    fn webhooks_run_only_with_a_certificate_mode() {
        let parse =
            |args: &[&str]| Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied())).unwrap();
        assert!(!parse(&[]).webhooks.enabled());
        let on = parse(&[
            "--webhook-cert-mode",
            "self-managed",
            "--webhook-cert-ip-sans",
            "127.0.0.1,::1",
        ]);
        assert!(on.webhooks.enabled());
        assert_eq!(on.webhooks.ip_sans.len(), 2);
        assert!(
            !parse(&["--webhook-cert-mode", "cert-manager", "--webhooks-disabled"])
                .webhooks
                .enabled()
        );
        assert_eq!(
            dns_names(&on.webhooks, "ops"),
            [
                "goalert-provisioning-webhook",
                "goalert-provisioning-webhook.ops",
                "goalert-provisioning-webhook.ops.svc",
                "goalert-provisioning-webhook.ops.svc.cluster.local"
            ]
        );
    }
}
