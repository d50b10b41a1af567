//! The mutating webhook: fills defaults users expect, only where a field is absent, as a JSON
//! patch. Applying the patch to its own output adds nothing (idempotent), so `kubectl diff` and
//! Argo CD see no change after an apply.
//!
//! Defaults (each equal to what the operator would use anyway, so filling them changes nothing
//! in GoAlert; they make the object say what is in effect):
//! - every kind with a GoAlert name: `spec.<kind>Name` = metadata.name, when GoAlert accepts it;
//! - GoAlertUser: `spec.username` (the old object's on UPDATE, else derived from the e-mail),
//!   `spec.role` = User;
//! - GoAlertRotation: `spec.shiftLength` = 1;
//! - GoAlertEscalationPolicy: `spec.repeat` = 3;
//! - GoAlertService: `spec.integrationKeys[].type` = Generic.
//!
//! `spec.deletionPolicy` gets no default here: it depends on whether the operator creates the
//! GoAlert object or adopts one, which only the reconcile finds out.

use json_patch::{AddOperation, Patch, PatchOperation, jsonptr::PointerBuf};
use serde_json::{Value, json};

use super::validate::{is_goalert_name, stored_name};
use crate::api::{
    escalation_policy::DEFAULT_REPEAT, kinds, rotation::DEFAULT_SHIFT_LENGTH, service::MAX_INTEGRATION_KEYS,
    user::default_username,
};

/// The patch for an object of `kind` (its JSON), given the object it replaces on UPDATE.
pub fn defaults(kind: &str, object: &Value, old: Option<&Value>) -> Patch {
    let mut ops = Vec::new();
    let Some(spec) = object.get("spec").and_then(Value::as_object) else {
        return Patch(ops);
    };
    let mut add = |tokens: &[&str], value: Value| {
        ops.push(PatchOperation::Add(AddOperation {
            path: PointerBuf::from_tokens(tokens.iter().copied()),
            value,
        }));
    };
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let name_field = kinds()
        .iter()
        .find(|description| description.kind == kind)
        .and_then(|description| description.name_field);
    if let Some(field) = name_field
        && !spec.contains_key(field)
        && is_goalert_name(&stored_name(name))
    {
        add(&["spec", field], json!(name));
    }
    match kind {
        "GoAlertUser" => {
            if !spec.contains_key("username") {
                let previous = old.and_then(|o| o.pointer("/spec/username")).cloned();
                let derived = spec
                    .get("email")
                    .and_then(Value::as_str)
                    .map(|email| json!(default_username(email)));
                if let Some(username) = previous.or(derived) {
                    add(&["spec", "username"], username);
                }
            }
            if !spec.contains_key("role") {
                add(&["spec", "role"], json!("User"));
            }
        }
        "GoAlertRotation" if !spec.contains_key("shiftLength") => {
            add(&["spec", "shiftLength"], json!(DEFAULT_SHIFT_LENGTH));
        }
        "GoAlertEscalationPolicy" if !spec.contains_key("repeat") => {
            add(&["spec", "repeat"], json!(DEFAULT_REPEAT));
        }
        "GoAlertService" => {
            // Not into a list longer than the CRD allows: the schema check after this webhook
            // refuses the object anyway, and a patch of one operation per key (10,000 for a
            // hostile object) would cost the webhook and the API server more than the object.
            if let Some(keys) = spec
                .get("integrationKeys")
                .and_then(Value::as_array)
                .filter(|keys| keys.len() <= MAX_INTEGRATION_KEYS)
            {
                for (i, key) in keys.iter().enumerate() {
                    // Only into objects: the schema's type checks run after the mutating webhook,
                    // and a patch that cannot apply would hide their message behind an error.
                    if key.as_object().is_some_and(|key| !key.contains_key("type")) {
                        add(
                            &["spec", "integrationKeys", &i.to_string(), "type"],
                            json!("Generic"),
                        );
                    }
                }
            }
        }
        _ => {}
    }
    Patch(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(kind: &str, object: &Value, old: Option<&Value>) -> Value {
        let mut patched = object.clone();
        json_patch::patch(&mut patched, &defaults(kind, object, old)).unwrap();
        patched
    }

    #[test]
    fn users_get_username_and_role() {
        let user = json!({ "metadata": { "name": "alice" }, "spec": { "email": "Alice.Smith@example.com" } });
        let patched = apply("GoAlertUser", &user, None);
        assert_eq!(
            patched["spec"],
            json!({ "email": "Alice.Smith@example.com", "username": "alice.smith", "role": "User" })
        );
        assert!(defaults("GoAlertUser", &patched, None).0.is_empty(), "idempotent");
    }

    #[test]
    fn an_update_keeps_the_username_it_had() {
        let old = json!({ "metadata": { "name": "alice" }, "spec": { "email": "alice@example.com", "username": "alice" } });
        let new = json!({ "metadata": { "name": "alice" }, "spec": { "email": "alice.smith@example.com" } });
        assert_eq!(
            apply("GoAlertUser", &new, Some(&old))["spec"]["username"],
            "alice"
        );
    }

    #[test]
    fn set_fields_are_left_alone() {
        let rotation = json!({ "metadata": { "name": "primary" }, "spec": { "rotationName": "Platform Primary", "shiftLength": 2, "deletionPolicy": "Retain" } });
        assert!(defaults("GoAlertRotation", &rotation, None).0.is_empty());
    }

    #[test]
    fn rotations_policies_schedules_and_services_get_their_defaults() {
        let meta = json!({ "name": "primary" });
        let patched = apply("GoAlertRotation", &json!({ "metadata": meta, "spec": {} }), None);
        assert_eq!(
            patched["spec"],
            json!({ "rotationName": "primary", "shiftLength": 1 })
        );
        let patched = apply(
            "GoAlertEscalationPolicy",
            &json!({ "metadata": meta, "spec": {} }),
            None,
        );
        assert_eq!(patched["spec"]["repeat"], 3);
        assert_eq!(patched["spec"]["escalationPolicyName"], "primary");
        let patched = apply("GoAlertSchedule", &json!({ "metadata": meta, "spec": {} }), None);
        assert_eq!(patched["spec"]["scheduleName"], "primary");
        let service = json!({ "metadata": meta, "spec": { "integrationKeys": [{ "name": "a" }, { "name": "b", "type": "Grafana" }] } });
        let patched = apply("GoAlertService", &service, None);
        assert_eq!(patched["spec"]["integrationKeys"][0]["type"], "Generic");
        assert_eq!(patched["spec"]["integrationKeys"][1]["type"], "Grafana");
        assert_eq!(patched["spec"]["serviceName"], "primary");
        assert!(defaults("GoAlertService", &patched, None).0.is_empty());
    }

    #[test]
    fn keys_that_are_not_objects_get_no_type() {
        // Found by the review_bytes fuzzer: the patch added a field to a string.
        let service = json!({ "metadata": { "name": "svc" }, "spec": { "integrationKeys": ["Mobile", null, { "name": "a" }] } });
        let patched = apply("GoAlertService", &service, None);
        assert_eq!(
            patched["spec"]["integrationKeys"],
            json!(["Mobile", null, { "name": "a", "type": "Generic" }])
        );
    }

    #[test]
    fn more_keys_than_the_crd_allows_get_no_type() {
        let keys = |n: usize| {
            json!({ "metadata": { "name": "x" }, "spec": {
                "serviceName": "X",
                "integrationKeys": (0..n).map(|i| json!({ "name": format!("k{i}") })).collect::<Vec<_>>(),
            }})
        };
        for (n, ops) in [
            (MAX_INTEGRATION_KEYS, MAX_INTEGRATION_KEYS),
            (MAX_INTEGRATION_KEYS + 1, 0),
            (10_000, 0),
        ] {
            assert_eq!(
                defaults("GoAlertService", &keys(n), None).0.len(),
                ops,
                "{n} keys"
            );
        }
    }

    #[test]
    fn names_goalert_would_refuse_are_not_defaulted() {
        let patched = apply(
            "GoAlertRotation",
            &json!({ "metadata": { "name": "2024" }, "spec": {} }),
            None,
        );
        assert!(patched["spec"].get("rotationName").is_none());
    }

    #[test]
    fn admin_gets_nothing() {
        assert!(
            defaults(
                "GoAlertAdmin",
                &json!({ "metadata": { "name": "g" }, "spec": {} }),
                None
            )
            .0
            .is_empty()
        );
    }
}
