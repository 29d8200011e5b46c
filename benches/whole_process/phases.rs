//! The measurements, one method each, in the order `main` runs them. Each
//! repository count gets its own simulator process; the largest also serves
//! /metrics, wrk and blackbox_exporter, a middle one the fault suite.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::blackbox;
use crate::daemon::{Daemon, Round};
use crate::http::Http;
use crate::procs;
use crate::report::{
    BodySize, DaemonRounds, FaultDelta, Idle, MetricsRender, OneshotRun, PerRequest, Results, SizeRun,
};
use crate::scenario::{self, WORKSPACE, Workspace};
use crate::sim::Sim;
use crate::wrk::{self, Load};

/// What to run: the full benchmark or a quick smoke run.
pub struct Plan {
    pub quick: bool,
    pub sizes: Vec<usize>,
    pub repetitions: usize,
    pub wrk_seconds: u64,
    pub metrics_requests: usize,
    /// Below the request budget's burst (`requests_per_second`, 1000), so
    /// no request waits for the budget: a paced request also pays for the
    /// timer and the wake-up, which is not what this measures.
    pub per_request_repos: usize,
    /// Pairs of rounds for the per-request CPU: the difference of two
    /// rounds is noisier than either, so it gets more samples.
    pub per_request_pairs: usize,
    pub fault_size: usize,
    pub clone_probe_size: usize,
    pub blackbox_concurrency: usize,
}

impl Plan {
    pub fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                quick,
                sizes: vec![1, 100, 1000],
                repetitions: 1,
                wrk_seconds: 1,
                metrics_requests: 20,
                per_request_repos: 300,
                per_request_pairs: 2,
                fault_size: 100,
                clone_probe_size: 100,
                blackbox_concurrency: 8,
            }
        } else {
            Plan {
                quick,
                sizes: vec![1, 100, 1000, 10_000],
                repetitions: 3,
                wrk_seconds: 5,
                metrics_requests: 50,
                per_request_repos: 900,
                per_request_pairs: 5,
                fault_size: 1000,
                clone_probe_size: 1000,
                blackbox_concurrency: 8,
            }
        }
    }

    fn largest(&self) -> usize {
        self.sizes.iter().copied().max().unwrap_or(1)
    }
}

/// The simulator faults of the fault suite, applied while wrk runs.
#[derive(Clone, Copy)]
enum Fault {
    None,
    Latency,
    ServerErrors,
    Resets,
}

impl Fault {
    fn name(self) -> &'static str {
        match self {
            Fault::None => "rounds",
            Fault::Latency => "API latency 2 s",
            Fault::ServerErrors => "5xx storm",
            Fault::Resets => "connection resets",
        }
    }

    fn apply(self, http: &Http, sim: &Sim) -> Result<()> {
        match self {
            Fault::None => Ok(()),
            Fault::Latency => sim.set_latency(http, 2000),
            Fault::ServerErrors => sim.fail_all(http, 503),
            Fault::Resets => sim.drop_all(http),
        }
    }
}

/// The endpoints wrk loads.
const ENDPOINTS: [&str; 2] = ["/health", "/status"];
/// Both trigger keys of a one-workspace daemon: the admin API rate-limits
/// "this workspace" and "all workspaces" separately, so alternating them
/// halves the wait between rounds.
const KEYS: [Option<&str>; 2] = [Some(WORKSPACE), None];

pub struct Bench {
    pub bin: PathBuf,
    pub http: Http,
    pub dir: PathBuf,
    pub plan: Plan,
    pub wrk: bool,
    pub blackbox: bool,
    started: Instant,
}

impl Bench {
    pub fn new(bin: PathBuf, dir: PathBuf, plan: Plan) -> Result<Bench> {
        Ok(Bench {
            bin,
            http: Http::new()?,
            dir,
            plan,
            wrk: wrk::available(),
            blackbox: blackbox::available(),
            started: Instant::now(),
        })
    }

    fn say(&self, what: &str) {
        eprintln!("[{:6.1} s] {what}", self.started.elapsed().as_secs_f64());
    }

    fn subdir(&self, name: &str) -> Result<PathBuf> {
        let dir = self.dir.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(dir)
    }

    /// Everything measured at `n` repositories.
    pub fn size(&self, n: usize, results: &mut Results) -> Result<()> {
        let dir = self.subdir(&format!("n{n}"))?;
        self.say(&format!("{n} repositories: starting the simulator"));
        let summary = dir.join("summary.json");
        let sim = Sim::start(&self.bin, &scenario::write_scenario(&dir, n, 0)?, &summary)?;
        let config = scenario::write_config(&dir, "labwatch", &sim.base, &[Workspace::members(n)])?;
        self.say(&format!("{n} repositories: one-shot labwatch check"));
        let oneshot = self.oneshot(&sim, &config, n, false)?;
        if n == self.plan.clone_probe_size {
            self.say(&format!(
                "{n} repositories: one-shot labwatch check with the clone probe"
            ));
            let ws = Workspace {
                clone_probe: true,
                ..Workspace::members(n)
            };
            let probe_config = scenario::write_config(&dir, "clone-probe", &sim.base, &[ws])?;
            results.clone_probe = Some(self.oneshot(&sim, &probe_config, n, true)?);
        }
        self.say(&format!("{n} repositories: daemon rounds"));
        let daemon = Daemon::start(&self.bin, &config)?;
        let first = daemon.first_verdict(1)?;
        if n == 1 {
            let memory = daemon.proc.memory()?;
            results.idle = Some(Idle {
                repositories: n,
                rss_kib: memory.rss_kib,
                rss_anon_kib: memory.anon_kib,
                rss_file_kib: memory.file_kib,
                shared_libraries: daemon.proc.shared_libraries()?,
                serving_ms: millis(daemon.serving),
                first_verdict_ms: millis(first),
            });
        }
        let mut samples = Vec::new();
        for _ in 0..self.plan.repetitions {
            samples.push(daemon.measure_round(&self.http, &sim, WORKSPACE, &KEYS)?);
        }
        let verified = self.verified(&daemon, WORKSPACE)?;
        let median = median_by_cpu(&samples);
        results.rounds.push(SizeRun {
            repositories: n,
            daemon: DaemonRounds {
                serving_ms: millis(daemon.serving),
                first_verdict_ms: millis(first),
                verified_per_cpu_second: verified as f64 / (median.cpu_ms / 1e3),
                median,
                samples,
                verified,
            },
            oneshot,
        });
        if n == self.plan.largest() {
            self.endpoints(&daemon, &sim, n, results)?;
        }
        if n == self.plan.fault_size {
            self.faults(&daemon, &sim, n, results)?;
        }
        drop(daemon);
        if n == self.plan.largest() {
            self.blackbox(&sim, &summary, results)?;
        }
        Ok(())
    }

    /// `labwatch check` as a whole process, with the simulator's count of
    /// the requests it made.
    fn oneshot(&self, sim: &Sim, config: &Path, n: usize, clone_probe: bool) -> Result<OneshotRun> {
        sim.reset_counters(&self.http)?;
        let mut cmd = Command::new(&self.bin);
        cmd.args(["check", "--output", "json", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .env_remove("LABWATCH_CONFIG");
        let stderr = config.with_extension("stderr");
        let process = procs::oneshot(cmd, &stderr)?;
        let counters = sim.counters(&self.http)?;
        let report: serde_json::Value = serde_json::from_slice(&process.stdout).with_context(|| {
            format!(
                "labwatch check printed no JSON (exit {:?}); stderr: {}",
                process.exit_code,
                std::fs::read_to_string(&stderr).unwrap_or_default()
            )
        })?;
        Ok(OneshotRun {
            repositories: n,
            clone_probe,
            verified: verified_in(&report),
            requests: counters.total,
            requests_by_route: counters.by_route,
            process,
        })
    }

    /// Repository checks `ok` in the daemon's `/status/{workspace}`.
    fn verified(&self, daemon: &Daemon, workspace: &str) -> Result<u64> {
        let reply = self.http.get(&daemon.url(&format!("/status/{workspace}")))?;
        let status: serde_json::Value = serde_json::from_slice(&reply.body).context("/status is not JSON")?;
        Ok(verified_in(&status))
    }

    /// /metrics render time and size, /status size, and wrk on /health and
    /// /status, idle and while rounds run back to back.
    fn endpoints(&self, daemon: &Daemon, sim: &Sim, n: usize, results: &mut Results) -> Result<()> {
        self.say(&format!("{n} repositories: /metrics"));
        results.metrics = Some(self.metrics(daemon, n)?);
        let status = self.http.get(&daemon.url("/status"))?;
        results.status_bytes = Some(BodySize {
            repositories: n,
            bytes: status.body.len() as u64,
        });
        if !self.wrk {
            results
                .skipped
                .push("wrk: not installed (apt-get install wrk)".to_owned());
            return Ok(());
        }
        for endpoint in ENDPOINTS {
            self.say(&format!("{n} repositories: wrk {endpoint}, idle and during rounds"));
            let mut idle = wrk::run(&daemon.url(endpoint), self.plan.wrk_seconds)?;
            idle.endpoint = endpoint.to_owned();
            idle.condition = "idle".to_owned();
            results.load.push(idle);
            results
                .load
                .push(self.load_with_rounds(daemon, sim, endpoint, Fault::None)?);
        }
        Ok(())
    }

    fn metrics(&self, daemon: &Daemon, n: usize) -> Result<MetricsRender> {
        let url = daemon.url("/metrics");
        // The first scrape is not timed: it may allocate buffers once.
        let first = self.http.get(&url)?;
        if first.status != 200 {
            bail!("/metrics answered {}", first.status);
        }
        let body = first.text();
        let cpu = daemon.proc.cpu()?;
        let mut times = Vec::new();
        for _ in 0..self.plan.metrics_requests {
            times.push(millis(self.http.get(&url)?.elapsed));
        }
        let cpu = daemon.proc.cpu()?.since(&cpu);
        times.sort_by(f64::total_cmp);
        Ok(MetricsRender {
            repositories: n,
            requests: times.len(),
            median_ms: percentile(&times, 50.0),
            p99_ms: percentile(&times, 99.0),
            max_ms: times.last().copied().unwrap_or(f64::NAN),
            bytes: first.body.len() as u64,
            series: body.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count() as u64,
            cpu_ms_per_render: cpu.ms() / times.len() as f64,
        })
    }

    /// wrk on `endpoint` while rounds run and `fault` is active in the
    /// simulator; the fault is cleared and the last round waited for after.
    fn load_with_rounds(&self, daemon: &Daemon, sim: &Sim, endpoint: &str, fault: Fault) -> Result<Load> {
        fault.apply(&self.http, sim)?;
        let url = daemon.url(endpoint);
        let seconds = self.plan.wrk_seconds;
        let (load, pumped) = daemon.with_rounds(&self.http, WORKSPACE, &KEYS, || wrk::run(&url, seconds))?;
        sim.clear_faults(&self.http)?;
        daemon.settle(WORKSPACE, &pumped)?;
        let mut load = load?;
        load.endpoint = endpoint.to_owned();
        load.condition = fault.name().to_owned();
        load.rounds_triggered = pumped.triggered;
        load.rounds = pumped.finished;
        Ok(load)
    }

    /// /health and /status latency with each simulator fault against none,
    /// rounds running throughout.
    fn faults(&self, daemon: &Daemon, sim: &Sim, n: usize, results: &mut Results) -> Result<()> {
        if !self.wrk {
            return Ok(());
        }
        for endpoint in ENDPOINTS {
            self.say(&format!("{n} repositories: fault suite on {endpoint}"));
            let baseline = self.load_with_rounds(daemon, sim, endpoint, Fault::None)?;
            for fault in [Fault::Latency, Fault::ServerErrors, Fault::Resets] {
                let load = self.load_with_rounds(daemon, sim, endpoint, fault)?;
                let delta_p99_ms = load.p99_ms - baseline.p99_ms;
                results.faults.push(FaultDelta {
                    endpoint: endpoint.to_owned(),
                    fault: fault.name().to_owned(),
                    repositories: n,
                    baseline_p50_ms: baseline.p50_ms,
                    baseline_p99_ms: baseline.p99_ms,
                    p50_ms: load.p50_ms,
                    p99_ms: load.p99_ms,
                    delta_p50_ms: load.p50_ms - baseline.p50_ms,
                    delta_p99_ms,
                    met: delta_p99_ms <= 100.0 && load.socket_errors == 0,
                });
                results.load.push(load);
            }
            let mut baseline = baseline;
            baseline.condition = "no fault (fault suite)".to_owned();
            results.load.push(baseline);
        }
        Ok(())
    }

    /// blackbox_exporter probing every project of the scenario once.
    fn blackbox(&self, sim: &Sim, summary: &Path, results: &mut Results) -> Result<()> {
        if !self.blackbox {
            results.skipped.push(format!(
                "blackbox_exporter comparison: {} not installed (apt-get install prometheus-blackbox-exporter)",
                blackbox::PROGRAM
            ));
            return Ok(());
        }
        let ids: Vec<u64> = crate::sim::project_ids(summary)?
            .into_iter()
            .map(|(_, id)| id)
            .collect();
        self.say(&format!("blackbox_exporter: {} probes", ids.len()));
        let dir = self.subdir("blackbox")?;
        let probes = blackbox::probe_all(
            &self.http,
            &dir,
            &sim.base,
            scenario::TOKEN,
            &ids,
            self.plan.blackbox_concurrency,
        )?;
        results.blackbox = Some(probes);
        Ok(())
    }

    /// The CPU of an un-batched request: one workspace whose repositories
    /// all come from the member listing, one whose repositories are public
    /// projects outside it (a `GET /api/v4/projects/:path` each), same
    /// count; the difference per extra request.
    pub fn per_request(&self, results: &mut Results) -> Result<()> {
        let m = self.plan.per_request_repos;
        self.say(&format!(
            "per-request CPU: {m} listed against {m} unlisted repositories"
        ));
        let dir = self.subdir("per-request")?;
        let sim = Sim::start(
            &self.bin,
            &scenario::write_scenario(&dir, m, m)?,
            &dir.join("summary.json"),
        )?;
        let listed = Workspace {
            name: "listed",
            ..Workspace::members(m)
        };
        let unlisted = Workspace {
            name: "unlisted",
            repositories: (1..=m).map(scenario::public_path).collect(),
            clone_probe: false,
        };
        let config = scenario::write_config(&dir, "labwatch", &sim.base, &[listed, unlisted])?;
        let daemon = Daemon::start(&self.bin, &config)?;
        daemon.first_verdict(2)?;
        daemon.warm_up(&self.http, &["listed", "unlisted"])?;
        let (mut a, mut b, mut per) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..self.plan.per_request_pairs {
            let l = daemon.measure_round(&self.http, &sim, "listed", &[Some("listed")])?;
            let u = daemon.measure_round(&self.http, &sim, "unlisted", &[Some("unlisted")])?;
            let extra = u.requests.saturating_sub(l.requests).max(1);
            per.push((u.cpu_ms - l.cpu_ms) * 1e3 / extra as f64);
            a.push(l);
            b.push(u);
        }
        let unlisted_verified = self.verified(&daemon, "unlisted")?;
        let mut sorted = per.clone();
        sorted.sort_by(f64::total_cmp);
        results.per_request = Some(PerRequest {
            repositories: m,
            listed: a,
            unlisted: b,
            unlisted_verified,
            median_cpu_us_per_request: percentile(&sorted, 50.0),
            cpu_us_per_request: per,
        });
        Ok(())
    }
}

/// Repository checks with status `ok` in a status or `check --output json`
/// document.
fn verified_in(report: &serde_json::Value) -> u64 {
    let workspaces = report["workspaces"].as_array().map(Vec::as_slice).unwrap_or_default();
    let single = std::slice::from_ref(report);
    // `/status/{workspace}` answers the workspace itself.
    let workspaces = if workspaces.is_empty() { single } else { workspaces };
    workspaces
        .iter()
        .flat_map(|ws| ws["checks"].as_array().map(Vec::as_slice).unwrap_or_default())
        .filter(|c| c["check"] == "repository" && c["status"] == "ok")
        .count() as u64
}

fn median_by_cpu(samples: &[Round]) -> Round {
    let mut sorted = samples.to_vec();
    sorted.sort_by(|a, b| a.cpu_ms.total_cmp(&b.cpu_ms));
    sorted.swap_remove(sorted.len() / 2)
}

/// The nearest-rank percentile of sorted values.
fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
