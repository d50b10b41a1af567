//! Moving onto a GoAlert that already holds hand-made objects: adoption of every kind, refusal,
//! adopting an exact ID, observe-only, deletion policies for created and adopted objects, drift
//! reported instead of corrected, suspend and per-object resync. Every object "made by hand" is
//! made through GoAlert's API as an administrator, never by the operator.
#![cfg(feature = "e2e")]

use std::{collections::BTreeMap, time::Duration};

use e2e::{
    Operator, eventually, kube_client, kubectl, namespace,
    scene::{CONVERGE, HasStatus, Scene, scene, scene_with, secret_value, unique_email},
    testbed, unique_name,
};
use goalert_client::{
    GoAlert, OPERATOR_DOCUMENT,
    model::{
        Destination, IntegrationKeyType, NewContactMethod, NewEscalationPolicy, NewEscalationStep,
        NewSchedule, NewService, NewUser, RotationFields, RotationType, ScheduleRule, ScheduleTargetKind,
        TargetRef, TargetType, UserRole,
    },
    secret::Secret as SecretString,
};
use goalert_provisioning::api::{
    GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser, Status,
};
use k8s_openapi::api::core::v1::Secret;
use kube::api::DeleteParams;
use serde_json::json;

const START: &str = "2026-01-05T09:00:00Z";

fn rotation_fields(name: &str, description: &str, user_ids: Vec<String>) -> RotationFields {
    RotationFields {
        name: name.to_owned(),
        description: description.to_owned(),
        time_zone: "Etc/UTC".into(),
        rotation_type: RotationType::Daily,
        shift_length: 1,
        start: START.into(),
        user_ids,
    }
}

async fn hand_made_rotation(goalert: &GoAlert, name: &str, description: &str) -> String {
    goalert
        .create_rotation(&rotation_fields(name, description, Vec::new()))
        .await
        .unwrap()
        .id
}

/// A GoAlertRotation matching [`rotation_fields`] with `extra` spec lines (indented by two).
fn rotation_yaml(name: &str, goalert_name: &str, extra: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertRotation\nmetadata:\n  name: {name}\nspec:\n  rotationName: {goalert_name}\n  type: Daily\n  timeZone: Etc/UTC\n  start: \"{START}\"\n{extra}"
    )
}

async fn status<K>(scene: &Scene, name: &str) -> Status
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + HasStatus
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let object = scene.api::<K>().get(name).await.unwrap();
    object.common().cloned().unwrap_or_default()
}

/// Waits until status.pendingChanges is exactly `fields`.
async fn pending<K>(scene: &Scene, name: &str, fields: &[&str])
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + HasStatus
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    eventually(
        &format!("{name} reports pending changes {fields:?}"),
        CONVERGE,
        || async {
            let status = status::<K>(scene, name).await;
            if status.pending_changes == fields {
                Ok(())
            } else {
                Err(format!("{:?} {:?}", status.pending_changes, status.conditions))
            }
        },
    )
    .await;
}

async fn wait_until_gone<K>(scene: &Scene, name: &str)
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api = scene.api::<K>();
    eventually(&format!("{name} is deleted"), CONVERGE, || async {
        match api.get_opt(name).await {
            Ok(None) => Ok(()),
            other => Err(format!("{other:?}")),
        }
    })
    .await;
}

#[tokio::test]
async fn every_kind_is_adopted_without_duplicates_or_new_keys() {
    let scene = scene("adopt").await;
    let goalert = &scene.goalert;

    // A whole on-call setup made by hand.
    let email = unique_email("hand.made");
    // GoAlert allows 24 characters in a username; the unique part of the address is its end.
    let local = email.split('@').next().unwrap();
    let username = local[local.len().saturating_sub(24)..].to_owned();
    let user_id = goalert
        .create_user(NewUser {
            username,
            password: SecretString::new("made-by-hand-1234"),
            name: "Hand Made".into(),
            email: email.clone(),
            role: UserRole::User,
        })
        .await
        .unwrap()
        .id;
    let method_id = goalert
        .create_contact_method(
            &user_id,
            &NewContactMethod {
                name: "Mail from the UI".into(),
                destination: Destination {
                    dest_type: "builtin-smtp-email".into(),
                    args: BTreeMap::from([("email_address".to_owned(), email.clone())]),
                },
                status_updates: false,
                notification_rule: None,
            },
        )
        .await
        .unwrap()
        .id;
    let (rotation, schedule, policy, service) = (
        unique_name("Adopted Rotation"),
        unique_name("Adopted Schedule"),
        unique_name("Adopted Policy"),
        unique_name("Adopted Service"),
    );
    let rotation_id = goalert
        .create_rotation(&rotation_fields(&rotation, "", vec![user_id.clone()]))
        .await
        .unwrap()
        .id;
    let schedule_id = goalert
        .create_schedule(&NewSchedule {
            name: schedule.clone(),
            time_zone: "Etc/UTC".into(),
            ..NewSchedule::default()
        })
        .await
        .unwrap()
        .id;
    let always = ScheduleRule {
        start: "00:00".into(),
        end: "00:00".into(),
        weekdays: [true; 7],
    };
    let rotation_target = TargetRef {
        kind: ScheduleTargetKind::Rotation,
        id: rotation_id.clone(),
    };
    goalert
        .set_schedule_target(&schedule_id, &rotation_target, &[always])
        .await
        .unwrap();
    let policy_id = goalert
        .create_escalation_policy(&NewEscalationPolicy {
            name: policy.clone(),
            repeat: 1,
            ..NewEscalationPolicy::default()
        })
        .await
        .unwrap()
        .id;
    let step = Destination {
        dest_type: "builtin-rotation".into(),
        args: BTreeMap::from([("rotation_id".to_owned(), rotation_id.clone())]),
    };
    let step_id = goalert
        .create_escalation_step(
            &policy_id,
            &NewEscalationStep {
                delay_minutes: 5,
                actions: vec![step],
            },
        )
        .await
        .unwrap();
    let service_id = goalert
        .create_service(&NewService {
            name: service.clone(),
            description: "made by hand".into(),
            escalation_policy_id: policy_id.clone(),
            ..NewService::default()
        })
        .await
        .unwrap()
        .id;
    let key_id = goalert
        .create_integration_key(&service_id, "grafana", IntegrationKeyType::Grafana)
        .await
        .unwrap();
    let monitor_id = goalert
        .create_heartbeat_monitor(&service_id, "nightly", 15, "")
        .await
        .unwrap();
    let before = goalert.service(&service_id).await.unwrap().unwrap();

    // The same setup in Git, in one apply.
    scene.apply(&format!(
        r#"apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertUser
metadata:
  name: person
spec:
  email: {email}
  displayName: Hand Made
  contactMethods:
  - name: Work mail
    type: Email
    value: {email}
  notificationRules:
  - contactMethod: Work mail
    delayMinutes: 0
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertRotation
metadata:
  name: rotation
spec:
  rotationName: {rotation}
  type: Daily
  timeZone: Etc/UTC
  start: "{START}"
  participants: [{{name: person}}]
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertSchedule
metadata:
  name: schedule
spec:
  scheduleName: {schedule}
  timeZone: Etc/UTC
  targets: [{{rotationRef: {{name: rotation}}}}]
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertEscalationPolicy
metadata:
  name: policy
spec:
  escalationPolicyName: {policy}
  repeat: 1
  steps:
  - delayMinutes: 5
    targets: [{{rotationRef: {{name: rotation}}}}]
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertService
metadata:
  name: service
spec:
  serviceName: {service}
  description: managed from Git
  escalationPolicyRef: {{name: policy}}
  integrationKeys:
  - name: grafana
    type: Grafana
    secretRef: {{name: adopted-keys, key: grafana-url}}
  heartbeatMonitors:
  - name: nightly
    timeoutMinutes: 15
    secretRef: {{name: adopted-keys, key: nightly-url}}
"#
    ));

    assert_eq!(scene.ready::<GoAlertUser>("person").await, user_id);
    assert_eq!(scene.ready::<GoAlertRotation>("rotation").await, rotation_id);
    assert_eq!(scene.ready::<GoAlertSchedule>("schedule").await, schedule_id);
    assert_eq!(scene.ready::<GoAlertEscalationPolicy>("policy").await, policy_id);
    assert_eq!(scene.ready::<GoAlertService>("service").await, service_id);
    assert_eq!(status::<GoAlertUser>(&scene, "person").await.adopted, Some(true));
    assert_eq!(
        status::<GoAlertService>(&scene, "service").await.adopted,
        Some(true)
    );

    // Nothing was made twice: the contact method was renamed, not created again (the person
    // would have to verify it again), the step kept its ID, the key and monitor were kept, not rotated.
    let user = goalert.user(&user_id).await.unwrap().unwrap();
    assert_eq!(user.contact_methods.len(), 1, "{:?}", user.contact_methods);
    assert_eq!(user.contact_methods[0].id, method_id);
    assert_eq!(user.contact_methods[0].name, "Work mail");
    let policy_now = goalert.escalation_policy(&policy_id).await.unwrap().unwrap();
    assert_eq!(policy_now.steps.len(), 1);
    assert_eq!(policy_now.steps[0].id, step_id);
    let after = goalert.service(&service_id).await.unwrap().unwrap();
    assert_eq!(after.description, "managed from Git");
    assert_eq!(after.integration_keys.len(), 1);
    assert_eq!(after.integration_keys[0].id, key_id, "the key is not rotated");
    assert_eq!(after.heartbeat_monitors.len(), 1);
    assert_eq!(after.heartbeat_monitors[0].id, monitor_id);
    let secret = scene.api::<Secret>().get("adopted-keys").await.unwrap();
    assert_eq!(
        secret_value(&secret, "grafana-url"),
        before.integration_keys[0].href
    );
    assert_eq!(
        secret_value(&secret, "nightly-url"),
        before.heartbeat_monitors[0].href
    );
    for name in ["person", "rotation", "schedule", "policy", "service"] {
        scene
            .wait_for_event(name, "Adopted: existing GoAlert object taken over")
            .await;
    }
    scene.wait_for_event("service", "; set spec.description").await;

    // Adopted objects are kept when their resources go, unless deletionPolicy says Delete.
    let (ok, _, stderr) = kubectl(
        &[
            "delete",
            "-n",
            &scene.namespace,
            "--wait=false",
            "goalertservice/service",
            "goalertescalationpolicy/policy",
            "goalertschedule/schedule",
            "goalertrotation/rotation",
            "goalertuser/person",
        ],
        None,
    );
    assert!(ok, "{stderr}");
    wait_until_gone::<GoAlertService>(&scene, "service").await;
    wait_until_gone::<GoAlertUser>(&scene, "person").await;
    assert!(goalert.service(&service_id).await.unwrap().is_some());
    assert!(goalert.user(&user_id).await.unwrap().is_some());
    assert!(goalert.rotation(&rotation_id).await.unwrap().is_some());
    scene.wait_for_event("service", "Retained: kept in GoAlert").await;
    goalert
        .delete(&[
            (TargetType::Service, service_id.as_str()),
            (TargetType::EscalationPolicy, policy_id.as_str()),
            (TargetType::Schedule, schedule_id.as_str()),
            (TargetType::Rotation, rotation_id.as_str()),
            (TargetType::User, user_id.as_str()),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn adoption_can_be_refused_per_object_and_operator_wide() {
    let (refused, allowed) = (unique_name("Refused"), unique_name("Allowed"));
    let scene = scene_with("refuse", &[("ADOPTION_POLICY", "Refuse")]).await;
    let refused_id = hand_made_rotation(&scene.goalert, &refused, "made by hand").await;
    let allowed_id = hand_made_rotation(&scene.goalert, &allowed, "made by hand").await;

    // Refused operator-wide; a resource that says Adopt takes its object over.
    scene.apply(&rotation_yaml("refused", &refused, "  description: from Git\n"));
    scene.apply(&rotation_yaml(
        "allowed",
        &allowed,
        "  description: from Git\n  adoption: Adopt\n",
    ));
    let message = scene
        .not_ready::<GoAlertRotation>("refused", "AlreadyExists")
        .await;
    assert!(
        message.contains(&refused_id) && message.contains("spec.adoption: Adopt"),
        "{message}"
    );
    assert_eq!(scene.ready::<GoAlertRotation>("allowed").await, allowed_id);
    assert_eq!(
        scene.rotation(&refused_id).await["description"],
        "made by hand",
        "a refused object is left alone"
    );

    // Refused by the resource itself, under an operator that adopts.
    let default_scene = scene_with("refuse-one", &[]).await;
    default_scene.apply(&rotation_yaml(
        "refused",
        &refused,
        "  description: from Git\n  adoption: Refuse\n",
    ));
    default_scene
        .not_ready::<GoAlertRotation>("refused", "AlreadyExists")
        .await;
    assert_eq!(scene.rotation(&refused_id).await["description"], "made by hand");
    assert_eq!(default_scene.mutations().await, 0);

    scene
        .goalert
        .delete(&[
            (TargetType::Rotation, refused_id.as_str()),
            (TargetType::Rotation, allowed_id.as_str()),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn an_explicit_goalert_id_adopts_exactly_that_object() {
    let scene = scene("by-id").await;
    let (legacy, renamed) = (unique_name("Legacy"), unique_name("Renamed"));
    let id = hand_made_rotation(&scene.goalert, &legacy, "").await;

    scene.apply(&rotation_yaml("exact", &renamed, &format!("  goalertId: {id}\n")));
    assert_eq!(scene.ready::<GoAlertRotation>("exact").await, id);
    assert_eq!(scene.rotation(&id).await["name"], renamed.as_str());
    assert_eq!(
        status::<GoAlertRotation>(&scene, "exact").await.adopted,
        Some(true)
    );

    // A second resource claiming the same ID is refused (admission is off in this scene, so the
    // reconcile has to say it).
    scene.apply(&rotation_yaml(
        "second",
        &unique_name("Second"),
        &format!("  goalertId: {id}\n"),
    ));
    let message = scene.not_ready::<GoAlertRotation>("second", "Conflict").await;
    assert!(
        message.contains(&format!("{}/exact", scene.namespace)),
        "{message}"
    );

    // An ID GoAlert does not know is reported; nothing is created in its place.
    let missing = unique_name("Never Created");
    scene.apply(&rotation_yaml(
        "missing",
        &missing,
        "  goalertId: 00000000-0000-4000-8000-000000000000\n",
    ));
    let message = scene.not_ready::<GoAlertRotation>("missing", "InvalidSpec").await;
    assert!(message.starts_with("spec.goalertId: GoAlert has no"), "{message}");
    assert_eq!(scene.goalert.rotation_id_by_name(&missing).await.unwrap(), None);

    // The goalertId of a resource cannot be changed (a CEL rule in the CRD).
    let patch = json!({ "spec": { "goalertId": "11111111-1111-4111-8111-111111111111" } });
    let error = scene
        .api::<GoAlertRotation>()
        .patch("exact", &Default::default(), &kube::api::Patch::Merge(&patch))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("goalertId cannot be changed"),
        "{error}"
    );

    scene
        .goalert
        .delete(&[(TargetType::Rotation, id.as_str())])
        .await
        .unwrap();
}

/// Two releases sharing one GoAlert keep their claims apart, each in its own namespace; what
/// keeps one from taking the other's object is the status the other's resource reports, which an
/// operator limited to one namespace follows cluster-wide.
#[tokio::test]
async fn an_object_another_release_manages_is_refused() {
    let scene = scene("release-a").await;
    let shared = unique_name("Shared");
    let id = hand_made_rotation(&scene.goalert, &shared, "made by hand").await;
    scene.apply(&rotation_yaml(
        "first",
        &shared,
        "  description: from release a\n",
    ));
    assert_eq!(scene.ready::<GoAlertRotation>("first").await, id);

    let namespace = namespace("release-b").await;
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let other = Scene {
        operator: Operator::builder()
            .watch_namespace(&namespace)
            .env("POD_NAMESPACE", &namespace)
            .env("GOALERT_URL", &testbed().goalert_url)
            .env("GOALERT_API_KEY", &key)
            .env("RESYNC_PERIOD", "3s")
            .start(),
        namespace,
        kube: kube_client().await,
        goalert: testbed().admin(),
    };
    other.apply(&rotation_yaml(
        "by-name",
        &shared,
        "  description: from release b\n",
    ));
    other.apply(&rotation_yaml(
        "by-id",
        &unique_name("Renamed"),
        &format!("  goalertId: {id}\n"),
    ));
    for name in ["by-name", "by-id"] {
        let message = other.not_ready::<GoAlertRotation>(name, "Conflict").await;
        assert!(
            message.contains(&format!("{}/first", scene.namespace)),
            "{name}: {message}"
        );
    }
    assert_eq!(other.mutations().await, 0);
    let rotation = scene.rotation(&id).await;
    assert_eq!(rotation["name"], shared.as_str());
    assert_eq!(rotation["description"], "from release a");
    assert_eq!(
        status::<GoAlertRotation>(&scene, "first")
            .await
            .goalert_id
            .as_deref(),
        Some(id.as_str())
    );
}

#[tokio::test]
async fn observe_mode_writes_nothing_and_reports_the_differences() {
    let scene = scene("observe").await;
    let (watched, absent) = (unique_name("Watched"), unique_name("Absent"));
    let id = hand_made_rotation(&scene.goalert, &watched, "made by hand").await;
    let before = scene.rotation(&id).await;

    let observe = "  managementPolicy: Observe\n";
    scene.apply(&rotation_yaml(
        "watched",
        &watched,
        &format!("{observe}  description: from Git\n  shiftLength: 3\n"),
    ));
    scene.apply(&rotation_yaml("absent", &absent, observe));

    // A user and a service made by hand, observed by resources that differ from them.
    let email = unique_email("observed");
    let local = email.split('@').next().unwrap();
    let user_id = scene
        .goalert
        .create_user(NewUser {
            username: local[local.len().saturating_sub(24)..].to_owned(),
            password: SecretString::new("made-by-hand-1234"),
            name: "Observed Person".into(),
            email: email.clone(),
            role: UserRole::User,
        })
        .await
        .unwrap()
        .id;
    let policy = unique_name("Observed Policy");
    let policy_id = scene
        .goalert
        .create_escalation_policy(&NewEscalationPolicy {
            name: policy.clone(),
            repeat: 1,
            ..NewEscalationPolicy::default()
        })
        .await
        .unwrap()
        .id;
    let service = unique_name("Observed Service");
    let service_id = scene
        .goalert
        .create_service(&NewService {
            name: service.clone(),
            description: "made by hand".into(),
            escalation_policy_id: policy_id.clone(),
            ..NewService::default()
        })
        .await
        .unwrap()
        .id;
    let user_before = scene.goalert.user(&user_id).await.unwrap();
    let service_before = scene.goalert.service(&service_id).await.unwrap();
    scene.apply(&format!(
        r#"apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertUser
metadata:
  name: observed
spec:
  managementPolicy: Observe
  email: {email}
  displayName: Renamed In Git
  contactMethods:
  - name: Work mail
    type: Email
    value: {email}
---
apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertService
metadata:
  name: observed
spec:
  managementPolicy: Observe
  serviceName: {service}
  description: from Git
  escalationPolicyRef: {{goalertName: {policy}}}
  labels: {{example.com/team: payments}}
  integrationKeys:
  - name: grafana
    type: Grafana
    secretRef: {{name: observed-keys, key: grafana-url}}
"#
    ));

    let message = scene.not_ready::<GoAlertRotation>("watched", "OutOfSync").await;
    assert!(message.contains("nothing was changed"), "{message}");
    pending::<GoAlertRotation>(&scene, "watched", &["spec.description", "spec.shiftLength"]).await;
    pending::<GoAlertRotation>(&scene, "absent", &["(the whole object: not in GoAlert)"]).await;
    scene
        .wait_for_event("watched", "WouldChange: managementPolicy is Observe")
        .await;
    let watched_status = status::<GoAlertRotation>(&scene, "watched").await;
    assert_eq!(watched_status.goalert_id.as_deref(), Some(id.as_str()));

    pending::<GoAlertUser>(&scene, "observed", &["spec.displayName", "spec.contactMethods"]).await;
    pending::<GoAlertService>(
        &scene,
        "observed",
        &["spec.description", "spec.labels", "spec.integrationKeys"],
    )
    .await;

    // Several resyncs later GoAlert is exactly as it was, and nothing was sent.
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(scene.rotation(&id).await, before);
    assert_eq!(scene.goalert.user(&user_id).await.unwrap(), user_before);
    assert_eq!(scene.goalert.service(&service_id).await.unwrap(), service_before);
    assert_eq!(scene.goalert.rotation_id_by_name(&absent).await.unwrap(), None);
    assert_eq!(scene.mutations().await, 0, "{}", scene.operator.logs());

    // Deleting an observed resource never deletes in GoAlert.
    scene
        .api::<GoAlertRotation>()
        .delete("absent", &DeleteParams::default())
        .await
        .unwrap();
    wait_until_gone::<GoAlertRotation>(&scene, "absent").await;

    // Switching to Manage applies exactly what was reported.
    scene
        .patch_spec::<GoAlertRotation>("watched", json!({ "managementPolicy": "Manage" }))
        .await;
    scene.ready::<GoAlertRotation>("watched").await;
    let after = scene.rotation(&id).await;
    assert_eq!(after["description"], "from Git");
    assert_eq!(after["shiftLength"], 3);
    assert!(
        status::<GoAlertRotation>(&scene, "watched")
            .await
            .pending_changes
            .is_empty()
    );

    scene
        .goalert
        .delete(&[
            (TargetType::Rotation, id.as_str()),
            (TargetType::Service, service_id.as_str()),
            (TargetType::EscalationPolicy, policy_id.as_str()),
            (TargetType::User, user_id.as_str()),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn created_objects_are_deleted_adopted_ones_kept_and_foreign_ones_never_touched() {
    let scene = scene("retain").await;
    let goalert = &scene.goalert;
    let names: Vec<String> = ["Created", "Adopted", "Adopted Deleted", "Foreign"]
        .iter()
        .map(|n| unique_name(n))
        .collect();
    let adopted_id = hand_made_rotation(goalert, &names[1], "").await;
    let adopted_deleted_id = hand_made_rotation(goalert, &names[2], "").await;
    let foreign_id = hand_made_rotation(goalert, &names[3], "nobody's resource").await;
    let foreign_before = scene.rotation(&foreign_id).await;

    scene.apply(&rotation_yaml("created", &names[0], ""));
    scene.apply(&rotation_yaml("adopted", &names[1], ""));
    scene.apply(&rotation_yaml(
        "adopted-deleted",
        &names[2],
        "  deletionPolicy: Delete\n",
    ));
    let created_id = scene.ready::<GoAlertRotation>("created").await;
    scene.ready::<GoAlertRotation>("adopted").await;
    scene.ready::<GoAlertRotation>("adopted-deleted").await;
    assert_eq!(status::<GoAlertRotation>(&scene, "created").await.adopted, None);

    for name in ["created", "adopted", "adopted-deleted"] {
        scene
            .api::<GoAlertRotation>()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap();
        wait_until_gone::<GoAlertRotation>(&scene, name).await;
    }
    assert!(scene.rotation(&created_id).await.is_null(), "created, so deleted");
    assert_eq!(scene.rotation(&adopted_id).await["name"], names[1].as_str());
    assert!(
        scene.rotation(&adopted_deleted_id).await.is_null(),
        "adopted, but deletionPolicy says Delete"
    );
    scene
        .wait_for_event("adopted", "Retained: kept in GoAlert (id")
        .await;
    assert_eq!(scene.rotation(&foreign_id).await, foreign_before);

    goalert
        .delete(&[
            (TargetType::Rotation, adopted_id.as_str()),
            (TargetType::Rotation, foreign_id.as_str()),
        ])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_resource_can_always_be_removed_without_finalizer_surgery() {
    let scene = scene("escape").await;
    let goalert = &scene.goalert;

    // Its GoAlert object is already gone: the resource is removed all the same.
    let gone = unique_name("Gone");
    scene.apply(&rotation_yaml("gone", &gone, ""));
    let gone_id = scene.ready::<GoAlertRotation>("gone").await;
    goalert
        .delete(&[(TargetType::Rotation, gone_id.as_str())])
        .await
        .unwrap();
    scene
        .api::<GoAlertRotation>()
        .delete("gone", &DeleteParams::default())
        .await
        .unwrap();
    wait_until_gone::<GoAlertRotation>(&scene, "gone").await;

    // GoAlert refuses the deletion (a service made by hand still uses the policy): the resource
    // waits, and saying Retain lets it go while the policy stays.
    let policy = unique_name("Still Used");
    scene.apply(&format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertEscalationPolicy\nmetadata:\n  name: used\nspec:\n  escalationPolicyName: {policy}\n"
    ));
    let policy_id = scene.ready::<GoAlertEscalationPolicy>("used").await;
    let service_id = goalert
        .create_service(&NewService {
            name: unique_name("Hand Service"),
            escalation_policy_id: policy_id.clone(),
            ..NewService::default()
        })
        .await
        .unwrap()
        .id;
    let policies = scene.api::<GoAlertEscalationPolicy>();
    policies.delete("used", &DeleteParams::default()).await.unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(
        policies.get_opt("used").await.unwrap().is_some(),
        "GoAlert refused, so the resource stays"
    );
    scene
        .patch_spec::<GoAlertEscalationPolicy>("used", json!({ "deletionPolicy": "Retain" }))
        .await;
    wait_until_gone::<GoAlertEscalationPolicy>(&scene, "used").await;
    assert!(goalert.escalation_policy(&policy_id).await.unwrap().is_some());

    goalert
        .delete(&[
            (TargetType::Service, service_id.as_str()),
            (TargetType::EscalationPolicy, policy_id.as_str()),
        ])
        .await
        .unwrap();
}

async fn edit_description(scene: &Scene, id: &str, description: &str) {
    scene
        .graphql(
            "mutation($input: UpdateRotationInput!) { updateRotation(input: $input) }",
            json!({ "input": { "id": id, "description": description } }),
        )
        .await;
}

#[tokio::test]
async fn drift_can_be_reported_instead_of_corrected() {
    let scene = scene("report").await;
    scene.apply(&rotation_yaml(
        "reported",
        &unique_name("Reported"),
        "  description: from Git\n  driftPolicy: Report\n",
    ));
    let id = scene.ready::<GoAlertRotation>("reported").await;

    edit_description(&scene, &id, "swapped in the UI").await;
    pending::<GoAlertRotation>(&scene, "reported", &["spec.description"]).await;
    scene.wait_for_event("reported",
        "DriftDetected: driftPolicy is Report: changed in GoAlert by hand and left as is: spec.description",
    )
    .await;
    let mutations = scene.mutations().await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(scene.rotation(&id).await["description"], "swapped in the UI");
    assert_eq!(scene.mutations().await, mutations, "reported, never corrected");
    assert_eq!(
        status::<GoAlertRotation>(&scene, "reported")
            .await
            .conditions
            .iter()
            .find(|c| c.type_ == "Ready")
            .map(|c| (c.status.as_str(), c.reason.as_str())),
        Some(("True", "DriftDetected"))
    );

    // A new spec is applied whole, the reported field included, even when its first reconcile
    // has to wait for a dependency.
    scene
        .patch_spec::<GoAlertRotation>(
            "reported",
            json!({ "shiftLength": 2, "participants": [{ "name": "later" }] }),
        )
        .await;
    scene
        .not_ready::<GoAlertRotation>("reported", "DependencyNotReady")
        .await;
    scene.apply(&e2e::scene::user_yaml("later", &unique_email("later")));
    let later = scene.ready::<GoAlertUser>("later").await;
    scene.ready::<GoAlertRotation>("reported").await;
    assert_eq!(scene.rotation(&id).await["userIDs"], json!([later]));
    pending::<GoAlertRotation>(&scene, "reported", &[]).await;
    let rotation = scene.rotation(&id).await;
    assert_eq!(
        (rotation["description"].clone(), rotation["shiftLength"].clone()),
        (json!("from Git"), json!(2))
    );
}

#[tokio::test]
async fn a_suspended_resource_reads_and_writes_nothing() {
    let scene = scene("suspend").await;
    scene.apply(&rotation_yaml(
        "paused",
        &unique_name("Paused"),
        "  description: from Git\n",
    ));
    let id = scene.ready::<GoAlertRotation>("paused").await;
    scene
        .patch_spec::<GoAlertRotation>("paused", json!({ "suspend": true }))
        .await;
    eventually("condition Suspended", CONVERGE, || async {
        let status = status::<GoAlertRotation>(&scene, "paused").await;
        match status.conditions.iter().find(|c| c.type_ == "Suspended") {
            Some(c) if c.status == "True" => Ok(()),
            _ => Err(format!("{:?}", status.conditions)),
        }
    })
    .await;
    let mutations = scene.mutations().await;
    edit_description(&scene, &id, "changed while suspended").await;
    scene
        .patch_spec::<GoAlertRotation>("paused", json!({ "shiftLength": 4 }))
        .await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    let rotation = scene.rotation(&id).await;
    assert_eq!(rotation["description"], "changed while suspended");
    assert_eq!(rotation["shiftLength"], 1);
    assert_eq!(scene.mutations().await, mutations);

    // Resumed: the spec is applied again, and condition Suspended is gone.
    scene
        .patch_spec::<GoAlertRotation>("paused", json!({ "suspend": false }))
        .await;
    scene.ready::<GoAlertRotation>("paused").await;
    let rotation = scene.rotation(&id).await;
    assert_eq!(
        (rotation["description"].clone(), rotation["shiftLength"].clone()),
        (json!("from Git"), json!(4))
    );
    let conditions = status::<GoAlertRotation>(&scene, "paused").await.conditions;
    assert!(
        conditions.iter().all(|c| c.type_ != "Suspended"),
        "{conditions:?}"
    );

    // Deleting a suspended resource keeps its GoAlert object.
    scene
        .patch_spec::<GoAlertRotation>("paused", json!({ "suspend": true }))
        .await;
    eventually("suspended again", CONVERGE, || async {
        let status = status::<GoAlertRotation>(&scene, "paused").await;
        if status.conditions.iter().any(|c| c.type_ == "Suspended") {
            Ok(())
        } else {
            Err(format!("{:?}", status.conditions))
        }
    })
    .await;
    scene
        .api::<GoAlertRotation>()
        .delete("paused", &DeleteParams::default())
        .await
        .unwrap();
    wait_until_gone::<GoAlertRotation>(&scene, "paused").await;
    assert!(!scene.rotation(&id).await.is_null());
    scene
        .goalert
        .delete(&[(TargetType::Rotation, id.as_str())])
        .await
        .unwrap();
}

#[tokio::test]
async fn a_resource_can_resync_more_often_than_the_operator() {
    // The operator re-reads GoAlert hourly; one resource asks for every 30 s.
    let scene = scene_with("resync", &[("RESYNC_PERIOD", "1h")]).await;
    scene.apply(&rotation_yaml(
        "often",
        &unique_name("Often"),
        "  description: from Git\n  resyncPeriod: 30s\n",
    ));
    scene.apply(&rotation_yaml(
        "hourly",
        &unique_name("Hourly"),
        "  description: from Git\n",
    ));
    let often = scene.ready::<GoAlertRotation>("often").await;
    let hourly = scene.ready::<GoAlertRotation>("hourly").await;
    edit_description(&scene, &often, "edited").await;
    edit_description(&scene, &hourly, "edited").await;
    eventually(
        "the 30 s resource corrects the drift",
        Duration::from_secs(90),
        || async {
            match scene.rotation(&often).await["description"].as_str() {
                Some("from Git") => Ok(()),
                other => Err(format!("{other:?}")),
            }
        },
    )
    .await;
    assert_eq!(
        scene.rotation(&hourly).await["description"],
        "edited",
        "the hourly resource has not looked yet"
    );

    // The CRD refuses periods too short to be sensible.
    let patch = json!({ "spec": { "resyncPeriod": "5s" } });
    let error = scene
        .api::<GoAlertRotation>()
        .patch("often", &Default::default(), &kube::api::Patch::Merge(&patch))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("resyncPeriod must be at least 30s"),
        "{error}"
    );
}

/// Hand-made and managed user overrides of a schedule, by add-user ID.
async fn overrides(scene: &Scene, schedule_id: &str) -> Vec<String> {
    let data = scene
        .graphql(
            "query($input: UserOverrideSearchOptions) { userOverrides(input: $input) { nodes { addUserID } } }",
            json!({ "input": { "scheduleID": schedule_id, "start": "2026-01-01T00:00:00Z", "end": "2036-01-01T00:00:00Z" } }),
        )
        .await;
    let mut ids: Vec<String> = data["userOverrides"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["addUserID"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn on_call_swaps_made_in_the_ui_are_left_alone() {
    let scene = scene("swaps").await;
    scene.apply(&e2e::scene::user_yaml("planned", &unique_email("planned")));
    scene.apply(&e2e::scene::user_yaml("stand-in", &unique_email("stand.in")));
    let planned = scene.ready::<GoAlertUser>("planned").await;
    let stand_in = scene.ready::<GoAlertUser>("stand-in").await;
    let start = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(24);
    let end = start + jiff::SignedDuration::from_hours(24);
    scene.apply(&format!(
        r#"apiVersion: goalert.heystaq.com/v1alpha1
kind: GoAlertSchedule
metadata:
  name: swaps
spec:
  scheduleName: {}
  timeZone: Etc/UTC
  targets: [{{userRef: {{name: planned}}}}]
  overrides:
  - addUserRef: {{name: planned}}
    start: "{start}"
    end: "{end}"
"#,
        unique_name("Swaps")
    ));
    let id = scene.ready::<GoAlertSchedule>("swaps").await;

    // A swap and a temporary schedule made in the UI.
    scene
        .graphql(
            "mutation($input: CreateUserOverrideInput!) { createUserOverride(input: $input) { id } }",
            json!({ "input": { "scheduleID": id, "addUserID": stand_in, "start": start.to_string(), "end": end.to_string() } }),
        )
        .await;
    let (temporary_start, temporary_end) = (end, end + jiff::SignedDuration::from_hours(48));
    scene
        .graphql(
            "mutation($input: SetTemporaryScheduleInput!) { setTemporarySchedule(input: $input) }",
            json!({ "input": {
                "scheduleID": id,
                "start": temporary_start.to_string(),
                "end": temporary_end.to_string(),
                "shifts": [{ "userID": stand_in, "start": temporary_start.to_string(), "end": temporary_end.to_string() }],
            } }),
        )
        .await;
    let temporary = || async {
        scene
            .graphql(
                "query($id: ID!) { schedule(id: $id) { temporarySchedules { shifts { userID } } } }",
                json!({ "id": id }),
            )
            .await["schedule"]["temporarySchedules"]
            .clone()
    };
    let expected_temporary = json!([{ "shifts": [{ "userID": stand_in }] }]);
    assert_eq!(temporary().await, expected_temporary);
    let mut both = vec![planned.clone(), stand_in.clone()];
    both.sort();
    assert_eq!(overrides(&scene, &id).await, both);

    // Spec changes and resyncs: the UI's swap and temporary schedule stay.
    scene
        .patch_spec::<GoAlertSchedule>(
            "swaps",
            json!({ "description": "changed in Git", "targets": [{ "userRef": { "name": "stand-in" } }] }),
        )
        .await;
    scene.ready::<GoAlertSchedule>("swaps").await;
    tokio::time::sleep(Duration::from_secs(7)).await;
    assert_eq!(temporary().await, expected_temporary);
    assert_eq!(overrides(&scene, &id).await, both);

    // The managed override goes when the spec drops it; the UI's stays.
    scene
        .patch_spec::<GoAlertSchedule>("swaps", json!({ "overrides": null }))
        .await;
    scene.ready::<GoAlertSchedule>("swaps").await;
    eventually("only the UI's override is left", CONVERGE, || async {
        match overrides(&scene, &id).await {
            ids if ids == [stand_in.clone()] => Ok(()),
            ids => Err(format!("{ids:?}")),
        }
    })
    .await;
    assert_eq!(temporary().await, expected_temporary);
}
