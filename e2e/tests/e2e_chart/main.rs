//! The Helm chart, the observability examples, the GitOps health checks and the container image,
//! checked with the real tools: helm, kubectl and the real kube-apiserver of the testbed, promtool
//! built from the Prometheus Go module, Debian's Lua 5.4, and the same static build the
//! Dockerfile runs.
//!
//! One test binary (`cargo test --test e2e_chart`), by concern: the chart rendered (render), the
//! README's install and server-side validation (install), least-privilege RBAC (rbac), the
//! operator reconciling the examples as the chart's ServiceAccount (examples), the alert rules,
//! dashboard and Argo CD health check (observability), and the image's static build (image).
//! Their helpers are the e2e library's, e2e::chart for the chart's own.
#![cfg(feature = "e2e")]

mod examples;
mod image;
mod install;
mod observability;
mod rbac;
mod render;
