//! Logging setup shared by both binaries.

use tracing_subscriber::{EnvFilter, fmt};

/// Logs to stderr. `RUST_LOG` overrides the level (default `info`); `json` suits log collectors.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}
