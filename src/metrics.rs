//! Prometheus metrics, named like controller-runtime's so dashboards and alerts written for
//! kubebuilder operators work unchanged.

use std::time::Duration;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

use goalert_client as goalert;

/// Owns the registry every metric of the process is registered in.
#[derive(Clone)]
pub struct Metrics {
    pub registry: Registry,
    pub goalert_api: GoAlertApiMetrics,
    pub reconcile: ReconcileMetrics,
    pub managed: ManagedResources,
    pub drift: DriftCorrections,
    pub webhooks: WebhookMetrics,
    /// 1 while this process holds the leader election Lease (or runs without election).
    pub leader: IntGauge,
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
        let reconcile = ReconcileMetrics::register(&registry);
        let managed = ManagedResources::register(&registry);
        let drift = DriftCorrections::register(&registry);
        let leader = IntGauge::new(
            "goalert_provisioning_leader",
            "1 while this replica reconciles (holds the leader Lease)",
        )
        .expect("valid metric");
        registry
            .register(Box::new(leader.clone()))
            .expect("registered once");
        let webhooks = WebhookMetrics::register(&registry);
        Self {
            registry,
            goalert_api,
            reconcile,
            managed,
            drift,
            webhooks,
            leader,
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
                "Time GoAlert takes to answer a request, retries included, timed once the credential's single request slot is free",
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
}

impl goalert::RequestObserver for GoAlertApiMetrics {
    fn observe(&self, operation: &str, elapsed: Duration, error: Option<&goalert::Error>) {
        let result = error.map_or("success", goalert::Error::category);
        self.requests.with_label_values(&[operation, result]).inc();
        self.duration
            .with_label_values(&[operation])
            .observe(elapsed.as_secs_f64());
    }
}

/// Reconcile counts and durations under controller-runtime's metric names.
#[derive(Clone)]
pub struct ReconcileMetrics {
    total: IntCounterVec,
    errors: IntCounterVec,
    duration: HistogramVec,
}

/// How a reconcile ended, as controller-runtime labels it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReconcileResult {
    Success,
    Error,
    Requeue,
}

impl ReconcileMetrics {
    fn register(registry: &Registry) -> Self {
        let total = IntCounterVec::new(
            Opts::new(
                "controller_runtime_reconcile_total",
                "Total number of reconciliations per controller",
            ),
            &["controller", "result"],
        )
        .expect("valid metric");
        let errors = IntCounterVec::new(
            Opts::new(
                "controller_runtime_reconcile_errors_total",
                "Total number of reconciliation errors per controller",
            ),
            &["controller"],
        )
        .expect("valid metric");
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "controller_runtime_reconcile_time_seconds",
                "Length of time per reconciliation per controller",
            )
            .buckets(vec![
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
            ]),
            &["controller"],
        )
        .expect("valid metric");
        for metric in [
            Box::new(total.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(errors.clone()),
            Box::new(duration.clone()),
        ] {
            registry.register(metric).expect("registered once");
        }
        Self {
            total,
            errors,
            duration,
        }
    }

    pub fn observe(&self, controller: &str, result: ReconcileResult, elapsed: Duration) {
        let label = match result {
            ReconcileResult::Success => "success",
            ReconcileResult::Error => "error",
            ReconcileResult::Requeue => "requeue",
        };
        self.total.with_label_values(&[controller, label]).inc();
        if result == ReconcileResult::Error {
            self.errors.with_label_values(&[controller]).inc();
        }
        self.duration
            .with_label_values(&[controller])
            .observe(elapsed.as_secs_f64());
    }
}

/// (kind, namespace, name)
type ObjectKey = (String, String, String);

/// `goalert_provisioning_managed_resources{kind,namespace,ready}`: how many custom resources
/// the operator manages, and whether they are Ready, so an alert can fire on objects stuck.
#[derive(Clone)]
pub struct ManagedResources {
    gauge: IntGaugeVec,
    ready_by_object: Arc<Mutex<HashMap<ObjectKey, bool>>>,
}

impl ManagedResources {
    fn register(registry: &Registry) -> Self {
        let gauge = IntGaugeVec::new(
            Opts::new(
                "goalert_provisioning_managed_resources",
                "Custom resources managed by the operator, by readiness",
            ),
            &["kind", "namespace", "ready"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(gauge.clone()))
            .expect("registered once");
        Self {
            gauge,
            ready_by_object: Arc::default(),
        }
    }

    /// Records an object's readiness; `None` forgets a deleted object.
    pub fn set(&self, kind: &str, namespace: &str, name: &str, ready: Option<bool>) {
        let mut objects = self.ready_by_object.lock().expect("not poisoned");
        let key = (kind.to_owned(), namespace.to_owned(), name.to_owned());
        match ready {
            Some(ready) => objects.insert(key, ready),
            None => objects.remove(&key),
        };
        for ready in [true, false] {
            let count = objects
                .iter()
                .filter(|((k, ns, _), r)| k == kind && ns == namespace && **r == ready)
                .count();
            self.gauge
                .with_label_values(&[kind, namespace, if ready { "true" } else { "false" }])
                .set(count as i64);
        }
    }
}

/// `goalert_provisioning_drift_corrections_total{kind,field}`: changes made in GoAlert by hand
/// that the operator undid.
#[derive(Clone)]
pub struct DriftCorrections {
    counter: IntCounterVec,
}

impl DriftCorrections {
    fn register(registry: &Registry) -> Self {
        let counter = IntCounterVec::new(
            Opts::new(
                "goalert_provisioning_drift_corrections_total",
                "Changes made in GoAlert by hand that were corrected",
            ),
            &["kind", "field"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(counter.clone()))
            .expect("registered once");
        Self { counter }
    }

    pub fn inc(&self, kind: &str, field: &str) {
        self.counter.with_label_values(&[kind, field]).inc();
    }
}

/// Admission reviews: how long each took, how many were refused, and when the serving
/// certificate expires.
#[derive(Clone)]
pub struct WebhookMetrics {
    duration: HistogramVec,
    rejections: IntCounterVec,
    certificate_expiry: prometheus::Gauge,
}

impl WebhookMetrics {
    fn register(registry: &Registry) -> Self {
        let duration = HistogramVec::new(
            HistogramOpts::new(
                "goalert_provisioning_webhook_review_duration_seconds",
                "Time admission reviews take, by webhook (validate, mutate) and kind",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["webhook", "kind"],
        )
        .expect("valid metric");
        let rejections = IntCounterVec::new(
            Opts::new(
                "goalert_provisioning_webhook_rejections_total",
                "Admission reviews refused, by webhook and kind",
            ),
            &["webhook", "kind"],
        )
        .expect("valid metric");
        let certificate_expiry = prometheus::Gauge::new(
            "goalert_provisioning_webhook_certificate_expiry_timestamp_seconds",
            "When the webhook's serving certificate expires (Unix time)",
        )
        .expect("valid metric");
        for metric in [
            Box::new(duration.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(rejections.clone()),
            Box::new(certificate_expiry.clone()),
        ] {
            registry.register(metric).expect("registered once");
        }
        Self {
            duration,
            rejections,
            certificate_expiry,
        }
    }

    pub fn observe(&self, webhook: &str, kind: &str, elapsed: Duration, rejected: bool) {
        self.duration
            .with_label_values(&[webhook, kind])
            .observe(elapsed.as_secs_f64());
        if rejected {
            self.rejections.with_label_values(&[webhook, kind]).inc();
        }
    }

    pub fn certificate_expires(&self, at: std::time::SystemTime) {
        let seconds = at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs_f64();
        self.certificate_expiry.set(seconds);
    }
}

#[cfg(test)]
mod tests {
    use goalert::RequestObserver;

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

    #[test]
    fn reconciles_use_controller_runtime_names() {
        let metrics = Metrics::new();
        metrics
            .reconcile
            .observe("goalertuser", ReconcileResult::Success, Duration::from_millis(20));
        metrics
            .reconcile
            .observe("goalertuser", ReconcileResult::Error, Duration::from_millis(20));
        let text = metrics.render();
        assert!(
            text.contains(
                r#"controller_runtime_reconcile_total{controller="goalertuser",result="success"} 1"#
            )
        );
        assert!(text.contains(r#"controller_runtime_reconcile_errors_total{controller="goalertuser"} 1"#));
        assert!(
            text.contains(r#"controller_runtime_reconcile_time_seconds_bucket{controller="goalertuser""#)
        );
    }

    #[test]
    fn managed_resources_count_ready_and_not_ready() {
        let metrics = Metrics::new();
        metrics.managed.set("GoAlertUser", "team-a", "alice", Some(true));
        metrics.managed.set("GoAlertUser", "team-a", "bob", Some(false));
        metrics.managed.set("GoAlertUser", "team-a", "bob", Some(true));
        metrics.managed.set("GoAlertUser", "team-a", "carol", Some(false));
        metrics.managed.set("GoAlertUser", "team-a", "carol", None);
        let text = metrics.render();
        assert!(text.contains(
            r#"goalert_provisioning_managed_resources{kind="GoAlertUser",namespace="team-a",ready="true"} 2"#
        ));
        assert!(text.contains(
            r#"goalert_provisioning_managed_resources{kind="GoAlertUser",namespace="team-a",ready="false"} 0"#
        ));
    }
}
