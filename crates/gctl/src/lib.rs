//! gctl: incident response and RCA on GoAlert from the terminal, with a user's own session.
//!
//! [`cli`] is the command tree; each command group has its own module; [`session`] and [`config`]
//! hold the login; [`output`] renders tables, JSON and YAML. Commands return typed [`Error`]s whose
//! [`ExitCode`]s are documented for scripts.

pub mod cli;
pub mod complete;
pub mod config;
pub mod error;
pub mod output;
pub mod session;
pub mod time;

mod alert;
mod api;
mod auth;
mod contact;
mod cover;
mod directory;
mod lookup;
mod oncall;
mod ops;
mod prompt;
mod rca;
mod search;
mod service;

use std::io::Write;

pub use error::{Error, ExitCode, Result};

use cli::{Cli, Command, Global};
use config::Store;
use output::Output;
use session::Session;

/// What every command needs: where the configuration lives, the global flags and the output.
pub struct App {
    pub store: Store,
    pub global: Global,
    pub out: Output,
}

impl App {
    /// The session of the chosen context, ready for requests.
    pub async fn session(&self) -> Result<Session> {
        let config = self.store.load()?;
        Session::open(&self.store, &config, self.global.context.as_deref()).await
    }
}

/// Runs one parsed command line.
pub async fn run(cli: Cli) -> Result<()> {
    let out = Output::new(cli.global.output, cli.global.color);
    let app = App {
        store: Store::locate()?,
        global: cli.global,
        out,
    };
    match cli.command {
        Command::Login(args) => auth::login(&app, args).await,
        Command::Logout => auth::logout(&app).await,
        Command::Whoami => auth::whoami(&app).await,
        Command::Context(command) => auth::context(&app, command),
        Command::Oncall(args) => oncall::run(&app, args).await,
        Command::Alert(command) => alert::run(&app, command).await,
        Command::Service(command) => service::run(&app, command).await,
        Command::Schedule(cli::FindCommand::List(args)) => {
            directory::run(&app, cli::DirectoryKind::Schedule, args).await
        }
        Command::Policy(cli::FindCommand::List(args)) => {
            directory::run(&app, cli::DirectoryKind::Policy, args).await
        }
        Command::User(cli::FindCommand::List(args)) => {
            directory::run(&app, cli::DirectoryKind::User, args).await
        }
        Command::Override(command) => cover::run(&app, command).await,
        Command::Api(args) => api::run(&app, args).await,
        Command::Rca(command) => rca::run(&app, command).await,
        Command::Contact(command) => contact::run(&app, command).await,
        Command::Completion { shell } => {
            let mut script = Vec::new();
            complete::write_registration(shell, &mut script)?;
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&script)?;
            Ok(stdout.flush()?)
        }
    }
}
