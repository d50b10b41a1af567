//! Controllers: one per kind, all built on the shared skeleton in [`reconcile`].

mod admin;
mod conditions;
mod error;
mod escalation_policy;
mod reconcile;
mod references;
mod report;
mod rotation;
mod schedule;
mod secrets;
mod service;
mod status;
mod user;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

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
    api::{
        GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
        common::AdoptionPolicy,
    },
    metrics::Metrics,
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
    /// Whether existing GoAlert objects are taken over, for resources that do not say.
    pub adoption: AdoptionPolicy,
    /// Watch only this namespace (all namespaces when `None`).
    pub namespace: Option<String>,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(
        kube: Client,
        goalert: GoAlert,
        metrics: Metrics,
        resync: Duration,
        adoption: AdoptionPolicy,
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
            adoption,
            namespace,
            failures: Mutex::default(),
        }
    }

    /// Counts a failure of the object with this UID; returns how many in a row.
    fn note_failure(&self, uid: &str) -> u32 {
        let mut failures = self.failures.lock().expect("not poisoned");
        let count = failures.entry(uid.to_owned()).or_default();
        *count += 1;
        *count
    }

    fn forget_failures(&self, uid: &str) {
        self.failures.lock().expect("not poisoned").remove(uid);
    }
}

/// Runs every controller until the process is asked to stop.
pub async fn run(ctx: Arc<Context>) {
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
    // A Secret the operator wrote that is edited or deleted by hand is restored.
    let services = services.owns(
        owned_secrets(&ctx),
        watcher::Config::default().labels(&secrets::label_selector()),
    );
    futures::join!(
        drive(users, &ctx),
        drive(rotations, &ctx),
        drive(schedules, &ctx),
        drive(policies, &ctx),
        drive(services, &ctx),
        admin::run(ctx.clone()),
    );
}

fn owned_secrets(ctx: &Context) -> Api<Secret> {
    match &ctx.namespace {
        Some(namespace) => Api::namespaced(ctx.kube.clone(), namespace),
        None => Api::all(ctx.kube.clone()),
    }
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
