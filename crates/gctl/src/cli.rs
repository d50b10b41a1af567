//! gctl's command line. Doc comments are the help text: the first line is the short help, and
//! every command carries examples.

use clap::{Args, Parser, Subcommand};

use super::output::{ColorChoice, Format};

#[derive(Debug, Parser)]
#[command(
    name = "gctl",
    version,
    about = "Incident response and RCA on GoAlert, from the terminal",
    long_about = "Incident response and RCA on GoAlert, from the terminal.\n\n\
        gctl logs in as you (a GoAlert user session, never an admin API key) and works without \
        the operator or Kubernetes.",
    after_help = "Examples:\n  gctl login --url https://goalert.example.com\n  gctl oncall\n  \
        gctl alert list --status unacked\n  gctl service status payments\n  gctl rca report --since 6h > postmortem.md",
    after_long_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

const EXIT_CODES: &str = "Exit codes:\n  0  success\n  1  other failure (GoAlert rejected a request, config unreadable)\n  \
    2  invalid command line or input, or plain http to a remote host\n  3  not logged in, or the session ended: run `gctl login`\n  \
    4  GoAlert refused the username or password\n  5  GoAlert unreachable\n  \
    6  alert, service, schedule, policy, context or contact method not found (or ambiguous)\n  \
    7  confirmation declined or impossible (use --yes)\n  8  GoAlert kept answering \"too many requests\"";

#[derive(Debug, Args)]
pub struct Global {
    /// Which GoAlert instance to use (default: the current context); with login, the name to save it as (default: the URL's host)
    #[arg(long, global = true, env = "GCTL_CONTEXT", value_name = "NAME")]
    pub context: Option<String>,

    /// Output format
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table, value_name = "FORMAT")]
    pub output: Format,

    /// When to colour tables: auto colours only on a terminal and never when NO_COLOR is set
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in to a GoAlert instance and remember the session as a context
    #[command(after_help = "Examples:\n  gctl login --url https://goalert.example.com\n  \
        gctl login --url https://goalert.eu.example.com --context eu -u alice\n  \
        GCTL_PASSWORD=... gctl login --url https://goalert.example.com -u ci-bot\n  \
        pass show goalert | gctl login --url https://goalert.example.com -u alice --password-stdin\n  \
        gctl login            # log in again to the current context")]
    Login(LoginArgs),

    /// End the session in GoAlert and forget its token
    #[command(after_help = "Examples:\n  gctl logout\n  gctl logout --context eu")]
    Logout,

    /// Show who you are logged in as, where
    #[command(after_help = "Examples:\n  gctl whoami\n  gctl whoami -o json")]
    Whoami,

    /// List, switch and delete contexts (one per GoAlert instance)
    #[command(subcommand)]
    Context(ContextCommand),

    /// Who is on call: now, at a moment, or next
    #[command(
        after_help = "Examples:\n  gctl oncall                          # everyone, now\n  \
        gctl oncall --me --next              # my upcoming shifts\n  \
        gctl oncall --service payments       # who gets paged for payments now\n  \
        gctl oncall --schedule primary --at '2026-03-01 02:10'\n  \
        gctl oncall --policy 'payments ep' --at 3h"
    )]
    Oncall(OncallArgs),

    /// List, inspect, acknowledge, close and escalate alerts
    #[command(subcommand)]
    Alert(AlertCommand),

    /// Inspect services
    #[command(subcommand)]
    Service(ServiceCommand),

    /// Investigate an incident: timeline, correlated alerts, noise, postmortem skeleton
    #[command(subcommand)]
    Rca(RcaCommand),

    /// See and verify your contact methods (GoAlert keeps them disabled until verified)
    #[command(subcommand)]
    Contact(ContactCommand),

    /// Print shell completions
    #[command(
        after_help = "Examples:\n  gctl completion bash > ~/.local/share/bash-completion/completions/gctl\n  \
        gctl completion zsh > \"${fpath[1]}/_gctl\"\n  gctl completion fish > ~/.config/fish/completions/gctl.fish"
    )]
    Completion {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Args)]
pub struct LoginArgs {
    /// GoAlert's URL (https; http only for localhost). Default: the context's URL
    #[arg(long)]
    pub url: Option<String>,

    /// Username (prompted when missing)
    #[arg(short, long, env = "GCTL_USERNAME")]
    pub username: Option<String>,

    /// Read the password from the first line of stdin instead of prompting (GCTL_PASSWORD also works)
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Debug, Subcommand)]
pub enum ContextCommand {
    /// List contexts; the current one is marked with *
    #[command(after_help = "Examples:\n  gctl context list")]
    List,
    /// Make a context the current one
    #[command(after_help = "Examples:\n  gctl context use eu")]
    Use { name: String },
    /// Forget a context and its session token (run `gctl logout` first to end the session)
    #[command(after_help = "Examples:\n  gctl context delete old-staging")]
    Delete { name: String },
}

#[derive(Debug, Args)]
pub struct OncallArgs {
    /// Only my own shifts and services
    #[arg(long, conflicts_with_all = ["service", "schedule", "policy"])]
    pub me: bool,

    /// Who gets paged for this service, step by step
    #[arg(long, value_name = "NAME", conflicts_with_all = ["schedule", "policy"])]
    pub service: Option<String>,

    /// Who is on call in this schedule
    #[arg(long, value_name = "NAME", conflicts_with = "policy")]
    pub schedule: Option<String>,

    /// Who gets paged by this escalation policy, step by step
    #[arg(long, value_name = "NAME")]
    pub policy: Option<String>,

    /// Who was (or will be) on call at this moment: 2026-03-01T02:10:00Z, '2026-03-01 02:10' (local), 3h ago
    #[arg(long, value_name = "TIME", conflicts_with = "next")]
    pub at: Option<String>,

    /// Upcoming shifts instead of the current ones
    #[arg(long)]
    pub next: bool,

    /// How far ahead --next looks
    #[arg(long, value_name = "DURATION", default_value = "7d", requires = "next")]
    pub window: String,
}

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// List alerts (open ones by default), optionally refreshing in place
    #[command(
        after_help = "Examples:\n  gctl alert list\n  gctl alert list --status unacked --service payments\n  \
        gctl alert list --search 'disk' --since 6h\n  gctl alert list --mine --watch\n  \
        gctl alert list --status all --since 2d -o json | jq '.[].id'"
    )]
    List(AlertListArgs),

    /// Show one alert with its timeline
    #[command(after_help = "Examples:\n  gctl alert show 4211\n  gctl alert show 4211 -o yaml")]
    Show { id: i64 },

    /// Acknowledge alerts
    #[command(after_help = "Examples:\n  gctl alert ack 4211\n  gctl alert ack 4211 4212 4213 --yes")]
    Ack(AlertChangeArgs),

    /// Close alerts
    #[command(after_help = "Examples:\n  gctl alert close 4211\n  gctl alert close 4211 4212 --yes")]
    Close(AlertChangeArgs),

    /// Escalate alerts to their policy's next step now
    #[command(after_help = "Examples:\n  gctl alert escalate 4211\n  gctl alert escalate 4211 4212 --yes")]
    Escalate(AlertChangeArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusFilter {
    /// Unacknowledged and acknowledged (default)
    Open,
    Unacked,
    Acked,
    Closed,
    All,
}

#[derive(Debug, Args)]
pub struct AlertListArgs {
    /// Which alerts by status (repeatable)
    #[arg(long, value_enum, default_values_t = [StatusFilter::Open])]
    pub status: Vec<StatusFilter>,

    /// Only alerts of this service (repeatable)
    #[arg(long, value_name = "NAME")]
    pub service: Vec<String>,

    /// Only alerts whose summary or details contain this text
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,

    /// Only alerts created since this time or this long ago (2h, 2026-03-01T02:00:00Z)
    #[arg(long, value_name = "TIME")]
    pub since: Option<String>,

    /// Only alerts created before this time
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only alerts of services where I am on call now
    #[arg(long, conflicts_with = "service")]
    pub mine: bool,

    /// At most this many alerts, newest first
    #[arg(long, default_value_t = 100)]
    pub limit: usize,

    /// Redraw the list in place until interrupted (Ctrl-C)
    #[arg(short, long)]
    pub watch: bool,

    /// How often --watch refreshes
    #[arg(long, value_name = "DURATION", default_value = "5s", requires = "watch")]
    pub interval: String,
}

#[derive(Debug, Args)]
pub struct AlertChangeArgs {
    /// Alert IDs
    #[arg(required = true, num_args = 1..)]
    pub ids: Vec<i64>,

    /// Change several alerts without asking first
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Open alerts, who gets paged, integration keys, heartbeats and recent alert counts
    #[command(
        after_help = "Examples:\n  gctl service status payments\n  gctl service status 'Payments API' --days 14 -o json"
    )]
    Status {
        /// Service name (exact, or a unique partial match)
        name: String,
        /// How many recent days of alert counts to show
        #[arg(long, default_value_t = 7)]
        days: u32,
    },
}

#[derive(Debug, Args, Clone)]
pub struct Window {
    /// Start of the investigated window: a time, or how long ago (6h, 2d, 2026-03-01T02:00:00Z)
    #[arg(long, value_name = "TIME", default_value = "24h")]
    pub since: String,

    /// End of the window (default: now)
    #[arg(long, value_name = "TIME")]
    pub until: Option<String>,

    /// Only these services (repeatable)
    #[arg(long, value_name = "NAME")]
    pub service: Vec<String>,
}

#[derive(Debug, Args, Clone)]
pub struct Thresholds {
    /// Alerts created within this gap of each other belong to one correlation group
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub gap: String,

    /// Alerts closed within this long of being created count as "closed quickly" (noise)
    #[arg(long, value_name = "DURATION", default_value = "5m")]
    pub quick: String,
}

#[derive(Debug, Subcommand)]
pub enum RcaCommand {
    /// One timeline of alerts and their events across services
    #[command(after_help = "Examples:\n  gctl rca timeline --since 6h\n  \
        gctl rca timeline --since '2026-03-01 01:30' --until '2026-03-01 04:00' --service payments --service db")]
    Timeline {
        #[command(flatten)]
        window: Window,
    },

    /// Alerts that fired together across services, grouped
    #[command(
        after_help = "Examples:\n  gctl rca groups --since 6h\n  gctl rca groups --since 2d --gap 10m -o json"
    )]
    Groups {
        #[command(flatten)]
        window: Window,
        #[command(flatten)]
        thresholds: Thresholds,
    },

    /// Services and integration keys with the most quickly-closed and never-acknowledged alerts
    #[command(after_help = "Examples:\n  gctl rca noise --since 7d\n  gctl rca noise --since 30d --quick 2m")]
    Noise {
        #[command(flatten)]
        window: Window,
        #[command(flatten)]
        thresholds: Thresholds,
    },

    /// Write a markdown postmortem skeleton (timeline, who was paged, time to ack/close)
    #[command(after_help = "Examples:\n  gctl rca report --since 6h > postmortem.md\n  \
        gctl rca report --since '2026-03-01 01:30' --until '2026-03-01 04:00' --title 'Payments outage' --file pm.md")]
    Report {
        #[command(flatten)]
        window: Window,
        #[command(flatten)]
        thresholds: Thresholds,
        /// Title of the postmortem
        #[arg(long, default_value = "Incident postmortem")]
        title: String,
        /// Write to this file instead of stdout
        #[arg(long, value_name = "PATH")]
        file: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum ContactCommand {
    /// List my contact methods and whether they are verified
    #[command(after_help = "Examples:\n  gctl contact list\n  gctl contact list -o json")]
    List,

    /// Verify a contact method: send a code to it, then enter the code
    #[command(
        after_help = "Examples:\n  gctl contact verify                  # list the unverified ones\n  \
        gctl contact verify 'Work phone'     # send a code, then prompt for it\n  \
        gctl contact verify 'Work phone' --send\n  gctl contact verify 'Work phone' --code 123456"
    )]
    Verify {
        /// Contact method name or ID; without it, lists the unverified ones
        method: Option<String>,
        /// Only send the code; enter it later with --code
        #[arg(long, conflicts_with = "code")]
        send: bool,
        /// The code received; skips sending a new one
        #[arg(long)]
        code: Option<u32>,
    },
}
