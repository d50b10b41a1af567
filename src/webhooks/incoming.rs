//! Reading an AdmissionReview from a request body within bounds on the operator's memory.
//!
//! kube-apiserver calls the mutating webhook before the CRD schema check, so objects far beyond
//! the CRDs' limits arrive here: up to its 3 MiB request limit, for example a GoAlertService with
//! 40,000 integration keys. Parsed into a tree, such a review takes about a kilobyte per JSON
//! value (300-500 MB for that one, more than the chart's memory limit). So the values are
//! counted first, by a scan of the bytes that allocates nothing, and a review with more than
//! [`MAX_REVIEW_VALUES`] is answered from its uid alone: the mutating webhook admits it
//! unchanged (the schema check then refuses the object with its own message naming the field),
//! the validating webhook refuses it.

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::StatusCode,
    response::{IntoResponse, Response},
};
use kube::{
    api::DynamicObject,
    core::admission::{AdmissionResponse, AdmissionReview},
};
use serde::Deserialize;

use super::review::Findings;

/// The largest body read. kube-apiserver takes requests of up to 3 MiB
/// (`--max-request-body-bytes`), and a review carries that object and, on UPDATE, the stored one
/// (at most etcd's 1.5 MiB). Below that (axum's default is 2 MB) an oversized object got "failed
/// calling webhook ... 413" instead of the schema's message naming the field.
pub const REVIEW_BODY_LIMIT: usize = 8 * 1024 * 1024;

/// The most JSON values a review may hold to be parsed. The largest spec the CRDs admit (a
/// GoAlertSchedule with every list full) has about 3,800; an UPDATE of such an object, with the
/// old object, managed fields and status, stays under 25,000. 40,000 bounds a parsed review to
/// about 40 MB.
pub const MAX_REVIEW_VALUES: usize = 40_000;

/// About how many JSON values `body` holds (every container, and every member after a comma:
/// keys are not counted apart from their values), counting at most to `limit + 1`.
pub fn json_values(body: &[u8], limit: usize) -> usize {
    let (mut count, mut in_string, mut escaped) = (1, false, false);
    for &byte in body {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'{' | b'[' | b',' => {
                count += 1;
                if count > limit {
                    break;
                }
            }
            _ => {}
        }
    }
    count
}

/// A review as the handlers get it.
pub enum Incoming {
    Review(Box<AdmissionReview<DynamicObject>>),
    TooLarge(TooLarge),
}

/// What is read of a review with too many values: the fields it is answered with (skipped over
/// by serde without building anything else).
#[derive(Debug, Default, Deserialize)]
pub struct TooLarge {
    #[serde(default)]
    request: Option<Identity>,
}

#[derive(Debug, Default, Deserialize)]
struct Identity {
    uid: String,
    #[serde(default)]
    kind: IdentityKind,
    #[serde(default)]
    name: String,
}

#[derive(Debug, Default, Deserialize)]
struct IdentityKind {
    #[serde(default)]
    kind: String,
}

impl TooLarge {
    fn base(&self) -> Option<(AdmissionResponse, &Identity)> {
        let identity = self.request.as_ref()?;
        let mut response = AdmissionResponse::invalid("");
        response.uid.clone_from(&identity.uid);
        response.allowed = true;
        response.result = Default::default();
        Some((response, identity))
    }

    /// The mutating webhook's answer: admitted, no defaults.
    pub fn admit(&self) -> AdmissionReview<DynamicObject> {
        match self.base() {
            Some((response, _)) => response.into_review(),
            None => AdmissionResponse::invalid("the review has no request").into_review(),
        }
    }

    /// The validating webhook's answer: refused, saying why.
    pub fn refuse(&self) -> AdmissionReview<DynamicObject> {
        let Some((response, identity)) = self.base() else {
            return AdmissionResponse::invalid("the review has no request").into_review();
        };
        let mut findings = Findings::default();
        findings.invalid(
            "spec",
            format!(
                "the object holds more than {MAX_REVIEW_VALUES} JSON values; the largest the CRDs \
                 allow holds about 4,000: shorten its lists"
            ),
        );
        findings
            .respond(response, &identity.kind.kind, &identity.name)
            .into_review()
    }
}

impl<S: Send + Sync> FromRequest<S> for Incoming {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Response> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let unreadable = |e: serde_json::Error| {
            (StatusCode::BAD_REQUEST, format!("not an AdmissionReview: {e}")).into_response()
        };
        let values = json_values(&body, MAX_REVIEW_VALUES);
        if values > MAX_REVIEW_VALUES {
            let too_large: TooLarge = serde_json::from_slice(&body).map_err(unreadable)?;
            tracing::warn!(
                bytes = body.len(),
                uid = too_large.request.as_ref().map(|r| r.uid.as_str()),
                "webhook: a review of more than {MAX_REVIEW_VALUES} JSON values, answered unread"
            );
            return Ok(Self::TooLarge(too_large));
        }
        serde_json::from_slice(&body)
            .map(|review| Self::Review(Box::new(review)))
            .map_err(unreadable)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn values_are_counted_outside_strings_up_to_the_limit() {
        for (case, body, limit, want) in [
            ("a scalar", r#"1"#, 10, 1),
            ("an object of two", r#"{"a":1,"b":[2,3]}"#, 10, 5),
            (
                "brackets and commas in strings",
                r#"{"a":"{[,]}","b":"\",{"}"#,
                10,
                3,
            ),
            ("an escaped backslash ends the string", r#"["\\",{}]"#, 10, 4),
            ("stops past the limit", "[1,2,3,4,5,6,7,8,9]", 3, 4),
        ] {
            assert_eq!(json_values(body.as_bytes(), limit), want, "{case}");
        }
    }

    #[test]
    fn ten_thousand_keys_are_over_the_limit_and_the_largest_valid_spec_is_not() {
        let keys: Vec<_> = (0..10_000)
            .map(|i| json!({ "name": format!("Key {i}"), "secretRef": { "name": "keys", "key": format!("k{i}") } }))
            .collect();
        let review = json!({ "request": { "uid": "u", "object": { "spec": { "integrationKeys": keys } } } });
        assert!(json_values(review.to_string().as_bytes(), MAX_REVIEW_VALUES) > MAX_REVIEW_VALUES);
        // Every list of a GoAlertSchedule full (10 targets of 30 rules with 7 weekdays), twice
        // (object and old object): well under.
        let rule = json!({ "start": "09:00", "end": "17:00", "weekdays": vec!["Monday"; 7] });
        let target = json!({ "rotationRef": { "name": "r" }, "rules": vec![rule; 30] });
        let object = json!({ "spec": { "targets": vec![target; 10] } });
        let update = json!({ "request": { "uid": "u", "object": object, "oldObject": object } });
        assert!(json_values(update.to_string().as_bytes(), MAX_REVIEW_VALUES) < MAX_REVIEW_VALUES / 4);
    }

    #[test]
    fn a_review_too_large_to_read_is_admitted_unchanged_or_refused_with_a_field() {
        let too_large: TooLarge = serde_json::from_value(json!({
            "request": { "uid": "abc", "kind": { "kind": "GoAlertService" }, "name": "many", "object": {} }
        }))
        .unwrap();
        let admitted = too_large.admit().response.unwrap();
        assert!(admitted.allowed && admitted.patch.is_none());
        assert_eq!(admitted.uid, "abc");
        let refused = too_large.refuse().response.unwrap();
        assert!(!refused.allowed);
        assert_eq!(refused.uid, "abc");
        assert_eq!(refused.result.code, 422);
        assert_eq!(refused.result.details.unwrap().causes[0].field, "spec");
        let no_request = TooLarge::default().admit().response.unwrap();
        assert_eq!(no_request.result.reason, "InvalidRequest");
    }
}
