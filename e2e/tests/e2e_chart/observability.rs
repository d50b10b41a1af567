//! examples/observability: the alert rules (promtool) and their PrometheusRule, the dashboard's
//! and rules' metric names against what the operator exports; docs/gitops.md's Argo CD health
//! check, run by Lua 5.4.

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use e2e::{
    chart::{prometheus_operator_crds, tool},
    kubectl_ok, namespace, repo_root, run_ok,
};
use serde_json::{Value, json};

fn observability(file: &str) -> PathBuf {
    repo_root().join("examples/observability").join(file)
}

#[tokio::test]
async fn alert_rules_pass_promtool_and_match_the_prometheus_rule() {
    let dir = repo_root().join("examples/observability");
    let check = run_ok(
        Command::new(tool("promtool"))
            .args(["check", "rules", "alerts.rules.yaml"])
            .current_dir(&dir),
        None,
    );
    assert!(check.contains("SUCCESS: 6 rules found"), "{check}");
    let tests = run_ok(
        Command::new(tool("promtool"))
            .args(["test", "rules", "alerts.test.yaml"])
            .current_dir(&dir),
        None,
    );
    assert!(tests.contains("SUCCESS"), "{tests}");

    // The PrometheusRule carries exactly the plain file's groups.
    let plain: Value =
        serde_yaml::from_str(&std::fs::read_to_string(observability("alerts.rules.yaml")).unwrap()).unwrap();
    let rule: Value =
        serde_yaml::from_str(&std::fs::read_to_string(observability("prometheusrule.yaml")).unwrap())
            .unwrap();
    assert_eq!(rule["spec"]["groups"], plain["groups"]);
    let alerts: BTreeSet<_> = plain["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["alert"].as_str().unwrap().to_owned())
        .collect();
    for wanted in [
        "GoAlertProvisioningDown",
        "GoAlertProvisioningReconcileErrors",
        "GoAlertProvisioningObjectsNotReady",
        "GoAlertProvisioningGoAlertAPIErrors",
        "GoAlertProvisioningWebhookCertificateExpiresSoon",
    ] {
        assert!(alerts.contains(wanted), "{wanted} missing from {alerts:?}");
    }
    // Every alert has a unit test.
    let test_file = std::fs::read_to_string(observability("alerts.test.yaml")).unwrap();
    for alert in &alerts {
        assert!(
            test_file.contains(&format!("alertname: {alert}\n")),
            "{alert} has no unit test"
        );
    }
    // The PrometheusRule is valid for the prometheus-operator's CRD.
    prometheus_operator_crds();
    let ns = namespace("gp-rules").await;
    kubectl_ok(&[
        "apply",
        "--server-side",
        "--dry-run=server",
        "-n",
        &ns,
        "-f",
        observability("prometheusrule.yaml").to_str().unwrap(),
    ]);
}

/// Every series the operator exports (the contract with src/metrics.rs). Histograms expose
/// _bucket, _sum and _count. `up` is Prometheus's own series for each scrape target.
pub(crate) fn exported_series() -> BTreeSet<String> {
    let counters_and_gauges = [
        "controller_runtime_reconcile_total",
        "controller_runtime_reconcile_errors_total",
        "controller_runtime_active_workers",
        "goalert_provisioning_managed_resources",
        "goalert_provisioning_goalert_requests_total",
        "goalert_provisioning_drift_corrections_total",
        "goalert_provisioning_webhook_rejections_total",
        "goalert_provisioning_webhook_certificate_expiry_timestamp_seconds",
        "goalert_provisioning_leader",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_open_fds",
        "process_max_fds",
        "process_start_time_seconds",
        "process_threads",
    ];
    let histograms = [
        "controller_runtime_reconcile_time_seconds",
        "goalert_provisioning_goalert_request_duration_seconds",
        "goalert_provisioning_webhook_review_duration_seconds",
    ];
    let mut all: BTreeSet<String> = counters_and_gauges.iter().map(|s| (*s).to_owned()).collect();
    for h in histograms {
        for suffix in ["_bucket", "_sum", "_count"] {
            all.insert(format!("{h}{suffix}"));
        }
    }
    all
}

/// The metric names a PromQL expression reads. A small scanner, enough for these files:
/// it drops strings, label matchers, range selectors and grouping label lists, then keeps
/// identifiers that are neither keywords nor function names.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 22] = [
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "quantile",
        "count_values",
        "group",
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "bool",
        "and",
        "or",
        "unless",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut skip_list_after_keyword = false;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while i < chars.len() && chars[i] != close {
                    if chars[i] == '"' {
                        i += 1;
                        while i < chars.len() && chars[i] != '"' {
                            i += 1;
                        }
                    }
                    i += 1;
                }
                i += 1;
            }
            '(' if skip_list_after_keyword => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
                skip_list_after_keyword = false;
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len()
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let is_call = j < chars.len() && chars[j] == '(';
                if ["by", "without", "on", "ignoring", "group_left", "group_right"].contains(&word.as_str()) {
                    // Their label list is optional after group_left / group_right.
                    skip_list_after_keyword = is_call;
                } else if !is_call
                    && !KEYWORDS.contains(&word.as_str())
                    && !["inf", "nan", "offset"].contains(&word.as_str())
                {
                    names.insert(word);
                }
            }
            '$' => {
                // a Grafana variable outside a selector
                i += 1;
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    names
}

#[test]
fn metric_name_scanner_understands_promql() {
    let names = metric_names(
        r#"sum by (controller, result) (rate(a_total{job="x", le=~"0.5|1"}[5m])) / ignoring(result) group_left sum(b_total{job="$job"}[$__rate_interval]) > 0.1 and on (instance) c == bool 1 unless absent(d{x="}"}) - time() < 7 * 86400"#,
    );
    assert_eq!(
        names,
        ["a_total", "b_total", "c", "d"]
            .into_iter()
            .map(String::from)
            .collect()
    );
}

#[test]
fn rules_and_dashboard_use_only_metrics_the_operator_exports() {
    let exported = exported_series();
    let mut allowed = exported.clone();
    allowed.insert("up".into());

    let rules: Value =
        serde_yaml::from_str(&std::fs::read_to_string(observability("alerts.rules.yaml")).unwrap()).unwrap();
    let mut rule_names = BTreeSet::new();
    for rule in rules["groups"][0]["rules"].as_array().unwrap() {
        rule_names.extend(metric_names(rule["expr"].as_str().unwrap()));
    }
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(observability("grafana-dashboard.json")).unwrap())
            .unwrap();
    let mut dashboard_names = BTreeSet::new();
    let mut targets = 0;
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().into_iter().flatten() {
            dashboard_names.extend(metric_names(target["expr"].as_str().unwrap()));
            targets += 1;
        }
    }
    assert!(targets > 20, "the dashboard has {targets} queries");
    for name in rule_names.iter().chain(&dashboard_names) {
        assert!(allowed.contains(name), "{name} is not exported by the operator");
    }
    // The dashboard shows every metric family the operator exports.
    for series in &exported {
        let family = series
            .trim_end_matches("_bucket")
            .trim_end_matches("_sum")
            .trim_end_matches("_count");
        assert!(
            dashboard_names.iter().any(|n| n.starts_with(family)),
            "the dashboard does not show {family}"
        );
    }
    // Template variables are only the data source and the job.
    let variables: Vec<_> = dashboard["templating"]["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["name"].clone())
        .collect();
    assert_eq!(variables, vec![json!("datasource"), json!("job")]);
}

// ---------------------------------------------------------------------------------------------
// docs/gitops.md: the Argo CD health check, run by Lua 5.4
// ---------------------------------------------------------------------------------------------

#[test]
fn argocd_health_check_classifies_status_objects() {
    let fixtures: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("e2e/tests/chart_fixtures/argocd-health.json")).unwrap(),
    )
    .unwrap();
    let mut kinds = BTreeSet::new();
    for case in fixtures["cases"].as_array().unwrap() {
        let (status, message) = e2e::health::argocd_health(&case["object"]);
        let name = case["name"].as_str().unwrap();
        assert_eq!(
            status,
            case["expect"]["status"].as_str().unwrap(),
            "{name}: {message}"
        );
        if let Some(expected) = case["expect"]["message"].as_str() {
            assert_eq!(message, expected, "{name}");
        }
        assert!(["Healthy", "Progressing", "Degraded"].contains(&status.as_str()));
        kinds.insert(case["object"]["kind"].as_str().unwrap().to_owned());
    }
    assert_eq!(kinds.len(), 6, "fixtures cover every kind: {kinds:?}");
}
