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
    let workers = match worker_threads() {
        Ok(n) => n,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(EX_USAGE);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
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

/// One worker, unless `TOKIO_WORKER_THREADS` (tokio's own setting) asks
/// for more. labwatch waits on GitLab far more than it computes, and what
/// does compute (a scrape of `/metrics` or `/status`, the store's files)
/// runs on the blocking pool. A second worker bought no throughput that
/// mattered and cost a fleet a third more CPU per round: with two, every
/// check spawned or woken could wake the other worker, and those futex
/// wakes, parks and context switches were the largest item of the profile
/// (docs/performance.md, "Fleet").
fn worker_threads() -> Result<usize, String> {
    const VARIABLE: &str = "TOKIO_WORKER_THREADS";
    let Some(value) = std::env::var_os(VARIABLE) else {
        return Ok(1);
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    value
        .to_str()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|n| (1..=cores.max(1) * 4).contains(n))
        .ok_or_else(|| {
            format!(
                "labwatch: {VARIABLE}={} is not a number of worker threads; set it to a whole number from 1 to {} (4 per core), or unset it for one worker",
                value.to_string_lossy(),
                cores.max(1) * 4
            )
        })
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
