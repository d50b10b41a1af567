//! GoAlertAdmin: GoAlert's system configuration and limits, from Git.

use std::fmt;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{SecretKeyRef, Status};
use super::kind::{Kind, common_status};

/// GoAlert system configuration. Only the settings listed are managed; everything else stays as
/// the administrator left it. Deleting this resource changes nothing in GoAlert.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "goalert.heystaq.com",
    version = "v1alpha1",
    kind = "GoAlertAdmin",
    namespaced,
    status = "GoAlertAdminStatus",
    shortname = "gaadm",
    category = "goalert",
    doc = "GoAlert system configuration (setConfig) and system limits, with secret values read from Secrets.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertAdminSpec {
    /// Configuration settings by GoAlert ID, for example General.ApplicationName or SMTP.Enable.
    /// Related settings (such as Twilio.Enable with its account and token) are applied together.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 200))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub config: Vec<ConfigSetting>,

    /// System limits by ID, for example ContactMethodsPerUser; -1 means unlimited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 12))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub system_limits: Vec<SystemLimit>,
}

/// One configuration value: inline for plain settings, from a Secret for secrets.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("has(self.value) != has(self.valueFrom)").message("set exactly one of value, valueFrom"))]
#[x_kube(validation = Rule::new("!has(self.value) || !(self.id in ['GitHub.ClientSecret', 'OIDC.ClientSecret', 'Mailgun.APIKey', 'Slack.ClientSecret', 'Slack.AccessToken', 'Slack.SigningSecret', 'Twilio.AuthToken', 'Twilio.AlternateAuthToken', 'SMTP.Password'])").message("GoAlert's passwords, tokens and client secrets come from a Secret: use valueFrom.secretKeyRef instead of value"))]
#[serde(rename_all = "camelCase")]
pub struct ConfigSetting {
    /// GoAlert config ID, for example Twilio.AuthToken.
    #[schemars(length(max = 64), regex(pattern = r"^[A-Z][A-Za-z]*\.[A-Z][A-Za-z0-9]*$"))]
    pub id: String,
    /// The value as GoAlert expects it: text, `true`/`false`, a number, or a list with one item
    /// per line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 65536))]
    pub value: Option<String>,
    /// Read the value from a Secret (required for passwords, tokens and client secrets).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value_from: Option<ConfigValueSource>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigValueSource {
    pub secret_key_ref: SecretKeyRef,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
pub struct SystemLimit {
    /// GoAlert's limit ID.
    pub id: SystemLimitId,
    /// The limit; -1 means unlimited.
    #[schemars(range(min = -1))]
    pub value: i32,
}

/// GoAlert's system limit IDs (v0.34).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum SystemLimitId {
    CalendarSubscriptionsPerUser,
    ContactMethodsPerUser,
    EPActionsPerStep,
    EPStepsPerPolicy,
    HeartbeatMonitorsPerService,
    IntegrationKeysPerService,
    NotificationRulesPerUser,
    ParticipantsPerRotation,
    RulesPerSchedule,
    TargetsPerSchedule,
    UnackedAlertsPerService,
    UserOverridesPerSchedule,
}

/// GoAlert's own spelling, the one its API and this resource's YAML use.
impl fmt::Display for SystemLimitId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match serde_json::to_value(self) {
            Ok(serde_json::Value::String(name)) => f.write_str(&name),
            _ => Err(fmt::Error),
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertAdminStatus {
    #[serde(flatten)]
    pub common: Status,
    /// The config IDs and system limits this resource applies (never their values). Settings it
    /// shares with another GoAlertAdmin are left out until only one lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed: Vec<String>,
}

impl Kind for GoAlertAdmin {
    const NOUN: &'static str = "configuration";

    common_status!();
}
