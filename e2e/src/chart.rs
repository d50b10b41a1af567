//! The Helm chart's tests' helpers (tests/e2e_chart): helm and the testbed's other tools, the
//! chart rendered and installed, and what a release made, asked of the real kube-apiserver.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
    process::Command,
    sync::OnceLock,
};

use serde::Deserialize as _;
use serde_json::{Value, json};

use crate::{
    create_namespace, kubectl_command, kubectl_ok, repo_root, run, run_ok, testbed, unique_dns_name,
};

pub const CHART: &str = "charts/goalert-provisioning";

/// The labels of a namespace that enforces Pod Security "restricted" (and warns about it).
pub const RESTRICTED: [(&str, &str); 3] = [
    ("pod-security.kubernetes.io/enforce", "restricted"),
    ("pod-security.kubernetes.io/enforce-version", "latest"),
    ("pod-security.kubernetes.io/warn", "restricted"),
];

/// A fresh namespace that enforces Pod Security "restricted" before the chart goes in.
pub async fn restricted_namespace(prefix: &str) -> String {
    let name = unique_dns_name(prefix);
    create_namespace(&name, &RESTRICTED).await;
    name
}

/// A pinned version from e2e/versions.env.
pub fn pinned(name: &str) -> String {
    let text = std::fs::read_to_string(repo_root().join("e2e/versions.env")).unwrap();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_else(|| panic!("{name} is not pinned in e2e/versions.env"))
}

/// The testbed's binaries (helm, promtool) from the cache e2e/install.sh fills.
pub fn tool(name: &str) -> PathBuf {
    let cache = std::env::var("TESTBED_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/goalert-provisioning")
        });
    let path = cache.join("bin").join(name);
    if path.exists() { path } else { PathBuf::from(name) }
}

/// helm against the testbed, in the repository root (so [`CHART`] is the chart), for
/// [`crate::run`].
pub fn helm_command() -> Command {
    let mut command = Command::new(tool("helm"));
    command
        .env("KUBECONFIG", &testbed().kubeconfig)
        .current_dir(repo_root());
    command
}

/// helm that must succeed; returns its stdout.
pub fn helm(args: &[&str]) -> String {
    run_ok(helm_command().args(args), None)
}

pub fn yaml_documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value: &Value| !value.is_null())
        .collect()
}

/// `helm template` of the chart with the given --set values, as objects.
pub fn render(release: &str, ns: &str, sets: &[&str]) -> Vec<Value> {
    yaml_documents(&render_text(release, ns, sets))
}

pub fn render_text(release: &str, ns: &str, sets: &[&str]) -> String {
    let mut args = vec![
        "template".to_owned(),
        release.to_owned(),
        CHART.to_owned(),
        "--namespace".to_owned(),
        ns.to_owned(),
        // No --kube-version: the testbed's helm has the testbed's Kubernetes version compiled
        // in, so a user's plain `helm template` works with these tools too.
    ];
    for set in sets {
        args.push("--set".to_owned());
        args.push((*set).to_owned());
    }
    run_ok(helm_command().args(&args), None)
}

pub fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

pub fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = find(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0]
}

pub fn env_of(deployment: &Value) -> BTreeMap<String, Value> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

/// The prometheus-operator's ServiceMonitor and PrometheusRule CRDs, from its Go module zip
/// (pinned in e2e/versions.env; Apache-2.0), installed once and Established.
pub fn prometheus_operator_crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let module = format!(
            "github.com/prometheus-operator/prometheus-operator@{}",
            pinned("PROMETHEUS_OPERATOR_VERSION")
        );
        let info: Value = serde_json::from_str(&run_ok(
            Command::new("go")
                .args(["mod", "download", "-json", &module])
                .current_dir(std::env::temp_dir()),
            None,
        ))
        .unwrap();
        let dir = PathBuf::from(info["Dir"].as_str().expect("go mod download gives Dir"));
        for crd in ["servicemonitors", "prometheusrules"] {
            let file = dir.join(format!(
                "example/prometheus-operator-crd/monitoring.coreos.com_{crd}.yaml"
            ));
            kubectl_ok(&[
                "apply",
                "--server-side",
                "--force-conflicts",
                "-f",
                file.to_str().unwrap(),
            ]);
            // kubectl wait fails at once, rather than waiting, on a CRD whose status the API
            // server has not written yet: it is asked again.
            let crd = format!("crd/{crd}.monitoring.coreos.com");
            let wait = [
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                crd.as_str(),
            ];
            let established = (0..10).any(|_| {
                let (ok, _, _) = crate::kubectl(&wait, None);
                ok || {
                    std::thread::sleep(std::time::Duration::from_secs(1));
                    false
                }
            });
            assert!(established, "{crd} did not become Established");
        }
    });
}

pub fn chart_crd_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join(CHART).join("crds"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Installs a release (waiting for nothing: no Pod ever runs on this testbed) and returns
/// helm's stdout and stderr.
pub fn install(release: &str, ns: &str, sets: &[&str]) -> (String, String) {
    let mut args = vec!["install", release, CHART, "--namespace", ns];
    for set in sets {
        args.extend(["--set", set]);
    }
    let out = run(helm_command().args(&args), None);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "helm install {release} failed:\n{stdout}\n{stderr}"
    );
    (stdout, stderr)
}

/// Releases with webhooks (failurePolicy Fail, no operator Pod behind them) refuse every
/// goalert.heystaq.com object while installed. Tests installing them share this lock; the
/// test that creates objects takes it exclusively.
static WEBHOOKS: tokio::sync::RwLock<()> = tokio::sync::RwLock::const_new(());

/// Held while a test has a release with webhooks installed.
pub async fn webhooks_installed() -> tokio::sync::RwLockReadGuard<'static, ()> {
    WEBHOOKS.read().await
}

/// Held while a test creates goalert.heystaq.com objects: no release with webhooks is installed.
pub async fn no_webhooks_installed() -> tokio::sync::RwLockWriteGuard<'static, ()> {
    WEBHOOKS.write().await
}

/// Uninstalls the release (name, namespace) when dropped, also when the test fails: a leftover
/// webhook configuration (failurePolicy Fail, no operator behind it) would refuse every
/// goalert.heystaq.com object the next test binary creates.
pub struct Cleanup(pub String, pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = run(
            helm_command().args(["uninstall", &self.0, "--namespace", &self.1, "--ignore-not-found"]),
            None,
        );
    }
}

pub fn uninstall(release: &str, ns: &str) {
    helm(&[
        "uninstall",
        release,
        "--namespace",
        ns,
        "--ignore-not-found",
        "--wait",
    ]);
}

/// Every (kind, name, namespace) in a release's manifest.
pub fn release_objects(release: &str, ns: &str) -> Vec<(String, String, Option<String>)> {
    yaml_documents(&helm(&["get", "manifest", release, "--namespace", ns]))
        .iter()
        .map(|o| {
            (
                o["kind"].as_str().unwrap().to_owned(),
                o["metadata"]["name"].as_str().unwrap().to_owned(),
                o["metadata"]["namespace"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

pub fn exists(kind: &str, name: &str, ns: Option<&str>) -> bool {
    let mut args = vec!["get", kind, name, "--ignore-not-found", "-o", "name"];
    if let Some(ns) = ns {
        args.extend(["--namespace", ns]);
    }
    !kubectl_ok(&args).trim().is_empty()
}

/// A Pod built from the Deployment's pod template: Pod Security admission checks Pods, and no
/// controller makes Pods on this testbed, so the test makes one itself (server-side dry run).
pub fn pod_from_template(deployment: &Value, name: &str, ns: &str) -> Value {
    let template = &deployment["spec"]["template"];
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": ns, "labels": template["metadata"]["labels"] },
        "spec": template["spec"],
    })
}

/// `kubectl auth can-i ... --as sa`: whether the API server's authorizer allows it.
pub fn can_i(sa: &str, args: &[&str]) -> bool {
    let mut all = vec!["auth", "can-i"];
    all.extend(args);
    all.push("--as");
    all.push(sa);
    let out = run(kubectl_command().args(&all), None);
    String::from_utf8_lossy(&out.stdout).trim() == "yes"
}

/// A kubeconfig for the testbed that authenticates as a ServiceAccount, with a TokenRequest
/// token.
pub fn service_account_kubeconfig(sa: &str, ns: &str, dir: &Path) -> PathBuf {
    let token = kubectl_ok(&["create", "token", sa, "-n", ns, "--duration", "1h"]);
    let mut config: Value = serde_json::from_str(&kubectl_ok(&[
        "config",
        "view",
        "--raw",
        "--minify",
        "--flatten",
        "-o",
        "json",
    ]))
    .unwrap();
    config["users"][0]["user"] = json!({ "token": token.trim() });
    let path = dir.join("kubeconfig");
    std::fs::write(&path, config.to_string()).unwrap();
    path
}
