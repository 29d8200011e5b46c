//! The processes the benchmark measures: spawning them with their output
//! read on threads (JSON log events counted by message, so the driver waits
//! on "Round finished" instead of sleeping), CPU time from `/proc` (per-thread
//! `schedstat` in nanoseconds, `stat` clock ticks as the fallback), memory
//! from `/proc/PID/status`, and one-shot runs reaped with `wait4` for their
//! exact `rusage`.

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Log lines kept for error messages when a process misbehaves.
const TAIL_LINES: usize = 30;

/// What a process printed so far: JSON log events counted by message (and
/// by message per workspace), the arrival time of the latest of each, and
/// plain lines that start with a prefix someone waits for.
#[derive(Default)]
struct Seen {
    counts: HashMap<String, u64>,
    latest: HashMap<String, (serde_json::Value, Instant)>,
    lines: Vec<(String, Instant)>,
    tail: VecDeque<String>,
    /// Both pipes closed: the process is gone, waiting longer is pointless.
    closed: usize,
}

/// The output of one process, shared with its reader threads.
#[derive(Default)]
pub struct Events {
    seen: Mutex<Seen>,
    changed: Condvar,
    /// Plain-output prefixes worth keeping (e.g. the simulator's "Control API:").
    prefixes: Vec<&'static str>,
}

/// The key under which an event of `message` in `workspace` is counted.
fn key(message: &str, workspace: Option<&str>) -> String {
    match workspace {
        Some(ws) => format!("{message}\u{1f}{ws}"),
        None => message.to_owned(),
    }
}

impl Events {
    fn lock(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn line(&self, line: String) {
        let now = Instant::now();
        // A round of 10,000 checks logs 10,000 "Check passed" lines at debug
        // level; nobody waits for them, so they are not even parsed.
        let event = if line.contains("\"Check passed\"") {
            None
        } else {
            serde_json::from_str::<serde_json::Value>(&line).ok()
        };
        let mut seen = self.lock();
        match event.as_ref().and_then(|e| e["message"].as_str()) {
            Some(message) => {
                let event = event.clone().unwrap_or_default();
                let mut keys = vec![key(message, None)];
                if let Some(ws) = event["workspace"].as_str() {
                    keys.push(key(message, Some(ws)));
                }
                for k in keys {
                    *seen.counts.entry(k.clone()).or_default() += 1;
                    seen.latest.insert(k, (event.clone(), now));
                }
            }
            None if self.prefixes.iter().any(|p| line.starts_with(p)) => seen.lines.push((line.clone(), now)),
            None => {}
        }
        if seen.tail.len() == TAIL_LINES {
            seen.tail.pop_front();
        }
        seen.tail.push_back(line);
        drop(seen);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.lock().closed += 1;
        self.changed.notify_all();
    }

    /// Wakes every waiter so it re-checks its condition (e.g. a stop flag).
    pub fn wake(&self) {
        self.changed.notify_all();
    }

    /// How many events of `message` (in `workspace`, or in any) arrived.
    pub fn count(&self, message: &str, workspace: Option<&str>) -> u64 {
        self.lock().counts.get(&key(message, workspace)).copied().unwrap_or(0)
    }

    /// Waits until more than `after` events of `message` arrived; returns the
    /// latest one and when it arrived. `None` when `stop` was raised first.
    pub fn wait_past(
        &self,
        message: &str,
        workspace: Option<&str>,
        after: u64,
        deadline: Duration,
        stop: Option<&AtomicBool>,
    ) -> Result<Option<(serde_json::Value, Instant)>> {
        let k = key(message, workspace);
        let until = Instant::now() + deadline;
        let mut seen = self.lock();
        loop {
            if seen.counts.get(&k).copied().unwrap_or(0) > after {
                return Ok(seen.latest.get(&k).cloned());
            }
            if stop.is_some_and(|s| s.load(Ordering::SeqCst)) {
                return Ok(None);
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || seen.closed == 2 {
                let why = if seen.closed == 2 {
                    "the process exited"
                } else {
                    "timed out"
                };
                bail!(
                    "waiting for `{message}`: {why}; its last output:\n{}",
                    Vec::from(seen.tail.clone()).join("\n")
                );
            }
            seen = self
                .changed
                .wait_timeout(seen, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits up to `limit` or until `stop` is raised, whichever is first.
    pub fn pause(&self, limit: Duration, stop: &AtomicBool) {
        let until = Instant::now() + limit;
        let mut seen = self.lock();
        while !stop.load(Ordering::SeqCst) {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            seen = self
                .changed
                .wait_timeout(seen, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// The first plain line starting with `prefix`, waiting for it.
    pub fn wait_line(&self, prefix: &str, deadline: Duration) -> Result<String> {
        let until = Instant::now() + deadline;
        let mut seen = self.lock();
        loop {
            if let Some((line, _)) = seen.lines.iter().find(|(l, _)| l.starts_with(prefix)) {
                return Ok(line.clone());
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || seen.closed == 2 {
                bail!(
                    "no line starting with `{prefix}`; last output:\n{}",
                    Vec::from(seen.tail.clone()).join("\n")
                );
            }
            seen = self
                .changed
                .wait_timeout(seen, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

/// A long-running child process, killed when dropped.
pub struct Proc {
    child: Child,
    pub pid: u32,
    pub started: Instant,
    pub events: Arc<Events>,
}

impl Proc {
    /// Spawns `cmd` with both pipes read line by line; plain lines starting
    /// with one of `prefixes` are kept for [`Events::wait_line`].
    pub fn spawn(mut cmd: Command, prefixes: &[&'static str]) -> Result<Proc> {
        let started = Instant::now();
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
        let events = Arc::new(Events {
            prefixes: prefixes.to_vec(),
            ..Events::default()
        });
        let out: Box<dyn Read + Send> = Box::new(child.stdout.take().context("stdout is piped")?);
        let err: Box<dyn Read + Send> = Box::new(child.stderr.take().context("stderr is piped")?);
        for pipe in [out, err] {
            let events = events.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                    events.line(line);
                }
                events.close();
            });
        }
        Ok(Proc {
            pid: child.id(),
            child,
            started,
            events,
        })
    }

    pub fn cpu(&self) -> Result<CpuSample> {
        CpuSample::take(self.pid)
    }

    pub fn memory(&self) -> Result<Memory> {
        Memory::of(self.pid)
    }

    /// The shared libraries mapped into the process, by file name, sorted.
    pub fn shared_libraries(&self) -> Result<Vec<String>> {
        let maps = std::fs::read_to_string(format!("/proc/{}/maps", self.pid))?;
        let mut names: Vec<String> = maps
            .lines()
            .filter_map(|l| l.split_whitespace().nth(5))
            .filter_map(|path| path.rsplit('/').next())
            .filter(|name| name.contains(".so"))
            .map(str::to_owned)
            .collect();
        names.sort();
        names.dedup();
        Ok(names)
    }

    /// Resets the peak RSS (`VmHWM`) so the next [`Proc::memory`] reports
    /// the peak of what happens from now on. False where the kernel or the
    /// permissions do not allow it; then the peak counts from the start.
    pub fn reset_peak(&self) -> bool {
        std::fs::write(format!("/proc/{}/clear_refs", self.pid), "5").is_ok()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The CPU time a process has used so far.
pub struct CpuSample {
    /// Thread id → CPU nanoseconds (`/proc/PID/task/TID/schedstat`).
    threads: HashMap<u32, u64>,
    /// utime + stime of the whole process, exited threads included, in ns
    /// (clock-tick resolution).
    total_ns: u64,
}

/// CPU used between two samples.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct CpuDelta {
    pub ns: u64,
    /// True: nanosecond `schedstat` sums. False: a thread exited in between
    /// and took its `schedstat` along, so this is the clock-tick difference.
    pub exact: bool,
}

impl CpuDelta {
    pub fn ms(self) -> f64 {
        self.ns as f64 / 1e6
    }
}

impl CpuSample {
    pub fn take(pid: u32) -> Result<CpuSample> {
        let mut threads = HashMap::new();
        let dir = format!("/proc/{pid}/task");
        for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot read {dir}"))? {
            let entry = entry?;
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            // A thread may exit between the listing and the read.
            if let Ok(text) = std::fs::read_to_string(entry.path().join("schedstat")) {
                if let Some(ns) = text.split_whitespace().next().and_then(|n| n.parse().ok()) {
                    threads.insert(tid, ns);
                }
            }
        }
        Ok(CpuSample {
            threads,
            total_ns: stat_cpu_ns(pid)?,
        })
    }

    pub fn since(&self, earlier: &CpuSample) -> CpuDelta {
        let lost = earlier.threads.keys().any(|tid| !self.threads.contains_key(tid));
        if lost {
            return CpuDelta {
                ns: self.total_ns.saturating_sub(earlier.total_ns),
                exact: false,
            };
        }
        let ns = self
            .threads
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(earlier.threads.get(tid).copied().unwrap_or(0)))
            .sum();
        CpuDelta { ns, exact: true }
    }
}

/// utime + stime from `/proc/PID/stat`, in nanoseconds.
fn stat_cpu_ns(pid: u32) -> Result<u64> {
    let times = StatTimes::of(pid)?;
    Ok(times.user_ns + times.system_ns)
}

/// The CPU time of a whole process, exited threads included, from
/// `/proc/PID/stat` (clock-tick resolution, usually 10 ms).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StatTimes {
    /// `utime`: in the process's own code and libraries.
    pub user_ns: u64,
    /// `stime`: in the kernel on its behalf.
    pub system_ns: u64,
}

impl StatTimes {
    pub fn of(pid: u32) -> Result<StatTimes> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
        // The command name may contain spaces and parentheses; fields resume
        // after the last ')', starting with field 3 (state).
        let rest = text
            .rsplit_once(')')
            .map(|(_, r)| r)
            .context("malformed /proc/PID/stat")?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| -> Result<u64> {
            fields
                .get(n - 3)
                .and_then(|f| f.parse().ok())
                .context("malformed /proc/PID/stat")
        };
        let ns = |ticks: u64| ticks * 1_000_000_000 / clock_ticks_per_second();
        Ok(StatTimes {
            user_ns: ns(field(14)?),
            system_ns: ns(field(15)?),
        })
    }
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf has no preconditions; it returns -1 on error.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|hz| *hz > 0).unwrap_or(100)
}

/// Resident memory, in KiB.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct Memory {
    pub rss_kib: u64,
    /// The anonymous part (heap, stacks) and the file-backed part (mostly
    /// the binary's own pages) of `rss_kib`.
    pub anon_kib: u64,
    pub file_kib: u64,
    /// The peak since start or since the last [`Proc::reset_peak`].
    pub peak_kib: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Result<Memory> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
        let kib = |name: &str| -> Result<u64> {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .with_context(|| format!("no {name} in /proc/{pid}/status"))
        };
        Ok(Memory {
            rss_kib: kib("VmRSS:")?,
            anon_kib: kib("RssAnon:")?,
            file_kib: kib("RssFile:")?,
            peak_kib: kib("VmHWM:")?,
        })
    }
}

/// A finished one-shot process, measured by the kernel.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Oneshot {
    pub wall_ms: f64,
    pub user_ms: f64,
    pub sys_ms: f64,
    pub cpu_ms: f64,
    pub max_rss_kib: u64,
    pub exit_code: Option<i32>,
    #[serde(skip)]
    pub stdout: Vec<u8>,
}

/// Runs `cmd` to the end with stdout in a temporary file, and reaps it with
/// `wait4` to read its own `rusage` (microsecond CPU times, peak RSS).
pub fn oneshot(mut cmd: Command, stderr: &Path) -> Result<Oneshot> {
    let out = tempfile::tempfile()?;
    let started = Instant::now();
    let child = cmd
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(File::create(stderr)?)
        .spawn()
        .with_context(|| format!("cannot start {:?}", cmd.get_program()))?;
    let pid = libc::pid_t::try_from(child.id()).context("pid out of range")?;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value of this plain C struct.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own child, not yet reaped (std reaps only in
    // wait/try_wait, which are never called on it); both pointers are valid.
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if reaped != pid {
        bail!("wait4 failed: {}", std::io::Error::last_os_error());
    }
    // The child is reaped; dropping the handle only closes descriptors.
    drop(child);
    let tv_ms = |tv: libc::timeval| tv.tv_sec as f64 * 1e3 + tv.tv_usec as f64 / 1e3;
    let (user_ms, sys_ms) = (tv_ms(usage.ru_utime), tv_ms(usage.ru_stime));
    let mut stdout = Vec::new();
    let mut out = out;
    std::io::Seek::rewind(&mut out)?;
    out.read_to_end(&mut stdout)?;
    Ok(Oneshot {
        wall_ms: wall.as_secs_f64() * 1e3,
        user_ms,
        sys_ms,
        cpu_ms: user_ms + sys_ms,
        max_rss_kib: u64::try_from(usage.ru_maxrss).unwrap_or(0),
        exit_code: libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status)),
        stdout,
    })
}

/// A loopback port that was free a moment ago, for programs that cannot be
/// told to take port 0 and report it.
pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}
