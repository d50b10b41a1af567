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
//! in-process and renewed before they expire, caBundle injected by [`ca_bundle`], the CA itself
//! rotated as `rotation` decides) or cert-manager (files, reloaded when they change). Review
//! bodies are read within memory bounds by `incoming`. See docs/webhooks.md.

mod args;
pub mod ca_bundle;
mod cert_source;
pub mod certs;
mod dispatch;
#[doc(hidden)]
pub mod fuzzing;
mod incoming;
mod listener;
pub mod lookups;
pub mod mutate;
pub mod review;
mod rotation;
mod stores;
pub mod validate;

pub use args::{CertMode, WebhookArgs};

use std::{sync::Arc, time::Duration};

use anyhow::Context as _;
use axum::{Router, extract::DefaultBodyLimit, routing::post};
use kube::Client;

use self::{stores::Stores, validate::Lookups};
use crate::{metrics::Metrics, server::Readiness, tenancy::Tenancy};
use goalert_client::GoAlert;

pub const READINESS_CHECK: &str = "webhooks";

struct Shared {
    stores: Stores,
    lookups: Box<dyn Lookups>,
    lookup_timeout: Duration,
    missing_references: validate::MissingNames,
    metrics: Metrics,
    tenancy: Tenancy,
}

fn routes(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/validate", post(dispatch::validate))
        .route("/mutate", post(dispatch::mutate))
        .layer(DefaultBodyLimit::max(incoming::REVIEW_BODY_LIMIT))
        .with_state(shared)
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
        Some(CertMode::CertManager) => cert_source::cert_manager(&args, metrics.clone()).await?,
        _ => cert_source::self_managed(&args, &kube, metrics.clone(), readiness.clone()).await?,
    };
    let shared = Arc::new(Shared {
        stores: stores.clone(),
        lookups: Box::new(lookups::CachedGoAlert::new(goalert, args.lookup_cache_ttl.into())),
        lookup_timeout: args.lookup_timeout.into(),
        missing_references: args.missing_references,
        metrics,
        tenancy,
    });
    let router = routes(shared);
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
