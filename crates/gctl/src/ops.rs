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

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct CurrentUser;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct MyOnCallServices;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct FindServices;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct FindSchedules;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct FindEscalationPolicies;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct ScheduleShifts;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct ServiceOnCall;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct PolicySteps;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct RotationOnCall;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct Alerts;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct AlertDetail;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct UpdateAlerts;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct EscalateAlerts;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct ServiceStatus;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct MyContactMethods;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct SendContactMethodVerification;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../goalert-client/src/schema.json",
    query_path = "src/operations.graphql",
    response_derives = "Debug, Clone",
    extern_enums("AlertStatus")
)]
pub struct VerifyContactMethod;
