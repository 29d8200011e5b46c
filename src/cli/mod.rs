//! The command line: [`args`] defines it (clap), [`execute`] runs a parsed
//! command and returns its exit code ([`exit`]).
//!
//! - `run`: the daemon ([`crate::daemon`]) on the configured address.
//! - `check`, `checks list`, `config check`: one-shot work on the config
//!   ([`check`], [`checks_list`]).
//! - `store migrate`: moves an installation between store backends
//!   ([`store_migrate`]).
//! - `demo`, `sim`: the GitLab simulator, with or without a daemon
//!   watching it ([`demo`]).
//! - `connect`, `renew`, `rotate`, `disconnect`, `repos`, `workspaces`:
//!   the admin commands, a client of a running daemon's admin API
//!   ([`admin`]).
//! - `completions`, `manpages`: the shell completion scripts and man pages,
//!   generated from [`args`] ([`completions`], [`manpages`]).

pub mod admin;
pub mod args;
mod check;
mod checks_list;
mod completions;
pub mod demo;
pub mod exit;
mod manpages;
mod store_migrate;

pub use args::{Cli, Command, LogFormat};

use args::{ChecksCommand, ConfigArg, ConfigCommand, StoreCommand};
use demo::DemoError;
use exit::{EX_CONFIG, EX_UNAVAILABLE, EX_USAGE};

use crate::config::{self, Config, ConfigErrors};
use crate::daemon;

/// Why a command did not run; the sentence goes to stderr, the kind picks
/// the exit code. (The admin commands print their own errors, with steps.)
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{0}")]
    Config(#[from] ConfigErrors),
    #[error("{0}")]
    Usage(String),
    #[error("{0}")]
    Io(String),
}

impl From<DemoError> for CommandError {
    fn from(e: DemoError) -> CommandError {
        match e {
            DemoError::Scenario(m) => CommandError::Usage(m),
            DemoError::Io(m) => CommandError::Io(m),
        }
    }
}

impl CommandError {
    pub fn exit_code(&self) -> u8 {
        match self {
            CommandError::Config(_) => EX_CONFIG,
            CommandError::Usage(_) => EX_USAGE,
            CommandError::Io(_) => EX_UNAVAILABLE,
        }
    }
}

/// Runs one command; `Ok` carries the exit code.
pub async fn execute(command: Command) -> Result<u8, CommandError> {
    match command {
        Command::Run(args) => run(args).await,
        Command::Check(args) => check::check(args).await,
        Command::Config(ConfigCommand::Check(args)) => config_check(&args),
        Command::Checks(ChecksCommand::List(args)) => checks_list::checks_list(&args),
        Command::Store(StoreCommand::Migrate(args)) => store_migrate::migrate(&args),
        Command::Demo(args) => demo::run_demo(args.listen).await.map(|()| 0).map_err(Into::into),
        Command::Sim(args) => demo::run_sim(args.listen, args.scenario.as_deref(), args.summary_json.as_deref())
            .await
            .map(|()| 0)
            .map_err(Into::into),
        Command::Connect(args) => Ok(admin::connect(args).await),
        Command::Renew(args) => Ok(admin::renew(args).await),
        Command::Rotate(args) => Ok(admin::rotate(args).await),
        Command::Disconnect(args) => Ok(admin::disconnect(args).await),
        Command::Repos(args) => Ok(admin::repos(args).await),
        Command::Workspaces(command) => Ok(admin::workspaces(command).await),
        Command::Completions(args) => completions::completions(&args),
        Command::Manpages(args) => manpages::manpages(&args),
    }
}

pub(crate) fn load(args: &ConfigArg) -> Result<Config, ConfigErrors> {
    Config::load(&config::resolve_path(args.config.as_deref()))
}

/// `labwatch config check`: the config is valid, and `run` would start with
/// it: the same preflight `run` does ([`daemon::preflight`]) is reported,
/// refusals with `run`'s exit code (69), warnings on stderr with exit 0.
fn config_check(args: &ConfigArg) -> Result<u8, CommandError> {
    let config = load(args)?;
    let findings = daemon::preflight::preflight(&config);
    for finding in &findings {
        eprintln!("{}: {finding}", config.source.display());
    }
    let refusals = findings.iter().filter(|f| f.is_refusal()).count();
    if refusals > 0 {
        eprintln!(
            "{}: `labwatch run` would refuse to start ({refusals} problem{}); fix the above",
            config.source.display(),
            if refusals == 1 { "" } else { "s" }
        );
        return Ok(EX_UNAVAILABLE);
    }
    let warnings = findings.len();
    println!(
        "{}: ok ({} workspace{}{})",
        config.source.display(),
        config.workspaces.len(),
        if config.workspaces.len() == 1 { "" } else { "s" },
        match warnings {
            0 => String::new(),
            1 => ", 1 warning".into(),
            n => format!(", {n} warnings"),
        }
    );
    Ok(0)
}

/// `labwatch run`: the daemon until SIGTERM or SIGINT.
async fn run(args: ConfigArg) -> Result<u8, CommandError> {
    let config = load(&args)?;
    let listener = tokio::net::TcpListener::bind(config.server.listen).await.map_err(|e| {
        CommandError::Io(format!(
            "cannot listen on {}: {e}; choose another address with `listen` in [server]",
            config.server.listen
        ))
    })?;
    let reloads =
        daemon::Sighup::install().map_err(|e| CommandError::Io(format!("cannot install the SIGHUP handler: {e}")))?;
    daemon::run(config, listener, reloads, daemon::termination())
        .await
        .map_err(|e| CommandError::Io(format!("labwatch run: {e}")))?;
    Ok(0)
}

pub(crate) fn unknown_workspace(config: &Config, name: &str) -> CommandError {
    let known: Vec<_> = config.workspaces.iter().map(|w| w.name.as_str()).collect();
    CommandError::Usage(format!(
        "there is no workspace `{name}` in {}; configured: {}",
        config.source.display(),
        known.join(", ")
    ))
}
