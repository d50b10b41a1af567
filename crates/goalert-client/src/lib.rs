//! GoAlert's GraphQL API, typed: the client the operator and gctl share.
//!
//! Wire details stay in this crate: [`client`] speaks HTTP, [`operations`] holds the typed
//! operations generated from `operations.graphql` against the schema introspected from a real
//! GoAlert (`schema.json`, refreshed by `e2e/refresh-schema.py`), and the per-object files turn
//! them into small functions over [`model`] types. Controllers never see JSON.

mod client;
mod config;
mod error;
mod escalation_policies;
pub mod model;
pub mod operations;
pub mod paging;
mod rotations;
mod schedules;
pub mod secret;
mod services;
pub mod tls;
mod users;

pub use client::{Credentials, GoAlert, RequestObserver};
pub use error::{Error, FieldError, Result};
pub use secret::Secret;

/// The operator's whole GraphQL document: an admin API key for the operator must be minted with
/// exactly these bytes as its query.
pub const OPERATOR_DOCUMENT: &str = include_str!("operations.graphql");

/// The object a create mutation answers with, which GoAlert leaves out only if it made none.
fn created<F, T: From<F>>(operation: &'static str, answer: Option<F>) -> Result<T> {
    answer.map(T::from).ok_or_else(|| Error::Decode {
        operation,
        detail: "the answer holds no object".into(),
    })
}
