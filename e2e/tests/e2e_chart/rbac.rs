//! RBAC: least privilege, proven with the API server's authorizer (`kubectl auth can-i` and real
//! requests as the chart's ServiceAccount), for every namespace and for a watch namespace.

use std::time::Duration;

use e2e::{
    chart::{Cleanup, can_i, install, restricted_namespace, uninstall, webhooks_installed},
    eventually, kubectl_command, kubectl_ok, namespace, plurals, run_fails, unique_dns_name,
};

#[tokio::test]
async fn rbac_allows_what_the_operator_needs_and_nothing_else() {
    let ns = restricted_namespace("gp-rbac").await;
    let _webhooks = webhooks_installed().await;
    let release = unique_dns_name("gp-rbac");
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

    let kinds = plurals();
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
        vec!["list", "configmaps", "-n", &ns],
        vec!["watch", "configmaps", "-n", &ns],
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
    eventually("the binding is active", Duration::from_secs(10), || async {
        if can_i(&sa, &["list", "goalertusers", "-A"]) {
            Ok(())
        } else {
            Err("binding not active yet".to_owned())
        }
    })
    .await;
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
    let team = namespace("gp-rbac-team").await;
    kubectl_ok(&[
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
    let stderr = run_fails(
        kubectl_command().args(["get", "configmaps", "-n", &team, "--as", &sa]),
        None,
    );
    assert!(
        stderr.contains("Forbidden") || stderr.contains("forbidden"),
        "{stderr}"
    );
    let stderr = run_fails(
        kubectl_command().args(["delete", "namespace", &team, "--as", &sa, "--dry-run=server"]),
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

#[tokio::test]
async fn rbac_with_a_watch_namespace_writes_only_there() {
    let ns = namespace("gp-rbacw").await;
    let team = namespace("gp-rbacw-team").await;
    let other = namespace("gp-rbacw-other").await;
    let _webhooks = webhooks_installed().await;
    let release = unique_dns_name("gp-rbacw");
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
    eventually("the binding is active", Duration::from_secs(10), || async {
        if can_i(&sa, &["create", "secrets", "-n", &team]) {
            Ok(())
        } else {
            Err("not yet".to_owned())
        }
    })
    .await;
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
    let selector = kubectl_ok(&[
        "get",
        "validatingwebhookconfiguration",
        &fullname,
        "-o",
        "jsonpath={.webhooks[0].namespaceSelector.matchLabels}",
    ]);
    assert!(selector.contains(&team), "{selector}");
}
