//! Watch caches of every kind, which the reviews read instead of asking the API server.

use futures::StreamExt;
use kube::{
    Api, Client, Resource,
    runtime::{
        reflector::{self, Store},
        watcher,
    },
};
use serde::de::DeserializeOwned;

use super::validate::ClusterView;
use crate::api::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
};

/// Watch caches of every kind, in the scope the operator watches.
#[derive(Clone)]
pub(super) struct Stores {
    users: Store<GoAlertUser>,
    rotations: Store<GoAlertRotation>,
    schedules: Store<GoAlertSchedule>,
    policies: Store<GoAlertEscalationPolicy>,
    services: Store<GoAlertService>,
    admins: Store<GoAlertAdmin>,
}

pub(super) fn watch<K>(client: &Client, namespace: Option<&str>) -> Store<K>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug
        + Send
        + Sync
        + 'static,
{
    let api: Api<K> = match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let (cache, changed) = crate::watch::cached(api, watcher::Config::default().any_semantic());
    tokio::spawn(async move {
        changed
            .for_each(|event| {
                if let Err(error) = event {
                    tracing::warn!(kind = K::kind(&()).as_ref(), %error, "webhook watch");
                }
                futures::future::ready(())
            })
            .await;
    });
    cache.store
}

impl Stores {
    pub(super) fn start(client: &Client, namespace: Option<&str>) -> Self {
        Self {
            users: watch(client, namespace),
            rotations: watch(client, namespace),
            schedules: watch(client, namespace),
            policies: watch(client, namespace),
            services: watch(client, namespace),
            admins: watch(client, namespace),
        }
    }

    /// Caches that stay empty: the webhooks without a cluster, for the fuzzers.
    pub(super) fn empty() -> Self {
        Self {
            users: reflector::store().0,
            rotations: reflector::store().0,
            schedules: reflector::store().0,
            policies: reflector::store().0,
            services: reflector::store().0,
            admins: reflector::store().0,
        }
    }

    pub(super) async fn ready(&self) {
        let _ = futures::join!(
            self.users.wait_until_ready(),
            self.rotations.wait_until_ready(),
            self.schedules.wait_until_ready(),
            self.policies.wait_until_ready(),
            self.services.wait_until_ready(),
            self.admins.wait_until_ready(),
        );
    }

    pub(super) fn view(&self) -> ClusterView {
        ClusterView {
            users: self.users.state(),
            rotations: self.rotations.state(),
            schedules: self.schedules.state(),
            policies: self.policies.state(),
            services: self.services.state(),
            admins: self.admins.state(),
        }
    }
}
