//! Typed GraphQL operations. Each struct names one operation of a `.graphql` document; the
//! derive checks it against `schema.json` at compile time and generates a module of the same
//! name (snake case) with its `Variables` and `ResponseData`.

use std::collections::BTreeMap;

use graphql_client::GraphQLQuery;

use super::{GoAlert, Result};
use crate::secret::Secret;

pub use super::model::{IntegrationKeyType, RotationType, TargetType, UserRole};

// GoAlert's custom scalars, as they travel on the wire.
#[allow(clippy::upper_case_acronyms)]
pub type ISOTimestamp = String;
pub type ClockTime = String;
pub type WeekdayFilter = Vec<bool>;
pub type StringMap = BTreeMap<String, String>;
pub type DestinationType = String;
/// Kept as text: a limit a newer GoAlert adds must not make reading the others fail.
#[allow(clippy::upper_case_acronyms)]
pub type SystemLimitID = String;

/// Declares operations of the operator's document; enums shared by several operations are the
/// model's own types, so each is converted once.
macro_rules! operator_operations {
    ($($name:ident),* $(,)?) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "src/schema.json",
            query_path = "src/operations.graphql",
            extern_enums("UserRole", "RotationType", "TargetType", "IntegrationKeyType", "SystemLimitID"),
            response_derives = "Debug, Clone",
            variables_derives = "Debug, Clone"
        )]
        pub struct $name;
    )*};
}

operator_operations!(
    OperatorHealth,
    DeleteObjects,
    UserById,
    AllUsers,
    UsersByEmail,
    CreateUser,
    UpdateUser,
    CreateContactMethod,
    UpdateContactMethod,
    CreateNotificationRule,
    AddAuthSubject,
    RotationById,
    AllRotations,
    RotationsByName,
    CreateRotation,
    UpdateRotation,
    ScheduleById,
    AllSchedules,
    SchedulesByName,
    CreateSchedule,
    UpdateSchedule,
    UpdateScheduleTarget,
    UserOverrides,
    CreateUserOverride,
    EscalationPolicyById,
    AllEscalationPolicies,
    EscalationPoliciesByName,
    CreateEscalationPolicy,
    UpdateEscalationPolicy,
    CreateEscalationPolicyStep,
    UpdateEscalationPolicyStep,
    ServiceById,
    AllServices,
    ServicesByName,
    CreateService,
    UpdateService,
    SetLabel,
    CreateIntegrationKey,
    CreateHeartbeatMonitor,
    UpdateHeartbeatMonitor,
    SystemLimitValues,
    SetSystemLimits,
    // Admission lookups (src/webhooks).
    AdmissionEscalationPoliciesByName,
    AdmissionEscalationPolicyById,
    AdmissionPhoneNumberInfo,
);

/// Config values travel in clear text, credentials included (GoAlert masks nothing), so these two
/// derive no `Debug`: formatting cannot put a value into a log.
macro_rules! config_operations {
    ($($name:ident),*) => {$(
        #[derive(GraphQLQuery)]
        #[graphql(
            schema_path = "src/schema.json",
            query_path = "src/operations.graphql"
        )]
        pub struct $name;
    )*};
}

config_operations!(ConfigValues, SetConfig);

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "src/schema.json",
    query_path = "src/admin.graphql",
    extern_enums("UserRole"),
    response_derives = "Debug, Clone"
)]
pub struct CreateOperatorApiKey;

/// What an API key for the operator looks like when an administrator mints it.
#[derive(Debug, Clone)]
pub struct ApiKeyRequest {
    pub name: String,
    pub description: String,
    /// RFC 3339; GoAlert cannot extend a key, so rotation means minting a new one.
    pub expires_at: String,
}

impl GoAlert {
    /// One cheap, real read that needs admin rights: proves the URL, the credentials and (for an
    /// API key) that the key was minted for this operator's document.
    pub async fn check_access(&self) -> Result<()> {
        self.run::<OperatorHealth>(operator_health::Variables {})
            .await
            .map(drop)
    }

    /// Mints an admin API key bound to the operator's document. Needs an administrator's session.
    pub async fn create_operator_api_key(&self, request: ApiKeyRequest) -> Result<Secret> {
        let input = create_operator_api_key::CreateGQLAPIKeyInput {
            name: request.name,
            description: request.description,
            expires_at: request.expires_at,
            role: UserRole::Admin,
            query: super::OPERATOR_DOCUMENT.to_owned(),
        };
        let data = self
            .run::<CreateOperatorApiKey>(create_operator_api_key::Variables { input })
            .await?;
        Ok(Secret::new(data.create_gqlapi_key.token))
    }

    /// Deletes GoAlert objects in one transaction. Objects already gone are not an error.
    pub async fn delete(&self, targets: &[(TargetType, &str)]) -> Result<()> {
        let targets = targets
            .iter()
            .map(|(kind, id)| delete_objects::TargetInput {
                id: (*id).to_owned(),
                type_: *kind,
            })
            .collect();
        self.run::<DeleteObjects>(delete_objects::Variables {
            targets: Some(targets),
        })
        .await
        .map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_operator_sends_its_whole_document() {
        let body = OperatorHealth::build_query(operator_health::Variables {});
        assert_eq!(body.query, super::super::OPERATOR_DOCUMENT);
        assert_eq!(body.operation_name, "OperatorHealth");
    }
}
