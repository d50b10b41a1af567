//! GoAlertAdmin: GoAlert's system configuration (setConfig) and system limits.
//!
//! Not a [`Provisioned`](super::Provisioned) kind: there is no GoAlert object to find, create or
//! delete, only settings to hold at the values listed. A resource manages exactly the settings it
//! lists; every other setting stays as GoAlert's administrators left it, and deleting the resource
//! (it has no finalizer) changes nothing in GoAlert. Values read from Secrets and everything GoAlert
//! returns (credentials included, in clear text) are kept in [`Secret`]s, so they never reach logs,
//! Events, status or metrics.

mod settings;

use std::{collections::BTreeSet, sync::Arc, time::Instant};

use futures::StreamExt;
use kube::{
    ResourceExt,
    runtime::{
        Controller,
        controller::{Action, Error as ControllerError},
        events::EventType,
        reflector::ObjectRef,
        watcher,
    },
};
use serde_json::json;

use super::{
    Context, conditions,
    error::{Error, Result, Shared},
    instance,
    reconcile::{self, StatusFields},
    report::{self, Origin},
};
use crate::{
    api::{GoAlertAdmin, Kind},
    tenancy::Governed,
};

const KIND: &str = "GoAlertAdmin";

/// Runs the GoAlertAdmin controller until the process is asked to stop.
pub async fn run(ctx: Arc<Context>) {
    let api = super::watched::<GoAlertAdmin>(&ctx);
    let (cache, changed) = crate::watch::cached(api.clone(), watcher::Config::default().any_semantic());
    let store = cache.store.clone();
    ctx.caches.insert(cache);
    let controller = Controller::for_stream(changed, store.clone());
    // Whether a setting is shared depends on the other GoAlertAdmins, so a change to one (or its
    // deletion) can start or end a conflict for any of them: all are looked at again. The changed
    // one is named too, so that its deletion reaches the loop below.
    let controller = controller.watches(api, watcher::Config::default().any_semantic(), move |changed| {
        let mut all: Vec<_> = store.state().iter().map(|o| ObjectRef::from_obj(&**o)).collect();
        all.push(ObjectRef::from_obj(&changed));
        all
    });
    controller
        .shutdown_on_signal()
        .run(reconcile, reconcile::error_policy::<GoAlertAdmin>, ctx.clone())
        .for_each(|result| {
            match result {
                // The object is gone; with no finalizer this is where its deletion is seen.
                Err(ControllerError::ObjectNotFound(object)) => ctx.metrics.managed.set(
                    KIND,
                    object.namespace.as_deref().unwrap_or_default(),
                    &object.name,
                    None,
                ),
                // Reconcile errors are reported by the error policy.
                Ok(_) | Err(ControllerError::ReconcilerFailed(..)) => {}
                Err(error) => tracing::warn!(kind = KIND, %error, "controller"),
            }
            futures::future::ready(())
        })
        .await;
}

async fn reconcile(obj: Arc<GoAlertAdmin>, ctx: Arc<Context>) -> Result<Action> {
    if !instance::proceed(&*obj, &ctx, false).await? {
        return Ok(Action::await_change());
    }
    let started = Instant::now();
    let result = apply(&obj, &ctx).await;
    reconcile::observe(&ctx, &KIND.to_lowercase(), &result, started);
    result
}

async fn apply(obj: &GoAlertAdmin, ctx: &Context) -> Result<Action> {
    // Whether this spec was synced before: then a value changed now undoes a change made in
    // GoAlert by hand (drift), rather than applying a new spec.
    let spec_unchanged = obj
        .status
        .as_ref()
        .is_some_and(|s| conditions::is_ready_for(&s.common.conditions, obj.metadata.generation));
    let result = async {
        Error::forbid(obj.refusals(&ctx.tenancy))?;
        let shared = shared_settings(obj, &others(ctx));
        let synced = settings::sync(obj, ctx, &shared).await?;
        Ok::<_, Error>((shared, synced))
    }
    .await;
    let (shared, synced) = match result {
        Ok(done) => done,
        Err(error) => {
            reconcile::report_failure(obj, ctx, &error, StatusFields::new()).await?;
            return Err(error);
        }
    };
    // The skeleton's report, with what came from Secrets added: as often a rotated Secret as a
    // change made by hand, so never drift.
    let mut report = report::written(Origin::Known, &synced.changed, None, spec_unchanged);
    if report.drift {
        for setting in &synced.changed {
            ctx.metrics.drift.inc(KIND, setting);
        }
    }
    if let Some(from_secrets) = synced.set_from_secrets() {
        let message = match &report.event {
            Some(_) => format!("{}; {from_secrets}", report.outcome.message),
            None => from_secrets,
        };
        report.outcome.message = message.clone();
        report.event = Some((EventType::Normal, "Updated", message));
    }
    if let Some((type_, reason, note)) = report.event {
        reconcile::publish(ctx, obj, type_, reason, note).await;
    }
    // Recorded in every case: the settings no other GoAlertAdmin lists are written even when
    // some are shared.
    let managed: StatusFields = [("managed".to_owned(), json!(synced.managed))]
        .into_iter()
        .collect();
    if !shared.is_empty() {
        // The other settings are applied; only the shared ones wait for a person.
        let error = Error::SharedSettings(shared);
        reconcile::report_failure(obj, ctx, &error, managed).await?;
        return Err(error);
    }
    let previous = obj
        .common_status()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    reconcile::patch_status(obj, ctx, previous, &report.outcome, managed).await?;
    ctx.forget_failures(&obj.uid().unwrap_or_default());
    Ok(Action::requeue(ctx.resync))
}

/// Every GoAlertAdmin this operator watches and accepts: the ones that manage the same GoAlert.
/// A refused one (outside the privileged namespaces) shares no setting, so it cannot hold one
/// back either. Read from the watch cache: one the cache does not hold yet wakes every
/// GoAlertAdmin when it arrives (see [`run`]), so a shared setting is found then.
fn others(ctx: &Context) -> Vec<GoAlertAdmin> {
    let store = ctx.caches.store::<GoAlertAdmin>();
    let mut all: Vec<_> = store
        .map(|store| store.state())
        .unwrap_or_default()
        .iter()
        .map(|admin| (**admin).clone())
        .collect();
    // Another instance's GoAlertAdmins configure another GoAlert: they share nothing with these.
    all.retain(|admin| {
        admin.refusals(&ctx.tenancy).is_empty()
            && !matches!(
                instance::standing(admin, &ctx.instance),
                instance::Standing::Theirs(_)
            )
    });
    all
}

/// The config IDs and system limit names `obj` lists (the two never share a name: config IDs
/// have a dot).
fn listed(obj: &GoAlertAdmin) -> BTreeSet<String> {
    let config = obj.spec.config.iter().map(|s| s.id.clone());
    let limits = obj.spec.system_limits.iter().map(|l| l.id.to_string());
    config.chain(limits).collect()
}

/// The settings `obj` lists that other GoAlertAdmins list too, grouped by the other resource.
fn shared_settings(obj: &GoAlertAdmin, all: &[GoAlertAdmin]) -> Vec<Shared> {
    let mine = listed(obj);
    all.iter()
        .filter(|other| other.namespace() != obj.namespace() || other.name_any() != obj.name_any())
        .filter_map(|other| {
            let settings: Vec<_> = listed(other).intersection(&mine).cloned().collect();
            (!settings.is_empty()).then(|| Shared {
                settings,
                by: format!(
                    "{KIND} {}/{}",
                    other.namespace().unwrap_or_default(),
                    other.name_any()
                ),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn admin(namespace: &str, name: &str, spec: serde_json::Value) -> GoAlertAdmin {
        serde_json::from_value(json!({
            "apiVersion": "goalert.heystaq.com/v1alpha1",
            "kind": "GoAlertAdmin",
            "metadata": { "name": name, "namespace": namespace },
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn settings_two_resources_list_are_shared_with_each_named() {
        let mine = admin(
            "team-a",
            "branding",
            json!({
                "config": [
                    { "id": "General.ApplicationName", "value": "Acme" },
                    { "id": "Maintenance.AlertCleanupDays", "value": "30" },
                ],
                "systemLimits": [{ "id": "ContactMethodsPerUser", "value": 5 }],
            }),
        );
        let theirs = admin(
            "team-b",
            "other",
            json!({
                "config": [{ "id": "General.ApplicationName", "value": "Other" }],
                "systemLimits": [{ "id": "ContactMethodsPerUser", "value": 7 }],
            }),
        );
        let unrelated = admin(
            "team-c",
            "smtp",
            json!({ "config": [{ "id": "SMTP.From", "value": "a@example.com" }] }),
        );
        let all = [mine.clone(), theirs.clone(), unrelated];
        let shared = shared_settings(&mine, &all);
        assert_eq!(
            shared,
            [Shared {
                settings: vec!["ContactMethodsPerUser".into(), "General.ApplicationName".into()],
                by: "GoAlertAdmin team-b/other".into(),
            }]
        );
        let error = Error::SharedSettings(shared);
        assert_eq!(error.reason(), "Conflict");
        assert!(error.needs_a_person());
        assert!(
            error.to_string().starts_with(
                "ContactMethodsPerUser, General.ApplicationName also managed by GoAlertAdmin team-b/other: "
            ),
            "{error}"
        );
        assert_eq!(
            shared_settings(&theirs, &all)[0].by,
            "GoAlertAdmin team-a/branding"
        );
    }
}
