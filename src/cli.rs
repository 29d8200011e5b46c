//! Command-line definitions (clap). Behaviour lives in [`crate::commands`].

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "labwatch", version, about = "Keeps a workspace's GitLab connection healthy")]
pub struct Cli {
    /// Log format on stderr (the level comes from RUST_LOG, default info).
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
    /// Start the GitLab simulator with a populated scenario and the daemon
    /// pointed at it; print the URLs; run until Ctrl-C.
    Demo(DemoArgs),
    /// Run the GitLab simulator alone.
    Sim(SimArgs),
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
pub enum ConfigCommand {
    /// Validate the config; print FILE:LINE:COL: message and exit 78 on error.
    Check(ConfigArg),
}
