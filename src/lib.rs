//! GoAlert provisioning: a Kubernetes operator that keeps GoAlert in step with custom resources.
//! It talks to GoAlert through the `goalert-client` crate, which `gctl` uses too.

pub mod api;
pub mod cli;
pub mod controller;
pub mod export;
pub mod leader;
pub mod metrics;
pub mod operator;
pub mod server;
pub mod telemetry;
pub mod tenancy;
pub mod timezone;
pub mod watch;
pub mod webhooks;
