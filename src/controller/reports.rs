//! Which resource, anywhere in the cluster, reports which GoAlert object in its status: the view
//! of other releases' resources that the adoption check needs where the operator watches one
//! namespace (its own kinds' caches then hold that namespace only). Kept from a cluster-wide
//! watch per kind that retains three strings per resource that reports an object, never the
//! objects: adopting costs no LIST, and the rest of the cluster costs next to no memory.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use futures::StreamExt;
use kube::{
    Api, ResourceExt,
    runtime::{WatchStreamExt, watcher},
};

use super::{Context, Provisioned};

/// What one resource reports: the GoAlert object and the resource's `namespace/name`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Report {
    goalert_id: String,
    owner: String,
}

/// The reports of one kind, by resource UID, as the watch last listed and then followed them.
#[derive(Debug, Default)]
struct Index {
    by_uid: HashMap<String, Report>,
    /// Filled by a (re)list in progress; replaces `by_uid` when the list is complete.
    relisting: HashMap<String, Report>,
    /// Whether a first list has completed: before that the index knows nothing.
    listed: bool,
}

impl Index {
    fn apply<K: Provisioned>(&mut self, event: watcher::Event<K>) {
        match event {
            watcher::Event::Init => self.relisting.clear(),
            watcher::Event::InitApply(obj) => {
                if let Some((uid, report)) = report_of(&obj) {
                    self.relisting.insert(uid, report);
                }
            }
            watcher::Event::InitDone => {
                self.by_uid = std::mem::take(&mut self.relisting);
                self.listed = true;
            }
            watcher::Event::Apply(obj) => match (report_of(&obj), obj.uid()) {
                (Some((uid, report)), _) => {
                    self.by_uid.insert(uid, report);
                }
                (None, Some(uid)) => {
                    self.by_uid.remove(&uid);
                }
                (None, None) => {}
            },
            watcher::Event::Delete(obj) => {
                if let Some(uid) = obj.uid() {
                    self.by_uid.remove(&uid);
                }
            }
        }
    }

    fn owner(&self, goalert_id: &str, except_uid: &str) -> Option<String> {
        self.by_uid
            .iter()
            .find(|(uid, report)| uid.as_str() != except_uid && report.goalert_id == goalert_id)
            .map(|(_, report)| report.owner.clone())
    }
}

fn report_of<K: Provisioned>(obj: &K) -> Option<(String, Report)> {
    let goalert_id = obj.common_status()?.goalert_id.clone()?;
    let owner = format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any());
    Some((obj.uid()?, Report { goalert_id, owner }))
}

/// The indexes of every kind, by kind name.
#[derive(Default)]
pub struct Reports(Mutex<HashMap<String, Arc<Mutex<Index>>>>);

impl Reports {
    fn index<K: Provisioned>(&self) -> Arc<Mutex<Index>> {
        let mut indexes = self.0.lock().expect("not poisoned");
        Arc::clone(indexes.entry(K::kind(&()).into_owned()).or_default())
    }

    /// `namespace/name` of a resource of kind `K` other than `obj` that reports GoAlert object
    /// `id`: `Some(None)` when none does, `None` while the first list is not complete.
    pub fn owner<K: Provisioned>(&self, obj: &K, id: &str) -> Option<Option<String>> {
        let index = self.index::<K>();
        let index = index.lock().expect("not poisoned");
        index
            .listed
            .then(|| index.owner(id, obj.uid().as_deref().unwrap_or_default()))
    }
}

/// Follows every resource of kind `K` in the cluster into [`Reports`], until the process stops.
pub async fn follow<K: Provisioned>(ctx: &Context) {
    let index = ctx.reports.index::<K>();
    // Listed in pages (the default semantic), unlike the controllers' caches: only a few
    // strings per resource stay, and the whole cluster's objects are never decoded at once.
    watcher(Api::<K>::all(ctx.kube.clone()), watcher::Config::default())
        .default_backoff()
        .for_each(|event| {
            match event {
                Ok(event) => index.lock().expect("not poisoned").apply(event),
                Err(error) => tracing::warn!(kind = K::kind(&()).as_ref(), %error, "watching the resources of every namespace"),
            }
            futures::future::ready(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GoAlertRotation;

    fn rotation(namespace: &str, name: &str, uid: &str, goalert_id: Option<&str>) -> GoAlertRotation {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertRotation",
            "metadata": { "name": name, "namespace": namespace, "uid": uid },
            "spec": { "timeZone": "Etc/UTC", "type": "Weekly", "start": "2026-01-05T09:00:00Z" },
            "status": { "goalertId": goalert_id },
        }))
        .unwrap()
    }

    #[test]
    fn knows_nothing_until_the_first_list_completes() {
        let mut index = Index::default();
        index.apply(watcher::Event::<GoAlertRotation>::Init);
        index.apply(watcher::Event::InitApply(rotation(
            "team-b",
            "primary",
            "u-b",
            Some("r1"),
        )));
        assert!(!index.listed, "a list in progress answers nothing");
        index.apply(watcher::Event::<GoAlertRotation>::InitDone);
        assert!(index.listed);
        assert_eq!(index.owner("r1", "u-a"), Some("team-b/primary".into()));
    }

    #[test]
    fn a_resource_never_conflicts_with_itself() {
        let mut index = Index::default();
        index.apply(watcher::Event::<GoAlertRotation>::InitDone);
        index.apply(watcher::Event::Apply(rotation(
            "team-a",
            "primary",
            "u-a",
            Some("r1"),
        )));
        assert_eq!(index.owner("r1", "u-a"), None);
        assert_eq!(index.owner("r1", "u-other"), Some("team-a/primary".into()));
    }

    #[test]
    fn follows_status_changes_deletions_and_relists() {
        let mut index = Index::default();
        index.apply(watcher::Event::<GoAlertRotation>::InitDone);
        index.apply(watcher::Event::Apply(rotation(
            "team-b",
            "primary",
            "u-b",
            Some("r1"),
        )));
        index.apply(watcher::Event::Apply(rotation(
            "team-b",
            "primary",
            "u-b",
            Some("r2"),
        )));
        assert_eq!(index.owner("r1", "u-a"), None, "the old report is gone");
        assert_eq!(index.owner("r2", "u-a"), Some("team-b/primary".into()));

        index.apply(watcher::Event::Apply(rotation("team-b", "primary", "u-b", None)));
        assert_eq!(
            index.owner("r2", "u-a"),
            None,
            "a status without an ID reports nothing"
        );

        index.apply(watcher::Event::Apply(rotation(
            "team-c",
            "primary",
            "u-c",
            Some("r3"),
        )));
        index.apply(watcher::Event::Delete(rotation(
            "team-c",
            "primary",
            "u-c",
            Some("r3"),
        )));
        assert_eq!(index.owner("r3", "u-a"), None);

        // A relist replaces what was followed: a resource deleted while the watch was down goes.
        index.apply(watcher::Event::Apply(rotation(
            "team-d",
            "primary",
            "u-d",
            Some("r4"),
        )));
        index.apply(watcher::Event::<GoAlertRotation>::Init);
        index.apply(watcher::Event::InitApply(rotation(
            "team-e",
            "primary",
            "u-e",
            Some("r5"),
        )));
        assert_eq!(
            index.owner("r4", "u-a"),
            Some("team-d/primary".into()),
            "kept until the relist completes"
        );
        index.apply(watcher::Event::<GoAlertRotation>::InitDone);
        assert_eq!(index.owner("r4", "u-a"), None);
        assert_eq!(index.owner("r5", "u-a"), Some("team-e/primary".into()));
    }
}
