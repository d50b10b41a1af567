//! Status conditions in the shape kubectl, Argo CD and kstatus read: Ready, plus Reconciling
//! while work is pending and Stalled when only a person can help.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::error::Error;

pub const READY: &str = "Ready";
pub const RECONCILING: &str = "Reconciling";
pub const STALLED: &str = "Stalled";
pub const SUSPENDED: &str = "Suspended";
/// Ready's reason while a resource waits for one it refers to.
pub const DEPENDENCY_NOT_READY: &str = "DependencyNotReady";

/// What the last reconcile found, reduced to what the conditions say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub ready: bool,
    pub reason: String,
    pub message: String,
    /// Only a person can fix this (kstatus Stalled); otherwise the operator keeps trying.
    pub stalled: bool,
    /// Parts GoAlert cannot give or take that do not stop the object being Ready.
    pub notes: Vec<Note>,
}

/// Something a reconcile could not do that is no failure of the whole object: shown as a
/// condition of its own type with status False next to Ready, which kstatus and the Argo CD
/// health checks ignore. It disappears once the reconcile can do it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub type_: &'static str,
    pub reason: &'static str,
    pub message: String,
}

impl Outcome {
    /// Not Ready because of `error`: Stalled when only a person can fix it, else Reconciling.
    pub fn failed(error: &Error) -> Self {
        Self {
            ready: false,
            stalled: error.needs_a_person(),
            reason: error.reason().into(),
            message: error.to_string(),
            notes: Vec::new(),
        }
    }
}

/// The full condition list for `outcome`, keeping each condition's lastTransitionTime when its
/// status did not change, so conditions do not churn on every resync.
pub fn conditions(
    previous: &[Condition],
    outcome: &Outcome,
    generation: Option<i64>,
    now: Time,
) -> Vec<Condition> {
    let make = |type_: &str, status: bool, reason: &str, message: &str| {
        condition(previous, type_, status, reason, message, generation, &now)
    };
    let mut list = vec![make(READY, outcome.ready, &outcome.reason, &outcome.message)];
    if !outcome.ready {
        if outcome.stalled {
            list.push(make(STALLED, true, &outcome.reason, &outcome.message));
        } else {
            list.push(make(RECONCILING, true, &outcome.reason, &outcome.message));
        }
    }
    for note in &outcome.notes {
        list.push(make(note.type_, false, note.reason, &note.message));
    }
    list
}

/// The conditions of a suspended object: what the last reconcile reported, plus Suspended.
pub fn suspended(previous: &[Condition], generation: Option<i64>, now: Time) -> Vec<Condition> {
    let mut list: Vec<_> = previous
        .iter()
        .filter(|c| c.type_ != SUSPENDED)
        .cloned()
        .collect();
    list.push(condition(
        previous,
        SUSPENDED,
        true,
        "Suspended",
        "spec.suspend is true: nothing is read from or written to GoAlert",
        generation,
        &now,
    ));
    list
}

/// One condition, keeping its lastTransitionTime when its status did not change.
fn condition(
    previous: &[Condition],
    type_: &str,
    status: bool,
    reason: &str,
    message: &str,
    generation: Option<i64>,
    now: &Time,
) -> Condition {
    let status = if status { "True" } else { "False" }.to_owned();
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map_or_else(|| now.clone(), |c| c.last_transition_time.clone());
    Condition {
        type_: type_.to_owned(),
        status,
        reason: reason.to_owned(),
        message: message.to_owned(),
        observed_generation: generation,
        last_transition_time,
    }
}

pub fn is_ready(conditions: &[Condition]) -> bool {
    conditions.iter().any(|c| c.type_ == READY && c.status == "True")
}

/// Whether the last pass failed, not merely waited for a dependency (or no pass ended yet): then
/// what failed may have been the GoAlert object itself.
pub fn last_pass_failed(conditions: &[Condition]) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == READY && c.status == "False" && c.reason != DEPENDENCY_NOT_READY)
}

/// Whether Ready is True for this generation of the spec.
pub fn is_ready_for(conditions: &[Condition], generation: Option<i64>) -> bool {
    conditions
        .iter()
        .any(|c| c.type_ == READY && c.status == "True" && c.observed_generation == generation)
}

/// Whether a failure is news: Ready does not already say False for the same reason for this
/// generation. A repeated failure is on the resource already, and another wording of it (the
/// next dependency waited for, another symptom of one outage) is not a transition: the
/// condition's message follows it, while an Event per retry would only cost a write per pass.
pub fn failure_is_news(conditions: &[Condition], outcome: &Outcome, generation: Option<i64>) -> bool {
    !conditions.iter().any(|c| {
        c.type_ == READY
            && c.status == "False"
            && c.reason == outcome.reason
            && c.observed_generation == generation
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_new_reason_or_generation_is_news() {
        let failed = unavailable();
        let first = conditions(&[], &failed, Some(3), at(10));
        assert!(failure_is_news(&[], &failed, Some(3)));
        assert!(
            !failure_is_news(&first, &failed, Some(3)),
            "the same failure again"
        );
        assert!(failure_is_news(&first, &failed, Some(4)), "a new generation");
        let reworded = Outcome {
            message: "timed out".into(),
            ..failed.clone()
        };
        assert!(
            !failure_is_news(&first, &reworded, Some(3)),
            "another message for the same reason"
        );
        let other = Outcome {
            reason: DEPENDENCY_NOT_READY.into(),
            ..failed.clone()
        };
        assert!(failure_is_news(&first, &other, Some(3)), "another reason");
        let ready = conditions(&[], &outcome(true, false), Some(3), at(20));
        assert!(failure_is_news(&ready, &failed, Some(3)), "Ready before");
    }

    #[test]
    fn only_a_failed_pass_counts_as_failed() {
        let failed = unavailable();
        let ready = Outcome {
            ready: true,
            reason: "Synced".into(),
            ..failed.clone()
        };
        let waiting = Outcome {
            reason: DEPENDENCY_NOT_READY.into(),
            ..failed.clone()
        };
        assert!(!last_pass_failed(&[]), "no pass ended yet");
        assert!(last_pass_failed(&conditions(&[], &failed, Some(1), at(1))));
        assert!(!last_pass_failed(&conditions(&[], &ready, Some(1), at(1))));
        assert!(
            !last_pass_failed(&conditions(&[], &waiting, Some(1), at(1))),
            "a wait read nothing of its own object"
        );
    }

    fn unavailable() -> Outcome {
        Outcome {
            ready: false,
            stalled: false,
            reason: "GoAlertUnavailable".into(),
            message: "connection refused".into(),
            notes: Vec::new(),
        }
    }

    fn at(second: i64) -> Time {
        Time(k8s_openapi::jiff::Timestamp::from_second(second).unwrap())
    }

    fn outcome(ready: bool, stalled: bool) -> Outcome {
        Outcome {
            ready,
            stalled,
            reason: "R".into(),
            message: "m".into(),
            notes: Vec::new(),
        }
    }

    #[test]
    fn ready_has_only_the_ready_condition() {
        let list = conditions(&[], &outcome(true, false), Some(3), at(10));
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].type_.as_str(), list[0].status.as_str()), (READY, "True"));
        assert_eq!(list[0].observed_generation, Some(3));
    }

    #[test]
    fn failures_say_whether_a_person_is_needed() {
        let waiting = conditions(&[], &outcome(false, false), None, at(10));
        assert_eq!(waiting[1].type_, RECONCILING);
        let stuck = conditions(&[], &outcome(false, true), None, at(10));
        assert_eq!(stuck[1].type_, STALLED);
    }

    #[test]
    fn notes_are_conditions_of_their_own_beside_ready() {
        let note = Note {
            type_: "CredentialsWritten",
            reason: "NoURL",
            message: "no URL".into(),
        };
        let list = conditions(
            &[],
            &Outcome {
                notes: vec![note],
                ..outcome(true, false)
            },
            Some(2),
            at(10),
        );
        let summary: Vec<_> = list
            .iter()
            .map(|c| (c.type_.as_str(), c.status.as_str(), c.reason.as_str()))
            .collect();
        assert_eq!(
            summary,
            [(READY, "True", "R"), ("CredentialsWritten", "False", "NoURL")]
        );
        let resolved = conditions(&list, &outcome(true, false), Some(2), at(20));
        assert_eq!(resolved.len(), 1, "a note goes once the reconcile can do it");
    }

    #[test]
    fn transition_time_moves_only_when_the_status_changes() {
        let first = conditions(&[], &outcome(true, false), None, at(10));
        let again = conditions(&first, &outcome(true, false), None, at(20));
        assert_eq!(again[0].last_transition_time, at(10));
        let flipped = conditions(&again, &outcome(false, false), None, at(30));
        assert_eq!(flipped[0].last_transition_time, at(30));
    }
}
