//! Watch caches that keep only what is read: the controllers', the webhooks', the claims' and
//! the Secrets'.

use futures::{Stream, TryStreamExt};
use kube::{
    Api, Resource,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;
use tokio::sync::watch as signal;

/// kubectl's copy of the manifest it last applied (client-side apply).
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A watch cache, and whether its first list is in.
///
/// Any number of tasks may wait for the first list at once. `Store::wait_until_ready` cannot be
/// used for that: it waits on a oneshot channel, which keeps the waker of the last task that
/// polled it only, so of several reconciles waiting on one cache all but one wait forever (at
/// 5,000 resources, rotations reconciled while the users' cache was still listing never finished).
pub struct Cache<K: Resource<DynamicType = ()> + 'static> {
    pub store: Store<K>,
    listed: signal::Receiver<bool>,
}

impl<K: Resource<DynamicType = ()> + 'static> Clone for Cache<K> {
    fn clone(&self) -> Self {
        Self {
            store: self.store.clone(),
            listed: self.listed.clone(),
        }
    }
}

impl<K: Resource<DynamicType = ()> + Clone + 'static> Cache<K> {
    /// Returns once the first list is in the cache (or the watch is gone: the process is stopping).
    pub async fn listed(&self) {
        let mut listed = self.listed.clone();
        // Err only when the watch is dropped.
        let _ = listed.wait_for(|listed| *listed).await;
    }
}

/// A cache of the objects of `api` that `config` selects, and the stream of objects that
/// changed, which must be polled for the cache to fill. The cache keeps neither the field
/// managers' record nor kubectl's last applied copy: nothing reads them, and together they can
/// outweigh the rest of an object.
pub fn cached<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Cache<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    fill(watcher(api, config).default_backoff())
}

/// [`cached`] from any stream of watch events.
pub(crate) fn fill<K>(
    events: impl Stream<Item = Result<watcher::Event<K>, watcher::Error>> + Send + 'static,
) -> (
    Cache<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + std::fmt::Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let (listed_tx, listed) = signal::channel(false);
    let changed = events
        .modify(slim)
        .reflect(writer)
        // After the reflector: the list is in the store when the signal says so.
        .inspect_ok(move |event| {
            if matches!(event, watcher::Event::InitDone) {
                listed_tx.send_replace(true);
            }
        })
        .touched_objects();
    (Cache { store, listed }, changed)
}

/// Drops them without adding what was absent: an object without annotations must stay without
/// them, or a JSON patch built from the cached copy (adding one annotation to the map) fails on
/// the server's copy, which has no map to add to.
fn slim<K: Resource>(object: &mut K) {
    let meta = object.meta_mut();
    meta.managed_fields = None;
    if let Some(annotations) = &mut meta.annotations {
        annotations.remove(LAST_APPLIED);
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::{
        api::core::v1::ConfigMap,
        apimachinery::pkg::apis::meta::v1::{ManagedFieldsEntry, ObjectMeta},
    };
    use std::time::Duration;

    use futures::StreamExt;
    use kube::ResourceExt;

    use super::*;

    #[test]
    fn the_cache_drops_what_nothing_reads_and_keeps_the_rest() {
        let mut object = ConfigMap {
            metadata: ObjectMeta {
                name: Some("a".into()),
                annotations: Some(
                    [(LAST_APPLIED, "{...}"), ("goalert.heystaq.com/instance", "prod")]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v.to_owned()))
                        .collect(),
                ),
                managed_fields: Some(vec![ManagedFieldsEntry::default()]),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        slim(&mut object);
        assert!(object.managed_fields().is_empty());
        assert_eq!(
            object.annotations().keys().collect::<Vec<_>>(),
            ["goalert.heystaq.com/instance"]
        );
    }

    /// Reconciles of every kind wait for other kinds' caches at once, many per cache.
    #[tokio::test]
    async fn every_task_waiting_for_the_first_list_goes_on_once_it_is_in() {
        let (events, received) = futures::channel::mpsc::unbounded();
        let (cache, changed) = fill::<ConfigMap>(received);
        let waiters: Vec<_> = (0..20)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.listed().await })
            })
            .collect();
        let watch = tokio::spawn(changed.for_each(|_| futures::future::ready(())));
        let object = ConfigMap {
            metadata: ObjectMeta {
                name: Some("a".into()),
                namespace: Some("team-a".into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        };
        events.unbounded_send(Ok(watcher::Event::Init)).unwrap();
        events
            .unbounded_send(Ok(watcher::Event::InitApply(object)))
            .unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            waiters.iter().all(|waiter| !waiter.is_finished()),
            "nobody goes on before the list is complete"
        );
        events.unbounded_send(Ok(watcher::Event::InitDone)).unwrap();
        for waiter in waiters {
            tokio::time::timeout(Duration::from_secs(5), waiter)
                .await
                .expect("every waiter is woken")
                .unwrap();
        }
        assert_eq!(cache.store.state().len(), 1, "the list is in the store");
        watch.abort();
    }

    #[test]
    fn the_cache_adds_nothing_an_object_lacks() {
        let mut object = ConfigMap::default();
        slim(&mut object);
        assert_eq!(object.metadata.annotations, None);
        assert_eq!(object.metadata.managed_fields, None);
    }
}
