//! Watch caches that keep only what is read: the controllers', the webhooks', the claims' and
//! the Secrets'.

use futures::Stream;
use kube::{
    Api, Resource,
    runtime::{
        WatchStreamExt,
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;

/// kubectl's copy of the manifest it last applied (client-side apply).
const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// A cache of the objects of `api` that `config` selects, and the stream of objects that
/// changed, which must be polled for the cache to fill. The cache keeps neither the field
/// managers' record nor kubectl's last applied copy: nothing reads them, and together they can
/// outweigh the rest of an object.
pub fn cached<K>(
    api: Api<K>,
    config: watcher::Config,
) -> (
    Store<K>,
    impl Stream<Item = Result<K, watcher::Error>> + Send + 'static,
)
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
{
    let (store, writer) = reflector::store();
    let changed = watcher(api, config)
        .default_backoff()
        .modify(slim)
        .reflect(writer)
        .touched_objects();
    (store, changed)
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

    #[test]
    fn the_cache_adds_nothing_an_object_lacks() {
        let mut object = ConfigMap::default();
        slim(&mut object);
        assert_eq!(object.metadata.annotations, None);
        assert_eq!(object.metadata.managed_fields, None);
    }
}
