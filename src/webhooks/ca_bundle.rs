//! Writes the CA into this operator's ValidatingWebhookConfiguration and
//! MutatingWebhookConfiguration: only `webhooks[*].clientConfig.caBundle`, with a JSON patch that
//! first tests each entry's name, so every other field stays Helm's (or whoever made them).

use k8s_openapi::{
    ByteString,
    api::admissionregistration::v1::{MutatingWebhookConfiguration, ValidatingWebhookConfiguration},
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams},
};
use serde_json::json;

/// The patch for a configuration whose webhooks are `(name, current caBundle)`; `None` when
/// every caBundle is already `bundle`.
pub fn patch(webhooks: &[(String, Option<Vec<u8>>)], bundle: &[u8]) -> Option<json_patch::Patch> {
    let mut ops = Vec::new();
    for (i, (name, current)) in webhooks.iter().enumerate() {
        if current.as_deref() == Some(bundle) {
            continue;
        }
        ops.push(json!({ "op": "test", "path": format!("/webhooks/{i}/name"), "value": name }));
        ops.push(json!({
            "op": "add",
            "path": format!("/webhooks/{i}/clientConfig/caBundle"),
            "value": ByteString(bundle.to_vec()),
        }));
    }
    (!ops.is_empty()).then(|| serde_json::from_value(json!(ops)).expect("valid JSON patch"))
}

/// A webhook configuration kind, seen as its webhooks' names and current caBundles.
trait WebhookConfiguration:
    kube::Resource<DynamicType = (), Scope = k8s_openapi::ClusterResourceScope>
    + Clone
    + serde::de::DeserializeOwned
    + std::fmt::Debug
{
    fn bundles(&self) -> Vec<(String, Option<Vec<u8>>)>;
}

macro_rules! webhook_configuration {
    ($($kind:ty),*) => {$(
        impl WebhookConfiguration for $kind {
            fn bundles(&self) -> Vec<(String, Option<Vec<u8>>)> {
                self.webhooks
                    .iter()
                    .flatten()
                    .map(|w| (w.name.clone(), w.client_config.ca_bundle.as_ref().map(|b| b.0.clone())))
                    .collect()
            }
        }
    )*};
}
webhook_configuration!(ValidatingWebhookConfiguration, MutatingWebhookConfiguration);

/// Injects `bundle` (PEM) into both configurations named `name`. A configuration that does not
/// exist is an error (the caller retries), so readiness says what is missing.
pub async fn inject(client: &Client, name: &str, bundle: &[u8]) -> Result<(), kube::Error> {
    inject_into::<ValidatingWebhookConfiguration>(client, name, bundle).await?;
    inject_into::<MutatingWebhookConfiguration>(client, name, bundle).await
}

async fn inject_into<C: WebhookConfiguration>(
    client: &Client,
    name: &str,
    bundle: &[u8],
) -> Result<(), kube::Error> {
    let api: Api<C> = Api::all(client.clone());
    let config = api.get(name).await?;
    if let Some(p) = patch(&config.bundles(), bundle) {
        api.patch(name, &PatchParams::default(), &Patch::<()>::Json(p))
            .await?;
        tracing::info!(
            configuration = name,
            kind = C::kind(&()).as_ref(),
            "caBundle injected"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_stale_bundles_are_patched_each_behind_a_name_test() {
        let webhooks = vec![
            ("validate.goalert.heystaq.com".to_owned(), None),
            ("other".to_owned(), Some(b"PEM".to_vec())),
        ];
        let p = serde_json::to_value(patch(&webhooks, b"PEM").unwrap()).unwrap();
        assert_eq!(
            p,
            json!([
                { "op": "test", "path": "/webhooks/0/name", "value": "validate.goalert.heystaq.com" },
                { "op": "add", "path": "/webhooks/0/clientConfig/caBundle", "value": "UEVN" },
            ])
        );
        assert!(patch(&[("x".into(), Some(b"PEM".to_vec()))], b"PEM").is_none());
    }
}
