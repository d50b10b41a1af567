//! The admission webhooks end to end: the real kube-apiserver calls the operator (out of
//! cluster, on 127.0.0.1 over TLS, with the caBundle the operator injected) for every write.
//! Each test registers its own webhook configurations, limited to its own namespace
//! ([`webhooks::serve`]), so tests run side by side and never affect other test binaries.
#![cfg(feature = "e2e")]

use std::{
    path::Path,
    time::{Duration, Instant},
};

use e2e::{
    free_port, kube_client, kubectl, remove_goalert_objects,
    webhooks::{self, apply_file, start},
};
use goalert_provisioning::api::{GoAlertEscalationPolicy, GoAlertRotation, GoAlertService, GoAlertUser};
use kube::{
    Api,
    api::{PostParams, ResourceExt},
};
use serde_json::json;

const EXAMPLES_IN_ORDER: [&str; 6] = [
    "users.yaml",
    "rotation.yaml",
    "schedule.yaml",
    "escalation-policy.yaml",
    "services.yaml",
    "my-app-alerts.yaml",
];

fn repo(path: &str) -> String {
    format!("{}/{path}", e2e::repo_root().display())
}

/// `# expect: <text>` from a bad manifest's first line.
fn expected_message(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .next()
        .and_then(|l| l.strip_prefix("# expect: "))
        .unwrap_or_else(|| panic!("{}: first line must be `# expect: <message>`", path.display()))
        .to_owned()
}

#[tokio::test]
async fn bad_manifests_are_refused_with_their_message_and_defaults_are_filled() {
    // GoAlert serves one request at a time per API key, and the controllers reconciling the
    // examples share the key: on this 2-core testbed a lookup can queue past the default 2 s
    // (it would then be a warning, not a denial). 4 s still fits the 5 s webhook timeout.
    let webhooks = start("wh-rules", None, &[("WEBHOOK_LOOKUP_TIMEOUT", "4s")]).await;
    let ns = webhooks.scene.namespace.clone();

    // Every bad manifest: refused at once with its message, applied for real and then with
    // --dry-run=server (conflict files hold two objects: the first is created by the real apply,
    // so the dry run meets it too).
    let mut files: Vec<_> = std::fs::read_dir(repo("e2e/bad-manifests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "one bad manifest per rule");
    let mut failures = Vec::new();
    for dry_run in [false, true] {
        for file in &files {
            let expected = expected_message(file);
            let started = Instant::now();
            let (ok, _, stderr) = apply_file(&ns, file.to_str().unwrap(), dry_run);
            let took = started.elapsed();
            if ok || !stderr.contains(&expected) {
                failures.push(format!(
                    "{} (dry-run {dry_run}): ok={ok}, expected {expected:?}, got:\n{stderr}",
                    file.display()
                ));
            }
            assert!(
                took < Duration::from_secs(10),
                "{}: took {took:?}",
                file.display()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    // The examples, dependencies first, then the whole folder again: admitted, and kubectl diff
    // (which runs the webhooks again on the server's dry run) shows nothing.
    for file in EXAMPLES_IN_ORDER {
        let (ok, _, stderr) = apply_file(&ns, &repo(&format!("examples/{file}")), false);
        assert!(ok, "{file}: {stderr}");
    }
    let (ok, _, stderr) = kubectl(&["apply", "-n", &ns, "-f", &repo("examples")], None);
    assert!(ok, "{stderr}");
    let (ok, diff, stderr) = kubectl(&["diff", "-n", &ns, "-f", &repo("examples")], None);
    assert!(
        ok && diff.is_empty(),
        "kubectl diff is not empty:\n{diff}\n{stderr}"
    );

    // Defaults were filled on the stored objects.
    let client = kube_client().await;
    let bob = Api::<GoAlertUser>::namespaced(client.clone(), &ns)
        .get("bob")
        .await
        .unwrap();
    assert_eq!(bob.spec.username.as_deref(), Some("bob"));
    assert!(bob.spec.role.is_some());
    // No deletion policy default: it depends on whether the GoAlert object is adopted.
    assert_eq!(bob.spec.management.deletion_policy, None);
    let rotation = Api::<GoAlertRotation>::namespaced(client.clone(), &ns)
        .get("primary")
        .await
        .unwrap();
    assert_eq!(rotation.spec.shift_length, Some(1));
    let policy = Api::<GoAlertEscalationPolicy>::namespaced(client.clone(), &ns)
        .get("production-oncall")
        .await
        .unwrap();
    assert_eq!(policy.spec.repeat, Some(2), "set in the example, kept");
    let service = Api::<GoAlertService>::namespaced(client.clone(), &ns)
        .get("my-app-alerts")
        .await
        .unwrap();
    let stored = serde_json::to_value(&service.spec).unwrap();
    assert_eq!(stored["integrationKeys"][0]["type"], "Generic");

    // Deleting an object others still reference: allowed, with a warning.
    let (ok, _, stderr) = kubectl(
        &[
            "delete",
            "-n",
            &ns,
            "goalertrotation",
            "primary",
            "--dry-run=server",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(
        stderr.contains("Warning")
            && stderr.contains("still referenced by GoAlertSchedule \"follow-the-sun\""),
        "{stderr}"
    );

    // Review latency over real reviews: server-side dry-run creates through the API server.
    let rotations = Api::<GoAlertRotation>::namespaced(client.clone(), &ns);
    let mut latencies = Vec::new();
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    for i in 0..200 {
        let mut object = rotation.clone();
        object.metadata = kube::api::ObjectMeta {
            name: Some(format!("latency-{i}")),
            ..Default::default()
        };
        object.spec.rotation_name = Some(format!("Latency {i}"));
        let started = Instant::now();
        rotations.create(&dry_run, &object).await.unwrap();
        latencies.push(started.elapsed());
    }
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)];
    println!(
        "webhook review latency over {} dry-run creates through kube-apiserver (mutate + validate, 3 participant references): p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        p(0.50),
        p(0.99),
        latencies.last().unwrap()
    );
    let (_, metrics) = webhooks.scene.operator.get("/metrics").await;
    assert!(metrics.contains("goalert_provisioning_webhook_review_duration_seconds_bucket"));
    assert!(metrics.contains(
        "goalert_provisioning_webhook_rejections_total{kind=\"GoAlertRotation\",webhook=\"validate\"}"
    ));
    assert!(metrics.contains("goalert_provisioning_webhook_certificate_expiry_timestamp_seconds"));
    let _ = rotation.name_any();

    remove_goalert_objects(&ns);
}

/// A folder in one pass, as Flux applies it (server-side apply, files in alphabetical order, so
/// services and policies arrive before what they reference). With the webhooks on (the chart's
/// defaults) every object is admitted, all become Ready, and a server-side diff afterwards is
/// empty: the mutating webhook's defaults cause no perpetual difference. A GoAlert of the test's
/// own, so no other test's examples claim the same GoAlert objects.
#[tokio::test]
async fn the_examples_apply_in_one_pass_into_an_empty_namespace() {
    let goalert = e2e::FreshGoAlert::start().await;
    let webhooks = webhooks::serve_for("wh-one-pass", &goalert).await;
    let ns = &webhooks.scene.namespace;
    let (ok, _, stderr) = kubectl(
        &["apply", "--server-side", "-n", ns, "-f", &repo("examples")],
        None,
    );
    assert!(ok, "one pass is admitted: {stderr}");
    assert!(
        stderr.contains("Warning") && stderr.contains("the operator waits for it (DependencyNotReady)"),
        "a reference to an object not created yet is a warning: {stderr}"
    );
    let (ok, _, stderr) = kubectl(
        &[
            "wait",
            "-n",
            ns,
            "--for",
            "condition=Ready",
            "--timeout",
            "180s",
            "goalert",
            "--all",
        ],
        None,
    );
    assert!(
        ok,
        "every example Ready: {stderr}\n{}",
        webhooks.scene.operator.logs()
    );
    let (ok, diff, stderr) = kubectl(
        &["diff", "--server-side", "-n", ns, "-f", &repo("examples")],
        None,
    );
    assert!(
        ok && diff.is_empty(),
        "no difference after the apply:\n{diff}\n{stderr}"
    );
    remove_goalert_objects(ns);
}

#[tokio::test]
async fn with_goalert_unreachable_valid_objects_are_admitted_with_a_warning() {
    let closed = format!("http://127.0.0.1:{}", free_port());
    let webhooks = start("wh-down", Some(&closed), &[]).await;
    let rotation = r#"
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertRotation
metadata:
  name: outage
spec:
  timeZone: Etc/UTC
  type: Daily
  start: "2026-01-05T09:00:00Z"
  participants:
    - email: someone@example.com
"#;
    let started = Instant::now();
    let (ok, stdout, stderr) = kubectl(
        &["apply", "-n", &webhooks.scene.namespace, "-f", "-"],
        Some(rotation),
    );
    let took = started.elapsed();
    assert!(ok, "{stderr}");
    assert!(stdout.contains("created"), "{stdout}");
    assert!(
        stderr.contains("Warning")
            && stderr.contains("could not check that user \"someone@example.com\" exists in GoAlert"),
        "{stderr}"
    );
    assert!(took < Duration::from_secs(5), "answered in {took:?}");
    // Rules that need no GoAlert still refuse.
    let (ok, _, stderr) = apply_file(
        &webhooks.scene.namespace,
        &repo("e2e/bad-manifests/rotation-unknown-time-zone.yaml"),
        false,
    );
    assert!(!ok && stderr.contains("spec.timeZone"), "{stderr}");
}

#[tokio::test]
async fn a_certificate_rotated_while_reviews_run_fails_no_review() {
    let webhooks = start(
        "wh-rotate",
        None,
        &[
            ("WEBHOOK_CERT_VALIDITY", "20s"),
            ("WEBHOOK_CERT_RENEW_BEFORE", "15s"),
        ],
    )
    .await;
    let client = kube_client().await;
    let users = Api::<GoAlertUser>::namespaced(client, &webhooks.scene.namespace);
    let user: GoAlertUser = serde_json::from_value(json!({
        "apiVersion": "goalert.heystaq.com/v1alpha1",
        "kind": "GoAlertUser",
        "metadata": { "name": "rotating" },
        "spec": { "email": "rotating@example.com" },
    }))
    .unwrap();
    let dry_run = PostParams {
        dry_run: true,
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(25);
    let mut reviews = 0;
    while Instant::now() < deadline {
        let created = users.create(&dry_run, &user).await;
        let created = created.unwrap_or_else(|e| panic!("review {reviews} failed: {e}"));
        assert_eq!(created.spec.username.as_deref(), Some("rotating"), "mutated");
        reviews += 1;
    }
    let renewals = webhooks
        .scene
        .operator
        .logs()
        .matches("serving certificate renewed")
        .count();
    println!("{reviews} reviews, {renewals} certificate renewals, none failed");
    assert!(
        renewals >= 3,
        "expected several renewals:\n{}",
        webhooks.scene.operator.logs()
    );
}
