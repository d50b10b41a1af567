//! Objects for the validators' unit tests, built from YAML as users write them.

use std::sync::Arc;

use serde_json::json;

use super::{Admitted, ClusterView, Findings, Pending};
use crate::api::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
};

pub const NAMESPACE: &str = "team-a";

fn object<K: serde::de::DeserializeOwned>(kind: &str, name: &str, spec: serde_json::Value) -> K {
    serde_json::from_value(json!({
        "apiVersion": "goalert.heystaq.com/v1alpha1",
        "kind": kind,
        "metadata": { "name": name, "namespace": NAMESPACE },
        "spec": spec,
    }))
    .unwrap()
}

pub fn user(name: &str, email: &str) -> GoAlertUser {
    object(
        "GoAlertUser",
        name,
        json!({
            "email": email,
            "contactMethods": [{ "name": "Mobile", "type": "SMS", "value": "+17635550101" }],
            "notificationRules": [{ "contactMethod": "Mobile", "delayMinutes": 0 }],
        }),
    )
}

pub fn rotation(name: &str, spec: serde_json::Value) -> GoAlertRotation {
    object("GoAlertRotation", name, spec)
}

pub fn schedule(name: &str, spec: serde_json::Value) -> GoAlertSchedule {
    object("GoAlertSchedule", name, spec)
}

pub fn policy(name: &str, spec: serde_json::Value) -> GoAlertEscalationPolicy {
    object("GoAlertEscalationPolicy", name, spec)
}

pub fn service(name: &str, spec: serde_json::Value) -> GoAlertService {
    object("GoAlertService", name, spec)
}

pub fn admin(name: &str, spec: serde_json::Value) -> GoAlertAdmin {
    object("GoAlertAdmin", name, spec)
}

/// Moves an object to another namespace.
pub fn in_namespace<K: kube::Resource>(mut object: K, namespace: &str) -> K {
    object.meta_mut().namespace = Some(namespace.into());
    object
}

pub fn view() -> ClusterView {
    ClusterView::default()
}

impl ClusterView {
    pub fn users(mut self, users: Vec<GoAlertUser>) -> Self {
        self.users = users.into_iter().map(Arc::new).collect();
        self
    }
    pub fn rotations(mut self, objects: Vec<GoAlertRotation>) -> Self {
        self.rotations = objects.into_iter().map(Arc::new).collect();
        self
    }
    pub fn schedules(mut self, objects: Vec<GoAlertSchedule>) -> Self {
        self.schedules = objects.into_iter().map(Arc::new).collect();
        self
    }
    pub fn policies(mut self, objects: Vec<GoAlertEscalationPolicy>) -> Self {
        self.policies = objects.into_iter().map(Arc::new).collect();
        self
    }
    pub fn services(mut self, objects: Vec<GoAlertService>) -> Self {
        self.services = objects.into_iter().map(Arc::new).collect();
        self
    }
    pub fn admins(mut self, objects: Vec<GoAlertAdmin>) -> Self {
        self.admins = objects.into_iter().map(Arc::new).collect();
        self
    }
}

/// Runs a kind's pure check.
pub fn check<K: Admitted>(object: &K, old: Option<&K>, view: &ClusterView) -> (Findings, Pending) {
    let mut findings = Findings::default();
    let mut pending = Pending::default();
    object.check(old, view, &mut findings, &mut pending);
    (findings, pending)
}
