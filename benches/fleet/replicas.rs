//! The fleet on three replicas sharing one PostgreSQL (issue 17, item 5),
//! with `--replicas 3`: the same world and simulator as the one-daemon
//! runs, the daemons on `[store] backend = "postgres"` with the default
//! lease (15 s). Per size it measures, over whole rounds once the leases
//! are balanced:
//!
//! - the replicas' CPU (all three together) and PostgreSQL's (the
//!   postmaster and its backends) per workspace-round;
//! - the store's load per workspace-round: labwatch's store calls (its
//!   `labwatch_store_calls_total`, one statement or one transaction each)
//!   and PostgreSQL's committed transactions (`pg_stat_database`);
//! - GitLab requests per workspace-round, as in the one-daemon runs;
//! - after `kill -9` of one replica, how long until the other two own its
//!   workspaces, and until they have checked them all again (their
//!   `/readyz`, which waits for every owned workspace's first round).
//!
//! The PostgreSQL server is the test suite's own harness
//! (`tests/it/support/postgres.rs`, shared through `#[path]`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::daemon::Daemon;
use crate::http::Http;
use crate::procs::CpuSample;
use crate::provision;
use crate::simulator::Simulator;
use crate::world::Fleet;

#[allow(dead_code)]
#[path = "../../tests/it/support/postgres.rs"]
mod postgres;

use postgres::Postgres;

pub const REPLICAS: usize = 3;
/// How long the leases may take to balance, and the survivors to take
/// over and check a dead replica's workspaces.
const DEADLINE: Duration = Duration::from_secs(600);
const POLL: Duration = Duration::from_millis(100);

/// What one size measured.
#[derive(Debug, Serialize)]
pub struct ReplicaRun {
    pub workspaces: usize,
    pub replicas: usize,
    pub rounds: u64,
    pub window_seconds: f64,
    pub balance_seconds: f64,
    pub replica_cpu_us_per_workspace_round: f64,
    pub postgres_cpu_us_per_workspace_round: f64,
    pub store_calls_per_workspace_round: f64,
    pub postgres_transactions_per_workspace_round: f64,
    pub requests_per_workspace_round: f64,
    pub takeover_owned_seconds: f64,
    pub takeover_verified_seconds: f64,
}

/// Runs the fleet of `n` on three replicas.
pub fn measure(
    bin: &Path,
    sim_bin: &Path,
    http: &Http,
    dir: &Path,
    n: usize,
    interval: &str,
    rounds: u64,
) -> Result<ReplicaRun> {
    let interval_d = humantime::parse_duration(interval)?;
    let dir = dir.join(format!("replicas-n{n}"));
    std::fs::create_dir_all(&dir)?;
    let fleet = Fleet::new(n);
    let scenario = fleet.write_scenario(&dir)?;
    let sim = Simulator::start(sim_bin, &scenario, &dir.join("summary.json"))?;
    let pg = Postgres::start();
    let config = write_config(&dir, &fleet, &sim, &pg, interval)?;
    let started = Instant::now();
    let daemons: Vec<Daemon> = (0..REPLICAS)
        .map(|i| Daemon::start_with_env(bin, &config, &[("LABWATCH_REPLICA_ID", &format!("replica-{i}"))]))
        .collect::<Result<_>>()?;
    // Balanced: each owns its share and has checked it.
    wait(DEADLINE, "the leases to balance", || {
        let owned: Vec<u64> = daemons.iter().map(|d| owned(http, d)).collect::<Result<_>>()?;
        // Shares of ceil(n / 3) leave the last replica the remainder.
        let least = (n / REPLICAS).saturating_sub(REPLICAS) as u64;
        Ok(owned.iter().sum::<u64>() == n as u64
            && owned.iter().all(|&o| o >= least)
            && daemons.iter().all(|d| ready(http, d)))
    })?;
    let balance_seconds = started.elapsed().as_secs_f64();
    // One interval for the rounds that rebalancing started to settle.
    std::thread::sleep(interval_d);

    let postmaster = pg.postmaster_pid();
    let cpu_before: Vec<CpuSample> = daemons
        .iter()
        .map(|d| CpuSample::take(d.proc.pid))
        .collect::<Result<_>>()?;
    let pg_before = postgres_cpu_ns(postmaster)?;
    let calls_before = store_calls(http, &daemons)?;
    let xacts_before = transactions(&pg)?;
    let requests_before = sim.counts(http)?;
    let window_started = Instant::now();
    std::thread::sleep(interval_d * rounds as u32);
    let window = window_started.elapsed();
    let cpu_ns: u64 = daemons
        .iter()
        .zip(&cpu_before)
        .map(|(d, before)| CpuSample::take(d.proc.pid).map(|now| now.since(before).ns))
        .sum::<Result<u64>>()?;
    let pg_ns = postgres_cpu_ns(postmaster)?.saturating_sub(pg_before);
    let calls = store_calls(http, &daemons)? - calls_before;
    let xacts = transactions(&pg)? - xacts_before;
    let requests = sim.counts(http)?.since(&requests_before).total;
    // Whole rounds in the window, from its length: every workspace runs
    // once per interval.
    let workspace_rounds = n as f64 * window.as_secs_f64() / interval_d.as_secs_f64();

    // kill -9 the last replica: the others take its workspaces over.
    let mut daemons = daemons;
    let dead = daemons.pop().context("three replicas")?;
    let killed = Instant::now();
    // Dropping a process kills it with SIGKILL.
    drop(dead);
    wait(DEADLINE, "the survivors to own every workspace", || {
        let owned: Vec<u64> = daemons.iter().map(|d| owned(http, d)).collect::<Result<_>>()?;
        Ok(owned.iter().sum::<u64>() == n as u64)
    })?;
    let takeover_owned_seconds = killed.elapsed().as_secs_f64();
    wait(DEADLINE, "the survivors to check every workspace again", || {
        Ok(daemons.iter().all(|d| ready(http, d)))
    })?;
    let takeover_verified_seconds = killed.elapsed().as_secs_f64();
    Ok(ReplicaRun {
        workspaces: n,
        replicas: REPLICAS,
        rounds,
        window_seconds: window.as_secs_f64(),
        balance_seconds,
        replica_cpu_us_per_workspace_round: cpu_ns as f64 / 1e3 / workspace_rounds,
        postgres_cpu_us_per_workspace_round: pg_ns as f64 / 1e3 / workspace_rounds,
        store_calls_per_workspace_round: calls / workspace_rounds,
        postgres_transactions_per_workspace_round: xacts / workspace_rounds,
        requests_per_workspace_round: requests as f64 / workspace_rounds,
        takeover_owned_seconds,
        takeover_verified_seconds,
    })
}

/// The one-daemon config, on PostgreSQL.
fn write_config(
    dir: &Path,
    fleet: &Fleet,
    sim: &Simulator,
    pg: &Postgres,
    interval: &str,
) -> Result<std::path::PathBuf> {
    let settings = provision::Settings {
        sim_url: &sim.base,
        interval,
        repository_series: None,
    };
    let path = provision::write_config(dir, fleet, &settings)?;
    let key = dir.join("store.key");
    let bytes: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    std::fs::write(&key, bytes)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    }
    let text = std::fs::read_to_string(&path)?;
    let postgres = format!(
        "[store.postgres]\nurl = \"{}\"\npassword_file = \"{}\"\n\n[defaults]",
        pg.url(),
        pg.password_file().display()
    );
    let text = text
        .replacen("[store]\n", "[store]\nbackend = \"postgres\"\n", 1)
        .replacen("[defaults]", &postgres, 1);
    std::fs::write(&path, text)?;
    Ok(path)
}

/// The sum of the samples of the family whose lines start with `prefix`.
fn metric(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// A replica's `/metrics`. Tried again once: the daemon closes a
/// keep-alive connection idle for 10 s, which the client may be reusing.
fn metrics(http: &Http, d: &Daemon) -> Result<String> {
    match http.get(&d.url("/metrics")) {
        Ok(reply) => Ok(reply.text()),
        Err(_) => Ok(http.get(&d.url("/metrics"))?.text()),
    }
}

/// The workspaces a replica owns, from its `/metrics`.
fn owned(http: &Http, d: &Daemon) -> Result<u64> {
    Ok(metric(&metrics(http, d)?, "labwatch_replica_owned_workspaces{") as u64)
}

fn ready(http: &Http, d: &Daemon) -> bool {
    http.get(&d.url("/readyz")).is_ok_and(|r| r.status == 200)
}

/// Every replica's store calls so far.
fn store_calls(http: &Http, daemons: &[Daemon]) -> Result<f64> {
    let mut calls = 0.0;
    for d in daemons {
        calls += metric(&metrics(http, d)?, "labwatch_store_calls_total{");
    }
    Ok(calls)
}

/// Committed transactions of the database `labwatch` so far.
fn transactions(pg: &Postgres) -> Result<f64> {
    let out = pg.superuser_psql(
        "postgres",
        "SELECT xact_commit FROM pg_stat_database WHERE datname = 'labwatch'",
    );
    out.trim().parse::<f64>().context("pg_stat_database's xact_commit")
}

/// The CPU of the postmaster and every process it started, in ns.
fn postgres_cpu_ns(postmaster: u32) -> Result<u64> {
    let mut total = crate::procs::StatTimes::of(postmaster).map(|t| t.user_ns + t.system_ns)?;
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        let parent = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if parent == Some(postmaster) {
            if let Ok(t) = crate::procs::StatTimes::of(pid) {
                total += t.user_ns + t.system_ns;
            }
        }
    }
    Ok(total)
}

/// Polls `done` every [`POLL`] until it holds.
fn wait(deadline: Duration, what: &str, mut done: impl FnMut() -> Result<bool>) -> Result<()> {
    let until = Instant::now() + deadline;
    loop {
        if done()? {
            return Ok(());
        }
        if Instant::now() > until {
            bail!("waited {} s for {what}", deadline.as_secs());
        }
        std::thread::sleep(POLL);
    }
}

/// The table of the runs.
pub fn table(runs: &[ReplicaRun]) -> String {
    let mut t = String::from(
        "| workspaces | replicas | CPU µs/workspace-round (replicas) | PostgreSQL CPU µs/ws-round | store calls/ws-round | PG transactions/ws-round | GitLab requests/ws-round | balanced after | dead replica's workspaces owned again | … and checked again |\n|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in runs {
        t.push_str(&format!(
            "| {} | {} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} s | {:.1} s | {:.1} s |\n",
            r.workspaces,
            r.replicas,
            r.replica_cpu_us_per_workspace_round,
            r.postgres_cpu_us_per_workspace_round,
            r.store_calls_per_workspace_round,
            r.postgres_transactions_per_workspace_round,
            r.requests_per_workspace_round,
            r.balance_seconds,
            r.takeover_owned_seconds,
            r.takeover_verified_seconds,
        ));
    }
    t
}

/// The command line of a `--replicas` run, for the results file.
pub fn describe(bin: &Path) -> String {
    let version = Command::new(bin)
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default();
    format!("{version}, {REPLICAS} replicas on PostgreSQL")
}
