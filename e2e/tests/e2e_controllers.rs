//! The user, rotation and schedule controllers end to end: kubectl or a kube client → the real
//! apiserver → the operator (out of cluster) → the real GoAlert, read back through GoAlert's API.
#![cfg(feature = "e2e")]

use std::time::Duration;

use e2e::{
    FreshGoAlert, Operator, eventually, kube_client, kubectl, namespace, remove_goalert_objects,
    scene::{CONVERGE, Scene, scene, secret_value, unique_email, user_yaml},
    testbed, unique_name,
};
use goalert_client::OPERATOR_DOCUMENT;
use goalert_provisioning::api::INSTANCE_ANNOTATION as INSTANCE;
use goalert_provisioning::api::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt, api::DeleteParams};
use serde_json::json;

#[tokio::test]
async fn the_whole_example_set_applies_in_any_order_and_matches_goalert() {
    let scene = scene("examples").await;
    // Dependents first: they wait (DependencyNotReady) and are woken by watches as their
    // dependencies become Ready.
    for file in [
        "my-app-alerts.yaml",
        "services.yaml",
        "escalation-policy.yaml",
        "schedule.yaml",
        "rotation.yaml",
        "users.yaml",
        "admin.yaml",
    ] {
        let path = format!("{}/examples/{file}", e2e::repo_root().display());
        let (ok, _, stderr) = kubectl(&["apply", "-n", &scene.namespace, "-f", &path], None);
        assert!(ok, "{file}: {stderr}");
    }
    let alice = scene.ready::<GoAlertUser>("alice").await;
    let bob = scene.ready::<GoAlertUser>("bob").await;
    let carol = scene.ready::<GoAlertUser>("carol").await;
    let rotation_id = scene.ready::<GoAlertRotation>("primary").await;
    let schedule_id = scene.ready::<GoAlertSchedule>("follow-the-sun").await;

    let rotation = scene.rotation(&rotation_id).await;
    assert_eq!(rotation["name"], "Platform Primary");
    assert_eq!(rotation["type"], "weekly");
    assert_eq!(rotation["timeZone"], "Europe/Amsterdam");
    assert_eq!(rotation["userIDs"], json!([alice, bob, carol]));

    let user = scene
        .graphql(
            "query($id: ID!) { user(id: $id) { name email role contactMethods { name disabled dest { type args } } notificationRules { delayMinutes contactMethod { name } } } }",
            json!({ "id": alice }),
        )
        .await["user"]
        .clone();
    assert_eq!(user["name"], "Alice Andersen");
    assert_eq!(user["role"], "admin");
    let methods: Vec<_> = user["contactMethods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(methods.len(), 2, "{user}");
    assert!(methods.contains(&"Mobile") && methods.contains(&"Work e-mail"));
    assert_eq!(user["notificationRules"].as_array().unwrap().len(), 2, "{user}");
    let status: GoAlertUser = scene.api::<GoAlertUser>().get("alice").await.unwrap();
    let verified = &status.status.unwrap().user.contact_methods;
    assert_eq!(verified.len(), 2);
    assert!(
        verified.iter().all(|c| !c.verified),
        "new contact methods wait for their owner's code"
    );

    let schedule = scene
        .graphql(
            "query($id: ID!) { schedule(id: $id) { name timeZone targets { target { id type } rules { start end weekdayFilter } } } }",
            json!({ "id": schedule_id }),
        )
        .await["schedule"]
        .clone();
    assert_eq!(schedule["timeZone"], "Etc/UTC");
    let targets = schedule["targets"].as_array().unwrap();
    assert_eq!(targets.len(), 4, "{schedule}");
    let weekend = targets
        .iter()
        .find(|t| t["target"]["id"] == rotation_id)
        .expect("the rotation is a target");
    assert_eq!(
        weekend["rules"][0]["weekdayFilter"],
        json!([true, false, false, false, false, false, true])
    );

    let policy_id = scene.ready::<GoAlertEscalationPolicy>("production-oncall").await;
    let policy = scene
        .graphql(
            "query($id: ID!) { escalationPolicy(id: $id) { name repeat steps { delayMinutes actions { type args } } } }",
            json!({ "id": policy_id }),
        )
        .await["escalationPolicy"]
        .clone();
    assert_eq!(policy["name"], "Production On-call");
    assert_eq!(policy["repeat"], 2);
    assert_eq!(
        policy["steps"][0]["actions"],
        json!([{ "type": "builtin-rotation", "args": { "rotation_id": rotation_id } }])
    );
    assert_eq!(policy["steps"][1]["actions"].as_array().unwrap().len(), 2);
    for service in ["checkout-api", "payments-worker"] {
        scene.ready::<GoAlertService>(service).await;
    }

    // The seed's example, unchanged: its Secret holds a key that really raises an alert.
    let service_id = scene.ready::<GoAlertService>("my-app-alerts").await;
    let service = scene.api::<GoAlertService>().get("my-app-alerts").await.unwrap();
    assert_eq!(
        service.status.unwrap().common.goalert_name.as_deref(),
        Some("My Application Production")
    );
    let secrets: Api<Secret> = scene.api();
    let url = secret_value(
        &secrets.get("my-app-goalert-keys").await.unwrap(),
        "grafana-token",
    );
    assert!(
        url.starts_with(&format!(
            "{}/api/v2/generic/incoming?token=",
            testbed().goalert_url
        )),
        "{url}"
    );
    let summary = unique_name("Disk full on db-1");
    let response = reqwest::Client::new()
        .post(&url)
        .form(&[("summary", summary.as_str())])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    let alerts = scene
        .graphql(
            "query($id: ID!) { alerts(input: { filterByServiceID: [$id], first: 10 }) { nodes { summary serviceID } } }",
            json!({ "id": service_id }),
        )
        .await;
    assert!(
        alerts.to_string().contains(&summary),
        "the alert is on the right service: {alerts}"
    );
    let checkout = secrets.get("checkout-api-goalert").await.unwrap();
    for key in [
        "grafana-url",
        "grafana-token",
        "alertmanager-url",
        "backup-heartbeat-url",
    ] {
        assert!(!secret_value(&checkout, key).is_empty(), "{key} written");
    }

    scene.synced::<GoAlertAdmin>("goalert-config").await;
    let config = scene
        .graphql(
            "{ config(all: true) { id value } systemLimits { id value } }",
            json!({}),
        )
        .await;
    let value = |list: &str, id: &str| {
        config[list]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["value"].clone())
            .unwrap()
    };
    assert!(
        value("config", "General.NotificationDisclaimer")
            .as_str()
            .unwrap()
            .starts_with("By adding a phone number")
    );
    assert_eq!(value("config", "Maintenance.AlertCleanupDays"), "180");
    assert_eq!(value("systemLimits", "ContactMethodsPerUser"), 15);

    // Steady state: several resyncs later, not one more mutation.
    let before = scene.mutations().await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    assert_eq!(
        scene.mutations().await,
        before,
        "a resync of objects in sync must send no mutation"
    );
    remove_goalert_objects(&scene.namespace);
}

/// A fresh object of each kind is made with everything GoAlert takes nested at create time:
/// the mutations the operator sends, per operation, are exactly the creates (and, for a user,
/// one contact method with its notification rule).
#[tokio::test]
async fn a_fresh_object_of_each_kind_is_one_create_request() {
    let scene = scene("nested").await;
    scene.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertUser\nmetadata:\n  name: first\nspec:\n  email: {}\n  contactMethods:\n    - name: Work e-mail\n      type: Email\n      value: {}\n  notificationRules:\n    - contactMethod: Work e-mail\n      delayMinutes: 0\n",
        unique_email("first"),
        unique_email("first.work"),
    ));
    scene.apply(&user_yaml("second", &unique_email("second")));
    scene.ready::<GoAlertUser>("first").await;
    scene.ready::<GoAlertUser>("second").await;
    let users = scene.mutations_by_operation().await;

    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let end = start + jiff::SignedDuration::from_hours(24);
    scene.apply(&format!(
        r#"apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertSchedule
metadata:
  name: schedule
spec:
  scheduleName: {}
  timeZone: Etc/UTC
  targets:
    - userRef: {{name: first}}
      rules: [{{start: "08:00", end: "20:00", weekdays: [Monday, Tuesday]}}]
    - userRef: {{name: second}}
  overrides:
    - addUserRef: {{name: second}}
      removeUserRef: {{name: first}}
      start: "{start}"
      end: "{end}"
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertEscalationPolicy
metadata:
  name: policy
spec:
  escalationPolicyName: {}
  steps:
    - delayMinutes: 5
      targets: [{{userRef: {{name: first}}}}, {{scheduleRef: {{name: schedule}}}}]
    - delayMinutes: 10
      targets: [{{userRef: {{name: second}}}}]
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertService
metadata:
  name: service
spec:
  serviceName: {}
  escalationPolicyRef: {{name: policy}}
  labels:
    team.example.com/owner: payments
  integrationKeys:
    - name: grafana
      type: Grafana
      secretRef: {{name: service-keys, key: grafana-url}}
    - name: alertmanager
      type: PrometheusAlertmanager
      secretRef: {{name: service-keys, key: alertmanager-url}}
  heartbeatMonitors:
    - name: backup
      timeoutMinutes: 60
      secretRef: {{name: service-keys, key: backup-url}}
"#,
        unique_name("Nested schedule"),
        unique_name("Nested policy"),
        unique_name("Nested service"),
    ));
    let schedule_id = scene.ready::<GoAlertSchedule>("schedule").await;
    let policy_id = scene.ready::<GoAlertEscalationPolicy>("policy").await;
    let service_id = scene.ready::<GoAlertService>("service").await;
    let mut created = scene.mutations_by_operation().await;
    for (operation, count) in &users {
        *created.get_mut(operation).unwrap() -= count;
    }
    created.retain(|_, count| *count > 0);
    let expected = |pairs: &[(&str, u64)]| {
        pairs
            .iter()
            .map(|(operation, count)| ((*operation).to_owned(), *count))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    // Both at once, so a failure shows every kind's count.
    assert_eq!(
        (users, created),
        (
            expected(&[
                ("CreateUser", 2),
                // With its notification rule.
                ("CreateContactMethod", 1),
            ]),
            expected(&[
                ("CreateEscalationPolicy", 1),
                ("CreateSchedule", 1),
                ("CreateService", 1),
            ])
        ),
        "(two users; a schedule, a policy and a service) need one request per object"
    );

    // And each really holds all of it.
    let goalert = scene
        .graphql(
            "query($s: ID!, $p: ID!, $v: ID!) {
                schedule(id: $s) { targets { target { id } rules { start } } }
                escalationPolicy(id: $p) { steps { delayMinutes actions { type } } }
                service(id: $v) { labels { key value } integrationKeys { name type } heartbeatMonitors { name timeoutMinutes } }
            }",
            json!({ "s": schedule_id, "p": policy_id, "v": service_id }),
        )
        .await;
    assert_eq!(
        goalert["schedule"]["targets"].as_array().unwrap().len(),
        2,
        "{goalert}"
    );
    assert_eq!(
        goalert["escalationPolicy"]["steps"][0]["actions"]
            .as_array()
            .unwrap()
            .len(),
        2,
        "{goalert}"
    );
    assert_eq!(
        goalert["escalationPolicy"]["steps"][1]["delayMinutes"], 10,
        "{goalert}"
    );
    let service = &goalert["service"];
    assert_eq!(
        service["labels"],
        json!([{ "key": "team.example.com/owner", "value": "payments" }])
    );
    assert_eq!(
        service["integrationKeys"].as_array().unwrap().len(),
        2,
        "{goalert}"
    );
    assert_eq!(
        service["heartbeatMonitors"],
        json!([{ "name": "backup", "timeoutMinutes": 60 }])
    );
    let overrides = scene
        .graphql(
            "query($id: ID!, $start: ISOTimestamp!) { userOverrides(input: { scheduleID: $id, start: $start }) { nodes { id } } }",
            json!({ "id": schedule_id, "start": jiff::Timestamp::now().to_string() }),
        )
        .await;
    assert_eq!(
        overrides["userOverrides"]["nodes"].as_array().unwrap().len(),
        1,
        "{overrides}"
    );
    let secrets: Api<Secret> = scene.api();
    let keys = secrets.get("service-keys").await.unwrap();
    for key in ["grafana-url", "alertmanager-url", "backup-url"] {
        assert!(
            !secret_value(&keys, key).is_empty(),
            "{key} written in the first round"
        );
    }
    let user = scene
        .graphql(
            "query($id: ID!) { user(id: $id) { notificationRules { delayMinutes contactMethod { name } } } }",
            json!({ "id": scene.ready::<GoAlertUser>("first").await }),
        )
        .await;
    assert_eq!(
        user["user"]["notificationRules"],
        json!([{ "delayMinutes": 0, "contactMethod": { "name": "Work e-mail" } }])
    );
    remove_goalert_objects(&scene.namespace);
}

/// GoAlert deletes a contact method once a verification code sent to it expires unentered (15
/// minutes after it was sent). The operator sends none, so a contact method nobody verifies stays,
/// unverified, instead of going and being made again, with a new code, at every resync.
#[tokio::test]
async fn a_contact_method_nobody_verifies_stays() {
    let scene = scene("unverified").await;
    scene.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertUser\nmetadata:\n  name: person\nspec:\n  email: {}\n  contactMethods:\n    - name: Work e-mail\n      type: Email\n      value: {}\n",
        unique_email("person"),
        unique_email("person.work"),
    ));
    let id = scene.ready::<GoAlertUser>("person").await;
    let user = scene.goalert.user(&id).await.unwrap().unwrap();
    let [method] = user.contact_methods.as_slice() else {
        panic!("one contact method: {:?}", user.contact_methods);
    };
    // Whatever code GoAlert holds for it expires now, as 15 minutes would make it, and GoAlert's
    // engine (a cycle every 5 s) has time to clean up.
    testbed().sql(&format!(
        "UPDATE user_verification_codes SET expires_at = now() - interval '1 minute' WHERE contact_method_id = '{}'",
        method.id
    ));
    tokio::time::sleep(Duration::from_secs(15)).await;
    let user = scene.goalert.user(&id).await.unwrap().unwrap();
    assert_eq!(
        user.contact_methods.iter().map(|m| &m.id).collect::<Vec<_>>(),
        [&method.id],
        "the contact method is still there"
    );
    assert!(user.contact_methods[0].disabled, "and unverified");
    let status = scene.api::<GoAlertUser>().get_status("person").await.unwrap();
    let reported = status.status.unwrap().user.contact_methods;
    assert_eq!(
        reported
            .iter()
            .map(|m| (m.name.as_str(), m.verified))
            .collect::<Vec<_>>(),
        [("Work e-mail", false)]
    );
    remove_goalert_objects(&scene.namespace);
}

#[tokio::test]
async fn updates_reorders_and_hand_made_drift_are_applied_in_place() {
    let scene = scene("updates").await;
    let rotation_name = unique_name("Rotation");
    scene.apply(&user_yaml("first", &unique_email("first")));
    scene.apply(&user_yaml("second", &unique_email("second")));
    scene.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: r\nspec:\n  rotationName: {rotation_name}\n  type: Daily\n  timeZone: UTC\n  start: \"2026-01-05T09:00:00Z\"\n  participants: [{{name: first}}, {{name: second}}]\n"
    ));
    let first = scene.ready::<GoAlertUser>("first").await;
    let second = scene.ready::<GoAlertUser>("second").await;
    let id = scene.ready::<GoAlertRotation>("r").await;
    assert_eq!(scene.rotation(&id).await["userIDs"], json!([first, second]));

    // Every field class at once, with a time zone alias GoAlert will canonicalise.
    scene
        .patch_spec::<GoAlertRotation>(
            "r",
            json!({
                "participants": [{ "name": "second" }, { "name": "first" }, { "name": "second" }],
                "description": "updated by the test",
                "shiftLength": 2,
                "type": "Weekly",
                "timeZone": "US/Central",
                "start": "2026-02-02T10:00:00-06:00",
            }),
        )
        .await;
    assert_eq!(
        scene.ready::<GoAlertRotation>("r").await,
        id,
        "the rotation is updated, not recreated"
    );
    let rotation = scene.rotation(&id).await;
    assert_eq!(rotation["userIDs"], json!([second, first, second]));
    assert_eq!(rotation["description"], "updated by the test");
    assert_eq!(rotation["shiftLength"], 2);
    assert_eq!(rotation["type"], "weekly");
    assert_eq!(rotation["timeZone"], "America/Chicago");
    let mutations = scene.mutations().await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        scene.mutations().await,
        mutations,
        "the alias and the re-expressed start are not drift"
    );

    scene
        .patch_spec::<GoAlertUser>("first", json!({ "displayName": "First Person", "role": "Admin" }))
        .await;
    scene.ready::<GoAlertUser>("first").await;
    let user = scene
        .graphql(
            "query($id: ID!) { user(id: $id) { name role } }",
            json!({ "id": first }),
        )
        .await;
    assert_eq!(user["user"], json!({ "name": "First Person", "role": "admin" }));

    // A change made by hand in GoAlert is reverted on the next resync, and said in an Event.
    scene
        .graphql(
            "mutation($input: UpdateRotationInput!) { updateRotation(input: $input) }",
            json!({ "input": { "id": id, "description": "edited by hand", "userIDs": [first] } }),
        )
        .await;
    eventually("the hand-made change is reverted", CONVERGE, || async {
        let rotation = scene.rotation(&id).await;
        if rotation["description"] == "updated by the test"
            && rotation["userIDs"] == json!([second, first, second])
        {
            Ok(())
        } else {
            Err(rotation.to_string())
        }
    })
    .await;
    let (_, metrics) = scene.operator.get("/metrics").await;
    assert!(
        metrics.contains(r#"goalert_provisioning_drift_corrections_total{field="spec.description",kind="GoAlertRotation"} 1"#),
                "{metrics}
{}",
        scene.operator.logs()
    );
    eventually("an Event names the corrected fields", CONVERGE, || async {
        let events = scene.events("r");
        let expected =
            "DriftCorrected: corrected changes made in GoAlert: spec.description, spec.participants";
        if events.contains(expected) {
            Ok(())
        } else {
            Err(events)
        }
    })
    .await;
}

#[tokio::test]
async fn deletion_deletes_in_goalert_unless_retained() {
    let scene = scene("deletion").await;
    let (deleted, kept) = (unique_name("Deleted"), unique_name("Kept"));
    for (name, goalert_name, policy) in [("deleted", &deleted, "Delete"), ("kept", &kept, "Retain")] {
        scene.apply(&format!(
            "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: {name}\nspec:\n  rotationName: {goalert_name}\n  type: Daily\n  timeZone: Etc/UTC\n  start: \"2026-01-05T09:00:00Z\"\n  deletionPolicy: {policy}\n"
        ));
    }
    let deleted_id = scene.ready::<GoAlertRotation>("deleted").await;
    let kept_id = scene.ready::<GoAlertRotation>("kept").await;
    let rotations = scene.api::<GoAlertRotation>();
    for name in ["deleted", "kept"] {
        rotations.delete(name, &DeleteParams::default()).await.unwrap();
    }
    eventually("both custom resources are gone", CONVERGE, || async {
        match (
            rotations.get_opt("deleted").await,
            rotations.get_opt("kept").await,
        ) {
            (Ok(None), Ok(None)) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
    assert!(
        scene.rotation(&deleted_id).await.is_null(),
        "Delete removes the GoAlert rotation"
    );
    assert_eq!(
        scene.rotation(&kept_id).await["name"],
        kept.as_str(),
        "Retain keeps it"
    );
}

#[tokio::test]
async fn bad_specs_give_a_condition_and_an_event_naming_the_field() {
    let scene = scene("bad-specs").await;
    scene.apply(&format!(
        "{}  contactMethods: [{{name: Mobile, type: SMS, value: \"+17635550111\"}}]\n  notificationRules: [{{contactMethod: Pager, delayMinutes: 0}}]\n",
        user_yaml("typo", &unique_email("typo"))
    ));
    let message = scene.not_ready::<GoAlertUser>("typo", "InvalidSpec").await;
    assert_eq!(
        message,
        "spec.notificationRules[0].contactMethod: no contact method named \"Pager\" in spec.contactMethods"
    );
    scene.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: mars\nspec:\n  rotationName: {}\n  type: Daily\n  timeZone: Mars/Olympus_Mons\n  start: \"2026-01-05T09:00:00Z\"\n",
        unique_name("Mars")
    ));
    let message = scene.not_ready::<GoAlertRotation>("mars", "InvalidSpec").await;
    assert!(
        message.starts_with("spec.timeZone: \"Mars/Olympus_Mons\" is not an IANA time zone"),
        "{message}"
    );
    eventually("the Events name the fields", CONVERGE, || async {
        let (typo, mars) = (scene.events("typo"), scene.events("mars"));
        if typo.contains("InvalidSpec: spec.notificationRules[0].contactMethod")
            && mars.contains("InvalidSpec: spec.timeZone")
        {
            Ok(())
        } else {
            Err(format!("{typo}\n{mars}"))
        }
    })
    .await;
}

/// The crash window the design guards against: GoAlert has the new object, the status write never
/// happened. The first operator may not write status (its RBAC lacks the status subresource), so
/// it creates the rotation and fails; it is then killed with SIGKILL, and a second operator with
/// full rights must take that one rotation over, not create another.
#[tokio::test]
async fn a_crash_between_create_and_status_write_leaves_exactly_one_object() {
    let namespace = namespace("crash").await;
    let rotation_name = unique_name("Crash");
    let kubeconfig = kubeconfig_without_status_rights(&namespace);
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let env = [
        ("GOALERT_URL", testbed().goalert_url.as_str()),
        ("GOALERT_API_KEY", key.as_str()),
    ];
    let mut crashing = Operator::start(
        &namespace,
        &[&env[..], &[("KUBECONFIG", kubeconfig.as_str())]].concat(),
    );
    let (ok, _, stderr) = kubectl(
        &["apply", "-n", &namespace, "-f", "-"],
        Some(&format!(
            "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: crash\nspec:\n  rotationName: {rotation_name}\n  type: Daily\n  timeZone: Etc/UTC\n  start: \"2026-01-05T09:00:00Z\"\n"
        )),
    );
    assert!(ok, "{stderr}");
    let admin = testbed().admin();
    eventually("the first operator created the rotation", CONVERGE, || async {
        admin
            .rotation_id_by_name(&rotation_name)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("not yet".to_owned())
    })
    .await;
    assert!(
        crashing.logs().contains("forbidden"),
        "the status write must have failed: {}",
        crashing.logs()
    );
    crashing.kill();

    let scene = Scene {
        namespace: namespace.clone(),
        operator: Operator::start(&namespace, &env),
        kube: kube_client().await,
        goalert: admin,
    };
    let id = scene.ready::<GoAlertRotation>("crash").await;
    let matches = scene
        .graphql(
            "query($s: String!) { rotations(input: {search: $s, first: 149}) { nodes { id name } } }",
            json!({ "s": rotation_name }),
        )
        .await;
    let same_name: Vec<_> = matches["rotations"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["name"].as_str().unwrap().eq_ignore_ascii_case(&rotation_name))
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        same_name,
        vec![id],
        "exactly one GoAlert rotation, the one the resource now records"
    );
    let _ = &scene.goalert;
}

/// A kubeconfig for a service account that may manage rotations but not write their status.
fn kubeconfig_without_status_rights(namespace: &str) -> String {
    let account = format!("no-status-{namespace}");
    let rbac = format!(
        r#"apiVersion: v1
kind: ServiceAccount
metadata: {{name: {account}, namespace: {namespace}}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {{name: {account}}}
rules:
- apiGroups: [goalert.heystaq.com]
  resources: [goalertusers, goalertrotations, goalertschedules]
  verbs: [get, list, watch, patch, update]
- apiGroups: ["", events.k8s.io]
  resources: [events]
  verbs: [create, patch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {{name: {account}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: {account}}}
subjects: [{{kind: ServiceAccount, name: {account}, namespace: {namespace}}}]
"#
    );
    let (ok, _, stderr) = kubectl(&["apply", "-f", "-"], Some(&rbac));
    assert!(ok, "{stderr}");
    let (ok, token, stderr) = kubectl(&["create", "token", &account, "-n", namespace], None);
    assert!(ok, "{stderr}");
    let path = std::env::temp_dir().join(format!("{account}.kubeconfig"));
    std::fs::copy(&testbed().kubeconfig, &path).unwrap();
    let path = path.to_string_lossy().into_owned();
    let status = std::process::Command::new("kubectl")
        .args([
            "config",
            "set-credentials",
            "testbed-admin",
            "--token",
            token.trim(),
        ])
        .env("KUBECONFIG", &path)
        .status()
        .unwrap();
    assert!(status.success());
    path
}

/// How many users with this e-mail the GoAlert at `url` has.
async fn users_with_email(url: &str, email: &str) -> usize {
    let admin = testbed().admin_of(url);
    admin.user_ids_by_email(email).await.unwrap().len()
}

#[tokio::test]
async fn an_operator_of_another_goalert_whose_watch_overlaps_leaves_the_resources_alone() {
    let other = FreshGoAlert::start().await;
    let scene = scene("overlap").await;
    let first_email = unique_email("overlap-first");
    scene.apply(&user_yaml("first", &first_email));
    let first_id = scene.ready::<GoAlertUser>("first").await;
    let instance = |url: &str| url.trim_end_matches('/').to_owned();
    let annotation = |user: &GoAlertUser| user.annotations().get(INSTANCE).cloned();
    let users = scene.api::<GoAlertUser>();
    let first = users.get("first").await.unwrap();
    assert_eq!(annotation(&first), Some(instance(&testbed().goalert_url)));

    // A second operator, of another GoAlert, watching the same namespace.
    let tb = testbed();
    let second = Operator::start(
        &scene.namespace,
        &[
            ("GOALERT_URL", other.url.as_str()),
            ("GOALERT_USERNAME", tb.admin_user.as_str()),
            ("GOALERT_PASSWORD", tb.admin_password.as_str()),
            ("RESYNC_PERIOD", "3s"),
        ],
    );
    scene.wait_for_event("first", "ManagedElsewhere").await;
    // A resource applied while both run belongs to exactly one of them.
    let second_email = unique_email("overlap-second");
    scene.apply(&user_yaml("second", &second_email));
    let second_id = scene.ready::<GoAlertUser>("second").await;
    // Three resync periods: neither operator takes the other's resource over.
    tokio::time::sleep(Duration::from_secs(10)).await;

    // The first operator's own resyncs may reword Ready; the second would point it elsewhere.
    let first_now = users.get("first").await.unwrap();
    let points_at = |user: &GoAlertUser| {
        let status = user.status.as_ref().map(|s| &s.common);
        status.map(|s| (s.goalert_id.clone(), s.url.clone()))
    };
    assert_eq!(
        points_at(&first_now),
        points_at(&first),
        "the second operator never wrote the status"
    );
    assert_eq!(users_with_email(&other.url, &first_email).await, 0);
    assert_eq!(users_with_email(&testbed().goalert_url, &first_email).await, 1);
    assert_eq!(
        first_now.status.unwrap().common.goalert_id.as_deref(),
        Some(first_id.as_str())
    );

    let second_now = users.get("second").await.unwrap();
    let owner = annotation(&second_now).expect("one operator recorded itself");
    let (owner_url, other_url) = if owner == instance(&other.url) {
        (other.url.as_str(), testbed().goalert_url.as_str())
    } else {
        assert_eq!(owner, instance(&testbed().goalert_url));
        (testbed().goalert_url.as_str(), other.url.as_str())
    };
    assert_eq!(users_with_email(owner_url, &second_email).await, 1);
    assert_eq!(
        users_with_email(other_url, &second_email).await,
        0,
        "never made twice"
    );
    assert_eq!(
        second_now.status.unwrap().common.goalert_id.as_deref(),
        Some(second_id.as_str())
    );
    drop(second);
}
