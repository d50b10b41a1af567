//! The validating webhook's rules, one file per kind.
//!
//! Per-object shape rules that need no lookups live in the CRDs (OpenAPI and CEL, see src/api),
//! where they work even when the operator is down. What is here needs something else: other
//! custom resources (conflicts, references, deletions), GoAlert (references to objects that exist
//! only there, phone numbers) or rules CEL cannot express well (GoAlert's own name rules applied
//! to metadata.name, time zone names, e-mail syntax).
//!
//! Each kind's [`Admitted::check`] is pure: it reads the object, the object it replaces and a
//! [`ClusterView`] snapshot of the watch caches. References and phone numbers are returned as data
//! and resolved afterwards by [`resolve`], the only async (GoAlert) step.

mod admin;
mod escalation_policy;
mod rotation;
mod schedule;
mod service;
mod typos;
mod user;

use std::{future::Future, pin::Pin, sync::Arc, time::Duration};

use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;

use super::review::{Findings, NOT_FOUND};
pub use crate::api::kind::{RefKind, Reference, Target};
use crate::api::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertKind, GoAlertRotation, GoAlertSchedule, GoAlertService,
    GoAlertUser, Kind, common::is_email,
};

/// A snapshot of the custom resources the webhook can see (the scope the operator watches).
#[derive(Default, Clone)]
pub struct ClusterView {
    pub users: Vec<Arc<GoAlertUser>>,
    pub rotations: Vec<Arc<GoAlertRotation>>,
    pub schedules: Vec<Arc<GoAlertSchedule>>,
    pub policies: Vec<Arc<GoAlertEscalationPolicy>>,
    pub services: Vec<Arc<GoAlertService>>,
    pub admins: Vec<Arc<GoAlertAdmin>>,
}

/// A phone number GoAlert must accept (GoAlert refuses numbers libphonenumber calls invalid).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhoneNumber {
    pub field: String,
    pub number: String,
}

/// What a kind's pure check leaves for the GoAlert step.
#[derive(Debug, Default)]
pub struct Pending {
    pub phone_numbers: Vec<PhoneNumber>,
}

/// A kind the validating webhook reviews (its references, names and noun come from [`Kind`]).
pub trait Admitted: Kind + Clone + DeserializeOwned + serde::Serialize + Send + Sync + 'static {
    /// The objects of this kind in the view.
    fn in_view(view: &ClusterView) -> &[Arc<Self>];

    /// The rules that need no GoAlert: syntax GoAlert insists on, conflicts with other custom
    /// resources, immutable fields. `old` is the object being replaced, on UPDATE.
    fn check(&self, old: Option<&Self>, view: &ClusterView, findings: &mut Findings, pending: &mut Pending);
}

/// Whether `other` is another object than `this` (same kind): different namespace or name.
pub fn is_other<K: Resource>(this: &K, other: &K) -> bool {
    other.meta().namespace != this.meta().namespace || other.meta().name != this.meta().name
}

/// `namespace/name` for messages about another object.
pub fn describe<K: Resource<DynamicType = ()>>(object: &K) -> String {
    format!(
        "{} {}/{}",
        K::kind(&()),
        object.namespace().unwrap_or_default(),
        object.name_any()
    )
}

// --- rules shared by several kinds -------------------------------------------------------------

/// GoAlert's IDName rule (validate.IDName) for names of services, policies, schedules, rotations,
/// integration keys and heartbeat monitors: 2-64 characters, a letter first, then letters,
/// digits, space, `_`, `'` and `-`, not ending in a space.
pub fn is_goalert_name(name: &str) -> bool {
    let length = name.chars().count();
    let mut chars = name.chars();
    (2..=64).contains(&length)
        && chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '\'' | '-'))
        && !name.ends_with(' ')
}

/// The name GoAlert stores for a spec name (or metadata.name): characters GoAlert does not allow
/// are dropped (see [`crate::api::common::goalert_name`]).
pub fn stored_name(name: &str) -> String {
    crate::api::common::goalert_name(name)
}

/// Checks that the name GoAlert gets (from the kind's name field, else metadata.name) is usable
/// once the characters GoAlert does not allow are dropped; when it comes from metadata.name, says
/// how to fix it.
fn check_goalert_name<K: Kind>(object: &K, field: &str, findings: &mut Findings) {
    let spec_name = object.spec_name();
    let (path, source) = match spec_name {
        Some(name) => (format!("spec.{field}"), name.to_owned()),
        None => (
            "metadata.name".to_owned(),
            object.meta().name.clone().unwrap_or_default(),
        ),
    };
    if source.is_empty() {
        return;
    }
    let stored = stored_name(&source);
    if !is_goalert_name(&stored) {
        let hint = if spec_name.is_none() {
            format!("; set spec.{field}")
        } else {
            String::new()
        };
        findings.invalid(
            path,
            format!("{source:?} gives no usable GoAlert name (GoAlert keeps only letters, digits, spaces, '_', ''' and '-', starting with a letter, 2-64 characters; here that leaves {stored:?}){hint}"),
        );
    }
}

pub fn check_email(field: &str, value: &str, findings: &mut Findings) {
    if !is_email(value) {
        findings.invalid(field, format!("{value:?} is not a well-formed e-mail address"));
    }
}

pub fn check_time_zone(field: &str, value: &str, findings: &mut Findings) {
    if let Some(problem) = crate::timezone::problem(value) {
        findings.invalid(field, problem);
    }
}

pub fn check_timestamp(field: &str, value: &str, findings: &mut Findings) {
    if value.parse::<jiff::Timestamp>().is_err() {
        findings.invalid(
            field,
            format!("{value:?} is not a valid RFC 3339 time (for example 2026-01-05T09:00:00+01:00)"),
        );
    }
}

/// E-mail syntax of user references by e-mail.
pub fn check_reference_syntax(references: &[Reference], findings: &mut Findings) {
    for reference in references {
        if let Target::Email(email) = &reference.target {
            check_email(&reference.path(), email, findings);
        }
    }
}

/// The checks of every kind whose GoAlert objects have unique names: the name GoAlert gets is
/// usable, and no other object of the kind claims the same GoAlert object, by name (names are
/// global and case-insensitive in GoAlert) or by the ID in spec.goalertId.
pub fn check_goalert_identity<K: Admitted + GoAlertKind>(
    object: &K,
    view: &ClusterView,
    findings: &mut Findings,
) {
    let field = K::NAME_FIELD.expect("kinds with a GoAlert identity have a name field");
    check_goalert_name(object, field, findings);
    let others = || {
        K::in_view(view)
            .iter()
            .filter(|other| is_other(object, other.as_ref()))
    };
    if let Some(name) = object.goalert_name()
        && let Some(other) = others().find(|other| {
            other
                .goalert_name()
                .is_some_and(|n| n.eq_ignore_ascii_case(&name))
        })
    {
        let path = if object.spec_name().is_some() {
            format!("spec.{field}")
        } else {
            "metadata.name".to_owned()
        };
        findings.error(
            path,
            super::review::DUPLICATE,
            format!(
                "the GoAlert {} {name:?} is already managed by {} (GoAlert names are unique, ignoring case and the characters GoAlert drops)",
                K::NOUN,
                describe(other.as_ref())
            ),
        );
    }
    if let Some(id) = &object.management().goalert_id
        && let Some(other) = others().find(|other| {
            [other.management().goalert_id.as_deref(), other.goalert_id()]
                .into_iter()
                .flatten()
                .any(|other_id| other_id.eq_ignore_ascii_case(id))
        })
    {
        findings.error(
            "spec.goalertId",
            super::review::DUPLICATE,
            format!(
                "the GoAlert {} {id} is already managed by {}; one GoAlert object can have only one owner",
                K::NOUN,
                describe(other.as_ref())
            ),
        );
    }
}

// --- references and GoAlert ---------------------------------------------------------------------

/// What the webhook may ask GoAlert. Errors are reasons the check could not run.
pub trait Lookups: Send + Sync {
    fn exists_by_name<'a>(&'a self, kind: RefKind, name: &'a str) -> BoxFuture<'a, Result<bool, String>>;
    fn exists_by_id<'a>(&'a self, kind: RefKind, id: &'a str) -> BoxFuture<'a, Result<bool, String>>;
    /// How many GoAlert users have this e-mail (0, 1, or 2 meaning "several").
    fn users_with_email<'a>(&'a self, email: &'a str) -> BoxFuture<'a, Result<usize, String>>;
    /// `None` when GoAlert accepts the number, else GoAlert's reason.
    fn phone_number_problem<'a>(&'a self, number: &'a str) -> BoxFuture<'a, Result<Option<String>, String>>;
}

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Resolves references (custom resources first, then GoAlert) and checks phone numbers, within
/// `budget`. A check GoAlert could not answer in time becomes a warning, never a denial.
// Each argument is a different input of the one resolution step; a struct would only rename them.
#[allow(clippy::too_many_arguments)]
pub async fn resolve(
    namespace: &str,
    references: &[Reference],
    pending: &Pending,
    view: &ClusterView,
    lookups: &dyn Lookups,
    budget: Duration,
    missing_names: MissingNames,
    findings: &mut Findings,
) {
    let deadline = tokio::time::Instant::now() + budget;
    let reference_checks = references.iter().map(|reference| {
        let local = resolve_locally(namespace, reference, view);
        async move {
            if local {
                return Resolution::Found;
            }
            match &reference.target {
                Target::Name(name) => {
                    if reference.kind == RefKind::User {
                        return Resolution::Missing;
                    }
                    // Not a custom resource; say so, and whether GoAlert has one of that name.
                    match bounded(deadline, budget, lookups.exists_by_name(reference.kind, name)).await {
                        Ok(true) => Resolution::OnlyInGoAlert,
                        _ => Resolution::Missing,
                    }
                }
                Target::GoAlertName(name) => {
                    found(bounded(deadline, budget, lookups.exists_by_name(reference.kind, name)).await)
                }
                Target::GoAlertId(id) => {
                    found(bounded(deadline, budget, lookups.exists_by_id(reference.kind, id)).await)
                }
                Target::Email(email) => {
                    match bounded(deadline, budget, lookups.users_with_email(email)).await {
                        Ok(0) => Resolution::Missing,
                        Ok(1) => Resolution::Found,
                        Ok(_) => Resolution::Ambiguous,
                        Err(reason) => Resolution::Unchecked(reason),
                    }
                }
            }
        }
    });
    let phone_checks = pending
        .phone_numbers
        .iter()
        .map(|phone| bounded(deadline, budget, lookups.phone_number_problem(&phone.number)));
    let (resolutions, phones) = futures::join!(
        futures::future::join_all(reference_checks),
        futures::future::join_all(phone_checks)
    );

    for (reference, resolution) in references.iter().zip(resolutions) {
        if missing_names == MissingNames::Warn
            && let Target::Name(name) = &reference.target
        {
            let existing = names_of_kind(namespace, reference.kind, view);
            let meant = matches!(resolution, Resolution::Missing | Resolution::OnlyInGoAlert)
                .then(|| typos::did_you_mean(name, existing.iter().map(String::as_str)))
                .flatten();
            if let Some(meant) = meant {
                findings.error(
                    reference.path(),
                    NOT_FOUND,
                    format!(
                        "{} {name:?} not found; did you mean {meant:?}? (no {} of that name in namespace \
                         {namespace}; a reference to one not created yet is admitted, one a single edit \
                         away from an existing name is taken for a typo)",
                        reference.kind.noun(),
                        reference.kind.kind()
                    ),
                );
                continue;
            }
            let mut local = Findings::default();
            report(namespace, reference, resolution, &mut local);
            findings.warnings.extend(local.warnings);
            findings.warnings.extend(
                local
                    .errors
                    .into_iter()
                    .map(|e| format!("{e}; the operator waits for it (DependencyNotReady)")),
            );
            continue;
        }
        report(namespace, reference, resolution, findings);
    }
    for (phone, outcome) in pending.phone_numbers.iter().zip(phones) {
        match outcome {
            Ok(None) => {}
            Ok(Some(problem)) => findings.invalid(
                &phone.field,
                format!(
                    "GoAlert does not accept the phone number {:?}: {problem}",
                    phone.number
                ),
            ),
            Err(reason) => findings.warn(format!(
                "{}: could not check the phone number {:?} with GoAlert ({reason}); admitted unchecked",
                phone.field, phone.number
            )),
        }
    }
}

async fn bounded<T>(
    deadline: tokio::time::Instant,
    budget: Duration,
    future: BoxFuture<'_, Result<T, String>>,
) -> Result<T, String> {
    match tokio::time::timeout_at(deadline, future).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {budget:?}")),
    }
}

/// What a `name` reference to a custom resource that does not exist (yet) gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MissingNames {
    /// Refuse the object: a folder must then be applied dependencies first.
    Deny,
    /// Admit it with a warning (default), so a folder applies in one pass and the operator
    /// waits for the dependency; refuse it only when it is almost certainly a typo (see
    /// [`typos`]).
    Warn,
}

/// The names of the custom resources of `kind` in `namespace`.
fn names_of_kind(namespace: &str, kind: RefKind, view: &ClusterView) -> Vec<String> {
    fn names<K: Admitted>(view: &ClusterView, namespace: &str) -> Vec<String> {
        K::in_view(view)
            .iter()
            .filter(|object| object.namespace().as_deref() == Some(namespace))
            .map(|object| object.name_any())
            .collect()
    }
    match kind {
        RefKind::User => names::<GoAlertUser>(view, namespace),
        RefKind::Rotation => names::<GoAlertRotation>(view, namespace),
        RefKind::Schedule => names::<GoAlertSchedule>(view, namespace),
        RefKind::EscalationPolicy => names::<GoAlertEscalationPolicy>(view, namespace),
    }
}

enum Resolution {
    Found,
    Missing,
    /// A `name` reference with no custom resource, where GoAlert has an object of that name.
    OnlyInGoAlert,
    Ambiguous,
    Unchecked(String),
}

fn found(outcome: Result<bool, String>) -> Resolution {
    match outcome {
        Ok(true) => Resolution::Found,
        Ok(false) => Resolution::Missing,
        Err(reason) => Resolution::Unchecked(reason),
    }
}

/// Whether a custom resource in the view satisfies the reference.
fn resolve_locally(namespace: &str, reference: &Reference, view: &ClusterView) -> bool {
    fn any<K: Admitted>(
        view: &ClusterView,
        namespace: &str,
        target: &Target,
        email_of: impl Fn(&K) -> Option<String>,
    ) -> bool {
        K::in_view(view).iter().any(|object| match target {
            Target::Name(name) => {
                object.namespace().as_deref() == Some(namespace)
                    && object.meta().name.as_deref() == Some(name)
            }
            Target::GoAlertName(name) => object
                .goalert_name()
                .is_some_and(|n| n.eq_ignore_ascii_case(name)),
            Target::GoAlertId(id) => object.goalert_id().is_some_and(|i| i.eq_ignore_ascii_case(id)),
            Target::Email(email) => email_of(object).is_some_and(|e| e.eq_ignore_ascii_case(email)),
        })
    }
    let target = &reference.target;
    match reference.kind {
        RefKind::User => any::<GoAlertUser>(view, namespace, target, |u| Some(u.spec.email.clone())),
        RefKind::Rotation => any::<GoAlertRotation>(view, namespace, target, |_| None),
        RefKind::Schedule => any::<GoAlertSchedule>(view, namespace, target, |_| None),
        RefKind::EscalationPolicy => any::<GoAlertEscalationPolicy>(view, namespace, target, |_| None),
    }
}

fn report(namespace: &str, reference: &Reference, resolution: Resolution, findings: &mut Findings) {
    let noun = reference.kind.noun();
    let kind = reference.kind.kind();
    let path = reference.path();
    match (resolution, &reference.target) {
        (Resolution::Found, _) => {}
        (Resolution::Missing, Target::Name(name)) if reference.kind == RefKind::User => findings.error(
            path,
            NOT_FOUND,
            format!("{noun} {name:?} not found as a {kind} in namespace {namespace} (to refer to a user that exists only in GoAlert, use email or goalertId)"),
        ),
        (Resolution::Missing, Target::Name(name)) => findings.error(
            path,
            NOT_FOUND,
            format!("{noun} {name:?} not found as a {kind} in namespace {namespace} nor in GoAlert"),
        ),
        (Resolution::OnlyInGoAlert, Target::Name(name)) => findings.error(
            path,
            NOT_FOUND,
            format!("{noun} {name:?} not found as a {kind} in namespace {namespace}; GoAlert has a {noun} of that name: refer to it with goalertName"),
        ),
        (Resolution::Missing, Target::GoAlertName(name)) => findings.error(
            path,
            NOT_FOUND,
            format!("{noun} {name:?} not found in GoAlert nor as a {kind} in namespace {namespace}"),
        ),
        (Resolution::Missing, Target::GoAlertId(id)) => findings.error(
            path,
            NOT_FOUND,
            format!("no {noun} with ID {id} in GoAlert"),
        ),
        (Resolution::Missing, Target::Email(email)) => findings.error(
            path,
            NOT_FOUND,
            format!("no GoAlertUser in namespace {namespace} and no GoAlert user has the e-mail {email:?}"),
        ),
        (Resolution::Ambiguous, Target::Email(email)) => findings.error(
            path,
            super::review::INVALID,
            format!("several GoAlert users have the e-mail {email:?}; refer to one with goalertId"),
        ),
        (Resolution::Unchecked(reason), target) => findings.warn(format!(
            "{path}: could not check that {noun} {} exists in GoAlert ({reason}); admitted unchecked, the operator reports it in status if it does not",
            match target {
                Target::Name(v) | Target::GoAlertName(v) | Target::GoAlertId(v) | Target::Email(v) => format!("{v:?}"),
            }
        )),
        (_, _) => {}
    }
}

/// Objects in the same namespace that refer to `kind`/`name` by name: the warnings of a DELETE.
pub fn referrers(namespace: &str, kind: RefKind, name: &str, view: &ClusterView) -> Vec<String> {
    fn collect<K: Admitted>(
        view: &ClusterView,
        namespace: &str,
        kind: RefKind,
        name: &str,
        out: &mut Vec<String>,
    ) {
        for object in K::in_view(view) {
            if object.namespace().as_deref() != Some(namespace) {
                continue;
            }
            for reference in object.references() {
                if reference.names(kind, name) {
                    out.push(format!(
                        "{} {:?} ({})",
                        K::kind(&()),
                        object.name_any(),
                        reference.path()
                    ));
                }
            }
        }
    }
    let mut out = Vec::new();
    collect::<GoAlertUser>(view, namespace, kind, name, &mut out);
    collect::<GoAlertRotation>(view, namespace, kind, name, &mut out);
    collect::<GoAlertSchedule>(view, namespace, kind, name, &mut out);
    collect::<GoAlertEscalationPolicy>(view, namespace, kind, name, &mut out);
    collect::<GoAlertService>(view, namespace, kind, name, &mut out);
    collect::<GoAlertAdmin>(view, namespace, kind, name, &mut out);
    out
}

#[cfg(test)]
pub(crate) mod fixtures;
