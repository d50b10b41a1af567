//! Which operator a resource belongs to. Two operators whose watches overlap (one watching every
//! namespace, one a namespace), each with its own GoAlert, would otherwise both provision the
//! same resource and overwrite each other's status. The first to reconcile a resource records
//! its instance name in an annotation, with a patch that only applies to the version it read
//! (so of two at once, one wins); every other instance then leaves the resource alone, says so
//! once in an Event, and never writes its status, its finalizer or GoAlert for it.

use kube::{
    Api, Resource, ResourceExt,
    api::{Patch, PatchParams},
    runtime::events::EventType,
};
use serde_json::{Value, json};

use super::{
    Context,
    error::{Error, KubeCall, Result},
    reconcile::{FINALIZER, publish},
};

use crate::api::INSTANCE_ANNOTATION as ANNOTATION;

/// Where a resource stands for this instance.
#[derive(Debug, PartialEq, Eq)]
pub enum Standing<'a> {
    Ours,
    /// No instance recorded yet.
    Unclaimed,
    /// Another instance's, named.
    Theirs(&'a str),
}

pub fn standing<'a>(object: &'a impl Resource, instance: &str) -> Standing<'a> {
    match object.annotations().get(ANNOTATION) {
        None => Standing::Unclaimed,
        Some(recorded) if recorded == instance => Standing::Ours,
        Some(recorded) => Standing::Theirs(recorded),
    }
}

/// The JSON patch recording `instance` on `object` (and, with `finalizer`, the cleanup finalizer
/// in the same write), applied only if the object is still at the version read.
pub fn claim_patch(object: &impl Resource, instance: &str, finalizer: bool) -> Value {
    let meta = object.meta();
    let mut ops = vec![json!({
        "op": "test", "path": "/metadata/resourceVersion", "value": meta.resource_version,
    })];
    // `~1` is a `/` inside a JSON pointer segment.
    let escaped = ANNOTATION.replace('~', "~0").replace('/', "~1");
    ops.push(match &meta.annotations {
        Some(_) => {
            json!({ "op": "add", "path": format!("/metadata/annotations/{escaped}"), "value": instance })
        }
        None => json!({ "op": "add", "path": "/metadata/annotations", "value": { ANNOTATION: instance } }),
    });
    let has_finalizer = meta.finalizers.iter().flatten().any(|f| f == FINALIZER);
    if finalizer && !has_finalizer {
        ops.push(match &meta.finalizers {
            Some(_) => json!({ "op": "add", "path": "/metadata/finalizers/-", "value": FINALIZER }),
            None => json!({ "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] }),
        });
    }
    Value::Array(ops)
}

/// Whether this instance goes on with `object`. An unclaimed object is claimed (the write wakes
/// the controller again, and a lost race shows the winner's name on the next look); another
/// instance's object is left alone, with one Event per process saying so.
pub async fn proceed<K>(object: &K, ctx: &Context, finalizer: bool) -> Result<bool>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    match standing(object, &ctx.instance) {
        Standing::Ours => Ok(true),
        Standing::Theirs(owner) => {
            if ctx.first_sight_of_foreign(&object.uid().unwrap_or_default()) {
                let note = format!(
                    "managed by the operator instance {owner:?} (annotation {ANNOTATION}); this instance \
                     ({:?}) leaves it alone. To move it, change the annotation to the new instance's name",
                    ctx.instance
                );
                tracing::info!(kind = %K::kind(&()), name = %object.name_any(), %owner, "managed by another instance");
                publish(ctx, object, EventType::Normal, "ManagedElsewhere", note).await;
            }
            Ok(false)
        }
        Standing::Unclaimed => {
            if object.meta().deletion_timestamp.is_some() {
                // Only an earlier version of this operator (which recorded no instance) set
                // this finalizer on an unclaimed object; it is this operator's to clean up.
                let finalized = object.meta().finalizers.iter().flatten().any(|f| f == FINALIZER);
                return Ok(finalized);
            }
            let api: Api<K> = Api::namespaced(ctx.kube.clone(), &object.namespace().unwrap_or_default());
            let patch: json_patch::Patch =
                serde_json::from_value(claim_patch(object, &ctx.instance, finalizer))
                    .expect("a valid JSON patch");
            match api
                .patch(
                    &object.name_any(),
                    &PatchParams::default(),
                    &Patch::<()>::Json(patch),
                )
                .await
            {
                // The claimed object comes back through the watch.
                Ok(_) => Ok(false),
                // Changed since read (maybe claimed by another instance): the change comes back
                // through the watch too, and the retry is there should the patch be refused for
                // any other reason, so that nothing stands still unseen.
                Err(kube::Error::Api(e)) if e.code == 422 || e.code == 409 => {
                    Err(Error::DependencyNotReady(format!(
                        "{} {} changed while its instance was being recorded; trying again",
                        K::kind(&()),
                        object.name_any()
                    )))
                }
                Err(e) => {
                    Err(e).during(|| format!("record the instance on {} {}", K::kind(&()), object.name_any()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GoAlertRotation;

    fn rotation(metadata: Value) -> GoAlertRotation {
        serde_json::from_value(json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertRotation",
            "metadata": metadata,
            "spec": { "timeZone": "Etc/UTC", "type": "Weekly", "start": "2026-01-05T09:00:00Z" },
        }))
        .unwrap()
    }

    #[test]
    fn the_recorded_instance_decides() {
        let ours = rotation(json!({ "name": "r", "annotations": { ANNOTATION: "a" } }));
        assert_eq!(standing(&ours, "a"), Standing::Ours);
        assert_eq!(standing(&ours, "b"), Standing::Theirs("a"));
        assert_eq!(
            standing(&rotation(json!({ "name": "r" })), "a"),
            Standing::Unclaimed
        );
    }

    #[test]
    fn a_claim_applies_only_to_the_version_read_and_keeps_other_metadata() {
        let bare = rotation(json!({ "name": "r", "resourceVersion": "7" }));
        assert_eq!(
            claim_patch(&bare, "a", true),
            json!([
                { "op": "test", "path": "/metadata/resourceVersion", "value": "7" },
                { "op": "add", "path": "/metadata/annotations", "value": { ANNOTATION: "a" } },
                { "op": "add", "path": "/metadata/finalizers", "value": [FINALIZER] },
            ])
        );
        let dressed = rotation(json!({
            "name": "r", "resourceVersion": "8",
            "annotations": { "team": "payments" }, "finalizers": ["other/finalizer"],
        }));
        let mut object = serde_json::to_value(&dressed).unwrap();
        let patch: json_patch::Patch = serde_json::from_value(claim_patch(&dressed, "a", true)).unwrap();
        json_patch::patch(&mut object, &patch).unwrap();
        assert_eq!(
            object["metadata"]["annotations"],
            json!({ "team": "payments", ANNOTATION: "a" })
        );
        assert_eq!(
            object["metadata"]["finalizers"],
            json!(["other/finalizer", FINALIZER])
        );

        let patch: json_patch::Patch = serde_json::from_value(claim_patch(&dressed, "a", false)).unwrap();
        let mut object = serde_json::to_value(&dressed).unwrap();
        json_patch::patch(&mut object, &patch).unwrap();
        assert_eq!(
            object["metadata"]["finalizers"],
            json!(["other/finalizer"]),
            "no finalizer asked"
        );

        let mut moved = serde_json::to_value(&dressed).unwrap();
        moved["metadata"]["resourceVersion"] = json!("9");
        let patch: json_patch::Patch = serde_json::from_value(claim_patch(&dressed, "a", true)).unwrap();
        assert!(
            json_patch::patch(&mut moved, &patch).is_err(),
            "a newer version is not claimed"
        );
    }
}
