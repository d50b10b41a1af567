//! GoAlertRotation: a GoAlert name (also when it comes from metadata.name) no other resource
//! claims, an IANA time zone, a valid start, participants that resolve.

use std::sync::Arc;

use super::{Admitted, ClusterView, Findings, Pending};
use crate::api::{GoAlertRotation, Kind};

impl Admitted for GoAlertRotation {
    fn in_view(view: &ClusterView) -> &[Arc<Self>] {
        &view.rotations
    }

    fn check(
        &self,
        _old: Option<&Self>,
        view: &ClusterView,
        findings: &mut Findings,
        _pending: &mut Pending,
    ) {
        let spec = &self.spec;
        super::check_goalert_identity(self, view, findings);
        super::check_time_zone("spec.timeZone", &spec.time_zone, findings);
        super::check_timestamp("spec.start", &spec.start, findings);
        if let Some(length) = spec.shift_length
            && !(1..=9000).contains(&length)
        {
            findings.invalid("spec.shiftLength", format!("{length} is out of range 1-9000"));
        }
        super::check_reference_syntax(&self.references(), findings);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{check, in_namespace, rotation, view};

    fn weekly(name: Option<&str>) -> serde_json::Value {
        let mut spec = json!({
            "timeZone": "Europe/Amsterdam",
            "type": "Weekly",
            "start": "2026-01-05T09:00:00+01:00",
            "participants": [{ "name": "alice" }, { "email": "bob@example.com" }],
        });
        if let Some(name) = name {
            spec["rotationName"] = json!(name);
        }
        spec
    }

    #[test]
    fn a_valid_rotation_passes() {
        let (findings, _) = check(&rotation("primary", weekly(None)), None, &view());
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
    }

    #[test]
    fn unknown_time_zones_are_refused() {
        let mut spec = weekly(None);
        spec["timeZone"] = json!("Europe/Amsterdm");
        let (findings, _) = check(&rotation("primary", spec), None, &view());
        assert_eq!(findings.fields(), ["spec.timeZone"]);
    }

    #[test]
    fn a_name_goalert_cannot_use_is_refused() {
        let (findings, _) = check(&rotation("2024", weekly(None)), None, &view());
        assert_eq!(findings.fields(), ["metadata.name"]);
        assert!(
            findings.message().contains("set spec.rotationName"),
            "{}",
            findings.message()
        );
        let (findings, _) = check(
            &rotation("2024", weekly(Some("Team Primary (EU)"))),
            None,
            &view(),
        );
        assert!(findings.errors.is_empty(), "GoAlert drops the parentheses");
        let (findings, _) = check(&rotation("primary", weekly(Some("(1)"))), None, &view());
        assert_eq!(findings.fields(), ["spec.rotationName"]);
    }

    #[test]
    fn two_rotations_with_one_goalert_name_conflict_across_namespaces() {
        let other = in_namespace(rotation("other", weekly(Some("PLATFORM  primary!"))), "team-b");
        let (findings, _) = check(
            &rotation("primary", weekly(Some("Platform Primary"))),
            None,
            &view().rotations(vec![other]),
        );
        assert_eq!(findings.fields(), ["spec.rotationName"]);
        assert!(
            findings.message().contains("GoAlertRotation team-b/other"),
            "{}",
            findings.message()
        );
    }

    #[test]
    fn one_goalert_id_cannot_be_adopted_twice() {
        const ID: &str = "6f1f1a4e-8a4e-4d43-9d1e-1c5b0c0f0a01";
        let mut spec = weekly(Some("Team Primary"));
        spec["goalertId"] = json!(ID);
        let mut recorded = in_namespace(rotation("other", weekly(Some("Other Name"))), "team-b");
        recorded.status = Some(Default::default());
        recorded.status.as_mut().unwrap().common.goalert_id = Some(ID.to_uppercase());
        let (findings, _) = check(
            &rotation("primary", spec.clone()),
            None,
            &view().rotations(vec![recorded]),
        );
        assert_eq!(findings.fields(), ["spec.goalertId"]);
        assert!(
            findings.message().contains("GoAlertRotation team-b/other"),
            "{}",
            findings.message()
        );

        let mut claimed_spec = weekly(Some("Third"));
        claimed_spec["goalertId"] = json!(ID);
        let claimed = in_namespace(rotation("third", claimed_spec), "team-c");
        let (findings, _) = check(&rotation("primary", spec), None, &view().rotations(vec![claimed]));
        assert_eq!(findings.fields(), ["spec.goalertId"]);
    }

    #[test]
    fn the_same_object_is_no_conflict_with_itself() {
        let me = rotation("primary", weekly(None));
        let (findings, _) = check(&me, Some(&me), &view().rotations(vec![me.clone()]));
        assert!(findings.errors.is_empty());
    }

    #[test]
    fn participants_by_email_are_well_formed() {
        let mut spec = weekly(None);
        spec["participants"][1]["email"] = json!("bob at example.com");
        let (findings, _) = check(&rotation("primary", spec), None, &view());
        assert_eq!(findings.fields(), ["spec.participants[1].email"]);
    }

    #[test]
    fn impossible_start_times_are_refused() {
        let mut spec = weekly(None);
        spec["start"] = json!("2026-02-30T09:00:00Z");
        let (findings, _) = check(&rotation("primary", spec), None, &view());
        assert_eq!(findings.fields(), ["spec.start"]);
    }
}
