//! The tenancy model (docs/security.md) against the real apiserver (with RBAC) and GoAlert.
//!
//! A namespace user, the ServiceAccount `tenant` with `edit` rights (and every goalert.heystaq.com
//! right, `*/status` included) in its own namespace only, acts through impersonation
//! (`kubectl --as`). It tries each attack of issue #15 and gets a field error at admission, or,
//! with the webhooks off, reason Forbidden on the resource; GoAlert and the Secrets are checked
//! unchanged afterwards. The platform namespace (the operator's own) can still do each of these
//! things. One operator instance serves each namespace here, both keeping their claims in the
//! platform namespace, as one operator watching both would.
#![cfg(feature = "e2e")]

use std::time::Duration;

use e2e::{
    Operator, eventually, kubectl, namespace, remove_goalert_objects,
    scene::{CONVERGE, Scene, secret_value, unique_email},
    testbed, unique_name,
    webhooks::Webhooks,
};
use goalert_client::{
    OPERATOR_DOCUMENT,
    model::{NewEscalationPolicy, NewService, NewUser, TargetType, UserRole},
    secret::Secret as SecretString,
};
use goalert_provisioning::api::{GoAlertAdmin, GoAlertEscalationPolicy, GoAlertService, GoAlertUser};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, api::DeleteParams};
use serde_json::json;

const TENANT: &str = "tenant";

/// `kubectl` as the tenant's ServiceAccount.
fn as_tenant(namespace: &str, args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let user = format!("system:serviceaccount:{namespace}:{TENANT}");
    let mut all = args.to_vec();
    all.extend(["-n", namespace, "--as", &user]);
    kubectl(&all, stdin)
}

fn tenant_applies(namespace: &str, yaml: &str) -> (bool, String) {
    let (ok, _, stderr) = as_tenant(namespace, &["apply", "-f", "-"], Some(yaml));
    (ok, stderr)
}

/// A namespace whose user is the ServiceAccount `tenant`: `edit` there, plus every right on the
/// six kinds and their status (the most a platform team would hand out), nothing elsewhere.
async fn tenant_namespace(prefix: &str) -> String {
    let ns = namespace(prefix).await;
    let rbac = format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: {TENANT}, namespace: {ns}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: goalert-tenant, namespace: {ns}}}
rules:
- apiGroups: [goalert.heystaq.com]
  resources: ["*", "*/status"]
  verbs: ["*"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: goalert-tenant, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: goalert-tenant}}
subjects: [{{kind: ServiceAccount, name: {TENANT}, namespace: {ns}}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: edit, namespace: {ns}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: edit}}
subjects: [{{kind: ServiceAccount, name: {TENANT}, namespace: {ns}}}]
"#
    );
    let (ok, _, stderr) = kubectl(&["apply", "-f", "-"], Some(&rbac));
    assert!(ok, "{stderr}");
    eventually(
        "the tenant's rights are active",
        Duration::from_secs(10),
        || async {
            let (_, answer, _) = as_tenant(&ns, &["auth", "can-i", "patch", "goalertservices/status"], None);
            if answer.trim() == "yes" {
                Ok(())
            } else {
                Err(answer)
            }
        },
    )
    .await;
    ns
}

/// The environment of an operator keeping its claims in `platform`, the only privileged namespace.
async fn operator_env(platform: &str) -> Vec<(String, String)> {
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    [
        ("GOALERT_URL", testbed().goalert_url.as_str()),
        ("GOALERT_API_KEY", key.as_str()),
        ("RESYNC_PERIOD", "3s"),
        ("POD_NAMESPACE", platform),
        ("PRIVILEGED_NAMESPACES", platform),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

fn borrowed(env: &[(String, String)]) -> Vec<(&str, &str)> {
    env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

/// An operator without webhooks serving `namespace`, claims in `platform`.
async fn scene_in(namespace: String, platform: &str) -> Scene {
    let env = operator_env(platform).await;
    Scene {
        operator: Operator::start(&namespace, &borrowed(&env)),
        namespace,
        kube: e2e::kube_client().await,
        goalert: testbed().admin(),
    }
}

fn policy_yaml(name: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: {name}\nspec:\n  escalationPolicyName: {}\n",
        unique_name("Tenancy Policy")
    )
}

fn service_yaml(name: &str, service_name: &str, extra: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertService\nmetadata:\n  name: {name}\nspec:\n  serviceName: {service_name}\n  escalationPolicyRef: {{name: policy}}\n{extra}"
    )
}

fn user_yaml(name: &str, email: &str, extra: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertUser\nmetadata:\n  name: {name}\nspec:\n  email: {email}\n{extra}"
    )
}

/// The tenants aim at Feedback.OverrideURL (a link every GoAlert user follows); the platform test
/// sets another setting, so tests running side by side never see each other's value.
fn admin_yaml(name: &str, setting: &str, value: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertAdmin\nmetadata:\n  name: {name}\nspec:\n  config:\n  - id: {setting}\n    value: {value}\n"
    )
}

async fn config_value(id: &str) -> String {
    let all = testbed().admin().config().await.unwrap();
    all.iter()
        .find(|c| c.id == id)
        .map(|c| c.value.expose().to_owned())
        .unwrap_or_default()
}

/// A person's GoAlert account, made by hand (as SSO login would).
async fn hand_made_user(prefix: &str, role: UserRole) -> (String, String) {
    let email = unique_email(prefix);
    let local = email.split('@').next().unwrap();
    let id = testbed()
        .admin()
        .create_user(NewUser {
            username: local[local.len().saturating_sub(24)..].to_owned(),
            password: SecretString::new("made-by-hand-1234"),
            name: "Hand Made".into(),
            email: email.clone(),
            role,
        })
        .await
        .unwrap()
        .id;
    (email, id)
}

/// Another team's service made by hand, with an integration key: (name, id, policy id).
async fn hand_made_service(prefix: &str) -> (String, String, String) {
    let goalert = testbed().admin();
    let policy = goalert
        .create_escalation_policy(&NewEscalationPolicy {
            name: unique_name(&format!("{prefix} Policy")),
            repeat: 1,
            ..NewEscalationPolicy::default()
        })
        .await
        .unwrap()
        .id;
    let name = unique_name(&format!("{prefix} Service"));
    let id = goalert
        .create_service(&NewService {
            name: name.clone(),
            description: "made by hand".into(),
            escalation_policy_id: policy.clone(),
            ..NewService::default()
        })
        .await
        .unwrap()
        .id;
    goalert
        .create_integration_key(&id, "theirs", goalert_client::model::IntegrationKeyType::Generic)
        .await
        .unwrap();
    (name, id, policy)
}

async fn secret(scene: &Scene, name: &str) -> Option<Secret> {
    scene.api::<Secret>().get_opt(name).await.unwrap()
}

/// Every place a Secret value must never reach: the operator's log, the namespace's Events and
/// the resources' status, and the metrics.
async fn assert_nowhere(scene: &Scene, values: &[&str]) {
    let (_, events, _) = kubectl(&["get", "events", "-n", &scene.namespace, "-o", "yaml"], None);
    let (_, statuses, _) = kubectl(&["get", "goalert", "-n", &scene.namespace, "-o", "yaml"], None);
    let (_, metrics) = scene.operator.get("/metrics").await;
    let logs = scene.operator.logs();
    for value in values {
        assert!(!value.is_empty());
        for (place, text) in [
            ("log", &logs),
            ("events", &events),
            ("status", &statuses),
            ("metrics", &metrics),
        ] {
            assert!(!text.contains(value), "a Secret value is in the {place}");
        }
    }
}

#[tokio::test]
async fn a_tenant_gets_a_field_error_for_each_privileged_request() {
    let platform = namespace("ten-platform").await;
    let tenant = tenant_namespace("ten-adm").await;
    let env = operator_env(&platform).await;
    let webhooks = Webhooks::start_in(tenant.clone(), None, &borrowed(&env)).await;
    let (person, person_id) = hand_made_user("ten-adm-person", UserRole::Admin).await;
    let feedback = config_value("Feedback.OverrideURL").await;
    let email = unique_email("ten-adm-admin");

    let attacks = [
        (user_yaml("admin", &email, "  role: Admin\n"), "spec.role"),
        (
            user_yaml(
                "sso",
                &email,
                "  authSubjects:\n  - {providerId: oidc, subjectId: someone-else}\n",
            ),
            "spec.authSubjects",
        ),
        (
            admin_yaml("config", "Feedback.OverrideURL", "https://evil.example.com"),
            "metadata.namespace",
        ),
        (
            service_yaml("adopt", &unique_name("Adopt"), "  adoption: Adopt\n"),
            "spec.adoption",
        ),
        (
            service_yaml(
                "by-id",
                &unique_name("By Id"),
                &format!("  goalertId: {person_id}\n"),
            ),
            "spec.goalertId",
        ),
        (
            user_yaml("person", &person, &format!("  goalertId: {person_id}\n")),
            "spec.goalertId",
        ),
    ];
    for (yaml, field) in &attacks {
        let (ok, stderr) = tenant_applies(&tenant, yaml);
        assert!(!ok, "admitted: {yaml}");
        assert!(
            stderr.contains(&format!("{field}: ")) && stderr.contains("allowed only in"),
            "{field}: {stderr}"
        );
    }
    // The same request, but legitimate, is admitted (and reconciled) in the tenant's namespace.
    let (ok, stderr) = tenant_applies(&tenant, &user_yaml("plain", &email, "  role: User\n"));
    assert!(ok, "{stderr}");

    // GoAlert is unchanged: the person keeps their account and role, the setting its value.
    let after = testbed().admin().user(&person_id).await.unwrap().unwrap();
    assert_eq!((after.name.as_str(), after.role), ("Hand Made", UserRole::Admin));
    assert_eq!(config_value("Feedback.OverrideURL").await, feedback);
    let admins: Api<GoAlertAdmin> = Api::namespaced(e2e::kube_client().await, &tenant);
    assert!(admins.get_opt("config").await.unwrap().is_none());

    // The webhook port serves only reviews of its six kinds; anything else is refused cheaply and
    // leaves no new metric label.
    let client = reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .build()
        .unwrap();
    let url = format!("https://127.0.0.1:{}/validate", webhooks.port);
    let bogus = unique_name("Bogus").replace(' ', "");
    let review = json!({
        "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
        "request": {
            "uid": "1", "kind": {"group": "", "version": "v1", "kind": bogus},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "operation": "CREATE", "userInfo": {}, "name": "x", "namespace": tenant,
            "object": {"apiVersion": "v1", "kind": bogus, "metadata": {"name": "x"}},
        },
    });
    let answer: serde_json::Value = client
        .post(&url)
        .json(&review)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(answer["response"]["allowed"], false, "{answer}");
    for body in ["not json", "{}", r#"{"request": 1}"#] {
        let status = client
            .post(&url)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
            .status();
        assert!(status.is_client_error(), "{body}: {status}");
    }
    let (_, metrics) = webhooks.scene.operator.get("/metrics").await;
    assert!(!metrics.contains(&bogus), "an unknown kind became a metric label");
    assert!(metrics.contains("kind=\"GoAlertUser\""), "{metrics}");
    remove_goalert_objects(&tenant);
    testbed()
        .admin()
        .delete(&[(TargetType::User, person_id.as_str())])
        .await
        .unwrap();
}

#[tokio::test]
async fn with_webhooks_off_the_controllers_refuse_the_same_and_goalert_is_unchanged() {
    let platform = namespace("ten-platform").await;
    let tenant = scene_in(tenant_namespace("ten-off").await, &platform).await;
    let ns = tenant.namespace.clone();
    let (person, person_id) = hand_made_user("ten-off-person", UserRole::Admin).await;
    let (service, service_id, policy_id) = hand_made_service("Ten Off").await;
    let service_before = tenant.goalert.service(&service_id).await.unwrap().unwrap();
    let feedback = config_value("Feedback.OverrideURL").await;

    let (ok, stderr) = tenant_applies(&ns, &policy_yaml("policy"));
    assert!(ok, "{stderr}");
    let attacks = [
        // Log in as administrator.
        user_yaml(
            "admin",
            &unique_email("ten-off-admin"),
            "  role: Admin\n  passwordSecretRef: {name: mine, key: password}\n",
        ),
        // Take over a person's account, link one's own SSO identity, delete it on the way out.
        user_yaml(
            "person",
            &person,
            "  deletionPolicy: Delete\n  authSubjects:\n  - {providerId: oidc, subjectId: attacker}\n",
        ),
        // Demote an administrator by adopting them with the default role.
        user_yaml("demote", &person, "  deletionPolicy: Delete\n"),
        // Change GoAlert's global configuration.
        admin_yaml("config", "Feedback.OverrideURL", "https://evil.example.com"),
        // Loosen the adoption policy, or skip it by ID; under Observe, read another team's keys.
        service_yaml(
            "adopt",
            &service,
            "  adoption: Adopt\n  deletionPolicy: Delete\n  integrationKeys:\n  - {name: theirs, secretRef: {name: stolen, key: url}}\n",
        ),
        service_yaml(
            "by-id",
            &unique_name("By Id"),
            &format!("  goalertId: {service_id}\n  deletionPolicy: Delete\n"),
        ),
        service_yaml(
            "observe",
            &service,
            "  managementPolicy: Observe\n  integrationKeys:\n  - {name: theirs, secretRef: {name: observed, key: url}}\n",
        ),
    ];
    for yaml in &attacks {
        let (ok, stderr) = tenant_applies(&ns, yaml);
        assert!(ok, "the CRDs alone admit it: {stderr}");
    }
    for (kind, name, field) in [
        ("user", "admin", "spec.role"),
        ("user", "person", "spec.authSubjects"),
        ("user", "demote", "spec.adoption"),
        ("admin", "config", "metadata.namespace"),
        ("service", "adopt", "spec.adoption"),
        ("service", "by-id", "spec.goalertId"),
        ("service", "observe", "spec.adoption"),
    ] {
        let message = match kind {
            "user" => tenant.not_ready::<GoAlertUser>(name, "Forbidden").await,
            "admin" => tenant.not_ready::<GoAlertAdmin>(name, "Forbidden").await,
            _ => tenant.not_ready::<GoAlertService>(name, "Forbidden").await,
        };
        assert!(
            message.contains(&format!("{field}: ")) && message.contains("allowed only in"),
            "{name}: {message}"
        );
        tenant.wait_for_event(name, "Forbidden: ").await;
    }

    // Several resyncs later nothing changed in GoAlert, and no Secret got their keys.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let person_after = tenant.goalert.user(&person_id).await.unwrap().unwrap();
    assert_eq!(
        (person_after.name.as_str(), person_after.role),
        ("Hand Made", UserRole::Admin)
    );
    assert!(
        person_after
            .auth_subjects
            .iter()
            .all(|s| s.subject_id != "attacker"),
        "{:?}",
        person_after.auth_subjects
    );
    assert_eq!(
        tenant.goalert.service(&service_id).await.unwrap().unwrap(),
        service_before
    );
    assert_eq!(config_value("Feedback.OverrideURL").await, feedback);
    for name in ["stolen", "observed"] {
        assert!(secret(&tenant, name).await.is_none(), "Secret {name} was written");
    }
    // Deleting the resources (deletionPolicy Delete) deletes nothing of theirs.
    remove_goalert_objects(&ns);
    assert!(tenant.goalert.user(&person_id).await.unwrap().is_some());
    assert!(tenant.goalert.service(&service_id).await.unwrap().is_some());
    tenant
        .goalert
        .delete(&[
            (TargetType::Service, service_id.as_str()),
            (TargetType::EscalationPolicy, policy_id.as_str()),
            (TargetType::User, person_id.as_str()),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_forged_status_and_foreign_secrets_gain_nothing() {
    let platform_ns = namespace("ten-forge-platform").await;
    let platform = scene_in(platform_ns.clone(), &platform_ns).await;
    let tenant = scene_in(tenant_namespace("ten-forge").await, &platform_ns).await;
    let ns = tenant.namespace.clone();

    // The platform's service, with its key in a Secret.
    platform.apply(&policy_yaml("policy"));
    let victim_name = unique_name("Victim");
    platform.apply(&service_yaml(
        "victim",
        &victim_name,
        "  integrationKeys:\n  - {name: main, secretRef: {name: victim-keys, key: url}}\n",
    ));
    let victim_id = platform.ready::<GoAlertService>("victim").await;
    let victim_before = platform.goalert.service(&victim_id).await.unwrap().unwrap();
    let victim_url = secret_value(&secret(&platform, "victim-keys").await.unwrap(), "url");

    // The tenant's own service, then its status pointed at the victim.
    let (ok, stderr) = tenant_applies(&ns, &policy_yaml("policy"));
    assert!(ok, "{stderr}");
    let mine_name = unique_name("Mine");
    let (ok, stderr) = tenant_applies(
        &ns,
        &service_yaml(
            "mine",
            &mine_name,
            "  deletionPolicy: Delete\n  description: overwritten\n  integrationKeys:\n  - {name: main, secretRef: {name: mine-keys, key: url}}\n",
        ),
    );
    assert!(ok, "{stderr}");
    let mine_id = tenant.ready::<GoAlertService>("mine").await;
    let forge = json!({ "status": { "goalertId": victim_id, "adopted": false } }).to_string();
    let forge_status = || {
        let (ok, _, stderr) = as_tenant(
            &ns,
            &[
                "patch",
                "goalertservice",
                "mine",
                "--subresource=status",
                "--type=merge",
                "-p",
                &forge,
            ],
            None,
        );
        assert!(ok, "{stderr}");
    };
    forge_status();
    // The operator goes by its claim: the status is rewritten with the tenant's own object.
    eventually("the forged status is corrected", CONVERGE, || async {
        let mine = tenant.api::<GoAlertService>().get("mine").await.unwrap();
        let id = mine.status.and_then(|s| s.common.goalert_id);
        if id.as_deref() == Some(mine_id.as_str()) {
            Ok(())
        } else {
            Err(format!("{id:?}"))
        }
    })
    .await;
    // Forged again right before deletion: the victim is not deleted.
    forge_status();
    let (ok, _, stderr) = as_tenant(
        &ns,
        &["delete", "goalertservice", "mine", "--wait", "--timeout=60s"],
        None,
    );
    assert!(ok, "{stderr}");
    assert_eq!(
        platform.goalert.service(&victim_id).await.unwrap().unwrap(),
        victim_before
    );
    assert_eq!(
        secret_value(&secret(&platform, "victim-keys").await.unwrap(), "url"),
        victim_url
    );
    let leftover = tenant.goalert.service(&mine_id).await.unwrap();

    // Secrets the tenant's service may not write: someone else's, a typed one even when
    // annotated, and, in the platform namespace, one that looks like the operator's own CA.
    let (ok, _, stderr) = kubectl(
        &[
            "create",
            "secret",
            "generic",
            "team-secret",
            "-n",
            &ns,
            "--from-literal=url=keep",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    let tls = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tls\n  annotations: {goalert.heystaq.com/writable-by: typed}\ntype: kubernetes.io/tls\ndata: {tls.crt: \"\", tls.key: \"\", url: a2VlcA==}\n";
    let (ok, _, stderr) = kubectl(&["apply", "-n", &ns, "-f", "-"], Some(tls));
    assert!(ok, "{stderr}");
    for (name, secret_name, expected) in [
        (
            "foreign",
            "team-secret",
            "does not belong to GoAlertService \"foreign\"",
        ),
        ("typed", "tls", "has type kubernetes.io/tls"),
    ] {
        let keys =
            format!("  integrationKeys:\n  - {{name: main, secretRef: {{name: {secret_name}, key: url}}}}\n");
        let (ok, stderr) = tenant_applies(&ns, &service_yaml(name, &unique_name("Secret Test"), &keys));
        assert!(ok, "{stderr}");
        let message = tenant.not_ready::<GoAlertService>(name, "SecretNotUsable").await;
        assert!(message.contains(expected), "{message}");
        assert_eq!(
            secret_value(&secret(&tenant, secret_name).await.unwrap(), "url"),
            "keep"
        );
    }
    let ca = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: goalert-provisioning-webhook-tls\n  labels: {app.kubernetes.io/managed-by: goalert-provisioning, app.kubernetes.io/component: webhook-ca}\ndata: {ca.crt: a2VlcA==, ca.key: a2VlcA==}\n";
    let (ok, _, stderr) = kubectl(&["apply", "-n", &platform_ns, "-f", "-"], Some(ca));
    assert!(ok, "{stderr}");
    platform.apply(&service_yaml(
        "ca",
        &unique_name("Ca Test"),
        "  integrationKeys:\n  - {name: main, secretRef: {name: goalert-provisioning-webhook-tls, key: ca.key}}\n",
    ));
    let message = platform
        .not_ready::<GoAlertService>("ca", "SecretNotUsable")
        .await;
    assert!(message.contains("does not belong"), "{message}");
    let ca_after = secret(&platform, "goalert-provisioning-webhook-tls")
        .await
        .unwrap();
    assert_eq!(secret_value(&ca_after, "ca.key"), "keep");

    let token = victim_url.rsplit('=').next().unwrap().to_owned();
    assert_nowhere(&platform, &[&token]).await;
    assert_nowhere(&tenant, &[&token]).await;
    // A deletion that raced the forged status kept the tenant's own service in GoAlert; it still
    // uses the tenant's policy, whose deletion GoAlert would refuse until it goes.
    if leftover.is_some() {
        tenant
            .goalert
            .delete(&[(TargetType::Service, mine_id.as_str())])
            .await
            .unwrap();
    }
    remove_goalert_objects(&ns);
    remove_goalert_objects(&platform_ns);
}

#[tokio::test]
async fn the_platform_namespace_can_still_do_each_of_these_things() {
    let platform_ns = namespace("ten-legit").await;
    let platform = scene_in(platform_ns.clone(), &platform_ns).await;
    let (person, person_id) = hand_made_user("ten-legit-person", UserRole::User).await;
    let (service, service_id, policy_id) = hand_made_service("Ten Legit").await;
    let disclaimer = unique_name("Disclaimer");

    // SSO subjects are unique in GoAlert: a fixed one would stay linked to an earlier run's user.
    let subject = unique_name("boss").replace(' ', "-");
    platform.apply(&policy_yaml("policy"));
    platform.apply(&user_yaml(
        "boss",
        &unique_email("ten-legit-boss"),
        &format!("  role: Admin\n  authSubjects:\n  - {{providerId: oidc, subjectId: {subject}}}\n"),
    ));
    platform.apply(&user_yaml("person", &person, "  role: User\n"));
    platform.apply(&admin_yaml(
        "config",
        "General.NotificationDisclaimer",
        &format!("\"{disclaimer}\""),
    ));
    platform.apply(&service_yaml(
        "adopted",
        &service,
        "  integrationKeys:\n  - {name: theirs, secretRef: {name: adopted-keys, key: url}}\n",
    ));
    let boss_id = platform.ready::<GoAlertUser>("boss").await;
    eventually("the Admin user with its SSO identity", CONVERGE, || async {
        let boss = platform.goalert.user(&boss_id).await.unwrap().unwrap();
        let linked = boss
            .auth_subjects
            .iter()
            .any(|s| s.provider_id == "oidc" && s.subject_id == subject);
        if boss.role == UserRole::Admin && linked {
            Ok(())
        } else {
            Err(format!("{:?} {:?}", boss.role, boss.auth_subjects))
        }
    })
    .await;
    assert_eq!(platform.ready::<GoAlertUser>("person").await, person_id);
    platform.synced::<GoAlertAdmin>("config").await;
    assert_eq!(config_value("General.NotificationDisclaimer").await, disclaimer);
    assert_eq!(platform.ready::<GoAlertService>("adopted").await, service_id);
    let written = secret_value(&secret(&platform, "adopted-keys").await.unwrap(), "url");
    assert!(written.contains("token="), "{written}");

    // Observe, even here, hands out no keys of an object this resource does not own.
    let (other, other_id, other_policy) = hand_made_service("Ten Legit Other").await;
    platform.apply(&service_yaml(
        "watch",
        &other,
        "  managementPolicy: Observe\n  integrationKeys:\n  - {name: theirs, secretRef: {name: watched-keys, key: url}}\n",
    ));
    eventually("the observing resource reports", CONVERGE, || async {
        let watch = platform.api::<GoAlertService>().get("watch").await.unwrap();
        match watch.status.and_then(|s| s.common.goalert_id) {
            Some(id) if id == other_id => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert!(secret(&platform, "watched-keys").await.is_none());

    // The claims record who owns what, in the platform namespace only.
    let (_, claims, _) = kubectl(
        &[
            "get",
            "configmaps",
            "-n",
            &platform_ns,
            "-l",
            "goalert.heystaq.com/claim",
            "-o",
            "name",
        ],
        None,
    );
    assert!(claims.contains(&service_id.to_lowercase()), "{claims}");
    let password = secret_value(
        &secret(&platform, "boss-goalert-login").await.unwrap(),
        "password",
    );
    let token = written.rsplit('=').next().unwrap().to_owned();
    assert_nowhere(&platform, &[&password, &token]).await;

    // Adopted objects are kept on deletion, and the adopted service still uses the operator's
    // policy: GoAlert refuses to delete a policy in use, so the services go first.
    let (ok, _, stderr) = kubectl(
        &[
            "delete",
            "-n",
            &platform_ns,
            "goalertservices",
            "--all",
            "--wait",
            "--timeout=120s",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    assert!(platform.goalert.service(&service_id).await.unwrap().is_some());
    platform
        .goalert
        .delete(&[
            (TargetType::Service, service_id.as_str()),
            (TargetType::Service, other_id.as_str()),
        ])
        .await
        .unwrap();
    remove_goalert_objects(&platform_ns);
    platform
        .goalert
        .delete(&[
            (TargetType::EscalationPolicy, policy_id.as_str()),
            (TargetType::EscalationPolicy, other_policy.as_str()),
            (TargetType::User, person_id.as_str()),
        ])
        .await
        .unwrap();
}

/// An upgrade from a version without claims (docs/security.md, Upgrading): what that version left
/// behind is resources whose status names the GoAlert objects they made, and no claims. The first
/// start of this version records a claim for each, keeps them Ready without a single GoAlert
/// write, and still deletes what they made when they are deleted.
#[tokio::test]
async fn an_upgrade_keeps_what_an_earlier_version_made() {
    let operator_ns = namespace("ten-upgrade-op").await;
    let team = namespace("ten-upgrade").await;
    let goalert = testbed().admin();
    // The GoAlert objects the earlier version made, exactly as the specs below describe them.
    let policy_name = unique_name("Upgrade Policy");
    let policy_id = goalert
        .create_escalation_policy(&NewEscalationPolicy {
            name: policy_name.clone(),
            repeat: 3,
            ..NewEscalationPolicy::default()
        })
        .await
        .unwrap()
        .id;
    let service_name = unique_name("Upgrade Service");
    let service_id = goalert
        .create_service(&NewService {
            name: service_name.clone(),
            escalation_policy_id: policy_id.clone(),
            ..NewService::default()
        })
        .await
        .unwrap()
        .id;
    let (ok, _, stderr) = kubectl(
        &["apply", "-n", &team, "-f", "-"],
        Some(&format!(
            "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: policy\nspec:\n  escalationPolicyName: {policy_name}\n---\n{}",
            service_yaml("service", &service_name, "")
        )),
    );
    assert!(ok, "{stderr}");
    for (kind, id) in [
        ("goalertescalationpolicy/policy", &policy_id),
        ("goalertservice/service", &service_id),
    ] {
        let status = json!({ "status": { "goalertId": id, "adopted": false } }).to_string();
        let (ok, _, stderr) = kubectl(
            &[
                "patch",
                "-n",
                &team,
                kind,
                "--subresource=status",
                "--type=merge",
                "-p",
                &status,
            ],
            None,
        );
        assert!(ok, "{stderr}");
    }

    let upgraded = scene_in(team.clone(), &operator_ns).await;
    assert_eq!(
        upgraded.ready::<GoAlertEscalationPolicy>("policy").await,
        policy_id
    );
    assert_eq!(upgraded.ready::<GoAlertService>("service").await, service_id);
    assert_eq!(upgraded.mutations().await, 0, "{}", upgraded.operator.logs());
    let (_, claims, _) = kubectl(&["get", "configmaps", "-n", &operator_ns, "-o", "name"], None);
    for id in [&policy_id, &service_id] {
        assert!(claims.contains(&id.to_lowercase()), "no claim on {id}: {claims}");
    }
    assert!(
        claims.contains("goalert-provisioning-claims-recorded"),
        "{claims}"
    );

    // They are this version's own now: deleting them deletes what the earlier version made.
    remove_goalert_objects(&team);
    assert!(goalert.service(&service_id).await.unwrap().is_none());
    assert!(goalert.escalation_policy(&policy_id).await.unwrap().is_none());
}

/// A tenant may use a platform object by its GoAlert name (read-only), and the use never makes
/// anything undeletable: the platform's deletion, refused by GoAlert while the tenant's service
/// uses the policy, says so on the resource and completes once the use ends; the tenant's
/// resource goes without touching what it used.
#[tokio::test]
async fn a_reference_across_namespaces_uses_and_never_pins() {
    let platform_ns = namespace("ten-xref").await;
    let platform = scene_in(platform_ns.clone(), &platform_ns).await;
    let tenant_ns = tenant_namespace("ten-xref-tenant").await;
    let tenant = scene_in(tenant_ns.clone(), &platform_ns).await;
    let policy_name = unique_name("Shared Policy");
    platform.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: shared\nspec:\n  escalationPolicyName: {policy_name}\n"
    ));
    let policy_id = platform.ready::<GoAlertEscalationPolicy>("shared").await;
    let (ok, stderr) = tenant_applies(
        &tenant_ns,
        &format!(
            "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertService\nmetadata:\n  name: app\nspec:\n  serviceName: {}\n  escalationPolicyRef: {{goalertName: {policy_name}}}\n",
            unique_name("Tenant App")
        ),
    );
    assert!(ok, "{stderr}");
    let service_id = tenant.ready::<GoAlertService>("app").await;
    let service = tenant.goalert.service(&service_id).await.unwrap().unwrap();
    assert_eq!(service.escalation_policy_id, policy_id);

    platform
        .api::<GoAlertEscalationPolicy>()
        .delete("shared", &DeleteParams::default())
        .await
        .unwrap();
    let message = platform
        .not_ready::<GoAlertEscalationPolicy>("shared", "DeletionBlocked")
        .await;
    assert!(message.contains("in use"), "{message}");

    let (ok, _, stderr) = as_tenant(
        &tenant_ns,
        &["delete", "goalertservice", "app", "--wait", "--timeout=60s"],
        None,
    );
    assert!(ok, "the tenant's resource goes: {stderr}");
    assert!(tenant.goalert.service(&service_id).await.unwrap().is_none());
    eventually("the platform's deletion completes", CONVERGE, || async {
        match platform
            .api::<GoAlertEscalationPolicy>()
            .get_opt("shared")
            .await
            .unwrap()
        {
            None => Ok(()),
            Some(policy) => Err(format!("{:?}", policy.status)),
        }
    })
    .await;
    assert!(
        platform
            .goalert
            .escalation_policy(&policy_id)
            .await
            .unwrap()
            .is_none()
    );
}
