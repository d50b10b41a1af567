//! The webhooks without a cluster, for the fuzzers in fuzz/ (not an API): the same `/validate` and
//! `/mutate` routes the operator serves, over watch caches that stay empty and GoAlert lookups the
//! caller provides.

use std::{sync::Arc, time::Duration};

use axum::Router;

use super::{
    Shared,
    stores::Stores,
    validate::{Lookups, MissingNames},
};
use crate::{metrics::Metrics, tenancy::Tenancy};

/// The routes, reviewing against an empty cluster.
pub fn routes(lookups: Box<dyn Lookups>, tenancy: Tenancy, missing_references: MissingNames) -> Router {
    super::routes(Arc::new(Shared {
        stores: Stores::empty(),
        lookups,
        lookup_timeout: Duration::from_secs(1),
        missing_references,
        metrics: Metrics::new(),
        tenancy,
    }))
}
