//! GoAlertUser → a GoAlert user with contact methods, notification rules and SSO identities.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::Secret;
use kube::{Api, ResourceExt};

use super::{
    Context,
    error::{Error, Result},
    field_diff::FieldDiff,
    owned_set::owned_set,
    reconcile::{Changes, Provisioned},
    secrets,
};
use crate::api::{
    GoAlertUser, SecretKeyRef,
    user::{ContactMethodStatus, ContactMethodType, UserRole as SpecRole, UserStatus, default_username},
};
use goalert_client::{
    model::{
        AuthSubject, ContactMethod, Destination, NewContactMethod, NewUser, NotificationRule, TargetType,
        User, UserRole, UserUpdate,
    },
    secret,
};

const FIELDS: &[(&str, &str)] = &[
    ("username", "spec.username"),
    ("password", "spec.passwordSecretRef"),
    ("name", "spec.displayName"),
    ("email", "spec.email"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredUser {
    name: String,
    email: String,
    username: String,
    role: UserRole,
    contact_methods: Vec<DesiredContactMethod>,
    /// (contact method name, delay minutes)
    notification_rules: BTreeSet<(String, i64)>,
    auth_subjects: BTreeSet<AuthSubject>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DesiredContactMethod {
    name: String,
    dest_type: &'static str,
    arg: &'static str,
    value: String,
    status_updates: bool,
}

/// GoAlert's destination type and argument name for each kind of contact method.
pub(crate) fn destination(kind: ContactMethodType) -> (&'static str, &'static str) {
    match kind {
        ContactMethodType::Sms => ("builtin-twilio-sms", "phone_number"),
        ContactMethodType::Voice => ("builtin-twilio-voice", "phone_number"),
        ContactMethodType::Email => ("builtin-smtp-email", "email_address"),
        ContactMethodType::SlackDm => ("builtin-slack-dm", "slack_user_id"),
        ContactMethodType::Webhook => ("builtin-webhook", "webhook_url"),
    }
}

impl Provisioned for GoAlertUser {
    type Desired = DesiredUser;
    type Fields = UserStatus;
    type Observed = User;

    async fn desired(&self, _ctx: &Context) -> Result<DesiredUser> {
        desired_user(self)
    }

    fn unique_key(desired: &DesiredUser) -> &str {
        &desired.email
    }

    async fn find(ctx: &Context, email: &str) -> Result<Option<String>> {
        let ids = ctx.goalert.user_ids_by_email(email).await?;
        match ids.as_slice() {
            [] => Ok(None),
            [id] => Ok(Some(id.clone())),
            _ => Err(Error::InvalidSpec {
                field: "spec.email".into(),
                message: format!(
                    "several GoAlert users have the e-mail {email:?}; the operator cannot tell which to manage"
                ),
            }),
        }
    }

    async fn observe(ctx: &Context, id: &str) -> Result<Option<User>> {
        Ok(ctx.goalert.user(id).await?)
    }

    async fn list(ctx: &Context) -> Result<Vec<(String, User)>> {
        let users = ctx.goalert.all_users().await?;
        Ok(users.into_iter().map(|u| (u.id.clone(), u)).collect())
    }

    fn key_of(observed: &User) -> &str {
        &observed.email
    }

    const KEY_KEPT_UNIQUE: bool = false;

    async fn create(&self, ctx: &Context, desired: &DesiredUser) -> Result<(String, User)> {
        let password = self.initial_password(ctx).await?;
        let user = NewUser {
            username: desired.username.clone(),
            password,
            name: desired.name.clone(),
            email: desired.email.clone(),
            role: desired.role,
        };
        ctx.goalert
            .create_user(user)
            .await
            .map(|user| (user.id.clone(), user))
            .map_err(|e| Error::from_goalert(e, FIELDS))
    }

    async fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &DesiredUser,
        observed: &User,
        changes: &mut Changes,
    ) -> Result<UserStatus> {
        let (update, fields) = user_update(desired, observed);
        if !fields.is_empty() {
            let request = ctx.goalert.update_user(id, update);
            changes
                .send(&fields, async {
                    request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                })
                .await?;
        }
        let previously_managed: BTreeSet<String> = self
            .status
            .iter()
            .flat_map(|s| s.user.contact_methods.iter().map(|c| c.name.clone()))
            .collect();
        let plan = contact_method_plan(desired, &observed.contact_methods, &previously_managed);
        const METHODS: [&str; 1] = ["spec.contactMethods"];
        for (old_id, name) in &plan.rename {
            let request = ctx
                .goalert
                .update_contact_method(old_id, Some(name.clone()), None);
            changes.send(&METHODS, async { Ok(request.await?) }).await?;
        }
        for (cm_id, status_updates) in &plan.status_updates {
            let request = ctx
                .goalert
                .update_contact_method(cm_id, None, Some(*status_updates));
            changes.send(&METHODS, async { Ok(request.await?) }).await?;
        }
        // What the creates answer with: enough to go on without reading the user again.
        let mut created = Vec::new();
        for cm in &plan.create {
            let index = desired
                .contact_methods
                .iter()
                .position(|c| c.name == cm.name)
                .unwrap_or_default();
            let new = new_contact_method(desired, cm);
            // Made unverified, and no verification code is sent: GoAlert deletes a contact
            // method 15 minutes after a code was sent to it unless the code was entered, so a
            // code sent here would make every method nobody verifies in time again, with a new
            // code to its owner, at each resync. The person asks for the code when verifying
            // (GoAlert's Verify button, or `gctl contact verify`).
            let request = async {
                ctx.goalert
                    .create_contact_method(id, &new)
                    .await
                    .map_err(|source| {
                        match Error::from_goalert(
                            source,
                            &[("newUserNotificationRule", "spec.notificationRules")],
                        ) {
                            Error::GoAlert { field: None, source } => Error::GoAlert {
                                field: Some(format!("spec.contactMethods[{index}]")),
                                source,
                            },
                            error => error,
                        }
                    })
            };
            if let Some(made) = changes.send(&METHODS, request).await? {
                created.push((made, new.notification_rule));
            }
        }
        if !plan.delete.is_empty() {
            let targets: Vec<_> = plan
                .delete
                .iter()
                .map(|id| (TargetType::ContactMethod, id.as_str()))
                .collect();
            let request = ctx.goalert.delete(&targets);
            changes.send(&METHODS, async { Ok(request.await?) }).await?;
        }

        let user = if plan.is_empty() || !changes.writes() {
            observed.clone()
        } else if plan.only_creates() {
            with_created(observed, created)
        } else {
            Self::observe(ctx, id).await?.unwrap_or_else(|| observed.clone())
        };
        let managed_names: BTreeSet<&str> = desired.contact_methods.iter().map(|c| c.name.as_str()).collect();
        let rules = notification_rule_plan(desired, &user, &managed_names);
        const RULES: [&str; 1] = ["spec.notificationRules"];
        for (cm_id, delay) in &rules.create {
            let request = ctx.goalert.create_notification_rule(id, cm_id, *delay);
            changes
                .send(&RULES, async {
                    request
                        .await
                        .map_err(|e| Error::from_goalert(e, &[("delayMinutes", "spec.notificationRules")]))
                })
                .await?;
        }
        if !rules.delete.is_empty() {
            let targets: Vec<_> = rules
                .delete
                .iter()
                .map(|id| (TargetType::NotificationRule, id.as_str()))
                .collect();
            let request = ctx.goalert.delete(&targets);
            changes.send(&RULES, async { Ok(request.await?) }).await?;
        }
        let linked: BTreeSet<_> = user.auth_subjects.iter().cloned().collect();
        for subject in desired.auth_subjects.difference(&linked) {
            let request = ctx.goalert.add_auth_subject(id, subject);
            changes
                .send(&["spec.authSubjects"], async { Ok(request.await?) })
                .await?;
        }

        let verified: BTreeMap<&str, bool> = user
            .contact_methods
            .iter()
            .map(|c| (c.name.as_str(), !c.disabled))
            .collect();
        let contact_methods: Vec<_> = desired
            .contact_methods
            .iter()
            .map(|c| ContactMethodStatus {
                name: c.name.clone(),
                verified: verified.get(c.name.as_str()).copied().unwrap_or(false),
            })
            .collect();
        Ok(UserStatus {
            contact_methods,
            password_secret: (self.spec.password_secret_ref.is_none()).then(|| self.generated_secret_name()),
        })
    }
}

fn desired_user(user: &GoAlertUser) -> Result<DesiredUser> {
    let spec = &user.spec;
    let username = spec
        .username
        .clone()
        .unwrap_or_else(|| default_username(&spec.email));
    let contact_methods: Vec<_> = spec
        .contact_methods
        .iter()
        .map(|c| {
            let (dest_type, arg) = destination(c.method_type);
            DesiredContactMethod {
                name: c.name.clone(),
                dest_type,
                arg,
                value: if c.method_type == ContactMethodType::Email {
                    c.value.to_lowercase()
                } else {
                    c.value.clone()
                },
                status_updates: c.status_updates.unwrap_or(false),
            }
        })
        .collect();
    let mut notification_rules = BTreeSet::new();
    for (index, rule) in spec.notification_rules.iter().enumerate() {
        if !contact_methods.iter().any(|c| c.name == rule.contact_method) {
            return Err(Error::InvalidSpec {
                field: format!("spec.notificationRules[{index}].contactMethod"),
                message: format!(
                    "no contact method named {:?} in spec.contactMethods",
                    rule.contact_method
                ),
            });
        }
        notification_rules.insert((rule.contact_method.clone(), i64::from(rule.delay_minutes)));
    }
    Ok(DesiredUser {
        name: spec.display_name.clone().unwrap_or_else(|| username.clone()),
        email: spec.email.to_lowercase(),
        username,
        role: match spec.role.unwrap_or_default() {
            SpecRole::User => UserRole::User,
            SpecRole::Admin => UserRole::Admin,
        },
        contact_methods,
        notification_rules,
        auth_subjects: spec
            .auth_subjects
            .iter()
            .map(|s| AuthSubject {
                provider_id: s.provider_id.clone(),
                subject_id: s.subject_id.clone(),
            })
            .collect(),
    })
}

fn user_update(desired: &DesiredUser, observed: &User) -> (UserUpdate, Vec<String>) {
    let mut diff = FieldDiff::default();
    let update = UserUpdate {
        name: diff.set("spec.displayName", &desired.name, &observed.name),
        email: diff.set_if(
            "spec.email",
            !desired.email.eq_ignore_ascii_case(&observed.email),
            &desired.email,
        ),
        role: diff.set("spec.role", &desired.role, &observed.role),
    };
    (update, diff.changed())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct ContactMethodPlan {
    /// (existing ID, new name): a method with the desired value exists under another name.
    rename: Vec<(String, String)>,
    /// (existing ID, status updates on?)
    status_updates: Vec<(String, bool)>,
    create: Vec<DesiredContactMethod>,
    delete: Vec<String>,
}

impl ContactMethodPlan {
    fn only_creates(&self) -> bool {
        self.rename.is_empty() && self.status_updates.is_empty() && self.delete.is_empty()
    }

    fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// What to do with the user's contact methods. A method whose value changed is replaced (GoAlert
/// cannot edit a value); one with the desired value under another name is renamed, not created
/// again (so the person is not asked to verify it twice). Only methods this resource managed
/// before are ever deleted: methods the person added in GoAlert stay.
fn contact_method_plan(
    desired: &DesiredUser,
    observed: &[ContactMethod],
    previously_managed: &BTreeSet<String>,
) -> ContactMethodPlan {
    // GoAlert keeps a destination (type and value) unique, so it identifies a contact method;
    // one whose name the spec now gives another destination is replaced, even if made by hand.
    let desired_names: BTreeSet<&str> = desired.contact_methods.iter().map(|c| c.name.as_str()).collect();
    let parts = owned_set(
        &desired.contact_methods,
        observed,
        |want, have| want.dest_type == have.dest_type && want.value.eq_ignore_ascii_case(&have.value),
        |have| desired_names.contains(have.name.as_str()) || previously_managed.contains(&have.name),
    );
    let mut plan = ContactMethodPlan::default();
    for (_, want, existing) in parts.wanted {
        match existing {
            Some(have) => {
                if have.name != want.name {
                    plan.rename.push((have.id.clone(), want.name.clone()));
                }
                if !have.status_updates_forced && have.status_updates != want.status_updates {
                    plan.status_updates.push((have.id.clone(), want.status_updates));
                }
            }
            None => plan.create.push(want.clone()),
        }
    }
    plan.delete = parts.retired.iter().map(|have| have.id.clone()).collect();
    plan
}

/// The contact method with the first of its notification rules, the one createUserContactMethod
/// takes; the rule plan that follows makes the others.
/// The user as GoAlert holds it after the contact methods in `created` were made, each with the
/// notification rule created along with it (delay in minutes). The rules' IDs are not in the
/// answer; nothing in this pass needs them, and the next pass reads the user again.
fn with_created(observed: &User, created: Vec<(ContactMethod, Option<i64>)>) -> User {
    let mut user = observed.clone();
    for (method, rule) in created {
        if let Some(delay_minutes) = rule {
            user.notification_rules.push(NotificationRule {
                id: String::new(),
                contact_method_id: method.id.clone(),
                delay_minutes,
            });
        }
        user.contact_methods.push(method);
    }
    user
}

fn new_contact_method(desired: &DesiredUser, method: &DesiredContactMethod) -> NewContactMethod {
    NewContactMethod {
        name: method.name.clone(),
        destination: Destination {
            dest_type: method.dest_type.to_owned(),
            args: [(method.arg.to_owned(), method.value.clone())].into(),
        },
        status_updates: method.status_updates,
        notification_rule: (desired.notification_rules.iter())
            .find(|(name, _)| *name == method.name)
            .map(|(_, delay)| *delay),
    }
}

#[derive(Debug, Default, PartialEq, Eq)]
struct RulePlan {
    /// (contact method ID, delay)
    create: Vec<(String, i64)>,
    delete: Vec<String>,
}

/// Notification rules cannot be edited in GoAlert: missing ones are created, and rules on
/// managed contact methods that the spec no longer lists are deleted.
fn notification_rule_plan(desired: &DesiredUser, user: &User, managed: &BTreeSet<&str>) -> RulePlan {
    let id_of: BTreeMap<&str, &str> = user
        .contact_methods
        .iter()
        .map(|c| (c.name.as_str(), c.id.as_str()))
        .collect();
    let wanted: BTreeSet<(&str, i64)> = desired
        .notification_rules
        .iter()
        .filter_map(|(name, delay)| id_of.get(name.as_str()).map(|id| (*id, *delay)))
        .collect();
    let managed_ids: BTreeSet<&str> = managed
        .iter()
        .filter_map(|name| id_of.get(name).copied())
        .collect();
    let have: BTreeSet<(&str, i64)> = user
        .notification_rules
        .iter()
        .map(|r| (r.contact_method_id.as_str(), r.delay_minutes))
        .collect();
    RulePlan {
        create: wanted
            .difference(&have)
            .map(|(id, delay)| ((*id).to_owned(), *delay))
            .collect(),
        delete: user
            .notification_rules
            .iter()
            .filter(|r| managed_ids.contains(r.contact_method_id.as_str()))
            .filter(|r| !wanted.contains(&(r.contact_method_id.as_str(), r.delay_minutes)))
            .map(|r| r.id.clone())
            .collect(),
    }
}

impl GoAlertUser {
    fn generated_secret_name(&self) -> String {
        crate::api::user::generated_password_secret(&self.name_any())
    }

    /// The password GoAlert's createUser needs: from the named Secret, or generated into a
    /// Secret owned by this resource (reused if a previous attempt already made it).
    async fn initial_password(&self, ctx: &Context) -> Result<secret::Secret> {
        let namespace = self.namespace().unwrap_or_default();
        let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), &namespace);
        if let Some(reference) = &self.spec.password_secret_ref {
            return secrets::read_key(&secrets, reference, "spec.passwordSecretRef").await;
        }
        let name = self.generated_secret_name();
        let reference = SecretKeyRef {
            name: name.clone(),
            key: "password".into(),
        };
        let password = secret::Secret::new(secret::random_token(24));
        let data = [
            ("username".to_owned(), desired_user(self)?.username),
            ("password".to_owned(), password.expose().to_owned()),
        ]
        .into();
        match secrets::create(&secrets, self, &name, &data).await? {
            None => Ok(password),
            Some(existing) => {
                secrets::check_writable(&existing, self, "spec.passwordSecretRef")?;
                secrets::key(existing, &reference, "status.passwordSecret")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(name: &str, value: &str) -> DesiredContactMethod {
        DesiredContactMethod {
            name: name.into(),
            dest_type: "builtin-twilio-sms",
            arg: "phone_number",
            value: value.into(),
            status_updates: false,
        }
    }

    fn have(id: &str, name: &str, value: &str) -> ContactMethod {
        ContactMethod {
            id: id.into(),
            name: name.into(),
            dest_type: "builtin-twilio-sms".into(),
            value: value.into(),
            disabled: true,
            status_updates: false,
            status_updates_forced: false,
        }
    }

    fn desired(methods: Vec<DesiredContactMethod>) -> DesiredUser {
        DesiredUser {
            name: "Alice".into(),
            email: "alice@example.com".into(),
            username: "alice".into(),
            role: UserRole::User,
            contact_methods: methods,
            notification_rules: BTreeSet::new(),
            auth_subjects: BTreeSet::new(),
        }
    }

    /// Alice as GoAlert shows her.
    fn alice(contact_methods: Vec<ContactMethod>, notification_rules: Vec<NotificationRule>) -> User {
        User {
            id: "u".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            role: UserRole::User,
            contact_methods,
            notification_rules,
            auth_subjects: Vec::new(),
        }
    }

    #[test]
    fn a_method_created_with_its_first_rule_leaves_only_the_other_rules_to_create() {
        let mut wanted = desired(vec![want("Phone", "+15550100")]);
        wanted.notification_rules = [("Phone".to_owned(), 0), ("Phone".to_owned(), 5)].into();
        let observed = alice(Vec::new(), Vec::new());
        let plan = contact_method_plan(&wanted, &observed.contact_methods, &BTreeSet::new());
        assert!(plan.only_creates());
        let first_rule = new_contact_method(&wanted, &plan.create[0]).notification_rule;
        assert_eq!(first_rule, Some(0));
        let user = with_created(&observed, vec![(have("9", "Phone", "+15550100"), first_rule)]);
        let managed = ["Phone"].into();
        let rules = notification_rule_plan(&wanted, &user, &managed);
        assert_eq!(rules.create, vec![("9".to_owned(), 5)]);
        assert!(rules.delete.is_empty(), "{rules:?}");
        assert!(contact_method_plan(&wanted, &user.contact_methods, &BTreeSet::new()).is_empty());
    }

    #[test]
    fn in_sync_contact_methods_need_nothing() {
        let plan = contact_method_plan(
            &desired(vec![want("Phone", "+15550100")]),
            &[have("1", "Phone", "+15550100")],
            &BTreeSet::new(),
        );
        assert!(plan.is_empty(), "{plan:?}");
    }

    #[test]
    fn a_changed_value_replaces_the_method() {
        let plan = contact_method_plan(
            &desired(vec![want("Phone", "+15550199")]),
            &[have("1", "Phone", "+15550100")],
            &BTreeSet::new(),
        );
        assert_eq!(plan.create, vec![want("Phone", "+15550199")]);
        assert_eq!(plan.delete, vec!["1".to_owned()]);
    }

    #[test]
    fn the_same_destination_under_another_name_is_renamed_not_recreated() {
        let plan = contact_method_plan(
            &desired(vec![want("Mobile", "+15550100")]),
            &[have("1", "Phone", "+15550100")],
            &BTreeSet::new(),
        );
        assert_eq!(plan.rename, vec![("1".to_owned(), "Mobile".to_owned())]);
        assert!(plan.create.is_empty() && plan.delete.is_empty());
    }

    #[test]
    fn methods_the_person_added_are_left_alone() {
        let managed: BTreeSet<String> = ["Old".to_owned()].into();
        let observed = [
            have("1", "Phone", "+15550100"),
            have("2", "Old", "+15550101"),
            have("3", "Personal", "+15550102"),
        ];
        let plan = contact_method_plan(&desired(vec![want("Phone", "+15550100")]), &observed, &managed);
        assert_eq!(plan.delete, vec!["2".to_owned()]);
    }

    #[test]
    fn notification_rules_are_replaced_not_edited() {
        let mut want = desired(vec![want("Phone", "+15550100")]);
        want.notification_rules = [("Phone".to_owned(), 0), ("Phone".to_owned(), 5)].into();
        let rule = |id: &str, delay_minutes| NotificationRule {
            id: id.into(),
            contact_method_id: "1".into(),
            delay_minutes,
        };
        let user = alice(
            vec![have("1", "Phone", "+15550100")],
            vec![rule("r0", 0), rule("r10", 10)],
        );
        let plan = notification_rule_plan(&want, &user, &["Phone"].into());
        assert_eq!(plan.create, vec![("1".to_owned(), 5)]);
        assert_eq!(plan.delete, vec!["r10".to_owned()]);
    }

    #[test]
    fn a_new_contact_method_carries_its_first_rule_and_the_plan_makes_the_rest() {
        let mut want = desired(vec![want("Phone", "+15550100"), want("Spare", "+15550101")]);
        want.notification_rules = [("Phone".to_owned(), 5), ("Phone".to_owned(), 0)].into();
        let phone = new_contact_method(&want, &want.contact_methods[0]);
        assert_eq!(phone.notification_rule, Some(0));
        assert_eq!(
            phone.destination,
            Destination {
                dest_type: "builtin-twilio-sms".into(),
                args: [("phone_number".to_owned(), "+15550100".to_owned())].into(),
            }
        );
        assert_eq!(
            new_contact_method(&want, &want.contact_methods[1]).notification_rule,
            None
        );

        // GoAlert made Phone with its rule at 0 minutes.
        let user = User {
            id: "u".into(),
            name: "Alice".into(),
            email: "alice@example.com".into(),
            role: UserRole::User,
            contact_methods: vec![have("1", "Phone", "+15550100"), have("2", "Spare", "+15550101")],
            notification_rules: vec![NotificationRule {
                id: "r0".into(),
                contact_method_id: "1".into(),
                delay_minutes: 0,
            }],
            auth_subjects: vec![],
        };
        let plan = notification_rule_plan(&want, &user, &["Phone", "Spare"].into());
        assert_eq!(
            plan,
            RulePlan {
                create: vec![("1".to_owned(), 5)],
                delete: vec![],
            }
        );
    }

    #[test]
    fn user_fields_compare_emails_case_insensitively() {
        let observed = User {
            id: "u".into(),
            name: "Alice".into(),
            email: "ALICE@example.com".into(),
            role: UserRole::Admin,
            contact_methods: vec![],
            notification_rules: vec![],
            auth_subjects: vec![],
        };
        let (update, fields) = user_update(&desired(vec![]), &observed);
        assert_eq!(
            update,
            UserUpdate {
                role: Some(UserRole::User),
                ..Default::default()
            }
        );
        assert_eq!(fields, ["spec.role"]);
    }
}
