//! Who waits for whom: a resource that references another custom resource waits until it is
//! Ready, and is woken by a watch of the referenced kind, never by a timer.
//!
//! Each wake also records what it saw of the dependency. A woken resource reads that record
//! rather than asking the API server: the dependency's own cache is a separate watch, which can
//! lag the one that woke it, and the record is never older than the wake.

use std::{
    any::TypeId,
    collections::HashMap,
    sync::{Arc, Mutex},
};

use kube::{
    ResourceExt,
    runtime::{Controller, reflector::ObjectRef, watcher},
};

use super::{Context, Provisioned, conditions, watched};

/// What a referring object uses of a dependency: its GoAlert ID once it is Ready (an ID recorded
/// before that is of no use to a referrer, which waits for Ready), and whether it is going.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Used {
    ready_id: Option<String>,
    deleting: bool,
}

impl Used {
    fn of<D: Provisioned>(dependency: &D) -> Self {
        let status = dependency.common_status();
        Used {
            ready_id: status
                .filter(|s| conditions::is_ready(&s.conditions))
                .and_then(|s| s.goalert_id.clone()),
            deleting: dependency.meta().deletion_timestamp.is_some(),
        }
    }
}

/// Dependencies by namespace and name, as one wake watch last saw them.
type Sightings = Arc<Mutex<HashMap<(String, String), Used>>>;

/// What the wake watches saw, one record per referring kind and dependency kind. Each referring
/// kind has its own watch of a dependency kind and reads only that watch's record: another
/// kind's watch may be behind, and must not make a dependency look not Ready again to a resource
/// whose own wake already came.
#[derive(Default)]
pub struct Seen(Mutex<HashMap<(TypeId, TypeId), Sightings>>);

impl Seen {
    fn of(&self, referrer: TypeId, dependency: TypeId) -> Sightings {
        let mut seen = self.0.lock().expect("not poisoned");
        Arc::clone(seen.entry((referrer, dependency)).or_default())
    }

    /// The GoAlert ID of dependency `namespace/name` of kind `D`, if the wake watch of
    /// `referrer`'s kind last saw it Ready and not being deleted.
    pub fn ready_id<D: 'static>(&self, referrer: TypeId, namespace: &str, name: &str) -> Option<String> {
        let sightings = self.of(referrer, TypeId::of::<D>());
        let sightings = sightings.lock().expect("not poisoned");
        let used = sightings.get(&(namespace.to_owned(), name.to_owned()))?;
        (!used.deleting).then(|| used.ready_id.clone())?
    }

    /// Whether that watch saw the dependency at all.
    pub fn exists<D: 'static>(&self, referrer: TypeId, namespace: &str, name: &str) -> bool {
        let sightings = self.of(referrer, TypeId::of::<D>());
        let sightings = sightings.lock().expect("not poisoned");
        sightings.contains_key(&(namespace.to_owned(), name.to_owned()))
    }

    /// Records a sighting; whether it changed what a referrer uses.
    fn record<K: 'static, D: Provisioned>(&self, dependency: &D) -> bool {
        let key = (dependency.namespace().unwrap_or_default(), dependency.name_any());
        let now = Used::of(dependency);
        let sightings = self.of(TypeId::of::<K>(), TypeId::of::<D>());
        let previous = sightings.lock().expect("not poisoned").insert(key, now.clone());
        previous != Some(now)
    }
}

/// Wakes objects of kind `K` when what they use of a custom resource of kind `D` they reference
/// changes ([`Used`]): its GoAlert ID once Ready, whether it is being deleted. A dependency's
/// other status writes wake nobody.
pub fn wake_on<K, D>(controller: Controller<K>, ctx: &Arc<Context>) -> Controller<K>
where
    K: Provisioned,
    D: Provisioned,
{
    let store = controller.store();
    let ctx = Arc::clone(ctx);
    controller.watches(
        watched::<D>(&ctx),
        watcher::Config::default().any_semantic(),
        move |dependency| {
            if !ctx.seen.record::<K, D>(&dependency) {
                return Vec::new();
            }
            let namespace = dependency.namespace();
            let name = dependency.name_any();
            let kind = D::kind(&());
            store
                .state()
                .into_iter()
                .filter(|object| {
                    object.namespace() == namespace
                        && object
                            .references()
                            .iter()
                            .any(|reference| reference.resource_name(&kind) == Some(name.as_str()))
                })
                .map(|object| ObjectRef::from_obj(&*object))
                .collect::<Vec<_>>()
        },
    )
}

#[cfg(test)]
mod tests {
    use crate::api::{GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule};

    use super::*;

    fn rotation(ready_id: Option<&str>, deleting: bool) -> GoAlertRotation {
        let mut rotation: GoAlertRotation = serde_json::from_value(serde_json::json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertRotation",
            "metadata": { "name": "primary", "namespace": "team-a" },
            "spec": { "timeZone": "Etc/UTC", "type": "Weekly", "start": "2026-01-05T09:00:00Z" },
            "status": {
                "goalertId": "r-1",
                "conditions": [{
                    "type": "Ready",
                    "status": if ready_id.is_some() { "True" } else { "False" },
                    "reason": "Test", "message": "", "lastTransitionTime": "2026-01-05T09:00:00Z",
                }],
            },
        }))
        .unwrap();
        if deleting {
            rotation.metadata.deletion_timestamp = Some(
                k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now()),
            );
        }
        rotation
    }

    fn ready_for<K: 'static>(seen: &Seen) -> Option<String> {
        seen.ready_id::<GoAlertRotation>(TypeId::of::<K>(), "team-a", "primary")
    }

    #[test]
    fn a_referrer_reads_what_its_own_wake_watch_saw_last() {
        let seen = Seen::default();
        assert_eq!(ready_for::<GoAlertSchedule>(&seen), None, "never seen");
        assert!(!seen.exists::<GoAlertRotation>(TypeId::of::<GoAlertSchedule>(), "team-a", "primary"));

        assert!(
            seen.record::<GoAlertSchedule, _>(&rotation(None, false)),
            "first sighting wakes"
        );
        assert!(seen.exists::<GoAlertRotation>(TypeId::of::<GoAlertSchedule>(), "team-a", "primary"));
        assert_eq!(ready_for::<GoAlertSchedule>(&seen), None, "seen, not Ready");

        assert!(seen.record::<GoAlertSchedule, _>(&rotation(Some("r-1"), false)));
        assert_eq!(ready_for::<GoAlertSchedule>(&seen), Some("r-1".into()));
        assert!(
            !seen.record::<GoAlertSchedule, _>(&rotation(Some("r-1"), false)),
            "the same again (a status write, a relist) wakes nobody"
        );

        // Another kind's watch is behind: what it saw is its own, not the schedules'.
        assert!(seen.record::<GoAlertEscalationPolicy, _>(&rotation(None, false)));
        assert_eq!(ready_for::<GoAlertEscalationPolicy>(&seen), None);
        assert_eq!(ready_for::<GoAlertSchedule>(&seen), Some("r-1".into()));

        assert!(seen.record::<GoAlertSchedule, _>(&rotation(Some("r-1"), true)));
        assert_eq!(ready_for::<GoAlertSchedule>(&seen), None, "being deleted");
    }
}
