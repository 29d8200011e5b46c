//! What each CLI command does. Returns the process exit code, or an error
//! that `main` maps to one.

use std::collections::BTreeMap;
use std::sync::Arc;

use time::OffsetDateTime;

use crate::cli::{CheckArgs, ChecksCommand, ChecksListArgs, Command, ConfigArg, ListOutput, Output};
use crate::config::{self, Config, ConfigErrors};
use crate::daemon;
use crate::demo::{self, DemoError};
use crate::engine::{StatusStore, run_once};
use crate::report::{self, ConnectionView};
use crate::runtime;

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
        Command::Checks(ChecksCommand::List(args)) => checks_list(&args),
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

fn checks_list(args: &ChecksListArgs) -> Result<u8, CommandError> {
    let config = load(&args.config)?;
    let workspaces: Vec<_> = config
        .workspaces
        .iter()
        .filter(|w| args.workspace.as_ref().is_none_or(|n| *n == w.name))
        .collect();
    if let (Some(name), true) = (&args.workspace, workspaces.is_empty()) {
        return Err(unknown_workspace(&config, name));
    }
    let shared = crate::checks::Shared::default();
    let listed: Vec<_> = workspaces
        .iter()
        .map(|ws| (*ws, crate::checks::list(&config, ws, &shared)))
        .collect();
    let rendered = match args.output {
        ListOutput::Text => checks_text(&listed),
        ListOutput::Json => {
            let doc: Vec<_> = listed
                .iter()
                .map(|(ws, checks)| {
                    serde_json::json!({
                        "workspace": ws.name,
                        "instance_url": config::instance_url::display(&ws.instance_url),
                        "checks": checks,
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Io(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{rendered}");
    Ok(0)
}

/// One table per workspace: check, kind, schedule, dependencies, what it runs.
fn checks_text(listed: &[(&config::WorkspaceConfig, Vec<crate::checks::ListedCheck>)]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (ws, checks) in listed {
        let _ = writeln!(out, "{} ({})", ws.name, config::instance_url::display(&ws.instance_url));
        let rows: Vec<[String; 6]> = checks
            .iter()
            .map(|c| {
                let label = match &c.target {
                    Some(t) => format!("{}[{t}]", c.check),
                    None => c.check.clone(),
                };
                let deps = if c.depends_on.is_empty() {
                    "-".to_owned()
                } else {
                    c.depends_on.join(",")
                };
                let runs = match (&c.runs, c.token && c.kind != crate::checks::Kind::BuiltIn) {
                    (Some(r), true) => format!("{r} (token)"),
                    (Some(r), false) => r.clone(),
                    (None, _) => String::new(),
                };
                [
                    label,
                    c.kind.as_str().to_owned(),
                    humantime::format_duration(c.interval).to_string(),
                    humantime::format_duration(c.timeout).to_string(),
                    deps,
                    runs,
                ]
            })
            .collect();
        let header = ["CHECK", "KIND", "INTERVAL", "TIMEOUT", "DEPENDS ON", "RUNS"].map(str::to_owned);
        let mut widths = [0usize; 6];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let _ = write!(line, "  {cell:<width$}", width = if i == 5 { 0 } else { widths[i] });
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out
}

fn unknown_workspace(config: &Config, name: &str) -> CommandError {
    let known: Vec<_> = config.workspaces.iter().map(|w| w.name.as_str()).collect();
    CommandError::Usage(format!(
        "there is no workspace `{name}` in {}; configured: {}",
        config.source.display(),
        known.join(", ")
    ))
}

async fn check(args: CheckArgs) -> Result<u8, CommandError> {
    let config = load(&args.config)?;
    let shared = crate::checks::Shared::default();
    let mut built = runtime::build_all(&config, existing_store(&config).as_ref(), &shared);
    if let Some(name) = &args.workspace {
        built.retain(|b| &b.plan.workspace == name);
        if built.is_empty() {
            return Err(unknown_workspace(&config, name));
        }
    }
    let store = Arc::new(StatusStore::new());
    run_once(
        built.iter().map(|b| b.plan.clone()).collect(),
        store.clone(),
        config.engine.concurrency,
    )
    .await;
    let views = store.snapshot();
    let rendered = match args.output {
        Output::Text => report::text(&views),
        Output::Nagios => report::nagios(&views),
        Output::Json => {
            let connections: BTreeMap<String, ConnectionView> = built
                .iter()
                .map(|b| (b.plan.workspace.clone(), b.connection()))
                .collect();
            let doc = report::StatusDoc::new(&views, &connections, OffsetDateTime::now_utc());
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

/// The daemon's connection store, if this host has one and it opens: a
/// one-shot check then sees connections made through the admin API. Never
/// creates a store or key; a store that does not open is reported and
/// skipped (the check falls back to `token_file`).
fn existing_store(config: &Config) -> Option<Arc<crate::store::Store>> {
    let key_given = std::env::var_os(crate::store::KEY_ENV).is_some_and(|v| !v.is_empty());
    if !config.store.dir.is_dir() || !(key_given || config.store.key_file.is_file()) {
        return None;
    }
    match crate::store::Store::open(&config.store.dir, &config.store.key_file) {
        Ok(store) => Some(Arc::new(store)),
        Err(e) => {
            eprintln!("warning: the connection store is not used: {e}");
            None
        }
    }
}
