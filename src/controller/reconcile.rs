//! The one reconcile skeleton every kind uses:
//! observe (by the ID in status, else by GoAlert's unique name) → create if missing →
//! converge only what differs → status, Events and metrics.
//!
//! A kind supplies the GoAlert-specific steps by implementing [`Provisioned`]; nothing else in
//! this file knows which kind it is running.

use std::{
    fmt::Debug,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use k8s_openapi::{
    NamespaceResourceScope,
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    apimachinery::pkg::apis::meta::v1::{Condition, Time},
};
use kube::{
    Api, Resource, ResourceExt,
    api::{ListParams, Patch, PatchParams},
    runtime::{
        controller::Action,
        events::{Event, EventType},
        finalizer::{Event as Finalize, finalizer},
    },
};
use schemars::JsonSchema;
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use super::{
    Context,
    claims::{self, Holder},
    conditions::{self, Note, Outcome},
    error::{Error, KubeCall, Result},
    instance,
    report::{self, Origin},
    status,
};
use crate::{
    api::{
        DeletionPolicy, GoAlertKind, ManagementPolicy,
        common::{AdoptionPolicy, DriftPolicy},
    },
    metrics::ReconcileResult,
    tenancy::{Governed, Refusal},
};
use goalert_client::model::TargetType;

pub const FINALIZER: &str = "goalert.heystaq.com/cleanup";

/// What a kind does in GoAlert. `Desired` is the spec with every reference resolved to GoAlert
/// IDs and every default applied; `Observed` is what GoAlert holds, in comparable form.
pub trait Provisioned:
    GoAlertKind + Clone + Debug + Serialize + DeserializeOwned + Send + Sync + Governed + 'static
{
    type Desired: Send + Sync;
    type Observed: Clone + Send + Sync + 'static;
    /// The kind's own part of `.status`, beside the fields every kind has (`()` for none).
    type Fields: Serialize + JsonSchema + Send;

    /// The spec resolved against Kubernetes and GoAlert.
    fn desired(&self, ctx: &Context) -> impl Future<Output = Result<Self::Desired>> + Send;
    /// The value that names one object of this kind (a name, or a user's e-mail).
    fn unique_key(desired: &Self::Desired) -> &str;
    /// The same value, of an object GoAlert holds.
    fn key_of(observed: &Self::Observed) -> &str;
    /// Whether GoAlert itself refuses a second object with the same key (names are unique,
    /// e-mails are not): then a create racing one made by hand fails rather than duplicates.
    const KEY_KEPT_UNIQUE: bool = true;
    /// Finds the object with that unique value by searching GoAlert.
    fn find(ctx: &Context, key: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    /// Reads one object by ID.
    fn observe(ctx: &Context, id: &str) -> impl Future<Output = Result<Option<Self::Observed>>> + Send;
    /// Reads every object of the kind, in bulk, with its ID.
    fn list(ctx: &Context) -> impl Future<Output = Result<Vec<(String, Self::Observed)>>> + Send;
    /// Creates the object with as much of `desired` as GoAlert accepts in one request, and
    /// returns it as GoAlert answered; [`Provisioned::converge`] does the rest.
    fn create(
        &self,
        ctx: &Context,
        desired: &Self::Desired,
    ) -> impl Future<Output = Result<(String, Self::Observed)>> + Send;
    /// Makes GoAlert match `desired`, touching only what differs: every write goes through
    /// `changes`, which sends it, or only records the field when the operator may not write.
    /// Returns the kind's own status fields.
    fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &Self::Desired,
        observed: &Self::Observed,
        changes: &mut Changes,
    ) -> impl Future<Output = Result<Self::Fields>> + Send;
}

/// Fields of `.status`, merged into it.
pub type StatusFields = serde_json::Map<String, serde_json::Value>;

/// A kind's own status fields as a merge patch: a field the kind leaves empty (and so out of
/// its serialized form) is set to `null`, so what an earlier pass wrote there goes.
fn own_fields<F: Serialize + JsonSchema>(fields: &F) -> StatusFields {
    let mut patch = match serde_json::to_value(fields) {
        Ok(serde_json::Value::Object(map)) => map,
        _ => StatusFields::new(),
    };
    let schema = schemars::schema_for!(F);
    let properties = schema.get("properties").and_then(|p| p.as_object());
    for name in properties.into_iter().flat_map(|p| p.keys()) {
        patch.entry(name.clone()).or_insert(serde_json::Value::Null);
    }
    patch
}

/// The writes of one reconcile: sent to GoAlert, or, when the operator may only read
/// (managementPolicy Observe, driftPolicy Report), only recorded as the spec fields they change.
#[derive(Debug)]
pub struct Changes {
    writes: bool,
    fields: Vec<String>,
    notes: Vec<Note>,
}

impl Changes {
    fn new(writes: bool) -> Self {
        Self {
            writes,
            fields: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records a part of the spec GoAlert cannot give or take, which leaves the object Ready.
    pub fn note(&mut self, note: Note) {
        self.notes.push(note);
    }

    /// Whether writes are sent.
    pub fn writes(&self) -> bool {
        self.writes
    }

    /// Records that `fields` differ and sends `request` if writes are allowed. A future does
    /// nothing until awaited, so a request that is not allowed is never sent.
    pub async fn send<T>(
        &mut self,
        fields: &[impl AsRef<str>],
        request: impl Future<Output = Result<T>>,
    ) -> Result<Option<T>> {
        for field in fields {
            let field = field.as_ref();
            if !self.fields.iter().any(|f| f == field) {
                self.fields.push(field.to_owned());
            }
        }
        if self.writes {
            request.await.map(Some)
        } else {
            Ok(None)
        }
    }

    /// The spec fields that differ(ed), in the order found.
    pub fn fields(&self) -> &[String] {
        &self.fields
    }
}

/// What one reconcile found and did.
struct Synced {
    id: Option<String>,
    origin: Origin,
    changes: Changes,
    status: StatusFields,
}

/// A pass that failed, with the ID of the GoAlert object it created before failing: the status
/// records it with the failure, so a deletion of the resource still finds the object.
struct Unsynced {
    error: Error,
    created: Option<String>,
}

impl From<Error> for Unsynced {
    fn from(error: Error) -> Self {
        Unsynced { error, created: None }
    }
}

pub async fn reconcile<K: Provisioned>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    tracing::debug!(
        kind = %K::kind(&()),
        name = %obj.name_any(),
        namespace = %obj.namespace().unwrap_or_default(),
        version = obj.resource_version().unwrap_or_default(),
        "reconciling"
    );
    if !instance::proceed(&*obj, &ctx, true).await? {
        return Ok(Action::await_change());
    }
    let started = Instant::now();
    let controller = K::kind(&()).to_lowercase();
    let namespace = obj.namespace().unwrap_or_default();
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &namespace);
    let result = finalizer(&api, FINALIZER, obj, |event| async {
        match event {
            Finalize::Apply(obj) => apply(&*obj, &ctx).await,
            Finalize::Cleanup(obj) => cleanup(&*obj, &ctx).await,
        }
    })
    .await
    .map_err(|e| Error::Finalizer(Box::new(e)));
    observe(&ctx, &controller, &result, started);
    result
}

/// Counts one reconcile of `controller` in the metrics: a wait for a dependency is a requeue,
/// not an error.
pub fn observe(ctx: &Context, controller: &str, result: &Result<Action>, started: Instant) {
    let label = match result {
        Ok(_) => ReconcileResult::Success,
        Err(error) if error.is_waiting() => ReconcileResult::Requeue,
        Err(_) => ReconcileResult::Error,
    };
    ctx.metrics
        .reconcile
        .observe(controller, label, started.elapsed());
}

/// Exponential backoff per object for failed reconciles, reset by the next success.
pub fn error_policy<K: Resource<DynamicType = ()>>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = obj.uid().unwrap_or_default();
    let noted = ctx.note_failure(&key);
    let delay = match error {
        _ if error.is_waiting() => {
            // The dependency's watch wakes this object; the timer is only a safety net.
            Duration::from_secs(120)
        }
        _ => noted.retry_in,
    };
    let (kind, name, namespace) = (K::kind(&()), obj.name_any(), obj.namespace().unwrap_or_default());
    if error.is_waiting() {
        tracing::info!(%kind, %name, %namespace, %error, "waiting");
    } else if noted.again && error.needs_a_person() {
        // The condition and the Event already say how to fix it; repeating it buries other logs.
        tracing::debug!(%kind, %name, %namespace, %error, retry_in = ?delay, "reconcile failed again");
    } else {
        tracing::warn!(%kind, %name, %namespace, %error, retry_in = ?delay, "reconcile failed");
    }
    Action::requeue(delay)
}

async fn apply<K: Provisioned>(obj: &K, ctx: &Context) -> Result<Action> {
    let management = obj.management();
    if management.suspend == Some(true) {
        write_suspended(obj, ctx).await?;
        return Ok(Action::await_change());
    }
    let resync = resync_period(obj, ctx);
    // Whether this spec was synced before: then any change made now undoes a change made in
    // GoAlert by hand (drift), rather than applying a new spec. (A failed reconcile records the
    // generation too, so only a Ready condition for it counts.)
    let spec_unchanged = obj.common_status().is_some_and(|s| {
        s.goalert_id.is_some() && conditions::is_ready_for(&s.conditions, obj.meta().generation)
    });
    let observe_only = management.management_policy == Some(ManagementPolicy::Observe);
    let report_drift = spec_unchanged && management.drift_policy == Some(DriftPolicy::Report);
    let writes = !observe_only && !report_drift;
    // GoAlert is read from the listing, at most one resync period old (which is all a resync
    // promises about changes made by hand; what the operator writes is read again anyway), except
    // after a failed pass: what failed may have been this very object's state, so it reads now.
    // A pass that only waited for a dependency read nothing of its own object.
    let failed = obj
        .common_status()
        .is_some_and(|s| conditions::last_pass_failed(&s.conditions));
    let freshness = if failed {
        Freshness::Now
    } else {
        Freshness::Within(resync)
    };
    match sync(obj, ctx, Changes::new(writes), freshness).await {
        Ok(synced) => {
            ctx.forget_failures(&obj.uid().unwrap_or_default());
            let changed = synced.changes.fields();
            let mut report = if writes {
                report::written(synced.origin, changed, synced.id.as_deref(), spec_unchanged)
            } else {
                let previous = obj
                    .common_status()
                    .map(|s| s.pending_changes.as_slice())
                    .unwrap_or_default();
                report::pending(synced.origin, changed, previous, observe_only)
            };
            // What GoAlert could not give or take shows beside Ready in every mode.
            report.outcome.notes = synced.changes.notes.clone();
            if report.drift {
                for field in changed {
                    ctx.metrics.drift.inc(K::kind(&()).as_ref(), field);
                }
            }
            let mut status = synced.status;
            match synced.origin {
                Origin::Adopted => status.insert("adopted".into(), json!(true)),
                Origin::Created => status.insert("adopted".into(), json!(null)),
                Origin::Known | Origin::Missing => None,
            };
            let pending_changes = if writes {
                json!(null)
            } else {
                json!(report.pending)
            };
            status.insert("pendingChanges".into(), pending_changes);
            write_status(obj, ctx, &report.outcome, synced.id.as_deref(), status).await?;
            if let Some((type_, reason, note)) = report.event {
                publish(ctx, obj, type_, reason, note).await;
            }
            Ok(Action::requeue(resync))
        }
        Err(Unsynced { error, created }) => {
            let mut status = StatusFields::new();
            if let Some(id) = created {
                status.insert("goalertId".into(), json!(id));
            }
            report_failure(obj, ctx, &error, status).await?;
            Err(error)
        }
    }
}

/// The object's own resync period, else the operator's.
fn resync_period<K: Provisioned>(obj: &K, ctx: &Context) -> Duration {
    obj.management()
        .resync_period
        .as_deref()
        .and_then(|period| humantime::parse_duration(period).ok())
        .unwrap_or(ctx.resync)
}

/// How old what a reconcile reads of GoAlert may be.
#[derive(Debug, Clone, Copy)]
enum Freshness {
    Now,
    Within(Duration),
}

/// The object as GoAlert shows it, as fresh as `freshness` asks.
async fn look<K: Provisioned>(ctx: &Context, id: &str, freshness: Freshness) -> Result<Option<K::Observed>> {
    match freshness {
        Freshness::Now => ctx.listings.observe_now::<K>(ctx, id).await,
        Freshness::Within(age) => ctx.listings.observe::<K>(ctx, id, age).await,
    }
}

async fn sync<K: Provisioned>(
    obj: &K,
    ctx: &Context,
    changes: Changes,
    freshness: Freshness,
) -> Result<Synced, Unsynced> {
    let result = locate_and_converge(obj, ctx, changes, freshness).await;
    // What the operator wrote (or may have written before failing) is read again next time.
    match &result {
        Ok(Synced {
            id: Some(id),
            changes,
            ..
        }) if changes.writes() && !changes.fields().is_empty() => {
            ctx.listings.forget::<K>(id).await;
        }
        Err(Unsynced { created, .. }) => {
            let known = obj.common_status().and_then(|s| s.goalert_id.as_deref());
            for id in known.into_iter().chain(created.as_deref()) {
                ctx.listings.forget::<K>(id).await;
            }
        }
        Ok(_) => {}
    }
    result
}

async fn locate_and_converge<K: Provisioned>(
    obj: &K,
    ctx: &Context,
    mut changes: Changes,
    freshness: Freshness,
) -> Result<Synced, Unsynced> {
    // Before anything is read: a refused spec learns nothing about GoAlert either.
    Error::forbid(obj.refusals(&ctx.tenancy))?;
    let desired = obj.desired(ctx).await?;
    let (id, observed, origin) = match locate(obj, ctx, &desired, changes.writes(), freshness).await? {
        Some(found) => found,
        None if !changes.writes() => {
            return Ok(Synced {
                id: None,
                origin: Origin::Missing,
                changes,
                status: StatusFields::new(),
            });
        }
        None => {
            let (id, observed) = match obj.create(ctx, &desired).await {
                Ok(created) => created,
                Err(error) => {
                    // Perhaps made by hand since the listing was: the next pass lists again.
                    ctx.listings.expire::<K>().await;
                    return Err(error.into());
                }
            };
            // Claimed before anything else can fail: the claim is what proves, on the next
            // pass, that the object is this resource's (status.goalertId alone proves nothing).
            let failed = |error| Unsynced {
                error,
                created: Some(id.clone()),
            };
            claims::claim(ctx, obj, &id, false).await.map_err(failed)?;
            ctx.listings.record::<K>(&id, Some(observed.clone())).await;
            (id, observed, Origin::Created)
        }
    };
    let converged = obj.converge(ctx, &id, &desired, &observed, &mut changes).await;
    let fields = converged.map_err(|error| Unsynced {
        error,
        created: (origin == Origin::Created).then(|| id.clone()),
    })?;
    let mut status = own_fields(&fields);
    if let Some(name) = obj.goalert_name() {
        status.insert("goalertName".into(), json!(name));
    }
    Ok(Synced {
        id: Some(id),
        origin,
        changes,
        status,
    })
}

/// The GoAlert object this resource manages: the one spec.goalertId names; else the one its
/// claim proves it owns (status.goalertId only says which to look at: anyone who may write
/// `*/status` can change it); else, where the namespace may adopt and adoption is not refused,
/// the one with the same unique name (which also makes a crash between create and claim harmless
/// there: the object is found, never duplicated). An object this resource does not own yet is
/// claimed only when `writes` allows: Observe never takes an object from its rightful owner.
async fn locate<K: Provisioned>(
    obj: &K,
    ctx: &Context,
    desired: &K::Desired,
    writes: bool,
    freshness: Freshness,
) -> Result<Option<(String, K::Observed, Origin)>> {
    let management = obj.management();
    if let Some(id) = &management.goalert_id {
        let origin = match claims::holder(ctx, obj, id).await? {
            Holder::This { .. } => Origin::Known,
            Holder::Other(owner) => return Err(conflict::<K>(id, owner)),
            Holder::Nobody => {
                ensure_unclaimed(obj, ctx, id).await?;
                Origin::Adopted
            }
        };
        let observed = look::<K>(ctx, id, freshness).await?.ok_or_else(|| Error::InvalidSpec {
            field: "spec.goalertId".into(),
            message: format!(
                "GoAlert has no {} with ID {id}; with goalertId set the operator adopts only that object and never creates one",
                K::kind(&())
            ),
        })?;
        if origin == Origin::Adopted && writes {
            claims::claim(ctx, obj, id, true).await?;
        }
        return Ok(Some((id.clone(), observed, origin)));
    }
    if let Some(id) = obj.common_status().and_then(|s| s.goalert_id.as_deref()) {
        match claims::holder(ctx, obj, id).await? {
            Holder::This { .. } => match look::<K>(ctx, id, freshness).await? {
                Some(observed) => return Ok(Some((id.to_owned(), observed, Origin::Known))),
                // Deleted in GoAlert by hand: the claim on it means nothing any more.
                None => claims::release(ctx, obj, id).await?,
            },
            // Another resource's object (a copied or forged status), or unproven: it gains
            // nothing; only the unique name below counts, and the status is rewritten.
            Holder::Other(_) | Holder::Nobody => {}
        }
    }
    let max_age = resync_period(obj, ctx);
    let Some(id) = ctx
        .listings
        .find::<K>(ctx, K::unique_key(desired), max_age)
        .await?
    else {
        return Ok(None);
    };
    match claims::holder(ctx, obj, &id).await? {
        Holder::This { .. } => {
            return Ok(look::<K>(ctx, &id, freshness)
                .await?
                .map(|observed| (id, observed, Origin::Known)));
        }
        Holder::Other(owner) => return Err(conflict::<K>(&id, owner)),
        Holder::Nobody => ensure_unclaimed(obj, ctx, &id).await?,
    }
    let namespace = obj.namespace().unwrap_or_default();
    let user = K::TARGET == TargetType::User;
    let what = format!("{} {:?}", K::kind(&()), K::unique_key(desired));
    if let Some(message) = ctx.tenancy.adoption_forbidden(&namespace, user, &what) {
        return Err(Error::Forbidden(vec![Refusal {
            field: "spec.adoption".into(),
            message,
        }]));
    }
    if ctx.tenancy.adoption(&namespace, user, management.adoption) == AdoptionPolicy::Refuse {
        return Err(Error::Refused { what, id });
    }
    let Some(observed) = look::<K>(ctx, &id, freshness).await? else {
        return Ok(None);
    };
    if writes {
        claims::claim(ctx, obj, &id, true).await?;
    }
    Ok(Some((id, observed, Origin::Adopted)))
}

fn conflict<K: Provisioned>(id: &str, owner: String) -> Error {
    Error::Conflict {
        what: format!("{} {id}", K::kind(&())),
        owner,
    }
}

/// Refuses to take a GoAlert object another custom resource of the same kind reports in status:
/// claims cover this operator's resources; this also covers other releases sharing the GoAlert,
/// whose claims live in their own namespaces. (A forged status can only refuse, never grant.)
async fn ensure_unclaimed<K: Provisioned>(obj: &K, ctx: &Context, id: &str) -> Result<()> {
    let store = ctx.caches.store::<K>();
    let cached = store.as_ref().map(|store| store.state()).unwrap_or_default();
    let mut owner = reporting(cached.iter().map(|other| &**other), obj, id);
    // The kind's cache holds what the operator watches: every namespace, or only its own, and
    // then the other releases' resources, elsewhere, are in the reports followed cluster-wide;
    // they are listed only until that watch has listed them once.
    if owner.is_none() && (store.is_none() || ctx.namespace.is_some()) {
        owner = match ctx.reports.owner(obj, id) {
            Some(owner) => owner,
            None => {
                let all: Api<K> = Api::all(ctx.kube.clone());
                let listed = all
                    .list(&ListParams::default())
                    .await
                    .during(|| format!("list {}s", K::kind(&())))?;
                reporting(listed.iter(), obj, id)
            }
        };
    }
    match owner {
        Some(owner) => Err(Error::Conflict {
            what: format!("{} {id}", K::kind(&())),
            owner,
        }),
        None => Ok(()),
    }
}

/// `namespace/name` of the first of `others` (not `obj` itself) whose status reports GoAlert
/// object `id`.
fn reporting<'a, K: Provisioned>(
    mut others: impl Iterator<Item = &'a K>,
    obj: &K,
    id: &str,
) -> Option<String> {
    others
        .find(|other| {
            other.uid() != obj.uid()
                && other.common_status().and_then(|s| s.goalert_id.as_deref()) == Some(id)
        })
        .map(|owner| format!("{}/{}", owner.namespace().unwrap_or_default(), owner.name_any()))
}

/// Why the GoAlert object must outlive its resource, if it must.
async fn reason_to_keep<K: Provisioned>(obj: &K, ctx: &Context, adopted: bool) -> Option<&'static str> {
    let management = obj.management();
    if management.suspend == Some(true) {
        Some("suspend is set")
    } else if management.management_policy == Some(ManagementPolicy::Observe) {
        Some("managementPolicy is Observe")
    } else {
        match management.deletion_policy {
            Some(DeletionPolicy::Retain) => Some("deletionPolicy is Retain"),
            None if adopted => {
                Some("it was adopted, and adopted objects are retained unless deletionPolicy is Delete")
            }
            // Removing the CRD removes every resource of the kind at once: that is uninstalling,
            // never a request to empty GoAlert.
            _ if crd_being_deleted::<K>(ctx).await => Some("its CustomResourceDefinition is being deleted"),
            _ => None,
        }
    }
}

async fn crd_being_deleted<K: Provisioned>(ctx: &Context) -> bool {
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.kube.clone());
    let name = format!("{}.{}", K::plural(&()), K::group(&()));
    match crds.get_opt(&name).await {
        Ok(crd) => crd.is_none_or(|crd| crd.metadata.deletion_timestamp.is_some()),
        Err(error) => {
            tracing::warn!(%error, crd = %name, "cannot tell whether the CRD is being deleted");
            false
        }
    }
}

/// Adds condition Suspended to what the last reconcile reported, which is left as it was.
async fn write_suspended<K: Provisioned>(obj: &K, ctx: &Context) -> Result<()> {
    let previous = obj
        .common_status()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let list = conditions::suspended(previous, obj.meta().generation, now);
    if list.as_slice() == previous {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({ "status": { "conditions": list } });
    api.patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .during(|| patching_status(obj))?;
    publish(
        ctx,
        obj,
        EventType::Normal,
        "Suspended",
        "spec.suspend is true: nothing is read from or written to GoAlert".into(),
    )
    .await;
    Ok(())
}

/// A failed reconcile, on the object: Ready False saying why, and an Event only when that is news
/// ([`conditions::failure_is_news`]), so a wait or an outage costs no Event per retry.
pub(crate) async fn report_failure<K>(
    obj: &K,
    ctx: &Context,
    error: &Error,
    extra: StatusFields,
) -> Result<()>
where
    K: crate::api::Kind
        + Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug,
{
    let outcome = Outcome::failed(error);
    let previous = obj
        .common_status()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    let news = conditions::failure_is_news(previous, &outcome, obj.meta().generation);
    patch_status(obj, ctx, previous, &outcome, extra).await?;
    if news {
        let type_ = if matches!(error, Error::DependencyNotReady(_)) {
            EventType::Normal
        } else {
            EventType::Warning
        };
        publish(ctx, obj, type_, error.reason(), error.to_string()).await;
    }
    Ok(())
}

/// The status of a [`Provisioned`] kind, with its GoAlert ID and link once known.
async fn write_status<K: Provisioned>(
    obj: &K,
    ctx: &Context,
    outcome: &Outcome,
    id: Option<&str>,
    mut extra: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    if let Some(id) = id {
        extra.insert("goalertId".into(), json!(id));
        extra.insert(
            "url".into(),
            json!(ctx.goalert.ui_url(&format!("{}/{id}", K::UI_PATH))),
        );
    }
    let previous = obj
        .common_status()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    patch_status(obj, ctx, previous, outcome, extra).await
}

/// Writes the status with a merge patch: fields not named keep their values, so a failed
/// reconcile does not erase what an earlier one recorded. `previous` are the conditions the
/// object has now (their transition times are kept); `extra` holds the kind's own fields.
pub(crate) async fn patch_status<K>(
    obj: &K,
    ctx: &Context,
    previous: &[Condition],
    outcome: &Outcome,
    extra: serde_json::Map<String, serde_json::Value>,
) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + Serialize
        + DeserializeOwned
        + Debug,
{
    let generation = obj.meta().generation;
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let mut status = serde_json::Map::new();
    status.insert("observedGeneration".into(), json!(generation));
    status.insert(
        "conditions".into(),
        json!(conditions::conditions(previous, outcome, generation, now)),
    );
    status.extend(extra);
    let status = serde_json::Value::Object(status);
    if status::changes(obj, &status) {
        let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
        let written = api
            .patch_status(
                &obj.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&json!({ "status": status })),
            )
            .await
            .during(|| patching_status(obj))?;
        ctx.own_writes.record(&written);
    }
    ctx.metrics.managed.set(
        K::kind(&()).as_ref(),
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        Some(outcome.ready),
    );
    Ok(())
}

async fn cleanup<K: Provisioned>(obj: &K, ctx: &Context) -> Result<Action> {
    let reported = obj.common_status().and_then(|s| s.goalert_id.clone());
    if let Some(id) = reported.or_else(|| claims::claimed_by(ctx, obj)) {
        // Only the claim proves the object is this resource's to delete: a status pointing at
        // someone else's object deletes nothing.
        let keep = match claims::holder(ctx, obj, &id).await? {
            Holder::This { adopted } => reason_to_keep(obj, ctx, adopted).await,
            _ => Some("this resource does not own it (it holds no claim on it)"),
        };
        match keep {
            Some(why) => {
                let note = format!("kept in GoAlert (id {id}): {why}");
                publish(ctx, obj, EventType::Normal, "Retained", note).await;
            }
            None => {
                let deleted = ctx.goalert.delete(&[(K::TARGET, &id)]).await;
                ctx.listings.forget::<K>(&id).await;
                if let Err(error) = deleted {
                    return Err(deletion_failed(obj, ctx, &id, error).await);
                }
                let note = format!("deleted from GoAlert (id {id})");
                publish(ctx, obj, EventType::Normal, "Deleted", note).await;
            }
        }
        claims::release(ctx, obj, &id).await?;
    }
    ctx.metrics.managed.set(
        K::kind(&()).as_ref(),
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        None,
    );
    Ok(Action::await_change())
}

/// A deletion GoAlert refused or failed shows on the resource, which keeps its deletionTimestamp
/// until it succeeds: Ready False with the reason, and a Warning Event when that is news
/// (`kubectl get` and `kubectl describe` show why `kubectl delete --wait` waits).
async fn deletion_failed<K: Provisioned>(
    obj: &K,
    ctx: &Context,
    id: &str,
    source: goalert_client::Error,
) -> Error {
    let error = match source {
        goalert_client::Error::InUse { message } => Error::DeletionBlocked {
            what: format!("{} {id}", K::kind(&())),
            url: ctx.goalert.ui_url(&format!("{}/{id}", K::UI_PATH)),
            detail: format!("it {message}"),
        },
        source => Error::from(source),
    };
    if let Err(status_error) = report_failure(obj, ctx, &error, StatusFields::new()).await {
        tracing::warn!(error = %status_error, "could not report the failed deletion in the status");
    }
    error
}

/// Events are best effort: a failure to record one is logged, never fails the reconcile.
pub async fn publish<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: &str,
    note: String,
) {
    let event = Event {
        type_,
        reason: reason.to_owned(),
        note: Some(note),
        action: "Reconcile".into(),
        secondary: None,
    };
    if let Err(error) = ctx.recorder.publish(&event, &obj.object_ref(&())).await {
        tracing::warn!(%error, "could not record an Event");
    }
}

/// The call a failed status patch names.
fn patching_status<K: Resource<DynamicType = ()>>(obj: &K) -> String {
    format!(
        "patch status of {} {}/{}",
        K::kind(&()),
        obj.namespace().unwrap_or_default(),
        obj.name_any()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::service::{CredentialStatus, ServiceStatus};

    #[test]
    fn another_resource_reporting_the_id_is_its_owner() {
        let rotation =
            |namespace: &str, name: &str, uid: &str, id: Option<&str>| -> crate::api::GoAlertRotation {
                serde_json::from_value(json!({
                    "apiVersion": "goalert.heystaq.com/v1alpha1", "kind": "GoAlertRotation",
                    "metadata": { "name": name, "namespace": namespace, "uid": uid },
                    "spec": { "timeZone": "Etc/UTC", "type": "Weekly", "start": "2026-01-05T09:00:00Z" },
                    "status": { "goalertId": id },
                }))
                .unwrap()
            };
        let me = rotation("team-a", "primary", "u-1", Some("id-1"));
        let others = [
            rotation("team-b", "unrelated", "u-2", Some("id-2")),
            rotation("team-c", "copy", "u-3", Some("id-1")),
        ];
        assert_eq!(
            reporting(others.iter(), &me, "id-1").as_deref(),
            Some("team-c/copy")
        );
        assert_eq!(reporting(others.iter(), &me, "id-3"), None);
        assert_eq!(
            reporting(std::iter::once(&me), &me, "id-1"),
            None,
            "its own status is no other owner"
        );
    }

    #[test]
    fn a_kinds_empty_fields_clear_what_an_earlier_pass_wrote() {
        let empty = own_fields(&ServiceStatus::default());
        assert_eq!(
            serde_json::Value::Object(empty),
            json!({ "integrationKeys": null, "heartbeatMonitors": null, "managedLabels": null })
        );
        let written = own_fields(&ServiceStatus {
            integration_keys: vec![CredentialStatus {
                name: "grafana".into(),
                secret: "keys/url".into(),
                state: None,
            }],
            ..ServiceStatus::default()
        });
        assert_eq!(written["integrationKeys"][0]["secret"], "keys/url");
        assert_eq!(written["managedLabels"], json!(null));
        assert!(own_fields(&()).is_empty(), "a kind without fields of its own");
    }
}
