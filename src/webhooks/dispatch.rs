//! The `/validate` and `/mutate` handlers: a review is checked for shape, dispatched to its
//! kind's validator, and counted under a label from the fixed list of kinds.

use std::{borrow::Cow, sync::Arc, time::Instant};

use axum::{Json, extract::State};
use kube::{
    api::DynamicObject,
    core::admission::{AdmissionRequest, AdmissionResponse, AdmissionReview, Operation},
};
use serde::de::DeserializeOwned;

use super::{
    Shared,
    incoming::Incoming,
    mutate,
    review::{FORBIDDEN, Findings},
    validate::{self, Admitted, Pending, RefKind},
};
use crate::{
    api::{
        GROUP, GoAlertAdmin, GoAlertEscalationPolicy, GoAlertRotation, GoAlertSchedule, GoAlertService,
        GoAlertUser,
    },
    tenancy::Governed,
};

/// The metric label for a review: its kind when it is one of ours, `unknown` otherwise, so a
/// caller cannot grow the label set.
pub(super) fn metric_kind(request: &AdmissionRequest<DynamicObject>) -> Cow<'static, str> {
    (request.kind.group == GROUP)
        .then(|| reviewer(&request.kind.kind))
        .flatten()
        .map_or(Cow::Borrowed("unknown"), |(kind, _)| kind)
}

pub(super) fn typed<K: DeserializeOwned>(object: &DynamicObject) -> Result<K, String> {
    serde_json::to_value(object)
        .and_then(serde_json::from_value)
        .map_err(|e| e.to_string())
}

pub(super) async fn review_kind<K: Admitted + Governed>(
    shared: &Shared,
    request: &AdmissionRequest<DynamicObject>,
) -> Findings {
    let mut findings = Findings::default();
    let namespace = request.namespace.clone().unwrap_or_default();
    let view = shared.stores.view();
    match request.operation {
        Operation::Delete => {
            if let Some(kind) = RefKind::of(&request.kind.kind) {
                let referrers = validate::referrers(&namespace, kind, &request.name, &view);
                if !referrers.is_empty() {
                    findings.warn(format!(
                        "{} {:?} is still referenced by {}; they stop being reconciled until the reference is fixed",
                        request.kind.kind,
                        request.name,
                        referrers.join(", ")
                    ));
                }
            }
        }
        Operation::Create | Operation::Update => {
            let Some(object) = &request.object else {
                return findings;
            };
            let object: K = match typed(object) {
                Ok(object) => object,
                Err(error) => {
                    findings.invalid("spec", format!("cannot be read: {error}"));
                    return findings;
                }
            };
            let old: Option<K> = request.old_object.as_ref().and_then(|o| typed(o).ok());
            if let Some(old) = &old {
                // Metadata-only updates (finalizers, labels) and objects on their way out are
                // never refused: the operator must always be able to finish a deletion.
                let spec = |o: &K| serde_json::to_value(o).ok().map(|v| v["spec"].clone());
                if spec(old) == spec(&object) || object.meta().deletion_timestamp.is_some() {
                    return findings;
                }
            }
            // The tenancy model first: a refused spec is not looked up in GoAlert at all.
            let refusals = object.refusals(&shared.tenancy);
            if !refusals.is_empty() {
                for refusal in refusals {
                    findings.error(refusal.field, FORBIDDEN, refusal.message);
                }
                return findings;
            }
            let mut pending = Pending::default();
            object.check(old.as_ref(), &view, &mut findings, &mut pending);
            let references = object.references();
            validate::resolve(
                &namespace,
                &references,
                &pending,
                &view,
                shared.lookups.as_ref(),
                shared.lookup_timeout,
                shared.missing_references,
                &mut findings,
            )
            .await;
        }
        Operation::Connect => {}
    }
    findings
}

/// The review of one kind.
pub(super) type Review =
    for<'a> fn(&'a Shared, &'a AdmissionRequest<DynamicObject>) -> validate::BoxFuture<'a, Findings>;

/// The review of the kind named `kind`, if this webhook reviews it, with the kind's name as the
/// operator spells it (a metric label from a fixed set).
pub(super) fn reviewer(kind: &str) -> Option<(Cow<'static, str>, Review)> {
    fn review<'a, K: Admitted + Governed>(
        shared: &'a Shared,
        request: &'a AdmissionRequest<DynamicObject>,
    ) -> validate::BoxFuture<'a, Findings> {
        Box::pin(review_kind::<K>(shared, request))
    }
    fn entry<K: Admitted + Governed>() -> (Cow<'static, str>, Review) {
        (K::kind(&()), review::<K>)
    }
    [
        entry::<GoAlertUser>(),
        entry::<GoAlertRotation>(),
        entry::<GoAlertSchedule>(),
        entry::<GoAlertEscalationPolicy>(),
        entry::<GoAlertService>(),
        entry::<GoAlertAdmin>(),
    ]
    .into_iter()
    .find(|(name, _)| name == kind)
}

pub(super) fn request_of(
    review: AdmissionReview<DynamicObject>,
) -> Result<AdmissionRequest<DynamicObject>, Box<AdmissionResponse>> {
    review
        .try_into()
        .map_err(|e| Box::new(AdmissionResponse::invalid(e)))
}

pub(super) async fn validate(
    State(shared): State<Arc<Shared>>,
    incoming: Incoming,
) -> Json<AdmissionReview<DynamicObject>> {
    let review = match incoming {
        Incoming::Review(review) => *review,
        Incoming::TooLarge(too_large) => return Json(too_large.refuse()),
    };
    let started = Instant::now();
    let request = match request_of(review) {
        Ok(request) => request,
        Err(response) => return Json(response.into_review()),
    };
    let kind = request.kind.kind.clone();
    let findings = if request.kind.group != GROUP {
        let mut f = Findings::default();
        f.invalid(
            "kind",
            format!(
                "{}/{} is not a kind this webhook reviews",
                request.kind.group, kind
            ),
        );
        f
    } else {
        match reviewer(&kind) {
            Some((_, review)) => review(&shared, &request).await,
            None => {
                let mut f = Findings::default();
                f.invalid("kind", format!("{kind} is not a kind this webhook reviews"));
                f
            }
        }
    };
    let denied = !findings.errors.is_empty();
    let response = AdmissionResponse::from(&request);
    let message = findings.message();
    let warnings = findings.warnings.len();
    let response = findings.respond(response, &kind, &request.name);
    let elapsed = started.elapsed();
    shared
        .metrics
        .webhooks
        .observe("validate", &metric_kind(&request), elapsed, denied);
    if denied {
        tracing::info!(uid = %request.uid, %kind, namespace = ?request.namespace, name = %request.name, operation = ?request.operation, %message, ?elapsed, "denied");
    } else {
        tracing::debug!(uid = %request.uid, %kind, name = %request.name, operation = ?request.operation, warnings, ?elapsed, "admitted");
    }
    Json(response.into_review())
}

pub(super) async fn mutate(
    State(shared): State<Arc<Shared>>,
    incoming: Incoming,
) -> Json<AdmissionReview<DynamicObject>> {
    let review = match incoming {
        Incoming::Review(review) => *review,
        Incoming::TooLarge(too_large) => return Json(too_large.admit()),
    };
    let started = Instant::now();
    let request = match request_of(review) {
        Ok(request) => request,
        Err(response) => return Json(response.into_review()),
    };
    let kind = request.kind.kind.clone();
    let mut response = AdmissionResponse::from(&request);
    if request.kind.group == GROUP
        && matches!(request.operation, Operation::Create | Operation::Update)
        && let Some(object) = &request.object
    {
        let json = serde_json::to_value(object).unwrap_or_default();
        let old = request
            .old_object
            .as_ref()
            .and_then(|o| serde_json::to_value(o).ok());
        let patch = mutate::defaults(&kind, &json, old.as_ref());
        if !patch.0.is_empty() {
            response = match response.clone().with_patch(patch) {
                Ok(patched) => patched,
                Err(error) => {
                    tracing::error!(%error, "webhook: cannot serialize a patch");
                    response
                }
            };
        }
    }
    shared
        .metrics
        .webhooks
        .observe("mutate", &metric_kind(&request), started.elapsed(), false);
    Json(response.into_review())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_reviewed() {
        for kind in crate::api::kinds() {
            assert!(reviewer(&kind.kind).is_some(), "{} is not reviewed", kind.kind);
        }
        assert!(reviewer("Secret").is_none());
    }
}
