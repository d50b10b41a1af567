//! GoAlertService: something that raises alerts, with integration keys and heartbeat monitors
//! whose secret URLs are written to Kubernetes Secrets.

use std::collections::BTreeMap;

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{
    common::{self, Management, ObjectRef, Status},
    goalert_rules,
    kind::{GoAlertKind, Kind, RefKind, Reference, common_status},
};
use goalert_client::model::TargetType;

/// A service in GoAlert.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "goalert.heystaq.com",
    version = "v1alpha1",
    kind = "GoAlertService",
    namespaced,
    status = "GoAlertServiceStatus",
    shortname = "gasvc",
    category = "goalert",
    doc = "A GoAlert service: alerts arrive through its integration keys and escalate by its policy.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Service", "type": "string", "jsonPath": ".spec.serviceName"}"#,
    printcolumn = r#"{"name": "GoAlert ID", "type": "string", "jsonPath": ".status.goalertId", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertServiceSpec {
    /// Name in GoAlert, unique across GoAlert (case-insensitive). Defaults to metadata.name.
    /// Characters GoAlert does not allow in names are dropped (see status.goalertName).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 2, max = 100))]
    pub service_name: Option<String>,

    /// Free text shown in GoAlert (at most 6 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 6144))]
    pub description: Option<String>,

    /// The escalation policy alerts of this service follow.
    pub escalation_policy_ref: ObjectRef,

    /// GoAlert service labels: keys are `<domain-like prefix>/<name>`, values 3-255 characters;
    /// exactly what GoAlert accepts.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 50, "additionalProperties" = {"type": "string", "maxLength": goalert_rules::LABEL_MAX_CHARS}))]
    #[x_kube(validation = Rule::new(goalert_rules::label_keys_rule()).message(goalert_rules::LABEL_KEYS_MESSAGE))]
    #[x_kube(validation = Rule::new(goalert_rules::label_values_rule()).message(goalert_rules::LABEL_VALUES_MESSAGE))]
    pub labels: BTreeMap<String, String>,

    /// Integration keys: URLs monitoring systems post alerts to. Each URL is written to a Secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = MAX_INTEGRATION_KEYS))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub integration_keys: Vec<IntegrationKey>,

    /// Heartbeat monitors: URLs a job must call regularly, or an alert fires. Each URL is
    /// written to a Secret.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 30))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub heartbeat_monitors: Vec<HeartbeatMonitor>,

    /// No longer has any effect: a spec cannot open someone else's Secret. The operator writes
    /// into a Secret it did not create only when that Secret names this resource in its
    /// annotation goalert.heystaq.com/writable-by (see docs/security.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopt_existing_secrets: Option<bool>,

    /// Adoption, deletion, observe-only, drift, resync and suspend settings.
    #[serde(flatten)]
    pub management: Management,
}

/// Integration keys per service: GoAlert's default system limit (integration_keys_per_service).
pub const MAX_INTEGRATION_KEYS: usize = 30;

/// The kinds of integration key GoAlert v0.34 offers.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema, Default)]
pub enum IntegrationKeyType {
    /// GoAlert's generic API (default).
    #[default]
    Generic,
    Grafana,
    Site24x7,
    PrometheusAlertmanager,
    /// Alerts by e-mail (needs an e-mail integration domain configured in GoAlert).
    Email,
    /// Universal key with rules (needs GoAlert started with --experimental=univ-keys).
    Universal,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationKey {
    /// Name of the key in GoAlert, unique within the service. Renaming makes a new key (and a
    /// new URL): GoAlert cannot rename keys.
    #[schemars(
        length(min = 2, max = 64),
        regex(pattern = r"^[A-Za-z][A-Za-z0-9 _'-]*[A-Za-z0-9_'-]$")
    )]
    pub name: String,
    /// Kind of key. Defaults to Generic. Changing it makes a new key (and URL). The new key is
    /// made before the old one is deleted, first under the name "<name> replacing" while the
    /// old key holds the name, so the Secret always holds a working URL; the service needs room
    /// for one more key meanwhile (GoAlert's IntegrationKeysPerService limit).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub key_type: Option<IntegrationKeyType>,
    /// Where to write the key's URL.
    pub secret_ref: KeySecretRef,
}

/// A key in a Secret of the same namespace, and optionally a second key for the bare token.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeySecretRef {
    /// Name of the Secret. Several keys and monitors may share one Secret.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(common::secret_name_rule()).message(common::SECRET_NAME_MESSAGE))]
    pub name: String,
    /// Key of the Secret's data that receives the full URL.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
    /// Key of the Secret's data that receives the token alone, for consumers that want it
    /// without the URL (for example a Grafana contact point).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub token_key: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatMonitor {
    /// Name of the monitor, unique within the service.
    #[schemars(
        length(min = 2, max = 64),
        regex(pattern = r"^[A-Za-z][A-Za-z0-9 _'-]*[A-Za-z0-9_'-]$")
    )]
    pub name: String,
    /// Minutes without a heartbeat before an alert fires (5 to 540000).
    #[schemars(range(min = 5, max = 540_000))]
    pub timeout_minutes: i32,
    /// Text added to the alert the monitor raises (at most 6 KiB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 6144))]
    pub additional_details: Option<String>,
    /// Where to write the monitor's URL.
    pub secret_ref: KeySecretRef,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertServiceStatus {
    #[serde(flatten)]
    pub common: Status,
    #[serde(flatten)]
    pub service: ServiceStatus,
}

/// The service's own part of its status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceStatus {
    /// Where each integration key's URL was written (never the URL itself).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub integration_keys: Vec<CredentialStatus>,
    /// Where each heartbeat monitor's URL was written, and the monitor's state.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub heartbeat_monitors: Vec<CredentialStatus>,
    /// Label keys this resource set in GoAlert; only these are ever removed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managed_labels: Vec<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CredentialStatus {
    pub name: String,
    /// `<secret name>/<key>` holding the URL (and `<secret name>/<tokenKey>` for the token), comma-separated;
    /// without the URL when GoAlert gives the key none (condition CredentialsWritten says so).
    pub secret: String,
    /// For heartbeat monitors: inactive, healthy or unhealthy.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl Kind for GoAlertService {
    const NOUN: &'static str = "service";
    const NAME_FIELD: Option<&'static str> = Some("serviceName");
    const OWNS_SECRETS: bool = true;

    common_status!();

    fn spec_name(&self) -> Option<&str> {
        self.spec.service_name.as_deref()
    }

    fn references(&self) -> Vec<Reference> {
        Reference::object(
            "spec.escalationPolicyRef".into(),
            RefKind::EscalationPolicy,
            &self.spec.escalation_policy_ref,
        )
        .into_iter()
        .collect()
    }
}

impl GoAlertKind for GoAlertService {
    const TARGET: TargetType = TargetType::Service;
    const UI_PATH: &'static str = "services";

    fn management(&self) -> &Management {
        &self.spec.management
    }
}
