//! Who may ask for what through the operator: the tenancy model (docs/security.md).
//!
//! One GoAlert serves every namespace, so some requests reach far beyond the namespace they are
//! made in: GoAlert's system configuration (GoAlertAdmin), GoAlert's Admin role, SSO identities
//! linked to a user (a login as that person), and taking over GoAlert objects no custom resource
//! created. These are allowed only where the platform team says, in two lists of namespaces:
//!
//! - privileged namespaces (default: the operator's own) may do all of the above;
//! - adoption namespaces (default: the privileged ones) may take over existing GoAlert services,
//!   policies, schedules and rotations, by name or by `spec.goalertId`, following the operator's
//!   adoption policy. Existing users are taken over only where both lists agree.
//!
//! Everywhere else adoption is refused, whatever a resource's spec says. The same functions
//! decide for the admission webhook (a field error) and for the controllers (reason
//! `Forbidden`), so an object that got past disabled webhooks is refused all the same.

use std::collections::BTreeSet;

use clap::Args;

use kube::ResourceExt;

use crate::api::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
    Management,
    common::AdoptionPolicy,
    user::{GoAlertUserSpec, UserRole},
};

/// Value of the namespace lists that means every namespace.
pub const EVERY_NAMESPACE: &str = "*";

/// The command-line (and chart) form of the model.
#[derive(Debug, Clone, Args)]
pub struct TenancyArgs {
    /// Namespaces whose resources may change GoAlert's system configuration (GoAlertAdmin), grant
    /// GoAlert's Admin role, link SSO identities (authSubjects) and take over existing GoAlert
    /// users; comma-separated, `*` for all. Default: the operator's own namespace.
    #[arg(long, env = "PRIVILEGED_NAMESPACES", value_delimiter = ',')]
    pub privileged_namespaces: Vec<String>,

    /// Namespaces whose resources may take over GoAlert objects that no custom resource created
    /// (by name or spec.goalertId), following --adoption-policy; comma-separated, `*` for all.
    /// Elsewhere adoption is always refused. Default: the privileged namespaces.
    #[arg(long, env = "ADOPTION_NAMESPACES", value_delimiter = ',')]
    pub adoption_namespaces: Vec<String>,
}

/// A set of namespaces: some, or all.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Namespaces {
    All,
    Listed(BTreeSet<String>),
}

impl Namespaces {
    fn parse(list: &[String]) -> Option<Self> {
        let names: BTreeSet<String> = list
            .iter()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect();
        if names.contains(EVERY_NAMESPACE) {
            Some(Self::All)
        } else if names.is_empty() {
            None
        } else {
            Some(Self::Listed(names))
        }
    }

    fn contains(&self, namespace: &str) -> bool {
        match self {
            Self::All => true,
            Self::Listed(names) => names.contains(namespace),
        }
    }

    fn describe(&self) -> String {
        match self {
            Self::All => "every namespace".into(),
            Self::Listed(names) => names.iter().cloned().collect::<Vec<_>>().join(", "),
        }
    }
}

/// Why a spec field is not allowed in its namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

/// The model in force: which namespaces may do what, and the operator's adoption policy.
#[derive(Debug, Clone)]
pub struct Tenancy {
    operator_namespace: String,
    privileged: Namespaces,
    adoption: Namespaces,
    policy: AdoptionPolicy,
}

impl Tenancy {
    /// `operator_namespace` is the default privileged namespace.
    pub fn new(args: &TenancyArgs, policy: AdoptionPolicy, operator_namespace: &str) -> Self {
        let privileged = Namespaces::parse(&args.privileged_namespaces)
            .unwrap_or_else(|| Namespaces::Listed([operator_namespace.to_owned()].into()));
        let adoption = Namespaces::parse(&args.adoption_namespaces).unwrap_or_else(|| privileged.clone());
        Self {
            operator_namespace: operator_namespace.to_owned(),
            privileged,
            adoption,
            policy,
        }
    }

    /// Where the operator runs, and keeps what tenants must not write (claims).
    pub fn operator_namespace(&self) -> &str {
        &self.operator_namespace
    }

    pub fn is_privileged(&self, namespace: &str) -> bool {
        self.privileged.contains(namespace)
    }

    fn not_privileged(&self, namespace: &str, what: &str) -> String {
        format!(
            "{what} is allowed only in the privileged namespaces ({}), not in {namespace:?}; \
             ask the platform team (chart value tenancy.privilegedNamespaces)",
            self.privileged.describe()
        )
    }

    fn not_adoption(&self, namespace: &str, what: &str) -> String {
        format!(
            "{what} is allowed only in the namespaces listed for adoption ({}), not in {namespace:?}; \
             ask the platform team (chart value tenancy.adoptionNamespaces)",
            self.adoption.describe()
        )
    }

    /// GoAlertAdmin changes GoAlert for everyone: only privileged namespaces may have one.
    pub fn admin_refusal(&self, namespace: &str) -> Option<Refusal> {
        (!self.is_privileged(namespace)).then(|| Refusal {
            field: "metadata.namespace".into(),
            message: self.not_privileged(namespace, "a GoAlertAdmin (GoAlert's system configuration)"),
        })
    }

    /// The fields of a GoAlertUser only privileged namespaces may set: the Admin role (every
    /// integration key and credential in GoAlert) and SSO identities (a login as that person).
    pub fn user_refusals(&self, namespace: &str, spec: &GoAlertUserSpec) -> Vec<Refusal> {
        if self.is_privileged(namespace) {
            return Vec::new();
        }
        let mut refusals = Vec::new();
        if spec.role == Some(UserRole::Admin) {
            refusals.push(Refusal {
                field: "spec.role".into(),
                message: self.not_privileged(namespace, "role Admin"),
            });
        }
        if !spec.auth_subjects.is_empty() {
            refusals.push(Refusal {
                field: "spec.authSubjects".into(),
                message: self.not_privileged(namespace, "linking SSO identities (authSubjects)"),
            });
        }
        refusals
    }

    /// Whether resources in `namespace` may take over GoAlert objects of their kind that no
    /// custom resource created. `user` is true for GoAlertUser: a user is a person's login.
    pub fn may_adopt(&self, namespace: &str, user: bool) -> bool {
        self.adoption.contains(namespace) && (!user || self.is_privileged(namespace))
    }

    fn adoption_refusal_message(&self, namespace: &str, user: bool, what: &str) -> String {
        if user && !self.is_privileged(namespace) {
            self.not_privileged(namespace, what)
        } else {
            self.not_adoption(namespace, what)
        }
    }

    /// The management settings a namespace may not use: `spec.adoption: Adopt` and
    /// `spec.goalertId` where it may not adopt (they would loosen the operator's policy).
    pub fn management_refusals(&self, namespace: &str, user: bool, management: &Management) -> Vec<Refusal> {
        if self.may_adopt(namespace, user) {
            return Vec::new();
        }
        let mut refusals = Vec::new();
        if management.adoption == Some(AdoptionPolicy::Adopt) {
            refusals.push(Refusal {
                field: "spec.adoption".into(),
                message: self.adoption_refusal_message(
                    namespace,
                    user,
                    "adoption of GoAlert objects no custom resource created",
                ),
            });
        }
        if management.goalert_id.is_some() {
            refusals.push(Refusal {
                field: "spec.goalertId".into(),
                message: self.adoption_refusal_message(namespace, user, "taking over a GoAlert object by ID"),
            });
        }
        refusals
    }

    /// The adoption policy a resource gets: Refuse where its namespace may not adopt; else its
    /// own spec.adoption, else the operator's.
    pub fn adoption(&self, namespace: &str, user: bool, spec: Option<AdoptionPolicy>) -> AdoptionPolicy {
        if self.may_adopt(namespace, user) {
            spec.unwrap_or(self.policy)
        } else {
            AdoptionPolicy::Refuse
        }
    }

    /// Why an existing GoAlert object found by its unique name is not taken over, when the
    /// reason is the namespace (not the adoption policy).
    pub fn adoption_forbidden(&self, namespace: &str, user: bool, what: &str) -> Option<String> {
        (!self.may_adopt(namespace, user)).then(|| {
            self.adoption_refusal_message(
                namespace,
                user,
                &format!("{what} exists in GoAlert and no custom resource created it; taking it over"),
            )
        })
    }
}

/// A kind whose specs the model governs: what its namespace may not ask for.
pub trait Governed {
    /// Every field of this object its namespace may not set, with the reason.
    fn refusals(&self, tenancy: &Tenancy) -> Vec<Refusal>;
}

impl Governed for GoAlertUser {
    fn refusals(&self, tenancy: &Tenancy) -> Vec<Refusal> {
        let namespace = self.namespace().unwrap_or_default();
        let mut refusals = tenancy.user_refusals(&namespace, &self.spec);
        refusals.extend(tenancy.management_refusals(&namespace, true, &self.spec.management));
        refusals
    }
}

impl Governed for GoAlertAdmin {
    fn refusals(&self, tenancy: &Tenancy) -> Vec<Refusal> {
        tenancy
            .admin_refusal(&self.namespace().unwrap_or_default())
            .into_iter()
            .collect()
    }
}

/// Kinds whose only governed settings are the adoption ones.
macro_rules! governed_by_management {
    ($($kind:ty),*) => {$(
        impl Governed for $kind {
            fn refusals(&self, tenancy: &Tenancy) -> Vec<Refusal> {
                tenancy.management_refusals(&self.namespace().unwrap_or_default(), false, &self.spec.management)
            }
        }
    )*};
}
governed_by_management!(
    GoAlertRotation,
    GoAlertSchedule,
    GoAlertEscalationPolicy,
    GoAlertService
);

#[cfg(test)]
mod tests {
    use super::*;

    fn tenancy(privileged: &[&str], adoption: &[&str], policy: AdoptionPolicy) -> Tenancy {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        Tenancy::new(
            &TenancyArgs {
                privileged_namespaces: list(privileged),
                adoption_namespaces: list(adoption),
            },
            policy,
            "platform",
        )
    }

    fn user(spec: serde_json::Value) -> GoAlertUserSpec {
        serde_json::from_value(spec).unwrap()
    }

    #[test]
    fn by_default_only_the_operators_namespace_is_privileged_and_may_adopt() {
        let t = tenancy(&[], &[], AdoptionPolicy::Adopt);
        assert!(t.is_privileged("platform"));
        assert!(!t.is_privileged("tenant-a"));
        assert!(t.may_adopt("platform", true));
        assert!(!t.may_adopt("tenant-a", false));
        assert!(t.admin_refusal("platform").is_none());
        let refusal = t.admin_refusal("tenant-a").unwrap();
        assert_eq!(refusal.field, "metadata.namespace");
        assert!(
            refusal.message.contains("tenancy.privilegedNamespaces"),
            "{}",
            refusal.message
        );
    }

    #[test]
    fn admin_role_and_sso_identities_need_a_privileged_namespace() {
        let t = tenancy(&[], &[], AdoptionPolicy::Adopt);
        let spec = user(serde_json::json!({
            "email": "a@example.com",
            "role": "Admin",
            "authSubjects": [{ "providerId": "oidc", "subjectId": "x" }],
        }));
        let fields: Vec<_> = t
            .user_refusals("tenant-a", &spec)
            .into_iter()
            .map(|r| r.field)
            .collect();
        assert_eq!(fields, ["spec.role", "spec.authSubjects"]);
        assert!(t.user_refusals("platform", &spec).is_empty());
        let plain = user(serde_json::json!({ "email": "a@example.com", "role": "User" }));
        assert!(t.user_refusals("tenant-a", &plain).is_empty());
    }

    #[test]
    fn a_namespace_cannot_loosen_the_adoption_policy() {
        use AdoptionPolicy::{Adopt, Refuse};
        /// (privileged, adoption, operator policy, namespace, user?, spec.adoption) → policy
        type Case<'a> = (
            &'a [&'a str],
            &'a [&'a str],
            AdoptionPolicy,
            &'a str,
            bool,
            Option<AdoptionPolicy>,
            AdoptionPolicy,
        );
        let cases: &[Case] = &[
            (&[], &[], Adopt, "platform", false, None, Adopt),
            (&[], &[], Adopt, "tenant-a", false, None, Refuse),
            (&[], &[], Adopt, "tenant-a", false, Some(Adopt), Refuse),
            (&[], &[], Refuse, "platform", false, None, Refuse),
            (&[], &[], Adopt, "platform", false, Some(Refuse), Refuse),
            (&[], &["tenant-a"], Adopt, "tenant-a", false, None, Adopt),
            // Existing users are people's logins: only privileged namespaces take them over.
            (&[], &["tenant-a"], Adopt, "tenant-a", true, Some(Adopt), Refuse),
            (&[], &["*"], Adopt, "anywhere", false, None, Adopt),
            (&["*"], &[], Adopt, "anywhere", true, None, Adopt),
        ];
        for (privileged, adoption, policy, namespace, is_user, spec, expected) in cases {
            let t = tenancy(privileged, adoption, *policy);
            assert_eq!(
                t.adoption(namespace, *is_user, *spec),
                *expected,
                "{privileged:?} {adoption:?} {policy:?} {namespace} user={is_user} {spec:?}"
            );
        }
    }

    #[test]
    fn adopt_and_goalert_id_are_field_errors_where_adoption_is_not_allowed() {
        let t = tenancy(&[], &["team-b"], AdoptionPolicy::Adopt);
        let management = Management {
            adoption: Some(AdoptionPolicy::Adopt),
            goalert_id: Some("00000000-0000-0000-0000-000000000000".into()),
            ..Management::default()
        };
        let fields = |ns: &str, user: bool| -> Vec<String> {
            t.management_refusals(ns, user, &management)
                .into_iter()
                .map(|r| r.field)
                .collect()
        };
        assert_eq!(fields("tenant-a", false), ["spec.adoption", "spec.goalertId"]);
        assert!(fields("team-b", false).is_empty());
        assert_eq!(fields("team-b", true), ["spec.adoption", "spec.goalertId"]);
        let refuse = Management {
            adoption: Some(AdoptionPolicy::Refuse),
            ..Management::default()
        };
        assert!(t.management_refusals("tenant-a", false, &refuse).is_empty());
        assert!(
            t.adoption_forbidden("tenant-a", false, "service \"x\"")
                .unwrap()
                .contains("tenancy.adoptionNamespaces")
        );
        assert!(t.adoption_forbidden("team-b", false, "service \"x\"").is_none());
    }
}
