//! Types every kind shares: references, Secret references, deletion policy and status.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens in GoAlert when the custom resource is deleted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum DeletionPolicy {
    /// Delete the GoAlert object together with the custom resource.
    #[default]
    Delete,
    /// Keep the GoAlert object; only the custom resource goes away.
    Retain,
}

/// Whether an existing GoAlert object with the same unique name (or a user with the same e-mail)
/// is taken over.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, clap::ValueEnum)]
#[value(rename_all = "PascalCase")]
pub enum AdoptionPolicy {
    /// Take it over: bring the fields the spec sets to the spec, leave the rest.
    Adopt,
    /// Leave it alone and report Ready=False, reason AlreadyExists.
    Refuse,
}

/// Whether the operator writes to GoAlert.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum ManagementPolicy {
    /// Create, update and delete the GoAlert object to match the spec.
    #[default]
    Manage,
    /// Only read: status.pendingChanges lists, field by field, what Manage would change.
    Observe,
}

/// What happens when a field the spec manages was changed in GoAlert by hand.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum DriftPolicy {
    /// Change it back on the next resync (Event DriftCorrected).
    #[default]
    Correct,
    /// Leave it, and report it (Event DriftDetected, status.pendingChanges). A spec change still
    /// brings every managed field to the spec.
    Report,
}

/// How the operator manages the GoAlert object behind a resource; the same for every kind that
/// maps to one GoAlert object. Every field is optional.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, Eq, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct Management {
    /// Delete or Retain the GoAlert object when this resource is deleted. Defaults to Delete for
    /// objects the operator created and Retain for objects it adopted (status.adopted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<DeletionPolicy>,

    /// Adopt or Refuse an existing GoAlert object with the same unique name. Defaults to the
    /// operator's --adoption-policy (Adopt unless set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adoption: Option<AdoptionPolicy>,

    /// ID (UUID) of the existing GoAlert object to adopt: exactly that one is managed, and none is
    /// ever created. Set it to take over an object whose name differs from the spec's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F-]{36}$"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("goalertId cannot be changed; delete the resource with deletionPolicy Retain and create a new one"))]
    pub goalert_id: Option<String>,

    /// Manage (default) or Observe: read GoAlert and report what would change, write nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_policy: Option<ManagementPolicy>,

    /// Correct (default) or Report changes made in GoAlert by hand to fields the spec manages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drift_policy: Option<DriftPolicy>,

    /// How often GoAlert is read again to find drift, for example 10m or 1h30m (at least 30s).
    /// Defaults to the operator's --resync-period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32), regex(pattern = r"^([0-9]+(ms|s|m|h))+$"))]
    #[x_kube(validation = Rule::new("duration(self) >= duration('30s')").message("resyncPeriod must be at least 30s"))]
    pub resync_period: Option<String>,

    /// While true nothing is read from or written to GoAlert, not even on deletion (the GoAlert
    /// object is then kept). Condition Suspended says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspend: Option<bool>,
}

/// Another object of the referenced kind: a custom resource in this namespace by its name, or an
/// object that lives only in GoAlert by its GoAlert name or ID. Exactly one is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.name), has(self.goalertName), has(self.goalertId)].filter(x, x).size() == 1").message("set exactly one of name, goalertName, goalertId"))]
#[serde(rename_all = "camelCase")]
pub struct ObjectRef {
    /// Name of a custom resource of the referenced kind in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// Name of an object managed outside Kubernetes, as shown in GoAlert (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 64))]
    pub goalert_name: Option<String>,
    /// ID (UUID) of an object managed outside Kubernetes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F-]{36}$"))]
    pub goalert_id: Option<String>,
}

/// A GoAlert user: a GoAlertUser in this namespace by its name, or a user that exists only in
/// GoAlert (for example created by SSO login) by e-mail or ID. Exactly one is set.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("[has(self.name), has(self.email), has(self.goalertId)].filter(x, x).size() == 1").message("set exactly one of name, email, goalertId"))]
#[serde(rename_all = "camelCase")]
pub struct UserRef {
    /// Name of a GoAlertUser in the same namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253))]
    pub name: Option<String>,
    /// E-mail of a user that exists in GoAlert (matched case-insensitively; must match exactly one user).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 255))]
    pub email: Option<String>,
    /// ID (UUID) of a user that exists in GoAlert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F-]{36}$"))]
    pub goalert_id: Option<String>,
}

/// A Secret name as Kubernetes accepts it (a DNS-1123 subdomain; RE2 syntax). Checked in the
/// CRDs, so a spec naming a Secret the operator could never write is refused before anything is
/// made in GoAlert.
pub const SECRET_NAME: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";

/// Longest Secret name (a DNS subdomain).
pub const SECRET_NAME_MAX: usize = 253;

/// The CEL rule of a field holding a Secret name, for a message that says what is allowed
/// (a plain pattern would only quote the regex).
pub fn secret_name_rule() -> String {
    format!("self.matches(r'{SECRET_NAME}')")
}

pub const SECRET_NAME_MESSAGE: &str = "must be a Secret name: lower-case letters, digits, '-' and '.', starting and \
     ending with a letter or digit (a DNS subdomain, at most 253 characters)";

/// A key in a Secret of the same namespace.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
pub struct SecretKeyRef {
    /// Name of the Secret.
    #[schemars(length(min = 1, max = 253))]
    #[x_kube(validation = Rule::new(secret_name_rule()).message(SECRET_NAME_MESSAGE))]
    pub name: String,
    /// Key within the Secret's data.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// The status every kind reports, in the shape kubectl, Argo CD and kstatus read.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The metadata.generation this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// Ready says whether GoAlert matches the spec; Reconciling and Stalled say why not.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// ID of the object in GoAlert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(regex(pattern = r"^[0-9a-fA-F-]{36}$"))]
    pub goalert_id: Option<String>,
    /// The object's name in GoAlert (the spec's name with characters GoAlert does not allow dropped).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub goalert_name: Option<String>,
    /// Link to the object in GoAlert's web UI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// True when the object existed in GoAlert before and was taken over rather than created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adopted: Option<bool>,
    /// Spec fields GoAlert does not match, left unchanged because of managementPolicy Observe or
    /// driftPolicy Report. Empty when GoAlert matches the spec.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending_changes: Vec<String>,
}

/// Conditions merge by type under server-side apply.
fn conditions_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let mut schema = generator.subschema_for::<Vec<Condition>>();
    schema.insert("x-kubernetes-list-type".into(), "map".into());
    schema.insert("x-kubernetes-list-map-keys".into(), serde_json::json!(["type"]));
    schema
}

/// The name GoAlert stores for a service, policy, schedule or rotation named `name` in a spec.
///
/// GoAlert allows only ASCII letters, digits, space, '-', '_' and '\'' in these names, starting
/// with a letter, at most 64 bytes (validate.IDName). Specs may use friendlier names such as
/// "My Application (Production)"; other characters are dropped and spaces collapsed, giving
/// "My Application Production". The result is shown in status.goalertName.
pub fn goalert_name(name: &str) -> String {
    let kept: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '\'') {
                c
            } else {
                ' '
            }
        })
        .collect();
    let collapsed = kept.split_whitespace().collect::<Vec<_>>().join(" ");
    let from_first_letter = collapsed.trim_start_matches(|c: char| !c.is_ascii_alphabetic());
    let mut result: String = from_first_letter.chars().take(64).collect();
    result.truncate(result.trim_end().len());
    result
}

/// An e-mail address GoAlert accepts (net/mail's address syntax, in the common form): the rule
/// behind the webhook's checks and the export. The CRD's pattern is a looser first line (a test
/// holds the two together).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.rsplit_once('@') else {
        return false;
    };
    value.len() <= 255
        && !local.is_empty()
        && local.len() <= 64
        && !local.contains('@')
        && !value.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>' | '(' | ')' | ',' | ';' | ':' | '"' | '[' | ']' | '\\'
                )
        })
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
        })
}

#[cfg(test)]
mod tests {
    use super::{SECRET_NAME, SECRET_NAME_MAX, goalert_name};

    #[test]
    fn secret_names_are_dns_subdomains() {
        let rx = regex::Regex::new(SECRET_NAME).unwrap();
        for (name, ok) in [
            ("goalert-keys", true),
            ("team.a-keys", true),
            ("0keys9", true),
            ("My_Keys", false),
            ("keys-", false),
            ("-keys", false),
            ("a..b", false),
            ("schlüssel", false),
            ("", false),
        ] {
            assert_eq!(rx.is_match(name), ok, "{name:?}");
        }
        // The length is the schema's maxLength, not the pattern's.
        assert!(rx.is_match(&"a".repeat(SECRET_NAME_MAX + 1)));
    }

    #[test]
    fn goalert_names_keep_only_what_goalert_allows() {
        assert_eq!(
            goalert_name("My Application (Production)"),
            "My Application Production"
        );
        assert_eq!(goalert_name("Platform Primary"), "Platform Primary");
        assert_eq!(goalert_name("2nd-line: DB/ops"), "nd-line DB ops");
        assert_eq!(goalert_name(&"x".repeat(80)).len(), 64);
        assert_eq!(goalert_name("ends with space (x) "), "ends with space x");
    }
}
