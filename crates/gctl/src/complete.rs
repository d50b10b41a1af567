//! Shell completion that knows GoAlert: service, schedule and policy names, contexts and open
//! alert IDs.
//!
//! The script `gctl completion SHELL` prints does not list values itself: at each TAB the shell
//! runs gctl again with [`VAR`] set and the words typed so far, and gctl answers from the saved
//! session (clap_complete's dynamic completion). A shell has nowhere to show an error while
//! completing, so every failure (not logged in, GoAlert down or slow) is simply no candidates,
//! and nothing ever prompts.

use std::{ffi::OsStr, io, time::Duration};

use clap::CommandFactory;
use clap_complete::engine::{ArgValueCandidates, ArgValueCompleter, CompletionCandidate};

use super::{
    cli::{Cli, DirectoryKind},
    config::{Config, Store},
    directory,
    error::Result,
    ops::AlertStatus,
    search::{self, AlertQuery, AlertRow},
    session::Session,
};

/// Set (to the shell's name) by the completion script when it asks gctl for candidates.
const VAR: &str = "GCTL_COMPLETE";
/// A TAB that takes longer than this is worse than no answer.
const TIMEOUT: Duration = Duration::from_secs(2);
/// How many of the newest open alerts are offered as IDs.
const ALERTS: usize = 100;

/// Answers the shell and exits when this run is a completion request; otherwise returns.
pub fn answer_if_asked() {
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(VAR)
        .complete();
}

/// Writes the script that makes `shell` ask gctl for completions (gctl must be on the PATH).
pub fn write_registration(shell: clap_complete::Shell, out: &mut dyn io::Write) -> io::Result<()> {
    let shells = clap_complete::env::Shells::builtins();
    let completer = shells
        .completer(&shell.to_string())
        .expect("every clap_complete shell has a dynamic completer");
    completer.write_registration(VAR, "gctl", "gctl", "gctl", out)
}

/// Names of GoAlert's services, schedules or policies, for `--service NAME` and the like.
pub fn names(kind: DirectoryKind) -> ArgValueCompleter {
    ArgValueCompleter::new(move |typed: &OsStr| {
        let typed = typed.to_string_lossy();
        // GoAlert's search is a superset of the prefix matches, so it narrows the transfer.
        let rows = ask(async |session| directory::list(session, kind, &typed).await);
        starting_with(rows.iter().filter_map(|row| row["name"].as_str()), &typed)
    })
}

/// The saved contexts, each with its URL.
pub fn contexts() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        Store::locate()
            .and_then(|store| store.load())
            .map(|config| context_candidates(&config))
            .unwrap_or_default()
    })
}

/// The newest open alerts, each with its summary and service.
pub fn open_alerts() -> ArgValueCandidates {
    ArgValueCandidates::new(|| {
        let query = AlertQuery {
            statuses: vec![AlertStatus::Unacknowledged, AlertStatus::Acknowledged],
            ..AlertQuery::default()
        };
        ask(async |session| search::fetch(session, &query, Some(ALERTS)).await)
            .iter()
            .map(alert_candidate)
            .collect()
    })
}

/// Runs `lookup` with the session of the context the command line names (or `GCTL_CONTEXT`, or
/// the current one); any failure or a slow answer gives the default, an empty list.
fn ask<T: Default>(lookup: impl AsyncFnOnce(&Session) -> Result<T>) -> T {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return T::default();
    };
    runtime
        .block_on(async {
            let store = Store::locate().ok()?;
            let config = store.load().ok()?;
            let requested =
                context_on_command_line(std::env::args()).or_else(|| std::env::var("GCTL_CONTEXT").ok());
            let lookup = async {
                let session = Session::open(&store, &config, requested.as_deref()).await?;
                lookup(&session).await
            };
            tokio::time::timeout(TIMEOUT, lookup).await.ok()?.ok()
        })
        .unwrap_or_default()
}

/// The value of `--context` among the words being completed (the completer only sees the word
/// under the cursor, so the command line is read again here).
fn context_on_command_line(words: impl IntoIterator<Item = String>) -> Option<String> {
    let mut words = words.into_iter();
    let mut found = None;
    while let Some(word) = words.next() {
        if word == "--context" {
            found = words.next();
        } else if let Some(value) = word.strip_prefix("--context=") {
            found = Some(value.to_owned());
        }
    }
    found.filter(|name| !name.is_empty())
}

/// Names starting with what was typed, ignoring case (GoAlert's search also matches words in
/// the middle, which a shell would not expect of a completion).
fn starting_with<'a>(names: impl Iterator<Item = &'a str>, typed: &str) -> Vec<CompletionCandidate> {
    let typed = typed.to_lowercase();
    names
        .filter(|name| name.to_lowercase().starts_with(&typed))
        .map(CompletionCandidate::new)
        .collect()
}

fn context_candidates(config: &Config) -> Vec<CompletionCandidate> {
    config
        .contexts
        .iter()
        .map(|(name, context)| CompletionCandidate::new(name).help(Some(context.url.clone().into())))
        .collect()
}

fn alert_candidate(row: &AlertRow) -> CompletionCandidate {
    CompletionCandidate::new(row.id.to_string())
        .help(Some(format!("{} ({})", row.summary, row.service).into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Context;

    fn values(candidates: &[CompletionCandidate]) -> Vec<String> {
        candidates
            .iter()
            .map(|c| c.get_value().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn the_context_given_on_the_command_line_is_the_one_asked() {
        let words = |line: &str| line.split(' ').map(str::to_owned).collect::<Vec<_>>();
        assert_eq!(
            context_on_command_line(words("gctl --context eu alert ack ")),
            Some("eu".into())
        );
        assert_eq!(
            context_on_command_line(words("gctl alert ack --context=us 12")),
            Some("us".into())
        );
        assert_eq!(context_on_command_line(words("gctl alert ack ")), None);
        // `gctl --context <TAB>` itself: no value yet.
        assert_eq!(context_on_command_line(words("gctl --context")), None);
    }

    #[test]
    fn names_are_completed_from_their_start_ignoring_case() {
        let names = ["Payments API", "payroll", "db", "api-payments"];
        assert_eq!(
            values(&starting_with(names.into_iter(), "pay")),
            ["Payments API", "payroll"]
        );
        assert_eq!(values(&starting_with(names.into_iter(), "")).len(), 4);
    }

    #[test]
    fn contexts_and_alerts_carry_what_tells_them_apart() {
        let mut config = Config::default();
        for (name, url) in [("eu", "https://goalert.eu"), ("us", "https://goalert.us")] {
            let context = Context {
                url: url.into(),
                username: "alice".into(),
            };
            config.contexts.insert(name.into(), context);
        }
        let contexts = context_candidates(&config);
        assert_eq!(values(&contexts), ["eu", "us"]);
        assert_eq!(contexts[0].get_help().unwrap().to_string(), "https://goalert.eu");

        let alert = alert_candidate(&AlertRow {
            id: 4211,
            status: AlertStatus::Unacknowledged,
            summary: "disk full".into(),
            details: String::new(),
            service: "db".into(),
            service_id: "s".into(),
            created_at: jiff::Timestamp::UNIX_EPOCH,
        });
        assert_eq!(alert.get_value(), "4211");
        assert_eq!(alert.get_help().unwrap().to_string(), "disk full (db)");
    }

    /// Every argument that takes one of these values completes it, wherever it appears.
    #[test]
    fn services_contexts_and_alert_ids_complete_everywhere_they_are_taken() {
        fn walk(command: &clap::Command, path: &str, found: &mut Vec<(String, &'static str)>) {
            for arg in command.get_arguments() {
                let kind = if arg.get::<ArgValueCompleter>().is_some() {
                    "completer"
                } else if arg.get::<ArgValueCandidates>().is_some() {
                    "candidates"
                } else {
                    continue;
                };
                found.push((format!("{path} {}", arg.get_id()), kind));
            }
            for sub in command.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), found);
            }
        }
        let mut command = Cli::command();
        command.build();
        let mut found = Vec::new();
        walk(&command, "gctl", &mut found);
        let has = |path: &str| found.iter().any(|(p, _)| p == path);
        for path in [
            "gctl context",
            "gctl context use name",
            "gctl context delete name",
            "gctl oncall service",
            "gctl oncall schedule",
            "gctl oncall policy",
            "gctl override add schedule",
            "gctl alert list service",
            "gctl alert create service",
            "gctl alert show id",
            "gctl alert ack ids",
            "gctl alert ack service",
            "gctl alert close ids",
            "gctl alert escalate ids",
            "gctl service maintenance name",
            "gctl service status name",
            "gctl rca report service",
        ] {
            assert!(has(path), "{path} does not complete; completing: {found:?}");
        }
    }
}
