//! GoAlertAdmin: one resource per config setting and system limit, so two resources never fight
//! over a value.

use std::sync::Arc;

use super::{Admitted, ClusterView, Findings, Pending, describe, is_other};
use crate::{
    api::GoAlertAdmin,
    webhooks::review::{DUPLICATE, at},
};

impl Admitted for GoAlertAdmin {
    fn in_view(view: &ClusterView) -> &[Arc<Self>] {
        &view.admins
    }

    fn check(
        &self,
        _old: Option<&Self>,
        view: &ClusterView,
        findings: &mut Findings,
        _pending: &mut Pending,
    ) {
        let others: Vec<_> = view
            .admins
            .iter()
            .filter(|o| is_other(self, o.as_ref()))
            .collect();
        for (i, setting) in self.spec.config.iter().enumerate() {
            if self.spec.config[..i].iter().any(|s| s.id == setting.id) {
                findings.error(
                    format!("{}.id", at("spec.config", i)),
                    DUPLICATE,
                    format!("{} is listed twice", setting.id),
                );
            }
            if let Some(other) = others
                .iter()
                .find(|o| o.spec.config.iter().any(|s| s.id == setting.id))
            {
                findings.error(
                    format!("{}.id", at("spec.config", i)),
                    DUPLICATE,
                    format!(
                        "the config setting {} is already managed by {}",
                        setting.id,
                        describe(other.as_ref())
                    ),
                );
            }
        }
        for (i, limit) in self.spec.system_limits.iter().enumerate() {
            if let Some(other) = others
                .iter()
                .find(|o| o.spec.system_limits.iter().any(|l| l.id == limit.id))
            {
                findings.error(
                    format!("{}.id", at("spec.systemLimits", i)),
                    DUPLICATE,
                    format!(
                        "the system limit {:?} is already managed by {}",
                        limit.id,
                        describe(other.as_ref())
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{admin, check, in_namespace, view};

    #[test]
    fn a_config_key_has_one_owner() {
        let mine = admin(
            "goalert",
            json!({ "config": [{ "id": "General.ApplicationName", "value": "Acme" }], "systemLimits": [{ "id": "ContactMethodsPerUser", "value": 5 }] }),
        );
        let theirs = in_namespace(
            admin(
                "other",
                json!({ "config": [{ "id": "General.ApplicationName", "value": "Other" }], "systemLimits": [{ "id": "ContactMethodsPerUser", "value": 7 }] }),
            ),
            "team-b",
        );
        let (findings, _) = check(&mine, None, &view().admins(vec![theirs]));
        assert_eq!(
            findings.fields(),
            ["spec.config[0].id", "spec.systemLimits[0].id"]
        );
        assert!(findings.message().contains("GoAlertAdmin team-b/other"));
        let (findings, _) = check(&mine, Some(&mine), &view().admins(vec![mine.clone()]));
        assert!(findings.errors.is_empty());
    }
}
