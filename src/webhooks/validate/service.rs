//! GoAlertService: name, an escalation policy that resolves, integration keys and heartbeat
//! monitors with unique names, and no two of them (in this or another service of the namespace)
//! writing the same Secret key.

use std::{collections::HashMap, sync::Arc};

use super::{Admitted, ClusterView, Findings, Pending, describe, is_other};
use crate::{
    api::{GoAlertService, Kind, service::KeySecretRef},
    webhooks::review::{DUPLICATE, at},
};

/// Every Secret key the service writes: ((secret, key), field path).
fn secret_keys(service: &GoAlertService) -> Vec<((String, String), String)> {
    let mut keys = Vec::new();
    let mut add = |path: String, secret: &KeySecretRef| {
        keys.push((
            (secret.name.clone(), secret.key.clone()),
            format!("{path}.secretRef.key"),
        ));
        if let Some(token) = &secret.token_key {
            keys.push((
                (secret.name.clone(), token.clone()),
                format!("{path}.secretRef.tokenKey"),
            ));
        }
    };
    for (i, key) in service.spec.integration_keys.iter().enumerate() {
        add(at("spec.integrationKeys", i), &key.secret_ref);
    }
    for (i, monitor) in service.spec.heartbeat_monitors.iter().enumerate() {
        add(at("spec.heartbeatMonitors", i), &monitor.secret_ref);
    }
    keys
}

impl Admitted for GoAlertService {
    fn in_view(view: &ClusterView) -> &[Arc<Self>] {
        &view.services
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

        for (list, names) in [
            (
                "spec.integrationKeys",
                spec.integration_keys.iter().map(|k| &k.name).collect::<Vec<_>>(),
            ),
            (
                "spec.heartbeatMonitors",
                spec.heartbeat_monitors.iter().map(|m| &m.name).collect(),
            ),
        ] {
            for (i, name) in names.iter().enumerate() {
                if names[..i].iter().any(|n| n.eq_ignore_ascii_case(name)) {
                    findings.error(
                        format!("{}.name", at(list, i)),
                        DUPLICATE,
                        format!(
                            "{name:?} is used twice (names are unique within the service, ignoring case)"
                        ),
                    );
                }
            }
        }

        let mut written: HashMap<(String, String), String> = HashMap::new();
        for (target, path) in secret_keys(self) {
            if let Some(first) = written.get(&target) {
                findings.error(
                    path,
                    DUPLICATE,
                    format!(
                        "Secret {:?} key {:?} is already written by {first}; each URL needs its own key",
                        target.0, target.1
                    ),
                );
                continue;
            }
            written.insert(target.clone(), path.clone());
            if let Some((other, other_path)) = view
                .services
                .iter()
                .filter(|o| is_other(self, o.as_ref()) && o.metadata.namespace == self.metadata.namespace)
                .find_map(|o| {
                    secret_keys(o)
                        .into_iter()
                        .find(|(t, _)| *t == target)
                        .map(|(_, p)| (o, p))
                })
            {
                findings.error(
                    path,
                    DUPLICATE,
                    format!(
                        "Secret {:?} key {:?} is already written by {} ({other_path})",
                        target.0,
                        target.1,
                        describe(other.as_ref())
                    ),
                );
            }
        }
        super::check_reference_syntax(&self.references(), findings);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::fixtures::{check, service, view};
    use crate::api::Kind;

    fn spec() -> serde_json::Value {
        json!({
            "escalationPolicyRef": { "name": "production-oncall" },
            "integrationKeys": [
                { "name": "Grafana", "type": "Grafana", "secretRef": { "name": "goalert-keys", "key": "grafana" } },
                { "name": "Generic", "secretRef": { "name": "goalert-keys", "key": "generic", "tokenKey": "generic-token" } },
            ],
            "heartbeatMonitors": [
                { "name": "Backup", "timeoutMinutes": 60, "secretRef": { "name": "goalert-keys", "key": "backup" } },
            ],
        })
    }

    #[test]
    fn a_valid_service_passes() {
        let s = service("checkout", spec());
        let (findings, _) = check(&s, None, &view());
        assert!(findings.errors.is_empty(), "{:?}", findings.errors);
        assert_eq!(s.references()[0].path(), "spec.escalationPolicyRef.name");
    }

    #[test]
    fn integration_key_names_are_unique_ignoring_case() {
        let mut s = spec();
        s["integrationKeys"][1]["name"] = json!("grafana");
        let (findings, _) = check(&service("checkout", s), None, &view());
        assert_eq!(findings.fields(), ["spec.integrationKeys[1].name"]);
    }

    #[test]
    fn two_keys_cannot_write_one_secret_key() {
        let mut s = spec();
        s["heartbeatMonitors"][0]["secretRef"]["key"] = json!("generic-token");
        let (findings, _) = check(&service("checkout", s), None, &view());
        assert_eq!(findings.fields(), ["spec.heartbeatMonitors[0].secretRef.key"]);
        assert!(
            findings
                .message()
                .contains("spec.integrationKeys[1].secretRef.tokenKey")
        );
    }

    #[test]
    fn another_service_writing_the_same_secret_key_conflicts() {
        let mut other = spec();
        other["serviceName"] = json!("Payments");
        let other = service("payments", other);
        let (findings, _) = check(&service("checkout", spec()), None, &view().services(vec![other]));
        assert_eq!(
            findings.fields(),
            [
                "spec.integrationKeys[0].secretRef.key",
                "spec.integrationKeys[1].secretRef.key",
                "spec.integrationKeys[1].secretRef.tokenKey",
                "spec.heartbeatMonitors[0].secretRef.key"
            ]
        );
    }

    #[test]
    fn the_same_service_name_conflicts() {
        let other = service(
            "other",
            json!({ "serviceName": "CHECKOUT", "escalationPolicyRef": { "name": "x" } }),
        );
        let (findings, _) = check(&service("checkout", spec()), None, &view().services(vec![other]));
        assert_eq!(findings.fields(), ["metadata.name"]);
    }
}
