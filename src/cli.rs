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
