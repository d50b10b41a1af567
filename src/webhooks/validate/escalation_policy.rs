//! GoAlertEscalationPolicy: name, and step targets that resolve and appear once per step.

use std::sync::Arc;

use super::{Admitted, ClusterView, Findings, Pending};
use crate::{
    api::{GoAlertEscalationPolicy, Kind},
    webhooks::review::{DUPLICATE, at},
};

impl Admitted for GoAlertEscalationPolicy {
    fn in_view(view: &ClusterView) -> &[Arc<Self>] {
        &view.policies
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
        if let Some(repeat) = spec.repeat
            && !(0..=5).contains(&repeat)
        {
            findings.invalid("spec.repeat", format!("{repeat} is out of range 0-5"));
        }
        for (i, step) in spec.steps.iter().enumerate() {
            let step_path = at("spec.steps", i);
            if !(1..=9000).contains(&step.delay_minutes) {
                findings.invalid(
                    format!("{step_path}.delayMinutes"),
                    format!("{} is out of range 1-9000", step.delay_minutes),
                );
            }
            for (j, target) in step.targets.iter().enumerate() {
                if step.targets[..j].contains(target) {
                    findings.error(
                        at(&format!("{step_path}.targets"), j),
                        DUPLICATE,
                        "this target appears twice in the step",
                    );
                }
            }
        }
        super::check_reference_syntax(&self.references(), findings);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{check, policy, view};
    use crate::api::{Kind, kind::Reference};

    fn spec() -> serde_json::Value {
        json!({
            "steps": [
                { "delayMinutes": 5, "targets": [{ "scheduleRef": { "name": "follow-the-sun" } }, { "userRef": { "email": "alice@example.com" } }] },
                { "delayMinutes": 10, "targets": [{ "rotationRef": { "goalertName": "Platform Primary" } }] },
            ],
        })
    }

    #[test]
    fn a_valid_policy_passes_and_lists_its_references() {
        let p = policy("production-oncall", spec());
        let (findings, _) = check(&p, None, &view());
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
        let paths: Vec<_> = p.references().iter().map(Reference::path).collect();
        assert_eq!(
            paths,
            [
                "spec.steps[0].targets[0].scheduleRef.name",
                "spec.steps[0].targets[1].userRef.email",
                "spec.steps[1].targets[0].rotationRef.goalertName"
            ]
        );
    }

    #[test]
    fn a_target_appears_once_per_step() {
        let mut s = spec();
        s["steps"][0]["targets"][1] = s["steps"][0]["targets"][0].clone();
        let (findings, _) = check(&policy("oncall", s), None, &view());
        assert_eq!(findings.fields(), ["spec.steps[0].targets[1]"]);
    }

    #[test]
    fn names_are_unique_in_goalert() {
        let mut s = spec();
        s["escalationPolicyName"] = json!("Production");
        let other = policy("production", spec());
        let (findings, _) = check(&policy("oncall", s), None, &view().policies(vec![other]));
        assert_eq!(findings.fields(), ["spec.escalationPolicyName"]);
    }
}
