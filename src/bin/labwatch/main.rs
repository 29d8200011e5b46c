//! The `labwatch` executable: apply the process-wide policy ([`process`]),
//! parse the command line, set up logging, run the command, map its result
//! to an exit code. What the commands do lives in the library.

mod process;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use labwatch::cli::exit::{EX_UNAVAILABLE, EX_USAGE};
use labwatch::cli::{self, Cli, Command, LogFormat};
use tracing_subscriber::filter::{LevelFilter, Targets};

fn main() -> ExitCode {
    process::allocator::tune();
    let parsed = match Cli::try_parse() {
        Ok(parsed) => parsed,
        Err(e) => {
            // clap exits 2 on usage errors, which would read as "critical".
            let code = if e.use_stderr() { EX_USAGE } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    // The daemon logs its life; one-shot commands print their result and
    // only log what went wrong with labwatch itself.
    let level = if matches!(parsed.command, Command::Run(_)) {
        LevelFilter::INFO
    } else {
        LevelFilter::ERROR
    };
    init_logging(parsed.log_format, level);
    process::subreaper::become_subreaper();
    match process::open_files::raise_to_hard_limit() {
        Ok((before, after)) if before != after => {
            tracing::debug!(before, after, "Raised the open-files limit to the hard limit");
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "Cannot raise the open-files limit; keeping the current one"),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(worker_threads())
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("labwatch: cannot start the async runtime: {e}");
            return ExitCode::from(EX_UNAVAILABLE);
        }
    };
    let command = async {
        tokio::spawn(process::allocator::trim_when_quiet());
        cli::execute(parsed.command).await
    };
    match runtime.block_on(command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// One worker per core, at most four. labwatch waits on GitLab far more
/// than it computes (a round over 10,000 repositories is a fraction of a
/// CPU-second), and every worker costs a stack and an allocator cache, which
/// on a 64-core host would be most of an idle daemon's memory.
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().min(4))
}

fn init_logging(format: LogFormat, default_level: LevelFilter) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let filter = log_filter(std::env::var("RUST_LOG").ok().as_deref(), default_level);
    // The filter decides; the formatter's own level cap is lifted.
    let builder = tracing_subscriber::fmt()
        .with_max_level(LevelFilter::TRACE)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().flatten_event(true).finish().with(filter).init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .finish()
            .with(filter)
            .init(),
    }
}

/// `RUST_LOG` as a list of `target=level` directives and at most one bare
/// level (`info,labwatch::rounds=debug`). A value that does not parse is
/// reported, not silently ignored, and the default level applies.
fn log_filter(rust_log: Option<&str>, default_level: LevelFilter) -> Targets {
    let fallback = Targets::new().with_default(default_level);
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => fallback,
        Some(value) => value.parse().unwrap_or_else(|e| {
            eprintln!(
                "labwatch: RUST_LOG={value:?} is not a log filter ({e}); logging at {default_level}. \
                 Write levels as `info` or `target=level`, comma-separated, e.g. `info,labwatch=debug`."
            );
            fallback
        }),
    }
}
