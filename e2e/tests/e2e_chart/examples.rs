//! The operator, run out of cluster as the chart's ServiceAccount (with every namespace and with
//! a watch namespace), reconciles the examples; its live metrics are the ones the rules and the
//! dashboard know.

use std::{collections::BTreeSet, path::PathBuf, process::Command};

use e2e::{
    Operator,
    chart::{Cleanup, install, no_webhooks_installed, restricted_namespace, service_account_kubeconfig},
    kubectl_command, kubectl_ok, namespace, operator_binary, repo_root, run, run_ok, testbed, unique_name,
};

use crate::observability::exported_series;

struct ExamplesCleanup(String, Vec<PathBuf>);

impl Drop for ExamplesCleanup {
    fn drop(&mut self) {
        for file in self.1.iter().rev() {
            let _ = run(
                kubectl_command()
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
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join("examples"))
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
async fn reconcile_examples_as_the_service_account(watch_namespace: bool) {
    let prefix = if watch_namespace { "gp-runw" } else { "gp-run" };
    let ns = restricted_namespace(prefix).await;
    let team = namespace(&format!("{prefix}-team")).await;
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
    let whoami = run_ok(
        kubectl_command()
            .args(["auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"])
            .env("KUBECONFIG", &kubeconfig),
        None,
    );
    assert_eq!(whoami, format!("system:serviceaccount:{ns}:{sa}"));

    let key = run_ok(
        Command::new(operator_binary())
            .args([
                "create-api-key",
                "--goalert-url",
                &testbed().goalert_url,
                "--username",
                &testbed().admin_user,
            ])
            .args(["--name", &unique_name("chart rbac")])
            .env("GOALERT_PASSWORD", &testbed().admin_password),
        None,
    );
    let mut operator = Operator::builder()
        .kubeconfig(&kubeconfig)
        // Leader election as the chart runs it, with the chart's rights on its Lease.
        .without("LEADER_ELECTION")
        .envs(&[
            ("GOALERT_URL", testbed().goalert_url.as_str()),
            ("GOALERT_API_KEY", key.trim()),
            ("POD_NAME", "operator-0"),
            ("POD_NAMESPACE", ns.as_str()),
            ("NO_COLOR", "1"),
        ])
        // The examples include a GoAlertAdmin and an Admin user: the team namespace is privileged.
        .env("PRIVILEGED_NAMESPACES", &team);
    if watch_namespace {
        operator = operator.watch_namespace(&team);
    }
    let operator = operator.start();

    let files = example_files();
    assert!(!files.is_empty());
    // Dropped before the operator, so it can still remove its finalizers (and the GoAlert
    // objects) when this test fails half-way: leftovers would claim GoAlert objects that the
    // next test binary's examples adopt.
    let _examples = ExamplesCleanup(team.clone(), files.clone());
    for file in &files {
        kubectl_ok(&["apply", "-n", &team, "-f", file.to_str().unwrap()]);
    }
    for file in &files {
        let out = run(
            kubectl_command().args([
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
            kubectl_ok(&["get", "goalert", "-n", &team, "-o", "yaml"]),
            operator.logs()
        );
    }
    check_live_metric_names(&operator).await;
    for file in files.iter().rev() {
        kubectl_ok(&[
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
async fn check_live_metric_names(operator: &Operator) {
    let (status, text) = operator.get("/metrics").await;
    assert_eq!(status, 200, "scraping /metrics: {text}");
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

#[tokio::test]
async fn operator_reconciles_the_examples_as_the_charts_service_account() {
    // No webhook configuration of another test may be installed meanwhile.
    let _exclusive = no_webhooks_installed().await;
    reconcile_examples_as_the_service_account(false).await;
    reconcile_examples_as_the_service_account(true).await;
}
