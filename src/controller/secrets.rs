//! Kubernetes Secrets the operator writes credentials into: created with an owner reference and
//! the operator's label, updated key by key. An existing Secret is written only when the resource
//! owns it (an owner reference with the resource's UID) or when the Secret itself names the
//! resource in the annotation [`WRITABLE_BY`] (so only someone allowed to edit that Secret can
//! open it); never a Secret of a type other than Opaque (service-account tokens, TLS, Helm
//! releases, docker configs), whatever the spec says. Labels prove nothing: anyone can set them.
//! Also reading the Secrets specs name as sources of credentials.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api, Resource, ResourceExt,
    api::{ObjectMeta, Patch, PatchParams, PostParams},
    runtime::reflector::ObjectRef,
};
use serde_json::{Value, json};

use super::{
    Context,
    error::{Error, KubeCall, Result},
};
use crate::api::SecretKeyRef;
use goalert_client::secret;

/// Label on Secrets the operator made, so it never mistakes someone else's Secret for its own
/// (and watches only its own).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "goalert-provisioning");

/// Annotation on an existing Secret that lets the named resources of its namespace write their
/// credentials into it: comma-separated names, for example `my-app` for GoAlertService my-app.
pub const WRITABLE_BY: &str = "goalert.heystaq.com/writable-by";

const OPAQUE: &str = "Opaque";

/// Whether `owner` (kind, name, UID) may write into the existing Secret; else why not.
pub fn may_write(existing: &Secret, kind: &str, name: &str, uid: &str) -> Result<(), String> {
    let secret = existing.name_any();
    let type_ = existing.type_.as_deref().unwrap_or(OPAQUE);
    if type_ != OPAQUE {
        return Err(format!(
            "Secret {secret:?} has type {type_}; the operator writes only into Secrets of type Opaque"
        ));
    }
    let owned = existing
        .owner_references()
        .iter()
        .any(|reference| reference.kind == kind && reference.uid == uid);
    let opted_in = existing
        .annotations()
        .get(WRITABLE_BY)
        .is_some_and(|names| names.split(',').any(|n| n.trim() == name));
    if owned || opted_in {
        Ok(())
    } else {
        Err(format!(
            "Secret {secret:?} already exists and does not belong to {kind} {name:?} (no owner reference \
             with its UID); to let the operator write into it, annotate the Secret: \
             kubectl annotate secret {secret} {WRITABLE_BY}={name}"
        ))
    }
}

pub fn label_selector() -> String {
    format!("{}={}", MANAGED_BY.0, MANAGED_BY.1)
}

/// What one Secret should hold: `set` keys with their values, `remove` keys written earlier and
/// no longer wanted. Other keys of the Secret are left alone.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Contents {
    pub set: BTreeMap<String, String>,
    pub remove: BTreeSet<String>,
}

/// Writes `contents` into the Secret `name` of the owner's namespace, creating it owned by
/// `owner`. An existing Secret is written only as [`may_write`] allows, and only where its
/// content differs. Returns whether anything changed.
pub async fn write<K>(ctx: &Context, owner: &K, name: &str, contents: &Contents, field: &str) -> Result<bool>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = owner.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), &namespace);
    // The operator's Secret watch (one namespace watched) holds the Secrets it made: what it
    // does not hold is created at once, and a Secret it misses (made by someone else, or just
    // made) is met by the create. Without the watch, the Secret is read.
    let known = match ctx.caches.store::<Secret>() {
        Some(store) => store
            .get(&ObjectRef::new(name).within(&namespace))
            .map(|cached| (*cached).clone()),
        None => secrets
            .get_opt(name)
            .await
            .during(|| format!("get Secret {namespace}/{name}"))?,
    };
    let existing = match known {
        Some(existing) => existing,
        None if contents.set.is_empty() => return Ok(false),
        None => match create(&secrets, owner, name, &contents.set).await? {
            None => return Ok(true),
            Some(existing) => existing,
        },
    };
    check_writable(&existing, owner, field)?;
    let data = existing.data.unwrap_or_default();
    let patch = data_patch(&data, contents);
    if patch.is_empty() {
        return Ok(false);
    }
    secrets
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({ "data": patch })),
        )
        .await
        .during(|| format!("patch Secret {namespace}/{name}"))?;
    Ok(true)
}

/// Creates the Secret `name` owned by `owner` with `data`, unless one of that name exists: the
/// API server creates a name once, so no read is needed first. Returns the existing Secret, left
/// as it was, if there is one.
pub async fn create<K>(
    secrets: &Api<Secret>,
    owner: &K,
    name: &str,
    data: &BTreeMap<String, String>,
) -> Result<Option<Secret>>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = owner.namespace().unwrap_or_default();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.to_owned()),
            namespace: Some(namespace.clone()),
            labels: Some([(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned())].into()),
            owner_references: owner.controller_owner_ref(&()).map(|o| vec![o]),
            ..ObjectMeta::default()
        },
        data: Some(
            data.iter()
                .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                .collect(),
        ),
        ..Secret::default()
    };
    match secrets.create(&PostParams::default(), &secret).await {
        Ok(_) => return Ok(None),
        Err(kube::Error::Api(e)) if e.code == 409 => {}
        Err(e) => return Err(e).during(|| format!("create Secret {namespace}/{name}")),
    }
    match secrets
        .get_opt(name)
        .await
        .during(|| format!("get Secret {namespace}/{name}"))?
    {
        Some(existing) => Ok(Some(existing)),
        // Deleted between the two requests: the next reconcile creates it.
        None => Err(Error::DependencyNotReady(format!(
            "Secret {namespace}/{name} was deleted while being written; trying again"
        ))),
    }
}

/// Refuses, as a [`Error::Secret`] on `field`, a Secret `owner` may not write into.
pub fn check_writable<K: Resource<DynamicType = ()>>(
    existing: &Secret,
    owner: &K,
    field: &str,
) -> Result<()> {
    may_write(
        existing,
        &K::kind(&()),
        &owner.name_any(),
        owner.meta().uid.as_deref().unwrap_or_default(),
    )
    .map_err(|message| Error::Secret {
        field: field.to_owned(),
        message,
    })
}

/// The text in `reference`'s Secret and key, without a trailing newline (as `echo` writes it).
/// Errors name `field` and the Secret, never the value.
pub async fn read_key(
    secrets: &Api<Secret>,
    reference: &SecretKeyRef,
    field: &str,
) -> Result<secret::Secret> {
    let secret = secrets
        .get_opt(&reference.name)
        .await
        .during(|| format!("get Secret {}", reference.name))?
        .ok_or_else(|| Error::Secret {
            field: field.into(),
            message: format!("Secret {:?} does not exist", reference.name),
        })?;
    key(secret, reference, field)
}

/// The text at `reference.key` of `secret` (which is `reference.name`), as [`read_key`] reads it.
pub fn key(secret: Secret, reference: &SecretKeyRef, field: &str) -> Result<secret::Secret> {
    let missing = |message: String| Error::Secret {
        field: field.into(),
        message,
    };
    let bytes = secret
        .data
        .and_then(|mut data| data.remove(&reference.key))
        .ok_or_else(|| {
            missing(format!(
                "Secret {:?} has no key {:?}",
                reference.name, reference.key
            ))
        })?;
    let value = String::from_utf8(bytes.0)
        .map_err(|_| missing(format!("key {:?} is not UTF-8 text", reference.key)))?;
    Ok(secret::Secret::new(value.trim_end_matches('\n')))
}

/// The merge patch of `data` that brings it to `contents`: changed values base64-encoded, removed
/// keys null. Empty when the Secret already matches.
fn data_patch(data: &BTreeMap<String, ByteString>, contents: &Contents) -> serde_json::Map<String, Value> {
    let mut patch = serde_json::Map::new();
    for (key, value) in &contents.set {
        if data.get(key).map(|v| v.0.as_slice()) != Some(value.as_bytes()) {
            patch.insert(
                key.clone(),
                serde_json::to_value(ByteString(value.clone().into_bytes())).expect("bytes serialize"),
            );
        }
    }
    for key in &contents.remove {
        if data.contains_key(key) && !contents.set.contains_key(key) {
            patch.insert(key.clone(), Value::Null);
        }
    }
    patch
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(type_: Option<&str>, owner_uid: Option<&str>, writable_by: Option<&str>) -> Secret {
        serde_json::from_value(json!({
            "metadata": {
                "name": "keys",
                "labels": { "app.kubernetes.io/managed-by": "goalert-provisioning" },
                "ownerReferences": owner_uid.map(|uid| vec![json!({
                    "apiVersion": "goalert.heystaq.com/v1alpha1", "kind": "GoAlertService",
                    "name": "my-app", "uid": uid,
                })]),
                "annotations": writable_by.map(|names| json!({ WRITABLE_BY: names })),
            },
            "type": type_,
        }))
        .unwrap()
    }

    #[test]
    fn only_owned_or_opted_in_opaque_secrets_are_written() {
        let may = |s: &Secret| may_write(s, "GoAlertService", "my-app", "uid-1");
        assert!(may(&secret(None, Some("uid-1"), None)).is_ok());
        assert!(may(&secret(Some("Opaque"), None, Some("other, my-app"))).is_ok());
        // The operator's label alone (anyone can set it) is not ownership.
        let refused = may(&secret(None, None, None)).unwrap_err();
        assert!(refused.contains(WRITABLE_BY), "{refused}");
        // Another resource's UID (a same-named resource that was deleted and made again) neither.
        assert!(may(&secret(None, Some("uid-2"), None)).is_err());
        assert!(may(&secret(Some("Opaque"), None, Some("my-app-2"))).is_err());
        for type_ in [
            "kubernetes.io/service-account-token",
            "kubernetes.io/tls",
            "helm.sh/release.v1",
        ] {
            let refused = may(&secret(Some(type_), Some("uid-1"), Some("my-app"))).unwrap_err();
            assert!(refused.contains("Opaque"), "{refused}");
        }
    }

    #[test]
    fn only_differences_are_patched_and_foreign_keys_are_kept() {
        let data: BTreeMap<_, _> = [
            ("url".to_owned(), ByteString(b"https://old".to_vec())),
            ("same".to_owned(), ByteString(b"v".to_vec())),
            ("gone".to_owned(), ByteString(b"x".to_vec())),
            ("someone-else".to_owned(), ByteString(b"keep".to_vec())),
        ]
        .into();
        let contents = Contents {
            set: [
                ("url".to_owned(), "https://new".to_owned()),
                ("same".to_owned(), "v".to_owned()),
            ]
            .into(),
            remove: ["gone".to_owned()].into(),
        };
        let patch = data_patch(&data, &contents);
        assert_eq!(
            Value::Object(patch),
            json!({ "url": "aHR0cHM6Ly9uZXc=", "gone": null })
        );
        let in_sync = Contents {
            set: [("same".to_owned(), "v".to_owned())].into(),
            remove: BTreeSet::new(),
        };
        assert!(data_patch(&data, &in_sync).is_empty());
    }
}
