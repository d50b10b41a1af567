//! Which resource owns which GoAlert object, recorded where tenants cannot write: one ConfigMap
//! per GoAlert object (a claim) in the operator's own namespace. `status.goalertId` and
//! `status.adopted` are only a report: anyone allowed to write `*/status` can change them, so
//! every reconcile checks the claim, and a forged status changes nothing.
//!
//! Creating a claim is the lock: the API server creates a name once, so of two resources racing
//! for one GoAlert object exactly one wins. A claim whose resource no longer exists (deleted
//! while the operator was down) is stale and taken over.

use std::collections::BTreeMap;

use k8s_openapi::{
    NamespaceResourceScope, api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, ListParams, PostParams, Preconditions},
};
use serde::de::DeserializeOwned;

use super::{
    Context,
    error::{Error, KubeCall, Result},
    instance::{self, Standing},
};

/// Label on every claim, with the kind as value: `kubectl get cm -l goalert.heystaq.com/claim`.
pub const LABEL: &str = "goalert.heystaq.com/claim";
/// Marks that the claims of resources made before claims existed have been recorded.
const RECORDED: &str = "goalert-provisioning-claims-recorded";

/// Who holds the claim on a GoAlert object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// This resource; `adopted` when it took over an object it did not create.
    This { adopted: bool },
    /// Another resource that still exists (`namespace/name`).
    Other(String),
    /// Nobody (or a resource that no longer exists).
    Nobody,
}

/// The ConfigMap name of the claim on GoAlert object `id` of `kind`.
pub fn name(kind: &str, id: &str) -> String {
    format!("goalert-claim-{}-{}", kind.to_lowercase(), id.to_lowercase())
}

fn data(claim: &ConfigMap, key: &str) -> String {
    claim
        .data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
        .unwrap_or_default()
}

fn claims(ctx: &Context) -> Api<ConfigMap> {
    Api::namespaced(ctx.kube.clone(), ctx.tenancy.operator_namespace())
}

/// The claim's holder as seen by `obj`; checks that another holder still exists.
pub async fn holder<K>(ctx: &Context, obj: &K, id: &str) -> Result<Holder>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let Some(claim) = claims(ctx)
        .get_opt(&name(&K::kind(&()), id))
        .await
        .during(|| format!("get claim on {id}"))?
    else {
        return Ok(Holder::Nobody);
    };
    Ok(interpret::<K>(ctx, obj, &claim).await?.0)
}

/// The holder of an existing claim, and whether it is stale.
async fn interpret<K>(ctx: &Context, obj: &K, claim: &ConfigMap) -> Result<(Holder, bool)>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let uid = data(claim, "uid");
    if obj.uid().is_some_and(|mine| mine == uid) {
        return Ok((
            Holder::This {
                adopted: data(claim, "adopted") == "true",
            },
            false,
        ));
    }
    let (namespace, name) = (data(claim, "namespace"), data(claim, "name"));
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &namespace);
    let alive = api
        .get_opt(&name)
        .await
        .during(|| format!("get {} {namespace}/{name}", K::kind(&())))?
        .is_some_and(|other| other.uid().as_deref() == Some(uid.as_str()));
    Ok(if alive {
        (Holder::Other(format!("{namespace}/{name}")), false)
    } else {
        (Holder::Nobody, true)
    })
}

fn claim_object<K: Resource<DynamicType = ()>>(obj: &K, id: &str, adopted: bool) -> ConfigMap {
    let kind = K::kind(&()).into_owned();
    let data: BTreeMap<String, String> = [
        ("kind", kind.clone()),
        ("goalertId", id.to_owned()),
        ("namespace", obj.namespace().unwrap_or_default()),
        ("name", obj.name_any()),
        ("uid", obj.uid().unwrap_or_default()),
        ("adopted", adopted.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name(&kind, id)),
            labels: Some(
                [
                    (LABEL.to_owned(), kind.to_lowercase()),
                    (
                        super::secrets::MANAGED_BY.0.to_owned(),
                        super::secrets::MANAGED_BY.1.to_owned(),
                    ),
                ]
                .into(),
            ),
            ..ObjectMeta::default()
        },
        data: Some(data),
        ..ConfigMap::default()
    }
}

/// Claims GoAlert object `id` for `obj`: done if it holds the claim already, [`Error::Conflict`]
/// if another live resource does.
pub async fn claim<K>(ctx: &Context, obj: &K, id: &str, adopted: bool) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api = claims(ctx);
    let wanted = claim_object(obj, id, adopted);
    // Bounded: a stale claim is removed once, then the create either wins or meets the winner.
    for _ in 0..3 {
        match api.create(&PostParams::default(), &wanted).await {
            Ok(_) => return Ok(()),
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e).during(|| format!("create claim {}", wanted.name_any())),
        }
        let Some(existing) = api
            .get_opt(&name(&K::kind(&()), id))
            .await
            .during(|| format!("get claim on {id}"))?
        else {
            continue;
        };
        match interpret(ctx, obj, &existing).await? {
            (Holder::This { .. }, _) => return Ok(()),
            (Holder::Other(owner), _) => {
                return Err(Error::Conflict {
                    what: format!("{} {id}", K::kind(&())),
                    owner,
                });
            }
            (Holder::Nobody, _) => delete_exactly(&api, &existing).await?,
        }
    }
    Err(Error::DependencyNotReady(format!(
        "the claim on {} {id} keeps changing; trying again",
        K::kind(&())
    )))
}

/// Deletes this very version of a claim (never one another resource just made).
async fn delete_exactly(api: &Api<ConfigMap>, claim: &ConfigMap) -> Result<()> {
    let params = DeleteParams {
        preconditions: Some(Preconditions {
            uid: claim.uid(),
            resource_version: claim.resource_version(),
        }),
        ..DeleteParams::default()
    };
    match api.delete(&claim.name_any(), &params).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => Ok(()),
        Err(e) => Err(e).during(|| format!("delete claim {}", claim.name_any())),
    }
}

/// Gives up `obj`'s claim on `id`, if it holds it.
pub async fn release<K>(ctx: &Context, obj: &K, id: &str) -> Result<()>
where
    K: Resource<DynamicType = (), Scope = NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api = claims(ctx);
    if let Some(claim) = api
        .get_opt(&name(&K::kind(&()), id))
        .await
        .during(|| format!("get claim on {id}"))?
        && obj.uid().is_some_and(|mine| mine == data(&claim, "uid"))
    {
        delete_exactly(&api, &claim).await?;
    }
    Ok(())
}

/// Upgrading from a version without claims: once, the IDs the existing resources of kind `K`
/// report in status are recorded as their claims (first come, first served), so resources keep
/// working. Afterwards status is never trusted again.
pub async fn record_existing<K: super::Provisioned>(ctx: &Context) -> Result<()> {
    for obj in super::watched::<K>(ctx)
        .list(&ListParams::default())
        .await
        .during(|| format!("list {}s", K::kind(&())))?
    {
        if matches!(instance::standing(&obj, &ctx.instance), Standing::Theirs(_)) {
            continue;
        }
        if let Some(status) = obj.common_status()
            && let Some(id) = &status.goalert_id
        {
            match claim(ctx, &obj, id, status.adopted == Some(true)).await {
                Ok(()) => {}
                Err(Error::Conflict { owner, .. }) => tracing::warn!(
                    kind = K::kind(&()).as_ref(), namespace = ?obj.namespace(), name = %obj.name_any(), %id, %owner,
                    "not recording a claim: another resource reports the same GoAlert object and was recorded first"
                ),
                Err(error) => return Err(error),
            }
        }
    }
    Ok(())
}

/// Whether the claims of pre-claim resources were recorded already (by an earlier start).
pub async fn existing_recorded(ctx: &Context) -> Result<bool> {
    Ok(claims(ctx)
        .get_opt(RECORDED)
        .await
        .during(|| format!("get {RECORDED}"))?
        .is_some())
}

/// Notes that they were, so later starts trust no status.
pub async fn mark_recorded(ctx: &Context) -> Result<()> {
    let marker = ConfigMap {
        metadata: ObjectMeta {
            name: Some(RECORDED.into()),
            ..ObjectMeta::default()
        },
        ..ConfigMap::default()
    };
    match claims(ctx).create(&PostParams::default(), &marker).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e).during(|| format!("create {RECORDED}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GoAlertService;

    #[test]
    fn a_claim_names_the_object_and_its_owner_by_uid() {
        let service: GoAlertService = serde_json::from_value(serde_json::json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1", "kind": "GoAlertService",
            "metadata": { "name": "my-app", "namespace": "team-a", "uid": "u-1" },
            "spec": { "escalationPolicyRef": { "name": "p" } },
        }))
        .unwrap();
        let id = "0D3C1B2A-0000-4000-8000-000000000000";
        let claim = claim_object(&service, id, true);
        assert_eq!(
            claim.metadata.name.as_deref(),
            Some("goalert-claim-goalertservice-0d3c1b2a-0000-4000-8000-000000000000")
        );
        assert_eq!(data(&claim, "uid"), "u-1");
        assert_eq!(data(&claim, "namespace"), "team-a");
        assert_eq!(data(&claim, "adopted"), "true");
        assert_eq!(
            claim.labels().get(LABEL).map(String::as_str),
            Some("goalertservice")
        );
    }
}
