//! Services, their labels, integration keys and heartbeat monitors.

use super::{
    GoAlert, Result, created,
    model::{
        HeartbeatMonitor, IntegrationKey, IntegrationKeyType, NewService, Service, ServiceUpdate, TargetType,
    },
    operations::*,
    paging::{Page, first_page, id_by_name, shrinking},
};

/// The fragment ServiceFields, as each operation that selects it generates it.
macro_rules! service_from {
    ($($operation:ident),*) => {$(
        impl From<$operation::ServiceFields> for Service {
            fn from(s: $operation::ServiceFields) -> Self {
                Service {
                    id: s.id,
                    name: s.name,
                    description: s.description,
                    escalation_policy_id: s.escalation_policy_id,
                    labels: s.labels.into_iter().map(|l| (l.key, l.value)).collect(),
                    integration_keys: s
                        .integration_keys
                        .into_iter()
                        .map(|k| IntegrationKey {
                            id: k.id,
                            name: k.name,
                            key_type: k.type_,
                            href: k.href,
                        })
                        .collect(),
                    heartbeat_monitors: s
                        .heartbeat_monitors
                        .into_iter()
                        .map(|m| HeartbeatMonitor {
                            id: m.id,
                            name: m.name,
                            timeout_minutes: m.timeout_minutes,
                            additional_details: m.additional_details,
                            state: match m.last_state {
                                $operation::HeartbeatMonitorState::inactive => "inactive".into(),
                                $operation::HeartbeatMonitorState::healthy => "healthy".into(),
                                $operation::HeartbeatMonitorState::unhealthy => "unhealthy".into(),
                                $operation::HeartbeatMonitorState::Other(other) => other,
                            },
                            href: m.href,
                        })
                        .collect(),
                }
            }
        }
    )*};
}

service_from!(service_by_id, all_services, create_service);

impl GoAlert {
    pub async fn service(&self, id: &str) -> Result<Option<Service>> {
        let data = self
            .run::<ServiceById>(service_by_id::Variables { id: id.to_owned() })
            .await?;
        Ok(data.service.map(Service::from))
    }

    /// Every service, a page at a time (sized in paging.rs).
    pub async fn all_services(&self) -> Result<Vec<Service>> {
        shrinking(first_page::SERVICES, |after, first| async move {
            let page = self
                .run::<AllServices>(all_services::Variables { after, first })
                .await?
                .services;
            Ok(Page {
                items: page.nodes.into_iter().map(Service::from).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    pub async fn service_id_by_name(&self, name: &str) -> Result<Option<String>> {
        id_by_name(name, |after| async move {
            let variables = services_by_name::Variables {
                search: name.to_owned(),
                after,
            };
            let page = self.run::<ServicesByName>(variables).await?.services;
            Ok(Page {
                items: page.nodes.into_iter().map(|n| (n.id, n.name)).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
        .await
    }

    /// Creates a service with its keys, monitors and labels in one request (one transaction:
    /// if GoAlert refuses any part, nothing is made).
    pub async fn create_service(&self, service: &NewService) -> Result<Service> {
        let input = create_service::CreateServiceInput {
            name: service.name.clone(),
            description: Some(service.description.clone()),
            escalation_policy_id: Some(service.escalation_policy_id.clone()),
            favorite: None,
            new_escalation_policy: None,
            new_integration_keys: Some(
                service
                    .integration_keys
                    .iter()
                    .map(|key| create_service::CreateIntegrationKeyInput {
                        // GoAlert sets the new service's ID.
                        service_id: None,
                        type_: key.key_type,
                        name: key.name.clone(),
                        external_system_name: None,
                    })
                    .collect(),
            ),
            labels: Some(
                service
                    .labels
                    .iter()
                    .map(|(key, value)| create_service::SetLabelInput {
                        // GoAlert labels the new service.
                        target: None,
                        key: key.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            ),
            new_heartbeat_monitors: Some(
                service
                    .heartbeat_monitors
                    .iter()
                    .map(|monitor| create_service::CreateHeartbeatMonitorInput {
                        service_id: None,
                        name: monitor.name.clone(),
                        timeout_minutes: monitor.timeout_minutes,
                        additional_details: Some(monitor.additional_details.clone()),
                        muted: None,
                    })
                    .collect(),
            ),
        };
        let data = self
            .run::<CreateService>(create_service::Variables { input })
            .await?;
        created("CreateService", data.create_service)
    }

    pub async fn update_service(&self, id: &str, update: ServiceUpdate) -> Result<()> {
        let input = update_service::UpdateServiceInput {
            id: id.to_owned(),
            name: update.name,
            description: update.description,
            escalation_policy_id: update.escalation_policy_id,
            maintenance_expires_at: None,
        };
        self.run::<UpdateService>(update_service::Variables { input })
            .await
            .map(drop)
    }

    /// Sets a service label; an empty value removes it.
    pub async fn set_service_label(&self, service_id: &str, key: &str, value: &str) -> Result<()> {
        let input = set_label::SetLabelInput {
            target: Some(set_label::TargetInput {
                id: service_id.to_owned(),
                type_: TargetType::Service,
            }),
            key: key.to_owned(),
            value: value.to_owned(),
        };
        self.run::<SetLabel>(set_label::Variables { input })
            .await
            .map(drop)
    }

    pub async fn create_integration_key(
        &self,
        service_id: &str,
        name: &str,
        key_type: IntegrationKeyType,
    ) -> Result<String> {
        let input = create_integration_key::CreateIntegrationKeyInput {
            service_id: Some(service_id.to_owned()),
            type_: key_type,
            name: name.to_owned(),
            external_system_name: None,
        };
        let data = self
            .run::<CreateIntegrationKey>(create_integration_key::Variables { input })
            .await?;
        Ok(data.create_integration_key.map(|k| k.id).unwrap_or_default())
    }

    pub async fn create_heartbeat_monitor(
        &self,
        service_id: &str,
        name: &str,
        timeout_minutes: i64,
        additional_details: &str,
    ) -> Result<String> {
        let input = create_heartbeat_monitor::CreateHeartbeatMonitorInput {
            service_id: Some(service_id.to_owned()),
            name: name.to_owned(),
            timeout_minutes,
            additional_details: Some(additional_details.to_owned()),
            muted: None,
        };
        let data = self
            .run::<CreateHeartbeatMonitor>(create_heartbeat_monitor::Variables { input })
            .await?;
        Ok(data.create_heartbeat_monitor.map(|m| m.id).unwrap_or_default())
    }

    pub async fn update_heartbeat_monitor(
        &self,
        id: &str,
        timeout_minutes: i64,
        additional_details: &str,
    ) -> Result<()> {
        let input = update_heartbeat_monitor::UpdateHeartbeatMonitorInput {
            id: id.to_owned(),
            name: None,
            timeout_minutes: Some(timeout_minutes),
            additional_details: Some(additional_details.to_owned()),
            muted: None,
        };
        self.run::<UpdateHeartbeatMonitor>(update_heartbeat_monitor::Variables { input })
            .await
            .map(drop)
    }
}
