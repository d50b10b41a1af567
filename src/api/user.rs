//! GoAlertUser: a person who can be paged, with contact methods and notification rules.

use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Management, SecretKeyRef, Status};
use super::kind::{GoAlertKind, Kind, common_status};
use goalert_client::model::TargetType;

/// A GoAlert user. An existing GoAlert user with the same e-mail (for example one created by SSO
/// login) is taken over instead of created again.
#[derive(CustomResource, KubeSchema, Serialize, Deserialize, Clone, Debug, PartialEq)]
#[kube(
    group = "goalert.heystaq.com",
    version = "v1alpha1",
    kind = "GoAlertUser",
    namespaced,
    status = "GoAlertUserStatus",
    shortname = "gau",
    category = "goalert",
    doc = "A GoAlert user with contact methods and notification rules.",
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Email", "type": "string", "jsonPath": ".spec.email"}"#,
    printcolumn = r#"{"name": "GoAlert ID", "type": "string", "jsonPath": ".status.goalertId", "priority": 1}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[x_kube(validation = Rule::new("!has(oldSelf.username) || (has(self.username) && self.username == oldSelf.username)").message("username cannot be changed once set: GoAlert cannot rename a login"))]
#[serde(rename_all = "camelCase")]
pub struct GoAlertUserSpec {
    /// E-mail address; also how an existing GoAlert user is recognised.
    #[schemars(length(min = 3, max = 255), regex(pattern = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"))]
    pub email: String,

    /// Name shown in GoAlert. Defaults to the username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 256))]
    pub display_name: Option<String>,

    /// Login name for GoAlert's username/password login: 3-24 characters of a-z, 0-9, '.', '_'
    /// and '-'. Defaults to the e-mail's local part. Cannot be changed later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 3, max = 24), regex(pattern = r"^[a-z0-9._-]+$"))]
    pub username: Option<String>,

    /// Role in GoAlert. Defaults to User.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<UserRole>,

    /// The user's initial GoAlert password (8-200 characters), read from a Secret. Without it
    /// the operator generates one into the Secret `<name>-goalert-login`. Never put a
    /// password in the spec.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret_ref: Option<SecretKeyRef>,

    /// Where GoAlert can reach the user. GoAlert creates each one disabled until the user enters
    /// the code sent to it (see status.contactMethods).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 20))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub contact_methods: Vec<ContactMethod>,

    /// When to notify which contact method once an alert reaches the user.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 50))]
    pub notification_rules: Vec<NotificationRule>,

    /// SSO identities (OIDC or GitHub) linked to this user, for users who log in with SSO.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub auth_subjects: Vec<AuthSubject>,

    /// Adoption, deletion, observe-only, drift, resync and suspend settings.
    #[serde(flatten)]
    pub management: Management,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema, Default)]
pub enum UserRole {
    #[default]
    User,
    Admin,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, JsonSchema)]
pub enum ContactMethodType {
    /// Text message to a phone number (needs Twilio configured in GoAlert).
    #[serde(rename = "SMS")]
    Sms,
    /// Voice call to a phone number (needs Twilio configured in GoAlert).
    Voice,
    /// E-mail (needs SMTP configured in GoAlert).
    Email,
    /// Slack direct message (needs Slack configured in GoAlert).
    #[serde(rename = "SlackDM")]
    SlackDm,
    /// HTTP POST to a URL (needs webhooks enabled in GoAlert).
    Webhook,
}

impl ContactMethodType {
    pub const ALL: [Self; 5] = [Self::Sms, Self::Voice, Self::Email, Self::SlackDm, Self::Webhook];
}

/// A way to reach the user. Its value cannot be edited in GoAlert: changing it replaces the
/// contact method (and the user verifies the new one).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, KubeSchema)]
#[x_kube(validation = Rule::new("!(self.type in ['SMS', 'Voice']) || self.value.matches('^\\\\+[1-9][0-9]{6,14}$')").message("SMS and Voice values are phone numbers in E.164 form, for example +15555550100"))]
#[x_kube(validation = Rule::new("self.type != 'Email' || self.value.matches('^[^@\\\\s]+@[^@\\\\s]+\\\\.[^@\\\\s]+$')").message("Email values are e-mail addresses"))]
#[x_kube(validation = Rule::new("self.type != 'Webhook' || self.value.matches('^https?://')").message("Webhook values are http:// or https:// URLs"))]
#[x_kube(validation = Rule::new("self.type != 'SlackDM' || self.value.matches('^[UW][A-Z0-9]{2,}$')").message("SlackDM values are Slack member IDs, for example U024BE7LH"))]
#[serde(rename_all = "camelCase")]
pub struct ContactMethod {
    /// Name of the contact method, unique for this user; notification rules refer to it.
    #[schemars(
        length(min = 2, max = 64),
        regex(pattern = r"^[A-Za-z][A-Za-z0-9 _'-]*[A-Za-z0-9_'-]$")
    )]
    pub name: String,
    /// Kind of destination.
    #[serde(rename = "type")]
    pub method_type: ContactMethodType,
    /// Phone number, e-mail address, Slack member ID or URL, by type.
    #[schemars(length(min = 1, max = 512))]
    pub value: String,
    /// Also send alert status updates (acknowledged, closed) to this contact method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_updates: Option<bool>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct NotificationRule {
    /// Name of one of this user's contact methods.
    #[schemars(length(min = 2, max = 64))]
    pub contact_method: String,
    /// Minutes after the alert reaches the user (0-9000).
    #[schemars(range(min = 0, max = 9000))]
    pub delay_minutes: i32,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, Hash, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuthSubject {
    /// The identity provider: `oidc` or `github`.
    #[schemars(regex(pattern = r"^(oidc|github)$"))]
    pub provider_id: String,
    /// The user's subject at that provider (the OIDC `sub` claim, or the GitHub user ID).
    #[schemars(length(min = 1, max = 255))]
    pub subject_id: String,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GoAlertUserStatus {
    #[serde(flatten)]
    pub common: Status,
    #[serde(flatten)]
    pub user: UserStatus,
}

/// The user's own part of its status.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserStatus {
    /// Verification state of each contact method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contact_methods: Vec<ContactMethodStatus>,
    /// The Secret holding the generated password, when the operator generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_secret: Option<String>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ContactMethodStatus {
    pub name: String,
    /// False until the person enters the code GoAlert sent to it (GoAlert UI, or `gctl contact verify`).
    pub verified: bool,
}

/// The Secret the operator generates the initial password into for the GoAlertUser `name` when
/// its spec names none. Longer than a Secret name may be when `name` has more than
/// [`PASSWORD_SECRET_NAME_MAX`] characters (the webhook refuses such users).
pub fn generated_password_secret(name: &str) -> String {
    format!("{name}{PASSWORD_SECRET_SUFFIX}")
}

const PASSWORD_SECRET_SUFFIX: &str = "-goalert-login";

/// The longest GoAlertUser name whose generated password Secret name is still a Secret name.
pub const PASSWORD_SECRET_NAME_MAX: usize = super::common::SECRET_NAME_MAX - PASSWORD_SECRET_SUFFIX.len();

/// The username GoAlert gets when the spec names none: the e-mail's local part, lower-cased,
/// with characters GoAlert does not allow replaced, padded or cut to 3-24 characters.
pub fn default_username(email: &str) -> String {
    let local = email.split('@').next().unwrap_or_default().to_lowercase();
    let mut name: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .take(24)
        .collect();
    while name.len() < 3 {
        name.push('_');
    }
    name
}

impl Kind for GoAlertUser {
    const NOUN: &'static str = "user";
    const OWNS_SECRETS: bool = true;

    common_status!();
}

impl GoAlertKind for GoAlertUser {
    const TARGET: TargetType = TargetType::User;
    const UI_PATH: &'static str = "users";

    fn management(&self) -> &Management {
        &self.spec.management
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_usernames_follow_goalerts_rules() {
        assert_eq!(default_username("Alice.Smith@example.com"), "alice.smith");
        assert_eq!(default_username("a+b@example.com"), "a-b");
        assert_eq!(default_username("x@example.com"), "x__");
        assert_eq!(
            default_username("a-very-long-local-part-indeed-yes@example.com").len(),
            24
        );
    }
}
