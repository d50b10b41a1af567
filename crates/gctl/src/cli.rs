//! gctl's command line. Doc comments are the help text: the first line is the short help, and
//! every command carries examples.

use clap::{Args, Parser, Subcommand};

use super::{
    complete,
    output::{ColorChoice, Format},
};

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

const EXIT_CODES: &str = "Exit codes:\n  0  success\n  1  other failure (GoAlert rejected a request or did not change an alert, config unreadable)\n  \
    2  invalid command line or input, plain http to a remote host, or a login URL GoAlert does not accept\n  \
    3  not logged in, or the session ended: run `gctl login`\n  \
    4  GoAlert refused the username or password\n  5  GoAlert unreachable\n  \
    6  alert, service, schedule, policy, user, context or contact method not found (or ambiguous)\n  \
    7  confirmation declined or impossible (use --yes)\n  8  GoAlert kept answering \"too many requests\"";

#[derive(Debug, Args)]
pub struct Global {
    /// Which GoAlert instance to use (default: the current context); with login, the name to save it as (default: the URL's host)
    #[arg(long, global = true, env = "GCTL_CONTEXT", value_name = "NAME", add = complete::contexts())]
    pub context: Option<String>,

    /// Output format
    #[arg(short, long, global = true, value_enum, default_value_t = Format::Table, value_name = "FORMAT")]
    pub output: Format,

    /// When to colour tables: auto colours only on a terminal and never when NO_COLOR is set
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Show times in UTC instead of the local time zone (JSON and YAML are always UTC)
    // Any value but an empty one, 0, false, no or off turns it on: GCTL_UTC=1 is how people set it.
    #[arg(long, global = true, env = "GCTL_UTC", value_parser = clap::builder::FalseyValueParser::new())]
    pub utc: bool,
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

    /// Find, inspect and put services in maintenance
    #[command(subcommand)]
    Service(ServiceCommand),

    /// Find schedules
    #[command(subcommand)]
    Schedule(FindCommand),

    /// Find escalation policies
    #[command(subcommand)]
    Policy(FindCommand),

    /// Find users
    #[command(subcommand)]
    User(FindCommand),

    /// Temporary changes to who is on call in a schedule ("cover me")
    #[command(subcommand)]
    Override(OverrideCommand),

    /// Send a GraphQL document to GoAlert with your session and print its whole answer
    #[command(after_help = "Examples:\n  gctl api '{ user { id name } }'\n  \
        gctl api 'query($id: Int!) { alert(id: $id) { summary status } }' -F id=4211\n  \
        gctl api - < query.graphql | jq .data\n\n\
        Exits 1 when GoAlert answers with errors (the answer is printed either way).")]
    Api(ApiArgs),

    /// Investigate an incident: timeline, correlated alerts, noise, postmortem skeleton
    #[command(subcommand)]
    Rca(RcaCommand),

    /// See and verify your contact methods (GoAlert keeps them disabled until verified)
    #[command(subcommand)]
    Contact(ContactCommand),

    /// Print the shell script that completes gctl's commands, and GoAlert's names and alert IDs
    #[command(
        long_about = "Print the shell script that completes gctl's commands, and GoAlert's names and alert IDs.\n\n\
            At each TAB the script asks gctl (which must be on the PATH) for candidates: service, \
            schedule and policy names and the newest open alert IDs come from GoAlert with the saved \
            session, context names from the configuration. Completion never prompts and gives up \
            silently after 2 seconds or when not logged in.",
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
    Use {
        #[arg(add = complete::contexts())]
        name: String,
    },
    /// Forget a context and its session token (run `gctl logout` first to end the session)
    #[command(after_help = "Examples:\n  gctl context delete old-staging")]
    Delete {
        #[arg(add = complete::contexts())]
        name: String,
    },
}

#[derive(Debug, Args)]
pub struct OncallArgs {
    /// Only my own shifts and services
    #[arg(long, conflicts_with_all = ["service", "schedule", "policy"])]
    pub me: bool,

    /// Who gets paged for this service, step by step
    #[arg(long, value_name = "NAME", conflicts_with_all = ["schedule", "policy"], add = complete::names(DirectoryKind::Service))]
    pub service: Option<String>,

    /// Who is on call in this schedule
    #[arg(long, value_name = "NAME", conflicts_with = "policy", add = complete::names(DirectoryKind::Schedule))]
    pub schedule: Option<String>,

    /// Who gets paged by this escalation policy, step by step
    #[arg(long, value_name = "NAME", add = complete::names(DirectoryKind::Policy))]
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
        gctl alert list --status all --since 2d -o json | jq '.[].id'\n  \
        gctl alert list --all --ids --service payments > ids.txt"
    )]
    List(AlertListArgs),

    /// Show one alert with its timeline
    #[command(after_help = "Examples:\n  gctl alert show 4211\n  gctl alert show 4211 -o yaml")]
    Show {
        #[arg(add = complete::open_alerts())]
        id: i64,
    },

    /// Raise an alert on a service: its escalation policy pages whoever is on call
    #[command(
        after_help = "Examples:\n  gctl alert create --service payments --summary 'Checkout failing in eu-west'\n  \
        gctl alert create --service db --summary 'Need a DBA now' --details \"$(cat notes.txt)\" --yes"
    )]
    Create(AlertCreateArgs),

    /// Acknowledge alerts, by ID or by filter (acknowledging an acknowledged alert is no error)
    #[command(
        after_help = "Examples:\n  gctl alert ack 4211\n  gctl alert ack 4211 4212 4213 --yes\n  \
        gctl alert ack --mine                # every unacknowledged alert of my services (asks first)\n  \
        gctl alert ack --service payments --search 'disk' --yes"
    )]
    Ack(AlertChangeArgs),

    /// Close alerts, by ID or by filter (closing a closed alert is no error)
    #[command(
        after_help = "Examples:\n  gctl alert close 4211\n  gctl alert close $(seq 35 194) --yes\n  \
        gctl alert close --service payments --all --yes"
    )]
    Close(AlertChangeArgs),

    /// Escalate alerts to their policy's next step now, by ID or by filter
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

/// Which alerts, by what they are rather than by ID.
#[derive(Debug, Args, Clone, Default)]
pub struct AlertFilter {
    /// Only alerts of this service (repeatable)
    #[arg(long, value_name = "NAME", add = complete::names(DirectoryKind::Service))]
    pub service: Vec<String>,

    /// Only alerts whose ID, summary, details or service name contain this text (ignoring case)
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
}

impl AlertFilter {
    pub fn is_empty(&self) -> bool {
        self.service.is_empty()
            && self.search.is_none()
            && self.since.is_none()
            && self.until.is_none()
            && !self.mine
    }
}

#[derive(Debug, Args)]
pub struct AlertListArgs {
    /// Which alerts by status (repeatable)
    #[arg(long, value_enum, default_values_t = [StatusFilter::Open])]
    pub status: Vec<StatusFilter>,

    #[command(flatten)]
    pub filter: AlertFilter,

    /// At most this many alerts, newest first
    #[arg(long, default_value_t = 100, conflicts_with = "all")]
    pub limit: usize,

    /// Every matching alert, however many
    #[arg(long)]
    pub all: bool,

    /// Only the alert IDs, one a line (for scripts: `gctl alert ack $(gctl alert list --ids ...)`)
    #[arg(long, conflicts_with = "watch")]
    pub ids: bool,

    /// Redraw the list in place until interrupted (Ctrl-C); reconnects if GoAlert goes away
    #[arg(short, long)]
    pub watch: bool,

    /// How often --watch refreshes
    #[arg(long, value_name = "DURATION", default_value = "5s", requires = "watch")]
    pub interval: String,
}

#[derive(Debug, Args)]
pub struct AlertCreateArgs {
    /// The service whose escalation policy is paged
    #[arg(long, value_name = "NAME", add = complete::names(DirectoryKind::Service))]
    pub service: String,

    /// One line saying what is wrong
    #[arg(long)]
    pub summary: String,

    /// More text: what you saw, links, what you need
    #[arg(long, default_value = "")]
    pub details: String,

    /// Page without asking first
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct AlertChangeArgs {
    /// Alert IDs; or none, and a filter (--service, --mine, --search, --since, --until) instead
    #[arg(
        num_args = 0..,
        required_unless_present_any = ["service", "mine", "search", "since", "until"],
        add = complete::open_alerts()
    )]
    pub ids: Vec<i64>,

    #[command(flatten)]
    pub filter: AlertFilter,

    /// With a filter: every matching alert, not only the newest 100
    #[arg(long)]
    pub all: bool,

    /// Change several alerts, or the alerts of a filter, without asking first
    #[arg(short, long)]
    pub yes: bool,
}

/// What a list names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryKind {
    Service,
    Schedule,
    Policy,
    User,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only names matching this (GoAlert's search: words in order, or a part of the name)
    pub search: Option<String>,

    /// Only the names, one a line
    #[arg(long)]
    pub names: bool,
}

#[derive(Debug, Subcommand)]
pub enum FindCommand {
    /// List them, with what tells them apart
    #[command(
        after_help = "Examples:\n  gctl schedule list\n  gctl user list alice\n  gctl policy list --names"
    )]
    List(ListArgs),
}

#[derive(Debug, Subcommand)]
pub enum OverrideCommand {
    /// Put someone on call in a schedule for a while, instead of someone else or in addition
    #[command(
        after_help = "Examples:\n  gctl override add --schedule primary --user bob --for 3h     # Bob covers me\n  \
        gctl override add --schedule primary --user bob --from 'in 1h' --until '2026-03-01 18:00'\n  \
        gctl override add --schedule primary --user carol --replacing nobody --for 8h   # an extra person"
    )]
    Add(OverrideArgs),
}

#[derive(Debug, Args)]
pub struct OverrideArgs {
    /// The schedule
    #[arg(long, value_name = "NAME", add = complete::names(DirectoryKind::Schedule))]
    pub schedule: String,

    /// Who goes on call (a user's name, or `me`)
    #[arg(long, value_name = "NAME")]
    pub user: String,

    /// Whose shifts they take: a user's name, `me` (default), or `nobody` to add them alongside
    #[arg(long, value_name = "NAME", default_value = "me")]
    pub replacing: String,

    /// When it starts (default now): 2026-03-01T18:00:00Z, '2026-03-01 18:00' (local), in 2h
    #[arg(long, value_name = "TIME")]
    pub from: Option<String>,

    /// When it ends
    #[arg(
        long,
        value_name = "TIME",
        required_unless_present = "for_",
        conflicts_with = "for_"
    )]
    pub until: Option<String>,

    /// How long it lasts (3h, 2d)
    #[arg(long = "for", id = "for_", value_name = "DURATION")]
    pub for_: Option<String>,

    /// Create it without asking first
    #[arg(short, long)]
    pub yes: bool,
}

#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The GraphQL document; `-` reads it from stdin
    pub query: String,

    /// A variable: `name=value`; the value is read as JSON when it is JSON (4211, true, [1,2]), else as text (repeatable)
    #[arg(short = 'F', long = "field", value_name = "NAME=VALUE")]
    pub fields: Vec<String>,

    /// Which operation of the document to run, when it has several
    #[arg(long, value_name = "NAME")]
    pub operation: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// List services, with their escalation policy and maintenance
    #[command(
        after_help = "Examples:\n  gctl service list\n  gctl service list pay\n  gctl service list --names"
    )]
    List(ListArgs),

    /// Put a service in maintenance mode (no alerts page anyone) for a while, or end it
    #[command(
        after_help = "Examples:\n  gctl service maintenance payments --for 1h\n  gctl service maintenance payments --off"
    )]
    Maintenance {
        /// Service name (exact, or a unique partial match)
        #[arg(add = complete::names(DirectoryKind::Service))]
        name: String,
        /// How long (GoAlert allows at most 24h)
        #[arg(
            long = "for",
            value_name = "DURATION",
            required_unless_present = "off",
            conflicts_with = "off"
        )]
        duration: Option<String>,
        /// End maintenance now
        #[arg(long)]
        off: bool,
    },

    /// Open alerts, who gets paged, integration keys, heartbeats and recent alert counts
    #[command(
        after_help = "Examples:\n  gctl service status payments\n  gctl service status 'Payments API' --days 14 -o json"
    )]
    Status {
        /// Service name (exact, or a unique partial match)
        #[arg(add = complete::names(DirectoryKind::Service))]
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
    #[arg(long, value_name = "NAME", add = complete::names(DirectoryKind::Service))]
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
