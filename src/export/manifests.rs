//! What GoAlert holds → custom resources that the controllers map back to exactly that.
//!
//! A field is written when it differs from the CRD's default, so the manifests read like
//! hand-written ones. Nothing is approximated: what a kind cannot express is left out of the
//! manifests (and, being unmanaged, left alone by the operator) with a warning saying so.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kube::Resource;

use super::{
    names::{MAX_NAME, Names, dns_label},
    read::{ScheduleSnapshot, Snapshot},
};
use crate::{
    api::{
        GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser, ObjectRef,
        UserRef,
        common::is_email,
        escalation_policy::{DEFAULT_REPEAT, EscalationStep, GoAlertEscalationPolicySpec, StepTarget},
        goalert_rules,
        rotation::{DEFAULT_SHIFT_LENGTH, GoAlertRotationSpec, RotationType as SpecRotationType},
        schedule::{GoAlertScheduleSpec, ScheduleRule as SpecRule, ScheduleTarget as SpecTarget, Weekday},
        service::{
            GoAlertServiceSpec, HeartbeatMonitor, IntegrationKey, IntegrationKeyType as SpecKeyType,
            KeySecretRef,
        },
        user::{
            AuthSubject, ContactMethod, ContactMethodType, GoAlertUserSpec, NotificationRule,
            UserRole as SpecRole, default_username,
        },
    },
    controller::contact_method_destination,
};
use goalert_client::model::{
    EscalationPolicy, IntegrationKeyType, Rotation, RotationType, ScheduleRule, ScheduleTargetKind, Service,
    StepTargetKind, User, UserRole,
};

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

/// How exported objects refer to each other, by GoAlert ID.
#[derive(Default)]
struct References {
    users: HashMap<String, UserRef>,
    rotations: HashMap<String, String>,
    schedules: HashMap<String, String>,
    policies: HashMap<String, ObjectRef>,
}

impl References {
    /// A user that was not exported is referred to by ID, so the reference stays exact.
    fn user(&self, id: &str) -> UserRef {
        self.users.get(id).cloned().unwrap_or_else(|| UserRef {
            name: None,
            email: None,
            goalert_id: Some(id.to_owned()),
        })
    }

    fn rotation(&self, id: &str) -> ObjectRef {
        by_name_or_id(self.rotations.get(id), id)
    }

    fn schedule(&self, id: &str) -> ObjectRef {
        by_name_or_id(self.schedules.get(id), id)
    }

    fn policy(&self, id: &str) -> ObjectRef {
        self.policies
            .get(id)
            .cloned()
            .unwrap_or_else(|| by_name_or_id(None, id))
    }
}

/// What targets are sorted by: the name a reference uses. GoAlert lists them by ID, which differs
/// between GoAlerts; names do not.
fn sort_key(object: Option<&ObjectRef>, user: Option<&UserRef>) -> String {
    let object = object.and_then(|r| {
        r.name
            .as_ref()
            .or(r.goalert_name.as_ref())
            .or(r.goalert_id.as_ref())
    });
    let user = user.and_then(|r| r.name.as_ref().or(r.email.as_ref()).or(r.goalert_id.as_ref()));
    object.or(user).cloned().unwrap_or_default()
}

/// A reference to the exported custom resource, or (for an object that vanished while the export
/// ran) to the GoAlert ID.
fn by_name_or_id(name: Option<&String>, id: &str) -> ObjectRef {
    ObjectRef {
        name: name.cloned(),
        goalert_name: None,
        goalert_id: name.is_none().then(|| id.to_owned()),
    }
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

/// GoAlert bounds the minutes and counts exported here far below `i32::MAX` (540000 at most).
fn small(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// The exportable users as (metadata.name, spec), and their references. A user is exported only
/// when the operator would recognise exactly that user again: by a unique, valid e-mail.
fn users(
    users: &[User],
    refs: &mut References,
    warnings: &mut Vec<String>,
) -> Vec<(String, GoAlertUserSpec)> {
    let mut per_email: HashMap<String, usize> = HashMap::new();
    for user in users {
        *per_email.entry(user.email.to_lowercase()).or_default() += 1;
    }
    let mut sorted: Vec<&User> = users.iter().collect();
    sorted.sort_by_key(|u| (u.email.to_lowercase(), u.name.clone(), u.id.clone()));
    let mut names = Names::new(MAX_NAME, "user");
    let mut exported = Vec::new();
    for user in sorted {
        let problem = if user.email.is_empty() {
            Some("has no e-mail".to_owned())
        } else if !is_email(&user.email) {
            Some(format!(
                "has the e-mail {:?}, which GoAlertUser does not accept",
                user.email
            ))
        } else if per_email[&user.email.to_lowercase()] > 1 {
            Some(format!(
                "shares the e-mail {:?} with another user, and the operator recognises users by e-mail",
                user.email
            ))
        } else if user.role == UserRole::Unknown {
            Some("has a role GoAlertUser cannot express".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            warnings.push(format!(
                "user {:?} (ID {}) is not exported: it {problem}; rotations, schedules and policies \
                 refer to it by its GoAlert ID, which only this GoAlert knows",
                user.name, user.id
            ));
            continue;
        }
        let local_part = user.email.split('@').next().unwrap_or_default();
        let name = names.claim(&dns_label(local_part));
        let reference = UserRef {
            name: Some(name.clone()),
            email: None,
            goalert_id: None,
        };
        refs.users.insert(user.id.clone(), reference);
        exported.push((name, user_spec(user, warnings)));
    }
    exported
}

fn user_spec(user: &User, warnings: &mut Vec<String>) -> GoAlertUserSpec {
    let who = format!("user {:?}", user.email);
    // GoAlert lists a password login as an identity of provider "basic" whose subject is the
    // username: the only place its API shows usernames.
    let username = user
        .auth_subjects
        .iter()
        .find(|s| s.provider_id == "basic")
        .map(|s| s.subject_id.clone())
        .filter(|username| *username != default_username(&user.email));
    let mut auth_subjects = Vec::new();
    for subject in &user.auth_subjects {
        match subject.provider_id.as_str() {
            "basic" => {}
            "oidc" | "github" => auth_subjects.push(AuthSubject {
                provider_id: subject.provider_id.clone(),
                subject_id: subject.subject_id.clone(),
            }),
            other => warnings.push(format!(
                "{who}: the identity at provider {other:?} is left out: GoAlertUser links only oidc and \
                 github identities"
            )),
        }
    }
    auth_subjects.sort_by(|a, b| (&a.provider_id, &a.subject_id).cmp(&(&b.provider_id, &b.subject_id)));

    let mut methods: Vec<_> = user.contact_methods.iter().collect();
    methods.sort_by(|a, b| (&a.name, &a.dest_type, &a.value).cmp(&(&b.name, &b.dest_type, &b.value)));
    let mut contact_methods = Vec::new();
    // Contact method ID → name, for the notification rules.
    let mut exported_names: HashMap<&str, &str> = HashMap::new();
    for method in methods {
        let kind = ContactMethodType::ALL
            .into_iter()
            .find(|kind| contact_method_destination(*kind).0 == method.dest_type);
        let Some(kind) = kind else {
            warnings.push(format!(
                "{who}: contact method {:?} ({}) is left out, with its notification rules: GoAlertUser \
                 has no contact method of that type; it stays as it is in GoAlert",
                method.name, method.dest_type
            ));
            continue;
        };
        if contact_methods
            .iter()
            .any(|c: &ContactMethod| c.name == method.name)
        {
            warnings.push(format!(
                "{who}: a second contact method named {:?} is left out, with its notification rules: \
                 GoAlertUser needs unique names; it stays as it is in GoAlert",
                method.name
            ));
            continue;
        }
        exported_names.insert(&method.id, &method.name);
        contact_methods.push(ContactMethod {
            name: method.name.clone(),
            method_type: kind,
            value: method.value.clone(),
            // Where GoAlert decides status updates itself, the spec has nothing to say.
            status_updates: (method.status_updates && !method.status_updates_forced).then_some(true),
        });
    }
    let notification_rules: BTreeSet<(i32, &str)> = user
        .notification_rules
        .iter()
        .filter_map(|rule| {
            let name = exported_names.get(rule.contact_method_id.as_str())?;
            Some((small(rule.delay_minutes), *name))
        })
        .collect();

    GoAlertUserSpec {
        email: user.email.clone(),
        display_name: Some(user.name.clone()),
        username,
        role: (user.role == UserRole::Admin).then_some(SpecRole::Admin),
        password_secret_ref: None,
        contact_methods,
        notification_rules: notification_rules
            .into_iter()
            .map(|(delay_minutes, name)| NotificationRule {
                contact_method: name.to_owned(),
                delay_minutes,
            })
            .collect(),
        auth_subjects,
        management: Default::default(),
    }
}

fn rotation_spec(rotation: &Rotation, refs: &References) -> GoAlertRotationSpec {
    let fields = &rotation.fields;
    GoAlertRotationSpec {
        rotation_name: Some(fields.name.clone()),
        description: non_empty(&fields.description),
        time_zone: fields.time_zone.clone(),
        rotation_type: match fields.rotation_type {
            RotationType::Hourly => SpecRotationType::Hourly,
            RotationType::Daily => SpecRotationType::Daily,
            RotationType::Weekly => SpecRotationType::Weekly,
            RotationType::Monthly => SpecRotationType::Monthly,
        },
        shift_length: (fields.shift_length != i64::from(DEFAULT_SHIFT_LENGTH))
            .then(|| small(fields.shift_length)),
        start: fields.start.clone(),
        participants: fields.user_ids.iter().map(|id| refs.user(id)).collect(),
        management: Default::default(),
    }
}

const MIDNIGHT: &str = "00:00";

fn schedule_spec(
    snapshot: &ScheduleSnapshot,
    refs: &References,
    warnings: &mut Vec<String>,
) -> GoAlertScheduleSpec {
    let schedule = &snapshot.schedule;
    if snapshot.on_call_notification_rules > 0 {
        warnings.push(format!(
            "schedule {:?}: its {} on-call notification rule(s) are left out: GoAlertSchedule cannot \
             express them; they stay as they are in GoAlert",
            schedule.name, snapshot.on_call_notification_rules
        ));
    }
    let mut targets: Vec<(ScheduleTargetKind, String, SpecTarget)> = schedule
        .targets
        .iter()
        .map(|target| {
            let (rotation_ref, user_ref) = match target.target.kind {
                ScheduleTargetKind::Rotation => (Some(refs.rotation(&target.target.id)), None),
                ScheduleTargetKind::User => (None, Some(refs.user(&target.target.id))),
            };
            let order = sort_key(rotation_ref.as_ref(), user_ref.as_ref());
            let spec = SpecTarget {
                rotation_ref,
                user_ref,
                rules: spec_rules(&target.rules),
            };
            (target.target.kind, order, spec)
        })
        .collect();
    targets.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    GoAlertScheduleSpec {
        schedule_name: Some(schedule.name.clone()),
        description: non_empty(&schedule.description),
        time_zone: schedule.time_zone.clone(),
        targets: targets.into_iter().map(|(_, _, target)| target).collect(),
        // Overrides and temporary schedules are on-call swaps made in the UI, not setup.
        overrides: Vec::new(),
        management: Default::default(),
    }
}

/// The spec rules for a target's GoAlert rules: none for "always" (which is what the controller
/// makes of no rules); weekdays only when not every day.
fn spec_rules(rules: &[ScheduleRule]) -> Vec<SpecRule> {
    let always = ScheduleRule {
        start: MIDNIGHT.into(),
        end: MIDNIGHT.into(),
        weekdays: [true; 7],
    };
    if rules == [always] {
        return Vec::new();
    }
    let mut sorted = rules.to_vec();
    sorted.sort();
    sorted
        .into_iter()
        .map(|rule| SpecRule {
            start: Some(rule.start),
            end: Some(rule.end),
            weekdays: (rule.weekdays != [true; 7]).then(|| {
                Weekday::ALL
                    .into_iter()
                    .zip(rule.weekdays)
                    .filter_map(|(day, on)| on.then_some(day))
                    .collect()
            }),
        })
        .collect()
}

/// The spec for a policy, or what in it the CRD cannot express.
fn policy_spec(
    policy: &EscalationPolicy,
    refs: &References,
) -> Result<GoAlertEscalationPolicySpec, Vec<String>> {
    let mut unsupported = Vec::new();
    let mut steps = Vec::with_capacity(policy.steps.len());
    for (index, step) in policy.steps.iter().enumerate() {
        let mut targets = Vec::with_capacity(step.actions.len());
        for action in &step.actions {
            let Some((kind, value)) = StepTargetKind::of(action) else {
                unsupported.push(format!(
                    "step {} notifies a {} destination",
                    index + 1,
                    action.dest_type
                ));
                continue;
            };
            let mut target = StepTarget {
                user_ref: None,
                rotation_ref: None,
                schedule_ref: None,
                slack_channel: None,
                webhook_url: None,
            };
            match kind {
                StepTargetKind::User => target.user_ref = Some(refs.user(value)),
                StepTargetKind::Rotation => target.rotation_ref = Some(refs.rotation(value)),
                StepTargetKind::Schedule => target.schedule_ref = Some(refs.schedule(value)),
                StepTargetKind::SlackChannel => target.slack_channel = Some(value.to_owned()),
                StepTargetKind::Webhook => target.webhook_url = Some(value.to_owned()),
            }
            let order = match kind {
                StepTargetKind::SlackChannel | StepTargetKind::Webhook => value.to_owned(),
                _ => sort_key(
                    target.rotation_ref.as_ref().or(target.schedule_ref.as_ref()),
                    target.user_ref.as_ref(),
                ),
            };
            targets.push((kind, order, target));
        }
        targets.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        steps.push(EscalationStep {
            delay_minutes: small(step.delay_minutes),
            targets: targets.into_iter().map(|(_, _, target)| target).collect(),
        });
    }
    if !unsupported.is_empty() {
        return Err(unsupported);
    }
    Ok(GoAlertEscalationPolicySpec {
        escalation_policy_name: Some(policy.name.clone()),
        description: non_empty(&policy.description),
        repeat: (policy.repeat != i64::from(DEFAULT_REPEAT)).then(|| small(policy.repeat)),
        steps,
        management: Default::default(),
    })
}

fn service_spec(
    service: &Service,
    name: &str,
    refs: &References,
    warnings: &mut Vec<String>,
) -> GoAlertServiceSpec {
    // Keys and monitors share one Secret per service; their data keys come from their names.
    let secret = format!("{name}-goalert");
    let mut secret_keys = Names::new(253, "url");
    let mut secret_ref = |wanted: String| KeySecretRef {
        name: secret.clone(),
        key: secret_keys.claim(&wanted),
        token_key: None,
    };

    let mut keys: Vec<_> = service.integration_keys.iter().collect();
    keys.sort_by_key(|k| (k.name.to_lowercase(), k.name.clone()));
    for key in keys
        .iter()
        .filter(|k| k.key_type == IntegrationKeyType::Universal)
    {
        warnings.push(format!(
            "service {:?}: the rules and actions of universal key {:?} are left out (the key itself is \
             exported): GoAlertService only creates the key; in another GoAlert, set them in its UI",
            service.name, key.name
        ));
    }
    let integration_keys = keys
        .into_iter()
        .map(|key| IntegrationKey {
            name: key.name.clone(),
            key_type: match key.key_type {
                IntegrationKeyType::Generic => None,
                IntegrationKeyType::Grafana => Some(SpecKeyType::Grafana),
                IntegrationKeyType::Site24x7 => Some(SpecKeyType::Site24x7),
                IntegrationKeyType::PrometheusAlertmanager => Some(SpecKeyType::PrometheusAlertmanager),
                IntegrationKeyType::Email => Some(SpecKeyType::Email),
                IntegrationKeyType::Universal => Some(SpecKeyType::Universal),
            },
            secret_ref: secret_ref(format!("{}-url", dns_label(&key.name))),
        })
        .collect();

    let mut monitors: Vec<_> = service.heartbeat_monitors.iter().collect();
    monitors.sort_by_key(|m| (m.name.to_lowercase(), m.name.clone()));
    let heartbeat_monitors = monitors
        .into_iter()
        .map(|monitor| HeartbeatMonitor {
            name: monitor.name.clone(),
            timeout_minutes: small(monitor.timeout_minutes),
            additional_details: non_empty(&monitor.additional_details),
            secret_ref: secret_ref(format!("{}-heartbeat-url", dns_label(&monitor.name))),
        })
        .collect();

    let mut labels = BTreeMap::new();
    for (key, value) in &service.labels {
        if goalert_rules::is_label_key(key) && goalert_rules::is_label_value(value) {
            labels.insert(key.clone(), value.clone());
        } else {
            warnings.push(format!(
                "service {:?}: label {key:?} is left out: GoAlert took it before its own rules \
                 (which GoAlertService follows) said no; it stays as it is in GoAlert",
                service.name
            ));
        }
    }

    GoAlertServiceSpec {
        service_name: Some(service.name.clone()),
        description: non_empty(&service.description),
        escalation_policy_ref: refs.policy(&service.escalation_policy_id),
        labels,
        integration_keys,
        heartbeat_monitors,
        adopt_existing_secrets: None,
        management: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goalert_client::model::{
        AuthSubject as Identity, ContactMethod as Method, Destination, EscalationStep as Step,
        HeartbeatMonitor as Monitor, IntegrationKey as Key, NotificationRule as Rule, RotationFields,
        Schedule, ScheduleTarget, TargetRef,
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
