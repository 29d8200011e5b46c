//! The steady state: labwatch's CPU over a window of whole rounds, after
//! the first round (and `warm_rounds` more), divided by the workspace-rounds
//! completed in it; memory and open descriptors sampled meanwhile; the
//! GitLab requests the window cost.
//!
//! Rounds are counted at the simulator, not in labwatch (whose log is
//! silent when checks pass). A workspace-round is one token check, one
//! `GET /api/v4/personal_access_tokens/self`: every check of a workspace
//! runs once per interval, but each on its own jittered schedule (±10%),
//! so a workspace's checks drift into separate passes and no single
//! request marks the end of "its round"; the token check runs exactly once
//! per interval, now and after issue 16 (item 3 keeps it). The window
//! opens when the token checks reach `(1 + warm_rounds) × N` and closes at
//! `(1 + warm_rounds + rounds) × N`: `rounds` intervals' worth of every
//! check, whatever their order. Checks in flight at the two ends cost about
//! the same. CPU is `utime + stime` of `/proc/PID/stat`, the whole process.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde::Serialize;

use crate::daemon::{Daemon, Sample};
use crate::http::Http;
use crate::procs::StatTimes;
use crate::simulator::{Counts, LISTING, Simulator, TOKEN_SELF};

/// How often the benchmark looks at the daemon and the simulator. Each
/// look reads the simulator's counters (its request log: up to 10,000
/// entries) and `/proc`; none of it is labwatch's CPU.
pub const POLL: Duration = Duration::from_millis(500);

/// The largest values seen across every sample of a run.
#[derive(Debug, Default, Clone, Copy)]
pub struct Peaks {
    pub fds: u64,
    pub rss_kib: u64,
}

impl Peaks {
    pub fn see(&mut self, s: &Sample) {
        self.fds = self.fds.max(s.fds);
        self.rss_kib = self.rss_kib.max(s.memory.rss_kib);
    }
}

/// One measured window.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// Rounds, counted from 1 (the first round), the window covers.
    pub first_round: u64,
    pub last_round: u64,
    pub seconds: f64,
    /// Token checks answered in the window: workspace-rounds.
    pub workspace_rounds: u64,
    /// Membership listings answered in the window (one per pass that runs
    /// repository checks).
    pub listings: u64,
    pub cpu_ms: f64,
    pub user_ms: f64,
    pub system_ms: f64,
    pub cpu_us_per_workspace_round: f64,
    pub requests: u64,
    pub requests_per_workspace_round: f64,
    pub requests_by_route: std::collections::BTreeMap<String, u64>,
    pub requests_by_status: std::collections::BTreeMap<String, u64>,
    /// VmRSS sampled in the window: the median and the largest.
    pub rss_median_kib: u64,
    pub rss_max_kib: u64,
    pub rss_anon_median_kib: u64,
    pub fds_max: u64,
    /// Share of the window labwatch was on a CPU (1.0 = one core busy).
    pub cores_busy: f64,
    /// The simulator's CPU in the window: not labwatch's, but it shares
    /// the machine.
    pub simulator_cpu_ms: f64,
}

/// One look at both processes.
pub struct Look {
    pub counts: Counts,
    pub daemon: Sample,
    pub simulator: StatTimes,
}

/// Watches a running daemon and its simulator.
pub struct Watch<'a> {
    pub daemon: &'a Daemon,
    pub sim: &'a Simulator,
    pub http: &'a Http,
    pub workspaces: u64,
    pub peaks: Peaks,
    /// How long without a single token check means the fleet is stuck
    /// (e.g. GitLab refuses it), rather than slow.
    pub stall: Duration,
}

impl Watch<'_> {
    /// One look: the simulator's counters, then `/proc` (so the CPU sample
    /// follows the counters it is paired with).
    pub fn look(&mut self) -> Result<Look> {
        let counts = self.sim.counts(self.http)?;
        let daemon = self.daemon.sample()?;
        let simulator = StatTimes::of(self.sim.proc.pid)?;
        self.peaks.see(&daemon);
        Ok(Look {
            counts,
            daemon,
            simulator,
        })
    }

    /// Polls until the simulator has answered `rounds` token checks
    /// (workspace-rounds); returns that look and every sample taken on the
    /// way.
    pub fn until_rounds(&mut self, rounds: u64, deadline: Duration) -> Result<(Look, Vec<Sample>)> {
        let until = Instant::now() + deadline;
        let mut samples = Vec::new();
        let mut progress = (0, Instant::now());
        loop {
            let look = self.look()?;
            let answered = look.counts.route(TOKEN_SELF);
            if answered >= rounds {
                return Ok((look, samples));
            }
            samples.push(look.daemon);
            if answered > progress.0 {
                progress = (answered, Instant::now());
            } else if progress.1.elapsed() > self.stall {
                bail!(
                    "no token check for {:?} ({answered} of {rounds}); the simulator answered {:?}",
                    self.stall,
                    look.counts.by_status
                );
            }
            if Instant::now() > until {
                bail!(
                    "after {deadline:?} the simulator had answered {answered} of {rounds} token checks; is the daemon stuck?"
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// Waits out `warm_rounds` rounds after the first, then measures
    /// `rounds` rounds.
    pub fn window(&mut self, warm_rounds: u64, rounds: u64, deadline: Duration) -> Result<Window> {
        let n = self.workspaces;
        let (start, _) = self.until_rounds((1 + warm_rounds) * n, deadline)?;
        let (end, mut inside) = self.until_rounds((1 + warm_rounds + rounds) * n, deadline)?;
        let (s0, s1) = (start.daemon, end.daemon);
        inside.push(s1);
        let delta = end.counts.since(&start.counts);
        let sim_ns = |t: StatTimes| t.user_ns + t.system_ns;
        let workspace_rounds = delta.route(TOKEN_SELF);
        let user_ns = s1.cpu.user_ns.saturating_sub(s0.cpu.user_ns);
        let system_ns = s1.cpu.system_ns.saturating_sub(s0.cpu.system_ns);
        let cpu_ns = user_ns + system_ns;
        let seconds = s1.at.duration_since(s0.at).as_secs_f64();
        let mut rss: Vec<u64> = inside.iter().map(|s| s.memory.rss_kib).collect();
        let mut anon: Vec<u64> = inside.iter().map(|s| s.memory.anon_kib).collect();
        Ok(Window {
            first_round: 2 + warm_rounds,
            last_round: 1 + warm_rounds + rounds,
            seconds,
            workspace_rounds,
            listings: delta.route(LISTING),
            cpu_ms: cpu_ns as f64 / 1e6,
            user_ms: user_ns as f64 / 1e6,
            system_ms: system_ns as f64 / 1e6,
            cpu_us_per_workspace_round: cpu_ns as f64 / 1e3 / workspace_rounds.max(1) as f64,
            requests: delta.total,
            requests_per_workspace_round: delta.total as f64 / workspace_rounds.max(1) as f64,
            requests_by_route: delta.by_route,
            requests_by_status: delta.by_status,
            rss_median_kib: median(&mut rss),
            rss_max_kib: rss.iter().copied().max().unwrap_or(0),
            rss_anon_median_kib: median(&mut anon),
            fds_max: inside.iter().map(|s| s.fds).max().unwrap_or(0),
            cores_busy: cpu_ns as f64 / 1e9 / seconds.max(1e-9),
            simulator_cpu_ms: sim_ns(end.simulator).saturating_sub(sim_ns(start.simulator)) as f64 / 1e6,
        })
    }
}

fn median(values: &mut [u64]) -> u64 {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or(0)
}
