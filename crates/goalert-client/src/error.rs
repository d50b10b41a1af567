//! Typed errors for everything that can go wrong talking to GoAlert.
//!
//! Controllers decide what to do from the variant (retry soon, retry later, report the field to
//! the user, stop and wait for a human); the Display text is what users read in conditions, Events
//! and logs, so it says what happened and what to do.

use std::time::Duration;

/// A validation error GoAlert attributed to one input field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// GoAlert's field name, for example `Name` or `newIntegrationKeys[0].name`.
    pub field: String,
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot reach GoAlert at {url}: {detail}")]
    Unreachable { url: String, detail: String },

    #[error(
        "GoAlert refused the credentials ({detail}): the API key was revoked, has expired or is not \
         GoAlert's, or the service user's login failed; mint a new admin API key with \
         `goalert-provisioning create-api-key` (or in Admin > API Keys, for the query \
         `goalert-provisioning print-api-key-query` prints) and update the operator's Secret, or \
         fix the service user's login"
    )]
    Unauthorized { detail: String },

    #[error(
        "the GoAlert API key was minted for a different GraphQL document than the one this operator \
         version sends (GoAlert says \"wrong query for API key\"); mint a new key for the current \
         document: `goalert-provisioning print-api-key-query` prints it, then create an admin API key \
         with exactly that query in GoAlert (Admin > API Keys) or with \
         `goalert-provisioning create-api-key`, and update the operator's Secret"
    )]
    ApiKeyDocumentMismatch,

    #[error("GoAlert is busy serving other requests for these credentials (HTTP {status}); retry later")]
    Busy {
        status: u16,
        retry_after: Option<Duration>,
    },

    #[error("{what} not found in GoAlert")]
    NotFound { what: String },

    #[error("GoAlert already has this object: {message}")]
    AlreadyExists { field: Option<String>, message: String },

    /// GoAlert keeps an object others still use, such as an escalation policy a service uses.
    #[error("GoAlert refuses to delete it: it {message}")]
    InUse { message: String },

    #[error("GoAlert rejected the input: {}", format_fields(.fields, .message))]
    Invalid {
        fields: Vec<FieldError>,
        message: String,
    },

    /// GoAlert cancels a request that needs more than its limit of database calls.
    #[error("GoAlert cancelled {operation} as too costly ({message})")]
    TooCostly {
        operation: &'static str,
        message: String,
    },

    #[error("GoAlert returned an error for {operation}: {message}")]
    GraphQl {
        operation: &'static str,
        message: String,
    },

    #[error("GoAlert answered HTTP {status} to {operation}: {body}")]
    Http {
        operation: &'static str,
        status: u16,
        body: String,
    },

    #[error("GoAlert's answer to {operation} did not match the expected shape: {detail}")]
    Decode { operation: &'static str, detail: String },
}

fn format_fields(fields: &[FieldError], message: &str) -> String {
    if fields.is_empty() {
        return message.to_owned();
    }
    fields
        .iter()
        .map(|f| format!("{}: {}", f.field, f.message))
        .collect::<Vec<_>>()
        .join("; ")
}

impl Error {
    /// Whether retrying the same request later can succeed without anyone changing anything.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Error::Unreachable { .. } | Error::Busy { .. } | Error::Http { status: 500.., .. }
        )
    }

    /// A short, stable name for metrics labels and condition reasons.
    pub fn category(&self) -> &'static str {
        match self {
            Error::Unreachable { .. } => "Unreachable",
            Error::Unauthorized { .. } => "Unauthorized",
            Error::ApiKeyDocumentMismatch => "ApiKeyDocumentMismatch",
            Error::Busy { .. } => "Busy",
            Error::NotFound { .. } => "NotFound",
            Error::AlreadyExists { .. } => "AlreadyExists",
            Error::InUse { .. } => "InUse",
            Error::Invalid { .. } => "Invalid",
            Error::TooCostly { .. } => "TooCostly",
            Error::GraphQl { .. } => "GraphQLError",
            Error::Http { .. } => "HTTPError",
            Error::Decode { .. } => "DecodeError",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_credentials_say_how_to_get_a_working_key() {
        let text = Error::Unauthorized {
            detail: "unauthorized".into(),
        }
        .to_string();
        for part in [
            "revoked",
            "expired",
            "create-api-key",
            "print-api-key-query",
            "Secret",
        ] {
            assert!(text.contains(part), "{part:?} missing from {text:?}");
        }
    }
}
