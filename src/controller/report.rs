//! What a reconcile tells the user: its conditions, the fields left different from the spec,
//! and an Event when there is news. Pure: the skeleton in [`super::reconcile`] gathers what
//! happened and writes what this module decides.

use kube::runtime::events::EventType;

use super::conditions::Outcome;

/// How the GoAlert object came to be managed in this reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Known,
    Created,
    Adopted,
    /// Not in GoAlert, and this reconcile may not create it.
    Missing,
}

/// Field reported in `status.pendingChanges` for an object GoAlert does not have.
const MISSING: &str = "(the whole object: not in GoAlert)";

/// What a reconcile tells the user: its conditions, the fields left different from the spec,
/// and an Event when there is news.
#[derive(Debug)]
pub struct Report {
    pub outcome: Outcome,
    pub pending: Vec<String>,
    pub event: Option<(EventType, &'static str, String)>,
    /// The changes undo changes made in GoAlert by hand (they count as drift).
    pub drift: bool,
}

/// Ready's message after a reconcile that was allowed to write.
const IN_SYNC: &str = "in sync with GoAlert";

/// The report of a reconcile that was allowed to write. What it did is news, told by the Event;
/// Ready says only the state reached, the same after every pass that reaches it, so the pass
/// after a create or an update costs no status write.
///
/// `changed` are the spec fields written, `spec_unchanged` whether this spec was synced before
/// (then writes to an object already managed undo changes made in GoAlert by hand).
pub fn written(origin: Origin, changed: &[String], id: Option<&str>, spec_unchanged: bool) -> Report {
    let id = id.unwrap_or_default();
    let drift = origin == Origin::Known && spec_unchanged && !changed.is_empty();
    let fields = changed.join(", ");
    let event = match origin {
        Origin::Created => Some((
            "Created",
            format!("created in GoAlert (id {id}){}", changed_suffix(changed)),
        )),
        Origin::Adopted => Some((
            "Adopted",
            format!(
                "existing GoAlert object taken over (id {id}){}",
                changed_suffix(changed)
            ),
        )),
        Origin::Known if drift => Some((
            "DriftCorrected",
            format!("corrected changes made in GoAlert: {fields}"),
        )),
        Origin::Known if !changed.is_empty() => Some(("Updated", format!("updated in GoAlert: {fields}"))),
        Origin::Known | Origin::Missing => None,
    };
    Report {
        outcome: Outcome {
            ready: true,
            stalled: false,
            reason: "Synced".into(),
            message: IN_SYNC.to_owned(),
            notes: Vec::new(),
        },
        pending: Vec::new(),
        event: event.map(|(reason, note)| (EventType::Normal, reason, note)),
        drift,
    }
}

/// The report of a reconcile that only read: managementPolicy Observe, or drift under driftPolicy
/// Report. An Event is sent only when the set of differing fields changes.
///
/// `changed` are the spec fields that differ, `previous` the ones status listed before.
pub fn pending(origin: Origin, changed: &[String], previous: &[String], observe_only: bool) -> Report {
    let pending = match origin {
        Origin::Missing => vec![MISSING.to_owned()],
        _ => changed.to_vec(),
    };
    let news = !pending.is_empty() && pending != previous;
    let fields = pending.join(", ");
    let (outcome, event) = if observe_only {
        let in_sync = pending.is_empty();
        let message = if in_sync {
            "managementPolicy is Observe: GoAlert matches the spec".to_owned()
        } else {
            format!(
                "managementPolicy is Observe: GoAlert differs from the spec in {fields}; nothing was changed"
            )
        };
        let outcome = Outcome {
            ready: in_sync,
            stalled: false,
            reason: if in_sync { "InSync" } else { "OutOfSync" }.into(),
            message: message.clone(),
            notes: Vec::new(),
        };
        (
            outcome,
            news.then_some((EventType::Normal, "WouldChange", message)),
        )
    } else {
        let message = if pending.is_empty() {
            IN_SYNC.to_owned()
        } else {
            format!("driftPolicy is Report: changed in GoAlert by hand and left as is: {fields}")
        };
        let outcome = Outcome {
            ready: true,
            stalled: false,
            reason: if pending.is_empty() {
                "Synced"
            } else {
                "DriftDetected"
            }
            .into(),
            message: message.clone(),
            notes: Vec::new(),
        };
        (
            outcome,
            news.then_some((EventType::Warning, "DriftDetected", message)),
        )
    };
    Report {
        outcome,
        pending,
        event,
        drift: false,
    }
}

fn changed_suffix(changed: &[String]) -> String {
    if changed.is_empty() {
        String::new()
    } else {
        format!("; set {}", changed.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (origin, changed, spec synced before, Event reason and note, drift)
    type Written<'a> = (Origin, &'a [&'a str], bool, Option<(&'a str, &'a str)>, bool);
    /// (observe only, origin, differing, listed before, ready, reason, pending, Event reason)
    type Pending<'a> = (
        bool,
        Origin,
        &'a [&'a str],
        &'a [&'a str],
        bool,
        &'a str,
        &'a [&'a str],
        Option<&'a str>,
    );

    fn fields(list: &[&str]) -> Vec<String> {
        list.iter().map(|f| (*f).to_owned()).collect()
    }

    #[test]
    fn what_a_writing_reconcile_reports() {
        const ID: &str = "6f1f1a4e";
        let cases: [Written; 7] = [
            (Origin::Known, &[], true, None, false),
            (Origin::Known, &[], false, None, false),
            (
                Origin::Known,
                &["spec.description"],
                false,
                Some(("Updated", "updated in GoAlert: spec.description")),
                false,
            ),
            (
                Origin::Known,
                &["spec.description", "spec.repeat"],
                true,
                Some((
                    "DriftCorrected",
                    "corrected changes made in GoAlert: spec.description, spec.repeat",
                )),
                true,
            ),
            (
                Origin::Created,
                &[],
                false,
                Some(("Created", "created in GoAlert (id 6f1f1a4e)")),
                false,
            ),
            (
                Origin::Created,
                &["spec.steps"],
                false,
                Some(("Created", "created in GoAlert (id 6f1f1a4e); set spec.steps")),
                false,
            ),
            (
                Origin::Adopted,
                &["spec.repeat"],
                true,
                Some((
                    "Adopted",
                    "existing GoAlert object taken over (id 6f1f1a4e); set spec.repeat",
                )),
                false,
            ),
        ];
        for (origin, changed, spec_unchanged, event, drift) in cases {
            let report = written(origin, &fields(changed), Some(ID), spec_unchanged);
            let case = format!("{origin:?} {changed:?} {spec_unchanged}");
            assert!(report.outcome.ready && !report.outcome.stalled, "{case}");
            assert_eq!(report.outcome.reason, "Synced", "{case}");
            assert_eq!(report.outcome.message, IN_SYNC, "{case}");
            assert_eq!(
                report.event.map(|(type_, reason, note)| {
                    assert_eq!(type_, EventType::Normal);
                    (reason, note)
                }),
                event.map(|(reason, note)| (reason, note.to_owned())),
                "{case}"
            );
            assert_eq!(report.drift, drift, "{case}");
            assert!(report.pending.is_empty(), "{case}");
        }
    }

    #[test]
    fn what_a_reading_reconcile_reports() {
        let cases: [Pending; 7] = [
            (true, Origin::Known, &[], &[], true, "InSync", &[], None),
            (
                true,
                Origin::Known,
                &["spec.repeat"],
                &[],
                false,
                "OutOfSync",
                &["spec.repeat"],
                Some("WouldChange"),
            ),
            // The same differences as last time: no Event again.
            (
                true,
                Origin::Known,
                &["spec.repeat"],
                &["spec.repeat"],
                false,
                "OutOfSync",
                &["spec.repeat"],
                None,
            ),
            (
                true,
                Origin::Missing,
                &[],
                &[],
                false,
                "OutOfSync",
                &[MISSING],
                Some("WouldChange"),
            ),
            (
                false,
                Origin::Known,
                &[],
                &["spec.repeat"],
                true,
                "Synced",
                &[],
                None,
            ),
            (
                false,
                Origin::Known,
                &["spec.description"],
                &[],
                true,
                "DriftDetected",
                &["spec.description"],
                Some("DriftDetected"),
            ),
            (
                false,
                Origin::Known,
                &["spec.description"],
                &["spec.description"],
                true,
                "DriftDetected",
                &["spec.description"],
                None,
            ),
        ];
        for (observe_only, origin, changed, previous, ready, reason, pending_fields, event) in cases {
            let report = pending(origin, &fields(changed), &fields(previous), observe_only);
            let case = format!("{observe_only} {origin:?} {changed:?} {previous:?}");
            assert_eq!(report.outcome.ready, ready, "{case}");
            assert_eq!(report.outcome.reason, reason, "{case}");
            assert_eq!(report.pending, fields(pending_fields), "{case}");
            assert_eq!(
                report.event.as_ref().map(|(_, reason, _)| *reason),
                event,
                "{case}"
            );
            assert!(!report.drift, "{case}");
        }
        let warned = pending(Origin::Known, &fields(&["spec.repeat"]), &[], false);
        assert_eq!(
            warned.event.unwrap().0,
            EventType::Warning,
            "drift left as is is a warning"
        );
    }
}
