//! Command-line definitions (clap). What each command does is [`super::execute`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "labwatch", version, about = "Keeps a workspace's GitLab connection healthy")]
pub struct Cli {
    /// Log format on stderr. The level comes from RUST_LOG: by default `info`
    /// for `run`, errors only for the other commands.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: scheduled checks and the HTTP endpoints.
    Run(ConfigArg),
    /// Run every check once, print the results, exit 0 ok, 1 warning, 2 critical, 3 unknown.
    Check(CheckArgs),
    /// Configuration commands.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Connection store commands.
    #[command(subcommand)]
    Store(StoreCommand),
    /// The checks the config defines.
    #[command(subcommand)]
    Checks(ChecksCommand),
    /// Start the GitLab simulator with a populated scenario and the daemon
    /// pointed at it; print the URLs; run until Ctrl-C.
    Demo(DemoArgs),
    /// Run the GitLab simulator alone.
    Sim(SimArgs),
    /// Connect a workspace to GitLab through a running daemon; the token is
    /// read from --token-file or stdin, never from the command line.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Connect(ConnectArgs),
    /// Give a connected workspace a new token of the same account (renewal by a person).
    #[command(after_help = REMOTE_EXIT_CODES)]
    Renew(RenewArgs),
    /// Rotate a connected workspace's token through GitLab's rotation API.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Rotate(RotateArgs),
    /// Disconnect a workspace, optionally revoking its token at GitLab.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Disconnect(DisconnectArgs),
    /// List or search the repositories a workspace's account can access, or
    /// set the ones it watches.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Repos(ReposArgs),
    /// The workspaces of a running daemon: list, show, create (or update)
    /// and delete the ones created at run time.
    #[command(subcommand)]
    Workspaces(WorkspacesCommand),
    /// Print the completion script of a shell, for example
    /// `labwatch completions bash > /etc/bash_completion.d/labwatch`.
    Completions(CompletionsArgs),
    /// Write a man page for labwatch and one for each of its commands into a
    /// directory (the Debian package's pages come from here).
    #[command(hide = true)]
    Manpages(ManpagesArgs),
}

#[derive(Debug, clap::Args)]
pub struct CompletionsArgs {
    /// The shell to complete commands and options in.
    #[arg(value_enum, value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
pub struct ManpagesArgs {
    /// Where to write the pages (labwatch.1, labwatch-config-check.1, ...);
    /// created when missing.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The date in the pages' header (YYYY-MM-DD), for example the
    /// package's; today's (UTC) when left out.
    #[arg(long, value_name = "DATE", value_parser = parse_page_date)]
    pub date: Option<time::Date>,
}

/// A `--date` of `labwatch manpages`: `YYYY-MM-DD`.
fn parse_page_date(text: &str) -> Result<time::Date, String> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map_err(|_| format!("`{text}` is not a date; write it as YYYY-MM-DD, for example 2026-12-07"))
}

#[derive(Debug, Subcommand)]
pub enum WorkspacesCommand {
    /// Every workspace, by name, a page at a time: the config file's and those created at run time.
    #[command(after_help = REMOTE_EXIT_CODES)]
    List(WorkspacesListArgs),
    /// One workspace's settings, where it is defined, and why it does not run if it does not.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Show(WorkspaceShowArgs),
    /// Create a workspace at run time, or replace the settings of one created so.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Create(WorkspaceCreateArgs),
    /// Delete a workspace created at run time: its connection, status, history and metrics.
    #[command(after_help = REMOTE_EXIT_CODES)]
    Delete(WorkspaceDeleteArgs),
}

#[derive(Debug, clap::Args)]
pub struct WorkspacesListArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// Page of the listing [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub page: Option<u32>,
    /// Workspaces per page [default: 100, at most 1000].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub per_page: Option<u32>,
    /// Print the daemon's JSON answer.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, clap::Args)]
pub struct WorkspaceShowArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace.
    #[arg(value_name = "WORKSPACE")]
    pub workspace: String,
    /// Print the daemon's JSON answer (which `create --from-json` takes back).
    #[arg(long)]
    pub json: bool,
}

/// The settings come from `--from-json` (any key of a `[[workspace]]`
/// table but `token_file`), and the flags set the common ones on top.
#[derive(Debug, clap::Args)]
pub struct WorkspaceCreateArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace (1-63 characters of a-z, 0-9, `-` or `_`).
    #[arg(value_name = "WORKSPACE")]
    pub workspace: String,
    /// A JSON object with the keys of a [[workspace]] table (`-` reads stdin);
    /// the flags below override its keys.
    #[arg(long, value_name = "FILE")]
    pub from_json: Option<PathBuf>,
    /// The GitLab instance [default: https://gitlab.com].
    #[arg(long, value_name = "URL")]
    pub instance_url: Option<String>,
    /// A repository to watch (group/project or its URL); repeat for more.
    #[arg(long = "repo", value_name = "PATH")]
    pub repos: Vec<String>,
    /// A scope the token must have; repeat for more [default: api].
    #[arg(long = "required-scope", value_name = "SCOPE")]
    pub required_scopes: Vec<String>,
    /// How often the checks run, like "5m" [default: the config's [defaults]].
    #[arg(long, value_name = "DURATION")]
    pub interval: Option<String>,
    /// How long one check may take, like "10s" [default: the config's [defaults]].
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Token renewal: auto, alert or manual [default: manual].
    #[arg(long, value_name = "MODE")]
    pub renewal_mode: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct WorkspaceDeleteArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace.
    #[arg(value_name = "WORKSPACE")]
    pub workspace: String,
    /// Revoke its token at GitLab first; if that fails, nothing is deleted.
    #[arg(long)]
    pub revoke: bool,
}

/// The exit codes of the admin commands (sysexits), shown in their help.
pub const REMOTE_EXIT_CODES: &str = "\
Exit codes:
  0   done
  64  usage error, or no admin token (--admin-token-file or LABWATCH_ADMIN_TOKEN)
  65  the daemon refused the request (validation, conflict, unknown workspace)
  69  no daemon answers at --daemon (is `labwatch run` running?)
  70  labwatch could not set up its HTTP client
  75  the daemon or GitLab failed, or asked to wait (5xx, 502, 429); retry later
  76  the answer did not come from a labwatch daemon
  77  the admin token is wrong, or the daemon's admin API is off";

/// Where the daemon is and how to prove the right to change it.
#[derive(Debug, clap::Args)]
pub struct DaemonArgs {
    /// The running daemon (`labwatch run`), its `listen` address in [server].
    #[arg(
        long,
        value_name = "URL",
        env = "LABWATCH_DAEMON",
        default_value = "http://127.0.0.1:9471"
    )]
    pub daemon: String,
    /// File holding the admin token (the daemon's `admin_token_file`);
    /// else the token is taken from $LABWATCH_ADMIN_TOKEN.
    #[arg(long, value_name = "FILE")]
    pub admin_token_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ConnectArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace (a [[workspace]] name in the daemon's config).
    #[arg(long, short = 'w', value_name = "W")]
    pub workspace: String,
    /// The GitLab instance [default: https://gitlab.com].
    #[arg(long, value_name = "URL")]
    pub instance_url: Option<String>,
    /// A repository to watch (group/project or its URL); repeat for more.
    /// Without it the workspace keeps its current list.
    #[arg(long = "repo", value_name = "PATH")]
    pub repos: Vec<String>,
    /// File holding the personal access token; without it, one line is read from stdin.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Replace a connection to another GitLab account or instance instead
    /// of refusing (its token is not revoked).
    #[arg(long)]
    pub replace: bool,
    /// Connect a token another workspace already uses instead of refusing
    /// (a rotation in one then revokes the other's copy).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct RenewArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace (a [[workspace]] name in the daemon's config).
    #[arg(long, short = 'w', value_name = "W")]
    pub workspace: String,
    /// File holding the new personal access token; without it, one line is read from stdin.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Revoke the old token at GitLab once the new one is in use.
    #[arg(long)]
    pub revoke_old: bool,
    /// Take a token another workspace already uses instead of refusing
    /// (a rotation in one then revokes the other's copy).
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, clap::Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace (a [[workspace]] name in the daemon's config).
    #[arg(long, short = 'w', value_name = "W")]
    pub workspace: String,
    /// Expiry of the new token [default: today plus the renewal lifetime, at most 365 days].
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = date_arg)]
    pub expires_at: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct DisconnectArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace (a [[workspace]] name in the daemon's config).
    #[arg(long, short = 'w', value_name = "W")]
    pub workspace: String,
    /// Also revoke the token at GitLab.
    #[arg(long)]
    pub revoke: bool,
}

#[derive(Debug, clap::Args)]
pub struct ReposArgs {
    #[command(flatten)]
    pub daemon: DaemonArgs,
    /// The workspace (a [[workspace]] name in the daemon's config).
    #[arg(long, short = 'w', value_name = "W")]
    pub workspace: String,
    /// Search every project the token can see (public and internal ones too) by
    /// name; a path or a full URL (https, or an SSH clone address) looks up that project.
    #[arg(long, value_name = "Q", conflicts_with = "set")]
    pub search: Option<String>,
    /// Page of the listing [default: 1].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..), conflicts_with = "set")]
    pub page: Option<u32>,
    /// Watch exactly these repositories (each is verified at GitLab first; an
    /// archived or repository-disabled one is chosen with a warning).
    #[arg(long, value_name = "PATH", num_args = 1..)]
    pub set: Option<Vec<String>>,
}

/// `--expires-at`: checked here so a typo is a usage error, sent as written.
fn date_arg(text: &str) -> Result<String, String> {
    time::Date::parse(text, time::macros::format_description!("[year]-[month]-[day]"))
        .map(|_| text.to_owned())
        .map_err(|_| "write the date as YYYY-MM-DD, for example 2027-01-31".to_owned())
}

#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Where the daemon listens (the simulator takes a free loopback port).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9471")]
    pub listen: std::net::SocketAddr,
}

#[derive(Debug, clap::Args)]
pub struct SimArgs {
    /// Where the simulator listens.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9470")]
    pub listen: std::net::SocketAddr,
    /// Scenario file (TOML); the built-in demo scenario when omitted.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Also write the scenario summary (users, tokens, projects) as JSON here.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct ConfigArg {
    /// Config file [default: $LABWATCH_CONFIG, else config/labwatch.toml if present, else /etc/labwatch/labwatch.toml]
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this workspace.
    #[arg(long, value_name = "W")]
    pub workspace: Option<String>,
    #[arg(long, value_enum, default_value_t = Output::Text)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Text,
    Json,
    Nagios,
}

#[derive(Debug, Subcommand)]
pub enum ChecksCommand {
    /// Every check of every workspace — built-in, plugin and HTTP check — with
    /// its dependencies, interval and timeout, as the config defines them
    /// (a connection made through the admin API may change a workspace's
    /// instance and repositories).
    List(ChecksListArgs),
}

#[derive(Debug, clap::Args)]
pub struct ChecksListArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// Only this workspace.
    #[arg(long, value_name = "W")]
    pub workspace: Option<String>,
    #[arg(long, value_enum, default_value_t = ListOutput::Text)]
    pub output: ListOutput,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListOutput {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum StoreCommand {
    /// Copy every workspace record, connection, rotation marker, disconnect
    /// record and audit entry from one store backend to the other (both
    /// configured in [store]), into an empty target. Stop the daemon first.
    /// The source is left as it is.
    Migrate(MigrateArgs),
}

#[derive(Debug, clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub config: ConfigArg,
    /// The backend to copy from.
    #[arg(long, value_enum)]
    pub from: BackendArg,
    /// The backend to copy to; it must hold nothing yet.
    #[arg(long, value_enum)]
    pub to: BackendArg,
}

/// A store backend on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BackendArg {
    /// The store directory ([store] dir).
    File,
    /// The database ([store.postgres]).
    Postgres,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate the config; print FILE:LINE:COL: message and exit 78 on error.
    Check(ConfigArg),
}
