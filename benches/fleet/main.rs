//! The fleet benchmark (issue 16, item 5): labwatch watching N workspaces
//! of 3 repositories each, one token (one simulated GitLab user) per
//! workspace, against `labwatch sim`, for N = 500, 2,000 and 10,000. Per N
//! it measures the first round, then the steady state over whole rounds
//! (CPU per workspace-round, memory, open descriptors, GitLab requests per
//! round), `/health` and `/metrics` at that size, and blackbox_exporter
//! probing the same endpoints per workspace; with `--profile`, where the
//! CPU goes (`perf`). Not part of CI (CI runs no benches); run it with
//! `benches/run --fleet`, or alone:
//!
//! ```text
//! LABWATCH_BIN=target/release/labwatch cargo bench --bench fleet -- \
//!     [--sizes 500,2000,10000] [--interval 30s] [--rounds 2] [--warm-rounds 1] \
//!     [--blackbox-workspaces 2000] [--profile] [--replicas 3] [--json PATH] [--table PATH]
//! ```
//!
//! A map of the modules:
//!
//! - `world`: the fleet and the simulator scenario that holds it;
//!   `provision`: how the daemon learns the workspaces (the config file).
//! - `simulator`, `daemon`: the two processes; `steady`: the window of
//!   whole rounds; `endpoints`: `/health` and `/metrics`; `compare`:
//!   blackbox_exporter; `profile`: perf.
//! - `report`: the results, the issue's targets and the table.
//! - `replicas`: with `--replicas 3`, the fleet on three replicas sharing
//!   PostgreSQL instead (issue 17): CPU and store load per
//!   workspace-round, and a dead replica's takeover.
//! - Shared with `benches/whole_process` (same files): `procs` (processes,
//!   `/proc`), `http` (the driver's HTTP client), `blackbox` (the exporter),
//!   `output` (the table and the result files).

// Shared with the whole-process benchmark, which uses other parts of them.
#[allow(dead_code)]
#[path = "../whole_process/blackbox.rs"]
mod blackbox;
#[allow(dead_code)]
#[path = "../whole_process/http.rs"]
mod http;
#[path = "../whole_process/output.rs"]
mod output;
#[allow(dead_code)]
#[path = "../whole_process/procs.rs"]
mod procs;

mod compare;
mod daemon;
mod endpoints;
mod profile;
mod provision;
mod replicas;
mod report;
mod simulator;
mod steady;
mod world;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use output::{now, write};

use daemon::Daemon;
use http::Http;
use provision::Provision;
use report::{Machine, Results, SCHEMA, Settings, SizeRun};
use simulator::{Simulator, TOKEN_SELF};
use steady::{POLL, Peaks, Watch};
use world::Fleet;

/// Longest any one phase (the first round, a window) may take.
const PHASE_DEADLINE: Duration = Duration::from_secs(30 * 60);
const HEALTH_REQUESTS: usize = 200;
const METRICS_REQUESTS: usize = 5;
/// perf report entries printed.
const PROFILE_TOP: usize = 15;
const LOG_FILTER: &str = "info";

struct Args {
    sizes: Vec<usize>,
    interval: String,
    warm_rounds: u64,
    rounds: u64,
    blackbox_workspaces: usize,
    profile: bool,
    /// `[metrics] repository_series` of the daemon; its default when `None`.
    repository_series: Option<String>,
    /// Keep the scratch directory (scenarios, configs, logs) for a look
    /// afterwards, or to start a size's simulator and daemon by hand.
    keep: bool,
    /// `--replicas 3`: three daemons on PostgreSQL instead of one
    /// (`replicas`).
    replicas: bool,
    json: PathBuf,
    table: PathBuf,
}

const USAGE: &str = "usage: fleet [--sizes 500,2000,10000] [--interval 30s] [--rounds 2] [--warm-rounds 1] \
                     [--blackbox-workspaces 2000 (0: all)] [--profile] [--keep] [--repository-series per-workspace] [--replicas 3] [--json PATH] [--table PATH]";

impl Args {
    fn parse() -> Result<Args> {
        let out = target_dir().join("bench");
        let mut args = Args {
            sizes: vec![500, 2000, 10_000],
            interval: "30s".to_owned(),
            warm_rounds: 1,
            rounds: 2,
            blackbox_workspaces: 2000,
            profile: false,
            keep: false,
            replicas: false,
            repository_series: None,
            json: out.join("fleet.json"),
            table: out.join("fleet.txt"),
        };
        let mut argv = std::env::args().skip(1);
        while let Some(arg) = argv.next() {
            let mut value = || argv.next().with_context(|| format!("{arg} needs a value; {USAGE}"));
            match arg.as_str() {
                "--sizes" => {
                    args.sizes = value()?
                        .split(',')
                        .map(|s| s.trim().replace('_', "").parse::<usize>())
                        .collect::<Result<_, _>>()
                        .context("--sizes takes workspace counts separated by commas, e.g. 500,2000")?;
                    if args.sizes.contains(&0) || args.sizes.iter().any(|&n| n > 99_999) {
                        bail!("--sizes: each size must be from 1 to 99,999 workspaces");
                    }
                }
                "--interval" => args.interval = value()?,
                "--rounds" => args.rounds = number(&arg, &value()?, 1)?,
                "--warm-rounds" => args.warm_rounds = number(&arg, &value()?, 0)?,
                "--blackbox-workspaces" => args.blackbox_workspaces = number(&arg, &value()?, 0)? as usize,
                "--profile" => args.profile = true,
                "--keep" => args.keep = true,
                "--replicas" => {
                    let n = number(&arg, &value()?, 1)?;
                    if n as usize != replicas::REPLICAS {
                        bail!("--replicas: only {} is measured", replicas::REPLICAS);
                    }
                    args.replicas = true;
                }
                "--repository-series" => args.repository_series = Some(value()?),
                "--json" => args.json = value()?.into(),
                "--table" => args.table = value()?.into(),
                // cargo bench passes --bench to every bench binary.
                "--bench" => {}
                "-h" | "--help" => {
                    println!("{USAGE}");
                    std::process::exit(0);
                }
                other => bail!("unknown argument `{other}`; {USAGE}"),
            }
        }
        Ok(args)
    }
}

fn number(name: &str, text: &str, min: u64) -> Result<u64> {
    text.parse::<u64>()
        .ok()
        .filter(|n| *n >= min)
        .with_context(|| format!("{name} takes a whole number of at least {min}, not `{text}`"))
}

/// Cargo's target directory: `$CARGO_TARGET_DIR`, else `target/` of the crate.
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"))
}

/// The binary a variable names, else cargo bench's own build of labwatch
/// (dev-dependency features on: `benches/run` sets `LABWATCH_BIN` to the
/// release build).
fn binary(var: &str, fallback: Option<PathBuf>) -> Result<PathBuf> {
    let bin = std::env::var_os(var)
        .map(PathBuf::from)
        .or(fallback)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_labwatch")));
    if !bin.is_file() {
        bail!(
            "no labwatch binary at {} ({var}); run `cargo build --release` or set {var}",
            bin.display()
        );
    }
    Ok(bin)
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fleet: {e:#}");
            ExitCode::FAILURE
        }
    }
}

struct Bench {
    bin: PathBuf,
    /// The simulator's binary: `LABWATCH_SIM_BIN`, else the daemon's. A
    /// daemon built from another commit can then be measured against the
    /// same simulator.
    sim_bin: PathBuf,
    http: Http,
    dir: PathBuf,
    args: Args,
    started: Instant,
    blackbox: bool,
    /// `args.interval`, parsed.
    interval: Duration,
}

fn run() -> Result<()> {
    let started = Instant::now();
    let args = Args::parse()?;
    let bin = binary("LABWATCH_BIN", None)?;
    let sim_bin = binary("LABWATCH_SIM_BIN", Some(bin.clone()))?;
    let mut tmp = tempfile::Builder::new().prefix("labwatch-fleet-").tempdir()?;
    if args.keep {
        tmp.disable_cleanup(true);
        eprintln!("--keep: the scratch directory {} stays", tmp.path().display());
    }
    if args.replicas {
        let http = Http::new()?;
        let mut runs = Vec::new();
        for &n in &args.sizes {
            eprintln!(
                "[{:6.1} s] {n} workspaces on {} replicas",
                started.elapsed().as_secs_f64(),
                replicas::REPLICAS
            );
            runs.push(replicas::measure(
                &bin,
                &sim_bin,
                &http,
                tmp.path(),
                n,
                &args.interval,
                args.rounds,
            )?);
        }
        let table = format!("{}\n\n{}", replicas::describe(&bin), replicas::table(&runs));
        let json = args.json.with_file_name("fleet-replicas.json");
        write(&json, &(serde_json::to_string_pretty(&runs)? + "\n"))?;
        write(&args.table.with_file_name("fleet-replicas.txt"), &table)?;
        println!("{table}");
        println!("results: {}", json.display());
        return Ok(());
    }
    let mut skipped = Vec::new();
    let blackbox = blackbox::available();
    if !blackbox {
        skipped.push(format!(
            "blackbox_exporter: not installed (apt-get install {})",
            blackbox::PROGRAM
        ));
    }
    let mut profile = args.profile;
    if profile && !profile::available() {
        skipped.push("--profile: perf does not run here (apt-get install linux-perf)".to_owned());
        profile = false;
    }
    let interval = humantime::parse_duration(&args.interval)
        .with_context(|| format!("--interval takes a duration such as 30s, not `{}`", args.interval))?;
    let mut bench = Bench {
        interval,
        bin,
        sim_bin,
        http: Http::new()?,
        dir: tmp.path().to_owned(),
        args,
        started,
        blackbox,
    };
    bench.args.profile = profile;
    let mut results = Results {
        schema: SCHEMA,
        generated_at: now(),
        duration_seconds: 0.0,
        machine: bench.machine(),
        settings: Settings {
            sizes: bench.args.sizes.clone(),
            repositories_per_workspace: world::REPOSITORIES,
            interval: bench.args.interval.clone(),
            warm_rounds: bench.args.warm_rounds,
            rounds: bench.args.rounds,
            provision: Provision::ConfigFile,
            daemon_log_filter: LOG_FILTER,
            blackbox_workspaces: bench.args.blackbox_workspaces,
            blackbox_concurrency: compare::CONCURRENCY,
            profile,
            repository_series: bench.args.repository_series.clone(),
        },
        sizes: Vec::new(),
        targets: Vec::new(),
        skipped,
    };
    for n in results.settings.sizes.clone() {
        let run = bench.size(n, &mut results.skipped)?;
        results.sizes.push(run);
    }
    results.duration_seconds = started.elapsed().as_secs_f64();
    results.machine.load_average_end = load_average();
    results.evaluate();
    let table = results.table();
    write(&bench.args.json, &(serde_json::to_string_pretty(&results)? + "\n"))?;
    write(&bench.args.table, &table)?;
    println!("{table}");
    println!("results: {}", bench.args.json.display());
    Ok(())
}

impl Bench {
    fn say(&self, what: &str) {
        eprintln!("[{:6.1} s] {what}", self.started.elapsed().as_secs_f64());
    }

    fn machine(&self) -> Machine {
        let version = Command::new(&self.bin)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default();
        let git_commit = Command::new("git")
            .args(["rev-parse", "--short", "HEAD"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("model name"))
                    .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_owned())
            })
            .unwrap_or_default();
        Machine {
            nproc: std::thread::available_parallelism().map_or(0, |n| n.get()),
            cpu_model,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            labwatch_bin: self.bin.display().to_string(),
            labwatch_version: version,
            simulator_bin: self.sim_bin.display().to_string(),
            git_commit,
            load_average_start: load_average(),
            load_average_end: None,
        }
    }

    /// Everything measured at `n` workspaces, each phase in its own
    /// processes: a simulator holding the fleet, the daemon watching it,
    /// then blackbox_exporter against the same simulator.
    fn size(&self, n: usize, skipped: &mut Vec<String>) -> Result<SizeRun> {
        let dir = self.dir.join(format!("n{n}"));
        std::fs::create_dir_all(&dir)?;
        let fleet = Fleet::new(n);
        self.say(&format!("{n} workspaces: starting the simulator"));
        let scenario = fleet.write_scenario(&dir)?;
        let summary = dir.join("summary.json");
        let sim_started = Instant::now();
        let sim = Simulator::start(&self.sim_bin, &scenario, &summary)?;
        let simulator_start_ms = millis(sim_started.elapsed());
        let settings = provision::Settings {
            sim_url: &sim.base,
            interval: &self.args.interval,
            repository_series: self.args.repository_series.as_deref(),
        };
        let config = provision::write_config(&dir, &fleet, &settings)?;
        self.say(&format!(
            "{n} workspaces: starting the daemon, waiting for every first round"
        ));
        let daemon = Daemon::start(&self.bin, &config)?;
        let mut watch = Watch {
            daemon: &daemon,
            sim: &sim,
            http: &self.http,
            workspaces: n as u64,
            peaks: Peaks::default(),
            stall: (self.interval * 3).max(Duration::from_secs(120)),
        };
        let until = Instant::now() + PHASE_DEADLINE;
        let first_counts = loop {
            let look = watch.look()?;
            if daemon.first_rounds() >= n as u64 {
                break look.counts;
            }
            if Instant::now() > until {
                bail!(
                    "{n} workspaces: after {PHASE_DEADLINE:?} only {} finished their first round",
                    daemon.first_rounds()
                );
            }
            std::thread::sleep(POLL);
        };
        let first_done = daemon.first_round(n, Duration::ZERO)?;
        let first_round_ms = millis(first_done.saturating_duration_since(daemon.serving_at));
        self.say(&format!(
            "{n} workspaces: first round took {:.1} s; measuring {} round(s) after {} warm-up round(s)",
            first_round_ms / 1e3,
            self.args.rounds,
            self.args.warm_rounds
        ));
        let window = watch.window(self.args.warm_rounds, self.args.rounds, PHASE_DEADLINE)?;
        let rss_peak_kib = daemon.proc.memory()?.peak_kib;
        let profile = if self.args.profile {
            self.say(&format!("{n} workspaces: perf record for one more round"));
            // Kept beside the results (not in the scratch directory), for
            // `perf report -i` with call graphs afterwards.
            let data = self.args.json.with_file_name(format!("fleet-perf-{n}.data"));
            if let Some(parent) = data.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let recording = profile::record(daemon.proc.pid, &data)?;
            let rounds = watch.look()?.counts.route(TOKEN_SELF);
            let waited = watch.until_rounds(rounds + n as u64, PHASE_DEADLINE);
            let profile = recording.finish(PROFILE_TOP);
            waited?;
            match profile {
                Ok(p) => Some(p),
                Err(e) => {
                    skipped.push(format!("{n} workspaces: profile: {e:#}"));
                    None
                }
            }
        } else {
            None
        };
        self.say(&format!("{n} workspaces: /health and /metrics"));
        let health = endpoints::health(&self.http, &daemon, HEALTH_REQUESTS)?;
        let metrics = endpoints::metrics(&self.http, &daemon, METRICS_REQUESTS)?;
        let fds_max = watch.peaks.fds.max(window.fds_max);
        let serving_ms = millis(daemon.serving_at.saturating_duration_since(daemon.proc.started));
        drop(daemon);
        let blackbox = if self.blackbox {
            let probed = match self.args.blackbox_workspaces {
                0 => n,
                cap => n.min(cap),
            };
            self.say(&format!("{n} workspaces: blackbox_exporter probing {probed} of them"));
            let ids = simulator::project_ids(&summary)?;
            Some(compare::run(
                &self.http,
                &dir,
                &sim.base,
                &fleet.workspaces[..probed],
                &ids,
                window.cpu_us_per_workspace_round,
            )?)
        } else {
            None
        };
        Ok(SizeRun {
            workspaces: n,
            simulator_start_ms,
            serving_ms,
            first_round_ms,
            first_round_requests: first_counts.total,
            first_round_requests_by_route: first_counts.by_route,
            requests_per_round: window.requests_per_workspace_round * n as f64,
            requests_per_round_target: 2 * n as u64 + 1,
            window,
            rss_peak_kib,
            fds_max,
            health: Some(health),
            metrics: Some(metrics),
            blackbox,
            profile,
        })
    }
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The 1-minute load average.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}
