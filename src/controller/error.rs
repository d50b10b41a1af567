//! Why a reconcile did not finish, in terms the user can act on.

use std::{
    collections::HashMap,
    sync::Mutex,
    time::{Duration, Instant},
};

use goalert_client as goalert;

use crate::tenancy::Refusal;

/// Failed reconciles in a row per object (by UID), for the backoff: 10 s after the first,
/// doubling, at most 5 minutes. A failure counts only once the retry the previous one scheduled
/// is due: a reconcile woken earlier (by an event, such as the status write of the previous
/// failure) that fails again does not stretch the backoff, so a burst of events cannot push the
/// retry after a short outage minutes away.
#[derive(Debug, Default)]
pub struct Failures(Mutex<HashMap<String, (u32, Instant)>>);

/// What [`Failures::note`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Noted {
    /// Failures counted in a row, this one included if it counted.
    pub count: u32,
    /// Whether the object failed before since its last success (counted or not).
    pub again: bool,
    /// When to retry.
    pub retry_in: Duration,
}

impl Failures {
    pub fn backoff(count: u32) -> Duration {
        Duration::from_secs(5)
            .saturating_mul(1 << count.min(6))
            .min(Duration::from_secs(300))
    }

    /// Notes a failure of `uid` at `now`.
    pub fn note(&self, uid: &str, now: Instant) -> Noted {
        let mut failures = self.0.lock().expect("not poisoned");
        let entry = failures.get(uid).copied();
        let (count, due, again) = match entry {
            // Woken before the retry was due: the same failure again.
            Some((count, due)) if now < due => (count, due, true),
            Some((count, _)) => {
                let count = count + 1;
                (count, now + Self::backoff(count), true)
            }
            None => (1, now + Self::backoff(1), false),
        };
        failures.insert(uid.to_owned(), (count, due));
        Noted {
            count,
            again,
            retry_in: due.saturating_duration_since(now).max(Duration::from_secs(1)),
        }
    }

    pub fn forget(&self, uid: &str) {
        self.0.lock().expect("not poisoned").remove(uid);
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec asks for something that cannot work; a person must change it.
    #[error("{field}: {message}")]
    InvalidSpec { field: String, message: String },

    /// A referenced object is not ready yet; the reconcile is woken again when it is.
    #[error("{0}")]
    DependencyNotReady(String),

    /// The GoAlert object is already managed by another custom resource.
    #[error("{what} is already managed by {owner}; one GoAlert object can have only one owner")]
    Conflict { what: String, owner: String },

    /// An object with the same unique name exists in GoAlert and the adoption policy is Refuse.
    #[error(
        "{what} already exists in GoAlert (id {id}) and adoption is Refuse: set spec.adoption: Adopt to take it over, or choose another name"
    )]
    Refused { what: String, id: String },

    /// The spec asks for something its namespace may not have (docs/security.md).
    #[error("{}", .0.iter().map(|r| format!("{}: {}", r.field, r.message)).collect::<Vec<_>>().join("; "))]
    Forbidden(Vec<Refusal>),

    /// GoAlertAdmin settings other GoAlertAdmins list too.
    #[error(
        "{}: a config setting or system limit can have only one GoAlertAdmin; GoAlert keeps its \
         current value until all but one drop it (the other settings are applied)",
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    SharedSettings(Vec<Shared>),

    /// GoAlert keeps the object because others use it (services using an escalation policy):
    /// the resource stays until a person removes the use or lets the object stay in GoAlert.
    #[error(
        "cannot delete {what} from GoAlert: {detail}, by GoAlert services (listed on its page, {url}); \
         either point those services at another escalation policy or delete them, or set \
         spec.deletionPolicy: Retain to keep it in GoAlert and let this resource go"
    )]
    DeletionBlocked {
        what: String,
        url: String,
        detail: String,
    },

    /// A Secret the spec names cannot be used.
    #[error("{field}: {message}")]
    Secret { field: String, message: String },

    /// GoAlert refused or failed; `field` is the spec field GoAlert's error points at, if any.
    #[error("{}{source}", .field.as_deref().map(|f| format!("{f}: ")).unwrap_or_default())]
    GoAlert {
        field: Option<String>,
        source: goalert::Error,
    },

    /// A Kubernetes API call failed; `call` says which ("patch status of GoAlertUser team-a/bob").
    #[error("Kubernetes API, {call}: {source}")]
    Kube {
        call: String,
        #[source]
        source: kube::Error,
    },

    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<Error>>),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Names the Kubernetes call a `kube::Error` came from, so a condition or log line says what
/// failed, not only how.
pub trait KubeCall<T> {
    fn during(self, call: impl FnOnce() -> String) -> Result<T>;
}

impl<T> KubeCall<T> for std::result::Result<T, kube::Error> {
    fn during(self, call: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|source| Error::Kube { call: call(), source })
    }
}

/// Settings this resource lists that another one (`by`, "GoAlertAdmin namespace/name") lists too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    pub settings: Vec<String>,
    pub by: String,
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} also managed by {}", self.settings.join(", "), self.by)
    }
}

impl From<goalert::Error> for Error {
    fn from(source: goalert::Error) -> Self {
        Error::GoAlert { field: None, source }
    }
}

impl Error {
    /// Refuses a spec with `refusals`, if there are any.
    pub fn forbid(refusals: Vec<Refusal>) -> Result<()> {
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(Error::Forbidden(refusals))
        }
    }

    /// Maps a GoAlert field error back to the spec field that caused it. `fields` pairs GoAlert's
    /// field names (as its errors spell them) with spec paths. A name also stands for the fields
    /// inside it, which is how GoAlert names the parts of a nested create
    /// (`newIntegrationKeys[1].Name`); a spec path ending in `[]` takes the part's index.
    pub fn from_goalert(source: goalert::Error, fields: &[(&str, &str)]) -> Self {
        let goalert_field = match &source {
            goalert::Error::Invalid { fields: errors, .. } => errors.first().map(|f| f.field.as_str()),
            goalert::Error::AlreadyExists { field, .. } => field.as_deref(),
            _ => None,
        };
        let field = goalert_field.and_then(|name| {
            fields
                .iter()
                .find_map(|(goalert, spec)| spec_field(name, goalert, spec))
        });
        Error::GoAlert { field, source }
    }

    /// The condition reason (and metric label) for this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidSpec { .. } => "InvalidSpec",
            Error::DependencyNotReady(_) => super::conditions::DEPENDENCY_NOT_READY,
            Error::Conflict { .. } | Error::SharedSettings(_) => "Conflict",
            Error::Refused { .. } => "AlreadyExists",
            Error::Forbidden(_) => "Forbidden",
            Error::Secret { .. } => "SecretNotUsable",
            Error::DeletionBlocked { .. } => "DeletionBlocked",
            Error::GoAlert {
                source: goalert::Error::Invalid { .. },
                ..
            } => "GoAlertRejected",
            Error::GoAlert {
                source: goalert::Error::AlreadyExists { .. },
                ..
            } => "AlreadyExists",
            Error::GoAlert { source, .. } => match source {
                // 502-504 come from a proxy or load balancer in front of a GoAlert that is down.
                goalert::Error::Unreachable { .. }
                | goalert::Error::Busy { .. }
                | goalert::Error::Http {
                    status: 502..=504, ..
                } => "GoAlertUnavailable",
                goalert::Error::Unauthorized { .. } | goalert::Error::ApiKeyDocumentMismatch => {
                    "GoAlertUnauthorized"
                }
                _ => "GoAlertError",
            },
            Error::Kube { .. } => "KubernetesError",
            Error::Finalizer(_) => "FinalizerError",
        }
    }

    /// Whether the reconcile is only waiting for a dependency (not a failure).
    pub fn is_waiting(&self) -> bool {
        match self {
            Error::DependencyNotReady(_) => true,
            Error::Finalizer(inner) => {
                matches!(
                    **inner,
                    kube::runtime::finalizer::Error::ApplyFailed(Error::DependencyNotReady(_))
                )
            }
            _ => false,
        }
    }

    /// Whether only a person can fix this (kstatus "Stalled"), as opposed to waiting or retrying.
    pub fn needs_a_person(&self) -> bool {
        match self {
            Error::InvalidSpec { .. }
            | Error::Conflict { .. }
            | Error::Refused { .. }
            | Error::Forbidden(_)
            | Error::SharedSettings(_)
            | Error::DeletionBlocked { .. }
            | Error::Secret { .. } => true,
            Error::GoAlert { source, .. } => !source.is_transient(),
            Error::Finalizer(inner) => match &**inner {
                kube::runtime::finalizer::Error::ApplyFailed(error)
                | kube::runtime::finalizer::Error::CleanupFailed(error) => error.needs_a_person(),
                _ => false,
            },
            Error::DependencyNotReady(_) | Error::Kube { .. } => false,
        }
    }
}

/// The spec path for GoAlert's `field` if it is `name` or a field inside it, by the rule of
/// [`Error::from_goalert`].
fn spec_field(field: &str, name: &str, spec: &str) -> Option<String> {
    field
        .get(..name.len())
        .filter(|head| head.eq_ignore_ascii_case(name))?;
    let rest = &field[name.len()..];
    if !(rest.is_empty() || rest.starts_with(['.', '['])) {
        return None;
    }
    let Some(list) = spec.strip_suffix("[]") else {
        return Some(spec.to_owned());
    };
    let index = rest
        .strip_prefix('[')
        .and_then(|r| r.split_once(']'))
        .and_then(|(index, _)| index.parse::<usize>().ok());
    Some(match index {
        Some(index) => format!("{list}[{index}]"),
        None => list.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use goalert_client::FieldError;

    #[test]
    fn failures_back_off_by_retries_not_by_the_events_between_them() {
        let failures = Failures::default();
        let start = Instant::now();
        let first = failures.note("a", start);
        assert_eq!(
            (first.count, first.again, first.retry_in),
            (1, false, Duration::from_secs(10))
        );
        // The status write of that failure wakes the object at once, three times: no stretching.
        for ms in [50, 120, 400] {
            let burst = failures.note("a", start + Duration::from_millis(ms));
            assert_eq!((burst.count, burst.again), (1, true));
            assert!(burst.retry_in <= Duration::from_secs(10), "{burst:?}");
        }
        // The retries, when due, double.
        let mut at = start + Duration::from_secs(10);
        for expected in [20, 40, 80, 160, 300, 300] {
            let retry = failures.note("a", at);
            assert_eq!(retry.retry_in, Duration::from_secs(expected));
            at += retry.retry_in;
        }
        failures.forget("a");
        assert_eq!(failures.note("a", at).count, 1);
        assert_eq!(failures.note("b", at).count, 1, "per object");
    }

    #[test]
    fn goalert_field_errors_point_at_the_spec_field() {
        let source = goalert::Error::Invalid {
            fields: vec![FieldError {
                field: "TimeZone".into(),
                message: "unknown time zone".into(),
            }],
            message: "invalid".into(),
        };
        let error = Error::from_goalert(
            source,
            &[("Name", "spec.rotationName"), ("timeZone", "spec.timeZone")],
        );
        assert_eq!(
            error.to_string(),
            "spec.timeZone: GoAlert rejected the input: TimeZone: unknown time zone"
        );
        assert_eq!(error.reason(), "GoAlertRejected");
        assert!(error.needs_a_person());
    }

    #[test]
    fn an_error_in_a_nested_part_points_at_its_spec_entry() {
        let fields = [
            ("name", "spec.serviceName"),
            ("newIntegrationKeys", "spec.integrationKeys[]"),
            ("labels", "spec.labels"),
        ];
        let cases = [
            ("Name", Some("spec.serviceName")),
            ("newIntegrationKeys[3].Name", Some("spec.integrationKeys[3]")),
            ("NewIntegrationKeys", Some("spec.integrationKeys")),
            ("labels[0].Key", Some("spec.labels")),
            ("names", None),
            ("newIntegrationKeysX[0]", None),
        ];
        for (goalert_field, expected) in cases {
            let source = goalert::Error::Invalid {
                fields: vec![FieldError {
                    field: goalert_field.into(),
                    message: "bad".into(),
                }],
                message: "invalid".into(),
            };
            match Error::from_goalert(source, &fields) {
                Error::GoAlert { field, .. } => assert_eq!(field.as_deref(), expected, "{goalert_field}"),
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn a_blocked_deletion_names_what_blocks_it_and_both_ways_out() {
        let error = Error::DeletionBlocked {
            what: "GoAlertEscalationPolicy 42".into(),
            url: "http://goalert/escalation-policies/42".into(),
            detail: "it is currently in use".into(),
        };
        let text = error.to_string();
        for part in [
            "in use",
            "services",
            "/escalation-policies/42",
            "deletionPolicy: Retain",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text:?}");
        }
        assert_eq!(error.reason(), "DeletionBlocked");
        assert!(error.needs_a_person());
    }

    #[test]
    fn a_failure_inside_the_finalizer_keeps_its_kind() {
        let wrapped = |error| Error::Finalizer(Box::new(kube::runtime::finalizer::Error::ApplyFailed(error)));
        assert!(wrapped(Error::from(goalert::Error::ApiKeyDocumentMismatch)).needs_a_person());
        let unreachable = goalert::Error::Unreachable {
            url: "http://goalert".into(),
            detail: "refused".into(),
        };
        assert!(!wrapped(Error::from(unreachable)).needs_a_person());
    }

    #[test]
    fn a_gateway_error_in_front_of_goalert_is_unavailable_and_a_server_error_is_an_error() {
        let http = |status| {
            Error::from(goalert::Error::Http {
                operation: "user",
                status,
                body: "<html>".into(),
            })
        };
        for status in [502, 503, 504] {
            assert_eq!(http(status).reason(), "GoAlertUnavailable", "{status}");
            assert!(!http(status).needs_a_person(), "{status}");
        }
        assert_eq!(http(500).reason(), "GoAlertError");
        assert!(!http(500).needs_a_person());
    }

    #[test]
    fn unavailable_goalert_is_retried_not_stalled() {
        let error = Error::from(goalert::Error::Busy {
            status: 429,
            retry_after: None,
        });
        assert_eq!(error.reason(), "GoAlertUnavailable");
        assert!(!error.needs_a_person());
    }
}
