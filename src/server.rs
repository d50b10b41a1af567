//! The plain-HTTP admin endpoints: /metrics for Prometheus, /healthz for liveness and /readyz for
//! readiness, which lists every check the way kube-apiserver's /readyz does.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use axum::{Router, extract::State, http::StatusCode, response::IntoResponse, routing::get};
use tokio::sync::RwLock;

use crate::metrics::Metrics;

/// Named readiness checks; the process is ready when every check passes.
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Arc<RwLock<BTreeMap<&'static str, Result<(), String>>>>,
}

impl Readiness {
    /// Registers a check that fails until it is first reported.
    pub async fn add(&self, name: &'static str) {
        self.checks
            .write()
            .await
            .insert(name, Err("not checked yet".into()));
    }

    /// Records a check's outcome; returns whether it changed, so callers log transitions only.
    pub async fn report(&self, name: &'static str, outcome: Result<(), String>) -> bool {
        self.checks.write().await.insert(name, outcome.clone()) != Some(outcome)
    }

    pub async fn is_ready(&self) -> bool {
        self.checks.read().await.values().all(Result::is_ok)
    }

    /// `[+]name ok` / `[-]name failed: reason` lines.
    pub async fn describe(&self) -> String {
        let checks = self.checks.read().await;
        let mut text = String::new();
        for (name, outcome) in checks.iter() {
            match outcome {
                Ok(()) => text.push_str(&format!("[+]{name} ok\n")),
                Err(reason) => text.push_str(&format!("[-]{name} failed: {reason}\n")),
            }
        }
        text
    }
}

#[derive(Clone)]
struct AdminState {
    metrics: Metrics,
    readiness: Readiness,
}

pub fn router(metrics: Metrics, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(serve_metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(serve_readiness))
        .with_state(AdminState { metrics, readiness })
}

pub async fn serve(address: SocketAddr, router: Router) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    tracing::info!(%address, "serving /metrics, /healthz and /readyz");
    axum::serve(listener, router).await
}

async fn serve_metrics(State(state): State<AdminState>) -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, prometheus::TEXT_FORMAT)],
        state.metrics.render(),
    )
}

async fn serve_readiness(State(state): State<AdminState>) -> impl IntoResponse {
    let status = if state.readiness.is_ready().await {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, state.readiness.describe().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn ready_only_when_every_check_passes() {
        let readiness = Readiness::default();
        readiness.add("goalert").await;
        readiness.add("kubernetes").await;
        assert!(!readiness.is_ready().await);
        assert!(readiness.report("goalert", Ok(())).await);
        assert!(
            !readiness.report("goalert", Ok(())).await,
            "an unchanged outcome is not a transition"
        );
        readiness
            .report("kubernetes", Err("connection refused".into()))
            .await;
        assert!(!readiness.is_ready().await);
        assert_eq!(
            readiness.describe().await,
            "[+]goalert ok\n[-]kubernetes failed: connection refused\n"
        );
        readiness.report("kubernetes", Ok(())).await;
        assert!(readiness.is_ready().await);
    }
}
