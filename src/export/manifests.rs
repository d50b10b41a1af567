//! What GoAlert holds → custom resources that the controllers map back to exactly that.
//!
//! A field is written when it differs from the CRD's default, so the manifests read like
//! hand-written ones. Nothing is approximated: what a kind cannot express is left out of the
//! manifests (and, being unmanaged, left alone by the operator) with a warning saying so.

use kube::Resource;

use super::{
    names::{MAX_NAME, Names, dns_label},
    read::{ScheduleSnapshot, Snapshot},
    references::{References, by_name_or_id},
    specs::{policy_spec, rotation_spec, schedule_spec, service_spec, users},
};
use crate::api::{
    GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser, ObjectRef,
};
use goalert_client::model::{EscalationPolicy, Rotation, Service};

/// The custom resources for one GoAlert, each kind sorted by GoAlert name (users by e-mail).
#[derive(Debug, Clone, Default)]
pub struct Manifests {
    pub users: Vec<GoAlertUser>,
    pub rotations: Vec<GoAlertRotation>,
    pub schedules: Vec<GoAlertSchedule>,
    pub policies: Vec<GoAlertEscalationPolicy>,
    pub services: Vec<GoAlertService>,
    /// What was left out, and why.
    pub warnings: Vec<String>,
}

pub fn build(snapshot: &Snapshot, namespace: Option<&str>) -> Manifests {
    let mut manifests = Manifests::default();
    let mut refs = References::default();
    let warnings = &mut manifests.warnings;

    for (name, spec) in users(&snapshot.users, &mut refs, warnings) {
        manifests
            .users
            .push(placed(GoAlertUser::new(&name, spec), namespace));
    }

    let mut rotations: Vec<&Rotation> = snapshot.rotations.iter().collect();
    rotations.sort_by(|a, b| a.fields.name.cmp(&b.fields.name));
    let mut names = Names::new(MAX_NAME, "rotation");
    for rotation in &rotations {
        let name = names.claim(&dns_label(&rotation.fields.name));
        refs.rotations.insert(rotation.id.clone(), name);
    }
    for rotation in rotations {
        let name = &refs.rotations[&rotation.id];
        let spec = rotation_spec(rotation, &refs);
        manifests
            .rotations
            .push(placed(GoAlertRotation::new(name, spec), namespace));
    }

    let mut schedules: Vec<&ScheduleSnapshot> = snapshot.schedules.iter().collect();
    schedules.sort_by(|a, b| a.schedule.name.cmp(&b.schedule.name));
    let mut names = Names::new(MAX_NAME, "schedule");
    for s in &schedules {
        let name = names.claim(&dns_label(&s.schedule.name));
        refs.schedules.insert(s.schedule.id.clone(), name);
    }
    for s in schedules {
        let name = &refs.schedules[&s.schedule.id];
        let spec = schedule_spec(s, &refs, warnings);
        manifests
            .schedules
            .push(placed(GoAlertSchedule::new(name, spec), namespace));
    }

    let mut policies: Vec<&EscalationPolicy> = snapshot.policies.iter().collect();
    policies.sort_by(|a, b| a.name.cmp(&b.name));
    let mut names = Names::new(MAX_NAME, "escalation-policy");
    for policy in policies {
        match policy_spec(policy, &refs) {
            Ok(spec) => {
                let name = names.claim(&dns_label(&policy.name));
                refs.policies
                    .insert(policy.id.clone(), by_name_or_id(Some(&name), &policy.id));
                manifests
                    .policies
                    .push(placed(GoAlertEscalationPolicy::new(&name, spec), namespace));
            }
            Err(reasons) => {
                warnings.push(format!(
                    "escalation policy {:?} is not exported: {}, which GoAlertEscalationPolicy cannot \
                     express; services that use it refer to it by its GoAlert name",
                    policy.name,
                    reasons.join(", ")
                ));
                let by_goalert_name = ObjectRef {
                    name: None,
                    goalert_name: Some(policy.name.clone()),
                    goalert_id: None,
                };
                refs.policies.insert(policy.id.clone(), by_goalert_name);
            }
        }
    }

    let mut services: Vec<&Service> = snapshot.services.iter().collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));
    let mut names = Names::new(MAX_NAME, "service");
    for service in services {
        let name = names.claim(&dns_label(&service.name));
        let spec = service_spec(service, &name, &refs, warnings);
        manifests
            .services
            .push(placed(GoAlertService::new(&name, spec), namespace));
    }
    manifests
}

fn placed<K: Resource>(mut object: K, namespace: Option<&str>) -> K {
    object.meta_mut().namespace = namespace.map(str::to_owned);
    object
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::api::{
        UserRef,
        common::is_email,
        schedule::{ScheduleRule as SpecRule, Weekday},
        service::IntegrationKeyType as SpecKeyType,
        user::{AuthSubject, ContactMethodType, UserRole as SpecRole, default_username},
    };
    use goalert_client::model::{
        AuthSubject as Identity, ContactMethod as Method, Destination, EscalationStep as Step,
        HeartbeatMonitor as Monitor, IntegrationKey as Key, NotificationRule as Rule, RotationFields,
        Schedule, ScheduleTarget, TargetRef,
    };
    use goalert_client::model::{
        IntegrationKeyType, RotationType, ScheduleRule, ScheduleTargetKind, StepTargetKind, User, UserRole,
    };

    fn user(id: &str, name: &str, email: &str) -> User {
        User {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            role: UserRole::User,
            contact_methods: vec![],
            notification_rules: vec![],
            auth_subjects: vec![Identity {
                provider_id: "basic".into(),
                subject_id: default_username(email),
            }],
        }
    }

    fn method(id: &str, name: &str, dest_type: &str, value: &str) -> Method {
        Method {
            id: id.into(),
            name: name.into(),
            dest_type: dest_type.into(),
            value: value.into(),
            disabled: true,
            status_updates: false,
            status_updates_forced: false,
        }
    }

    fn rotation(id: &str, name: &str, user_ids: &[&str]) -> Rotation {
        Rotation {
            id: id.into(),
            fields: RotationFields {
                name: name.into(),
                description: String::new(),
                time_zone: "Europe/Amsterdam".into(),
                rotation_type: RotationType::Weekly,
                shift_length: 1,
                start: "2026-01-05T09:00:00Z".into(),
                user_ids: user_ids.iter().map(|&id| id.to_owned()).collect(),
            },
        }
    }

    fn policy(id: &str, name: &str, steps: Vec<Vec<Destination>>) -> EscalationPolicy {
        EscalationPolicy {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            repeat: 3,
            steps: steps
                .into_iter()
                .enumerate()
                .map(|(i, actions)| Step {
                    id: format!("step-{i}"),
                    delay_minutes: 5,
                    actions,
                })
                .collect(),
        }
    }

    fn service(id: &str, name: &str, policy_id: &str) -> Service {
        Service {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            escalation_policy_id: policy_id.into(),
            labels: BTreeMap::new(),
            integration_keys: vec![],
            heartbeat_monitors: vec![],
        }
    }

    fn by_name(name: &str) -> UserRef {
        UserRef {
            name: Some(name.into()),
            email: None,
            goalert_id: None,
        }
    }

    #[test]
    fn users_keep_what_the_controller_compares_and_only_that() {
        let mut alice = user("u1", "Alice Andersen", "alice@example.com");
        alice.role = UserRole::Admin;
        alice.auth_subjects = vec![
            Identity {
                provider_id: "basic".into(),
                subject_id: "aandersen".into(),
            },
            Identity {
                provider_id: "oidc".into(),
                subject_id: "sub-1".into(),
            },
        ];
        alice.contact_methods = vec![
            method("c2", "Work e-mail", "builtin-smtp-email", "alice@example.com"),
            method("c1", "Mobile", "builtin-twilio-sms", "+17635550101"),
            method("c3", "Team chat", "builtin-teams-dm", "29:1"),
            method("c4", "Mobile", "builtin-twilio-voice", "+17635550101"),
            Method {
                status_updates: true,
                status_updates_forced: true,
                ..method("c5", "Bridge", "builtin-webhook", "https://bridge.example.com/")
            },
        ];
        alice.contact_methods[0].status_updates = true;
        alice.notification_rules = [("c2", 5), ("c1", 0), ("c3", 0), ("c4", 1)]
            .into_iter()
            .map(|(cm, delay)| Rule {
                id: format!("r-{cm}-{delay}"),
                contact_method_id: cm.into(),
                delay_minutes: delay,
            })
            .collect();
        let manifests = build(
            &Snapshot {
                users: vec![alice],
                ..Snapshot::default()
            },
            Some("team-a"),
        );
        let exported = &manifests.users[0];
        assert_eq!(exported.metadata.name.as_deref(), Some("alice"));
        assert_eq!(exported.metadata.namespace.as_deref(), Some("team-a"));
        let spec = &exported.spec;
        assert_eq!(
            spec.username.as_deref(),
            Some("aandersen"),
            "a non-default username is kept"
        );
        assert_eq!(spec.role, Some(SpecRole::Admin));
        assert_eq!(spec.display_name.as_deref(), Some("Alice Andersen"));
        assert_eq!(
            spec.auth_subjects,
            vec![AuthSubject {
                provider_id: "oidc".into(),
                subject_id: "sub-1".into()
            }]
        );
        let methods: Vec<_> = spec
            .contact_methods
            .iter()
            .map(|c| (c.name.as_str(), c.method_type, c.status_updates))
            .collect();
        assert_eq!(
            methods,
            [
                ("Bridge", ContactMethodType::Webhook, None),
                ("Mobile", ContactMethodType::Sms, None),
                ("Work e-mail", ContactMethodType::Email, Some(true)),
            ]
        );
        let rules: Vec<_> = spec
            .notification_rules
            .iter()
            .map(|r| (r.contact_method.as_str(), r.delay_minutes))
            .collect();
        assert_eq!(rules, [("Mobile", 0), ("Work e-mail", 5)]);
        assert_eq!(manifests.warnings.len(), 2, "{:#?}", manifests.warnings);
        assert!(manifests.warnings[0].contains("a second contact method named \"Mobile\""));
        assert!(manifests.warnings[1].contains("\"Team chat\" (builtin-teams-dm) is left out"));
    }

    #[test]
    fn users_the_operator_could_not_recognise_are_referenced_by_id() {
        let users = vec![
            user("u1", "No Mail", ""),
            user("u2", "Twin One", "twin@example.com"),
            user("u3", "Twin Two", "TWIN@example.com"),
            user("u4", "Bob", "bob@example.com"),
        ];
        let manifests = build(
            &Snapshot {
                users,
                rotations: vec![rotation("r1", "Primary", &["u4", "u1", "u3", "u4"])],
                ..Snapshot::default()
            },
            None,
        );
        assert_eq!(manifests.users.len(), 1);
        let by_id = |id: &str| UserRef {
            name: None,
            email: None,
            goalert_id: Some(id.into()),
        };
        assert_eq!(
            manifests.rotations[0].spec.participants,
            vec![by_name("bob"), by_id("u1"), by_id("u3"), by_name("bob")]
        );
        assert_eq!(manifests.warnings.len(), 3, "{:#?}", manifests.warnings);
        assert!(
            manifests
                .warnings
                .iter()
                .any(|w| w.contains("\"No Mail\" (ID u1)") && w.contains("no e-mail"))
        );
        assert!(manifests.warnings.iter().any(|w| w.contains("shares the e-mail")));
    }

    #[test]
    fn emails_are_checked_like_the_webhook_does() {
        for good in ["a@b.c", "first.last+tag@mail.example.com"] {
            assert!(is_email(good), "{good}");
        }
        for bad in ["", "a@b", "a@b.", "@b.c", "a b@c.d", "a@b@c.d", "a@.b.c"] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn names_are_stable_labels_and_collisions_resolve_by_goalert_name() {
        let snapshot = Snapshot {
            rotations: vec![
                rotation("r2", "platform_primary", &[]),
                rotation("r1", "Platform Primary", &[]),
                rotation("r3", "Nightly (EU)", &[]),
            ],
            ..Snapshot::default()
        };
        let names = |snapshot: &Snapshot| -> Vec<(String, String)> {
            build(snapshot, None)
                .rotations
                .iter()
                .map(|r| {
                    (
                        r.metadata.name.clone().unwrap(),
                        r.spec.rotation_name.clone().unwrap(),
                    )
                })
                .collect()
        };
        let expected = [
            ("nightly-eu", "Nightly (EU)"),
            ("platform-primary", "Platform Primary"),
            ("platform-primary-2", "platform_primary"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(names(&snapshot), expected);
        let mut reversed = snapshot.clone();
        reversed.rotations.reverse();
        assert_eq!(
            names(&reversed),
            expected,
            "GoAlert's listing order does not matter"
        );
    }

    #[test]
    fn schedule_rules_map_back_to_what_the_controller_sets() {
        let always = ScheduleRule {
            start: "00:00".into(),
            end: "00:00".into(),
            weekdays: [true; 7],
        };
        let weekend_nights = ScheduleRule {
            start: "22:00".into(),
            end: "06:00".into(),
            weekdays: [true, false, false, false, false, false, true],
        };
        let schedule = Schedule {
            id: "s1".into(),
            name: "Follow the Sun".into(),
            description: "Round the clock".into(),
            time_zone: "Etc/UTC".into(),
            targets: vec![
                ScheduleTarget {
                    target: TargetRef {
                        kind: ScheduleTargetKind::User,
                        id: "u1".into(),
                    },
                    rules: vec![weekend_nights, always.clone()],
                },
                ScheduleTarget {
                    target: TargetRef {
                        kind: ScheduleTargetKind::Rotation,
                        id: "r1".into(),
                    },
                    rules: vec![always],
                },
            ],
        };
        let manifests = build(
            &Snapshot {
                users: vec![user("u1", "Alice", "alice@example.com")],
                rotations: vec![rotation("r1", "Primary", &[])],
                schedules: vec![ScheduleSnapshot {
                    schedule,
                    on_call_notification_rules: 2,
                }],
                ..Snapshot::default()
            },
            None,
        );
        let spec = &manifests.schedules[0].spec;
        assert_eq!(spec.description.as_deref(), Some("Round the clock"));
        assert_eq!(
            spec.targets[0].rotation_ref.as_ref().unwrap().name.as_deref(),
            Some("primary"),
            "rotations first"
        );
        assert!(spec.targets[0].rules.is_empty(), "always active needs no rules");
        assert_eq!(spec.targets[1].user_ref, Some(by_name("alice")));
        assert_eq!(
            spec.targets[1].rules,
            vec![
                SpecRule {
                    start: Some("00:00".into()),
                    end: Some("00:00".into()),
                    weekdays: None,
                },
                SpecRule {
                    start: Some("22:00".into()),
                    end: Some("06:00".into()),
                    weekdays: Some(vec![Weekday::Sunday, Weekday::Saturday]),
                },
            ]
        );
        assert!(spec.overrides.is_empty());
        assert_eq!(manifests.warnings.len(), 1);
        assert!(manifests.warnings[0].contains("2 on-call notification rule(s) are left out"));
    }

    #[test]
    fn policies_with_targets_the_crd_lacks_stay_in_goalert_and_services_find_them_by_name() {
        let user_group = Destination {
            dest_type: "builtin-slack-usergroup".into(),
            args: [
                ("slack_usergroup_id".to_owned(), "S1".to_owned()),
                ("slack_channel_id".to_owned(), "C1".to_owned()),
            ]
            .into(),
        };
        let manifests = build(
            &Snapshot {
                users: vec![user("u1", "Alice", "alice@example.com")],
                rotations: vec![rotation("r1", "Primary", &[])],
                policies: vec![
                    policy(
                        "p1",
                        "Production",
                        vec![
                            vec![
                                StepTargetKind::Webhook.destination("https://hook.example.com/".into()),
                                StepTargetKind::User.destination("u1".into()),
                                StepTargetKind::Rotation.destination("r1".into()),
                            ],
                            vec![StepTargetKind::SlackChannel.destination("C0123".into())],
                        ],
                    ),
                    policy("p2", "Slack Groups", vec![vec![user_group]]),
                ],
                services: vec![service("s1", "Checkout", "p1"), service("s2", "Payments", "p2")],
                ..Snapshot::default()
            },
            None,
        );
        assert_eq!(manifests.policies.len(), 1);
        let spec = &manifests.policies[0].spec;
        assert_eq!(spec.repeat, None, "3 is the default");
        let first: Vec<_> = spec.steps[0]
            .targets
            .iter()
            .map(|t| {
                (
                    t.user_ref.as_ref().and_then(|r| r.name.clone()),
                    t.rotation_ref.as_ref().and_then(|r| r.name.clone()),
                    t.webhook_url.clone(),
                )
            })
            .collect();
        assert_eq!(
            first,
            [
                (Some("alice".into()), None, None),
                (None, Some("primary".into()), None),
                (None, None, Some("https://hook.example.com/".into())),
            ]
        );
        assert_eq!(spec.steps[1].targets[0].slack_channel.as_deref(), Some("C0123"));
        assert_eq!(
            manifests.services[0].spec.escalation_policy_ref.name.as_deref(),
            Some("production")
        );
        assert_eq!(
            manifests.services[1]
                .spec
                .escalation_policy_ref
                .goalert_name
                .as_deref(),
            Some("Slack Groups")
        );
        assert_eq!(manifests.warnings.len(), 1);
        assert!(
            manifests.warnings[0].starts_with(
                "escalation policy \"Slack Groups\" is not exported: step 1 notifies a builtin-slack-usergroup destination"
            ),
            "{}",
            manifests.warnings[0]
        );
    }

    #[test]
    fn services_point_keys_at_one_secret_and_never_carry_a_token() {
        let mut checkout = service("s1", "Checkout API", "p1");
        checkout.description = "Public checkout".into();
        checkout.labels = [
            ("team.example.com/owner".to_owned(), "platform".to_owned()),
            ("team.example.com/on call".to_owned(), "payments team".to_owned()),
            ("Bad Key".to_owned(), "value".to_owned()),
        ]
        .into();
        checkout.integration_keys =
            vec![
            Key {
                id: "9f1e0c52-0000-4000-8000-000000000001".into(),
                name: "grafana".into(),
                key_type: IntegrationKeyType::Grafana,
                href: "http://goalert.test/api/v2/grafana/incoming?token=9f1e0c52-0000-4000-8000-000000000001"
                    .into(),
            },
            Key {
                id: "9f1e0c52-0000-4000-8000-000000000002".into(),
                name: "Generic API".into(),
                key_type: IntegrationKeyType::Generic,
                href: "http://goalert.test/api/v2/generic/incoming?token=9f1e0c52-0000-4000-8000-000000000002"
                    .into(),
            },
            Key {
                id: "9f1e0c52-0000-4000-8000-000000000004".into(),
                name: "router".into(),
                key_type: IntegrationKeyType::Universal,
                href: "http://goalert.test/api/v2/uik".into(),
            },
        ];
        checkout.heartbeat_monitors = vec![Monitor {
            id: "9f1e0c52-0000-4000-8000-000000000003".into(),
            name: "grafana".into(),
            timeout_minutes: 1500,
            additional_details: String::new(),
            state: "healthy".into(),
            href: "http://goalert.test/api/v2/heartbeat/9f1e0c52-0000-4000-8000-000000000003".into(),
        }];
        let manifests = build(
            &Snapshot {
                policies: vec![policy("p1", "Production", vec![])],
                services: vec![checkout],
                ..Snapshot::default()
            },
            None,
        );
        let spec = &manifests.services[0].spec;
        let keys: Vec<_> = spec
            .integration_keys
            .iter()
            .map(|k| {
                (
                    k.name.as_str(),
                    k.key_type,
                    k.secret_ref.name.as_str(),
                    k.secret_ref.key.as_str(),
                )
            })
            .collect();
        assert_eq!(
            keys,
            [
                ("Generic API", None, "checkout-api-goalert", "generic-api-url"),
                (
                    "grafana",
                    Some(SpecKeyType::Grafana),
                    "checkout-api-goalert",
                    "grafana-url"
                ),
                (
                    "router",
                    Some(SpecKeyType::Universal),
                    "checkout-api-goalert",
                    "router-url"
                ),
            ]
        );
        assert_eq!(spec.heartbeat_monitors[0].secret_ref.key, "grafana-heartbeat-url");
        assert_eq!(spec.heartbeat_monitors[0].additional_details, None);
        assert_eq!(
            spec.labels.keys().collect::<Vec<_>>(),
            ["team.example.com/on call", "team.example.com/owner"],
            "whatever GoAlert accepts is exported, spaces included"
        );
        assert_eq!(manifests.warnings.len(), 2, "{:#?}", manifests.warnings);
        assert!(manifests.warnings[0].contains("rules and actions of universal key \"router\" are left out"));
        assert!(manifests.warnings[1].contains("label \"Bad Key\" is left out"));

        let yaml = manifests.to_yaml("http://goalert.test/");
        assert!(!yaml.contains("9f1e0c52"), "{yaml}");
        assert!(!yaml.contains("token"), "{yaml}");
        assert!(!yaml.contains("status"), "{yaml}");
        assert!(yaml.contains("# Not exported: service \"Checkout API\": label \"Bad Key\""));
    }

    #[test]
    fn yaml_is_one_document_per_object_in_dependency_order() {
        let mut alice = user("u1", "Alice", "alice@example.com");
        alice.contact_methods = vec![method("c1", "Mobile", "builtin-twilio-sms", "+17635550101")];
        let snapshot = Snapshot {
            users: vec![alice],
            rotations: vec![rotation("r1", "Primary", &["u1"])],
            policies: vec![policy(
                "p1",
                "Production",
                vec![vec![StepTargetKind::Rotation.destination("r1".into())]],
            )],
            services: vec![service("s1", "Checkout", "p1")],
            ..Snapshot::default()
        };
        let yaml = build(&snapshot, None).to_yaml("http://goalert.test/");
        let kinds: Vec<_> = yaml
            .lines()
            .filter_map(|line| line.strip_prefix("kind: "))
            .collect();
        assert_eq!(
            kinds,
            [
                "GoAlertUser",
                "GoAlertRotation",
                "GoAlertEscalationPolicy",
                "GoAlertService"
            ]
        );
        assert_eq!(yaml.matches("\n---\n").count(), 4);
        assert!(
            yaml.contains("value: '+17635550101'"),
            "a phone number stays a string: {yaml}"
        );
        for document in yaml.split("\n---\n").skip(1) {
            let object: serde_yaml::Value = serde_yaml::from_str(document).unwrap();
            assert!(object["metadata"].get("namespace").is_none(), "{document}");
        }
        let user: GoAlertUser = serde_yaml::from_str(yaml.split("\n---\n").nth(1).unwrap()).unwrap();
        assert_eq!(user.spec.username, None, "the default username is not repeated");
    }
}
