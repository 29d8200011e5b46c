//! `labwatch manpages DIR` (hidden): a man page for `labwatch` and one for
//! every command under it, nested ones too (`labwatch-workspaces-list.1`),
//! rendered by clap_mangen from the clap definitions ([`super::args`]).
//!
//! A subcommand of the binary rather than a build script: the pages come
//! from the very binary they describe, the build script does not have to
//! compile the command-line code a second time, and an ordinary build pays
//! nothing. `scripts/package` runs it for the Debian package.

use std::path::Path;

use clap::CommandFactory;

use super::CommandError;
use super::args::{Cli, ManpagesArgs};

/// Writes the pages and prints how many.
pub fn manpages(args: &ManpagesArgs) -> Result<u8, CommandError> {
    let failed = |e: std::io::Error| {
        CommandError::Io(format!(
            "cannot write the man pages into {}: {e}; name a directory labwatch may create and write",
            args.dir.display()
        ))
    };
    std::fs::create_dir_all(&args.dir).map_err(failed)?;
    // `help` is clap's, not labwatch's: it gets no page of its own.
    let mut root = Cli::command().disable_help_subcommand(true);
    root.build();
    // Without a date, man(1) shows the source ("labwatch 0.1.0") where the
    // date belongs, and nothing where the source does.
    let date = args.date.unwrap_or_else(|| time::OffsetDateTime::now_utc().date());
    let written = write_pages(root, &args.dir, &date.to_string()).map_err(failed)?;
    println!("{}: {written} man pages", args.dir.display());
    Ok(0)
}

/// This command's page and its visible subcommands', depth first; the count.
fn write_pages(command: clap::Command, dir: &Path, date: &str) -> std::io::Result<usize> {
    let mut written = 0;
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        written += write_pages(sub.clone(), dir, date)?;
    }
    clap_mangen::Man::new(command).date(date).generate_to(dir)?;
    Ok(written + 1)
}
