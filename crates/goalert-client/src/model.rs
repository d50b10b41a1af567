//! GoAlert's objects as the operator sees them: plain data, independent of the wire format.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum UserRole {
    User,
    Admin,
    Unknown,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum RotationType {
    Monthly,
    Weekly,
    Daily,
    Hourly,
}

/// Kinds of GoAlert objects, as `deleteAll` and schedule targets name them.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub enum TargetType {
    EscalationPolicy,
    NotificationChannel,
    SlackChannel,
    SlackUserGroup,
    NotificationPolicy,
    Rotation,
    Service,
    Schedule,
    User,
    ChanWebhook,
    IntegrationKey,
    UserOverride,
    NotificationRule,
    ContactMethod,
    HeartbeatMonitor,
    CalendarSubscription,
    UserSession,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: UserRole,
    pub contact_methods: Vec<ContactMethod>,
    pub notification_rules: Vec<NotificationRule>,
    pub auth_subjects: Vec<AuthSubject>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactMethod {
    pub id: String,
    pub name: String,
    /// GoAlert destination type, for example `builtin-twilio-sms`.
    pub dest_type: String,
    /// The destination's single value (phone number, e-mail address, member ID or URL).
    pub value: String,
    /// True until the person verifies it.
    pub disabled: bool,
    pub status_updates: bool,
    /// GoAlert decides status updates for some destination types (webhooks always get them).
    pub status_updates_forced: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRule {
    pub id: String,
    pub contact_method_id: String,
    pub delay_minutes: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct AuthSubject {
    pub provider_id: String,
    pub subject_id: String,
}

/// A contact method as createUserContactMethod makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContactMethod {
    pub name: String,
    pub destination: Destination,
    pub status_updates: bool,
    /// The delay of a notification rule GoAlert makes with it, in the same transaction (the
    /// input takes one rule at most).
    pub notification_rule: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewUser {
    pub username: String,
    pub password: crate::secret::Secret,
    pub name: String,
    pub email: String,
    pub role: UserRole,
}

/// Fields of a user that can change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub email: Option<String>,
    pub role: Option<UserRole>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotation {
    pub id: String,
    pub fields: RotationFields,
}

/// Everything about a rotation the operator manages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RotationFields {
    pub name: String,
    pub description: String,
    pub time_zone: String,
    pub rotation_type: RotationType,
    pub shift_length: i64,
    /// RFC 3339.
    pub start: String,
    pub user_ids: Vec<String>,
}

/// Fields of a rotation that can change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RotationUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub time_zone: Option<String>,
    pub rotation_type: Option<RotationType>,
    pub shift_length: Option<i64>,
    pub start: Option<String>,
    pub user_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub id: String,
    pub name: String,
    pub description: String,
    pub time_zone: String,
    pub targets: Vec<ScheduleTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetRef {
    pub kind: ScheduleTargetKind,
    pub id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScheduleTargetKind {
    Rotation,
    User,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleTarget {
    pub target: TargetRef,
    pub rules: Vec<ScheduleRule>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ScheduleRule {
    /// HH:MM in the schedule's time zone.
    pub start: String,
    pub end: String,
    /// Seven flags, Sunday first.
    pub weekdays: [bool; 7],
}

/// A schedule as createSchedule makes it: GoAlert sets the targets' rules and makes the
/// overrides in the same transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewSchedule {
    pub name: String,
    pub description: String,
    pub time_zone: String,
    pub targets: Vec<ScheduleTarget>,
    pub overrides: Vec<OverrideWindow>,
}

/// Fields of a schedule that can change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScheduleUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub time_zone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOverride {
    pub id: String,
    pub window: OverrideWindow,
}

/// Who is added and/or removed, from start to end (RFC 3339).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct OverrideWindow {
    pub add_user_id: Option<String>,
    pub remove_user_id: Option<String>,
    pub start: String,
    pub end: String,
}

/// GoAlert's integration key types.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(rename_all = "camelCase")]
pub enum IntegrationKeyType {
    Generic,
    Grafana,
    #[serde(rename = "site24x7")]
    Site24x7,
    PrometheusAlertmanager,
    Email,
    Universal,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationPolicy {
    pub id: String,
    pub name: String,
    pub description: String,
    pub repeat: i64,
    pub steps: Vec<EscalationStep>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationStep {
    pub id: String,
    pub delay_minutes: i64,
    /// Sorted, so two steps compare equal whatever order GoAlert lists their actions in.
    pub actions: Vec<Destination>,
}

/// A GoAlert destination: a type such as `builtin-user` and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Destination {
    pub dest_type: String,
    pub args: std::collections::BTreeMap<String, String>,
}

/// The destinations an escalation step can notify that the operator manages; GoAlert has more
/// (Slack user groups, for example).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum StepTargetKind {
    User,
    Rotation,
    Schedule,
    SlackChannel,
    Webhook,
}

impl StepTargetKind {
    const ALL: [Self; 5] = [
        Self::User,
        Self::Rotation,
        Self::Schedule,
        Self::SlackChannel,
        Self::Webhook,
    ];

    /// GoAlert's destination type and the name of its one argument.
    fn wire(self) -> (&'static str, &'static str) {
        match self {
            Self::User => ("builtin-user", "user_id"),
            Self::Rotation => ("builtin-rotation", "rotation_id"),
            Self::Schedule => ("builtin-schedule", "schedule_id"),
            Self::SlackChannel => ("builtin-slack-channel", "slack_channel_id"),
            Self::Webhook => ("builtin-webhook", "webhook_url"),
        }
    }

    pub fn destination(self, value: String) -> Destination {
        let (dest_type, arg) = self.wire();
        Destination {
            dest_type: dest_type.to_owned(),
            args: [(arg.to_owned(), value)].into(),
        }
    }

    /// The kind and argument value of a destination GoAlert returned, if it is one of these.
    pub fn of(destination: &Destination) -> Option<(Self, &str)> {
        Self::ALL.into_iter().find_map(|kind| {
            let (dest_type, arg) = kind.wire();
            if destination.dest_type != dest_type || destination.args.len() != 1 {
                return None;
            }
            Some((kind, destination.args.get(arg)?.as_str()))
        })
    }
}

/// A policy as createEscalationPolicy makes it: GoAlert makes the steps in the same transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewEscalationPolicy {
    pub name: String,
    pub description: String,
    pub repeat: i64,
    pub steps: Vec<NewEscalationStep>,
}

/// A step's delay and whom it notifies, as a step is made or edited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEscalationStep {
    pub delay_minutes: i64,
    pub actions: Vec<Destination>,
}

/// Fields of a policy that can change; `None` leaves a field as it is. `step_ids` is the complete
/// ordered list: GoAlert deletes steps left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EscalationPolicyUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub repeat: Option<i64>,
    pub step_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    pub id: String,
    pub name: String,
    pub description: String,
    pub escalation_policy_id: String,
    pub labels: std::collections::BTreeMap<String, String>,
    pub integration_keys: Vec<IntegrationKey>,
    pub heartbeat_monitors: Vec<HeartbeatMonitor>,
}

/// A service as createService makes it: GoAlert makes the keys and monitors and sets the
/// labels in the same transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewService {
    pub name: String,
    pub description: String,
    pub escalation_policy_id: String,
    /// At most [`NewService::MAX_NESTED`].
    pub labels: std::collections::BTreeMap<String, String>,
    /// At most [`NewService::MAX_NESTED`].
    pub integration_keys: Vec<NewIntegrationKey>,
    pub heartbeat_monitors: Vec<NewHeartbeatMonitor>,
}

impl NewService {
    /// createService refuses more integration keys or labels than this (GoAlert v0.34's
    /// `validate.Range("NewIntegrationKeys", …, 0, 5)` and the same for labels); monitors have
    /// no such bound.
    pub const MAX_NESTED: usize = 5;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewIntegrationKey {
    pub name: String,
    pub key_type: IntegrationKeyType,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewHeartbeatMonitor {
    pub name: String,
    pub timeout_minutes: i64,
    pub additional_details: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationKey {
    /// The key's ID is its secret: never log it.
    pub id: String,
    pub name: String,
    pub key_type: IntegrationKeyType,
    /// The URL monitoring systems post to (contains the secret).
    pub href: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatMonitor {
    /// The monitor's ID is its secret: never log it.
    pub id: String,
    pub name: String,
    pub timeout_minutes: i64,
    pub additional_details: String,
    /// inactive, healthy or unhealthy.
    pub state: String,
    pub href: String,
}

/// Fields of a service that can change; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ServiceUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub escalation_policy_id: Option<String>,
}

/// How GoAlert writes a config setting's value as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigType {
    String,
    /// One item per line.
    StringList,
    /// Base 10; empty means 0.
    Integer,
    /// Exactly `true` or `false`.
    Boolean,
}

/// One config setting as GoAlert holds it. GoAlert returns credentials unmasked, so every value
/// is kept as a [`Secret`]; `password` marks the settings GoAlert itself calls secret.
#[derive(Debug, Clone)]
pub struct ConfigValue {
    pub id: String,
    pub kind: ConfigType,
    pub password: bool,
    pub value: Secret,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_targets_read_back_as_they_are_written() {
        for kind in StepTargetKind::ALL {
            let destination = kind.destination("value".into());
            assert_eq!(StepTargetKind::of(&destination), Some((kind, "value")));
        }
        let user_group = Destination {
            dest_type: "builtin-slack-usergroup".into(),
            args: [("slack_usergroup_id".to_owned(), "S1".to_owned())].into(),
        };
        assert_eq!(StepTargetKind::of(&user_group), None);
    }
}
