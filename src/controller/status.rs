//! Status is written only when it changes what the object says (as cert-manager does): a
//! reconcile that finds everything as it was costs no write, so a steady state costs nothing
//! but the reads that confirm it.

use serde::{Serialize, de::DeserializeOwned};
use serde_json::{Value, json};

/// Whether merging `patch` (a JSON merge patch of `.status`) into `object` changes the status,
/// as the object's own type reads it: a field set to what it already holds, a `null` for a field
/// that is absent or an empty list where the type leaves out empty lists change nothing.
pub fn changes<K: Serialize + DeserializeOwned>(object: &K, patch: &Value) -> bool {
    let Ok(before) = serde_json::to_value(object) else {
        return true;
    };
    let mut after = before.clone();
    json_patch::merge(&mut after, &json!({ "status": patch }));
    match serde_json::from_value::<K>(after).map(|after| serde_json::to_value(after)) {
        Ok(Ok(after)) => after != before,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GoAlertRotation;

    const ID: &str = "6f1f1a4e-8a4e-4d43-9d1e-1c5b0c0f0a01";

    fn rotation() -> GoAlertRotation {
        serde_json::from_value(json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertRotation",
            "metadata": { "name": "primary", "namespace": "team-a", "generation": 2 },
            "spec": { "timeZone": "Etc/UTC", "type": "Weekly", "start": "2026-01-05T09:00:00Z" },
            "status": {
                "observedGeneration": 2,
                "goalertId": ID,
                "url": format!("http://goalert/rotations/{ID}"),
                "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Synced", "message": "in sync with GoAlert",
                    "observedGeneration": 2, "lastTransitionTime": "2026-01-05T09:00:00Z",
                }],
            },
        }))
        .unwrap()
    }

    #[test]
    fn only_patches_that_change_something_are_written() {
        let ready = json!([{
            "type": "Ready", "status": "True", "reason": "Synced", "message": "in sync with GoAlert",
            "observedGeneration": 2, "lastTransitionTime": "2026-01-05T09:00:00Z",
        }]);
        let cases = [
            (
                "the same values",
                json!({ "observedGeneration": 2, "conditions": ready, "goalertId": ID }),
                false,
            ),
            (
                "null for an absent field",
                json!({ "adopted": null, "pendingChanges": null }),
                false,
            ),
            (
                "an empty list for an absent one",
                json!({ "pendingChanges": [] }),
                false,
            ),
            ("nothing", json!({}), false),
            ("a new generation", json!({ "observedGeneration": 3 }), true),
            ("a new field", json!({ "adopted": true }), true),
            (
                "pending changes",
                json!({ "pendingChanges": ["spec.shiftLength"] }),
                true,
            ),
            ("a field removed", json!({ "url": null }), true),
            (
                "another message",
                json!({ "conditions": [{
                    "type": "Ready", "status": "True", "reason": "Synced", "message": "updated in GoAlert: spec.shiftLength",
                    "observedGeneration": 2, "lastTransitionTime": "2026-01-05T09:00:00Z",
                }] }),
                true,
            ),
        ];
        let object = rotation();
        for (case, patch, written) in cases {
            assert_eq!(changes(&object, &patch), written, "{case}");
        }
    }

    #[test]
    fn an_object_without_status_gets_one() {
        let mut object = rotation();
        object.status = None;
        assert!(changes(&object, &json!({ "observedGeneration": 2 })));
    }
}
