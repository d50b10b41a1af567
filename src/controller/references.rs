//! Turning references in a spec into GoAlert IDs.
//!
//! A reference names a custom resource in the same namespace (which must be Ready: until then
//! the referring object waits with DependencyNotReady and is woken by a watch), or an object
//! that exists only in GoAlert, by name, e-mail or ID.

use std::any::TypeId;

use kube::ResourceExt;

use super::{
    Context,
    conditions::is_ready,
    error::{Error, Result},
    reconcile::Provisioned,
};
use crate::api::{GoAlertUser, ObjectRef, UserRef};

/// The resource whose references are resolved: they name resources of its namespace, and its
/// kind's wake watches say when those are Ready.
pub struct Referrer {
    namespace: String,
    kind: TypeId,
}

impl Referrer {
    pub fn of<R: Provisioned>(referrer: &R) -> Self {
        Referrer {
            namespace: referrer.namespace().unwrap_or_default(),
            kind: TypeId::of::<R>(),
        }
    }
}

/// The GoAlert ID of the Ready custom resource of kind `K` named `name` in the referrer's
/// namespace: from the kind's cache, else from what the referrer's wake watch saw, which is never
/// older than the wake that started this pass. Neither asks the API server: a resource not Ready
/// in either is waited for, and its wake comes once it is.
async fn ready_id<K: Provisioned>(ctx: &Context, referrer: &Referrer, name: &str) -> Result<String> {
    let namespace = referrer.namespace.as_str();
    // Right after a start the kind's cache may still be filling, and its "no" would mean nothing
    // (a restart would report every dependent as waiting, then Ready again).
    if let Some(cache) = ctx.caches.cache::<K>() {
        cache.listed().await;
    }
    let cached = ctx.caches.get::<K>(namespace, name);
    if let Some(id) = cached.as_deref().and_then(ready) {
        return Ok(id);
    }
    if let Some(id) = ctx.seen.ready_id::<K>(referrer.kind, namespace, name) {
        return Ok(id);
    }
    let kind = K::kind(&());
    let exists = cached.is_some() || ctx.seen.exists::<K>(referrer.kind, namespace, name);
    Err(Error::DependencyNotReady(if exists {
        format!("waiting for {kind} {name:?} to become Ready")
    } else {
        format!("waiting for {kind} {name:?}, which does not exist yet")
    }))
}

/// The GoAlert ID of a Ready resource.
fn ready<K: Provisioned>(object: &K) -> Option<String> {
    let status = object.common_status()?;
    is_ready(&status.conditions).then(|| status.goalert_id.clone())?
}

pub async fn object_id<K: Provisioned>(
    ctx: &Context,
    referrer: &Referrer,
    reference: &ObjectRef,
    field: &str,
) -> Result<String> {
    let kind = K::kind(&());
    match reference {
        ObjectRef { name: Some(name), .. } => ready_id::<K>(ctx, referrer, name).await,
        ObjectRef {
            goalert_name: Some(name),
            ..
        } => K::find(ctx, name).await?.ok_or_else(|| Error::InvalidSpec {
            field: format!("{field}.goalertName"),
            message: format!("no {kind} named {name:?} exists in GoAlert"),
        }),
        ObjectRef {
            goalert_id: Some(id), ..
        } => match K::observe(ctx, id).await? {
            Some(_) => Ok(id.clone()),
            None => Err(Error::InvalidSpec {
                field: format!("{field}.goalertId"),
                message: format!("no {kind} with ID {id} exists in GoAlert"),
            }),
        },
        _ => Err(Error::InvalidSpec {
            field: field.into(),
            message: "set one of name, goalertName, goalertId".into(),
        }),
    }
}

pub async fn user_id(ctx: &Context, referrer: &Referrer, reference: &UserRef, field: &str) -> Result<String> {
    match reference {
        UserRef { name: Some(name), .. } => ready_id::<GoAlertUser>(ctx, referrer, name).await,
        UserRef {
            email: Some(email), ..
        } => {
            let ids = ctx.goalert.user_ids_by_email(email).await?;
            match ids.as_slice() {
                [id] => Ok(id.clone()),
                [] => Err(Error::InvalidSpec {
                    field: format!("{field}.email"),
                    message: format!("no GoAlert user has the e-mail {email:?}"),
                }),
                _ => Err(Error::InvalidSpec {
                    field: format!("{field}.email"),
                    message: format!("several GoAlert users have the e-mail {email:?}; use goalertId"),
                }),
            }
        }
        UserRef {
            goalert_id: Some(id), ..
        } => match ctx.goalert.user(id).await? {
            Some(_) => Ok(id.clone()),
            None => Err(Error::InvalidSpec {
                field: format!("{field}.goalertId"),
                message: format!("no GoAlert user with ID {id}"),
            }),
        },
        _ => Err(Error::InvalidSpec {
            field: field.into(),
            message: "set one of name, email, goalertId".into(),
        }),
    }
}
