//! GoAlertEscalationPolicy: who is notified, in which order, until someone acknowledges.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Management, ObjectRef, Status, UserRef};
use super::kind::{GoAlertKind, Kind, RefKind, Reference, at, common_status};
use goalert_client::model::TargetType;

/// `spec.repeat` when the spec does not say (GoAlert's own default).
pub const DEFAULT_REPEAT: i32 = 3;

/// An escalation policy in GoAlert.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "goalert.heystaq.com",
    version = "v1alpha1",
    kind = "GoAlertEscalationPolicy",
    namespaced,
    status = "GoAlertEscalationPolicyStatus",
    shortname = "gaep",
    category = "goalert",
    doc = "An escalation policy: steps of targets notified one after another until an alert is acknowledged.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Repeat", "type": "integer", "jsonPath": ".spec.repeat"}"#,
    printcolumn = r#"{"name": "GoAlert ID", "type": "string", "jsonPath": ".status.goalertId", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertEscalationPolicySpec {
    /// Name in GoAlert, unique across GoAlert (case-insensitive). Defaults to metadata.name.
    /// Characters GoAlert does not allow in names are dropped (see status.goalertName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 100))]
    pub escalation_policy_name: Option<String>,

    /// Free text shown in GoAlert (at most 255 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,

    /// How many times to run through all steps again when nobody acknowledges (0-5). Defaults to 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 5))]
    pub repeat: Option<i32>,

    /// Steps in order. Reordering, inserting and removing steps is applied in place, so services
    /// keep pointing at the same policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub steps: Vec<EscalationStep>,

    /// Adoption, deletion, observe-only, drift, resync and suspend settings.
    #[serde(flatten)]
    pub management: Management,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EscalationStep {
    /// Minutes to wait before escalating to the next step (1-9000).
    #[schemars(range(min = 1, max = 9000))]
    pub delay_minutes: i32,
    /// Who or what this step notifies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    pub targets: Vec<StepTarget>,
}

/// One thing a step notifies. Exactly one field is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.userRef), has(self.rotationRef), has(self.scheduleRef), has(self.slackChannel), has(self.webhookUrl)].filter(x, x).size() == 1").message("set exactly one of userRef, rotationRef, scheduleRef, slackChannel, webhookUrl"))]
#[serde(rename_all = "camelCase")]
pub struct StepTarget {
    /// A user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_ref: Option<UserRef>,
    /// Whoever is on call in a rotation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotation_ref: Option<ObjectRef>,
    /// Whoever is on call in a schedule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule_ref: Option<ObjectRef>,
    /// A Slack channel ID, for example C0123456789 (needs Slack configured in GoAlert; Slack's
    /// IDs are about 11 characters, at most 32 are accepted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^[CG][A-Z0-9]{2,}$"))]
    pub slack_channel: Option<String>,
    /// A URL GoAlert POSTs the alert to (needs webhooks enabled in GoAlert). At most 2048
    /// characters: GoAlert sets no limit, 2048 is what browsers and proxies commonly pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https?://"))]
    pub webhook_url: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
pub struct GoAlertEscalationPolicyStatus {
    #[serde(flatten)]
    pub common: Status,
}

impl Kind for GoAlertEscalationPolicy {
    const NOUN: &'static str = "escalation policy";
    const NAME_FIELD: Option<&'static str> = Some("escalationPolicyName");

    common_status!();

    fn spec_name(&self) -> Option<&str> {
        self.spec.escalation_policy_name.as_deref()
    }

    fn references(&self) -> Vec<Reference> {
        let mut references = Vec::new();
        for (i, step) in self.spec.steps.iter().enumerate() {
            for (j, target) in step.targets.iter().enumerate() {
                let path = at(&format!("{}.targets", at("spec.steps", i)), j);
                if let Some(r) = &target.user_ref {
                    references.extend(Reference::user(format!("{path}.userRef"), r));
                }
                if let Some(r) = &target.rotation_ref {
                    references.extend(Reference::object(
                        format!("{path}.rotationRef"),
                        RefKind::Rotation,
                        r,
                    ));
                }
                if let Some(r) = &target.schedule_ref {
                    references.extend(Reference::object(
                        format!("{path}.scheduleRef"),
                        RefKind::Schedule,
                        r,
                    ));
                }
            }
        }
        references
    }
}

impl GoAlertKind for GoAlertEscalationPolicy {
    const TARGET: TargetType = TargetType::EscalationPolicy;
    const UI_PATH: &'static str = "escalation-policies";

    fn management(&self) -> &Management {
        &self.spec.management
    }
}
