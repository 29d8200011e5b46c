//! The labwatch daemon under test (`labwatch --log-format json run`),
//! logging at `info` as a platform would run it: a passing round logs
//! nothing, so the log costs the steady state nothing. Its first round is
//! over when every workspace logged "First round finished"; after that the
//! benchmark watches it only from outside (`/proc`, the simulator).

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::procs::{Memory, Proc, StatTimes};

/// Longest a daemon may take to load its config and start serving.
const SERVE_DEADLINE: Duration = Duration::from_secs(300);

pub struct Daemon {
    pub proc: Proc,
    pub addr: SocketAddr,
    /// When it logged "Serving" (config loaded, socket bound).
    pub serving_at: Instant,
}

/// What `/proc` says about the daemon at one moment.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    pub cpu: StatTimes,
    pub memory: Memory,
    pub fds: u64,
}

impl Daemon {
    /// Starts the daemon on `config` and waits until it serves.
    pub fn start(bin: &Path, config: &Path) -> Result<Daemon> {
        Daemon::start_with_env(bin, config, &[])
    }

    /// [`Daemon::start`] with more environment variables.
    pub fn start_with_env(bin: &Path, config: &Path, env: &[(&str, &str)]) -> Result<Daemon> {
        let mut cmd = Command::new(bin);
        cmd.envs(env.iter().copied());
        cmd.args(["--log-format", "json", "run", "--config"])
            .arg(config)
            .env("RUST_LOG", "info")
            .env_remove("LABWATCH_CONFIG");
        let proc = Proc::spawn(cmd, &[])?;
        let (serving, serving_at) = proc
            .events
            .wait_past("Serving", None, 0, SERVE_DEADLINE, None)?
            .context("no Serving event")?;
        let addr = serving["listen"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("the Serving event names no address")?;
        Ok(Daemon { proc, addr, serving_at })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Waits until `workspaces` workspaces finished their first round and
    /// returns when the last one did.
    pub fn first_round(&self, workspaces: usize, deadline: Duration) -> Result<Instant> {
        let (_, at) = self
            .proc
            .events
            .wait_past("First round finished", None, workspaces as u64 - 1, deadline, None)?
            .context("no first round")?;
        Ok(at)
    }

    /// How many "First round finished" events arrived so far.
    pub fn first_rounds(&self) -> u64 {
        self.proc.events.count("First round finished", None)
    }

    pub fn sample(&self) -> Result<Sample> {
        let pid = self.proc.pid;
        Ok(Sample {
            at: Instant::now(),
            cpu: StatTimes::of(pid)?,
            memory: Memory::of(pid)?,
            fds: open_fds(pid)?,
        })
    }
}

/// The entries of `/proc/PID/fd`: sockets, files, pipes, epoll and timer
/// descriptors alike.
pub fn open_fds(pid: u32) -> Result<u64> {
    let dir = format!("/proc/{pid}/fd");
    let entries = std::fs::read_dir(&dir).with_context(|| format!("cannot read {dir}"))?;
    Ok(entries.count() as u64)
}
