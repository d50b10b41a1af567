//! Prometheus metrics, named like controller-runtime's so dashboards and alerts written for
//! kubebuilder operators work unchanged.

use std::time::Duration;

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use crate::goalert;

/// Owns the registry every metric of the process is registered in.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub goalert_api: GoAlertApiMetrics,
}

impl Metrics {
    pub fn new() -> Self {
        let registry = Registry::new();
        #[cfg(target_os = "linux")]
        registry
            .register(Box::new(
                prometheus::process_collector::ProcessCollector::for_self(),
            ))
            .expect("process metrics register once");
        let goalert_api = GoAlertApiMetrics::register(&registry);
        Self {
            registry,
            goalert_api,
        }
    }

    /// The text exposition format served on /metrics.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .expect("the text encoder accepts every gathered family")
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Duration and outcome of every request to GoAlert's API, by operation name.
#[derive(Clone)]
pub struct GoAlertApiMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
}

impl GoAlertApiMetrics {
    fn register(registry: &Registry) -> Self {
        let requests = IntCounterVec::new(
            Opts::new(
                "goalert_provisioning_goalert_requests_total",
                "GoAlert API requests by operation and result",
            ),
            &["operation", "result"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "goalert_provisioning_goalert_request_duration_seconds",
                "Time GoAlert API requests take, queueing for the credential's single slot included",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ]),
            &["operation"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("registered once");
        registry
            .register(Box::new(duration.clone()))
            .expect("registered once");
        Self { requests, duration }
    }

    pub fn observe(&self, operation: &str, elapsed: Duration, error: Option<&goalert::Error>) {
        let result = error.map_or("success", goalert::Error::category);
        self.requests.with_label_values(&[operation, result]).inc();
        self.duration
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goalert_requests_are_counted_by_result() {
        let metrics = Metrics::new();
        metrics
            .goalert_api
            .observe("OperatorHealth", Duration::from_millis(3), None);
        metrics.goalert_api.observe(
            "OperatorHealth",
            Duration::from_millis(3),
            Some(&goalert::Error::ApiKeyDocumentMismatch),
        );
        let text = metrics.render();
        assert!(text.contains(
            r#"goalert_provisioning_goalert_requests_total{operation="OperatorHealth",result="success"} 1"#
        ));
        assert!(text.contains(r#"result="ApiKeyDocumentMismatch"} 1"#));
        assert!(text.contains("goalert_provisioning_goalert_request_duration_seconds_bucket"));
    }
}
