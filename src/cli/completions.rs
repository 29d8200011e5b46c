//! `labwatch completions SHELL`: the shell's completion script, made by
//! clap_complete from the clap definitions ([`super::args`]), so it always
//! knows every command and option of this binary.

use std::io::Write;

use clap::CommandFactory;

use super::CommandError;
use super::args::{Cli, CompletionsArgs};

/// Writes the script to stdout.
pub fn completions(args: &CompletionsArgs) -> Result<u8, CommandError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "labwatch", &mut script);
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(&script)
        .and_then(|()| stdout.flush())
        .map_err(|e| CommandError::Io(format!("cannot write the {} completion script: {e}", args.shell)))?;
    Ok(0)
}
