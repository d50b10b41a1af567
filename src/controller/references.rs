//! Turning references in a spec into GoAlert IDs.
//!
//! A reference names a custom resource in the same namespace (which must be Ready: until then
//! the referring object waits with DependencyNotReady and is woken by a watch), or an object
//! that exists only in GoAlert, by name, e-mail or ID.

use kube::{Api, ResourceExt};

use super::{
    Context,
    conditions::is_ready,
    error::{Error, KubeCall, Result},
    reconcile::Provisioned,
};
use crate::api::{GoAlertUser, ObjectRef, UserRef};

/// The GoAlert ID of a Ready custom resource of kind `K` named `name` in `namespace`. The watch
/// cache answers when it holds the resource Ready; only a no is checked with a read, because the
/// cache can lag the event that woke this reconcile.
async fn ready_id<K: Provisioned>(ctx: &Context, namespace: &str, name: &str) -> Result<String> {
    if let Some(id) = ctx.caches.get::<K>(namespace, name).as_deref().and_then(ready) {
        return Ok(id);
    }
    let api: Api<K> = Api::namespaced(ctx.kube.clone(), namespace);
    let kind = K::kind(&());
    let Some(object) = api
        .get_opt(name)
        .await
        .during(|| format!("get {kind} {namespace}/{name}"))?
    else {
        return Err(Error::DependencyNotReady(format!(
            "waiting for {kind} {name:?}, which does not exist yet"
        )));
    };
    ready(&object).ok_or_else(|| {
        Error::DependencyNotReady(format!(
            "waiting for {kind} {:?} to become Ready",
            object.name_any()
        ))
    })
}

/// The GoAlert ID of a Ready resource.
fn ready<K: Provisioned>(object: &K) -> Option<String> {
    let status = object.common_status()?;
    is_ready(&status.conditions).then(|| status.goalert_id.clone())?
}

pub async fn object_id<K: Provisioned>(
    ctx: &Context,
    namespace: &str,
    reference: &ObjectRef,
    field: &str,
) -> Result<String> {
    let kind = K::kind(&());
    match reference {
        ObjectRef { name: Some(name), .. } => ready_id::<K>(ctx, namespace, name).await,
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

pub async fn user_id(ctx: &Context, namespace: &str, reference: &UserRef, field: &str) -> Result<String> {
    match reference {
        UserRef { name: Some(name), .. } => ready_id::<GoAlertUser>(ctx, namespace, name).await,
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
