//! The labwatch daemon under test (`labwatch --log-format json run`): start
//! it, wait for its first verdict, and measure rounds triggered through the
//! admin API. A round's end is its "Round finished" log event, which the
//! daemon logs at debug level on its own target; so the daemon runs with
//! `RUST_LOG=info,labwatch::rounds=debug`, which adds that one line per
//! round and nothing per check.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::http::Http;
use crate::procs::Proc;
use crate::scenario::ADMIN_TOKEN;
use crate::sim::Sim;

/// Longest a round may take before the benchmark gives up.
const ROUND_DEADLINE: Duration = Duration::from_secs(180);
/// Longest a daemon may take to load its config and finish its first round.
const START_DEADLINE: Duration = Duration::from_secs(180);

pub struct Daemon {
    pub proc: Proc,
    pub addr: SocketAddr,
    /// From spawning to the "Serving" event (config loaded, socket bound).
    pub serving: Duration,
}

/// A trigger of the admin API: accepted, or refused for this long.
enum Trigger {
    Accepted,
    TooSoon(Duration),
}

/// One measured round.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    pub wall_ms: f64,
    pub cpu_ms: f64,
    /// False when a thread exited during the round, so the CPU time is the
    /// clock-tick (10 ms) difference instead of nanosecond sums.
    pub cpu_exact: bool,
    /// Requests the simulator answered during the round.
    pub requests: u64,
    pub requests_by_route: BTreeMap<String, u64>,
    pub rss_kib: u64,
    /// Heap and stacks in `rss_kib` (the rest is mostly the binary's pages).
    pub rss_anon_kib: u64,
    /// Peak RSS during the round (the kernel's high-water mark, reset before it).
    pub peak_rss_kib: u64,
    pub peak_reset: bool,
}

impl Daemon {
    /// Starts the daemon on `config` and waits until it serves.
    pub fn start(bin: &Path, config: &Path) -> Result<Daemon> {
        let mut cmd = Command::new(bin);
        cmd.args(["--log-format", "json", "run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info,labwatch::rounds=debug")
            .env_remove("LABWATCH_CONFIG");
        let proc = Proc::spawn(cmd, &[])?;
        let (serving, at) = proc
            .events
            .wait_past("Serving", None, 0, START_DEADLINE, None)?
            .context("no Serving event")?;
        let addr = serving["listen"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("the Serving event names no address")?;
        let serving = at.duration_since(proc.started);
        Ok(Daemon { proc, addr, serving })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until `workspaces` workspaces finished their first round;
    /// returns the time from spawning the process to then.
    pub fn first_verdict(&self, workspaces: u64) -> Result<Duration> {
        let (_, at) = self
            .proc
            .events
            .wait_past("First round finished", None, workspaces - 1, START_DEADLINE, None)?
            .context("no first round")?;
        Ok(at.duration_since(self.proc.started))
    }

    fn trigger(&self, http: &Http, workspace: Option<&str>) -> Result<Trigger> {
        let mut request = http
            .client()
            .post(self.url("/api/v1/checks/run"))
            .bearer_auth(ADMIN_TOKEN);
        if let Some(ws) = workspace {
            request = request.query(&[("workspace", ws)]);
        }
        let reply = http.send(request)?;
        match reply.status {
            202 => Ok(Trigger::Accepted),
            429 => Ok(Trigger::TooSoon(reply.retry_after.unwrap_or(Duration::from_secs(1)))),
            other => bail!("POST /api/v1/checks/run: {other} {}", reply.text()),
        }
    }

    /// Triggers a round through the first of `keys` the daemon accepts
    /// (each is rate-limited on its own: a workspace name, or `None` for
    /// all). `Some(wait)` when every key was used moments ago: the shortest
    /// `Retry-After`.
    fn trigger_first(&self, http: &Http, keys: &[Option<&str>]) -> Result<Option<Duration>> {
        let mut wait = Duration::MAX;
        for key in keys {
            match self.trigger(http, *key)? {
                Trigger::Accepted => return Ok(None),
                Trigger::TooSoon(d) => wait = wait.min(d),
            }
        }
        Ok(Some(wait))
    }

    /// [`Daemon::trigger_first`], waiting out `Retry-After` until accepted;
    /// false when `stop` was raised first.
    fn trigger_any(&self, http: &Http, keys: &[Option<&str>], stop: &AtomicBool) -> Result<bool> {
        while let Some(wait) = self.trigger_first(http, keys)? {
            self.proc.events.pause(wait, stop);
            if stop.load(Ordering::SeqCst) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Triggers one round of `workspace` (through `keys`) and measures it:
    /// wall time to its "Round finished" event, CPU, the simulator's
    /// request count, and memory. The measurement starts just before the
    /// accepted trigger, so waiting out `Retry-After` is not in it.
    pub fn measure_round(&self, http: &Http, sim: &Sim, workspace: &str, keys: &[Option<&str>]) -> Result<Round> {
        let never = AtomicBool::new(false);
        let done = self.proc.events.count("Round finished", Some(workspace));
        let (cpu, started, peak_reset) = loop {
            sim.reset_counters(http)?;
            let peak_reset = self.proc.reset_peak();
            let cpu = self.proc.cpu()?;
            let started = Instant::now();
            match self.trigger_first(http, keys)? {
                None => break (cpu, started, peak_reset),
                Some(wait) => self.proc.events.pause(wait, &never),
            }
        };
        let (_, finished) = self
            .proc
            .events
            .wait_past("Round finished", Some(workspace), done, ROUND_DEADLINE, None)?
            .context("no round")?;
        let cpu = self.proc.cpu()?.since(&cpu);
        let memory = self.proc.memory()?;
        let counters = sim.counters(http)?;
        Ok(Round {
            wall_ms: finished.saturating_duration_since(started).as_secs_f64() * 1e3,
            cpu_ms: cpu.ms(),
            cpu_exact: cpu.exact,
            requests: counters.total,
            requests_by_route: counters.by_route,
            rss_kib: memory.rss_kib,
            rss_anon_kib: memory.anon_kib,
            peak_rss_kib: memory.peak_kib,
            peak_reset,
        })
    }

    /// Runs one round of each of `workspaces` (unmeasured), through its own
    /// trigger, and waits for them: the first rounds after start pay for
    /// warming caches and pools. The measured rounds that follow then wait
    /// out `Retry-After`, by which time every workspace's request budget
    /// has refilled (a round starting on an empty budget is paced, and a
    /// paced request costs more CPU).
    pub fn warm_up(&self, http: &Http, workspaces: &[&str]) -> Result<()> {
        let never = AtomicBool::new(false);
        for ws in workspaces {
            let done = self.proc.events.count("Round finished", Some(ws));
            self.trigger_any(http, &[Some(ws)], &never)?;
            self.proc
                .events
                .wait_past("Round finished", Some(ws), done, ROUND_DEADLINE, None)?;
        }
        Ok(())
    }

    /// Runs `during` (e.g. wrk) while rounds of `workspace` run back to
    /// back: one is triggered before `during` starts (waiting out
    /// `Retry-After` if need be), the next as soon as the last finished and
    /// the admin API allows. Returns what `during` returned and the rounds
    /// triggered and finished meanwhile; a round still running at the end
    /// is waited for by [`Daemon::settle`].
    pub fn with_rounds<T: Send>(
        &self,
        http: &Http,
        workspace: &str,
        keys: &[Option<&str>],
        during: impl FnOnce() -> T + Send,
    ) -> Result<(T, Pumped)> {
        let start = self.proc.events.count("Round finished", Some(workspace));
        self.trigger_any(http, keys, &AtomicBool::new(false))?;
        let stop = AtomicBool::new(false);
        std::thread::scope(|scope| {
            let worker = scope.spawn(|| {
                let out = during();
                stop.store(true, Ordering::SeqCst);
                self.proc.events.wake();
                out
            });
            let pumped = self.pump(http, workspace, keys, start, &stop);
            let out = worker
                .join()
                .map_err(|_| anyhow::anyhow!("the load generator thread panicked"))?;
            Ok((out, pumped?))
        })
    }

    /// Keeps triggering rounds until `stop`; the first one is running
    /// already, and finishes when the count passes `start`.
    fn pump(
        &self,
        http: &Http,
        workspace: &str,
        keys: &[Option<&str>],
        start: u64,
        stop: &AtomicBool,
    ) -> Result<Pumped> {
        let events = &self.proc.events;
        let count = || events.count("Round finished", Some(workspace));
        // The count at which the last triggered round is over.
        let (mut idle_at, mut triggered) = (start + 1, 1);
        loop {
            let finished = events.wait_past(
                "Round finished",
                Some(workspace),
                idle_at - 1,
                ROUND_DEADLINE,
                Some(stop),
            )?;
            if finished.is_none() || stop.load(Ordering::SeqCst) {
                break;
            }
            let now = count();
            if !self.trigger_any(http, keys, stop)? {
                idle_at = now;
                break;
            }
            idle_at = now + 1;
            triggered += 1;
        }
        Ok(Pumped {
            triggered,
            finished: count() - start,
            idle_at,
        })
    }

    /// Waits until the round [`Daemon::with_rounds`] left running finished.
    pub fn settle(&self, workspace: &str, pumped: &Pumped) -> Result<()> {
        self.proc.events.wait_past(
            "Round finished",
            Some(workspace),
            pumped.idle_at - 1,
            ROUND_DEADLINE,
            None,
        )?;
        Ok(())
    }
}

/// Rounds kept going by [`Daemon::with_rounds`].
#[derive(Debug, Clone, Copy)]
pub struct Pumped {
    /// Rounds triggered while the load ran.
    pub triggered: u64,
    /// Rounds that finished while the load ran.
    pub finished: u64,
    /// The "Round finished" count at which the last triggered round is over.
    idle_at: u64,
}
