//! What each CLI command does. Returns the process exit code, or an error
//! that `main` maps to one.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::cli::{CheckArgs, Command, ConfigArg, Output};
use crate::config::{self, Config, ConfigErrors};
use crate::daemon;
use crate::demo::{self, DemoError};
use crate::engine::{StatusStore, run_once};
use crate::report;

/// sysexits EX_USAGE: the command line was wrong.
pub const EX_USAGE: u8 = 64;
/// sysexits EX_CONFIG: the config is wrong (distinct from check results 0–3).
pub const EX_CONFIG: u8 = 78;
/// sysexits EX_SOFTWARE/EX_OSERR family: could not start (port taken, …).
pub const EX_UNAVAILABLE: u8 = 69;

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

pub async fn execute(command: Command) -> Result<u8, CommandError> {
    match command {
        Command::Run(args) => run(args).await,
        Command::Check(args) => check(args).await,
        Command::Config(crate::cli::ConfigCommand::Check(args)) => config_check(&args),
        Command::Demo(args) => demo::run_demo(args.listen).await.map(|()| 0).map_err(Into::into),
        Command::Sim(args) => demo::run_sim(args.listen, args.scenario.as_deref(), args.summary_json.as_deref())
            .await
            .map(|()| 0)
            .map_err(Into::into),
        // The admin commands print their own result and errors (with steps).
        Command::Connect(args) => Ok(crate::remote::connect(args).await),
        Command::Renew(args) => Ok(crate::remote::renew(args).await),
        Command::Rotate(args) => Ok(crate::remote::rotate(args).await),
        Command::Disconnect(args) => Ok(crate::remote::disconnect(args).await),
        Command::Repos(args) => Ok(crate::remote::repos(args).await),
    }
}

fn load(args: &ConfigArg) -> Result<Config, ConfigErrors> {
    Config::load(&config::resolve_path(args.config.as_deref()))
}

fn config_check(args: &ConfigArg) -> Result<u8, CommandError> {
    let config = load(args)?;
    println!(
        "{}: ok ({} workspace{})",
        config.source.display(),
        config.workspaces.len(),
        if config.workspaces.len() == 1 { "" } else { "s" }
    );
    Ok(0)
}

async fn check(args: CheckArgs) -> Result<u8, CommandError> {
    let config = load(&args.config)?;
    let shared = crate::checks::Shared::default();
    let mut plans = daemon::plans(&config, &shared);
    if let Some(name) = &args.workspace {
        plans.retain(|p| &p.workspace == name);
        if plans.is_empty() {
            let known: Vec<_> = config.workspaces.iter().map(|w| w.name.as_str()).collect();
            return Err(CommandError::Usage(format!(
                "there is no workspace `{name}` in {}; configured: {}",
                config.source.display(),
                known.join(", ")
            )));
        }
    }
    let store = Arc::new(StatusStore::new());
    run_once(plans, store.clone(), config.engine.concurrency).await;
    let views = store.snapshot();
    let rendered = match args.output {
        Output::Text => report::text(&views),
        Output::Nagios => report::nagios(&views),
        Output::Json => {
            let doc = report::StatusDoc::new(&views, &shared.connections, OffsetDateTime::now_utc());
            let mut s = serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Io(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{rendered}");
    Ok(report::overall(&views).code())
}

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
        .map_err(|e| CommandError::Io(format!("the HTTP server failed: {e}")))?;
    Ok(0)
}
