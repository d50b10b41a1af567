//! Which resource owns which GoAlert object, recorded where tenants cannot write: one ConfigMap
//! per GoAlert object (a claim) in the operator's own namespace. `status.goalertId` and
//! `status.adopted` are only a report: anyone allowed to write `*/status` can change them, so
//! every reconcile checks the claim, and a forged status changes nothing.
//!
//! Creating a claim is the lock: the API server creates a name once, so of two resources racing
//! for one GoAlert object exactly one wins. A claim whose resource no longer exists (deleted
//! while the operator was down) is stale and taken over.

use std::collections::BTreeMap;

use k8s_openapi::{api::core::v1::ConfigMap, apimachinery::pkg::apis::meta::v1::ObjectMeta};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, ListParams, PostParams, Preconditions},
};

use super::{
    Context, Provisioned,
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

/// The claims, in the operator's own namespace.
pub(super) fn api(ctx: &Context) -> Api<ConfigMap> {
    Api::namespaced(ctx.kube.clone(), ctx.tenancy.operator_namespace())
}

/// The claim's holder as seen by `obj`; checks that another holder still exists. The watch
/// caches answer; only an answer that would let `obj` take the object (no claim, or a holder
/// gone) is confirmed by a read, because a cache can lag a claim or a resource just made.
pub async fn holder<K: Provisioned>(ctx: &Context, obj: &K, id: &str) -> Result<Holder> {
    let name = name(&K::kind(&()), id);
    if let Some(claim) = ctx
        .caches
        .get::<ConfigMap>(ctx.tenancy.operator_namespace(), &name)
    {
        let holder = interpret::<K>(ctx, obj, &claim).await?;
        if holder != Holder::Nobody {
            return Ok(holder);
        }
    }
    match api(ctx)
        .get_opt(&name)
        .await
        .during(|| format!("get claim on {id}"))?
    {
        Some(claim) => interpret::<K>(ctx, obj, &claim).await,
        None => Ok(Holder::Nobody),
    }
}

/// The GoAlert object `obj` holds a claim on, from the claims' cache: how a resource whose pass
/// stopped between the create and its status (a crash, a lost leadership) still finds what it
/// made when it is deleted.
pub fn claimed_by<K: Provisioned>(ctx: &Context, obj: &K) -> Option<String> {
    let uid = obj.uid()?;
    let kind = K::kind(&());
    let claims = ctx.caches.store::<ConfigMap>()?;
    claims
        .state()
        .into_iter()
        .find(|claim| data(claim, "uid") == uid && data(claim, "kind") == kind)
        .map(|claim| data(&claim, "goalertId"))
}

/// The holder of an existing claim: [`Holder::Nobody`] when it is stale. The claimed resource is
/// looked up in its kind's cache, and read only when the cache does not hold it alive.
async fn interpret<K: Provisioned>(ctx: &Context, obj: &K, claim: &ConfigMap) -> Result<Holder> {
    let (namespace, name) = (data(claim, "namespace"), data(claim, "name"));
    let cached = ctx.caches.get::<K>(&namespace, &name);
    let holder = holder_given(claim, obj, cached.as_deref());
    if holder != Holder::Nobody {
        return Ok(holder);
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), &namespace);
    let claimant = api
        .get_opt(&name)
        .await
        .during(|| format!("get {} {namespace}/{name}", K::kind(&())))?;
    Ok(holder_given(claim, obj, claimant.as_ref()))
}

/// The holder of `claim` as seen by `obj`, given the resource the claim names as found (`None`:
/// not found). A resource of that name with another UID is a new one, not the holder.
fn holder_given<K: Resource>(claim: &ConfigMap, obj: &K, claimant: Option<&K>) -> Holder {
    let uid = data(claim, "uid");
    if obj.uid().is_some_and(|mine| mine == uid) {
        return Holder::This {
            adopted: data(claim, "adopted") == "true",
        };
    }
    if claimant.is_some_and(|other| other.uid().as_deref() == Some(uid.as_str())) {
        Holder::Other(format!("{}/{}", data(claim, "namespace"), data(claim, "name")))
    } else {
        Holder::Nobody
    }
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
pub async fn claim<K: Provisioned>(ctx: &Context, obj: &K, id: &str, adopted: bool) -> Result<()> {
    let api = api(ctx);
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
            Holder::This { .. } => return Ok(()),
            Holder::Other(owner) => {
                return Err(Error::Conflict {
                    what: format!("{} {id}", K::kind(&())),
                    owner,
                });
            }
            Holder::Nobody => delete_exactly(&api, &existing).await?,
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
pub async fn release<K: Provisioned>(ctx: &Context, obj: &K, id: &str) -> Result<()> {
    let api = api(ctx);
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
pub async fn record_existing<K: Provisioned>(ctx: &Context) -> Result<()> {
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
    Ok(api(ctx)
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
    match api(ctx).create(&PostParams::default(), &marker).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 409 => Ok(()),
        Err(e) => Err(e).during(|| format!("create {RECORDED}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::GoAlertService;

    fn service(namespace: &str, name: &str, uid: &str) -> GoAlertService {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1", "kind": "GoAlertService",
            "metadata": { "name": name, "namespace": namespace, "uid": uid },
            "spec": { "escalationPolicyRef": { "name": "p" } },
        }))
        .unwrap()
    }

    #[test]
    fn a_claim_is_held_by_its_uid_while_that_resource_exists() {
        let id = "0d3c1b2a-0000-4000-8000-000000000000";
        let holder = service("team-a", "my-app", "u-1");
        let claim = claim_object(&holder, id, true);
        assert_eq!(
            holder_given(&claim, &holder, None),
            Holder::This { adopted: true },
            "its own claim, whatever is found"
        );
        let other = service("team-b", "copy", "u-2");
        assert_eq!(
            holder_given(&claim, &other, Some(&holder)),
            Holder::Other("team-a/my-app".into())
        );
        assert_eq!(
            holder_given(&claim, &other, None),
            Holder::Nobody,
            "the holder is gone: stale"
        );
        let remade = service("team-a", "my-app", "u-3");
        assert_eq!(
            holder_given(&claim, &other, Some(&remade)),
            Holder::Nobody,
            "a resource made again under the holder's name is not the holder"
        );
        assert_eq!(
            holder_given(&claim, &remade, Some(&remade)),
            Holder::Nobody,
            "nor does it hold the claim itself"
        );
    }

    #[test]
    fn a_claim_names_the_object_and_its_owner_by_uid() {
        let service = service("team-a", "my-app", "u-1");
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
