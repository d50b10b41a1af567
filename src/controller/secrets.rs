//! Kubernetes Secrets the operator writes credentials into: created with an owner reference and
//! the operator's label, updated key by key, and never taken from someone else unless allowed.
//! Also reading the Secrets specs name as sources of credentials.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::{ByteString, api::core::v1::Secret};
use kube::{
    Api, Resource, ResourceExt,
    api::{ObjectMeta, Patch, PatchParams, PostParams},
};
use serde_json::{Value, json};

use super::{
    Context,
    error::{Error, Result},
};
use crate::api::SecretKeyRef;
use goalert_client::secret;

/// Label on Secrets the operator made, so it never mistakes someone else's Secret for its own
/// (and watches only its own).
pub const MANAGED_BY: (&str, &str) = ("app.kubernetes.io/managed-by", "goalert-provisioning");

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

/// Writes `contents` into the Secret `name` of the owner's namespace. A Secret that exists and was
/// not made by the operator is refused unless `adopt` is set. Returns whether anything changed.
pub async fn write<K>(
    ctx: &Context,
    owner: &K,
    name: &str,
    contents: &Contents,
    adopt: bool,
    field: &str,
) -> Result<bool>
where
    K: Resource<DynamicType = ()>,
{
    let namespace = owner.namespace().unwrap_or_default();
    let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), &namespace);
    let Some(existing) = secrets.get_opt(name).await? else {
        if contents.set.is_empty() {
            return Ok(false);
        }
        let secret = Secret {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: Some(namespace),
                labels: Some([(MANAGED_BY.0.to_owned(), MANAGED_BY.1.to_owned())].into()),
                owner_references: owner.controller_owner_ref(&()).map(|o| vec![o]),
                ..ObjectMeta::default()
            },
            data: Some(
                contents
                    .set
                    .iter()
                    .map(|(k, v)| (k.clone(), ByteString(v.clone().into_bytes())))
                    .collect(),
            ),
            ..Secret::default()
        };
        secrets.create(&PostParams::default(), &secret).await?;
        return Ok(true);
    };
    let ours = existing.labels().get(MANAGED_BY.0).map(String::as_str) == Some(MANAGED_BY.1);
    if !ours && !adopt {
        return Err(Error::Secret {
            field: field.to_owned(),
            message: format!(
                "Secret {name:?} already exists and was not made by the operator; \
                 set spec.adoptExistingSecrets: true to let the operator write into it"
            ),
        });
    }
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
        .await?;
    Ok(true)
}

/// The text in `reference`'s Secret and key, without a trailing newline (as `echo` writes it).
/// Errors name `field` and the Secret, never the value.
pub async fn read_key(
    secrets: &Api<Secret>,
    reference: &SecretKeyRef,
    field: &str,
) -> Result<secret::Secret> {
    let missing = |message: String| Error::Secret {
        field: field.into(),
        message,
    };
    let secret = secrets
        .get_opt(&reference.name)
        .await?
        .ok_or_else(|| missing(format!("Secret {:?} does not exist", reference.name)))?;
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
