//! Controllers: one per kind, all built on the shared skeleton in [`reconcile`].

mod admin;
pub mod claims;
mod conditions;
mod error;
mod escalation_policy;
mod field_diff;
mod owned_set;
mod reconcile;
mod references;
mod report;
mod rotation;
mod schedule;
mod secrets;
mod service;
mod status;
mod user;

use std::{sync::Arc, time::Duration};

use futures::StreamExt;
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

pub use error::{Error, Result};
pub use reconcile::Provisioned;
pub(crate) use user::destination as contact_method_destination;

use crate::{
    api::{GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser},
    metrics::Metrics,
    tenancy::Tenancy,
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
    failures: error::Failures,
}

impl Context {
    pub fn new(
        kube: Client,
        goalert: GoAlert,
        metrics: Metrics,
        resync: Duration,
        tenancy: Tenancy,
        namespace: Option<String>,
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
            failures: error::Failures::default(),
        }
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
    let users = controller::<GoAlertUser>(&ctx);
    let rotations = controller::<GoAlertRotation>(&ctx);
    let rotations = wake_on::<GoAlertRotation, GoAlertUser>(rotations, &ctx);
    let schedules = controller::<GoAlertSchedule>(&ctx);
    let schedules = wake_on::<GoAlertSchedule, GoAlertUser>(schedules, &ctx);
    let schedules = wake_on::<GoAlertSchedule, GoAlertRotation>(schedules, &ctx);
    let policies = controller::<GoAlertEscalationPolicy>(&ctx);
    let policies = wake_on::<GoAlertEscalationPolicy, GoAlertUser>(policies, &ctx);
    let policies = wake_on::<GoAlertEscalationPolicy, GoAlertRotation>(policies, &ctx);
    let policies = wake_on::<GoAlertEscalationPolicy, GoAlertSchedule>(policies, &ctx);
    let services = controller::<GoAlertService>(&ctx);
    let services = wake_on::<GoAlertService, GoAlertEscalationPolicy>(services, &ctx);
    // A Secret the operator wrote that is edited or deleted by hand is restored: at once where the
    // operator watches one namespace, at the next resync otherwise (Secrets are never listed or
    // watched cluster-wide: docs/security.md).
    let services = match &ctx.namespace {
        Some(namespace) => services.owns(
            Api::<Secret>::namespaced(ctx.kube.clone(), namespace),
            watcher::Config::default().labels(&secrets::label_selector()),
        ),
        None => services,
    };
    futures::join!(
        drive(users, &ctx),
        drive(rotations, &ctx),
        drive(schedules, &ctx),
        drive(policies, &ctx),
        drive(services, &ctx),
        admin::run(ctx.clone()),
    );
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

fn controller<K: Provisioned>(ctx: &Context) -> Controller<K> {
    Controller::new(watched::<K>(ctx), watcher::Config::default().any_semantic())
}

/// Wakes objects of kind `K` when a custom resource of kind `D` they reference changes (for
/// example becomes Ready), so dependencies are followed by watches, not timers.
fn wake_on<K, D>(controller: Controller<K>, ctx: &Context) -> Controller<K>
where
    K: Provisioned,
    D: Provisioned,
{
    let store: Store<K> = controller.store();
    controller.watches(
        watched::<D>(ctx),
        watcher::Config::default().any_semantic(),
        move |dependency| {
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
