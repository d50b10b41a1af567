//! A namespace with its own operator, and the reads and waits the controller tests share.

use std::{collections::BTreeMap, time::Duration};

use goalert_client::{GoAlert, OPERATOR_DOCUMENT};
use goalert_provisioning::api::{
    GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService, GoAlertUser,
    Status,
};
use k8s_openapi::api::core::v1::Secret;
use kube::{
    Api, Resource,
    api::{Patch, PatchParams},
};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::{FreshGoAlert, Operator, eventually, kube_client, kubectl, namespace, testbed, unique_name};

pub const CONVERGE: Duration = Duration::from_secs(60);

/// One namespace with its own operator (resyncing every 3 s, so drift tests are quick).
pub struct Scene {
    pub namespace: String,
    pub operator: Operator,
    pub kube: kube::Client,
    pub goalert: GoAlert,
}

pub async fn scene(prefix: &str) -> Scene {
    scene_with(prefix, &[]).await
}

/// A scene whose operator gets `settings` on top of (or instead of) the usual environment.
pub async fn scene_with(prefix: &str, settings: &[(&str, &str)]) -> Scene {
    let namespace = namespace(prefix).await;
    let key = testbed().mint_api_key(OPERATOR_DOCUMENT).await;
    let mut env = vec![
        ("GOALERT_URL", testbed().goalert_url.as_str()),
        ("GOALERT_API_KEY", key.as_str()),
        ("RESYNC_PERIOD", "3s"),
    ];
    for (name, value) in settings {
        env.retain(|(n, _)| n != name);
        env.push((name, value));
    }
    let operator = Operator::start(&namespace, &env);
    Scene {
        namespace,
        operator,
        kube: kube_client().await,
        goalert: testbed().admin(),
    }
}

/// A scene whose operator manages a GoAlert of the test's own, logged in as its administrator.
pub async fn scene_for(goalert: &FreshGoAlert, prefix: &str) -> Scene {
    let namespace = namespace(prefix).await;
    let tb = testbed();
    let operator = Operator::start(
        &namespace,
        &[
            ("GOALERT_URL", &goalert.url),
            ("GOALERT_USERNAME", &tb.admin_user),
            ("GOALERT_PASSWORD", &tb.admin_password),
            ("RESYNC_PERIOD", "3s"),
        ],
    );
    Scene {
        namespace,
        operator,
        kube: kube_client().await,
        goalert: goalert.admin(),
    }
}

pub trait HasStatus {
    fn common(&self) -> Option<&Status>;
}
macro_rules! has_status {
    ($($kind:ty),*) => {$(
        impl HasStatus for $kind {
            fn common(&self) -> Option<&Status> {
                self.status.as_ref().map(|s| &s.common)
            }
        }
    )*};
}
has_status!(
    GoAlertAdmin,
    GoAlertUser,
    GoAlertRotation,
    GoAlertSchedule,
    GoAlertEscalationPolicy,
    GoAlertService
);

impl Scene {
    pub fn api<K>(&self) -> Api<K>
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>,
    {
        Api::namespaced(self.kube.clone(), &self.namespace)
    }

    pub fn apply(&self, yaml: &str) {
        let (ok, _, stderr) = kubectl(&["apply", "-n", &self.namespace, "-f", "-"], Some(yaml));
        assert!(ok, "kubectl apply failed: {stderr}");
    }

    pub async fn patch_spec<K>(&self, name: &str, spec: Value)
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let patch = json!({ "spec": spec });
        self.api::<K>()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap();
    }

    /// Waits until the object is Ready for its current generation; returns its GoAlert ID.
    pub async fn ready<K>(&self, name: &str) -> String
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + HasStatus
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let object = self.synced::<K>(name).await;
        object
            .common()
            .and_then(|s| s.goalert_id.clone())
            .expect("a Ready object records its GoAlert ID")
    }

    /// Waits until the object is Ready for its current generation; returns it.
    pub async fn synced<K>(&self, name: &str) -> K
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + HasStatus
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api = self.api::<K>();
        eventually(&format!("{} {name} Ready", K::kind(&())), CONVERGE, || {
            let api = api.clone();
            async move {
                let object = api.get(name).await.map_err(|e| e.to_string())?;
                let conditions = object.common().map(|s| s.conditions.clone()).unwrap_or_default();
                match conditions.iter().find(|c| c.type_ == "Ready") {
                    Some(c) if c.status == "True" && c.observed_generation == object.meta().generation => {
                        Ok(object)
                    }
                    _ => Err(format!("{conditions:?}")),
                }
            }
        })
        .await
    }

    /// Waits for the Ready condition of the current generation to be False with `reason`;
    /// returns its message.
    pub async fn not_ready<K>(&self, name: &str, reason: &str) -> String
    where
        K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
            + HasStatus
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api = self.api::<K>();
        eventually(
            &format!("{} {name} not Ready because {reason}", K::kind(&())),
            CONVERGE,
            || {
                let api = api.clone();
                async move {
                    let object = api.get(name).await.map_err(|e| e.to_string())?;
                    let conditions = object.common().map(|s| s.conditions.clone()).unwrap_or_default();
                    match conditions.iter().find(|c| c.type_ == "Ready") {
                        Some(c)
                            if c.status == "False"
                                && c.reason == reason
                                && c.observed_generation == object.meta().generation =>
                        {
                            Ok(c.message.clone())
                        }
                        _ => Err(format!("{conditions:?}")),
                    }
                }
            },
        )
        .await
    }

    /// Messages of the Events recorded for an object.
    pub fn events(&self, name: &str) -> String {
        let selector = format!("involvedObject.name={name}");
        let (_, stdout, _) = kubectl(
            &[
                "get",
                "events",
                "-n",
                &self.namespace,
                "--field-selector",
                &selector,
                "-o",
                "jsonpath={range .items[*]}{.reason}: {.message}{\"\\n\"}{end}",
            ],
            None,
        );
        stdout
    }

    /// Waits for an Event on the object whose reason and message contain `expected`.
    pub async fn wait_for_event(&self, name: &str, expected: &str) {
        eventually(&format!("{name}: Event {expected:?}"), CONVERGE, || async {
            let events = self.events(name);
            if events.contains(expected) {
                Ok(())
            } else {
                Err(events)
            }
        })
        .await;
    }

    /// Sends a GraphQL document as the administrator of this scene's GoAlert.
    pub async fn graphql(&self, query: &str, variables: Value) -> Value {
        let url = self.goalert.base_url().as_str().trim_end_matches('/');
        testbed().admin_graphql_of(url, query, variables).await
    }

    pub async fn rotation(&self, id: &str) -> Value {
        self.graphql(
            "query($id: ID!) { rotation(id: $id) { id name description timeZone type shiftLength start userIDs } }",
            json!({ "id": id }),
        )
        .await["rotation"]
            .clone()
    }

    /// The operator's count of GoAlert mutations so far: requests of every operation its
    /// document declares as a mutation.
    pub async fn mutations(&self) -> u64 {
        self.mutations_by_operation().await.values().sum()
    }

    /// The operator's GoAlert mutations so far per operation (every result), leaving out the
    /// operations it has not sent.
    pub async fn mutations_by_operation(&self) -> BTreeMap<String, u64> {
        let mutations: Vec<&str> = OPERATOR_DOCUMENT
            .lines()
            .filter_map(|line| line.strip_prefix("mutation "))
            .filter_map(|rest| rest.split(['(', ' ']).next())
            .collect();
        let (_, metrics) = self.operator.get("/metrics").await;
        let mut counts = BTreeMap::new();
        for line in metrics.lines() {
            let Some(labels) = line.strip_prefix("goalert_provisioning_goalert_requests_total{") else {
                continue;
            };
            let operation = labels
                .split("operation=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            let count = line.rsplit(' ').next().and_then(|v| v.parse::<u64>().ok());
            if let (Some(operation), Some(count)) = (operation, count)
                && mutations.contains(&operation)
            {
                *counts.entry(operation.to_owned()).or_default() += count;
            }
        }
        counts
    }
}

pub fn secret_value(secret: &Secret, key: &str) -> String {
    let data = secret.data.clone().unwrap_or_default();
    data.get(key)
        .map(|v| String::from_utf8(v.0.clone()).unwrap())
        .unwrap_or_default()
}

pub fn user_yaml(name: &str, email: &str) -> String {
    format!(
        "apiVersion: goalert.heystaq.com/v1alpha1\nkind: GoAlertUser\nmetadata:\n  name: {name}\nspec:\n  email: {email}\n"
    )
}

pub fn unique_email(prefix: &str) -> String {
    format!("{}@example.com", unique_name(prefix).replace(' ', "."))
}
