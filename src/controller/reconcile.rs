//! The one reconcile skeleton every kind uses:
//! observe (by the ID in status, else by GoAlert's unique name) → create if missing →
//! converge only what differs → status, Events and metrics.
//!
//! A kind supplies the GoAlert-specific steps by implementing [`Provisioned`]; nothing else in
//! this file knows which kind it is running.

use std::{fmt::Debug, future::Future, sync::Arc, time::Duration};

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
use serde::{Serialize, de::DeserializeOwned};
use serde_json::json;

use super::{
    Context,
    conditions::{self, Note, Outcome},
    error::{Error, Result},
};
use crate::{
    api::{
        DeletionPolicy, Management, ManagementPolicy, Status,
        common::{AdoptionPolicy, DriftPolicy},
    },
    metrics::ReconcileResult,
};
use goalert_client::model::TargetType;

pub const FINALIZER: &str = "goalert.heystaq.com/cleanup";

/// What a kind does in GoAlert. `Desired` is the spec with every reference resolved to GoAlert
/// IDs and every default applied; `Observed` is what GoAlert holds, in comparable form.
pub trait Provisioned:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + Serialize
    + DeserializeOwned
    + Send
    + Sync
    + 'static
{
    type Desired: Send + Sync;
    type Observed: Send + Sync;

    /// GoAlert's name for this kind of object, for `deleteAll`.
    const TARGET: TargetType;
    /// Path of the object's page in GoAlert's UI, before its ID (for example `rotations`).
    const UI_PATH: &'static str;

    fn status(&self) -> Option<&Status>;
    /// The spec's adoption, deletion, observe-only, drift, resync and suspend settings.
    fn management(&self) -> &Management;

    /// The spec resolved against Kubernetes and GoAlert.
    fn desired(&self, ctx: &Context) -> impl Future<Output = Result<Self::Desired>> + Send;
    /// The value GoAlert keeps unique for this kind (a name, or a user's e-mail).
    fn unique_key(desired: &Self::Desired) -> &str;
    /// Finds the object with that unique value.
    fn find(ctx: &Context, key: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    fn observe(ctx: &Context, id: &str) -> impl Future<Output = Result<Option<Self::Observed>>> + Send;
    /// Creates the object with as little as GoAlert requires; [`Provisioned::converge`] does the rest.
    fn create(&self, ctx: &Context, desired: &Self::Desired) -> impl Future<Output = Result<String>> + Send;
    /// Makes GoAlert match `desired`, touching only what differs: every write goes through
    /// `changes`, which sends it, or only records the field when the operator may not write.
    /// Returns kind-specific status fields (merged into `.status`).
    fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &Self::Desired,
        observed: &Self::Observed,
        changes: &mut Changes,
    ) -> impl Future<Output = Result<StatusFields>> + Send;
}

/// Kind-specific status fields, merged into `.status`.
pub type StatusFields = serde_json::Map<String, serde_json::Value>;

/// The two [`Provisioned`] accessors every kind implements the same way: its common status and
/// its spec's management settings.
macro_rules! status_and_management {
    () => {
        fn status(&self) -> Option<&crate::api::Status> {
            self.status.as_ref().map(|s| &s.common)
        }

        fn management(&self) -> &crate::api::Management {
            &self.spec.management
        }
    };
}
pub(crate) use status_and_management;

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

/// How the GoAlert object came to be managed in this reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Known,
    Created,
    Adopted,
    /// Not in GoAlert, and this reconcile may not create it.
    Missing,
}

/// What one reconcile found and did.
struct Synced {
    id: Option<String>,
    origin: Origin,
    changes: Changes,
    status: StatusFields,
}

/// Field reported in `status.pendingChanges` for an object GoAlert does not have.
const MISSING: &str = "(the whole object: not in GoAlert)";

pub async fn reconcile<K: Provisioned>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    let started = std::time::Instant::now();
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
    let label = match &result {
        Ok(_) => ReconcileResult::Success,
        Err(error) if error.is_waiting() => ReconcileResult::Requeue,
        Err(_) => ReconcileResult::Error,
    };
    ctx.metrics
        .reconcile
        .observe(&controller, label, started.elapsed());
    result
}

/// Exponential backoff per object for failed reconciles, reset by the next success.
pub fn error_policy<K: Resource<DynamicType = ()>>(obj: Arc<K>, error: &Error, ctx: Arc<Context>) -> Action {
    let key = obj.uid().unwrap_or_default();
    let failures = ctx.note_failure(&key);
    let delay = match error {
        _ if error.is_waiting() => {
            // The dependency's watch wakes this object; the timer is only a safety net.
            Duration::from_secs(120)
        }
        _ => Duration::from_secs(5)
            .saturating_mul(1 << failures.min(6))
            .min(Duration::from_secs(300)),
    };
    let (kind, name, namespace) = (K::kind(&()), obj.name_any(), obj.namespace().unwrap_or_default());
    if error.is_waiting() {
        tracing::info!(%kind, %name, %namespace, %error, "waiting");
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
    let spec_unchanged = obj.status().is_some_and(|s| {
        s.goalert_id.is_some() && conditions::is_ready_for(&s.conditions, obj.meta().generation)
    });
    let observe_only = management.management_policy == Some(ManagementPolicy::Observe);
    let report_drift = spec_unchanged && management.drift_policy == Some(DriftPolicy::Report);
    let writes = !observe_only && !report_drift;
    match sync(obj, ctx, Changes::new(writes)).await {
        Ok(synced) => {
            ctx.forget_failures(&obj.uid().unwrap_or_default());
            let report = if writes {
                written::<K>(ctx, &synced, spec_unchanged)
            } else {
                pending(obj, &synced, observe_only)
            };
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
        Err(error) => {
            let outcome = Outcome::failed(&error);
            write_status(obj, ctx, &outcome, None, serde_json::Map::new()).await?;
            let type_ = if matches!(error, Error::DependencyNotReady(_)) {
                EventType::Normal
            } else {
                EventType::Warning
            };
            publish(ctx, obj, type_, error.reason(), error.to_string()).await;
            Err(error)
        }
    }
}

/// What a reconcile tells the user: its conditions, the fields left different from the spec,
/// and an Event when there is news.
struct Report {
    outcome: Outcome,
    pending: Vec<String>,
    event: Option<(EventType, &'static str, String)>,
}

/// The report of a reconcile that was allowed to write.
fn written<K: Provisioned>(ctx: &Context, synced: &Synced, spec_unchanged: bool) -> Report {
    let changed = synced.changes.fields();
    let id = synced.id.as_deref().unwrap_or_default();
    let drift = synced.origin == Origin::Known && spec_unchanged && !changed.is_empty();
    if drift {
        for field in changed {
            ctx.metrics.drift.inc(K::kind(&()).as_ref(), field);
        }
    }
    let fields = changed.join(", ");
    let (reason, message) = match synced.origin {
        Origin::Created => (Some("Created"), "created in GoAlert".to_owned()),
        Origin::Adopted => (Some("Adopted"), "existing GoAlert object taken over".to_owned()),
        Origin::Known if drift => (
            Some("DriftCorrected"),
            format!("corrected changes made in GoAlert: {fields}"),
        ),
        Origin::Known if !changed.is_empty() => (Some("Updated"), format!("updated in GoAlert: {fields}")),
        Origin::Known | Origin::Missing => (None, "in sync with GoAlert".to_owned()),
    };
    let event = reason.map(|reason| {
        let note = match synced.origin {
            Origin::Known | Origin::Missing => message.clone(),
            _ => format!("{message} (id {id}){}", changed_suffix(changed)),
        };
        (EventType::Normal, reason, note)
    });
    Report {
        outcome: Outcome {
            ready: true,
            stalled: false,
            reason: "Synced".into(),
            message,
            notes: synced.changes.notes.clone(),
        },
        pending: Vec::new(),
        event,
    }
}

/// The report of a reconcile that only read: managementPolicy Observe, or drift under driftPolicy
/// Report. An Event is sent only when the set of differing fields changes.
fn pending<K: Provisioned>(obj: &K, synced: &Synced, observe_only: bool) -> Report {
    let pending = match synced.origin {
        Origin::Missing => vec![MISSING.to_owned()],
        _ => synced.changes.fields().to_vec(),
    };
    let previous = obj
        .status()
        .map(|s| s.pending_changes.as_slice())
        .unwrap_or_default();
    let news = !pending.is_empty() && pending != previous;
    let fields = pending.join(", ");
    let (outcome, event) = if observe_only {
        let in_sync = pending.is_empty();
        let message = if in_sync {
            "managementPolicy is Observe: GoAlert matches the spec".to_owned()
        } else {
            format!(
                "managementPolicy is Observe: GoAlert differs from the spec in {fields}; nothing was changed"
            )
        };
        let outcome = Outcome {
            ready: in_sync,
            stalled: false,
            reason: if in_sync { "InSync" } else { "OutOfSync" }.into(),
            message: message.clone(),
            notes: synced.changes.notes.clone(),
        };
        (
            outcome,
            news.then_some((EventType::Normal, "WouldChange", message)),
        )
    } else {
        let message = if pending.is_empty() {
            "in sync with GoAlert".to_owned()
        } else {
            format!("driftPolicy is Report: changed in GoAlert by hand and left as is: {fields}")
        };
        let outcome = Outcome {
            ready: true,
            stalled: false,
            reason: if pending.is_empty() {
                "Synced"
            } else {
                "DriftDetected"
            }
            .into(),
            message: message.clone(),
            notes: synced.changes.notes.clone(),
        };
        (
            outcome,
            news.then_some((EventType::Warning, "DriftDetected", message)),
        )
    };
    Report {
        outcome,
        pending,
        event,
    }
}

fn changed_suffix(changed: &[String]) -> String {
    if changed.is_empty() {
        String::new()
    } else {
        format!("; set {}", changed.join(", "))
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

async fn sync<K: Provisioned>(obj: &K, ctx: &Context, mut changes: Changes) -> Result<Synced> {
    let desired = obj.desired(ctx).await?;
    let (id, observed, origin) = match locate(obj, ctx, &desired).await? {
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
            let id = obj.create(ctx, &desired).await?;
            // Record the ID before anything else can fail.
            record_id(obj, ctx, &id).await?;
            let observed = K::observe(ctx, &id).await?.ok_or_else(|| {
                Error::DependencyNotReady(format!(
                    "GoAlert does not show the {} it just created yet",
                    K::kind(&())
                ))
            })?;
            (id, observed, Origin::Created)
        }
    };
    let status = obj.converge(ctx, &id, &desired, &observed, &mut changes).await?;
    Ok(Synced {
        id: Some(id),
        origin,
        changes,
        status,
    })
}

/// The GoAlert object this resource manages: the one spec.goalertId names; else the one its
/// status records; else, unless adoption is refused, the one with the same unique name (which
/// also makes a crash between create and status write harmless: the object is found, never
/// duplicated).
async fn locate<K: Provisioned>(
    obj: &K,
    ctx: &Context,
    desired: &K::Desired,
) -> Result<Option<(String, K::Observed, Origin)>> {
    let management = obj.management();
    let known_id = obj.status().and_then(|s| s.goalert_id.as_deref());
    if let Some(id) = &management.goalert_id {
        let origin = if known_id == Some(id.as_str()) {
            Origin::Known
        } else {
            ensure_unclaimed(obj, ctx, id).await?;
            Origin::Adopted
        };
        let observed = K::observe(ctx, id).await?.ok_or_else(|| Error::InvalidSpec {
            field: "spec.goalertId".into(),
            message: format!(
                "GoAlert has no {} with ID {id}; with goalertId set the operator adopts only that object and never creates one",
                K::kind(&())
            ),
        })?;
        return Ok(Some((id.clone(), observed, origin)));
    }
    if let Some(id) = known_id
        && let Some(observed) = K::observe(ctx, id).await?
    {
        return Ok(Some((id.to_owned(), observed, Origin::Known)));
    }
    let Some(id) = K::find(ctx, K::unique_key(desired)).await? else {
        return Ok(None);
    };
    ensure_unclaimed(obj, ctx, &id).await?;
    if management.adoption.unwrap_or(ctx.adoption) == AdoptionPolicy::Refuse {
        return Err(Error::Refused {
            what: format!("{} {:?}", K::kind(&()), K::unique_key(desired)),
            id,
        });
    }
    Ok(K::observe(ctx, &id)
        .await?
        .map(|observed| (id, observed, Origin::Adopted)))
}

/// Refuses to take a GoAlert object another custom resource of the same kind already manages.
async fn ensure_unclaimed<K: Provisioned>(obj: &K, ctx: &Context, id: &str) -> Result<()> {
    let all: Api<K> = Api::all(ctx.kube.clone());
    let owner = all.list(&ListParams::default()).await?.into_iter().find(|other| {
        other.uid() != obj.uid() && other.status().and_then(|s| s.goalert_id.as_deref()) == Some(id)
    });
    match owner {
        Some(owner) => Err(Error::Conflict {
            what: format!("{} {id}", K::kind(&())),
            owner: format!("{}/{}", owner.namespace().unwrap_or_default(), owner.name_any()),
        }),
        None => Ok(()),
    }
}

async fn record_id<K: Provisioned>(obj: &K, ctx: &Context, id: &str) -> Result<()> {
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({ "status": { "goalertId": id } });
    api.patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
    Ok(())
}

/// Why the GoAlert object must outlive its resource, if it must.
async fn reason_to_keep<K: Provisioned>(obj: &K, ctx: &Context) -> Option<&'static str> {
    let management = obj.management();
    let adopted = obj.status().and_then(|s| s.adopted) == Some(true);
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
    let previous = obj.status().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let now = Time(k8s_openapi::jiff::Timestamp::now());
    let list = conditions::suspended(previous, obj.meta().generation, now);
    if list.as_slice() == previous {
        return Ok(());
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    let patch = json!({ "status": { "conditions": list } });
    api.patch_status(&obj.name_any(), &PatchParams::default(), &Patch::Merge(&patch))
        .await?;
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
    let previous = obj.status().map(|s| s.conditions.as_slice()).unwrap_or_default();
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
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope> + Clone + DeserializeOwned + Debug,
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
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &obj.namespace().unwrap_or_default());
    api.patch_status(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&json!({ "status": status })),
    )
    .await?;
    ctx.metrics.managed.set(
        K::kind(&()).as_ref(),
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        Some(outcome.ready),
    );
    Ok(())
}

async fn cleanup<K: Provisioned>(obj: &K, ctx: &Context) -> Result<Action> {
    if let Some(id) = obj.status().and_then(|s| s.goalert_id.clone()) {
        match reason_to_keep(obj, ctx).await {
            Some(why) => {
                let note = format!("kept in GoAlert (id {id}): {why}");
                publish(ctx, obj, EventType::Normal, "Retained", note).await;
            }
            None => {
                if let Err(error) = ctx.goalert.delete(&[(K::TARGET, &id)]).await {
                    return Err(deletion_failed(obj, ctx, &id, error).await);
                }
                let note = format!("deleted from GoAlert (id {id})");
                publish(ctx, obj, EventType::Normal, "Deleted", note).await;
            }
        }
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
/// until it succeeds: Ready False with the reason, and a Warning Event (`kubectl get` and
/// `kubectl describe` show why `kubectl delete --wait` waits).
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
    let previous = obj.status().map(|s| s.conditions.as_slice()).unwrap_or_default();
    let outcome = Outcome::failed(&error);
    if let Err(status_error) = patch_status(obj, ctx, previous, &outcome, StatusFields::new()).await {
        tracing::warn!(error = %status_error, "could not report the failed deletion in the status");
    }
    publish(ctx, obj, EventType::Warning, error.reason(), error.to_string()).await;
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
