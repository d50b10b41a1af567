//! Escalation policies and services end to end: policy steps edited in place, integration keys
//! and heartbeat monitors in Secrets, Secrets restored and never taken from someone else, and
//! credentials kept out of logs, Events and status. Against the testbed's real GoAlert.
#![cfg(feature = "e2e")]

use std::collections::BTreeMap;

use e2e::{
    FreshGoAlert, eventually, kubectl,
    scene::{CONVERGE, Scene, scene, scene_for, secret_value, unique_email, user_yaml},
    unique_name,
};
use goalert_provisioning::api::{GoAlertEscalationPolicy, GoAlertService, GoAlertUser};
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{Api, api::PostParams};
use serde_json::{Value, json};

fn policy_yaml(name: &str, goalert_name: &str, steps: &[(i32, &str)]) -> String {
    let steps: String = steps
        .iter()
        .map(|(delay, user)| {
            format!("    - delayMinutes: {delay}\n      targets: [{{userRef: {{name: {user}}}}}]\n")
        })
        .collect();
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: {name}\nspec:\n  escalationPolicyName: {goalert_name}\n  steps:\n{steps}"
    )
}

fn service_yaml(name: &str, goalert_name: &str, policy: &str, rest: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertService\nmetadata:\n  name: {name}\nspec:\n  serviceName: {goalert_name}\n  escalationPolicyRef: {{name: {policy}}}\n{rest}"
    )
}

/// A scene with three users and a one-step policy named `policy`.
async fn with_policy(prefix: &str) -> (Scene, String) {
    let scene = scene(prefix).await;
    for user in ["u1", "u2", "u3"] {
        scene.apply(&user_yaml(user, &unique_email(user)));
    }
    scene.apply(&policy_yaml("policy", &unique_name("Policy"), &[(5, "u1")]));
    let policy_id = scene.ready::<GoAlertEscalationPolicy>("policy").await;
    (scene, policy_id)
}

async fn steps(scene: &Scene, policy_id: &str) -> Vec<(String, i64, String)> {
    let policy = scene
        .graphql(
            "query($id: ID!) { escalationPolicy(id: $id) { steps { id delayMinutes actions { args } } } }",
            json!({ "id": policy_id }),
        )
        .await;
    policy["escalationPolicy"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_owned(),
                s["delayMinutes"].as_i64().unwrap(),
                s["actions"][0]["args"]["user_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

async fn service(scene: &Scene, id: &str) -> Value {
    scene
        .graphql(
            "query($id: ID!) { service(id: $id) { escalationPolicyID integrationKeys { id name type href } heartbeatMonitors { id name href } } }",
            json!({ "id": id }),
        )
        .await["service"]
        .clone()
}

async fn secret(scene: &Scene, name: &str) -> Option<Secret> {
    scene.api::<Secret>().get_opt(name).await.unwrap()
}

#[tokio::test]
async fn policy_step_edits_apply_in_place_and_the_service_keeps_its_policy() {
    let (scene, policy_id) = with_policy("steps").await;
    let users: BTreeMap<_, _> = [
        ("u1", scene.ready::<GoAlertUser>("u1").await),
        ("u2", scene.ready::<GoAlertUser>("u2").await),
        ("u3", scene.ready::<GoAlertUser>("u3").await),
    ]
    .into();
    let goalert_policy_name = scene
        .api::<GoAlertEscalationPolicy>()
        .get("policy")
        .await
        .unwrap()
        .spec
        .escalation_policy_name
        .unwrap();
    scene.apply(&policy_yaml(
        "policy",
        &goalert_policy_name,
        &[(5, "u1"), (10, "u2")],
    ));
    scene.ready::<GoAlertEscalationPolicy>("policy").await;
    scene.apply(&service_yaml("svc", &unique_name("Service"), "policy", ""));
    let service_id = scene.ready::<GoAlertService>("svc").await;
    let before = steps(&scene, &policy_id).await;
    assert_eq!(
        before.iter().map(|s| (s.1, s.2.as_str())).collect::<Vec<_>>(),
        [(5, users["u1"].as_str()), (10, users["u2"].as_str())]
    );

    // Reorder and insert.
    scene.apply(&policy_yaml(
        "policy",
        &goalert_policy_name,
        &[(10, "u2"), (7, "u3"), (5, "u1")],
    ));
    assert_eq!(
        scene.ready::<GoAlertEscalationPolicy>("policy").await,
        policy_id,
        "the same policy, edited"
    );
    let after = eventually("the steps are reordered", CONVERGE, || async {
        let after = steps(&scene, &policy_id).await;
        if after.len() == 3 {
            Ok(after)
        } else {
            Err(format!("{after:?}"))
        }
    })
    .await;
    assert_eq!(
        after.iter().map(|s| (s.1, s.2.as_str())).collect::<Vec<_>>(),
        [
            (10, users["u2"].as_str()),
            (7, users["u3"].as_str()),
            (5, users["u1"].as_str())
        ]
    );
    assert_eq!(after[0].0, before[1].0, "the u2 step kept its ID");
    assert_eq!(after[2].0, before[0].0, "the u1 step kept its ID");

    // Remove two steps.
    scene.apply(&policy_yaml("policy", &goalert_policy_name, &[(7, "u3")]));
    eventually("two steps are removed", CONVERGE, || async {
        let now = steps(&scene, &policy_id).await;
        if now.len() == 1 && now[0].0 == after[1].0 {
            Ok(())
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await;
    assert_eq!(
        service(&scene, &service_id).await["escalationPolicyID"],
        policy_id.as_str(),
        "the service keeps its policy"
    );
}

#[tokio::test]
async fn keys_and_monitors_follow_the_spec_through_their_secrets() {
    let (scene, _) = with_policy("keys").await;
    let name = unique_name("Keys");
    let spec = |keys: &str| {
        service_yaml(
            "svc",
            &name,
            "policy",
            &format!(
                "  integrationKeys:\n{keys}  heartbeatMonitors:\n    - name: backup\n      timeoutMinutes: 60\n      secretRef: {{name: svc-keys, key: backup-url}}\n"
            ),
        )
    };
    let alpha = "    - name: alpha\n      secretRef: {name: svc-keys, key: alpha-url}\n";
    let beta = "    - name: beta\n      type: Grafana\n      secretRef: {name: svc-keys, key: beta-url, tokenKey: beta-token}\n";
    scene.apply(&spec(&format!("{alpha}{beta}")));
    let id = scene.ready::<GoAlertService>("svc").await;
    let goalert = service(&scene, &id).await;
    let keys = goalert["integrationKeys"].as_array().unwrap().clone();
    assert_eq!(keys.len(), 2, "{goalert}");
    let href = |name: &str| {
        keys.iter()
            .find(|k| k["name"] == name)
            .map(|k| k["href"].as_str().unwrap().to_owned())
            .unwrap()
    };
    let written = secret(&scene, "svc-keys")
        .await
        .expect("the operator made the Secret");
    assert_eq!(secret_value(&written, "alpha-url"), href("alpha"));
    assert_eq!(secret_value(&written, "beta-url"), href("beta"));
    let beta_id = keys.iter().find(|k| k["name"] == "beta").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(secret_value(&written, "beta-token"), beta_id);
    assert_eq!(
        secret_value(&written, "backup-url"),
        goalert["heartbeatMonitors"][0]["href"].as_str().unwrap()
    );
    assert_eq!(
        written.metadata.owner_references.unwrap()[0].kind,
        "GoAlertService"
    );

    // Rename alpha to gamma (same Secret key), remove beta.
    let gamma = "    - name: gamma\n      secretRef: {name: svc-keys, key: alpha-url}\n";
    scene.apply(&spec(gamma));
    let updated = eventually("gamma replaces alpha and beta is gone", CONVERGE, || async {
        let goalert = service(&scene, &id).await;
        let names: Vec<_> = goalert["integrationKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["name"].as_str().unwrap().to_owned())
            .collect();
        let written = secret(&scene, "svc-keys").await.unwrap();
        if names == ["gamma"]
            && written
                .data
                .as_ref()
                .is_some_and(|d| !d.contains_key("beta-url") && !d.contains_key("beta-token"))
        {
            Ok((goalert, written))
        } else {
            Err(format!(
                "{names:?} {:?}",
                written.data.map(|d| d.keys().cloned().collect::<Vec<_>>())
            ))
        }
    })
    .await;
    let new_url = updated.0["integrationKeys"][0]["href"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(secret_value(&updated.1, "alpha-url"), new_url);
    assert_ne!(new_url, href("alpha"), "a rename is a new key with a new URL");
    eventually("an Event says which keys were retired", CONVERGE, || async {
        let events = scene.events("svc");
        if events.contains("CredentialsRetired") {
            Ok(())
        } else {
            Err(events)
        }
    })
    .await;

    // Credentials never reach logs, Events or status.
    let (_, status, _) = kubectl(
        &[
            "get",
            "goalertservice",
            "svc",
            "-n",
            &scene.namespace,
            "-o",
            "json",
        ],
        None,
    );
    let events = scene.events("svc");
    let logs = scene.operator.logs();
    for credential in [href("alpha"), href("beta"), beta_id, new_url] {
        let token = credential.rsplit('=').next().unwrap().to_owned();
        for (place, text) in [("status", &status), ("events", &events), ("logs", &logs)] {
            assert!(!text.contains(&token), "a credential leaked into {place}");
        }
    }
}

#[tokio::test]
async fn a_secret_deleted_or_edited_by_hand_is_restored() {
    let (scene, _) = with_policy("restore").await;
    scene.apply(&service_yaml(
        "svc",
        &unique_name("Restore"),
        "policy",
        "  integrationKeys:\n    - name: main\n      secretRef: {name: restored, key: url}\n",
    ));
    scene.ready::<GoAlertService>("svc").await;
    let original = secret_value(&secret(&scene, "restored").await.unwrap(), "url");
    let (ok, _, stderr) = kubectl(&["delete", "secret", "restored", "-n", &scene.namespace], None);
    assert!(ok, "{stderr}");
    eventually("the deleted Secret is made again", CONVERGE, || async {
        match secret(&scene, "restored").await {
            Some(s) if secret_value(&s, "url") == original => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    let (ok, _, stderr) = kubectl(
        &[
            "patch",
            "secret",
            "restored",
            "-n",
            &scene.namespace,
            "--type",
            "merge",
            "-p",
            r#"{"stringData":{"url":"https://tampered.example.com"}}"#,
        ],
        None,
    );
    assert!(ok, "{stderr}");
    eventually("the edited value is put back", CONVERGE, || async {
        let value = secret_value(&secret(&scene, "restored").await.unwrap(), "url");
        if value == original { Ok(()) } else { Err(value) }
    })
    .await;
}

#[tokio::test]
async fn a_secret_someone_else_made_is_not_overwritten_unless_allowed() {
    let (scene, _) = with_policy("foreign").await;
    let foreign = Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("team-secret".into()),
            ..Default::default()
        },
        data: Some(
            [(
                "url".to_owned(),
                ByteString(b"https://theirs.example.com".to_vec()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    scene
        .api::<Secret>()
        .create(&PostParams::default(), &foreign)
        .await
        .unwrap();
    let keys = "  integrationKeys:\n    - name: main\n      secretRef: {name: team-secret, key: url}\n";
    scene.apply(&service_yaml("svc", &unique_name("Foreign"), "policy", keys));
    let message = scene.not_ready::<GoAlertService>("svc", "SecretNotUsable").await;
    assert!(
        message.starts_with("spec.integrationKeys[0].secretRef.name: Secret \"team-secret\" already exists"),
        "{message}"
    );
    assert_eq!(
        secret_value(&secret(&scene, "team-secret").await.unwrap(), "url"),
        "https://theirs.example.com"
    );

    // The spec alone cannot open it: adoptExistingSecrets no longer has any effect.
    scene
        .patch_spec::<GoAlertService>("svc", json!({ "adoptExistingSecrets": true }))
        .await;
    scene.not_ready::<GoAlertService>("svc", "SecretNotUsable").await;
    // The Secret's own annotation, written by someone who may edit it, does.
    let (ok, _, stderr) = kubectl(
        &[
            "annotate",
            "secret",
            "team-secret",
            "-n",
            &scene.namespace,
            "goalert.heystaq.com/writable-by=svc",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    // Secrets the operator does not own are not watched, so the annotation is seen at the next
    // reconcile (resync, or a change of the resource): here the spec drops the flag without effect.
    scene
        .patch_spec::<GoAlertService>("svc", json!({ "adoptExistingSecrets": null }))
        .await;
    scene.ready::<GoAlertService>("svc").await;
    let written = secret_value(&secret(&scene, "team-secret").await.unwrap(), "url");
    assert!(written.contains("/api/v2/generic/incoming?token="), "{written}");
    let _: Api<GoAlertService> = scene.api();
}

/// Whether GoAlert takes an alert through `url`, a key of `key_type`.
async fn opens_an_alert(url: &str, key_type: &str) -> bool {
    let client = reqwest::Client::new();
    let request = match key_type {
        "grafana" => client
            .post(url)
            .json(&json!({ "ruleName": "e2e", "state": "alerting", "message": "type change" })),
        _ => client.post(url).form(&[("summary", "type change")]),
    };
    request.send().await.unwrap().status().is_success()
}

#[tokio::test]
async fn a_key_type_change_makes_the_new_key_before_the_old_one_goes() {
    // A GoAlert of the test's own: its limit of keys per service is lowered below.
    let goalert = FreshGoAlert::start().await;
    let scene = scene_for(&goalert, "keytype").await;
    scene.apply(&user_yaml("u1", &unique_email("keytype")));
    scene.apply(&policy_yaml("policy", "Key type policy", &[(5, "u1")]));
    let spec = |key_type: &str| {
        service_yaml(
            "svc",
            "Key type service",
            "policy",
            &format!(
                "  integrationKeys:\n    - name: alerts\n      type: {key_type}\n      secretRef: {{name: svc-keys, key: url}}\n"
            ),
        )
    };
    scene.apply(&spec("Grafana"));
    let id = scene.ready::<GoAlertService>("svc").await;
    let url = secret_value(&secret(&scene, "svc-keys").await.unwrap(), "url");
    assert!(opens_an_alert(&url, "grafana").await);
    let keys = |service: Value| -> Vec<(String, String, String)> {
        service["integrationKeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                let field = |f: &str| k[f].as_str().unwrap().to_owned();
                (field("name"), field("type"), field("href"))
            })
            .collect()
    };
    let set_limit = |value: i64| {
        goalert.graphql(
            "mutation($value: Int!) { setSystemLimits(input: [{ id: IntegrationKeysPerService, value: $value }]) }",
            json!({ "value": value }),
        )
    };

    // No room for a second key: the change waits, and the working key stays in GoAlert and in
    // the Secret.
    set_limit(1).await;
    scene.apply(&spec("Generic"));
    let message = scene.not_ready::<GoAlertService>("svc", "GoAlertError").await;
    assert!(
        message.contains("spec.integrationKeys[0]") && message.contains("too many integration keys"),
        "{message}"
    );
    assert_eq!(
        keys(service(&scene, &id).await),
        [("alerts".to_owned(), "grafana".to_owned(), url.clone())]
    );
    assert_eq!(
        secret_value(&secret(&scene, "svc-keys").await.unwrap(), "url"),
        url
    );
    assert!(opens_an_alert(&url, "grafana").await, "the old key still pages");

    // Room for the stand-in: the new key takes over, under its own name, alone.
    set_limit(5).await;
    scene.synced::<GoAlertService>("svc").await;
    let now = keys(service(&scene, &id).await);
    assert_eq!(
        now.iter()
            .map(|(name, kind, _)| (name.as_str(), kind.as_str()))
            .collect::<Vec<_>>(),
        [("alerts", "generic")]
    );
    let new_url = secret_value(&secret(&scene, "svc-keys").await.unwrap(), "url");
    assert_eq!(new_url, now[0].2, "the Secret holds the new key");
    assert!(opens_an_alert(&new_url, "generic").await);
    assert!(!opens_an_alert(&url, "grafana").await, "the old key is gone");
}
