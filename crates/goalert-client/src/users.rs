//! Users, their contact methods, notification rules and SSO identities.

use super::{
    GoAlert, Result, created,
    model::{AuthSubject, ContactMethod, NewContactMethod, NewUser, NotificationRule, User, UserUpdate},
    operations::*,
    paging::{Page, first_page, shrinking},
};

/// The fragment UserFields, as each operation that selects it generates it.
macro_rules! user_from {
    ($($operation:ident),*) => {$(
        impl From<$operation::UserFields> for User {
            fn from(u: $operation::UserFields) -> Self {
                User {
                    id: u.id,
                    name: u.name,
                    email: u.email,
                    role: u.role,
                    contact_methods: u.contact_methods.into_iter().map(ContactMethod::from).collect(),
                    notification_rules: u
                        .notification_rules
                        .into_iter()
                        .map(|r| NotificationRule {
                            id: r.id,
                            contact_method_id: r.contact_method_id,
                            delay_minutes: r.delay_minutes,
                        })
                        .collect(),
                    auth_subjects: u
                        .auth_subjects
                        .into_iter()
                        .map(|s| AuthSubject {
                            provider_id: s.provider_id,
                            subject_id: s.subject_id,
                        })
                        .collect(),
                }
            }
        }
    )*};
}

user_from!(user_by_id, all_users, create_user);

macro_rules! contact_method_from {
    ($($operation:ident),*) => {$(
        impl From<$operation::ContactMethodFields> for ContactMethod {
            fn from(cm: $operation::ContactMethodFields) -> Self {
                ContactMethod {
                    id: cm.id,
                    name: cm.name,
                    // Every contact-method destination type has exactly one argument.
                    value: cm.dest.args.values().next().cloned().unwrap_or_default(),
                    dest_type: cm.dest.type_,
                    disabled: cm.disabled,
                    status_updates: matches!(
                        cm.status_updates,
                        $operation::StatusUpdateState::ENABLED
                            | $operation::StatusUpdateState::ENABLED_FORCED
                    ),
                    status_updates_forced: matches!(
                        cm.status_updates,
                        $operation::StatusUpdateState::ENABLED_FORCED
                            | $operation::StatusUpdateState::DISABLED_FORCED
                    ),
                }
            }
        }
    )*};
}

contact_method_from!(user_by_id, all_users, create_user, create_contact_method);

impl GoAlert {
    pub async fn user(&self, id: &str) -> Result<Option<User>> {
        let data = self
            .run::<UserById>(user_by_id::Variables { id: id.to_owned() })
            .await?;
        Ok(data.user.map(User::from))
    }

    /// Every user, a page at a time (sized in paging.rs).
    pub async fn all_users(&self) -> Result<Vec<User>> {
        shrinking(first_page::USERS, |after, first| async move {
            let page = self
                .run::<AllUsers>(all_users::Variables { after, first })
                .await?
                .users;
            Ok(Page {
                items: page.nodes.into_iter().map(User::from).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    /// IDs of the users with this e-mail (case-insensitive, exact). E-mails are not unique in
    /// GoAlert, so there can be more than one; at most two are returned, enough to tell.
    pub async fn user_ids_by_email(&self, email: &str) -> Result<Vec<String>> {
        let search = format!("email={email}");
        let data = self
            .run::<UsersByEmail>(users_by_email::Variables { search })
            .await?;
        Ok(data.users.nodes.into_iter().map(|u| u.id).collect())
    }

    pub async fn create_user(&self, user: NewUser) -> Result<User> {
        let input = create_user::CreateUserInput {
            username: user.username,
            password: user.password.expose().to_owned(),
            name: Some(user.name),
            email: Some(user.email),
            role: Some(user.role),
            favorite: None,
        };
        let data = self.run::<CreateUser>(create_user::Variables { input }).await?;
        created("CreateUser", data.create_user)
    }

    pub async fn update_user(&self, id: &str, update: UserUpdate) -> Result<()> {
        let input = update_user::UpdateUserInput {
            id: id.to_owned(),
            name: update.name,
            email: update.email,
            role: update.role,
            status_update_contact_method_id: None,
        };
        self.run::<UpdateUser>(update_user::Variables { input })
            .await
            .map(drop)
    }

    /// Creates a contact method, and its notification rule if it has one, in one request (one
    /// transaction).
    /// Creates a contact method (with its first notification rule, where one is given) and
    /// returns it as GoAlert made it.
    pub async fn create_contact_method(
        &self,
        user_id: &str,
        method: &NewContactMethod,
    ) -> Result<ContactMethod> {
        let input = create_contact_method::CreateUserContactMethodInput {
            user_id: user_id.to_owned(),
            name: method.name.clone(),
            dest: Some(create_contact_method::DestinationInput {
                type_: method.destination.dest_type.clone(),
                args: Some(method.destination.args.clone()),
                values: None,
            }),
            enable_status_updates: Some(method.status_updates),
            type_: None,
            value: None,
            new_user_notification_rule: method.notification_rule.map(|delay| {
                create_contact_method::CreateUserNotificationRuleInput {
                    // GoAlert sets the user and the new contact method.
                    user_id: None,
                    contact_method_id: None,
                    delay_minutes: delay,
                }
            }),
        };
        let data = self
            .run::<CreateContactMethod>(create_contact_method::Variables { input })
            .await?;
        created("CreateContactMethod", data.create_user_contact_method)
    }

    pub async fn update_contact_method(
        &self,
        id: &str,
        name: Option<String>,
        status_updates: Option<bool>,
    ) -> Result<()> {
        let input = update_contact_method::UpdateUserContactMethodInput {
            id: id.to_owned(),
            name,
            enable_status_updates: status_updates,
            value: None,
        };
        self.run::<UpdateContactMethod>(update_contact_method::Variables { input })
            .await
            .map(drop)
    }

    pub async fn create_notification_rule(
        &self,
        user_id: &str,
        contact_method_id: &str,
        delay: i64,
    ) -> Result<()> {
        let input = create_notification_rule::CreateUserNotificationRuleInput {
            user_id: Some(user_id.to_owned()),
            contact_method_id: Some(contact_method_id.to_owned()),
            delay_minutes: delay,
        };
        self.run::<CreateNotificationRule>(create_notification_rule::Variables { input })
            .await
            .map(drop)
    }

    pub async fn add_auth_subject(&self, user_id: &str, subject: &AuthSubject) -> Result<()> {
        let input = add_auth_subject::AuthSubjectInput {
            user_id: user_id.to_owned(),
            provider_id: subject.provider_id.clone(),
            subject_id: subject.subject_id.clone(),
        };
        self.run::<AddAuthSubject>(add_auth_subject::Variables { input })
            .await
            .map(drop)
    }
}
