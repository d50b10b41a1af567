//! Logging setup shared by both binaries.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt};

/// Logs to stderr. `RUST_LOG` overrides the level (default `info`); `json` suits log collectors.
/// Colour only on a terminal, so log files and pipes get plain text.
pub fn init(format: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(colour(
            std::io::stderr().is_terminal(),
            std::env::var_os("NO_COLOR").is_some(),
        ));
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Colour when writing to a terminal, unless NO_COLOR (https://no-color.org) is set.
fn colour(terminal: bool, no_color: bool) -> bool {
    terminal && !no_color
}

#[cfg(test)]
mod tests {
    use super::colour;

    #[test]
    fn colour_only_on_a_terminal_without_no_color() {
        assert!(colour(true, false));
        assert!(!colour(false, false), "a file or a pipe gets plain text");
        assert!(!colour(true, true));
    }
}
