//! Reading everything an export covers out of GoAlert.
//!
//! `export.graphql` only lists IDs; each object is then read with the operator's own typed reads
//! ([`GoAlert::user`] and its siblings), so the export sees every field exactly as the controllers
//! compare it.

use graphql_client::GraphQLQuery;

use super::Error;
use goalert_client::{
    GoAlert,
    model::{EscalationPolicy, Rotation, Schedule, Service, User, UserRole},
    paging::{self, Page},
};

macro_rules! export_operations {
    ($($name:ident),* $(,)?) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "crates/goalert-client/src/schema.json",
            query_path = "src/export/export.graphql",
            extern_enums("UserRole"),
            response_derives = "Debug, Clone"
        )]
        pub struct $name;
    )*};
}

export_operations!(
    ExportCurrentUser,
    ExportUsers,
    ExportRotations,
    ExportSchedules,
    ExportEscalationPolicies,
    ExportServices,
    ExportScheduleOnCallNotifications,
);

/// Every (id, name) of one listing operation, page after page.
macro_rules! list_all {
    ($goalert:expr, $operation:ident, $module:ident, $field:ident) => {
        paging::all(|after| async move {
            let page = $goalert
                .run::<$operation>($module::Variables { after })
                .await?
                .$field;
            Ok(Page {
                items: page.nodes.into_iter().map(|n| (n.id, n.name)).collect(),
                next: page.page_info.end_cursor.filter(|_| page.page_info.has_next_page),
            })
        })
    };
}

/// What GoAlert holds, as the controllers see it.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub users: Vec<User>,
    pub rotations: Vec<Rotation>,
    pub schedules: Vec<ScheduleSnapshot>,
    pub policies: Vec<EscalationPolicy>,
    pub services: Vec<Service>,
}

#[derive(Debug, Clone)]
pub struct ScheduleSnapshot {
    pub schedule: Schedule,
    /// GoAlertSchedule has no field for these, so the export can only say they exist.
    pub on_call_notification_rules: usize,
}

/// Reads every user, rotation, schedule, escalation policy and service. Objects deleted while
/// the export runs are left out.
pub async fn snapshot(goalert: &GoAlert) -> Result<Snapshot, Error> {
    let me = goalert
        .run::<ExportCurrentUser>(export_current_user::Variables {})
        .await?
        .user;
    match me {
        Some(me) if me.role == UserRole::Admin => {}
        // Contact methods and SSO identities of other users are an administrator's to read.
        other => {
            return Err(Error::NotAdministrator {
                name: other.map(|u| u.name).unwrap_or_default(),
            });
        }
    }

    let mut snapshot = Snapshot::default();
    for (id, _) in list_all!(goalert, ExportUsers, export_users, users).await? {
        snapshot.users.extend(goalert.user(&id).await?);
    }
    for (id, _) in list_all!(goalert, ExportRotations, export_rotations, rotations).await? {
        snapshot.rotations.extend(goalert.rotation(&id).await?);
    }
    for (id, _) in list_all!(goalert, ExportSchedules, export_schedules, schedules).await? {
        let Some(schedule) = goalert.schedule(&id).await? else {
            continue;
        };
        let variables = export_schedule_on_call_notifications::Variables { id };
        let on_call_notification_rules = goalert
            .run::<ExportScheduleOnCallNotifications>(variables)
            .await?
            .schedule
            .map_or(0, |s| s.on_call_notification_rules.len());
        snapshot.schedules.push(ScheduleSnapshot {
            schedule,
            on_call_notification_rules,
        });
    }
    let policies = list_all!(
        goalert,
        ExportEscalationPolicies,
        export_escalation_policies,
        escalation_policies
    );
    for (id, _) in policies.await? {
        snapshot.policies.extend(goalert.escalation_policy(&id).await?);
    }
    for (id, _) in list_all!(goalert, ExportServices, export_services, services).await? {
        snapshot.services.extend(goalert.service(&id).await?);
    }
    Ok(snapshot)
}
