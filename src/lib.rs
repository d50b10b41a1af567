//! GoAlert provisioning: a Kubernetes operator that keeps GoAlert in step with custom resources,
//! and the building blocks `gctl` shares with it.

pub mod api;
pub mod cli;
pub mod controller;
pub mod export;
pub mod gctl;
pub mod goalert;
pub mod leader;
pub mod metrics;
pub mod operator;
pub mod secret;
pub mod server;
pub mod telemetry;
pub mod timezone;
pub mod tls;
pub mod webhooks;
