//! `--profile`: `perf record -g` on the daemon for one more steady round,
//! after the measured window (so perf's own cost is not in the CPU figures),
//! and the top entries of `perf report --no-children`: where labwatch's
//! CPU goes, symbol by symbol, kernel included. perf is the Debian package
//! `linux-perf`; `benches/run --profile` installs it.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// Samples per second: enough for a round of a few seconds, little enough
/// that perf does not take a core from the daemon on a 2-core machine.
const FREQUENCY: &str = "499";

#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    pub data: String,
    pub seconds: f64,
    pub samples: Option<u64>,
    /// Share of samples in the kernel (`[k]` symbols).
    pub kernel_percent: f64,
    /// `perf report --no-children --sort dso,symbol`, the top entries.
    pub top: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub percent: f64,
    pub dso: String,
    pub symbol: String,
}

/// True when `perf` runs here.
pub fn available() -> bool {
    Command::new("perf")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A running `perf record`.
pub struct Recording {
    child: Child,
    data: String,
    started: std::time::Instant,
}

pub fn record(pid: u32, data: &Path) -> Result<Recording> {
    let child = Command::new("perf")
        .args(["record", "-g", "-F", FREQUENCY, "-p", &pid.to_string(), "-o"])
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run perf (Debian package linux-perf)")?;
    Ok(Recording {
        child,
        data: data.display().to_string(),
        started: std::time::Instant::now(),
    })
}

impl Recording {
    /// Stops recording (SIGINT, as Ctrl-C would) and reports the top entries.
    pub fn finish(self, top: usize) -> Result<Profile> {
        let seconds = self.started.elapsed().as_secs_f64();
        let pid = libc::pid_t::try_from(self.child.id()).context("pid out of range")?;
        // SAFETY: kill has no memory-safety preconditions; `pid` is our own
        // child, not yet reaped.
        unsafe { libc::kill(pid, libc::SIGINT) };
        let out = self.child.wait_with_output()?;
        if !out.status.success() && !std::path::Path::new(&self.data).is_file() {
            bail!("perf record failed: {}", String::from_utf8_lossy(&out.stderr));
        }
        let report = Command::new("perf")
            .args([
                "report",
                "--no-children",
                "--stdio",
                "-g",
                "none",
                "--sort",
                "dso,symbol",
                "-i",
            ])
            .arg(&self.data)
            .output()
            .context("cannot run perf report")?;
        if !report.status.success() {
            bail!("perf report failed: {}", String::from_utf8_lossy(&report.stderr));
        }
        let text = String::from_utf8_lossy(&report.stdout);
        let entries = parse(&text);
        Ok(Profile {
            data: self.data,
            seconds,
            samples: samples(&text),
            kernel_percent: entries
                .iter()
                .filter(|e| e.symbol.starts_with("[k]"))
                .map(|e| e.percent)
                .sum(),
            top: entries.into_iter().take(top).collect(),
        })
    }
}

/// `# Samples: 12K of event 'cpu-clock:ppp'`.
fn samples(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("# Samples:"))?;
    let word = line.split_whitespace().nth(2)?;
    let (digits, scale) = match word.strip_suffix('K') {
        Some(d) => (d, 1_000.0),
        None => match word.strip_suffix('M') {
            Some(d) => (d, 1_000_000.0),
            None => (word, 1.0),
        },
    };
    digits.parse::<f64>().ok().map(|v| (v * scale) as u64)
}

/// `    12.34%  labwatch  [.] malloc_trim`, in the order perf prints them
/// (largest first).
fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let percent = words.next()?.strip_suffix('%')?.parse().ok()?;
            let dso = words.next()?.to_owned();
            // `-g none` leaves empty parent columns, printed as `-`.
            let symbol = words.filter(|w| *w != "-").collect::<Vec<_>>().join(" ");
            Some(Entry { percent, dso, symbol })
        })
        .collect()
}
