//! gctl's typed GraphQL operations, generated from `operations.graphql` against GoAlert's schema.
//! Each struct names one operation; the derive generates a snake-case module with its
//! `Variables` and `ResponseData`.
#![allow(clippy::upper_case_acronyms)]

use graphql_client::GraphQLQuery;
use serde::{Deserialize, Serialize};

// GoAlert's custom scalars, as they travel on the wire.
type ISOTimestamp = String;
type DestinationType = String;
type StringMap = std::collections::BTreeMap<String, String>;

/// An alert's status as GoAlert spells it on the wire; shared by every operation that reads or
/// sets one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlertStatus {
    #[serde(rename = "StatusUnacknowledged")]
    Unacknowledged,
    #[serde(rename = "StatusAcknowledged")]
    Acknowledged,
    #[serde(rename = "StatusClosed")]
    Closed,
}

/// Declares operations of gctl's document; [`AlertStatus`] is shared by every operation that
/// reads or sets one, so it is converted once.
macro_rules! gctl_operations {
    ($($name:ident),* $(,)?) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "../goalert-client/src/schema.json",
            query_path = "src/operations.graphql",
            response_derives = "Debug, Clone",
            variables_derives = "Debug, Clone, Deserialize",
            extern_enums("AlertStatus")
        )]
        pub struct $name;
    )*};
}

gctl_operations!(
    CurrentUser,
    MyOnCallServices,
    FindServices,
    FindSchedules,
    FindEscalationPolicies,
    ScheduleShifts,
    SchedulesOnCall,
    PoliciesSteps,
    ServiceOnCall,
    PolicySteps,
    RotationOnCall,
    Alerts,
    AlertIds,
    AlertsWithEvents,
    AlertDetail,
    UpdateAlerts,
    EscalateAlerts,
    CreateAlert,
    ServiceStatus,
    MyContactMethods,
    SendContactMethodVerification,
    VerifyContactMethod,
    ListServices,
    ListSchedules,
    ListPolicies,
    ListUsers,
    SetMaintenance,
    CreateOverride,
);
