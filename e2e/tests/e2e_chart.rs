//! The Helm chart, the observability examples, the GitOps health checks and the container image,
//! checked with the real tools: helm, kubectl and the real kube-apiserver of the testbed, promtool
//! built from the Prometheus Go module, Debian's Lua 5.4, and the same static build the
//! Dockerfile runs.
#![cfg(feature = "e2e")]

use std::{
    collections::{BTreeMap, BTreeSet},
    io::Write as _,
    path::{Path, PathBuf},
    process::{Command, Output, Stdio},
    sync::OnceLock,
    time::{Duration, Instant},
};

use e2e::testbed;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

const CHART: &str = "charts/goalert-provisioning";
/// The plurals of every kind, in dependency order.
fn kinds() -> Vec<String> {
    goalert_provisioning::api::kinds()
        .iter()
        .map(|kind| kind.plural.clone())
        .collect()
}

fn repo() -> &'static Path {
    e2e::repo_root()
}

/// A pinned version from e2e/versions.env.
fn pinned(name: &str) -> String {
    let text = std::fs::read_to_string(repo().join("e2e/versions.env")).unwrap();
    text.lines()
        .filter_map(|line| line.split_once('='))
        .find(|(key, _)| key.trim() == name)
        .map(|(_, value)| value.trim().to_owned())
        .unwrap_or_else(|| panic!("{name} is not pinned in e2e/versions.env"))
}

/// The testbed's binaries (helm, kubectl, promtool) from the cache e2e/install.sh fills.
fn tool(name: &str) -> PathBuf {
    let cache = std::env::var("TESTBED_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/goalert-provisioning")
        });
    let path = cache.join("bin").join(name);
    if path.exists() { path } else { PathBuf::from(name) }
}

fn command(name: &str) -> Command {
    let mut command = Command::new(tool(name));
    command
        .env("KUBECONFIG", &testbed().kubeconfig)
        .current_dir(repo());
    command
}

fn output(command: &mut Command, stdin: Option<&str>) -> Output {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Runs a command that must succeed; returns its stdout.
fn ok(command: &mut Command, stdin: Option<&str>) -> String {
    let out = output(command, stdin);
    assert!(
        out.status.success(),
        "{command:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs a command that must fail; returns its stderr.
fn fails(command: &mut Command, stdin: Option<&str>) -> String {
    let out = output(command, stdin);
    assert!(
        !out.status.success(),
        "{command:?} should have failed but printed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stderr).unwrap()
}

fn kubectl(args: &[&str]) -> String {
    ok(command("kubectl").args(args), None)
}

fn helm(args: &[&str]) -> String {
    ok(command("helm").args(args), None)
}

/// A name unique to this test run, so a kept testbed can run the tests again.
fn unique(prefix: &str) -> String {
    static RUN: OnceLock<String> = OnceLock::new();
    let run = RUN.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!("{:x}", (nanos as u64 ^ u64::from(std::process::id())) & 0xff_ffff)
    });
    format!("{prefix}-{run}")
}

fn namespace(name: &str, restricted: bool) {
    let out = output(command("kubectl").args(["create", "namespace", name]), None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() || stderr.contains("AlreadyExists"),
        "{stderr}"
    );
    if restricted {
        kubectl(&[
            "label",
            "--overwrite",
            "namespace",
            name,
            "pod-security.kubernetes.io/enforce=restricted",
            "pod-security.kubernetes.io/enforce-version=latest",
            "pod-security.kubernetes.io/warn=restricted",
        ]);
    }
}

fn yaml_documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|document| Value::deserialize(document).unwrap())
        .filter(|value: &Value| !value.is_null())
        .collect()
}

use serde::Deserialize as _;

/// `helm template` of the chart with the given --set values, as objects.
fn render(release: &str, ns: &str, sets: &[&str]) -> Vec<Value> {
    yaml_documents(&render_text(release, ns, sets))
}

fn render_text(release: &str, ns: &str, sets: &[&str]) -> String {
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
    ok(command("helm").args(&args), None)
}

fn find<'a>(objects: &'a [Value], kind: &str) -> Vec<&'a Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

fn one<'a>(objects: &'a [Value], kind: &str) -> &'a Value {
    let found = find(objects, kind);
    assert_eq!(found.len(), 1, "expected one {kind}, found {}", found.len());
    found[0]
}

fn env_of(deployment: &Value) -> BTreeMap<String, Value> {
    deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

fn retry<T>(limit: Duration, mut attempt: impl FnMut() -> Result<T, String>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        match attempt() {
            Ok(value) => return value,
            Err(e) if Instant::now() >= deadline => panic!("gave up after {limit:?}: {e}"),
            Err(_) => std::thread::sleep(Duration::from_millis(300)),
        }
    }
}

/// The prometheus-operator's ServiceMonitor and PrometheusRule CRDs, from its Go module zip
/// (pinned in e2e/versions.env; Apache-2.0), installed once and Established.
fn prometheus_operator_crds() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let module = format!(
            "github.com/prometheus-operator/prometheus-operator@{}",
            pinned("PROMETHEUS_OPERATOR_VERSION")
        );
        let info: Value = serde_json::from_str(&ok(
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
            kubectl(&[
                "apply",
                "--server-side",
                "--force-conflicts",
                "-f",
                file.to_str().unwrap(),
            ]);
            kubectl(&[
                "wait",
                "--for=condition=Established",
                "--timeout=60s",
                &format!("crd/{crd}.monitoring.coreos.com"),
            ]);
        }
    });
}

fn chart_crd_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join(CHART).join("crds"))
        .map(|dir| dir.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// Installs a release (waiting for nothing: no Pod ever runs on this testbed) and returns
/// helm's stdout and stderr.
fn install(release: &str, ns: &str, sets: &[&str]) -> (String, String) {
    let mut args = vec!["install", release, CHART, "--namespace", ns];
    for set in sets {
        args.extend(["--set", set]);
    }
    let out = output(command("helm").args(&args), None);
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
static WEBHOOKS: std::sync::RwLock<()> = std::sync::RwLock::new(());

fn webhooks_installed() -> std::sync::RwLockReadGuard<'static, ()> {
    WEBHOOKS.read().unwrap_or_else(|e| e.into_inner())
}

/// Uninstalls the release when dropped, also when the test fails: a leftover webhook
/// configuration (failurePolicy Fail, no operator behind it) would refuse every
/// goalert.heystaq.com object the next test binary creates.
struct Cleanup(String, String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = output(
            command("helm").args(["uninstall", &self.0, "--namespace", &self.1, "--ignore-not-found"]),
            None,
        );
    }
}

fn uninstall(release: &str, ns: &str) {
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
fn release_objects(release: &str, ns: &str) -> Vec<(String, String, Option<String>)> {
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

fn exists(kind: &str, name: &str, ns: Option<&str>) -> bool {
    let mut args = vec!["get", kind, name, "--ignore-not-found", "-o", "name"];
    if let Some(ns) = ns {
        args.extend(["--namespace", ns]);
    }
    !kubectl(&args).trim().is_empty()
}

/// A Pod built from the Deployment's pod template: Pod Security admission checks Pods, and no
/// controller makes Pods on this testbed, so the test makes one itself (server-side dry run).
fn pod_from_template(deployment: &Value, name: &str, ns: &str) -> Value {
    let template = &deployment["spec"]["template"];
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": { "name": name, "namespace": ns, "labels": template["metadata"]["labels"] },
        "spec": template["spec"],
    })
}

fn can_i(sa: &str, args: &[&str]) -> bool {
    let mut all = vec!["auth", "can-i"];
    all.extend(args);
    all.push("--as");
    all.push(sa);
    let out = output(command("kubectl").args(&all), None);
    String::from_utf8_lossy(&out.stdout).trim() == "yes"
}

// ---------------------------------------------------------------------------------------------
// helm lint, required values, schema
// ---------------------------------------------------------------------------------------------

#[test]
fn helm_lint_is_clean() {
    let required = [
        "--set",
        "goalert.url=https://goalert.example.com",
        "--set",
        "goalert.apiKey=k",
    ];
    for strict in [false, true] {
        let mut args = vec!["lint", CHART];
        if strict {
            args.push("--strict");
        }
        args.extend(required);
        let out = helm(&args);
        assert!(out.contains("1 chart(s) linted, 0 chart(s) failed"), "{out}");
        assert!(!out.contains("[WARNING]") && !out.contains("[ERROR]"), "{out}");
    }
    // The other modes lint clean too.
    for extra in [
        "serviceMonitor.enabled=true",
        "webhook.certificate.mode=cert-manager",
        "networkPolicy.enabled=true",
        "replicaCount=1",
    ] {
        let mut args = vec!["lint", CHART, "--strict", "--set", extra];
        args.extend(required);
        let out = helm(&args);
        assert!(
            out.contains("0 chart(s) failed") && !out.contains("[WARNING]"),
            "{extra}: {out}"
        );
    }
}

#[test]
fn missing_goalert_url_is_a_clear_helm_error() {
    let ns = unique("gp-nourl");
    let stderr = fails(
        command("helm").args([
            "install",
            "gp-nourl",
            CHART,
            "--namespace",
            &ns,
            "--create-namespace",
            "--set",
            "goalert.apiKey=k",
        ]),
        None,
    );
    assert!(
        stderr.contains("goalert.url is required")
            && stderr.contains("--set goalert.url=https://goalert.example.com"),
        "{stderr}"
    );
    // Likewise a missing API key, unless an existing Secret holds it.
    let stderr = fails(
        command("helm").args([
            "template",
            "x",
            CHART,
            "--set",
            "goalert.url=https://g.example.com",
        ]),
        None,
    );
    assert!(stderr.contains("goalert.apiKey is required"), "{stderr}");
    let stderr = fails(
        command("helm").args([
            "template",
            "x",
            CHART,
            "--set",
            "goalert.url=https://g.example.com",
            "--set",
            "goalert.auth=password",
            "--set",
            "goalert.username=ops",
        ]),
        None,
    );
    assert!(
        stderr.contains("goalert.auth=password needs goalert.username and goalert.password"),
        "{stderr}"
    );
}

#[test]
fn values_schema_rejects_bad_values() {
    let base = ["goalert.url=https://goalert.example.com", "goalert.apiKey=k"];
    let cases = [
        ("goalert.url=goalert.example.com", "/goalert/url"),
        ("goalert.url=ftp://goalert.example.com", "/goalert/url"),
        ("goalert.auth=token", "/goalert/auth"),
        ("serviceMonitor.enable=true", "additional properties 'enable'"),
        ("serviceMonitor.interval=30", "/serviceMonitor/interval"),
        ("serviceMonitor.interval=soon", "/serviceMonitor/interval"),
        ("replicaCount=0", "/replicaCount"),
        ("webhook.certificate.mode=manual", "/webhook/certificate/mode"),
        (
            "webhook.failurePolicy.validate=Deny",
            "/webhook/failurePolicy/validate",
        ),
        ("webhook.timeoutSeconds=31", "/webhook/timeoutSeconds"),
        ("logging.format=xml", "/logging/format"),
        ("image.digest=latest", "/image/digest"),
        ("metrics.service.enabled=yes", "/metrics/service/enabled"),
        ("goalert.existingSecret=Not_A_Name", "/goalert/existingSecret"),
        ("serviceMonitor.labels.release=null", "/serviceMonitor/labels"),
    ];
    for (bad, path) in cases {
        let mut args = vec!["template", "x", CHART];
        for set in base.iter().chain([&bad]) {
            args.extend(["--set", set]);
        }
        let stderr = fails(command("helm").args(&args), None);
        assert!(
            stderr.contains("values don't meet the specifications of the schema") && stderr.contains(path),
            "{bad}: {stderr}"
        );
    }
    // Good values of the same fields pass.
    render(
        "x",
        "default",
        &[
            base[0],
            base[1],
            "serviceMonitor.interval=1m30s",
            "serviceMonitor.labels.release=prometheus",
            "webhook.failurePolicy.validate=Ignore",
            "logging.format=text",
            "goalert.url=http://goalert.goalert.svc:8081/base",
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// The README's install command against the real kube-apiserver; upgrade; uninstall
// ---------------------------------------------------------------------------------------------

/// The exact command of the README.
const README_INSTALL: &str = "helm install goalert-provisioning ./charts/goalert-provisioning --namespace goalert-provisioning-system --create-namespace --set goalert.url=https://goalert.example.com --set goalert.apiKey=your-admin-api-key";

#[test]
fn readme_install_upgrade_uninstall_in_a_restricted_namespace() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let readme_words: Vec<_> = readme.split_whitespace().filter(|w| *w != "\\").collect();
    let words: Vec<_> = README_INSTALL.split_whitespace().collect();
    if readme.contains("helm install") {
        assert!(
            readme_words.windows(words.len()).any(|w| w == words.as_slice()),
            "README.md shows a helm install command other than the promised one: {README_INSTALL}"
        );
    } else {
        eprintln!("note: README.md does not show the install command yet; testing the promised one");
    }

    prometheus_operator_crds();
    let ns = "goalert-provisioning-system";
    let release = "goalert-provisioning";
    let _webhooks = webhooks_installed();
    uninstall(release, ns); // from an earlier run on a kept testbed
    let _cleanup = Cleanup(release.into(), ns.into());
    // The namespace enforces Pod Security "restricted" before the chart goes in.
    namespace(ns, true);

    assert_eq!(words[0], "helm");
    let out = output(command("helm").args(&words[1..]), None);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(
        out.status.success(),
        "the README's install command failed:\n{stdout}\n{stderr}"
    );
    assert!(!stderr.contains("PodSecurity"), "Pod Security warnings: {stderr}");
    assert!(stdout.contains("STATUS: deployed"), "{stdout}");
    // NOTES.txt says how to mint the API key for the operator's document.
    assert!(
        stdout.contains("print-api-key-query") && stdout.contains("create-api-key"),
        "{stdout}"
    );

    // Every object of the release exists.
    let objects = release_objects(release, ns);
    let kinds: BTreeSet<_> = objects.iter().map(|(k, _, _)| k.as_str()).collect();
    let expected = [
        "ServiceAccount",
        "Secret",
        "ClusterRole",
        "ClusterRoleBinding",
        "Role",
        "RoleBinding",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ];
    assert_eq!(kinds, expected.into_iter().collect(), "{objects:?}");
    for (kind, name, namespace) in &objects {
        assert!(exists(kind, name, namespace.as_deref()), "{kind} {name} missing");
    }
    // Scraping is off by default: no metrics Service, no ServiceMonitor.
    assert!(!exists("service", "goalert-provisioning-metrics", Some(ns)));
    assert!(!exists(
        "servicemonitors.monitoring.coreos.com",
        "goalert-provisioning",
        Some(ns)
    ));

    // The chart's CRDs went in the Helm way (crds/), Established.
    let crds = chart_crd_files();
    for file in &crds {
        let crd: Value = serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let name = crd["metadata"]["name"].as_str().unwrap();
        kubectl(&[
            "wait",
            "--for=condition=Established",
            "--timeout=60s",
            &format!("crd/{name}"),
        ]);
    }

    // The pod passes Pod Security "restricted" (and a careless pod does not: enforcement is on).
    let deployment: Value = serde_json::from_str(&kubectl(&[
        "get",
        "deployment",
        "goalert-provisioning",
        "-n",
        ns,
        "-o",
        "json",
    ]))
    .unwrap();
    let pod = pod_from_template(&deployment, "psa-check", ns);
    ok(
        command("kubectl").args(["create", "--dry-run=server", "-f", "-"]),
        Some(&pod.to_string()),
    );
    let mut careless = pod.clone();
    careless["spec"]["securityContext"] = json!({});
    careless["spec"]["containers"][0]["securityContext"] = json!({});
    let stderr = fails(
        command("kubectl").args(["create", "--dry-run=server", "-f", "-"]),
        Some(&careless.to_string()),
    );
    assert!(
        stderr.contains("violates PodSecurity \"restricted:latest\""),
        "{stderr}"
    );

    // The webhooks are asked about goalert.heystaq.com objects and nothing else. No operator Pod
    // runs here, so the API server cannot reach them and (failurePolicy Fail) refuses the write,
    // naming the webhook: proof that the rules match.
    if !crds.is_empty() {
        let user = json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertUser",
            "metadata": { "name": "webhook-probe", "namespace": "default" },
            "spec": { "email": "webhook-probe@example.com" },
        });
        let stderr = fails(
            command("kubectl").args(["create", "--dry-run=server", "-f", "-"]),
            Some(&user.to_string()),
        );
        assert!(
            stderr.contains("mutate.goalert.heystaq.com") && stderr.contains("goalert-provisioning-webhook"),
            "{stderr}"
        );
    }
    kubectl(&[
        "create",
        "configmap",
        "not-for-the-webhook",
        "-n",
        "default",
        "--dry-run=server",
    ]);

    // Upgrade: the operator has written its CA into the webhook configurations (simulated here);
    // helm upgrade must keep it, and can turn scraping on.
    let ca = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==";
    for kind in ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"] {
        kubectl(&[
            "patch",
            kind,
            "goalert-provisioning",
            "--type=json",
            "-p",
            &format!(r#"[{{"op":"add","path":"/webhooks/0/clientConfig/caBundle","value":"{ca}"}}]"#),
        ]);
    }
    helm(&[
        "upgrade",
        release,
        CHART,
        "--namespace",
        ns,
        "--reuse-values",
        "--set",
        "serviceMonitor.enabled=true",
        "--set",
        "replicaCount=3",
    ]);
    assert!(helm(&["status", release, "-n", ns]).contains("REVISION: 2"));
    assert!(exists("service", "goalert-provisioning-metrics", Some(ns)));
    assert!(exists(
        "servicemonitors.monitoring.coreos.com",
        "goalert-provisioning",
        Some(ns)
    ));
    assert_eq!(
        kubectl(&[
            "get",
            "deployment",
            release,
            "-n",
            ns,
            "-o",
            "jsonpath={.spec.replicas}"
        ]),
        "3"
    );
    for kind in ["validatingwebhookconfiguration", "mutatingwebhookconfiguration"] {
        let kept = kubectl(&[
            "get",
            kind,
            release,
            "-o",
            "jsonpath={.webhooks[0].clientConfig.caBundle}",
        ]);
        assert_eq!(
            kept, ca,
            "helm upgrade dropped the operator's caBundle from the {kind}"
        );
    }
    // The API key in the chart's Secret is what was set at install (reuse-values kept it).
    let key = kubectl(&[
        "get",
        "secret",
        release,
        "-n",
        ns,
        "-o",
        "jsonpath={.data.api-key}",
    ]);
    assert_eq!(key, "eW91ci1hZG1pbi1hcGkta2V5"); // base64 of your-admin-api-key

    // Uninstall removes every object but keeps the CRDs (and so every GoAlert object's CR).
    let objects = release_objects(release, ns);
    uninstall(release, ns);
    for (kind, name, namespace) in &objects {
        assert!(
            !exists(kind, name, namespace.as_deref()),
            "{kind} {name} left behind"
        );
    }
    for file in &crds {
        let crd: Value = serde_yaml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        assert!(exists("crd", crd["metadata"]["name"].as_str().unwrap(), None));
    }
}

#[test]
fn every_mode_passes_server_side_validation() {
    prometheus_operator_crds();
    let ns = unique("gp-modes");
    namespace(&ns, true);
    let base = ["goalert.url=https://goalert.example.com", "goalert.apiKey=k"];
    let modes: [&[&str]; 5] = [
        &[],
        &[
            "serviceMonitor.enabled=true",
            "serviceMonitor.labels.release=prometheus",
            "networkPolicy.enabled=true",
        ],
        &[
            "replicaCount=1",
            "leaderElection.enabled=false",
            "webhook.enabled=false",
            "metrics.service.enabled=true",
        ],
        &[
            "goalert.auth=password",
            "goalert.apiKey=",
            "goalert.username=ops",
            "goalert.password=secret",
            "podLabels.team=sre",
            "commonLabels.cost-center=cc42",
            "commonAnnotations.owner=sre",
        ],
        &[
            "networkPolicy.enabled=true",
            "networkPolicy.metricsFrom[0].namespaceSelector.matchLabels.name=monitoring",
        ],
    ];
    for (i, mode) in modes.iter().enumerate() {
        let mut sets = base.to_vec();
        sets.extend(mode.iter());
        let release = format!("gp-mode{i}");
        let text = render_text(&release, &ns, &sets);
        ok(
            command("kubectl").args(["apply", "--server-side", "--dry-run=server", "-f", "-"]),
            Some(&text),
        );
        let objects = yaml_documents(&text);
        let pod = pod_from_template(one(&objects, "Deployment"), &format!("psa-mode{i}"), &ns);
        ok(
            command("kubectl").args(["create", "--dry-run=server", "-f", "-"]),
            Some(&pod.to_string()),
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Metrics Service and ServiceMonitor; existing Secret; PDB; certificates; webhook rules
// ---------------------------------------------------------------------------------------------

#[test]
fn service_monitor_creates_the_metrics_service_and_a_service_monitor() {
    prometheus_operator_crds();
    let ns = unique("gp-sm");
    namespace(&ns, true);
    let _webhooks = webhooks_installed();
    let release = unique("gp-sm");
    let _cleanup = Cleanup(release.clone(), ns.clone());
    install(
        &release,
        &ns,
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.apiKey=k",
            "serviceMonitor.enabled=true",
            "serviceMonitor.labels.release=prometheus",
        ],
    );
    let service: Value = serde_json::from_str(&kubectl(&[
        "get",
        "service",
        &format!("{release}-metrics"),
        "-n",
        &ns,
        "-o",
        "json",
    ]))
    .unwrap();
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "metrics", "port": 8080, "protocol": "TCP", "targetPort": "metrics"}])
    );
    assert_eq!(
        service["metadata"]["labels"]["app.kubernetes.io/name"],
        "goalert-provisioning"
    );

    let monitor: Value = serde_json::from_str(&kubectl(&[
        "get",
        "servicemonitors.monitoring.coreos.com",
        "-n",
        &ns,
        "-o",
        "json",
    ]))
    .unwrap();
    let items = monitor["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let monitor = &items[0];
    assert_eq!(monitor["spec"]["jobLabel"], "app.kubernetes.io/name");
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["interval"], "30s");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    // Its selector picks exactly the metrics Service, whose jobLabel value is the job name.
    let selector: Vec<String> = monitor["spec"]["selector"]["matchLabels"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect();
    let selected = kubectl(&[
        "get",
        "services",
        "-n",
        &ns,
        "-l",
        &selector.join(","),
        "-o",
        "name",
    ]);
    assert_eq!(selected.trim(), format!("service/{release}-metrics"));
    // And the Service's selector picks the operator's pods.
    let deployment: Value =
        serde_json::from_str(&kubectl(&["get", "deployment", "-n", &ns, "-o", "json"])).unwrap();
    let pod_labels = &deployment["items"][0]["spec"]["template"]["metadata"]["labels"];
    for (k, v) in service["spec"]["selector"].as_object().unwrap() {
        assert_eq!(&pod_labels[k], v);
    }
    uninstall(&release, &ns);

    // metrics.service.enabled alone: the Service, no ServiceMonitor.
    let release = unique("gp-ms");
    let _cleanup2 = Cleanup(release.clone(), ns.clone());
    install(
        &release,
        &ns,
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.apiKey=k",
            "metrics.service.enabled=true",
        ],
    );
    assert!(exists("service", &format!("{release}-metrics"), Some(&ns)));
    let monitors = kubectl(&[
        "get",
        "servicemonitors.monitoring.coreos.com",
        "-n",
        &ns,
        "-o",
        "name",
    ]);
    assert!(monitors.trim().is_empty(), "{monitors}");
    uninstall(&release, &ns);
}

#[test]
fn existing_secret_replaces_the_charts_secret() {
    let ns = unique("gp-secret");
    namespace(&ns, true);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "goalert-creds",
        "-n",
        &ns,
        "--from-literal=api-key=from-vault",
    ]);
    let _webhooks = webhooks_installed();
    let release = unique("gp-secret");
    let _cleanup = Cleanup(release.clone(), ns.clone());
    install(
        &release,
        &ns,
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.existingSecret=goalert-creds",
        ],
    );
    let objects = release_objects(&release, &ns);
    assert!(
        !objects.iter().any(|(kind, _, _)| kind == "Secret"),
        "{objects:?}"
    );
    let deployment: Value =
        serde_json::from_str(&kubectl(&["get", "deployment", "-n", &ns, "-o", "json"])).unwrap();
    let env = env_of(&deployment["items"][0]);
    assert_eq!(
        env["GOALERT_API_KEY"]["valueFrom"]["secretKeyRef"],
        json!({"name": "goalert-creds", "key": "api-key"})
    );
    assert!(!env.contains_key("GOALERT_USERNAME"));
    // The user's Secret is not the release's: uninstall leaves it.
    uninstall(&release, &ns);
    assert!(exists("secret", "goalert-creds", Some(&ns)));

    // The username/password alternative, from an existing Secret with other key names.
    let objects = render(
        "x",
        &ns,
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.auth=password",
            "goalert.existingSecret=goalert-user",
            "goalert.existingSecretKeys.username=user",
            "goalert.existingSecretKeys.password=pass",
        ],
    );
    assert!(find(&objects, "Secret").is_empty());
    let env = env_of(one(&objects, "Deployment"));
    assert_eq!(
        env["GOALERT_USERNAME"]["valueFrom"]["secretKeyRef"],
        json!({"name": "goalert-user", "key": "user"})
    );
    assert_eq!(
        env["GOALERT_PASSWORD"]["valueFrom"]["secretKeyRef"],
        json!({"name": "goalert-user", "key": "pass"})
    );
    assert!(!env.contains_key("GOALERT_API_KEY"));
}

#[test]
fn pod_disruption_budget_only_with_more_than_one_replica() {
    let base = ["goalert.url=https://goalert.example.com", "goalert.apiKey=k"];
    let single = render("x", "ns", &[base[0], base[1], "replicaCount=1"]);
    assert!(find(&single, "PodDisruptionBudget").is_empty());
    let two = render("x", "ns", &[base[0], base[1], "replicaCount=2"]);
    let pdb = one(&two, "PodDisruptionBudget");
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(
        pdb["spec"]["selector"]["matchLabels"],
        one(&two, "Deployment")["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn deployment_wires_the_operator_contract() {
    let objects = render(
        "gp",
        "ops",
        &["goalert.url=https://goalert.example.com", "goalert.apiKey=k"],
    );
    let deployment = one(&objects, "Deployment");
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    assert_eq!(container["args"], json!(["run"]));
    assert!(
        container.get("command").is_none(),
        "the image's entrypoint is the operator"
    );
    let env = env_of(deployment);
    assert_eq!(env["GOALERT_URL"]["value"], "https://goalert.example.com");
    assert_eq!(
        env["POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.name"
    );
    assert_eq!(
        env["POD_NAMESPACE"]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(env["LEADER_ELECTION"]["value"], "true");
    assert_eq!(env["METRICS_BIND_ADDRESS"]["value"], "0.0.0.0:8080");
    assert_eq!(env["WEBHOOK_BIND_ADDRESS"]["value"], "0.0.0.0:9443");
    assert_eq!(env["WEBHOOK_CERT_MODE"]["value"], "self-managed");
    assert_eq!(
        env["WEBHOOK_SERVICE_NAME"]["value"],
        "gp-goalert-provisioning-webhook"
    );
    assert_eq!(
        env["WEBHOOK_CONFIGURATION_NAME"]["value"],
        "gp-goalert-provisioning"
    );
    assert_eq!(
        env["WEBHOOK_SECRET_NAME"]["value"],
        "gp-goalert-provisioning-webhook-tls"
    );
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    let security = &container["securityContext"];
    assert_eq!(security["readOnlyRootFilesystem"], true);
    assert_eq!(security["allowPrivilegeEscalation"], false);
    assert_eq!(security["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");

    // Both webhook configurations carry the name the operator patches.
    for kind in ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] {
        assert_eq!(one(&objects, kind)["metadata"]["name"], "gp-goalert-provisioning");
    }
    // The webhook Service routes to the webhook port of the same pods.
    let webhook_service = find(&objects, "Service")
        .into_iter()
        .find(|s| s["metadata"]["name"] == "gp-goalert-provisioning-webhook")
        .unwrap();
    assert_eq!(webhook_service["spec"]["ports"][0]["targetPort"], "webhook");
    assert_eq!(webhook_service["spec"]["publishNotReadyAddresses"], true);

    // A new API key restarts the pods (the pod template changes); the same key does not.
    let checksum = |key: &str| {
        let objects = render(
            "gp",
            "ops",
            &[
                "goalert.url=https://goalert.example.com",
                &format!("goalert.apiKey={key}"),
            ],
        );
        one(&objects, "Deployment")["spec"]["template"]["metadata"]["annotations"]["checksum/credentials"]
            .clone()
    };
    assert_eq!(checksum("a"), checksum("a"));
    assert_ne!(checksum("a"), checksum("b"));
}

#[test]
fn webhook_configurations_match_only_this_operators_kinds() {
    let objects = render(
        "gp",
        "ops",
        &["goalert.url=https://goalert.example.com", "goalert.apiKey=k"],
    );
    for (kind, path, operations) in [
        (
            "ValidatingWebhookConfiguration",
            "/validate",
            json!(["CREATE", "UPDATE", "DELETE"]),
        ),
        (
            "MutatingWebhookConfiguration",
            "/mutate",
            json!(["CREATE", "UPDATE"]),
        ),
    ] {
        let config = one(&objects, kind);
        let webhooks = config["webhooks"].as_array().unwrap();
        assert_eq!(webhooks.len(), 1);
        let webhook = &webhooks[0];
        assert_eq!(webhook["sideEffects"], "None");
        assert_eq!(webhook["timeoutSeconds"], 5);
        assert_eq!(webhook["failurePolicy"], "Fail");
        assert_eq!(webhook["admissionReviewVersions"], json!(["v1"]));
        assert!(
            webhook["clientConfig"].get("caBundle").is_none(),
            "caBundle is the operator's to write"
        );
        assert_eq!(webhook["clientConfig"]["service"]["path"], path);
        assert_eq!(
            webhook["clientConfig"]["service"]["name"],
            "gp-goalert-provisioning-webhook"
        );
        let rules = webhook["rules"].as_array().unwrap();
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["apiGroups"], json!(["goalert.heystaq.com"]));
        assert_eq!(rules[0]["resources"], json!(kinds()));
        assert_eq!(rules[0]["operations"], operations);
        assert!(webhook.get("namespaceSelector").is_none() && webhook.get("objectSelector").is_none());
    }
    // The kinds are the CRDs' plurals.
    let crds = chart_crd_files();
    if !crds.is_empty() {
        let plurals: BTreeSet<String> = crds
            .iter()
            .map(|f| {
                let crd: Value = serde_yaml::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
                assert_eq!(crd["spec"]["group"], "goalert.heystaq.com");
                crd["spec"]["names"]["plural"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(plurals, kinds().into_iter().collect());
    }
}

#[test]
fn cert_manager_mode_uses_a_certificate_and_ca_injection() {
    let objects = render(
        "gp",
        "ops",
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.apiKey=k",
            "webhook.certificate.mode=cert-manager",
        ],
    );
    let certificate = one(&objects, "Certificate");
    assert_eq!(
        certificate["spec"]["secretName"],
        "gp-goalert-provisioning-webhook-tls"
    );
    assert_eq!(
        certificate["spec"]["issuerRef"]["name"],
        "gp-goalert-provisioning-selfsigned"
    );
    let names = certificate["spec"]["dnsNames"].as_array().unwrap();
    assert!(
        names.contains(&json!("gp-goalert-provisioning-webhook.ops.svc")),
        "{names:?}"
    );
    assert_eq!(one(&objects, "Issuer")["spec"], json!({"selfSigned": {}}));
    for kind in ["ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"] {
        assert_eq!(
            one(&objects, kind)["metadata"]["annotations"]["cert-manager.io/inject-ca-from"],
            "ops/gp-goalert-provisioning-webhook"
        );
    }
    let deployment = one(&objects, "Deployment");
    let env = env_of(deployment);
    assert_eq!(env["WEBHOOK_CERT_MODE"]["value"], "cert-manager");
    assert_eq!(
        env["WEBHOOK_CERT_DIR"]["value"],
        "/tmp/k8s-webhook-server/serving-certs"
    );
    let mounts = &deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
    assert!(
        mounts
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["mountPath"] == "/tmp/k8s-webhook-server/serving-certs")
    );
    // The operator needs no right to patch webhook configurations in this mode.
    let role = one(&objects, "ClusterRole").to_string();
    assert!(!role.contains("admissionregistration"), "{role}");

    // An existing ClusterIssuer instead of the self-signed one.
    let objects = render(
        "gp",
        "ops",
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.apiKey=k",
            "webhook.certificate.mode=cert-manager",
            "webhook.certificate.certManager.issuerRef.name=corp-ca",
            "webhook.certificate.certManager.issuerRef.kind=ClusterIssuer",
        ],
    );
    assert!(find(&objects, "Issuer").is_empty());
    assert_eq!(
        one(&objects, "Certificate")["spec"]["issuerRef"],
        json!({"name": "corp-ca", "kind": "ClusterIssuer", "group": "cert-manager.io"})
    );
}

// ---------------------------------------------------------------------------------------------
// RBAC: least privilege, proven with the API server's authorizer
// ---------------------------------------------------------------------------------------------

#[test]
fn rbac_allows_what_the_operator_needs_and_nothing_else() {
    let ns = unique("gp-rbac");
    namespace(&ns, true);
    let _webhooks = webhooks_installed();
    let release = unique("gp-rbac");
    let _cleanup = Cleanup(release.clone(), ns.clone());
    install(
        &release,
        &ns,
        &["goalert.url=https://goalert.example.com", "goalert.apiKey=k"],
    );
    let fullname = format!("{release}-goalert-provisioning");
    let sa = format!("system:serviceaccount:{ns}:{fullname}");
    let webhook_config = format!("validatingwebhookconfigurations/{fullname}");
    let mutating_config = format!("mutatingwebhookconfigurations/{fullname}");
    let lease = "leases.coordination.k8s.io/goalert-provisioning-leader";

    let kinds = kinds();
    let secret_owners: Vec<String> = goalert_provisioning::api::kinds()
        .iter()
        .filter(|kind| kind.owns_secrets)
        .map(|kind| kind.plural.clone())
        .collect();
    let mut allowed: Vec<Vec<&str>> = Vec::new();
    let mut forbidden: Vec<Vec<&str>> = Vec::new();
    for kind in kinds.iter().map(String::as_str) {
        for verb in ["get", "list", "watch", "patch"] {
            allowed.push(vec![verb, kind, "-A"]);
        }
        allowed.push(vec!["patch", kind, "--subresource=status", "-n", "team-a"]);
        // Nothing the code never does: creating, replacing or deleting a resource.
        for verb in ["create", "update", "delete"] {
            forbidden.push(vec![verb, kind, "-n", "team-a"]);
        }
    }
    for kind in secret_owners.iter().map(String::as_str) {
        allowed.push(vec!["update", kind, "--subresource=finalizers", "-n", "team-a"]);
    }
    for verb in ["get", "create", "patch"] {
        allowed.push(vec![verb, "secrets", "-n", "team-a"]);
    }
    // Secrets are never listed, watched, replaced or deleted outside a watched namespace.
    for verb in ["list", "watch", "update", "delete"] {
        forbidden.push(vec![verb, "secrets", "-n", "team-a"]);
    }
    forbidden.push(vec!["list", "secrets", "-A"]);
    allowed.extend([
        vec!["create", "events", "-n", "team-a"],
        vec!["patch", "events.events.k8s.io", "-n", "team-a"],
        // Claims (docs/security.md), in the release namespace only.
        vec!["create", "configmaps", "-n", &ns],
        vec!["get", "configmaps/goalert-claim-x", "-n", &ns],
        vec!["delete", "configmaps/goalert-claim-x", "-n", &ns],
        vec!["create", "leases.coordination.k8s.io", "-n", &ns],
        vec!["get", lease, "-n", &ns],
        vec!["update", lease, "-n", &ns],
        vec!["get", &webhook_config],
        vec!["patch", &webhook_config],
        vec!["patch", &mutating_config],
    ]);
    forbidden.extend([
        vec!["delete", "goalertservices", "-A"],
        vec!["create", "configmaps", "-n", "team-a"],
        vec!["list", "configmaps", "-n", &ns],
        vec!["update", "configmaps/goalert-claim-x", "-n", &ns],
        vec!["get", "configmaps", "-n", "team-a"],
        vec!["list", "configmaps", "-A"],
        vec!["create", "pods", "-n", "team-a"],
        vec!["delete", "namespaces"],
        vec!["list", "deployments.apps", "-A"],
        vec!["create", "serviceaccounts/token", "-n", &ns],
        vec!["create", "clusterrolebindings"],
        vec!["escalate", "clusterroles"],
        vec!["impersonate", "users"],
        vec!["create", "customresourcedefinitions.apiextensions.k8s.io"],
        vec!["update", "customresourcedefinitions.apiextensions.k8s.io"],
        vec!["list", "nodes"],
        vec!["get", lease, "-n", "kube-system"],
        vec![
            "update",
            "leases.coordination.k8s.io/someone-elses-lease",
            "-n",
            &ns,
        ],
        vec!["list", "leases.coordination.k8s.io", "-n", &ns],
        vec!["patch", "validatingwebhookconfigurations/someone-elses-webhook"],
        vec!["list", "validatingwebhookconfigurations"],
        vec!["create", "mutatingwebhookconfigurations"],
        vec!["delete", &webhook_config],
    ]);
    // RBAC bindings reach the authorizer's cache within a moment.
    retry(Duration::from_secs(10), || {
        if can_i(&sa, &["list", "goalertusers", "-A"]) {
            Ok(())
        } else {
            Err("binding not active yet".into())
        }
    });
    for args in &allowed {
        assert!(
            can_i(&sa, args),
            "the operator's ServiceAccount should be allowed to {args:?}"
        );
    }
    for args in &forbidden {
        assert!(
            !can_i(&sa, args),
            "the operator's ServiceAccount must not be allowed to {args:?}"
        );
    }

    // And real requests as that ServiceAccount: it can write a Secret, cannot read a ConfigMap.
    let team = unique("gp-rbac-team");
    namespace(&team, false);
    kubectl(&[
        "create",
        "secret",
        "generic",
        "integration-keys",
        "-n",
        &team,
        "--from-literal=grafana=x",
        "--as",
        &sa,
    ]);
    let stderr = fails(
        command("kubectl").args(["get", "configmaps", "-n", &team, "--as", &sa]),
        None,
    );
    assert!(
        stderr.contains("Forbidden") || stderr.contains("forbidden"),
        "{stderr}"
    );
    let stderr = fails(
        command("kubectl").args(["delete", "namespace", &team, "--as", &sa, "--dry-run=server"]),
        None,
    );
    assert!(stderr.contains("forbidden"), "{stderr}");
    uninstall(&release, &ns);
    assert!(
        !can_i(&sa, &["get", "secrets", "-n", "team-a"]) || {
            std::thread::sleep(Duration::from_secs(2));
            !can_i(&sa, &["get", "secrets", "-n", "team-a"])
        }
    );
}

#[test]
fn rbac_with_a_watch_namespace_writes_only_there() {
    let ns = unique("gp-rbacw");
    let team = unique("gp-rbacw-team");
    let other = unique("gp-rbacw-other");
    for n in [&ns, &team, &other] {
        namespace(n, false);
    }
    let _webhooks = webhooks_installed();
    let release = unique("gp-rbacw");
    let _cleanup = Cleanup(release.clone(), ns.clone());
    install(
        &release,
        &ns,
        &[
            "goalert.url=https://goalert.example.com",
            "goalert.apiKey=k",
            &format!("watchNamespace={team}"),
        ],
    );
    let fullname = format!("{release}-goalert-provisioning");
    let sa = format!("system:serviceaccount:{ns}:{fullname}");
    let tls = format!("secrets/{fullname}-webhook-tls");
    let mutating = format!("mutatingwebhookconfigurations/{fullname}");
    retry(Duration::from_secs(10), || {
        if can_i(&sa, &["create", "secrets", "-n", &team]) {
            Ok(())
        } else {
            Err("not yet".into())
        }
    });
    let allowed: Vec<Vec<&str>> = vec![
        vec!["list", "goalertusers", "-A"],
        vec!["watch", "goalertservices", "-A"],
        vec!["patch", "goalertusers", "-n", &team],
        vec!["patch", "goalertschedules", "--subresource=status", "-n", &team],
        vec![
            "update",
            "goalertservices",
            "--subresource=finalizers",
            "-n",
            &team,
        ],
        vec!["create", "secrets", "-n", &team],
        vec!["watch", "secrets", "-n", &team],
        vec!["create", "events", "-n", &team],
        vec!["get", &tls, "-n", &ns],
        vec!["update", &tls, "-n", &ns],
        vec!["patch", &mutating],
    ];
    let forbidden: Vec<Vec<&str>> = vec![
        vec!["update", "goalertusers", "-n", &other],
        // Only kinds whose Secrets carry a blocking owner reference need their finalizers.
        vec![
            "update",
            "goalertrotations",
            "--subresource=finalizers",
            "-n",
            &team,
        ],
        vec!["patch", "goalertschedules", "--subresource=status", "-n", &other],
        vec!["get", "secrets", "-n", &other],
        vec!["delete", "secrets", "-n", &team],
        vec!["update", "goalertusers", "-n", &team],
        vec!["list", "secrets", "-A"],
        vec!["get", "secrets/someone-elses", "-n", &ns],
        vec!["list", "secrets", "-n", &ns],
        vec!["create", "events", "-n", &other],
        vec!["get", "configmaps", "-n", &team],
    ];
    for args in &allowed {
        assert!(can_i(&sa, args), "should be allowed: {args:?}");
    }
    for args in &forbidden {
        assert!(!can_i(&sa, args), "must be forbidden: {args:?}");
    }
    // The webhooks only review objects in the watched namespace.
    let selector = kubectl(&[
        "get",
        "validatingwebhookconfiguration",
        &fullname,
        "-o",
        "jsonpath={.webhooks[0].namespaceSelector.matchLabels}",
    ]);
    assert!(selector.contains(&team), "{selector}");
}

// ---------------------------------------------------------------------------------------------
// The operator, run out of cluster as the chart's ServiceAccount, reconciles the examples
// ---------------------------------------------------------------------------------------------

/// A kubeconfig for the testbed that authenticates as a ServiceAccount, with a TokenRequest
/// token.
fn service_account_kubeconfig(sa: &str, ns: &str, dir: &Path) -> PathBuf {
    let token = kubectl(&["create", "token", sa, "-n", ns, "--duration", "1h"]);
    let mut config: Value = serde_json::from_str(&kubectl(&[
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

/// `goalert-provisioning run` with exactly the given environment (in particular, without
/// WATCH_NAMESPACE unless given); killed when dropped.
struct OperatorProcess {
    child: std::process::Child,
    metrics_port: u16,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl OperatorProcess {
    fn start(env: &[(&str, &str)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("operator.log");
        let metrics_port = e2e::free_port();
        let child = Command::new(e2e::operator_binary())
            .arg("run")
            .env_clear()
            .env("METRICS_BIND_ADDRESS", format!("127.0.0.1:{metrics_port}"))
            .env("RUST_LOG", "info")
            .env("NO_COLOR", "1")
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the operator");
        Self {
            child,
            metrics_port,
            log,
            _dir: dir,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct ExamplesCleanup(String, Vec<PathBuf>);

impl Drop for ExamplesCleanup {
    fn drop(&mut self) {
        for file in self.1.iter().rev() {
            let _ = output(
                command("kubectl")
                    .args([
                        "delete",
                        "--ignore-not-found",
                        "--wait",
                        "--timeout=60s",
                        "-n",
                        &self.0,
                    ])
                    .arg("-f")
                    .arg(file),
                None,
            );
        }
    }
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Installs the chart (webhooks off: no Pod can serve them here), then runs the operator binary
/// with only the chart's ServiceAccount's rights, and applies every example. All must become
/// Ready and be deleted again (finalizers) without a single refused request.
fn reconcile_examples_as_the_service_account(watch_namespace: bool) {
    let prefix = if watch_namespace { "gp-runw" } else { "gp-run" };
    let ns = unique(prefix);
    let team = unique(&format!("{prefix}-team"));
    namespace(&ns, true);
    namespace(&team, false);
    let release = ns.clone();
    let _cleanup = Cleanup(release.clone(), ns.clone());
    let watch = format!("watchNamespace={team}");
    let mut sets = vec![
        "goalert.url=https://goalert.example.com",
        "goalert.apiKey=unused-out-of-cluster",
        "webhook.enabled=false",
    ];
    if watch_namespace {
        sets.push(&watch);
    }
    install(&release, &ns, &sets);
    let sa = format!("{release}-goalert-provisioning");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = service_account_kubeconfig(&sa, &ns, dir.path());
    let whoami = ok(
        command("kubectl")
            .args(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
            .env("KUBECONFIG", &kubeconfig),
        None,
    );
    assert_eq!(whoami, format!("system:serviceaccount:{ns}:{sa}"));

    let key = ok(
        Command::new(e2e::operator_binary())
            .args([
                "create-api-key",
                "--goalert-url",
                &testbed().goalert_url,
                "--username",
                &testbed().admin_user,
            ])
            .args(["--name", &e2e::unique_name("chart rbac")])
            .env("GOALERT_PASSWORD", &testbed().admin_password),
        None,
    );
    let kubeconfig = kubeconfig.to_str().unwrap().to_owned();
    let mut env = vec![
        ("KUBECONFIG", kubeconfig.as_str()),
        ("GOALERT_URL", testbed().goalert_url.as_str()),
        ("GOALERT_API_KEY", key.trim()),
        ("POD_NAME", "operator-0"),
        ("POD_NAMESPACE", ns.as_str()),
        // The examples include a GoAlertAdmin and an Admin user: the team namespace is privileged.
        ("PRIVILEGED_NAMESPACES", team.as_str()),
    ];
    if watch_namespace {
        env.push(("WATCH_NAMESPACE", team.as_str()));
    }
    let operator = OperatorProcess::start(&env);

    let files = example_files();
    assert!(!files.is_empty());
    // Dropped before the operator, so it can still remove its finalizers (and the GoAlert
    // objects) when this test fails half-way: leftovers would claim GoAlert objects that the
    // next test binary's examples adopt.
    let _examples = ExamplesCleanup(team.clone(), files.clone());
    for file in &files {
        kubectl(&["apply", "-n", &team, "-f", file.to_str().unwrap()]);
    }
    for file in &files {
        let out = output(
            command("kubectl").args([
                "wait",
                "--for=condition=Ready",
                "--timeout=180s",
                "-n",
                &team,
                "-f",
                file.to_str().unwrap(),
            ]),
            None,
        );
        assert!(
            out.status.success(),
            "{} did not become Ready: {}\n{}\noperator log:\n{}",
            file.display(),
            String::from_utf8_lossy(&out.stderr),
            kubectl(&["get", "goalert", "-n", &team, "-o", "yaml"]),
            operator.logs()
        );
    }
    check_live_metric_names(&operator);
    for file in files.iter().rev() {
        kubectl(&[
            "delete",
            "-n",
            &team,
            "-f",
            file.to_str().unwrap(),
            "--wait",
            "--timeout=120s",
        ]);
    }
    let logs = operator.logs();
    assert!(
        !logs.to_lowercase().contains("forbidden"),
        "the operator was refused something:\n{logs}"
    );
    drop(operator);
}

/// Every operator metric family a live scrape shows (after the examples converged) is one the
/// rules and dashboard know; families of the contract not exported yet are listed.
fn check_live_metric_names(operator: &OperatorProcess) {
    let url = format!("http://127.0.0.1:{}/metrics", operator.metrics_port);
    let text = ok(Command::new("curl").args(["-fsS", &url]), None);
    let families: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    let known = exported_series();
    let known_family = |f: &str| {
        known.contains(f)
            || ["_bucket", "_sum", "_count"]
                .iter()
                .any(|s| known.contains(&format!("{f}{s}")))
    };
    for family in &families {
        if family.starts_with("controller_runtime_")
            || family.starts_with("goalert_provisioning_")
            || family.starts_with("process_")
        {
            assert!(
                known_family(family),
                "the operator exports {family}, which the rules and dashboard do not know"
            );
        }
    }
    let missing: Vec<_> = known
        .iter()
        .map(|s| {
            s.trim_end_matches("_bucket")
                .trim_end_matches("_sum")
                .trim_end_matches("_count")
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .filter(|f| !families.contains(*f))
        .collect();
    eprintln!("metric families of the contract not in the live scrape yet: {missing:?}");
    for family in [
        "controller_runtime_reconcile_total",
        "goalert_provisioning_managed_resources",
        "process_resident_memory_bytes",
    ] {
        assert!(
            families.contains(family),
            "{family} missing from the live scrape:\n{text}"
        );
    }
}

#[test]
fn operator_reconciles_the_examples_as_the_charts_service_account() {
    // No webhook configuration of another test may be installed meanwhile.
    let _exclusive = WEBHOOKS.write().unwrap_or_else(|e| e.into_inner());
    reconcile_examples_as_the_service_account(false);
    reconcile_examples_as_the_service_account(true);
}

// ---------------------------------------------------------------------------------------------
// examples/observability: alert rules (promtool), PrometheusRule, dashboard
// ---------------------------------------------------------------------------------------------

fn observability(file: &str) -> PathBuf {
    repo().join("examples/observability").join(file)
}

#[test]
fn alert_rules_pass_promtool_and_match_the_prometheus_rule() {
    let dir = repo().join("examples/observability");
    let check = ok(
        Command::new(tool("promtool"))
            .args(["check", "rules", "alerts.rules.yaml"])
            .current_dir(&dir),
        None,
    );
    assert!(check.contains("SUCCESS: 6 rules found"), "{check}");
    let tests = ok(
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
    let ns = unique("gp-rules");
    namespace(&ns, false);
    kubectl(&[
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
fn exported_series() -> BTreeSet<String> {
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
        &std::fs::read_to_string(repo().join("e2e/tests/chart_fixtures/argocd-health.json")).unwrap(),
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

// ---------------------------------------------------------------------------------------------
// The container image: the Dockerfile's static build, without a Docker engine
// ---------------------------------------------------------------------------------------------

/// The cargo invocation and flags of the Dockerfile's build stage.
const DOCKER_RUSTFLAGS: &str = "-C target-feature=+crt-static";
const DOCKER_CARGO_ARGS: [&str; 7] = [
    "build",
    "--release",
    "--locked",
    "--bin",
    "goalert-provisioning",
    "--bin",
    "gctl",
];

/// Docker's .dockerignore rules, as far as this project's file uses them: patterns anchored at
/// the context root, `*` within one path element, `!` re-includes, the last match wins.
fn docker_ignored(rules: &[(bool, String)], path: &str) -> bool {
    fn glob(pattern: &[u8], text: &[u8]) -> bool {
        match (pattern.first(), text.first()) {
            (None, None) => true,
            (Some(b'*'), _) => {
                glob(&pattern[1..], text)
                    || (!text.is_empty() && text[0] != b'/' && glob(pattern, &text[1..]))
            }
            (Some(b'?'), Some(t)) if *t != b'/' => glob(&pattern[1..], &text[1..]),
            (Some(p), Some(t)) if p == t => glob(&pattern[1..], &text[1..]),
            _ => false,
        }
    }
    let mut ignored = false;
    for (negated, pattern) in rules {
        let pattern = pattern.trim_end_matches('/');
        // A pattern matches the path or any directory above it.
        let mut prefix = String::new();
        let mut matched = false;
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            if glob(pattern.as_bytes(), prefix.as_bytes()) {
                matched = true;
            }
        }
        if matched {
            ignored = !negated;
        }
    }
    ignored
}

fn copy_build_context(from: &Path, to: &Path, rules: &[(bool, String)], relative: &str) {
    for entry in std::fs::read_dir(from.join(relative)).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        let path = if relative.is_empty() {
            name
        } else {
            format!("{relative}/{name}")
        };
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            // Descend even into ignored directories: a later `!` rule may bring files back.
            copy_build_context(from, to, rules, &path);
        } else if kind.is_file() && !docker_ignored(rules, &path) {
            let target = to.join(&path);
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[test]
fn dockerignore_rules_behave_like_dockers() {
    let rules = vec![
        (false, "target/".to_owned()),
        (false, "*.md".to_owned()),
        (true, "README.md".to_owned()),
    ];
    assert!(docker_ignored(&rules, "target/debug/x"));
    assert!(docker_ignored(&rules, "NOTES.md"));
    assert!(!docker_ignored(&rules, "README.md"));
    assert!(
        !docker_ignored(&rules, "docs/gitops.md"),
        "patterns are anchored at the root"
    );
    assert!(!docker_ignored(&rules, "src/main.rs"));
}

#[test]
fn static_binaries_match_the_dockerfile() {
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    // The paths and flags this test reproduces are the Dockerfile's.
    for needle in [
        format!("ENV RUSTFLAGS=\"{DOCKER_RUSTFLAGS}\""),
        "target=\"$(uname -m)-unknown-linux-gnu\"".to_owned(),
        "cargo build --release --locked --target \"$target\" --bin goalert-provisioning --bin gctl"
            .to_owned(),
        "cp \"target/$target/release/goalert-provisioning\" \"target/$target/release/gctl\" /out/".to_owned(),
        "FROM gcr.io/distroless/static-debian12:nonroot".to_owned(),
        "COPY --from=build /out/goalert-provisioning /goalert-provisioning".to_owned(),
        "COPY --from=build /out/gctl /gctl".to_owned(),
        "USER 65532:65532".to_owned(),
        "ENTRYPOINT [\"/goalert-provisioning\"]".to_owned(),
        "CMD [\"run\"]".to_owned(),
    ] {
        assert!(
            dockerfile.contains(&needle),
            "the Dockerfile no longer contains {needle}"
        );
    }
    let stages: Vec<_> = dockerfile.lines().filter(|l| l.starts_with("FROM ")).collect();
    assert_eq!(stages.len(), 2, "multi-stage: build, then the runtime image");
    // The chart runs the image's entrypoint with `run` and the same non-root user.
    let objects = render(
        "x",
        "ns",
        &["goalert.url=https://g.example.com", "goalert.apiKey=k"],
    );
    let pod = &one(&objects, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(pod["containers"][0]["args"], json!(["run"]));

    // Build the Dockerfile's binaries from the build context the Dockerfile sees (.dockerignore
    // applied), in a target directory of their own.
    let rules: Vec<(bool, String)> = std::fs::read_to_string(repo().join(".dockerignore"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.strip_prefix('!') {
            Some(rest) => (true, rest.to_owned()),
            None => (false, l.to_owned()),
        })
        .collect();
    let work = std::env::var("CARGO_TARGET_DIR")
        .map(|d| PathBuf::from(format!("{d}-static")))
        .unwrap_or_else(|_| repo().join("target/static"));
    let context = work.join("context");
    let _ = std::fs::remove_dir_all(&context);
    copy_build_context(repo(), &context, &rules, "");
    assert!(context.join("Cargo.lock").exists() && context.join("src/main.rs").exists());
    assert!(!context.join("target").exists() && !context.join(".git").exists());

    let triple = format!("{}-unknown-linux-gnu", std::env::consts::ARCH);
    let installed = ok(
        Command::new("rustup").args(["target", "list", "--installed"]),
        None,
    );
    assert!(
        installed.lines().any(|l| l.trim() == triple),
        "{triple} not installed: {installed}"
    );
    ok(
        Command::new("cargo")
            .args(DOCKER_CARGO_ARGS)
            .args(["--target", &triple])
            .env("RUSTFLAGS", DOCKER_RUSTFLAGS)
            .env("CARGO_TARGET_DIR", work.join("target"))
            .current_dir(&context),
        None,
    );
    let release = work.join("target").join(&triple).join("release");
    let root = tempfile::tempdir().unwrap();
    for binary in ["goalert-provisioning", "gctl"] {
        let path = release.join(binary);
        let file = ok(Command::new("file").arg(&path), None);
        assert!(
            file.contains("statically linked") || file.contains("static-pie linked"),
            "{file}"
        );
        let ldd = output(Command::new("ldd").arg(&path), None);
        let ldd = format!(
            "{}{}",
            String::from_utf8_lossy(&ldd.stdout),
            String::from_utf8_lossy(&ldd.stderr)
        );
        assert!(
            ldd.contains("not a dynamic executable") || ldd.contains("statically linked"),
            "{ldd}"
        );
        std::fs::copy(&path, root.path().join(binary)).unwrap();
    }

    // Run them as the image would: in a root file system holding only them, what distroless
    // static adds (passwd, CA certificates, /tmp) and what Kubernetes mounts (/etc/hosts),
    // as user 65532. Needs root for chroot.
    let is_root = ok(Command::new("id").arg("-u"), None).trim() == "0";
    if !is_root {
        eprintln!("not root: skipping the run in an empty root file system");
        return;
    }
    let r = root.path();
    std::fs::create_dir_all(r.join("etc/ssl/certs")).unwrap();
    std::fs::create_dir_all(r.join("tmp")).unwrap();
    // tempdir makes 0700 directories; the image's root is world-readable, /tmp world-writable.
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(r.join("tmp"), std::fs::Permissions::from_mode(0o1777)).unwrap();
    std::fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
    )
    .unwrap();
    std::fs::write(
        r.join("etc/hosts"),
        "127.0.0.1 localhost goalert.testbed.internal\n",
    )
    .unwrap();
    if Path::new("/etc/ssl/certs/ca-certificates.crt").exists() {
        std::fs::copy(
            "/etc/ssl/certs/ca-certificates.crt",
            r.join("etc/ssl/certs/ca-certificates.crt"),
        )
        .unwrap();
    }
    let chroot_binary = ["/usr/sbin/chroot", "/usr/bin/chroot"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chroot (coreutils)");
    let chroot = |args: &[&str]| {
        let mut command = Command::new(chroot_binary);
        command
            .arg("--userspec=65532:65532")
            .arg(r)
            .args(args)
            .env_clear();
        command
    };
    let document = ok(
        &mut chroot(&["/goalert-provisioning", "print-api-key-query"]),
        None,
    );
    let expected = ok(
        Command::new(e2e::operator_binary()).arg("print-api-key-query"),
        None,
    );
    assert_eq!(document, expected);
    ok(&mut chroot(&["/gctl", "--version"]), None);
    // An HTTP round trip to the testbed's GoAlert: minting an API key.
    let mint = |url: &str| {
        output(
            chroot(&[
                "/goalert-provisioning",
                "create-api-key",
                "--goalert-url",
                url,
                "--name",
            ])
            .arg(e2e::unique_name("static build"))
            .args(["--username", &testbed().admin_user])
            .env("GOALERT_PASSWORD", &testbed().admin_password),
            None,
        )
    };
    let minted = mint(&testbed().goalert_url);
    let key = String::from_utf8_lossy(&minted.stdout);
    assert!(
        minted.status.success() && key.trim().len() > 20,
        "no key minted: {key} {}",
        String::from_utf8_lossy(&minted.stderr)
    );
    // A host name resolved through /etc/hosts without glibc's shared NSS modules: GoAlert answers
    // (it refuses a login whose host is not its public URL's, which proves the request arrived);
    // an unknown name fails to resolve.
    let by_name = mint(
        &testbed()
            .goalert_url
            .replace("127.0.0.1", "goalert.testbed.internal"),
    );
    let stderr = String::from_utf8_lossy(&by_name.stderr);
    assert!(stderr.contains("GoAlert answered HTTP"), "{stderr}");
    let unknown = mint(&testbed().goalert_url.replace("127.0.0.1", "no-such-host.invalid"));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        !unknown.status.success() && !stderr.contains("GoAlert answered HTTP"),
        "{stderr}"
    );
}
