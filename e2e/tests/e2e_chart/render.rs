//! The chart as `helm lint` and `helm template` see it: clean lint, clear errors for missing
//! values, the values schema, and the rendering contract with the operator (its environment,
//! webhook configurations, PodDisruptionBudget, cert-manager mode).

use std::collections::BTreeSet;

use e2e::{
    chart::{CHART, chart_crd_files, env_of, find, helm, helm_command, one, render},
    plurals, run_fails, unique_dns_name,
};
use serde_json::{Value, json};

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
    let ns = unique_dns_name("gp-nourl");
    let stderr = run_fails(
        helm_command().args([
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
    let stderr = run_fails(
        helm_command().args([
            "template",
            "x",
            CHART,
            "--set",
            "goalert.url=https://g.example.com",
        ]),
        None,
    );
    assert!(stderr.contains("goalert.apiKey is required"), "{stderr}");
    let stderr = run_fails(
        helm_command().args([
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
        let stderr = run_fails(helm_command().args(&args), None);
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
        assert_eq!(rules[0]["resources"], json!(plurals()));
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
        assert_eq!(plurals, e2e::plurals().into_iter().collect());
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
