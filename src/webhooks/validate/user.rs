//! GoAlertUser: e-mail syntax, one custom resource per e-mail and username, contact methods
//! GoAlert accepts (phone numbers, one owner per destination), notification rules that name
//! a contact method, and the username never changing.

use std::{collections::HashSet, sync::Arc};

use kube::ResourceExt;

use super::{Admitted, ClusterView, Findings, Pending, PhoneNumber, describe, is_other};
use crate::{
    api::{
        GoAlertUser,
        user::{ContactMethodType, PASSWORD_SECRET_NAME_MAX, default_username, generated_password_secret},
    },
    webhooks::review::{DUPLICATE, FORBIDDEN, INVALID, at},
};

/// The username GoAlert gets: the spec's, or the default from the e-mail.
pub fn effective_username(user: &GoAlertUser) -> String {
    user.spec
        .username
        .clone()
        .unwrap_or_else(|| default_username(&user.spec.email))
}

impl Admitted for GoAlertUser {
    fn in_view(view: &ClusterView) -> &[Arc<Self>] {
        &view.users
    }

    fn check(&self, old: Option<&Self>, view: &ClusterView, findings: &mut Findings, pending: &mut Pending) {
        let spec = &self.spec;
        super::check_email("spec.email", &spec.email, findings);

        if let Some(old) = old
            && let Some(before) = &old.spec.username
            && spec.username.as_ref() != Some(before)
        {
            findings.error(
                "spec.username",
                FORBIDDEN,
                format!("cannot be changed once set (was {before:?}): GoAlert cannot rename a login"),
            );
        }

        check_password_secret_name(self, findings);

        let username = effective_username(self);
        for other in view.users.iter().filter(|o| is_other(self, o.as_ref())) {
            if other.spec.email.eq_ignore_ascii_case(&spec.email) {
                findings.error(
                    "spec.email",
                    DUPLICATE,
                    format!(
                        "the GoAlert user {:?} is already managed by {} (one custom resource per e-mail)",
                        spec.email,
                        describe(other.as_ref())
                    ),
                );
            } else if effective_username(other) == username {
                findings.error(
                    "spec.username",
                    DUPLICATE,
                    format!(
                        "username {username:?} is already used by {} (usernames are unique in GoAlert); set a different spec.username",
                        describe(other.as_ref())
                    ),
                );
            }
        }

        let mut names = HashSet::new();
        let mut destinations = HashSet::new();
        for (i, method) in spec.contact_methods.iter().enumerate() {
            let path = at("spec.contactMethods", i);
            if !names.insert(method.name.to_lowercase()) {
                findings.error(
                    format!("{path}.name"),
                    DUPLICATE,
                    format!(
                        "contact method name {:?} is used twice (GoAlert ignores case)",
                        method.name
                    ),
                );
            }
            if !super::is_goalert_name(&method.name) {
                findings.invalid(
                    format!("{path}.name"),
                    format!("{:?} is not a valid GoAlert name", method.name),
                );
            }
            if !destinations.insert((method.method_type, method.value.to_lowercase())) {
                findings.error(
                    format!("{path}.value"),
                    DUPLICATE,
                    format!(
                        "{:?} {} appears twice in this user's contact methods",
                        method.value,
                        type_name(method.method_type)
                    ),
                );
            }
            match method.method_type {
                ContactMethodType::Sms | ContactMethodType::Voice => {
                    pending.phone_numbers.push(PhoneNumber {
                        field: format!("{path}.value"),
                        number: method.value.clone(),
                    })
                }
                ContactMethodType::Email => {
                    super::check_email(&format!("{path}.value"), &method.value, findings)
                }
                ContactMethodType::Webhook => {
                    if url::Url::parse(&method.value).map_or(true, |u| u.host_str().is_none()) {
                        findings.invalid(
                            format!("{path}.value"),
                            format!("{:?} is not a valid URL", method.value),
                        );
                    }
                }
                ContactMethodType::SlackDm => {}
            }
            // GoAlert keeps one owner per destination: another user's identical contact method fails.
            if let Some(owner) = view
                .users
                .iter()
                .filter(|o| is_other(self, o.as_ref()))
                .find(|o| {
                    o.spec.contact_methods.iter().any(|m| {
                        m.method_type == method.method_type && m.value.eq_ignore_ascii_case(&method.value)
                    })
                })
            {
                findings.error(
                    format!("{path}.value"),
                    DUPLICATE,
                    format!(
                        "{} {:?} is already a contact method of {} (GoAlert allows one user per destination)",
                        type_name(method.method_type),
                        method.value,
                        describe(owner.as_ref())
                    ),
                );
            }
        }

        let mut rules = HashSet::new();
        for (i, rule) in spec.notification_rules.iter().enumerate() {
            let path = at("spec.notificationRules", i);
            if !spec
                .contact_methods
                .iter()
                .any(|m| m.name.eq_ignore_ascii_case(&rule.contact_method))
            {
                findings.invalid(
                    format!("{path}.contactMethod"),
                    format!(
                        "{:?} is not one of this user's contact methods (spec.contactMethods[].name)",
                        rule.contact_method
                    ),
                );
            }
            if !rules.insert((rule.contact_method.to_lowercase(), rule.delay_minutes)) {
                findings.error(
                    path,
                    DUPLICATE,
                    format!(
                        "the rule {:?} after {} minutes appears twice",
                        rule.contact_method, rule.delay_minutes
                    ),
                );
            }
        }

        let mut subjects = HashSet::new();
        for (i, subject) in spec.auth_subjects.iter().enumerate() {
            if !subjects.insert((&subject.provider_id, &subject.subject_id)) {
                findings.error(
                    at("spec.authSubjects", i),
                    DUPLICATE,
                    "this identity appears twice",
                );
            }
            if let Some(owner) = view
                .users
                .iter()
                .filter(|o| is_other(self, o.as_ref()))
                .find(|o| o.spec.auth_subjects.contains(subject))
            {
                findings.error(
                    format!("{}.subjectId", at("spec.authSubjects", i)),
                    DUPLICATE,
                    format!("this identity is already linked to {}", describe(owner.as_ref())),
                );
            }
        }
        let _ = INVALID;
    }
}

/// Without spec.passwordSecretRef the operator writes the generated password into a Secret named
/// after the user: refused here when that name cannot be a Secret name, before anything is made
/// in GoAlert (metadata.name itself is already a DNS subdomain, so only the length can fail).
fn check_password_secret_name(user: &GoAlertUser, findings: &mut Findings) {
    let name = user.name_any();
    if user.spec.password_secret_ref.is_some() || name.len() <= PASSWORD_SECRET_NAME_MAX {
        return;
    }
    findings.invalid(
        "metadata.name",
        format!(
            "{} characters is too long for a user without spec.passwordSecretRef: the generated password \
             goes into the Secret \"<name>-goalert-login\", {} characters, and Secret names have at most {}; \
             use at most {PASSWORD_SECRET_NAME_MAX} characters or set spec.passwordSecretRef",
            name.len(),
            generated_password_secret(&name).len(),
            crate::api::common::SECRET_NAME_MAX,
        ),
    );
}

fn type_name(method: ContactMethodType) -> &'static str {
    match method {
        ContactMethodType::Sms => "SMS",
        ContactMethodType::Voice => "Voice",
        ContactMethodType::Email => "Email",
        ContactMethodType::SlackDm => "SlackDM",
        ContactMethodType::Webhook => "Webhook",
    }
}

#[cfg(test)]
mod tests {
    use super::{
        super::fixtures::{check, user, view},
        *,
    };

    #[test]
    fn a_name_too_long_for_the_generated_password_secret_is_refused_unless_a_secret_is_named() {
        let with_secret = |name: &str| {
            let mut u = user(name, "long@example.com");
            u.spec.password_secret_ref = Some(crate::api::SecretKeyRef {
                name: "login".into(),
                key: "password".into(),
            });
            u
        };
        let longest = "a".repeat(PASSWORD_SECRET_NAME_MAX);
        let too_long = "a".repeat(PASSWORD_SECRET_NAME_MAX + 1);
        for (case, u, fields) in [
            ("longest", user(&longest, "long@example.com"), vec![]),
            (
                "one more",
                user(&too_long, "long@example.com"),
                vec!["metadata.name"],
            ),
            ("one more, with a Secret", with_secret(&too_long), vec![]),
        ] {
            let (findings, _) = check(&u, None, &ClusterView::default());
            assert_eq!(findings.fields(), fields, "{case}");
        }
        assert_eq!(generated_password_secret(&longest).len(), 253);
        let (findings, _) = check(
            &user(&too_long, "long@example.com"),
            None,
            &ClusterView::default(),
        );
        assert_eq!(
            findings.message(),
            "metadata.name: 240 characters is too long for a user without spec.passwordSecretRef: the \
             generated password goes into the Secret \"<name>-goalert-login\", 254 characters, and Secret \
             names have at most 253; use at most 239 characters or set spec.passwordSecretRef"
        );
    }

    #[test]
    fn a_valid_user_passes() {
        let (findings, pending) = check(&user("alice", "alice@example.com"), None, &ClusterView::default());
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
        assert_eq!(
            pending.phone_numbers.len(),
            1,
            "the SMS number is checked with GoAlert"
        );
    }

    #[test]
    fn malformed_emails_are_refused() {
        for bad in [
            "alice@",
            "a lice@example.com",
            "alice@example",
            "alice@@example.com",
            "<a>@example.com",
        ] {
            let (findings, _) = check(&user("alice", bad), None, &ClusterView::default());
            assert_eq!(findings.fields(), ["spec.email"], "{bad}");
        }
    }

    #[test]
    fn two_resources_for_one_email_conflict() {
        let other = user("alice2", "ALICE@example.com");
        let (findings, _) = check(
            &user("alice", "alice@example.com"),
            None,
            &view().users(vec![other]),
        );
        assert!(findings.fields().contains(&"spec.email"), "{:?}", findings.errors);
        assert!(
            findings
                .message()
                .contains("already managed by GoAlertUser team-a/alice2")
        );
    }

    #[test]
    fn the_same_username_conflicts() {
        let other = user("al", "alice@other.example.com");
        let (findings, _) = check(
            &user("alice", "alice@example.com"),
            None,
            &view().users(vec![other]),
        );
        assert!(
            findings.fields().contains(&"spec.username"),
            "{:?}",
            findings.errors
        );
    }

    #[test]
    fn the_username_cannot_change() {
        let mut old = user("alice", "alice@example.com");
        old.spec.username = Some("alice".into());
        let mut new = old.clone();
        new.spec.username = Some("alice2".into());
        let (findings, _) = check(&new, Some(&old), &ClusterView::default());
        assert_eq!(findings.fields(), ["spec.username"]);
    }

    #[test]
    fn notification_rules_name_a_contact_method() {
        let mut alice = user("alice", "alice@example.com");
        alice.spec.notification_rules[0].contact_method = "Pager".into();
        let (findings, _) = check(&alice, None, &ClusterView::default());
        assert_eq!(findings.fields(), ["spec.notificationRules[0].contactMethod"]);
    }

    #[test]
    fn a_destination_has_one_owner() {
        let other = user("bob", "bob@example.com");
        let (findings, _) = check(
            &user("alice", "alice@example.com"),
            None,
            &view().users(vec![other]),
        );
        assert!(
            findings.fields().contains(&"spec.contactMethods[0].value"),
            "{:?}",
            findings.errors
        );
    }
}
