//! GoAlertSchedule: who is on call when, from rotations and users with time rules.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Management, ObjectRef, Status, UserRef};
use super::kind::{GoAlertKind, Kind, RefKind, Reference, at, common_status};
use goalert_client::model::TargetType;

/// An on-call schedule in GoAlert.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "goalert.heystaq.com",
    version = "v1alpha1",
    kind = "GoAlertSchedule",
    namespaced,
    status = "GoAlertScheduleStatus",
    shortname = "gasched",
    category = "goalert",
    doc = "An on-call schedule: rotations and users, each active at the times its rules say.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Time Zone", "type": "string", "jsonPath": ".spec.timeZone"}"#,
    printcolumn = r#"{"name": "GoAlert ID", "type": "string", "jsonPath": ".status.goalertId", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertScheduleSpec {
    /// Name in GoAlert, unique across GoAlert (case-insensitive). Defaults to metadata.name.
    /// Characters GoAlert does not allow in names are dropped (see status.goalertName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 100))]
    pub schedule_name: Option<String>,

    /// Free text shown in GoAlert (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,

    /// IANA time zone the rules' clock times are in, for example America/New_York.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,

    /// Rotations and users on this schedule, each with the times it is active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub targets: Vec<ScheduleTarget>,

    /// Temporary changes for a window: add a person, remove one, or replace one by another.
    /// Only overrides listed here are managed; overrides made in GoAlert's UI are left alone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 35))]
    pub overrides: Vec<UserOverride>,

    /// Adoption, deletion, observe-only, drift, resync and suspend settings.
    #[serde(flatten)]
    pub management: Management,
}

/// A rotation or a user, and when it is on this schedule.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.rotationRef) != has(self.userRef)").message("set exactly one of rotationRef, userRef"))]
#[serde(rename_all = "camelCase")]
pub struct ScheduleTarget {
    /// A GoAlertRotation (or a rotation that exists only in GoAlert).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_ref: Option<ObjectRef>,
    /// A user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<UserRef>,
    /// When the target is active. Without rules it is always active.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30))]
    pub rules: Vec<ScheduleRule>,
}

/// Active from start to end (clock times in the schedule's time zone) on the given weekdays. A
/// rule whose start equals its end is active all day.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleRule {
    /// Start, HH:MM (24 hours). Defaults to 00:00.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub start: Option<String>,
    /// End, HH:MM (24 hours). Defaults to 00:00. An end before the start runs past midnight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub end: Option<String>,
    /// Weekdays the rule applies on. Defaults to every day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 7))]
    pub weekdays: Option<Vec<Weekday>>,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum Weekday {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
}

impl Weekday {
    /// Every day of the week, in GoAlert's order (Sunday first).
    pub const ALL: [Weekday; 7] = [
        Weekday::Sunday,
        Weekday::Monday,
        Weekday::Tuesday,
        Weekday::Wednesday,
        Weekday::Thursday,
        Weekday::Friday,
        Weekday::Saturday,
    ];
}

/// A temporary change to who is on call.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.addUserRef) || has(self.removeUserRef)").message("set addUserRef, removeUserRef, or both (replace)"))]
#[x_kube(validation = Rule::new("timestamp(self.start) < timestamp(self.end)").message("start must be before end"))]
#[serde(rename_all = "camelCase")]
pub struct UserOverride {
    /// Put this person on call for the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_user_ref: Option<UserRef>,
    /// Take this person off call for the window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remove_user_ref: Option<UserRef>,
    /// Start of the window (RFC 3339).
    #[schemars(
        length(max = 64),
        regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
    )]
    pub start: String,
    /// End of the window (RFC 3339). Overrides that have ended are ignored.
    #[schemars(
        length(max = 64),
        regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
    )]
    pub end: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertScheduleStatus {
    #[serde(flatten)]
    pub common: Status,
    #[serde(flatten)]
    pub schedule: ScheduleStatus,
}

/// The schedule's own part of its status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ScheduleStatus {
    /// IDs of the GoAlert user overrides created for spec.overrides; only these are ever deleted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_overrides: Vec<String>,
}

impl Kind for GoAlertSchedule {
    const NOUN: &'static str = "schedule";
    const NAME_FIELD: Option<&'static str> = Some("scheduleName");

    common_status!();

    fn spec_name(&self) -> Option<&str> {
        self.spec.schedule_name.as_deref()
    }

    fn references(&self) -> Vec<Reference> {
        let mut references = Vec::new();
        for (i, target) in self.spec.targets.iter().enumerate() {
            let path = at("spec.targets", i);
            if let Some(r) = &target.rotation_ref {
                references.extend(Reference::object(
                    format!("{path}.rotationRef"),
                    RefKind::Rotation,
                    r,
                ));
            }
            if let Some(r) = &target.user_ref {
                references.extend(Reference::user(format!("{path}.userRef"), r));
            }
        }
        for (i, o) in self.spec.overrides.iter().enumerate() {
            let path = at("spec.overrides", i);
            if let Some(r) = &o.add_user_ref {
                references.extend(Reference::user(format!("{path}.addUserRef"), r));
            }
            if let Some(r) = &o.remove_user_ref {
                references.extend(Reference::user(format!("{path}.removeUserRef"), r));
            }
        }
        references
    }
}

impl GoAlertKind for GoAlertSchedule {
    const TARGET: TargetType = TargetType::Schedule;
    const UI_PATH: &'static str = "schedules";

    fn management(&self) -> &Management {
        &self.spec.management
    }
}
