//! GoAlert's GraphQL API, typed.
//!
//! Wire details stay in this module: [`client`] speaks HTTP, [`operations`] holds the typed
//! operations generated from `operations.graphql` against the schema introspected from a real
//! GoAlert (`schema.json`, refreshed by `e2e/refresh-schema.py`), and the per-object files turn
//! them into small functions over [`model`] types. Controllers never see JSON.

mod client;
mod config;
mod error;
mod escalation_policies;
pub mod model;
pub mod operations;
pub(crate) mod paging;
mod rotations;
mod schedules;
mod services;
mod users;

pub use client::{Credentials, GoAlert};
pub use error::{Error, FieldError, Result};

/// The operator's whole GraphQL document: an admin API key for the operator must be minted with
/// exactly these bytes as its query.
pub const OPERATOR_DOCUMENT: &str = include_str!("operations.graphql");
