//! Controllers: one per kind, all built on the shared skeleton in [`reconcile`].

mod admin;
pub mod claims;
mod conditions;
mod dependencies;
mod error;
mod escalation_policy;
mod field_diff;
mod instance;
mod listing;
mod owned_set;
mod reconcile;
mod references;
mod report;
mod reports;
mod rotation;
mod schedule;
mod secrets;
mod service;
mod status;
mod user;

use std::{
    any::{Any, TypeId},
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::{Stream, StreamExt};
use k8s_openapi::{NamespaceResourceScope, api::core::v1::Secret};
use kube::{
    Api, Client, Resource, ResourceExt,
    runtime::{
        Controller,
        events::{Recorder, Reporter},
        reflector::{ObjectRef, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;

pub use error::{Error, Result};
pub use reconcile::Provisioned;
pub(crate) use user::destination as contact_method_destination;

use crate::{
    api::{GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser},
    metrics::Metrics,
    tenancy::Tenancy,
    watch::Cache,
};
use goalert_client::GoAlert;

/// Everything a reconcile needs, shared by all controllers.
pub struct Context {
    pub kube: Client,
    pub goalert: GoAlert,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// How often a Ready object is checked against GoAlert again, to correct changes made there.
    pub resync: Duration,
    /// Which namespaces may do what (privileged settings, adoption).
    pub tenancy: Tenancy,
    /// Watch only this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
    /// The name recorded on every resource this operator manages ([`instance`]).
    pub instance: String,
    failures: error::Failures,
    /// Resources of other instances already reported, by UID.
    foreign: Mutex<HashSet<String>>,
    /// The controllers' watch caches, by kind.
    caches: Caches,
    /// What GoAlert holds, read in bulk, by kind.
    listings: listing::Listings,
    /// What the dependency watches last saw of the resources others reference.
    seen: dependencies::Seen,
    /// Which resources of every namespace report which GoAlert objects (kept only where the
    /// operator watches one namespace).
    reports: reports::Reports,
    own_writes: OwnWrites,
}

/// The operator's watch caches, one per kind (its own kinds, the claims, its labelled Secrets),
/// for reads that would otherwise go to the API server on every reconcile.
#[derive(Default)]
struct Caches(Mutex<HashMap<TypeId, Box<dyn Any + Send + Sync>>>);

impl Caches {
    fn insert<K: Cached>(&self, cache: Cache<K>) {
        let mut caches = self.0.lock().expect("not poisoned");
        caches.insert(TypeId::of::<K>(), Box::new(cache));
    }

    /// The cache of kind `K`, if one is kept (Secrets only where one namespace is watched).
    fn cache<K: Cached>(&self) -> Option<Cache<K>> {
        let caches = self.0.lock().expect("not poisoned");
        caches
            .get(&TypeId::of::<K>())?
            .downcast_ref::<Cache<K>>()
            .cloned()
    }

    fn store<K: Cached>(&self) -> Option<Store<K>> {
        self.cache::<K>().map(|cache| cache.store)
    }

    /// The cached object of kind `K`, if the cache holds it.
    fn get<K: Cached>(&self, namespace: &str, name: &str) -> Option<Arc<K>> {
        self.store::<K>()?.get(&ObjectRef::new(name).within(namespace))
    }
}

/// The versions of resources that the operator's own status writes made, by UID. The watch
/// brings each one back, and it is no news to the controller that wrote it, so it starts no
/// reconcile. Any other change, a status forged by hand included, is another version and does.
#[derive(Default, Clone)]
struct OwnWrites(Arc<Mutex<HashMap<String, String>>>);

impl OwnWrites {
    fn record(&self, written: &impl Resource) {
        let meta = written.meta();
        if let (Some(uid), Some(version)) = (&meta.uid, &meta.resource_version) {
            let mut writes = self.0.lock().expect("not poisoned");
            writes.insert(uid.clone(), version.clone());
        }
    }

    /// Whether `seen` is the version the operator's last status write made (forgotten then: the
    /// watch brings it once).
    fn is_echo(&self, seen: &impl Resource) -> bool {
        let meta = seen.meta();
        let (Some(uid), Some(version)) = (&meta.uid, &meta.resource_version) else {
            return false;
        };
        let mut writes = self.0.lock().expect("not poisoned");
        let echo = writes.get(uid) == Some(version);
        if echo {
            writes.remove(uid);
        }
        echo
    }
}

/// What [`Caches`] can hold.
trait Cached: Resource<DynamicType = ()> + Clone + Send + Sync + 'static {}
impl<K: Resource<DynamicType = ()> + Clone + Send + Sync + 'static> Cached for K {}

impl Context {
    pub fn new(
        kube: Client,
        goalert: GoAlert,
        metrics: Metrics,
        resync: Duration,
        tenancy: Tenancy,
        namespace: Option<String>,
        instance: String,
    ) -> Self {
        let reporter = Reporter {
            controller: "goalert-provisioning".into(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Self {
            recorder: Recorder::new(kube.clone(), reporter),
            kube,
            goalert,
            metrics,
            resync,
            tenancy,
            namespace,
            instance,
            failures: error::Failures::default(),
            foreign: Mutex::default(),
            caches: Caches::default(),
            listings: listing::Listings::default(),
            seen: dependencies::Seen::default(),
            reports: reports::Reports::default(),
            own_writes: OwnWrites::default(),
        }
    }

    /// Whether the object of another instance with this UID is seen for the first time.
    fn first_sight_of_foreign(&self, uid: &str) -> bool {
        self.foreign.lock().expect("not poisoned").insert(uid.to_owned())
    }

    /// Notes a failure of the object with this UID (see [`error::Failures`]).
    fn note_failure(&self, uid: &str) -> error::Noted {
        self.failures.note(uid, std::time::Instant::now())
    }

    fn forget_failures(&self, uid: &str) {
        self.failures.forget(uid);
    }
}

/// Runs every controller until the process is asked to stop.
pub async fn run(ctx: Arc<Context>) {
    if let Err(error) = record_existing_claims(&ctx).await {
        tracing::error!(%error, "cannot record the claims of resources made before claims existed; they are refused until a restart records them");
    }
    let claims = cache(
        &ctx,
        claims::api(&ctx),
        watcher::Config::default().labels(claims::LABEL),
    )
    .for_each(|event| {
        if let Err(error) = event {
            tracing::warn!(%error, "watching the claims");
        }
        futures::future::ready(())
    });
    let users = controller::<GoAlertUser>(&ctx);
    let rotations = controller::<GoAlertRotation>(&ctx);
    let rotations = dependencies::wake_on::<GoAlertRotation, GoAlertUser>(rotations, &ctx);
    let schedules = controller::<GoAlertSchedule>(&ctx);
    let schedules = dependencies::wake_on::<GoAlertSchedule, GoAlertUser>(schedules, &ctx);
    let schedules = dependencies::wake_on::<GoAlertSchedule, GoAlertRotation>(schedules, &ctx);
    let policies = controller::<GoAlertEscalationPolicy>(&ctx);
    let policies = dependencies::wake_on::<GoAlertEscalationPolicy, GoAlertUser>(policies, &ctx);
    let policies = dependencies::wake_on::<GoAlertEscalationPolicy, GoAlertRotation>(policies, &ctx);
    let policies = dependencies::wake_on::<GoAlertEscalationPolicy, GoAlertSchedule>(policies, &ctx);
    let services = controller::<GoAlertService>(&ctx);
    let services = dependencies::wake_on::<GoAlertService, GoAlertEscalationPolicy>(services, &ctx);
    // A Secret the operator wrote that is edited or deleted by hand is restored: at once where the
    // operator watches one namespace, at the next resync otherwise (Secrets are never listed or
    // watched cluster-wide: docs/security.md). The same watch is the cache the Secret writes
    // compare with, so a Secret that already holds its credentials costs no request.
    let services = match &ctx.namespace {
        Some(namespace) => services.owns_stream(cache(
            &ctx,
            Api::<Secret>::namespaced(ctx.kube.clone(), namespace),
            watcher::Config::default().labels(&secrets::label_selector()),
        )),
        None => services,
    };
    // Where one namespace is watched, the other releases' resources are followed cluster-wide
    // for the adoption check (see [`reports`]); otherwise the kinds' own caches hold them.
    let other_releases = async {
        if ctx.namespace.is_some() {
            futures::join!(
                reports::follow::<GoAlertUser>(&ctx),
                reports::follow::<GoAlertRotation>(&ctx),
                reports::follow::<GoAlertSchedule>(&ctx),
                reports::follow::<GoAlertEscalationPolicy>(&ctx),
                reports::follow::<GoAlertService>(&ctx),
            );
        }
    };
    futures::join!(
        drive(users, &ctx),
        drive(rotations, &ctx),
        drive(schedules, &ctx),
        drive(policies, &ctx),
        drive(services, &ctx),
        admin::run(ctx.clone()),
        claims,
        other_releases,
    );
}

/// A watch of `api` that keeps [`Caches`] up to date; the cache fills while the stream is polled.
fn cache<K>(
    ctx: &Context,
    api: Api<K>,
    config: watcher::Config,
) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static
where
    K: Cached + DeserializeOwned + std::fmt::Debug,
{
    let (cache, changed) = crate::watch::cached(api, config);
    ctx.caches.insert(cache);
    changed
}

/// See [`claims::record_existing`].
async fn record_existing_claims(ctx: &Context) -> Result<()> {
    if claims::existing_recorded(ctx).await? {
        return Ok(());
    }
    claims::record_existing::<GoAlertUser>(ctx).await?;
    claims::record_existing::<GoAlertRotation>(ctx).await?;
    claims::record_existing::<GoAlertSchedule>(ctx).await?;
    claims::record_existing::<GoAlertEscalationPolicy>(ctx).await?;
    claims::record_existing::<GoAlertService>(ctx).await?;
    claims::mark_recorded(ctx).await
}

/// The watched objects of kind `K`: in the one namespace the operator is limited to, or all.
fn watched<K>(ctx: &Context) -> Api<K>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>,
{
    match &ctx.namespace {
        Some(namespace) => Api::namespaced(ctx.kube.clone(), namespace),
        None => Api::all(ctx.kube.clone()),
    }
}

/// How long an object's triggers settle before it is reconciled. A reconcile's own metadata
/// writes (the instance, the finalizer) come back as triggers, and a wake from another watch can
/// come while this kind's cache still holds the version before the last status write: reconciled
/// at once, that stale copy would be written again. Settling also folds the wakes of several
/// dependencies turning Ready together into one pass. (Status writes' own echoes wake nobody:
/// [`OwnWrites`].)
const DEBOUNCE: Duration = Duration::from_secs(1);

/// Reconciles of one kind in flight at once. Each one in flight can hold an HTTP/1 connection
/// to the API server of its own (TLS state and buffers: about 40 KiB that the allocator keeps
/// after the first pass), and more would not converge sooner: GoAlert answers one request at a
/// time per credential, so the others only queue for it. Unbounded, a first pass over 1,000
/// resources opened 773 connections at once.
const RECONCILES_IN_FLIGHT: u16 = 8;

fn controller<K: Provisioned>(ctx: &Context) -> Controller<K> {
    let (cache, changed) = crate::watch::cached(watched::<K>(ctx), watcher::Config::default().any_semantic());
    let store = cache.store.clone();
    ctx.caches.insert(cache);
    let own_writes = ctx.own_writes.clone();
    let changed = changed.filter(move |changed| {
        let echo = matches!(changed, Ok(object) if own_writes.is_echo(object));
        if let Ok(object) = changed {
            tracing::debug!(
                kind = %K::kind(&()),
                name = %object.name_any(),
                namespace = %object.namespace().unwrap_or_default(),
                version = object.resource_version().unwrap_or_default(),
                echo,
                "changed"
            );
        }
        futures::future::ready(!echo)
    });
    Controller::for_stream(changed, store).with_config(
        kube::runtime::controller::Config::default()
            .debounce(DEBOUNCE)
            .concurrency(RECONCILES_IN_FLIGHT),
    )
}

async fn drive<K: Provisioned>(controller: Controller<K>, ctx: &Arc<Context>) {
    controller
        .shutdown_on_signal()
        .run(
            reconcile::reconcile::<K>,
            reconcile::error_policy::<K>,
            ctx.clone(),
        )
        .for_each(|result| {
            // Reconcile errors are reported by the error policy; here only the controller's own.
            if let Err(error) = result
                && !matches!(error, kube::runtime::controller::Error::ReconcilerFailed(..))
            {
                tracing::warn!(kind = K::kind(&()).as_ref(), %error, "controller");
            }
            futures::future::ready(())
        })
        .await;
}

#[cfg(test)]
mod tests {
    use kube::runtime::watcher::Event;

    use super::*;

    fn rotation(namespace: &str, name: &str) -> GoAlertRotation {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertRotation",
            "metadata": { "name": name, "namespace": namespace },
            "spec": { "timeZone": "Etc/UTC", "type": "Weekly", "start": "2026-01-05T09:00:00Z" },
        }))
        .unwrap()
    }

    #[test]
    fn only_the_version_a_status_write_made_is_its_echo() {
        let at = |version: &str| {
            let mut object = rotation("team-a", "primary");
            object.metadata.uid = Some("uid-1".into());
            object.metadata.resource_version = Some(version.into());
            object
        };
        let own = OwnWrites::default();
        assert!(!own.is_echo(&at("5")), "nothing written yet");
        own.record(&at("5"));
        assert!(!own.is_echo(&at("4")), "an older version: someone else's change");
        assert!(own.is_echo(&at("5")));
        assert!(
            !own.is_echo(&at("5")),
            "the watch brings an echo once; a relist is news again"
        );
        own.record(&at("7"));
        assert!(!own.is_echo(&at("6")), "a forged status in between");
    }

    #[tokio::test]
    async fn each_kind_reads_its_own_cache() {
        let caches = Caches::default();
        assert!(
            caches.get::<GoAlertRotation>("team-a", "primary").is_none(),
            "no cache yet"
        );
        let listed = [
            Event::Init,
            Event::InitApply(rotation("team-a", "primary")),
            Event::InitDone,
        ];
        let (cache, changed) = crate::watch::fill(futures::stream::iter(listed.map(Ok)));
        caches.insert(cache);
        changed.for_each(|_| futures::future::ready(())).await;
        let found = caches.get::<GoAlertRotation>("team-a", "primary");
        assert_eq!(found.map(|r| r.name_any()), Some("primary".to_owned()));
        assert!(caches.get::<GoAlertRotation>("team-b", "primary").is_none());
        assert!(
            caches.get::<GoAlertUser>("team-a", "primary").is_none(),
            "another kind"
        );
    }
}
