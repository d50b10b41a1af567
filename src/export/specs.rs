//! One spec builder per kind: a GoAlert object as the spec the controller maps back to exactly
//! it, fields written only where they differ from the CRD's defaults.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{
    names::{MAX_NAME, Names, dns_label},
    read::ScheduleSnapshot,
    references::{References, sort_key},
};
use crate::{
    api::{
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

/// GoAlert bounds the minutes and counts exported here far below `i32::MAX` (540000 at most).
pub(super) fn small(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}

pub(super) fn non_empty(text: &str) -> Option<String> {
    (!text.is_empty()).then(|| text.to_owned())
}

/// The exportable users as (metadata.name, spec), and their references. A user is exported only
/// when the operator would recognise exactly that user again: by a unique, valid e-mail.
pub(super) fn users(
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

pub(super) fn user_spec(user: &User, warnings: &mut Vec<String>) -> GoAlertUserSpec {
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

pub(super) fn rotation_spec(rotation: &Rotation, refs: &References) -> GoAlertRotationSpec {
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

pub(super) const MIDNIGHT: &str = "00:00";

pub(super) fn schedule_spec(
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
pub(super) fn spec_rules(rules: &[ScheduleRule]) -> Vec<SpecRule> {
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
pub(super) fn policy_spec(
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

pub(super) fn service_spec(
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
