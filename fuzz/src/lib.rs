//! The fuzz bodies, shared by the cargo-fuzz targets (fuzz_targets/) and the stable driver
//! (src/bin/drive.rs). Each body panics when a property of the webhooks fails:
//!
//! - no input makes a webhook panic or answer anything but an AdmissionReview (or, for bytes
//!   that are not one, axum's 4xx rejection);
//! - every denial names a field: a 422 Invalid status whose causes each carry a field path, the
//!   same paths the validators' findings hold;
//! - a mutation is a JSON patch that applies to the object as sent, and mutating its result
//!   adds nothing.

pub mod lookups;
pub mod review;
pub mod seeds;
pub mod specs;

/// The operator's namespace in the fuzzers' tenancy model: privileged, may adopt. Every other
/// namespace is a tenant's.
pub const OPERATOR_NAMESPACE: &str = "goalert";

/// A tenant's namespace, the seeds' other namespace.
pub const TENANT_NAMESPACE: &str = "team-a";

/// The tenancy model of a default install: only the operator's namespace is privileged.
pub fn tenancy() -> goalert_provisioning::tenancy::Tenancy {
    use goalert_provisioning::{api::common::AdoptionPolicy, tenancy::TenancyArgs};
    let args = TenancyArgs {
        privileged_namespaces: Vec::new(),
        adoption_namespaces: Vec::new(),
    };
    goalert_provisioning::tenancy::Tenancy::new(&args, AdoptionPolicy::Refuse, OPERATOR_NAMESPACE)
}
