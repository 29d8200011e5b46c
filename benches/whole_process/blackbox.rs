//! What users run today: Prometheus' blackbox_exporter (Debian package
//! `prometheus-blackbox-exporter`) verifying the same repositories, one HTTP
//! probe per repository against the simulator's `GET /api/v4/projects/:id`
//! with the token header, status 200 and a body check, at the concurrency
//! of a Prometheus scraping many targets.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;

use crate::http::{self, Http};
use crate::procs::{self, Proc};

pub const PROGRAM: &str = "prometheus-blackbox-exporter";
const MODULE: &str = "gitlab_project";
/// Longest blackbox_exporter may take to start serving.
const START_DEADLINE: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Serialize)]
pub struct Probes {
    pub version: String,
    pub probes: u64,
    pub succeeded: u64,
    pub concurrency: usize,
    pub wall_ms: f64,
    pub cpu_ms: f64,
    pub cpu_exact: bool,
    pub cpu_us_per_probe: f64,
    pub probes_per_cpu_second: f64,
    /// After the probes, and the peak while they ran.
    pub rss_kib: u64,
    pub peak_rss_kib: u64,
    /// RSS once started, before any probe.
    pub idle_rss_kib: u64,
}

/// True when blackbox_exporter is on the PATH.
pub fn available() -> bool {
    Command::new(PROGRAM).arg("--version").output().is_ok()
}

fn version() -> String {
    Command::new(PROGRAM)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| {
            // It prints its version on stderr (kingpin), first line.
            let text = [o.stdout, o.stderr].concat();
            String::from_utf8_lossy(&text).lines().next().map(str::to_owned)
        })
        .unwrap_or_default()
}

/// The module: what a user writes to check a GitLab project with a token.
fn config(token: &str) -> String {
    format!(
        r#"modules:
  {MODULE}:
    prober: http
    timeout: 10s
    http:
      method: GET
      headers:
        PRIVATE-TOKEN: "{token}"
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp:
        - '"path_with_namespace"'
      preferred_ip_protocol: ip4
"#
    )
}

/// Starts blackbox_exporter and probes every project id once.
pub fn probe_all(
    http: &Http,
    dir: &Path,
    sim_base: &str,
    token: &str,
    ids: &[u64],
    concurrency: usize,
) -> Result<Probes> {
    let exporter = Exporter::start(http, dir, &config(token))?;
    let targets: Vec<Target> = ids
        .iter()
        .map(|id| Target {
            module: MODULE,
            url: format!("{sim_base}/api/v4/projects/{id}"),
        })
        .collect();
    exporter.probe(http, &targets, concurrency)
}

/// One probe: a module of the exporter's config and the URL it probes.
#[derive(Debug, Clone)]
pub struct Target {
    pub module: &'static str,
    pub url: String,
}

/// A running blackbox_exporter.
pub struct Exporter {
    proc: Proc,
    base: String,
}

impl Exporter {
    /// Starts blackbox_exporter with `config` (its YAML modules) on a free
    /// port and waits until it serves.
    pub fn start(http: &Http, dir: &Path, config: &str) -> Result<Exporter> {
        let file = dir.join("blackbox.yml");
        std::fs::write(&file, config)?;
        let port = procs::free_port()?;
        let mut cmd = Command::new(PROGRAM);
        cmd.arg(format!("--config.file={}", file.display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"));
        let proc = Proc::spawn(cmd, &[])?;
        let base = format!("http://127.0.0.1:{port}");
        wait_ready(http, &proc, &base)?;
        Ok(Exporter { proc, base })
    }

    /// Probes every target once, `concurrency` at a time, and measures the
    /// exporter's CPU and memory meanwhile. The first target is probed once
    /// before, unmeasured: it proves the module works.
    pub fn probe(&self, http: &Http, targets: &[Target], concurrency: usize) -> Result<Probes> {
        let (proc, base) = (&self.proc, self.base.as_str());
        let warm = http.block_on(probe_each(http.client(), base, &targets[..1], 1))?;
        if warm != 1 {
            bail!(
                "blackbox_exporter's first probe ({}) failed; its module is wrong or the simulator refused it",
                targets[0].module
            );
        }
        let idle = proc.memory()?;
        proc.reset_peak();
        let cpu = proc.cpu()?;
        let started = Instant::now();
        let succeeded = http.block_on(probe_each(http.client(), base, targets, concurrency))?;
        let wall = started.elapsed();
        let cpu = proc.cpu()?.since(&cpu);
        let memory = proc.memory()?;
        let probes = targets.len() as u64;
        Ok(Probes {
            version: version(),
            probes,
            succeeded,
            concurrency,
            wall_ms: wall.as_secs_f64() * 1e3,
            cpu_ms: cpu.ms(),
            cpu_exact: cpu.exact,
            cpu_us_per_probe: cpu.ns as f64 / 1e3 / probes as f64,
            probes_per_cpu_second: probes as f64 / (cpu.ns as f64 / 1e9),
            rss_kib: memory.rss_kib,
            peak_rss_kib: memory.peak_kib,
            idle_rss_kib: idle.rss_kib,
        })
    }
}

/// Polls `/-/healthy` until it answers: blackbox_exporter's log lines differ
/// between versions, its health endpoint does not.
fn wait_ready(http: &Http, proc: &Proc, base: &str) -> Result<()> {
    let deadline = Instant::now() + START_DEADLINE;
    let never = std::sync::atomic::AtomicBool::new(false);
    loop {
        if http.get(&format!("{base}/-/healthy")).is_ok_and(|r| r.status == 200) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("blackbox_exporter did not serve on {base} within {START_DEADLINE:?}");
        }
        // Woken early when its output pipes close (it exited).
        proc.events.pause(Duration::from_millis(20), &never);
    }
}

/// Probes `targets` with `concurrency` probes in flight; returns how many
/// succeeded (`probe_success 1`).
async fn probe_each(client: &reqwest::Client, base: &str, targets: &[Target], concurrency: usize) -> Result<u64> {
    let targets: Arc<[Target]> = targets.into();
    let next = Arc::new(AtomicUsize::new(0));
    let ok = Arc::new(AtomicU64::new(0));
    let url = format!("{base}/probe");
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (client, targets, next, ok, url) = (client.clone(), targets.clone(), next.clone(), ok.clone(), url.clone());
        workers.spawn(async move {
            while let Some(target) = targets.get(next.fetch_add(1, Ordering::Relaxed)) {
                let request = client
                    .get(&url)
                    .query(&[("module", target.module), ("target", target.url.as_str())]);
                let reply = http::read(request).await?;
                if reply.status == 200 && reply.text().lines().any(|l| l == "probe_success 1") {
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok::<(), anyhow::Error>(())
        });
    }
    while let Some(done) = workers.join_next().await {
        done.context("a probing task panicked")??;
    }
    Ok(ok.load(Ordering::Relaxed))
}
