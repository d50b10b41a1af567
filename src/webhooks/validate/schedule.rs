//! GoAlertSchedule: name, time zone, targets that resolve and appear once, rules whose clock
//! times and weekdays make sense, overrides that change something.

use std::{collections::HashSet, sync::Arc};

use super::{Admitted, ClusterView, Findings, Pending};
use crate::{
    api::{GoAlertSchedule, Kind},
    webhooks::review::{DUPLICATE, at},
};

/// HH:MM within a day.
pub fn is_clock_time(value: &str) -> bool {
    let Some((h, m)) = value.split_once(':') else {
        return false;
    };
    h.len() == 2
        && m.len() == 2
        && h.parse::<u8>().is_ok_and(|h| h < 24)
        && m.parse::<u8>().is_ok_and(|m| m < 60)
}

impl Admitted for GoAlertSchedule {
    fn in_view(view: &ClusterView) -> &[Arc<Self>] {
        &view.schedules
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

        for (i, target) in spec.targets.iter().enumerate() {
            let path = at("spec.targets", i);
            let same = |t: &&crate::api::schedule::ScheduleTarget| {
                t.rotation_ref == target.rotation_ref && t.user_ref == target.user_ref
            };
            if spec.targets[..i].iter().any(|t| same(&t)) {
                findings.error(
                    path.clone(),
                    DUPLICATE,
                    "this target appears twice; GoAlert keeps one entry per rotation or user: put all its rules in one target",
                );
            }
            for (j, rule) in target.rules.iter().enumerate() {
                let rule_path = at(&format!("{path}.rules"), j);
                for (field, value) in [("start", &rule.start), ("end", &rule.end)] {
                    if let Some(value) = value
                        && !is_clock_time(value)
                    {
                        findings.invalid(
                            format!("{rule_path}.{field}"),
                            format!("{value:?} is not a clock time HH:MM between 00:00 and 23:59"),
                        );
                    }
                }
                if let Some(weekdays) = &rule.weekdays {
                    let mut seen = HashSet::new();
                    for (k, day) in weekdays.iter().enumerate() {
                        if !seen.insert(day) {
                            findings.error(
                                at(&format!("{rule_path}.weekdays"), k),
                                DUPLICATE,
                                format!("{day:?} appears twice"),
                            );
                        }
                    }
                    if weekdays.is_empty() {
                        findings.invalid(
                            format!("{rule_path}.weekdays"),
                            "an empty list never applies; leave weekdays out for every day",
                        );
                    }
                }
            }
        }

        for (i, o) in spec.overrides.iter().enumerate() {
            let path = at("spec.overrides", i);
            super::check_timestamp(&format!("{path}.start"), &o.start, findings);
            super::check_timestamp(&format!("{path}.end"), &o.end, findings);
            if let (Ok(start), Ok(end)) = (
                o.start.parse::<jiff::Timestamp>(),
                o.end.parse::<jiff::Timestamp>(),
            ) && start >= end
            {
                findings.invalid(format!("{path}.end"), "must be after start");
            }
            if o.add_user_ref.is_some() && o.add_user_ref == o.remove_user_ref {
                findings.invalid(
                    format!("{path}.removeUserRef"),
                    "replaces a user by the same user; this override changes nothing",
                );
            }
        }
        super::check_reference_syntax(&self.references(), findings);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{
        super::fixtures::{check, schedule, view},
        *,
    };
    use crate::api::{Kind, kind::Reference};

    fn spec() -> serde_json::Value {
        json!({
            "timeZone": "Etc/UTC",
            "targets": [
                { "userRef": { "name": "alice" }, "rules": [{ "start": "08:00", "end": "16:00", "weekdays": ["Monday"] }] },
                { "rotationRef": { "name": "primary" }, "rules": [{ "weekdays": ["Saturday", "Sunday"] }] },
            ],
            "overrides": [{ "addUserRef": { "name": "bob" }, "start": "2026-01-01T00:00:00Z", "end": "2026-01-02T00:00:00Z" }],
        })
    }

    #[test]
    fn a_valid_schedule_passes_and_lists_its_references() {
        let s = schedule("follow-the-sun", spec());
        let (findings, _) = check(&s, None, &view());
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
        let paths: Vec<_> = s.references().iter().map(Reference::path).collect();
        assert_eq!(
            paths,
            [
                "spec.targets[0].userRef.name",
                "spec.targets[1].rotationRef.name",
                "spec.overrides[0].addUserRef.name"
            ]
        );
    }

    #[test]
    fn clock_times_and_weekdays_are_in_range() {
        let mut s = spec();
        s["targets"][0]["rules"][0]["end"] = json!("24:00");
        s["targets"][1]["rules"][0]["weekdays"] = json!(["Sunday", "Sunday"]);
        let (findings, _) = check(&schedule("oncall", s), None, &view());
        assert_eq!(
            findings.fields(),
            [
                "spec.targets[0].rules[0].end",
                "spec.targets[1].rules[0].weekdays[1]"
            ]
        );
    }

    #[test]
    fn a_target_appears_once() {
        let mut s = spec();
        s["targets"][1] = s["targets"][0].clone();
        let (findings, _) = check(&schedule("oncall", s), None, &view());
        assert_eq!(findings.fields(), ["spec.targets[1]"]);
    }

    #[test]
    fn time_zones_are_iana_names() {
        let mut s = spec();
        s["timeZone"] = json!("CEST");
        let (findings, _) = check(&schedule("oncall", s), None, &view());
        assert_eq!(findings.fields(), ["spec.timeZone"]);
    }

    #[test]
    fn an_override_replacing_a_user_by_itself_is_refused() {
        let mut s = spec();
        s["overrides"][0]["removeUserRef"] = json!({ "name": "bob" });
        let (findings, _) = check(&schedule("oncall", s), None, &view());
        assert_eq!(findings.fields(), ["spec.overrides[0].removeUserRef"]);
    }

    #[test]
    fn clock_time_syntax() {
        assert!(is_clock_time("00:00") && is_clock_time("23:59"));
        assert!(!is_clock_time("24:00") && !is_clock_time("9:00") && !is_clock_time("12:60"));
    }
}
