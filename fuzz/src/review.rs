//! Target `review_bytes`: raw bytes posted to `/validate` and `/mutate`, the routes the operator
//! serves, over an empty cluster, once with GoAlert answering "unknown" (and references to
//! missing custom resources denied) and once with GoAlert unavailable (and them admitted with a
//! warning).

use std::sync::LazyLock;

use axum::{
    Router,
    body::Body,
    http::{Request, StatusCode, header},
};
use goalert_provisioning::webhooks::{fuzzing, mutate, validate::MissingNames};
use kube::{
    api::DynamicObject,
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview},
};
use serde_json::Value;
use tower::ServiceExt;

use crate::lookups::Answers;

struct Webhooks {
    runtime: tokio::runtime::Runtime,
    routes: Vec<Router>,
}

static WEBHOOKS: LazyLock<Webhooks> = LazyLock::new(|| Webhooks {
    runtime: tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime"),
    routes: [
        (Answers::Unknown, MissingNames::Deny),
        (Answers::Unavailable, MissingNames::Warn),
    ]
    .into_iter()
    .map(|(answers, missing)| fuzzing::routes(Box::new(answers), crate::tenancy(), missing))
    .collect(),
});

/// Runs `future` on the fuzzers' runtime.
pub fn block_on<F: Future>(future: F) -> F::Output {
    WEBHOOKS.runtime.block_on(future)
}

/// The fuzz body.
pub fn review_bytes(data: &[u8]) {
    let decoded = serde_json::from_slice::<AdmissionReview<DynamicObject>>(data);
    // The request as the API server sent it, which a patch must apply to.
    let raw = serde_json::from_slice::<Value>(data).ok();
    let request: Option<AdmissionRequest<DynamicObject>> = decoded
        .as_ref()
        .ok()
        .and_then(|review| review.clone().try_into().ok());
    for routes in &WEBHOOKS.routes {
        for path in ["/validate", "/mutate"] {
            let (status, body) = block_on(post(routes, path, data));
            let Ok(_) = &decoded else {
                assert!(
                    status.is_client_error(),
                    "{path}: bytes that are no AdmissionReview got {status}"
                );
                continue;
            };
            assert_eq!(status, StatusCode::OK, "{path}: an AdmissionReview got {status}");
            let review: AdmissionReview<DynamicObject> = serde_json::from_slice(&body)
                .unwrap_or_else(|e| panic!("{path}: the answer is no AdmissionReview: {e}"));
            let response = review
                .response
                .unwrap_or_else(|| panic!("{path}: the answer has no response"));
            match &request {
                None => assert_eq!(
                    response.result.reason, "InvalidRequest",
                    "{path}: a review without a usable request must be answered as invalid"
                ),
                Some(request) => {
                    assert_eq!(
                        response.uid, request.uid,
                        "{path}: the answer is for another request"
                    );
                    if path == "/validate" {
                        check_denial(&response);
                    } else {
                        check_mutation(&response, request, raw.as_ref());
                    }
                }
            }
        }
    }
}

async fn post(routes: &Router, path: &str, data: &[u8]) -> (StatusCode, axum::body::Bytes) {
    let request = Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(data.to_vec()))
        .expect("a well-formed request");
    let response = routes
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("an in-memory body");
    (status, body)
}

/// Whether `field` is a path into an object as kubectl shows it (`spec.keys[0].name`).
pub fn is_field_path(field: &str) -> bool {
    let root = field.split(['.', '[']).next().unwrap_or_default();
    matches!(root, "spec" | "metadata" | "kind") && !field.ends_with('.')
}

/// A denial is a 422 Invalid status with one cause per field, each field a path.
fn check_denial(response: &AdmissionResponse) {
    if response.allowed {
        return;
    }
    let result = &response.result;
    assert_eq!(
        result.reason, "Invalid",
        "a denial that is not a field error: {result:?}"
    );
    assert_eq!(result.code, 422, "{result:?}");
    let causes = result
        .details
        .as_ref()
        .map(|d| d.causes.as_slice())
        .unwrap_or_default();
    assert!(!causes.is_empty(), "a denial names no field: {result:?}");
    for cause in causes {
        assert!(
            is_field_path(&cause.field),
            "a denial's field is no path: {cause:?}"
        );
        assert!(
            !cause.message.is_empty(),
            "a denial says nothing about {}",
            cause.field
        );
        assert!(
            result.message.contains(&cause.field),
            "the message does not name {}: {}",
            cause.field,
            result.message
        );
    }
}

/// A mutation is allowed; its patch applies to the object as sent, and adds nothing the second
/// time.
fn check_mutation(
    response: &AdmissionResponse,
    request: &AdmissionRequest<DynamicObject>,
    raw: Option<&Value>,
) {
    assert!(
        response.allowed,
        "the mutating webhook denied: {:?}",
        response.result
    );
    let Some(patch) = &response.patch else {
        return;
    };
    let patch: json_patch::Patch =
        serde_json::from_slice(patch).unwrap_or_else(|e| panic!("the patch is no JSON patch: {e}"));
    // serde skips unknown fields without checking their UTF-8, so a review can decode while its
    // bytes are no JSON value: then the object as the webhook read it stands for the one sent.
    let mut object = raw
        .and_then(|review| review.pointer("/request/object"))
        .cloned()
        .or_else(|| {
            request
                .object
                .as_ref()
                .map(|o| serde_json::to_value(o).expect("a JSON object"))
        })
        .expect("a patch is only made for a request with an object");
    json_patch::patch(&mut object, &patch)
        .unwrap_or_else(|e| panic!("the patch {patch:?} does not apply to the object sent: {e}"));
    let old = request
        .old_object
        .as_ref()
        .map(|o| serde_json::to_value(o).expect("a JSON object"));
    let again = mutate::defaults(&request.kind.kind, &object, old.as_ref());
    assert!(again.0.is_empty(), "mutating the mutated object adds {again:?}");
}
