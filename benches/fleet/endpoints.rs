//! labwatch's read-only endpoints at fleet size, while rounds keep
//! running: `/health` latency (sequential requests, as a load balancer's
//! probe sends them) and `/metrics` scrapes (time as Prometheus sees it,
//! size, series, and the checks' states they report).

use std::collections::BTreeMap;

use anyhow::{Result, bail};

use crate::daemon::Daemon;
use crate::http::Http;
use crate::report::{Latency, Scrapes};

pub fn health(http: &Http, daemon: &Daemon, requests: usize) -> Result<Latency> {
    let url = daemon.url("/health");
    let mut times = Vec::with_capacity(requests);
    let mut statuses = BTreeMap::new();
    for _ in 0..requests {
        let reply = http.get(&url)?;
        *statuses.entry(reply.status).or_default() += 1;
        times.push(reply.elapsed.as_secs_f64() * 1e3);
    }
    let (median, p99, max) = spread(&mut times);
    Ok(Latency {
        requests,
        median_ms: median,
        p99_ms: p99,
        max_ms: max,
        statuses,
    })
}

pub fn metrics(http: &Http, daemon: &Daemon, requests: usize) -> Result<Scrapes> {
    let url = daemon.url("/metrics");
    let mut times = Vec::with_capacity(requests);
    let mut last = None;
    for _ in 0..requests {
        let reply = http.get(&url)?;
        if reply.status != 200 {
            bail!("GET /metrics: {}", reply.status);
        }
        times.push(reply.elapsed.as_secs_f64() * 1e3);
        last = Some(reply);
    }
    let body = last.map(|r| r.text()).unwrap_or_default();
    let mut checks_by_status = BTreeMap::new();
    let mut series = 0;
    for line in body.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
        series += 1;
        if line.starts_with("labwatch_check_status{") {
            let value = line.rsplit(' ').next().unwrap_or("?").to_owned();
            *checks_by_status.entry(value).or_default() += 1;
        }
    }
    let (median, _, max) = spread(&mut times);
    Ok(Scrapes {
        requests,
        median_ms: median,
        max_ms: max,
        bytes: body.len() as u64,
        series,
        checks_by_status,
    })
}

/// Median, 99th percentile (nearest rank) and maximum.
fn spread(values: &mut [f64]) -> (f64, f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN, f64::NAN);
    }
    values.sort_by(f64::total_cmp);
    let rank = |q: f64| values[((q * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    (rank(0.5), rank(0.99), values[values.len() - 1])
}
