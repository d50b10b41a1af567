//! GoAlertService → a GoAlert service with labels, integration keys and heartbeat monitors, whose
//! URLs are written to Kubernetes Secrets.

mod plan;

use std::collections::BTreeMap;

use futures::{FutureExt, TryFutureExt};
use kube::{ResourceExt, runtime::events::EventType};

use super::{
    Context,
    claims::{self, Holder},
    conditions::Note,
    error::{Error, Result},
    reconcile::{Changes, Provisioned, publish},
    references::{Referrer, object_id},
    secrets,
};
use crate::api::{
    GoAlertEscalationPolicy, GoAlertService,
    common::goalert_name,
    service::{CredentialStatus, IntegrationKeyType as SpecKeyType, KeySecretRef, ServiceStatus},
};
use goalert_client::model::{
    IntegrationKeyType, NewHeartbeatMonitor, NewIntegrationKey, NewService, Service,
};
use plan::{Made, MonitorWrite, Retired, Round, plan, serving};

const FIELDS: &[(&str, &str)] = &[
    ("name", "spec.serviceName"),
    ("description", "spec.description"),
    ("escalationPolicyID", "spec.escalationPolicyRef"),
    // The parts of a nested create, listed in spec order.
    ("newIntegrationKeys", "spec.integrationKeys[]"),
    ("newHeartbeatMonitors", "spec.heartbeatMonitors[]"),
    ("labels", "spec.labels"),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    name: String,
    description: String,
    escalation_policy_id: String,
    labels: BTreeMap<String, String>,
    keys: Vec<DesiredKey>,
    monitors: Vec<DesiredMonitor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DesiredKey {
    name: String,
    key_type: IntegrationKeyType,
    secret: KeySecretRef,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DesiredMonitor {
    name: String,
    timeout_minutes: i64,
    details: String,
    secret: KeySecretRef,
}

impl Provisioned for GoAlertService {
    type Desired = DesiredService;
    type Fields = ServiceStatus;
    type Observed = Service;

    async fn desired(&self, ctx: &Context) -> Result<DesiredService> {
        let spec = &self.spec;
        let referrer = Referrer::of(self);
        let escalation_policy_id = object_id::<GoAlertEscalationPolicy>(
            ctx,
            &referrer,
            &spec.escalation_policy_ref,
            "spec.escalationPolicyRef",
        )
        .await?;
        let keys = spec
            .integration_keys
            .iter()
            .enumerate()
            .map(|(index, key)| {
                let key_type = key_type(key.key_type.unwrap_or_default());
                if key_type == IntegrationKeyType::Universal && key.secret_ref.token_key.is_some() {
                    return Err(Error::InvalidSpec {
                        field: format!("spec.integrationKeys[{index}].secretRef.tokenKey"),
                        message:
                            "GoAlert shows a universal key's token only once, in its UI; the operator writes \
                                  only the URL of Universal keys"
                                .into(),
                    });
                }
                Ok(DesiredKey {
                    name: key.name.clone(),
                    key_type,
                    secret: key.secret_ref.clone(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let monitors = spec
            .heartbeat_monitors
            .iter()
            .map(|m| DesiredMonitor {
                name: m.name.clone(),
                timeout_minutes: i64::from(m.timeout_minutes),
                details: m.additional_details.clone().unwrap_or_default(),
                secret: m.secret_ref.clone(),
            })
            .collect();
        Ok(DesiredService {
            name: goalert_name(spec.service_name.as_deref().unwrap_or(&self.name_any())),
            description: spec.description.clone().unwrap_or_default(),
            escalation_policy_id,
            labels: spec.labels.clone(),
            keys,
            monitors,
        })
    }

    fn unique_key(desired: &DesiredService) -> &str {
        &desired.name
    }

    async fn find(ctx: &Context, name: &str) -> Result<Option<String>> {
        Ok(ctx.goalert.service_id_by_name(name).await?)
    }

    async fn observe(ctx: &Context, id: &str) -> Result<Option<Service>> {
        Ok(ctx.goalert.service(id).await?)
    }

    async fn list(ctx: &Context) -> Result<Vec<(String, Service)>> {
        let services = ctx.goalert.all_services().await?;
        Ok(services.into_iter().map(|s| (s.id.clone(), s)).collect())
    }

    fn key_of(observed: &Service) -> &str {
        &observed.name
    }

    async fn create(&self, ctx: &Context, desired: &DesiredService) -> Result<(String, Service)> {
        ctx.goalert
            .create_service(&new_service(desired))
            .await
            .map(|service| (service.id.clone(), service))
            .map_err(|e| Error::from_goalert(e, FIELDS))
    }

    async fn converge(
        &self,
        ctx: &Context,
        id: &str,
        desired: &DesiredService,
        observed: &Service,
        changes: &mut Changes,
    ) -> Result<ServiceStatus> {
        let previous = self.status.clone().map(|s| s.service).unwrap_or_default();
        let names = |list: &[CredentialStatus]| list.iter().map(|c| c.name.to_lowercase()).collect();
        let made = Made {
            keys: names(&previous.integration_keys),
            monitors: names(&previous.heartbeat_monitors),
            labels: previous.managed_labels.clone(),
        };
        // The Secrets hold only what GoAlert already has, so they are written in every mode, but
        // only for an object this resource owns: Observe never hands out someone else's keys.
        let owned = changes.writes() || matches!(claims::holder(ctx, self, id).await?, Holder::This { .. });

        let mut current = observed.clone();
        let mut round = plan(desired, &current, &made);
        let mut credentials = (Vec::new(), Vec::new());
        // A key whose type changes takes two rounds; a third finds nothing left to do.
        for _ in 0..3 {
            if self.send(ctx, id, desired, &round, changes).await? {
                current = Self::observe(ctx, id).await?.unwrap_or(current);
            }
            if owned {
                credentials = self.write_secrets(ctx, desired, &current, &previous).await?;
            }
            self.retire(ctx, &round.retired, changes).await?;
            if !changes.writes() {
                break;
            }
            let gone = |id: &String| round.retired.iter().any(|r| &r.id == id);
            current.integration_keys.retain(|k| !gone(&k.id));
            current.heartbeat_monitors.retain(|m| !gone(&m.id));
            round = plan(desired, &current, &made);
            if round.is_empty() {
                break;
            }
        }
        if let Some(note) = keys_without_url(desired, &current) {
            changes.note(note);
        }

        let (key_status, monitor_status) = credentials;
        Ok(ServiceStatus {
            integration_keys: key_status,
            heartbeat_monitors: monitor_status,
            managed_labels: desired.labels.keys().cloned().collect(),
        })
    }
}

impl GoAlertService {
    /// Sends a round's writes that come before the Secrets: the service's own fields, labels, new
    /// keys and monitors. Returns whether any was sent (the service is then read again).
    async fn send(
        &self,
        ctx: &Context,
        id: &str,
        desired: &DesiredService,
        round: &Round,
        changes: &mut Changes,
    ) -> Result<bool> {
        const KEYS: [&str; 1] = ["spec.integrationKeys"];
        const MONITORS: [&str; 1] = ["spec.heartbeatMonitors"];
        let mut sent = false;
        if !round.fields.is_empty() {
            let request = ctx.goalert.update_service(id, round.update.clone());
            sent |= changes
                .send(&round.fields, async {
                    request.await.map_err(|e| Error::from_goalert(e, FIELDS))
                })
                .await?
                .is_some();
        }
        for (key, value) in &round.labels {
            let request = ctx.goalert.set_service_label(id, key, value);
            sent |= changes
                .send(&["spec.labels"], async {
                    request.await.map_err(|e| {
                        Error::from_goalert(e, &[("key", "spec.labels"), ("value", "spec.labels")])
                    })
                })
                .await?
                .is_some();
        }
        for key in &round.new_keys {
            let request = ctx.goalert.create_integration_key(id, &key.name, key.key_type);
            let field = format!("spec.integrationKeys[{}]", key.index);
            sent |= changes
                .send(&KEYS, async {
                    request.await.map_err(|source| Error::GoAlert {
                        field: Some(field),
                        source,
                    })
                })
                .await?
                .is_some();
        }
        for write in &round.monitors {
            let (index, request) = match write {
                MonitorWrite::Create(index) => {
                    let monitor = &desired.monitors[*index];
                    let request = ctx
                        .goalert
                        .create_heartbeat_monitor(
                            id,
                            &monitor.name,
                            monitor.timeout_minutes,
                            &monitor.details,
                        )
                        .map_ok(drop)
                        .boxed();
                    (index, request)
                }
                MonitorWrite::Update(index, monitor_id) => {
                    let monitor = &desired.monitors[*index];
                    let request = ctx
                        .goalert
                        .update_heartbeat_monitor(monitor_id, monitor.timeout_minutes, &monitor.details)
                        .boxed();
                    (index, request)
                }
            };
            let field = format!("spec.heartbeatMonitors[{index}]");
            sent |= changes
                .send(&MONITORS, async {
                    request.await.map_err(|source| Error::GoAlert {
                        field: Some(field),
                        source,
                    })
                })
                .await?
                .is_some();
        }
        Ok(sent)
    }

    /// Deletes the keys and monitors a round retires, after their Secrets were updated.
    async fn retire(&self, ctx: &Context, retired: &[Retired], changes: &mut Changes) -> Result<()> {
        if retired.is_empty() {
            return Ok(());
        }
        let targets: Vec<_> = retired.iter().map(|r| (r.target, r.id.as_str())).collect();
        let request = ctx.goalert.delete(&targets);
        if changes
            .send(&["spec.integrationKeys"], async { Ok(request.await?) })
            .await?
            .is_some()
        {
            let names: Vec<_> = retired.iter().map(|r| r.name.as_str()).collect();
            let note = format!(
                "deleted from GoAlert after their Secrets were updated: {}",
                names.join(", ")
            );
            publish(ctx, self, EventType::Normal, "CredentialsRetired", note).await;
        }
        Ok(())
    }

    /// Writes every key's and monitor's URL (and token, where asked) to the Secrets named in the
    /// spec, removes what earlier versions of the spec wrote and no longer want, and returns the
    /// status entries (where each was written, never the values).
    async fn write_secrets(
        &self,
        ctx: &Context,
        desired: &DesiredService,
        service: &Service,
        previous: &ServiceStatus,
    ) -> Result<(Vec<CredentialStatus>, Vec<CredentialStatus>)> {
        let mut by_secret: BTreeMap<String, (secrets::Contents, String)> = BTreeMap::new();
        // Writes what GoAlert gives: the URL when it has one, and the token where asked.
        let mut put = |reference: &KeySecretRef, url: &str, token: &str, field: String| {
            let mut set: Vec<(String, String)> = Vec::new();
            if !url.is_empty() {
                set.push((reference.key.clone(), url.to_owned()));
            }
            if let Some(token_key) = &reference.token_key {
                set.push((token_key.clone(), token.to_owned()));
            }
            if set.is_empty() {
                return;
            }
            let (contents, _) = by_secret
                .entry(reference.name.clone())
                .or_insert_with(|| (secrets::Contents::default(), field));
            contents.set.extend(set);
        };
        let mut key_status = Vec::new();
        for (index, key) in desired.keys.iter().enumerate() {
            let Some(existing) = serving(key, &service.integration_keys) else {
                continue;
            };
            put(
                &key.secret,
                &existing.href,
                &existing.id,
                format!("spec.integrationKeys[{index}].secretRef.name"),
            );
            key_status.push(CredentialStatus {
                name: key.name.clone(),
                secret: locations(&key.secret, !existing.href.is_empty()),
                state: None,
            });
        }
        let mut monitor_status = Vec::new();
        for (index, monitor) in desired.monitors.iter().enumerate() {
            let Some(existing) = service
                .heartbeat_monitors
                .iter()
                .find(|m| m.name.eq_ignore_ascii_case(&monitor.name))
            else {
                continue;
            };
            put(
                &monitor.secret,
                &existing.href,
                &existing.id,
                format!("spec.heartbeatMonitors[{index}].secretRef.name"),
            );
            monitor_status.push(CredentialStatus {
                name: monitor.name.clone(),
                secret: locations(&monitor.secret, true),
                state: Some(existing.state.clone()),
            });
        }
        // Keys written by an earlier spec and no longer wanted are removed from their Secret.
        for written in previous
            .integration_keys
            .iter()
            .chain(&previous.heartbeat_monitors)
        {
            for location in written.secret.split(',') {
                if let Some((name, key)) = location.split_once('/') {
                    let (contents, _) = by_secret
                        .entry(name.to_owned())
                        .or_insert_with(|| (secrets::Contents::default(), "spec.integrationKeys".to_owned()));
                    contents.remove.insert(key.to_owned());
                }
            }
        }
        for (name, (contents, field)) in &by_secret {
            secrets::write(ctx, self, name, contents, field).await?;
        }
        Ok((key_status, monitor_status))
    }
}

/// The service with as many of its keys, monitors and labels as createService takes; the
/// first converge round makes the rest.
fn new_service(desired: &DesiredService) -> NewService {
    NewService {
        name: desired.name.clone(),
        description: desired.description.clone(),
        escalation_policy_id: desired.escalation_policy_id.clone(),
        labels: (desired.labels.iter())
            .take(NewService::MAX_NESTED)
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        integration_keys: (desired.keys.iter())
            .take(NewService::MAX_NESTED)
            .map(|key| NewIntegrationKey {
                name: key.name.clone(),
                key_type: key.key_type,
            })
            .collect(),
        heartbeat_monitors: (desired.monitors.iter())
            .map(|monitor| NewHeartbeatMonitor {
                name: monitor.name.clone(),
                timeout_minutes: monitor.timeout_minutes,
                additional_details: monitor.details.clone(),
            })
            .collect(),
    }
}

/// `secret/key` (when GoAlert gave a URL) and `secret/tokenKey`, comma-separated: where a
/// credential was written.
fn locations(reference: &KeySecretRef, with_url: bool) -> String {
    let mut places = Vec::new();
    if with_url {
        places.push(format!("{}/{}", reference.name, reference.key));
    }
    if let Some(token_key) = &reference.token_key {
        places.push(format!("{}/{token_key}", reference.name));
    }
    places.join(",")
}

/// The condition saying which keys GoAlert gives no URL, so their Secret keys stay unwritten:
/// e-mail keys when GoAlert has no e-mail integration domain. The keys themselves are managed
/// like any other, and the rest of the service is unaffected.
fn keys_without_url(desired: &DesiredService, service: &Service) -> Option<Note> {
    let names: Vec<String> = desired
        .keys
        .iter()
        .filter(|key| serving(key, &service.integration_keys).is_some_and(|k| k.href.is_empty()))
        .map(|key| format!("{:?}", key.name))
        .collect();
    (!names.is_empty()).then(|| Note {
        type_: CREDENTIALS_WRITTEN,
        reason: "NoURL",
        message: format!(
            "GoAlert gives integration key(s) {} no URL, so their secretRef.key is not written (a tokenKey \
             is): e-mail keys get one once an e-mail integration domain is configured in GoAlert (Admin > \
             Config, SMTP or Mailgun)",
            names.join(", ")
        ),
    })
}

/// The condition type of [`keys_without_url`].
pub const CREDENTIALS_WRITTEN: &str = "CredentialsWritten";

fn key_type(spec: SpecKeyType) -> IntegrationKeyType {
    match spec {
        SpecKeyType::Generic => IntegrationKeyType::Generic,
        SpecKeyType::Grafana => IntegrationKeyType::Grafana,
        SpecKeyType::Site24x7 => IntegrationKeyType::Site24x7,
        SpecKeyType::PrometheusAlertmanager => IntegrationKeyType::PrometheusAlertmanager,
        SpecKeyType::Email => IntegrationKeyType::Email,
        SpecKeyType::Universal => IntegrationKeyType::Universal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use goalert_client::model::{HeartbeatMonitor, IntegrationKey};

    fn secret_ref(key: &str) -> KeySecretRef {
        KeySecretRef {
            name: "keys".into(),
            key: key.into(),
            token_key: None,
        }
    }

    /// The service GoAlert holds after creating `new`.
    fn made_by_goalert(new: &NewService) -> Service {
        Service {
            id: "svc".into(),
            name: new.name.clone(),
            description: new.description.clone(),
            escalation_policy_id: new.escalation_policy_id.clone(),
            labels: new.labels.clone(),
            integration_keys: (new.integration_keys.iter())
                .map(|k| IntegrationKey {
                    id: format!("id-{}", k.name),
                    name: k.name.clone(),
                    key_type: k.key_type,
                    href: format!("https://goalert/{}", k.name),
                })
                .collect(),
            heartbeat_monitors: (new.heartbeat_monitors.iter())
                .map(|m| HeartbeatMonitor {
                    id: format!("id-{}", m.name),
                    name: m.name.clone(),
                    timeout_minutes: m.timeout_minutes,
                    additional_details: m.additional_details.clone(),
                    state: "inactive".into(),
                    href: format!("https://goalert/{}", m.name),
                })
                .collect(),
        }
    }

    #[test]
    fn a_nested_create_leaves_the_first_round_only_what_goalert_does_not_take_at_once() {
        fn names(prefix: &str, n: usize) -> impl Iterator<Item = String> + '_ {
            (0..n).map(move |i| format!("{prefix}{i}"))
        }
        let desired = |keys: usize, labels: usize| DesiredService {
            name: "Checkout".into(),
            description: "shop".into(),
            escalation_policy_id: "ep".into(),
            labels: names("team.example.com/l", labels)
                .map(|k| (k, "value".into()))
                .collect(),
            keys: names("key", keys)
                .map(|name| DesiredKey {
                    secret: secret_ref(&name),
                    name,
                    key_type: IntegrationKeyType::Grafana,
                })
                .collect(),
            monitors: names("monitor", 7)
                .map(|name| DesiredMonitor {
                    secret: secret_ref(&name),
                    name,
                    timeout_minutes: 60,
                    details: "nightly".into(),
                })
                .collect(),
        };

        let small = desired(2, 1);
        let service = made_by_goalert(&new_service(&small));
        assert!(
            plan(&small, &service, &Made::default()).is_empty(),
            "everything was made with the service"
        );

        let large = desired(7, 6);
        let new = new_service(&large);
        assert_eq!(new.integration_keys.len(), NewService::MAX_NESTED);
        assert_eq!(new.labels.len(), NewService::MAX_NESTED);
        assert_eq!(new.heartbeat_monitors.len(), 7, "monitors have no bound");
        let round = plan(&large, &made_by_goalert(&new), &Made::default());
        let made: Vec<_> = round
            .new_keys
            .iter()
            .map(|k| (k.index, k.name.as_str()))
            .collect();
        assert_eq!(
            made,
            [(5, "key5"), (6, "key6")],
            "the keys past the bound, in spec order"
        );
        assert_eq!(
            round.labels,
            [("team.example.com/l5".to_owned(), "value".to_owned())]
        );
        assert!(round.monitors.is_empty() && round.retired.is_empty() && round.fields.is_empty());
    }

    #[test]
    fn locations_name_the_token_key_too() {
        let reference = KeySecretRef {
            name: "keys".into(),
            key: "url".into(),
            token_key: Some("token".into()),
        };
        assert_eq!(locations(&reference, true), "keys/url,keys/token");
        assert_eq!(
            locations(&reference, false),
            "keys/token",
            "no URL, nothing at its key"
        );
    }
}
