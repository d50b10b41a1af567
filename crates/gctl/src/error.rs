//! gctl's errors and the stable exit codes scripts rely on (documented in docs/gctl.md).

use std::path::PathBuf;

use goalert_client as goalert;

/// Exit codes are part of gctl's interface: scripts branch on them, so they never change meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ExitCode {
    Ok = 0,
    /// Anything not listed below, for example GoAlert rejecting a change.
    Failure = 1,
    /// Bad command line or input (clap uses 2 for usage errors too).
    Usage = 2,
    /// No session, or GoAlert ended it: run `gctl login`.
    NotLoggedIn = 3,
    /// GoAlert refused the username or password at login.
    LoginRefused = 4,
    /// GoAlert cannot be reached (connection, DNS, TLS, timeout).
    Unreachable = 5,
    /// The named alert, service, schedule, policy or contact method does not exist (or is ambiguous).
    NotFound = 6,
    /// A confirmation was declined, or needed but no terminal was there to ask.
    Aborted = 7,
    /// GoAlert kept answering "too many requests" for this session.
    Busy = 8,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("not logged in{}; run `gctl login --url URL`", context_suffix(.context))]
    NotLoggedIn { context: Option<String> },

    #[error(
        "the GoAlert session for context {context:?} has ended (expired or logged out); run `gctl login` to log in to {url} again"
    )]
    SessionExpired { context: String, url: String },

    #[error("GoAlert at {url} refused the login: {detail}")]
    LoginRefused { url: String, detail: String },

    #[error("cannot log in at {url}: {hint}")]
    WrongUrl { url: String, hint: String },

    #[error(
        "refusing plain http to {url}: the password and session would cross the network unencrypted; use https (http is allowed only for localhost)"
    )]
    InsecureUrl { url: String },

    #[error("{0}")]
    Usage(String),

    #[error("{what} not found")]
    NotFound { what: String },

    #[error("{what} matches several: {}; be more specific", .candidates.join(", "))]
    Ambiguous { what: String, candidates: Vec<String> },

    #[error("{0}")]
    Aborted(String),

    /// GoAlert answered, but did not do what was asked.
    #[error("{0}")]
    Refused(String),

    #[error("cannot use gctl's configuration at {}: {source}", .path.display())]
    Config {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("gctl's configuration at {} is not valid: {detail}", .path.display())]
    ConfigSyntax { path: PathBuf, detail: String },

    #[error(transparent)]
    GoAlert(#[from] goalert::Error),

    #[error("cannot write the output: {0}")]
    Io(#[from] std::io::Error),
}

fn context_suffix(context: &Option<String>) -> String {
    context
        .as_ref()
        .map(|name| format!(" in context {name:?}"))
        .unwrap_or_default()
}

impl Error {
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::NotLoggedIn { .. } | Error::SessionExpired { .. } => ExitCode::NotLoggedIn,
            Error::LoginRefused { .. } => ExitCode::LoginRefused,
            Error::InsecureUrl { .. } | Error::WrongUrl { .. } | Error::Usage(_) => ExitCode::Usage,
            Error::NotFound { .. } | Error::Ambiguous { .. } => ExitCode::NotFound,
            Error::Aborted(_) => ExitCode::Aborted,
            Error::GoAlert(goalert::Error::Unreachable { .. }) => ExitCode::Unreachable,
            Error::GoAlert(goalert::Error::Busy { .. }) => ExitCode::Busy,
            Error::GoAlert(goalert::Error::NotFound { .. }) => ExitCode::NotFound,
            Error::Config { .. }
            | Error::ConfigSyntax { .. }
            | Error::Refused(_)
            | Error::GoAlert(_)
            | Error::Io(_) => ExitCode::Failure,
        }
    }
}

/// A page GoAlert cancelled for its cost is asked again smaller (`goalert_client::paging`).
impl goalert::paging::TooCostly for Error {
    fn is_too_costly(&self) -> bool {
        matches!(self, Error::GoAlert(error) if error.is_too_costly())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_documented_situation_has_its_own_code() {
        let unreachable = Error::GoAlert(goalert::Error::Unreachable {
            url: "http://x".into(),
            detail: "refused".into(),
        });
        let expired = Error::SessionExpired {
            context: "prod".into(),
            url: "https://goalert".into(),
        };
        let refused = Error::LoginRefused {
            url: "https://goalert".into(),
            detail: "unknown username/password".into(),
        };
        assert_eq!(unreachable.exit_code() as u8, 5);
        assert_eq!(expired.exit_code() as u8, 3);
        assert_eq!(refused.exit_code() as u8, 4);
        assert!(expired.to_string().contains("gctl login"));
    }

    #[test]
    fn only_goalert_cancelling_a_costly_request_shrinks_a_page() {
        use goalert::paging::TooCostly;
        let costly = Error::GoAlert(goalert::Error::TooCostly {
            operation: "AlertsWithEvents",
            message: "external call limit reached".into(),
        });
        assert!(costly.is_too_costly());
        assert!(!Error::Usage("bad flag".into()).is_too_costly());
    }
}
