//! The whole-process benchmark (issue 8): the release `labwatch` binary
//! against its GitLab simulator on loopback, each in its own process, and
//! Prometheus' blackbox_exporter verifying the same repositories for
//! comparison. Run by `benches/run` (which installs wrk and
//! blackbox_exporter), or alone:
//!
//! ```text
//! cargo bench --bench whole_process -- [--quick] [--json PATH] [--table PATH]
//! ```
//!
//! It measures one round over 1, 100, 1,000 and 10,000 watched repositories
//! (wall, CPU, GitLab requests, RSS), the CPU of one un-batched GitLab
//! request, /metrics render time and size, /health and /status under wrk
//! while rounds run (and while the simulator injects faults), idle RSS and
//! the time from start to the first verdict; prints a table and writes the
//! results as JSON (`target/bench/whole_process.json` by default).
//!
//! A map of the modules:
//!
//! - `phases`: the measurements, in order; `report`: the results, targets
//!   and table.
//! - `scenario`: generated simulator scenarios and labwatch configs.
//! - `sim`, `daemon`, `blackbox`, `wrk`: the processes measured or used.
//! - `procs`: spawning, log events, CPU and memory from `/proc`, `wait4`.
//! - `http`: the driver's blocking HTTP client.

mod blackbox;
mod daemon;
mod http;
mod output;
mod phases;
mod procs;
mod report;
mod scenario;
mod sim;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use output::{now, write};

use phases::{Bench, Plan};
use report::{Machine, Results, SCHEMA, Settings};

struct Args {
    quick: bool,
    json: PathBuf,
    table: PathBuf,
}

impl Args {
    fn parse() -> Result<Args> {
        let out = target_dir().join("bench");
        let mut args = Args {
            quick: false,
            json: out.join("whole_process.json"),
            table: out.join("whole_process.txt"),
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            match arg.as_str() {
                "--quick" => args.quick = true,
                "--json" => args.json = argv.next().context("--json needs a path")?.into(),
                "--table" => args.table = argv.next().context("--table needs a path")?.into(),
                // cargo bench passes --bench to every bench binary.
                "--bench" => {}
                "-h" | "--help" => {
                    println!("usage: whole_process [--quick] [--json PATH] [--table PATH]");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; expected --quick, --json PATH or --table PATH"),
            }
        }
        Ok(args)
    }
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` of the crate.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// `$LABWATCH_BIN`, else the binary cargo built for this bench. The latter
/// has the dev-dependencies' features (tokio's test-util, whose clock takes
/// a lock on every read), so it is not quite what users run: `benches/run`
/// sets `LABWATCH_BIN` to the `cargo build --release` binary.
fn labwatch_bin() -> Result<(PathBuf, &'static str)> {
    let (bin, build) = match std::env::var_os("LABWATCH_BIN") {
        Some(bin) => (PathBuf::from(bin), "LABWATCH_BIN"),
        None => (
            PathBuf::from(env!("CARGO_BIN_EXE_labwatch")),
            "cargo bench's build (dev-dependency features on; benches/run measures the release build)",
        ),
    };
    if !bin.is_file() {
        bail!(
            "no labwatch binary at {}; run `cargo build --release` or set LABWATCH_BIN",
            bin.display()
        );
    }
    Ok((bin, build))
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("whole_process: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let started = Instant::now();
    let ticks = report::cpu_ticks();
    let args = Args::parse()?;
    let (bin, build) = labwatch_bin()?;
    let tmp = tempfile::Builder::new().prefix("labwatch-bench-").tempdir()?;
    let bench = Bench::new(bin.clone(), tmp.path().to_owned(), Plan::new(args.quick))?;
    let plan = &bench.plan;
    let mut results = Results {
        schema: SCHEMA,
        generated_at: now(),
        quick: plan.quick,
        duration_seconds: 0.0,
        machine: Machine::probe(&bin, build),
        settings: Settings {
            sizes: plan.sizes.clone(),
            round_repetitions: plan.repetitions,
            requests_per_second: scenario::REQUESTS_PER_SECOND,
            daemon_log_filter: "labwatch=debug",
            wrk_seconds: plan.wrk_seconds,
            metrics_requests: plan.metrics_requests,
            per_request_repositories: plan.per_request_repos,
            per_request_pairs: plan.per_request_pairs,
            fault_suite_repositories: plan.fault_size,
            clone_probe_repositories: plan.clone_probe_size,
            blackbox_concurrency: plan.blackbox_concurrency,
        },
        rounds: Vec::new(),
        clone_probe: None,
        per_request: None,
        metrics: None,
        status_bytes: None,
        load: Vec::new(),
        faults: Vec::new(),
        idle: None,
        blackbox: None,
        comparison: None,
        targets: Vec::new(),
        skipped: Vec::new(),
    };
    for &n in &plan.sizes {
        bench.size(n, &mut results)?;
    }
    bench.per_request(&mut results)?;
    results.duration_seconds = started.elapsed().as_secs_f64();
    results.machine.finish(ticks);
    results.evaluate();
    let table = results.table();
    write(&args.json, &(serde_json::to_string_pretty(&results)? + "\n"))?;
    write(&args.table, &table)?;
    println!("{table}");
    println!("results: {}", args.json.display());
    Ok(())
}
