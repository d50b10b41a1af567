//! GoAlertRotation: people taking turns on call.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Management, Status, UserRef};
use super::kind::{GoAlertKind, Kind, Reference, at, common_status};
use goalert_client::model::TargetType;

/// `spec.shiftLength` when the spec does not say.
pub const DEFAULT_SHIFT_LENGTH: i32 = 1;

/// An on-call rotation in GoAlert.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "goalert.heystaq.com",
    version = "v1alpha1",
    kind = "GoAlertRotation",
    namespaced,
    status = "GoAlertRotationStatus",
    shortname = "garot",
    category = "goalert",
    doc = "An on-call rotation: participants take turns in shifts of a fixed length.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Type", "type": "string", "jsonPath": ".spec.type"}"#,
    printcolumn = r#"{"name": "Time Zone", "type": "string", "jsonPath": ".spec.timeZone"}"#,
    printcolumn = r#"{"name": "GoAlert ID", "type": "string", "jsonPath": ".status.goalertId", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertRotationSpec {
    /// Name in GoAlert, unique across GoAlert (case-insensitive). Defaults to metadata.name.
    /// Characters GoAlert does not allow in names are dropped (see status.goalertName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 100))]
    pub rotation_name: Option<String>,

    /// Free text shown in GoAlert (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,

    /// IANA time zone the shifts are computed in, for example Europe/Amsterdam.
    #[schemars(length(min = 1, max = 64))]
    pub time_zone: String,

    /// Unit of a shift.
    #[serde(rename = "type")]
    pub rotation_type: RotationType,

    /// Number of units per shift (1-9000). Defaults to 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 9000))]
    pub shift_length: Option<i32>,

    /// When the first shift starts (RFC 3339), for example 2026-01-05T09:00:00+01:00.
    #[schemars(
        length(max = 64),
        regex(pattern = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
    )]
    pub start: String,

    /// Who takes turns, in order. A person may appear more than once. Reordering is applied in
    /// place; the person on call now stays on call where possible.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub participants: Vec<UserRef>,

    /// Adoption, deletion, observe-only, drift, resync and suspend settings.
    #[serde(flatten)]
    pub management: Management,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum RotationType {
    Hourly,
    Daily,
    Weekly,
    Monthly,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct GoAlertRotationStatus {
    #[serde(flatten)]
    pub common: Status,
}

impl Kind for GoAlertRotation {
    const NOUN: &'static str = "rotation";
    const NAME_FIELD: Option<&'static str> = Some("rotationName");

    common_status!();

    fn spec_name(&self) -> Option<&str> {
        self.spec.rotation_name.as_deref()
    }

    fn references(&self) -> Vec<Reference> {
        self.spec
            .participants
            .iter()
            .enumerate()
            .filter_map(|(i, p)| Reference::user(at("spec.participants", i), p))
            .collect()
    }
}

impl GoAlertKind for GoAlertRotation {
    const TARGET: TargetType = TargetType::Rotation;
    const UI_PATH: &'static str = "rotations";

    fn management(&self) -> &Management {
        &self.spec.management
    }
}
