//! The one reconcile skeleton every kind uses:
//! observe (by the ID in status, else by GoAlert's unique name) → create if missing →
//! converge only what differs → status, Events and metrics.
//!
//! A kind supplies the GoAlert-specific steps by implementing [`Provisioned`]; nothing else in
//! this file knows which kind it is running.

use std::{fmt::Debug, future::Future, sync::Arc, time::Duration};

use k8s_openapi::{
    NamespaceResourceScope,
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
    conditions::{self, Outcome},
    error::{Error, Result},
};
use crate::{
    api::{DeletionPolicy, Status},
    goalert::model::TargetType,
    metrics::ReconcileResult,
};

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
    fn deletion_policy(&self) -> DeletionPolicy;

    /// The spec resolved against Kubernetes and GoAlert.
    fn desired(&self, ctx: &Context) -> impl Future<Output = Result<Self::Desired>> + Send;
    /// The value GoAlert keeps unique for this kind (a name, or a user's e-mail).
    fn unique_key(desired: &Self::Desired) -> &str;
    /// Finds the object with that unique value.
    fn find(ctx: &Context, key: &str) -> impl Future<Output = Result<Option<String>>> + Send;
    fn observe(ctx: &Context, id: &str) -> impl Future<Output = Result<Option<Self::Observed>>> + Send;
    /// Creates the object with as little as GoAlert requires; [`Provisioned::converge`] does the rest.
    fn create(&self, ctx: &Context, desired: &Self::Desired) -> impl Future<Output = Result<String>> + Send;
    /// Makes GoAlert match `desired`, touching only what differs. Sends nothing when in sync.
    fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &Self::Desired,
        observed: &Self::Observed,
    ) -> impl Future<Output = Result<Converged>> + Send;
}

/// The two [`Provisioned`] accessors every kind implements the same way: its common status, and
/// its spec's deletion policy (Delete unless set).
macro_rules! status_and_deletion_policy {
    () => {
        fn status(&self) -> Option<&crate::api::Status> {
            self.status.as_ref().map(|s| &s.common)
        }

        fn deletion_policy(&self) -> crate::api::DeletionPolicy {
            self.spec.deletion_policy.unwrap_or_default()
        }
    };
}
pub(crate) use status_and_deletion_policy;

/// What [`Provisioned::converge`] changed, and kind-specific status fields to record.
#[derive(Debug, Default)]
pub struct Converged {
    /// Spec fields that had to be changed in GoAlert.
    pub changed: Vec<String>,
    /// Extra status fields (merged into `.status`).
    pub status: serde_json::Map<String, serde_json::Value>,
}

/// How the GoAlert object came to be managed in this reconcile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    Known,
    Created,
    Adopted,
}

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
    // Whether the spec is the one last synced: then any change made now undoes a change made
    // in GoAlert by hand (drift), rather than applying a new spec.
    let spec_unchanged = obj.status().and_then(|s| s.observed_generation) == obj.meta().generation;
    match sync(obj, ctx).await {
        Ok((id, origin, converged)) => {
            ctx.forget_failures(&obj.uid().unwrap_or_default());
            let drift = origin == Origin::Known && spec_unchanged && !converged.changed.is_empty();
            let fields = converged.changed.join(", ");
            let (reason, message) = match origin {
                Origin::Created => (Some("Created"), "created in GoAlert".to_owned()),
                Origin::Adopted => (Some("Adopted"), "existing GoAlert object taken over".to_owned()),
                Origin::Known if drift => (
                    Some("DriftCorrected"),
                    format!("corrected changes made in GoAlert: {fields}"),
                ),
                Origin::Known if !converged.changed.is_empty() => {
                    (Some("Updated"), format!("updated in GoAlert: {fields}"))
                }
                Origin::Known => (None, "in sync with GoAlert".to_owned()),
            };
            if drift {
                for field in &converged.changed {
                    ctx.metrics.drift.inc(K::kind(&()).as_ref(), field);
                }
            }
            let outcome = Outcome {
                ready: true,
                stalled: false,
                reason: "Synced".into(),
                message: message.clone(),
            };
            write_status(obj, ctx, &outcome, Some(&id), converged.status).await?;
            if let Some(reason) = reason {
                let note = match origin {
                    Origin::Known => message,
                    _ => format!("{message} (id {id}){}", changed_suffix(&converged.changed)),
                };
                publish(ctx, obj, EventType::Normal, reason, note).await;
            }
            Ok(Action::requeue(ctx.resync))
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

fn changed_suffix(changed: &[String]) -> String {
    if changed.is_empty() {
        String::new()
    } else {
        format!("; set {}", changed.join(", "))
    }
}

async fn sync<K: Provisioned>(obj: &K, ctx: &Context) -> Result<(String, Origin, Converged)> {
    let desired = obj.desired(ctx).await?;
    let known_id = obj.status().and_then(|s| s.goalert_id.clone());
    let mut found = match &known_id {
        Some(id) => K::observe(ctx, id).await?.map(|o| (id.clone(), o, Origin::Known)),
        None => None,
    };
    if found.is_none() {
        // The object was never recorded (or was deleted in GoAlert by hand): look for it by its
        // unique name first, so a crash between create and status write never duplicates it.
        if let Some(id) = K::find(ctx, K::unique_key(&desired)).await? {
            ensure_unclaimed(obj, ctx, &id).await?;
            if let Some(observed) = K::observe(ctx, &id).await? {
                found = Some((id, observed, Origin::Adopted));
            }
        }
    }
    let (id, observed, origin) = match found {
        Some(found) => found,
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
    let converged = obj.converge(ctx, &id, &desired, &observed).await?;
    Ok((id, origin, converged))
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
    let id = obj.status().and_then(|s| s.goalert_id.clone());
    match (obj.deletion_policy(), id) {
        (DeletionPolicy::Delete, Some(id)) => {
            ctx.goalert.delete(&[(K::TARGET, &id)]).await?;
            publish(
                ctx,
                obj,
                EventType::Normal,
                "Deleted",
                format!("deleted from GoAlert (id {id})"),
            )
            .await;
        }
        (DeletionPolicy::Retain, Some(id)) => {
            publish(
                ctx,
                obj,
                EventType::Normal,
                "Retained",
                format!("kept in GoAlert (id {id}): deletionPolicy is Retain"),
            )
            .await;
        }
        (_, None) => {}
    }
    ctx.metrics.managed.set(
        K::kind(&()).as_ref(),
        &obj.namespace().unwrap_or_default(),
        &obj.name_any(),
        None,
    );
    Ok(Action::await_change())
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
