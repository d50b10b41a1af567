//! Controllers: one per kind, all built on the shared skeleton in [`reconcile`].

mod conditions;
mod error;
mod reconcile;
mod references;
mod rotation;
mod schedule;
mod timezone;
mod user;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use futures::StreamExt;
use kube::{
    Api, Client, ResourceExt,
    runtime::{
        Controller,
        events::{Recorder, Reporter},
        reflector::{ObjectRef, Store},
        watcher,
    },
};

pub use error::{Error, Result};
pub use reconcile::Provisioned;
use references::References;

use crate::{
    api::{GoAlertRotation, GoAlertSchedule, GoAlertUser},
    goalert::GoAlert,
    metrics::Metrics,
};

/// Everything a reconcile needs, shared by all controllers.
pub struct Context {
    pub kube: Client,
    pub goalert: GoAlert,
    pub recorder: Recorder,
    pub metrics: Metrics,
    /// How often a Ready object is checked against GoAlert again, to correct changes made there.
    pub resync: Duration,
    failures: Mutex<HashMap<String, u32>>,
}

impl Context {
    pub fn new(kube: Client, goalert: GoAlert, metrics: Metrics, resync: Duration) -> Self {
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
    let client = ctx.kube.clone();
    let users = controller::<GoAlertUser>(&client);
    let rotations = controller::<GoAlertRotation>(&client);
    let rotations = wake_on::<GoAlertRotation, GoAlertUser>(rotations, &client);
    let schedules = controller::<GoAlertSchedule>(&client);
    let schedules = wake_on::<GoAlertSchedule, GoAlertUser>(schedules, &client);
    let schedules = wake_on::<GoAlertSchedule, GoAlertRotation>(schedules, &client);
    futures::join!(drive(users, &ctx), drive(rotations, &ctx), drive(schedules, &ctx));
}

fn controller<K: Provisioned>(client: &Client) -> Controller<K> {
    Controller::new(
        Api::<K>::all(client.clone()),
        watcher::Config::default().any_semantic(),
    )
}

/// Wakes objects of kind `K` when a custom resource of kind `D` they reference changes (for
/// example becomes Ready), so dependencies are followed by watches, not timers.
fn wake_on<K, D>(controller: Controller<K>, client: &Client) -> Controller<K>
where
    K: Provisioned + References<D>,
    D: Provisioned,
{
    let store: Store<K> = controller.store();
    controller.watches(
        Api::<D>::all(client.clone()),
        watcher::Config::default().any_semantic(),
        move |dependency| {
            let namespace = dependency.namespace();
            let name = dependency.name_any();
            store
                .state()
                .into_iter()
                .filter(|object| object.namespace() == namespace && object.referenced_names().contains(&name))
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
            if let Err(error) = result {
                if !matches!(error, kube::runtime::controller::Error::ReconcilerFailed(..)) {
                    tracing::warn!(kind = K::kind(&()).as_ref(), %error, "controller");
                }
            }
            futures::future::ready(())
        })
        .await;
}
