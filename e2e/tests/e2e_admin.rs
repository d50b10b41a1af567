//! GoAlertAdmin end to end against the testbed's real GoAlert: settings set, changed and held
//! while unlisted ones stay as they are, values from Secrets kept out of logs, Events and status,
//! GoAlert's validation of related settings surfacing on the spec field, two resources listing
//! one setting, and system limits. GoAlert's configuration is shared by every test (and every test
//! binary), so each test uses settings no other touches and puts them back when it ends.
#![cfg(feature = "e2e")]

use std::{collections::BTreeMap, time::Duration};

use e2e::{
    eventually, kubectl,
    scene::{CONVERGE, Scene, scene, scene_with},
    testbed, unique_name,
};
use goalert_provisioning::api::GoAlertAdmin;
use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::api::PostParams;
use serde_json::json;

async fn config() -> BTreeMap<String, String> {
    let data = testbed()
        .admin_graphql("{ config(all: true) { id value } }", json!({}))
        .await;
    data["config"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["id"].as_str().unwrap().to_owned(),
                c["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn config_value(id: &str) -> String {
    config()
        .await
        .remove(id)
        .unwrap_or_else(|| panic!("GoAlert has no {id}"))
}

async fn set_config(values: &[(String, String)]) {
    let input: Vec<_> = values
        .iter()
        .map(|(id, value)| json!({ "id": id, "value": value }))
        .collect();
    testbed()
        .admin_graphql(
            "mutation($input: [ConfigValueInput!]) { setConfig(input: $input) }",
            json!({ "input": input }),
        )
        .await;
}

async fn limits() -> BTreeMap<String, i64> {
    let data = testbed()
        .admin_graphql("{ systemLimits { id value } }", json!({}))
        .await;
    data["systemLimits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_str().unwrap().to_owned(), l["value"].as_i64().unwrap()))
        .collect()
}

async fn set_limits(values: &[(String, i64)]) {
    let input: Vec<_> = values
        .iter()
        .map(|(id, value)| json!({ "id": id, "value": value }))
        .collect();
    testbed()
        .admin_graphql(
            "mutation($input: [SystemLimitInput!]!) { setSystemLimits(input: $input) }",
            json!({ "input": input }),
        )
        .await;
}

/// A scene that, when the test ends (passing or not), stops its operator, deletes its namespace
/// and puts the GoAlert settings it names back as they were. GoAlertAdmins have no finalizer,
/// so the namespace goes at once and no operator watching every namespace meets them later.
struct Restoring {
    scene: Scene,
    config: Vec<(String, String)>,
    limits: Vec<(String, i64)>,
}

impl Restoring {
    async fn new(scene: Scene, config_ids: &[&str], limit_ids: &[&str]) -> Self {
        let (mut all_config, mut all_limits) = (config().await, limits().await);
        Self {
            scene,
            config: (config_ids.iter())
                .map(|id| (id.to_string(), all_config.remove(*id).unwrap()))
                .collect(),
            limits: (limit_ids.iter())
                .map(|id| (id.to_string(), all_limits.remove(*id).unwrap()))
                .collect(),
        }
    }
}

impl Drop for Restoring {
    fn drop(&mut self) {
        self.scene.operator.kill();
        let _ = kubectl(
            &["delete", "namespace", &self.scene.namespace, "--wait=false"],
            None,
        );
        let (config, limits) = (self.config.clone(), self.limits.clone());
        // Drop cannot await, and the test's runtime is the one being dropped from.
        std::thread::spawn(move || {
            tokio::runtime::Runtime::new().unwrap().block_on(async {
                if !config.is_empty() {
                    set_config(&config).await;
                }
                if !limits.is_empty() {
                    set_limits(&limits).await;
                }
            });
        })
        .join()
        .unwrap();
    }
}

fn admin_yaml(name: &str, spec: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertAdmin\nmetadata:\n  name: {name}\nspec:\n{spec}"
    )
}

async fn admin(scene: &Scene, name: &str) -> GoAlertAdmin {
    scene.api::<GoAlertAdmin>().get(name).await.unwrap()
}

async fn managed(scene: &Scene, name: &str) -> Vec<String> {
    admin(scene, name).await.status.unwrap_or_default().managed
}

/// The operator's count of requests for one GoAlert operation with one result.
async fn requests(scene: &Scene, operation: &str, result: &str) -> u64 {
    let (_, metrics) = scene.operator.get("/metrics").await;
    let series = format!(
        r#"goalert_provisioning_goalert_requests_total{{operation="{operation}",result="{result}"}} "#
    );
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&series)?.parse().ok())
        .unwrap_or(0)
}

async fn eventually_config(what: &str, id: &str, expected: &str) {
    eventually(what, CONVERGE, || async {
        let value = config_value(id).await;
        if value == expected { Ok(()) } else { Err(value) }
    })
    .await;
}

#[tokio::test]
async fn settings_are_set_changed_and_held_while_unlisted_ones_stay() {
    let listed = [
        "General.ApplicationName",
        "Services.RequiredLabels",
        "Feedback.Enable",
    ];
    let unlisted = "Feedback.OverrideURL";
    let scene = Restoring::new(
        scene("admin-values").await,
        &[&listed[..], &[unlisted]].concat(),
        &[],
    )
    .await;
    let scene = &scene.scene;
    let spec = |name: &str| {
        format!(
            "  config:\n    - id: General.ApplicationName\n      value: {name}\n    - id: Services.RequiredLabels\n      value: |\n        team/name\n        owner/email\n    - id: Feedback.Enable\n      value: \"true\"\n"
        )
    };
    scene.apply(&admin_yaml("config", &spec("E2E Acme")));
    scene.synced::<GoAlertAdmin>("config").await;
    assert_eq!(config_value("General.ApplicationName").await, "E2E Acme");
    assert_eq!(
        config_value("Services.RequiredLabels").await,
        "team/name\nowner/email",
        "a YAML block's trailing newline is not an empty list item"
    );
    assert_eq!(config_value("Feedback.Enable").await, "true");
    assert_eq!(managed(scene, "config").await, listed);

    // A setting the spec does not list, changed by hand, stays through a spec change.
    let by_hand = format!(
        "https://feedback.example.com/{}",
        unique_name("e2e").replace(' ', "-")
    );
    set_config(&[(unlisted.into(), by_hand.clone())]).await;
    scene.apply(&admin_yaml("config", &spec("E2E Acme Paging")));
    scene.synced::<GoAlertAdmin>("config").await;
    assert_eq!(config_value("General.ApplicationName").await, "E2E Acme Paging");
    scene
        .wait_for_event("config", "Updated: updated in GoAlert: General.ApplicationName")
        .await;

    // In sync, several resyncs send nothing.
    let before = scene.mutations().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        scene.mutations().await,
        before,
        "a resync with nothing changed sends nothing"
    );
    assert_eq!(config_value(unlisted).await, by_hand);

    // A listed setting changed by hand is put back and reported as drift.
    set_config(&[("General.ApplicationName".into(), "Changed By Hand".into())]).await;
    eventually_config(
        "the listed setting is put back",
        "General.ApplicationName",
        "E2E Acme Paging",
    )
    .await;
    scene
        .wait_for_event(
            "config",
            "DriftCorrected: corrected changes made in GoAlert: General.ApplicationName",
        )
        .await;
    let (_, metrics) = scene.operator.get("/metrics").await;
    assert!(
        metrics.contains(
            r#"goalert_provisioning_drift_corrections_total{field="General.ApplicationName",kind="GoAlertAdmin"} 1"#
        ),
        "{metrics}"
    );

    // Dropped from the spec: no longer managed, and left as it is in GoAlert.
    scene
        .patch_spec::<GoAlertAdmin>(
            "config",
            json!({ "config": [{ "id": "Feedback.Enable", "value": "true" }] }),
        )
        .await;
    scene.synced::<GoAlertAdmin>("config").await;
    assert_eq!(managed(scene, "config").await, ["Feedback.Enable"]);
    set_config(&[("General.ApplicationName".into(), "Now Unmanaged".into())]).await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(config_value("General.ApplicationName").await, "Now Unmanaged");
    assert_eq!(
        config_value("Services.RequiredLabels").await,
        "team/name\nowner/email"
    );
}

#[tokio::test]
async fn secret_values_reach_goalert_and_nowhere_else() {
    let scene = scene_with("admin-secrets", &[("RUST_LOG", "trace")]).await;
    let scene = Restoring::new(scene, &["Mailgun.APIKey"], &[]).await;
    let scene = &scene.scene;
    let secret = |value: &str| Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("mailgun".into()),
            ..Default::default()
        },
        data: Some(
            [(
                "api-key".to_owned(),
                ByteString(format!("{value}\n").into_bytes()),
            )]
            .into(),
        ),
        ..Default::default()
    };
    let token = |n: &str| format!("key-{n}-{}", unique_name("").trim().replace(' ', ""));
    let (first, second) = (token("first"), token("second"));
    scene
        .api::<Secret>()
        .create(&PostParams::default(), &secret(&first))
        .await
        .unwrap();
    let spec = |key: &str| {
        format!(
            "  config:\n    - id: Mailgun.APIKey\n      valueFrom:\n        secretKeyRef: {{name: mailgun, key: {key}}}\n"
        )
    };
    scene.apply(&admin_yaml("mailgun", &spec("api-key")));
    scene.synced::<GoAlertAdmin>("mailgun").await;
    assert_eq!(
        config_value("Mailgun.APIKey").await,
        first,
        "the Secret's value, without the newline echo adds"
    );

    // A rotated Secret is applied on the next resync.
    scene
        .api::<Secret>()
        .replace("mailgun", &PostParams::default(), &secret(&second))
        .await
        .unwrap();
    eventually_config("the rotated value reaches GoAlert", "Mailgun.APIKey", &second).await;
    scene
        .wait_for_event("mailgun", "Updated: updated from Secrets: Mailgun.APIKey")
        .await;

    // A key or Secret that is not there: the field is named, nothing is sent.
    scene.apply(&admin_yaml("mailgun", &spec("missing")));
    let message = scene
        .not_ready::<GoAlertAdmin>("mailgun", "SecretNotUsable")
        .await;
    assert_eq!(
        message,
        r#"spec.config[0].valueFrom.secretKeyRef: Secret "mailgun" has no key "missing""#
    );
    scene
        .api::<Secret>()
        .delete("mailgun", &Default::default())
        .await
        .unwrap();
    scene.apply(&admin_yaml("mailgun", &spec("api-key")));
    let message = scene
        .not_ready::<GoAlertAdmin>("mailgun", "SecretNotUsable")
        .await;
    assert_eq!(
        message,
        r#"spec.config[0].valueFrom.secretKeyRef: Secret "mailgun" does not exist"#
    );
    assert_eq!(config_value("Mailgun.APIKey").await, second);

    // Written inline, a credential is refused before it is stored.
    let (ok, _, stderr) = kubectl(
        &["apply", "--dry-run=server", "-n", &scene.namespace, "-f", "-"],
        Some(&admin_yaml(
            "inline",
            "  config:\n    - id: Mailgun.APIKey\n      value: key-in-git\n",
        )),
    );
    assert!(!ok, "an inline credential was accepted");
    assert!(
        stderr.contains("passwords, tokens and client secrets come from a Secret"),
        "{stderr}"
    );

    let (_, status, _) = kubectl(
        &[
            "get",
            "goalertadmin",
            "mailgun",
            "-n",
            &scene.namespace,
            "-o",
            "json",
        ],
        None,
    );
    let (_, events, _) = kubectl(&["get", "events", "-n", &scene.namespace, "-o", "json"], None);
    let logs = scene.operator.logs();
    assert!(logs.contains("TRACE"), "the operator logged at trace level");
    // The testbed's own Twilio token: GoAlert returns it in clear text with every config read.
    let goalert_secret = config_value("Twilio.AuthToken").await;
    for value in [&first, &second, &goalert_secret] {
        for (place, text) in [("status", &status), ("Events", &events), ("logs", &logs)] {
            assert!(!text.contains(value.as_str()), "a secret value is in the {place}");
        }
    }
}

#[tokio::test]
async fn related_settings_go_in_one_call_and_goalert_errors_name_the_field() {
    let ids = ["Twilio.VoiceName", "Twilio.VoiceLanguage"];
    let scene = Restoring::new(scene("admin-related").await, &ids, &[]).await;
    let scene = &scene.scene;
    let spec = |language: &str| {
        format!(
            "  config:\n    - id: Twilio.VoiceName\n      value: Polly.Joanna\n    - id: Twilio.VoiceLanguage\n      value: \"{language}\"\n"
        )
    };
    // GoAlert validates the whole merged configuration: a voice needs its language.
    scene.apply(&admin_yaml("voice", &spec("")));
    let message = scene.not_ready::<GoAlertAdmin>("voice", "GoAlertRejected").await;
    assert_eq!(
        message,
        "spec.config[1].value: GoAlert rejected the input: Twilio.VoiceLanguage: required when Twilio.VoiceName is set"
    );
    scene
        .wait_for_event("voice", "GoAlertRejected: spec.config[1].value")
        .await;
    assert_eq!(config_value("Twilio.VoiceName").await, "", "nothing was applied");

    scene.apply(&admin_yaml("voice", &spec("en-US")));
    scene.synced::<GoAlertAdmin>("voice").await;
    assert_eq!(config_value("Twilio.VoiceName").await, "Polly.Joanna");
    assert_eq!(config_value("Twilio.VoiceLanguage").await, "en-US");
    assert_eq!(
        requests(scene, "SetConfig", "success").await,
        1,
        "both settings went in one setConfig"
    );

    // Mistakes the operator finds before asking GoAlert: what was wrong and what is allowed.
    scene.apply(&admin_yaml(
        "typo",
        "  config:\n    - id: Twilio.VoiceSpeed\n      value: fast\n",
    ));
    let message = scene.not_ready::<GoAlertAdmin>("typo", "InvalidSpec").await;
    assert!(
        message.starts_with(
            r#"spec.config[0].id: GoAlert has no config setting "Twilio.VoiceSpeed"; its Twilio settings are Twilio.Enable, "#
        ),
        "{message}"
    );
    scene.apply(&admin_yaml(
        "not-a-boolean",
        "  config:\n    - id: General.DisableLabelCreation\n      value: \"yes\"\n",
    ));
    let message = scene
        .not_ready::<GoAlertAdmin>("not-a-boolean", "InvalidSpec")
        .await;
    assert_eq!(
        message,
        r#"spec.config[0].value: General.DisableLabelCreation takes "true" or "false", not "yes""#
    );
}

/// Admission refuses this (each setting has one GoAlertAdmin); these operators serve no webhooks,
/// as when the webhooks are off or a resource predates them.
#[tokio::test]
async fn two_resources_listing_one_setting_both_report_the_conflict() {
    let config_ids = ["Maintenance.APIKeyExpireDays", "Maintenance.ScheduleCleanupDays"];
    let limit_ids = ["TargetsPerSchedule", "UserOverridesPerSchedule"];
    let scene = Restoring::new(scene("admin-conflict").await, &config_ids, &limit_ids).await;
    let scene = &scene.scene;
    let ns = &scene.namespace;
    scene.apply(&admin_yaml(
        "a",
        "  config:\n    - {id: Maintenance.APIKeyExpireDays, value: \"91\"}\n    - {id: Maintenance.ScheduleCleanupDays, value: \"401\"}\n  systemLimits:\n    - {id: TargetsPerSchedule, value: 15}\n",
    ));
    scene.synced::<GoAlertAdmin>("a").await;
    scene.apply(&admin_yaml(
        "b",
        "  config:\n    - {id: Maintenance.APIKeyExpireDays, value: \"121\"}\n  systemLimits:\n    - {id: TargetsPerSchedule, value: 16}\n    - {id: UserOverridesPerSchedule, value: 41}\n",
    ));
    let a = scene.not_ready::<GoAlertAdmin>("a", "Conflict").await;
    let b_message = scene.not_ready::<GoAlertAdmin>("b", "Conflict").await;
    assert!(
        a.starts_with(&format!(
            "Maintenance.APIKeyExpireDays, TargetsPerSchedule also managed by GoAlertAdmin {ns}/b: "
        )),
        "{a}"
    );
    assert!(
        b_message.starts_with(&format!(
            "Maintenance.APIKeyExpireDays, TargetsPerSchedule also managed by GoAlertAdmin {ns}/a: "
        )),
        "{b_message}"
    );
    scene
        .wait_for_event("a", "Conflict: Maintenance.APIKeyExpireDays")
        .await;
    scene
        .wait_for_event("b", "Conflict: Maintenance.APIKeyExpireDays")
        .await;

    // The settings only one lists are applied; the shared ones keep the value a had set.
    assert_eq!(managed(scene, "a").await, ["Maintenance.ScheduleCleanupDays"]);
    assert_eq!(managed(scene, "b").await, ["UserOverridesPerSchedule"]);
    eventually("b's own limit is applied", CONVERGE, || async {
        let value = limits().await["UserOverridesPerSchedule"];
        if value == 41 {
            Ok(())
        } else {
            Err(value.to_string())
        }
    })
    .await;
    assert_eq!(config_value("Maintenance.APIKeyExpireDays").await, "91");
    assert_eq!(limits().await["TargetsPerSchedule"], 15);

    // b lets go: a is woken by the change and manages everything it lists again.
    scene.apply(&admin_yaml(
        "b",
        "  systemLimits:\n    - {id: UserOverridesPerSchedule, value: 41}\n",
    ));
    scene.synced::<GoAlertAdmin>("b").await;
    scene.synced::<GoAlertAdmin>("a").await;
    assert_eq!(
        managed(scene, "a").await,
        [
            "Maintenance.APIKeyExpireDays",
            "Maintenance.ScheduleCleanupDays",
            "TargetsPerSchedule"
        ]
    );
}

#[tokio::test]
async fn system_limits_are_set_and_changed() {
    let ids = ["ContactMethodsPerUser", "RulesPerSchedule"];
    let scene = Restoring::new(scene("admin-limits").await, &[], &ids).await;
    let scene = &scene.scene;
    let spec = |contact_methods: i64| {
        format!(
            "  systemLimits:\n    - id: ContactMethodsPerUser\n      value: {contact_methods}\n    - id: RulesPerSchedule\n      value: 45\n"
        )
    };
    scene.apply(&admin_yaml("limits", &spec(25)));
    scene.synced::<GoAlertAdmin>("limits").await;
    let now = limits().await;
    assert_eq!((now["ContactMethodsPerUser"], now["RulesPerSchedule"]), (25, 45));
    assert_eq!(managed(scene, "limits").await, ids);

    scene.apply(&admin_yaml("limits", &spec(-1)));
    scene.synced::<GoAlertAdmin>("limits").await;
    assert_eq!(limits().await["ContactMethodsPerUser"], -1, "-1 is unlimited");
    assert_eq!(requests(scene, "SetSystemLimits", "success").await, 2);

    let before = scene.mutations().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        scene.mutations().await,
        before,
        "a resync with nothing changed sends nothing"
    );
}
