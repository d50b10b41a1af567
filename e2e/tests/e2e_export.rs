//! `goalert-provisioning export` end to end: a setup made by hand in one GoAlert, exported by the
//! real binary, applied with kubectl to the real apiserver, reconciled by the operator into an
//! empty GoAlert (same setup) and back into the first one (adopted, nothing changed).
//!
//! Both GoAlerts are the test's own ([`FreshGoAlert`]): an export covers everything in a GoAlert,
//! which in the shared one includes whatever other tests are doing at the time.
#![cfg(feature = "e2e")]

use std::{
    collections::{BTreeMap, BTreeSet},
    process::Command,
    time::{Duration, Instant},
};

use e2e::{
    FreshGoAlert, operator_binary, remove_goalert_objects,
    scene::{HasStatus, Scene, scene_for, secret_value},
    testbed, webhooks,
};
use goalert_provisioning::api::{
    GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
};
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use serde_json::{Value, json};

#[tokio::test]
async fn an_export_recreates_the_setup_elsewhere_and_is_adopted_unchanged_at_home() {
    // Declared before the scenes, so their operators stop before the GoAlerts do.
    let home = FreshGoAlert::start().await;
    let elsewhere = FreshGoAlert::start().await;
    let made = make_setup(&home).await;

    let export = run_export(&home, &[]);
    assert!(export.ok, "export failed: {}", export.stderr);
    assert!(
        !export.stderr.contains("warning:"),
        "everything in the setup is expressible: {}",
        export.stderr
    );
    assert!(
        export
            .stderr
            .contains("exported 4 users, 2 rotations, 1 schedules, 1 escalation policies, 2 services"),
        "{}",
        export.stderr
    );
    let yaml = export.stdout;
    assert_eq!(
        run_export(&home, &[]).stdout,
        yaml,
        "the same GoAlert exports to the same bytes"
    );
    for credential in &made.credentials {
        assert!(
            !yaml.contains(credential.as_str()),
            "a key or its URL leaked: {credential}"
        );
    }
    assert!(!yaml.contains("token"), "{yaml}");
    assert!(
        !yaml.contains("namespace:"),
        "without --namespace, kubectl apply -n decides"
    );
    let objects = objects(&yaml);

    // Into an empty GoAlert: the same setup, field by field.
    let there = scene_for(&elsewhere, "export-elsewhere").await;
    there.apply(&yaml);
    wait_until_ready(&there, &objects).await;
    assert_eq!(
        setup(&elsewhere).await,
        setup(&home).await,
        "the second GoAlert holds the same setup, modulo IDs and generated keys"
    );

    // Back into the GoAlert it came from: every object adopted, nothing sent to GoAlert.
    let keys_before = credentials(&home).await;
    let here = scene_for(&home, "export-home").await;
    here.apply(&yaml);
    wait_until_ready(&here, &objects).await;
    for (kind, name) in &objects {
        assert_eq!(
            adopted(&here, kind, name).await,
            Some(true),
            "{kind} {name} took over the existing object"
        );
    }
    let (_, metrics) = here.operator.get("/metrics").await;
    assert!(
        metrics.contains(
            r#"goalert_provisioning_goalert_requests_total{operation="AllServices",result="success"}"#
        ),
        "the operator read GoAlert, and counts what it sends: {metrics}"
    );
    assert_eq!(here.mutations().await, 0, "{}", here.operator.logs());
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(
        here.mutations().await,
        0,
        "resyncs find nothing to change either: {}",
        here.operator.logs()
    );
    assert_eq!(
        credentials(&home).await,
        keys_before,
        "keys and monitors are the same ones, not rotated"
    );
    let secrets: Api<Secret> = here.api();
    let checkout = secrets.get("checkout-api-goalert").await.unwrap();
    let service = home.admin().service(&made.checkout).await.unwrap().unwrap();
    for (name, key) in [("alertmanager", "alertmanager-url"), ("grafana", "grafana-url")] {
        let href = &service
            .integration_keys
            .iter()
            .find(|k| k.name == name)
            .unwrap()
            .href;
        assert_eq!(&secret_value(&checkout, key), href, "{name}: the existing URL");
    }
    assert_eq!(
        secret_value(&checkout, "nightly-backup-heartbeat-url"),
        service.heartbeat_monitors[0].href
    );
    let overrides = home
        .graphql(
            "query($id: ID!, $start: ISOTimestamp!) { userOverrides(input: { scheduleID: $id, start: $start }) { nodes { id } } }",
            json!({ "id": made.schedule, "start": "2000-01-01T00:00:00Z" }),
        )
        .await;
    assert_eq!(
        overrides["userOverrides"]["nodes"],
        json!([{ "id": made.override_id }]),
        "the swap made in the UI is not exported, and left alone"
    );
    remove_goalert_objects(&there.namespace);
    remove_goalert_objects(&here.namespace);
}

#[tokio::test]
async fn export_needs_an_administrator_and_says_what_it_leaves_out() {
    let goalert = FreshGoAlert::start().await;
    let data = goalert
        .graphql(
            "mutation { createUser(input: { username: \"responder\", password: \"responder-password\", name: \"Responder\", email: \"responder@example.com\" }) { id } }",
            json!({}),
        )
        .await;
    let responder = data["createUser"]["id"].as_str().unwrap();
    let refused = run_export_as(&goalert, "responder", "responder-password", &[]);
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("only a GoAlert administrator may: \"Responder\" is not one"),
        "{}",
        refused.stderr
    );
    assert!(refused.stdout.is_empty());

    let schedule = goalert
        .graphql(
            "mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { id } }",
            json!({ "input": { "name": "Support", "timeZone": "Europe/Berlin", "targets": [
                { "target": { "type": "user", "id": responder }, "rules": [
                    { "start": "00:00", "end": "00:00", "weekdayFilter": [true, true, true, true, true, true, true] },
                ] },
            ] } }),
        )
        .await["createSchedule"]["id"]
        .clone();
    goalert
        .graphql(
            "mutation($input: SetScheduleOnCallNotificationRulesInput!) { setScheduleOnCallNotificationRules(input: $input) }",
            json!({ "input": { "scheduleID": schedule, "rules": [{
                "dest": { "type": "builtin-webhook", "args": { "webhook_url": "https://chat.example.com/hook" } },
                "time": "09:00", "weekdayFilter": [false, true, true, true, true, true, false]
            }] } }),
        )
        .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("setup.yaml");
    let export = run_export(
        &goalert,
        &["--namespace", "team-a", "--output", file.to_str().unwrap()],
    );
    assert!(export.ok, "{}", export.stderr);
    assert!(export.stdout.is_empty(), "--output takes the manifests");
    let warning = "schedule \"Support\": its 1 on-call notification rule(s) are left out";
    assert!(
        export.stderr.contains(&format!("warning: {warning}")),
        "{}",
        export.stderr
    );
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert!(yaml.contains(&format!("# Not exported: {warning}")), "{yaml}");
    assert_eq!(yaml.matches("namespace: team-a").count(), 3, "{yaml}");
    let (ok, _, stderr) = e2e::kubectl(&["apply", "--dry-run=client", "-f", "-"], Some(&yaml));
    assert!(ok, "kubectl reads the file: {stderr}");
}

/// Tables GoAlert writes while nobody changes anything: the sessions that logins (the export's,
/// the operator's, this test's reads) open.
const TABLES_THAT_MOVE: [&str; 1] = ["auth_user_sessions"];

/// Brownfield: an organisation made by GoAlert's own data generator, exported and applied back
/// in one pass (one `kubectl apply` of the whole export) with both webhooks on: every object
/// Ready, adopted, and GoAlert's database unchanged. RESETDB_MULT scales the organisation
/// (0.05 by default keeps CI quick; 0.25 is a mid-sized company, about 1,700 objects).
#[tokio::test]
async fn a_generated_organisation_is_adopted_in_one_pass_with_the_webhooks_on_changing_nothing() {
    let mult = std::env::var("RESETDB_MULT").unwrap_or_else(|_| "0.05".into());
    let goalert = FreshGoAlert::generated(&mult, "1").await;
    let export = run_export(&goalert, &[]);
    assert!(export.ok, "export failed: {}", export.stderr);
    let objects = objects(&export.stdout);
    let services = objects
        .iter()
        .filter(|(kind, _)| kind == "GoAlertService")
        .count();
    assert!(
        services >= 10,
        "the generator made an organisation: {}",
        export.stderr
    );
    let before = goalert.dump(&TABLES_THAT_MOVE);

    let webhooks = webhooks::serve_for("brownfield", &goalert).await;
    let scene = &webhooks.scene;
    let started = Instant::now();
    scene.apply(&export.stdout);
    let admitted = started.elapsed();
    wait_until_ready(scene, &objects).await;
    let ready = started.elapsed();

    for (kind, name) in &objects {
        assert_eq!(adopted(scene, kind, name).await, Some(true), "{kind} {name}");
    }
    let mutations = scene.mutations().await;
    assert_eq!(mutations, 0, "{}", scene.operator.logs());
    let without_url = keys_without_url(scene).await;
    let after = goalert.dump(&TABLES_THAT_MOVE);
    if after != before {
        let old: BTreeSet<&str> = before.lines().collect();
        let new: BTreeSet<&str> = after.lines().collect();
        let changed: Vec<_> = new.symmetric_difference(&old).take(20).collect();
        panic!(
            "GoAlert's database changed:\n{}",
            changed
                .iter()
                .map(|l| l.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        !scene.operator.logs().contains('\u{1b}'),
        "a log file gets no colour codes"
    );
    println!(
        "brownfield (resetdb -mult {mult}): {} objects ({}), admitted in one apply in {admitted:?}, all Ready \
         and adopted after {ready:?}, {mutations} GoAlert mutations, database unchanged; {without_url} \
         services Ready with integration keys GoAlert gives no URL (condition CredentialsWritten)",
        objects.len(),
        export
            .stderr
            .lines()
            .find(|l| l.contains("exported"))
            .unwrap_or_default()
            .trim(),
    );
    remove_goalert_objects(&scene.namespace);
}

/// How many services say, beside Ready, that GoAlert gave some of their keys no URL.
async fn keys_without_url(scene: &Scene) -> usize {
    let services = scene
        .api::<GoAlertService>()
        .list(&Default::default())
        .await
        .unwrap();
    services
        .items
        .iter()
        .filter(|service| {
            let conditions = service.status.as_ref().map(|s| s.common.conditions.as_slice());
            conditions
                .unwrap_or_default()
                .iter()
                .any(|c| c.type_ == "CredentialsWritten" && c.status == "False" && c.reason == "NoURL")
        })
        .count()
}

/// What the setup made by hand left to check afterwards.
struct Made {
    checkout: String,
    schedule: String,
    override_id: String,
    /// Every key's and monitor's ID and URL: none may appear in an export.
    credentials: Vec<String>,
}

/// A realistic setup, made the way people make it: through GoAlert's API, not the operator.
async fn make_setup(goalert: &FreshGoAlert) -> Made {
    let mut users = BTreeMap::new();
    for (username, name, email, role) in [
        ("alice.a", "Alice Andersen", "alice@example.com", "admin"),
        ("bob", "Bob Baker", "bob@example.com", "user"),
        ("carol", "Carol Chen", "carol@example.com", "user"),
    ] {
        let data = goalert
            .graphql(
                "mutation($input: CreateUserInput!) { createUser(input: $input) { id } }",
                json!({ "input": { "username": username, "password": "a-long-password", "name": name,
                                   "email": email, "role": role } }),
            )
            .await;
        users.insert(username, data["createUser"]["id"].as_str().unwrap().to_owned());
    }
    let (alice, bob, carol) = (&users["alice.a"], &users["bob"], &users["carol"]);
    for (user, name, dest_type, arg, value, status_updates, delays) in [
        (
            alice,
            "Mobile",
            "builtin-twilio-sms",
            "phone_number",
            "+17635550101",
            false,
            &[0][..],
        ),
        (
            alice,
            "Work e-mail",
            "builtin-smtp-email",
            "email_address",
            "alice@example.com",
            true,
            &[5],
        ),
        (
            bob,
            "Phone call",
            "builtin-twilio-voice",
            "phone_number",
            "+17635550102",
            false,
            &[3],
        ),
        (
            bob,
            "Mobile",
            "builtin-twilio-sms",
            "phone_number",
            "+17635550103",
            false,
            &[0, 10],
        ),
        (
            carol,
            "Pager bridge",
            "builtin-webhook",
            "webhook_url",
            "https://pager-bridge.example.com/goalert",
            false,
            &[0],
        ),
        (
            carol,
            "Work e-mail",
            "builtin-smtp-email",
            "email_address",
            "carol@example.com",
            false,
            &[2],
        ),
    ] {
        let data = goalert
            .graphql(
                "mutation($input: CreateUserContactMethodInput!) { createUserContactMethod(input: $input) { id } }",
                json!({ "input": { "userID": user, "name": name, "enableStatusUpdates": status_updates,
                                   "dest": { "type": dest_type, "args": { arg: value } } } }),
            )
            .await;
        let method = data["createUserContactMethod"]["id"].clone();
        for delay in delays {
            goalert
                .graphql(
                    "mutation($input: CreateUserNotificationRuleInput!) { createUserNotificationRule(input: $input) { id } }",
                    json!({ "input": { "userID": user, "contactMethodID": method, "delayMinutes": delay } }),
                )
                .await;
        }
    }
    goalert
        .graphql(
            "mutation($input: AuthSubjectInput!) { addAuthSubject(input: $input) }",
            json!({ "input": { "userID": carol, "providerID": "oidc", "subjectID": "carol-at-the-idp" } }),
        )
        .await;

    let create_rotation = |input: Value| async move {
        goalert
            .graphql(
                "mutation($input: CreateRotationInput!) { createRotation(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await["createRotation"]["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let primary = create_rotation(json!({
        "name": "Platform Primary", "description": "Hand-over on Monday morning",
        "timeZone": "Europe/Amsterdam", "start": "2026-01-05T09:00:00+01:00", "type": "weekly",
        "userIDs": [alice, bob, carol],
    }))
    .await;
    create_rotation(json!({
        "name": "Database nights", "timeZone": "UTC", "start": "2026-01-05T20:00:00Z",
        "type": "daily", "shiftLength": 2, "userIDs": [bob, carol, bob],
    }))
    .await;

    let weekdays = json!([false, true, true, true, true, true, false]);
    let schedule = goalert
        .graphql(
            "mutation($input: CreateScheduleInput!) { createSchedule(input: $input) { id } }",
            json!({ "input": {
                "name": "Platform Follow the Sun", "description": "Office hours on weekdays",
                "timeZone": "America/New_York",
                "targets": [
                    { "target": { "type": "rotation", "id": primary }, "rules": [
                        { "start": "00:00", "end": "00:00", "weekdayFilter": [true, false, false, false, false, false, true] },
                        { "start": "18:00", "end": "08:00", "weekdayFilter": weekdays },
                    ] },
                    { "target": { "type": "user", "id": alice }, "rules": [
                        { "start": "08:00", "end": "13:00", "weekdayFilter": weekdays },
                    ] },
                    { "target": { "type": "user", "id": carol }, "rules": [
                        { "start": "13:00", "end": "18:00", "weekdayFilter": weekdays },
                    ] },
                ],
            } }),
        )
        .await["createSchedule"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let swap = goalert
        .graphql(
            "mutation($input: CreateUserOverrideInput!) { createUserOverride(input: $input) { id } }",
            json!({ "input": { "scheduleID": schedule, "addUserID": bob, "removeUserID": alice,
                               "start": "2030-01-07T13:00:00Z", "end": "2030-01-07T18:00:00Z" } }),
        )
        .await;

    let policy = goalert
        .graphql(
            "mutation($input: CreateEscalationPolicyInput!) { createEscalationPolicy(input: $input) { id } }",
            json!({ "input": {
                "name": "Production On-call", "description": "Platform team, production services",
                "repeat": 2,
                "steps": [
                    { "delayMinutes": 5, "actions": [
                        { "type": "builtin-rotation", "args": { "rotation_id": primary } },
                    ] },
                    { "delayMinutes": 15, "actions": [
                        { "type": "builtin-schedule", "args": { "schedule_id": schedule } },
                        { "type": "builtin-user", "args": { "user_id": alice } },
                        { "type": "builtin-webhook", "args": { "webhook_url": "https://chat.example.com/escalations" } },
                    ] },
                ],
            } }),
        )
        .await["createEscalationPolicy"]["id"]
        .clone();

    let mut services = Vec::new();
    for input in [
        json!({
            "name": "Checkout API", "description": "Public checkout API (production)",
            "escalationPolicyID": policy,
            "labels": [
                { "key": "team.example.com/owner", "value": "platform" },
                { "key": "tier.example.com/level", "value": "gold" },
            ],
            "newIntegrationKeys": [
                { "type": "grafana", "name": "grafana" },
                { "type": "prometheusAlertmanager", "name": "alertmanager" },
            ],
            "newHeartbeatMonitors": [
                { "name": "nightly-backup", "timeoutMinutes": 1500,
                  "additionalDetails": "The nightly database backup did not report in 25 hours." },
            ],
        }),
        json!({
            "name": "Payments Worker", "escalationPolicyID": policy,
            "newIntegrationKeys": [{ "type": "generic", "name": "Generic API" }],
        }),
    ] {
        let data = goalert
            .graphql(
                "mutation($input: CreateServiceInput!) { createService(input: $input) { id } }",
                json!({ "input": input }),
            )
            .await;
        services.push(data["createService"]["id"].as_str().unwrap().to_owned());
    }
    let credentials = credentials(goalert)
        .await
        .into_iter()
        .flat_map(|(id, href)| [id, href])
        .collect();
    Made {
        checkout: services[0].clone(),
        schedule,
        override_id: swap["createUserOverride"]["id"].as_str().unwrap().to_owned(),
        credentials,
    }
}

struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

fn run_export(goalert: &FreshGoAlert, args: &[&str]) -> Run {
    let tb = testbed();
    run_export_as(goalert, &tb.admin_user, &tb.admin_password, args)
}

/// The real binary, with the login in the environment as people would pass it.
fn run_export_as(goalert: &FreshGoAlert, username: &str, password: &str, args: &[&str]) -> Run {
    let output = Command::new(operator_binary())
        .arg("export")
        .args(args)
        .env_clear()
        .env("GOALERT_URL", &goalert.url)
        .env("GOALERT_USERNAME", username)
        .env("GOALERT_PASSWORD", password)
        .output()
        .unwrap();
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// (kind, metadata.name) of every object in the export.
fn objects(yaml: &str) -> Vec<(String, String)> {
    yaml.split("\n---\n")
        .skip(1)
        .map(|document| {
            let object: serde_yaml::Value = serde_yaml::from_str(document).unwrap();
            let field = |value: &serde_yaml::Value| value.as_str().unwrap().to_owned();
            (field(&object["kind"]), field(&object["metadata"]["name"]))
        })
        .collect()
}

/// Runs `$body` with `$kind` (a kind's name) bound to its type as `$k`.
macro_rules! by_kind {
    ($kind:expr, |$k:ident| $body:expr) => {
        match $kind {
            "GoAlertUser" => {
                type $k = GoAlertUser;
                $body
            }
            "GoAlertRotation" => {
                type $k = GoAlertRotation;
                $body
            }
            "GoAlertSchedule" => {
                type $k = GoAlertSchedule;
                $body
            }
            "GoAlertEscalationPolicy" => {
                type $k = GoAlertEscalationPolicy;
                $body
            }
            "GoAlertService" => {
                type $k = GoAlertService;
                $body
            }
            other => panic!("an export holds no {other}"),
        }
    };
}

async fn wait_until_ready(scene: &Scene, objects: &[(String, String)]) {
    for (kind, name) in objects {
        by_kind!(kind.as_str(), |K| scene.ready::<K>(name).await);
    }
}

async fn adopted(scene: &Scene, kind: &str, name: &str) -> Option<bool> {
    by_kind!(kind, |K| {
        let object = scene.api::<K>().get(name).await.unwrap();
        object.common().and_then(|status| status.adopted)
    })
}

/// (ID, URL) of every integration key and heartbeat monitor, sorted.
async fn credentials(goalert: &FreshGoAlert) -> Vec<(String, String)> {
    let data = goalert
        .graphql(
            "{ services(input: { first: 149 }) { nodes { integrationKeys { id href } heartbeatMonitors { id href } } } }",
            json!({}),
        )
        .await;
    let mut credentials: Vec<_> = data["services"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            let keys = s["integrationKeys"].as_array().unwrap().iter();
            keys.chain(s["heartbeatMonitors"].as_array().unwrap())
        })
        .map(|c| (text(&c["id"]), text(&c["href"])))
        .collect();
    credentials.sort();
    credentials
}

fn text(value: &Value) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

/// Everything the export covers, read straight from GoAlert's API (not through the code under
/// test) with every ID replaced by the unique name or e-mail of what it points to, and lists in
/// a fixed order: two GoAlerts with the same setup give equal values.
async fn setup(goalert: &FreshGoAlert) -> Value {
    let data = goalert
        .graphql(
            "{
              users(input: { first: 149 }) { nodes { id name email role
                authSubjects { providerID subjectID }
                contactMethods { id name dest { type args } statusUpdates }
                notificationRules { delayMinutes contactMethodID } } }
              rotations(input: { first: 149 }) { nodes { id name description timeZone type shiftLength start userIDs } }
              schedules(input: { first: 149 }) { nodes { id name description timeZone
                targets { target { id type } rules { start end weekdayFilter } } } }
              escalationPolicies(input: { first: 149 }) { nodes { id name description repeat
                steps { delayMinutes actions { type args } } } }
              services(input: { first: 149 }) { nodes { name description escalationPolicy { name }
                labels { key value } integrationKeys { name type }
                heartbeatMonitors { name timeoutMinutes additionalDetails } } }
            }",
            json!({}),
        )
        .await;
    let nodes = |field: &str| data[field]["nodes"].as_array().unwrap().clone();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for user in nodes("users") {
        names.insert(text(&user["id"]), text(&user["email"]));
    }
    for kind in ["rotations", "schedules", "escalationPolicies"] {
        for object in nodes(kind) {
            names.insert(text(&object["id"]), text(&object["name"]));
        }
    }
    let name_of = |id: &Value| {
        names
            .get(id.as_str().unwrap())
            .cloned()
            .unwrap_or_else(|| text(id))
    };
    let sorted = |mut values: Vec<Value>| {
        values.sort_by_key(|v| v.to_string());
        Value::Array(values)
    };
    let without_ids = |mut args: Value| {
        for value in args.as_object_mut().unwrap().values_mut() {
            *value = Value::String(name_of(value));
        }
        args
    };

    let users: Vec<_> = nodes("users")
        .into_iter()
        .map(|user| {
            let methods = user["contactMethods"].as_array().unwrap();
            let method_name = |id: &Value| {
                let method = methods.iter().find(|m| m["id"] == *id).unwrap();
                text(&method["name"])
            };
            json!({
                "email": user["email"], "name": user["name"], "role": user["role"],
                "authSubjects": sorted(user["authSubjects"].as_array().unwrap().clone()),
                "contactMethods": sorted(methods.iter()
                    .map(|m| json!({ "name": m["name"], "dest": m["dest"], "statusUpdates": m["statusUpdates"] }))
                    .collect()),
                "notificationRules": sorted(user["notificationRules"].as_array().unwrap().iter()
                    .map(|r| json!([method_name(&r["contactMethodID"]), r["delayMinutes"]]))
                    .collect()),
            })
        })
        .collect();
    let rotations: Vec<_> = nodes("rotations")
        .into_iter()
        .map(|mut r| {
            r["userIDs"] = r["userIDs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|id| json!(name_of(id)))
                .collect();
            r.as_object_mut().unwrap().remove("id");
            r
        })
        .collect();
    let schedules: Vec<_> = nodes("schedules")
        .into_iter()
        .map(|s| {
            let targets = s["targets"].as_array().unwrap().iter().map(|t| {
                json!({
                    "target": [t["target"]["type"], name_of(&t["target"]["id"])],
                    "rules": sorted(t["rules"].as_array().unwrap().clone()),
                })
            });
            json!({ "name": s["name"], "description": s["description"], "timeZone": s["timeZone"],
                    "targets": sorted(targets.collect()) })
        })
        .collect();
    let policies: Vec<_> = nodes("escalationPolicies")
        .into_iter()
        .map(|p| {
            let steps: Vec<_> = p["steps"].as_array().unwrap().iter().map(|step| {
                let actions = step["actions"].as_array().unwrap().iter().map(|a| {
                    json!({ "type": a["type"], "args": without_ids(a["args"].clone()) })
                });
                json!({ "delayMinutes": step["delayMinutes"], "actions": sorted(actions.collect()) })
            })
            .collect();
            json!({ "name": p["name"], "description": p["description"], "repeat": p["repeat"], "steps": steps })
        })
        .collect();
    let services: Vec<_> = nodes("services")
        .into_iter()
        .map(|mut s| {
            for list in ["labels", "integrationKeys", "heartbeatMonitors"] {
                s[list] = sorted(s[list].as_array().unwrap().clone());
            }
            s
        })
        .collect();
    json!({
        "users": sorted(users),
        "rotations": sorted(rotations),
        "schedules": sorted(schedules),
        "escalationPolicies": sorted(policies),
        "services": sorted(services),
    })
}
