//! Load on labwatch's read-only endpoints with wrk (Debian package `wrk`):
//! run it, and read requests per second and the latency distribution from
//! its `--latency` report.

use std::process::Command;

use anyhow::{Context, Result, bail};
use serde::Serialize;

/// wrk's threads and connections: two threads (one per core of a small CI
/// machine), sixteen pollers at once.
const THREADS: u32 = 2;
const CONNECTIONS: u32 = 16;

#[derive(Debug, Clone, Serialize)]
pub struct Load {
    pub endpoint: String,
    /// What ran meanwhile: "idle", "rounds", or a simulator fault.
    pub condition: String,
    pub threads: u32,
    pub connections: u32,
    pub seconds: u64,
    pub requests: u64,
    pub requests_per_second: f64,
    pub p50_ms: f64,
    pub p75_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Answers other than 2xx/3xx (e.g. /health's 503 while GitLab fails).
    pub non_2xx: u64,
    /// Connect, read, write errors and timeouts.
    pub socket_errors: u64,
    /// Rounds of checks triggered, and finished, while wrk ran.
    pub rounds_triggered: u64,
    pub rounds: u64,
}

/// True when wrk is on the PATH.
pub fn available() -> bool {
    Command::new("wrk").arg("--version").output().is_ok()
}

/// Runs wrk against `url` for `seconds`.
pub fn run(url: &str, seconds: u64) -> Result<Load> {
    let output = Command::new("wrk")
        .args([
            format!("-t{THREADS}"),
            format!("-c{CONNECTIONS}"),
            format!("-d{seconds}s"),
            "--timeout".to_owned(),
            "10s".to_owned(),
            "--latency".to_owned(),
            url.to_owned(),
        ])
        .output()
        .context("cannot run wrk")?;
    let text = String::from_utf8_lossy(&output.stdout);
    if !output.status.success() {
        bail!("wrk failed: {text}{}", String::from_utf8_lossy(&output.stderr));
    }
    parse(&text, seconds).with_context(|| format!("cannot read wrk's report:\n{text}"))
}

fn parse(text: &str, seconds: u64) -> Result<Load> {
    let mut load = Load {
        endpoint: String::new(),
        condition: String::new(),
        threads: THREADS,
        connections: CONNECTIONS,
        seconds,
        requests: 0,
        requests_per_second: 0.0,
        p50_ms: f64::NAN,
        p75_ms: f64::NAN,
        p90_ms: f64::NAN,
        p99_ms: f64::NAN,
        max_ms: f64::NAN,
        non_2xx: 0,
        socket_errors: 0,
        rounds_triggered: 0,
        rounds: 0,
    };
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["50%", v] => load.p50_ms = millis(v)?,
            ["75%", v] => load.p75_ms = millis(v)?,
            ["90%", v] => load.p90_ms = millis(v)?,
            ["99%", v] => load.p99_ms = millis(v)?,
            // "Latency   1.2ms   0.3ms   9.8ms   90.00%": avg, stdev, max.
            ["Latency", _, _, max, ..] => load.max_ms = millis(max)?,
            ["Requests/sec:", v] => load.requests_per_second = v.parse()?,
            [n, "requests", "in", ..] => load.requests = n.parse()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => load.non_2xx = n.parse()?,
            ["Socket", "errors:", rest @ ..] => {
                // "connect 0, read 0, write 0, timeout 0"
                load.socket_errors = rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum();
            }
            _ => {}
        }
    }
    if load.p50_ms.is_nan() || load.requests == 0 {
        bail!("no latency distribution or request count");
    }
    Ok(load)
}

/// wrk's durations: `350.00us`, `1.20ms`, `2.01s`, `1.00m`.
fn millis(text: &str) -> Result<f64> {
    let split = text
        .find(|c: char| c.is_ascii_alphabetic())
        .with_context(|| format!("`{text}` has no unit"))?;
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse()?;
    let ms = match unit {
        "us" => n / 1e3,
        "ms" => n,
        "s" => n * 1e3,
        "m" => n * 60e3,
        "h" => n * 3600e3,
        other => bail!("unknown unit `{other}`"),
    };
    Ok(ms)
}
