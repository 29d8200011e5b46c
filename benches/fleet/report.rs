//! The fleet benchmark's results (JSON, so runs compare with `jq`), the
//! targets of issue 16 item 5 with met/missed, and the printed table.

use std::fmt::Write as _;

use serde::Serialize;

use crate::output::{Table, bytes, mib, thousands};
use crate::profile::Profile;
use crate::provision::Provision;
use crate::steady::Window;

/// Bumped when the JSON shape changes incompatibly.
pub const SCHEMA: u32 = 1;
/// The size most targets are stated at, and the one compared with.
pub const TARGET_SIZE: usize = 10_000;
pub const BASE_SIZE: usize = 500;

#[derive(Debug, Serialize)]
pub struct Results {
    pub schema: u32,
    pub generated_at: String,
    pub duration_seconds: f64,
    pub machine: Machine,
    pub settings: Settings,
    pub sizes: Vec<SizeRun>,
    pub targets: Vec<Target>,
    /// Parts not measured, and why.
    pub skipped: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Machine {
    pub nproc: usize,
    pub cpu_model: String,
    pub kernel: String,
    pub labwatch_bin: String,
    pub labwatch_version: String,
    pub simulator_bin: String,
    pub git_commit: Option<String>,
    pub load_average_start: Option<f64>,
    pub load_average_end: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct Settings {
    pub sizes: Vec<usize>,
    pub repositories_per_workspace: usize,
    pub interval: String,
    pub warm_rounds: u64,
    pub rounds: u64,
    pub provision: Provision,
    pub daemon_log_filter: &'static str,
    pub blackbox_workspaces: usize,
    pub blackbox_concurrency: usize,
    pub profile: bool,
    /// `[metrics] repository_series`; `None`: the default.
    pub repository_series: Option<String>,
}

/// Everything measured at one fleet size.
#[derive(Debug, Serialize)]
pub struct SizeRun {
    pub workspaces: usize,
    pub simulator_start_ms: f64,
    /// From spawning the daemon to its "Serving" event.
    pub serving_ms: f64,
    /// From "Serving" to the last workspace's "First round finished".
    pub first_round_ms: f64,
    /// Requests the simulator answered until then, by route.
    pub first_round_requests: u64,
    pub first_round_requests_by_route: std::collections::BTreeMap<String, u64>,
    pub window: Window,
    /// `VmHWM` after the window: the peak since start.
    pub rss_peak_kib: u64,
    /// Largest `/proc/PID/fd` count of every sample since start.
    pub fds_max: u64,
    /// The window's requests per workspace-round × N.
    pub requests_per_round: f64,
    pub requests_per_round_target: u64,
    pub health: Option<Latency>,
    pub metrics: Option<Scrapes>,
    pub blackbox: Option<Blackbox>,
    pub profile: Option<Profile>,
}

#[derive(Debug, Serialize)]
pub struct Latency {
    pub requests: usize,
    pub median_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// HTTP status → count.
    pub statuses: std::collections::BTreeMap<u16, u64>,
}

#[derive(Debug, Serialize)]
pub struct Scrapes {
    pub requests: usize,
    /// From sending the request to the body's last byte.
    pub median_ms: f64,
    pub max_ms: f64,
    pub bytes: u64,
    pub series: u64,
    /// `labwatch_check_status` series by value (0 ok, 1 warning, 2
    /// critical, 3 unknown): proof the fleet was healthy while measured.
    pub checks_by_status: std::collections::BTreeMap<String, u64>,
}

#[derive(Debug, Serialize)]
pub struct Blackbox {
    pub version: String,
    pub workspaces: usize,
    pub probes_per_workspace: usize,
    pub probes: u64,
    pub succeeded: u64,
    pub concurrency: usize,
    pub cpu_ms: f64,
    pub cpu_us_per_probe: f64,
    /// Its CPU for the probes of one workspace: one "workspace-round".
    pub cpu_us_per_workspace_round: f64,
    /// That ÷ labwatch's steady CPU per workspace-round.
    pub ratio: f64,
    pub peak_rss_kib: u64,
}

#[derive(Debug, Serialize)]
pub struct Target {
    pub name: String,
    pub workspaces: Option<usize>,
    pub value: f64,
    pub unit: &'static str,
    pub target: String,
    pub met: bool,
}

impl Results {
    /// Judges issue 16's targets on what was measured.
    pub fn evaluate(&mut self) {
        let mut targets = Vec::new();
        let mut push = |name: &str, n: Option<usize>, value: f64, unit, target: String, met| {
            targets.push(Target {
                name: name.to_owned(),
                workspaces: n,
                value,
                unit,
                target,
                met,
            });
        };
        for r in &self.sizes {
            let n = Some(r.workspaces);
            let cpu = r.window.cpu_us_per_workspace_round;
            if r.workspaces == TARGET_SIZE {
                push(
                    "steady CPU per workspace-round",
                    n,
                    cpu,
                    "µs",
                    "≤ 250".into(),
                    cpu <= 250.0,
                );
                let rss = r.rss_peak_kib as f64 / 1024.0;
                push("RSS (peak)", n, rss, "MiB", "≤ 256".into(), rss <= 256.0);
                if let Some(m) = &r.metrics {
                    push(
                        "/metrics scrape (median)",
                        n,
                        m.median_ms,
                        "ms",
                        "≤ 100".into(),
                        m.median_ms <= 100.0,
                    );
                }
            }
            push(
                "open fds (max)",
                n,
                r.fds_max as f64,
                "",
                "≤ 200".into(),
                r.fds_max <= 200,
            );
            let target = r.requests_per_round_target;
            push(
                "GitLab requests per round",
                n,
                r.requests_per_round,
                "",
                format!("≤ {target}"),
                r.requests_per_round <= target as f64 + 0.5,
            );
            if let Some(h) = &r.health {
                push("/health p99", n, h.p99_ms, "ms", "< 5".into(), h.p99_ms < 5.0);
            }
        }
        let cpu_at = |n| {
            self.sizes
                .iter()
                .find(|r| r.workspaces == n)
                .map(|r| r.window.cpu_us_per_workspace_round)
        };
        if let (Some(big), Some(base)) = (cpu_at(TARGET_SIZE), cpu_at(BASE_SIZE)) {
            let ratio = big / base;
            push(
                "CPU per workspace-round, 10,000 ÷ 500",
                None,
                ratio,
                "×",
                "≤ 1.25".into(),
                ratio <= 1.25,
            );
        }
        self.targets = targets;
    }

    fn target(&self, name: &str, n: Option<usize>) -> (String, String) {
        self.targets
            .iter()
            .find(|t| t.name == name && t.workspaces == n)
            .map(|t| {
                let unit = if t.unit.is_empty() {
                    String::new()
                } else {
                    format!(" {}", t.unit)
                };
                (
                    t.target.clone() + &unit,
                    if t.met { "met" } else { "missed" }.to_owned(),
                )
            })
            .unwrap_or_default()
    }

    pub fn table(&self) -> String {
        let mut t = Table::default();
        for r in &self.sizes {
            self.size_rows(&mut t, r);
        }
        if let Some((target, met)) =
            Some(self.target("CPU per workspace-round, 10,000 ÷ 500", None)).filter(|(t, _)| !t.is_empty())
        {
            let value = self
                .targets
                .iter()
                .find(|t| t.workspaces.is_none())
                .map_or(f64::NAN, |t| t.value);
            t.section("across sizes");
            t.row(
                "CPU per workspace-round, 10,000 ÷ 500",
                &format!("{value:.2}×"),
                &target,
                &met,
            );
        }
        let m = &self.machine;
        let mut out = format!(
            "labwatch fleet benchmark · {} · {} × {} · Linux {} · {} ({})\n",
            self.generated_at,
            m.nproc,
            m.cpu_model,
            m.kernel,
            m.labwatch_version,
            m.git_commit.as_deref().unwrap_or("no git"),
        );
        let load = |l: Option<f64>| l.map_or("?".to_owned(), |l| format!("{l:.2}"));
        let _ = writeln!(
            out,
            "load average {} at start, {} at end (other work on the machine inflates CPU times)",
            load(m.load_average_start),
            load(m.load_average_end)
        );
        let _ = writeln!(out, "daemon: {} · simulator: {}", m.labwatch_bin, m.simulator_bin);
        let s = &self.settings;
        let _ = writeln!(
            out,
            "{} repositories and one token per workspace · interval {} · workspaces from the {} · log {} · repository series {} · window: {} round(s) after the first and {} warm-up",
            s.repositories_per_workspace,
            s.interval,
            match s.provision {
                Provision::ConfigFile => "config file",
            },
            s.daemon_log_filter,
            s.repository_series.as_deref().unwrap_or("per-repository (default)"),
            s.rounds,
            s.warm_rounds
        );
        out.push_str(&t.render());
        for r in &self.sizes {
            let failing: u64 = r
                .metrics
                .iter()
                .flat_map(|m| m.checks_by_status.iter())
                .filter(|(status, _)| status.as_str() != "0")
                .map(|(_, n)| n)
                .sum();
            if failing > 0 {
                let _ = writeln!(
                    out,
                    "WARNING: {failing} checks were not ok at {} workspaces: those numbers measure a failing fleet",
                    r.workspaces
                );
            }
        }
        for r in &self.sizes {
            if let Some(p) = &r.profile {
                let _ = writeln!(
                    out,
                    "── perf report --no-children, {} workspaces ({:.0} s, {} samples, {:.1}% in the kernel)",
                    r.workspaces,
                    p.seconds,
                    p.samples.map_or("?".to_owned(), |s| s.to_string()),
                    p.kernel_percent
                );
                for e in &p.top {
                    let _ = writeln!(out, "{:>7.2}%  {:<22} {}", e.percent, e.dso, e.symbol);
                }
            }
        }
        for s in &self.skipped {
            let _ = writeln!(out, "skipped: {s}");
        }
        let _ = writeln!(out, "took {:.0} s", self.duration_seconds);
        out
    }

    fn size_rows(&self, t: &mut Table, r: &SizeRun) {
        let n = Some(r.workspaces);
        let w = &r.window;
        t.section(&format!(
            "{} workspaces × {} repositories (window: rounds {}–{}, {} workspace-rounds in {:.0} s, labwatch {:.2} cores busy, simulator {:.1} s CPU)",
            thousands(r.workspaces as f64),
            self.settings.repositories_per_workspace,
            w.first_round,
            w.last_round,
            thousands(w.workspace_rounds as f64),
            w.seconds,
            w.cores_busy,
            w.simulator_cpu_ms / 1e3,
        ));
        let judged_at_10k = |name: &str| {
            if r.workspaces == TARGET_SIZE {
                self.target(name, n)
            } else {
                (String::new(), String::new())
            }
        };
        let (target, met) = judged_at_10k("steady CPU per workspace-round");
        t.row(
            "steady CPU per workspace-round",
            &format!(
                "{} (user {} · system {})",
                us(w.cpu_us_per_workspace_round),
                us(w.user_ms * 1e3 / w.workspace_rounds.max(1) as f64),
                us(w.system_ms * 1e3 / w.workspace_rounds.max(1) as f64)
            ),
            &if target.is_empty() {
                "≤ 250 µs at 10,000".to_owned()
            } else {
                target
            },
            &met,
        );
        t.row(
            "first round (Serving → every first verdict)",
            &format!(
                "{} (serving after {}; {} requests)",
                ms(r.first_round_ms),
                ms(r.serving_ms),
                thousands(r.first_round_requests as f64)
            ),
            "",
            "",
        );
        let (target, met) = judged_at_10k("RSS (peak)");
        t.row(
            "RSS peak · steady (median in window)",
            &format!(
                "{} · {} (heap and stacks {})",
                mib(r.rss_peak_kib),
                mib(w.rss_median_kib),
                mib(w.rss_anon_median_kib)
            ),
            &if target.is_empty() {
                "≤ 256 MiB at 10,000".to_owned()
            } else {
                target
            },
            &met,
        );
        let (target, met) = self.target("open fds (max)", n);
        t.row("open fds (max since start)", &r.fds_max.to_string(), &target, &met);
        let (target, met) = self.target("GitLab requests per round", n);
        let routes: Vec<String> = w
            .requests_by_route
            .iter()
            .map(|(route, count)| {
                format!(
                    "{} {:.2}",
                    route.trim_start_matches("GET /api/v4"),
                    *count as f64 / w.workspace_rounds.max(1) as f64
                )
            })
            .collect();
        t.row(
            "GitLab requests per round",
            &format!(
                "{} ({:.2} per workspace: {})",
                thousands(r.requests_per_round),
                w.requests_per_workspace_round,
                routes.join(", ")
            ),
            &target,
            &met,
        );
        if let Some(h) = &r.health {
            let (target, met) = self.target("/health p99", n);
            let statuses: Vec<String> = h.statuses.iter().map(|(s, c)| format!("{c}× {s}")).collect();
            t.row(
                &format!("/health median · p99 ({} requests, rounds running)", h.requests),
                &format!("{} · {} ({})", ms(h.median_ms), ms(h.p99_ms), statuses.join(", ")),
                &target,
                &met,
            );
        }
        if let Some(m) = &r.metrics {
            let (target, met) = judged_at_10k("/metrics scrape (median)");
            let checks: Vec<String> = m
                .checks_by_status
                .iter()
                .map(|(v, c)| {
                    let name = match v.as_str() {
                        "0" => "ok",
                        "1" => "warning",
                        "2" => "critical",
                        _ => "unknown",
                    };
                    format!("{} {name}", thousands(*c as f64))
                })
                .collect();
            t.row(
                &format!("/metrics scrape median · max ({} requests)", m.requests),
                &format!(
                    "{} · {} · {} · {} series (checks: {})",
                    ms(m.median_ms),
                    ms(m.max_ms),
                    bytes(m.bytes),
                    thousands(m.series as f64),
                    checks.join(", ")
                ),
                &if target.is_empty() {
                    "≤ 100 ms at 10,000".to_owned()
                } else {
                    target
                },
                &met,
            );
        }
        if let Some(b) = &r.blackbox {
            t.row(
                "blackbox_exporter CPU per workspace-round",
                &format!(
                    "{} ({} probes each, {} µs per probe; {} of {} workspaces probed, {} of {} probes succeeded)",
                    us(b.cpu_us_per_workspace_round),
                    b.probes_per_workspace,
                    thousands(b.cpu_us_per_probe),
                    thousands(b.workspaces as f64),
                    thousands(r.workspaces as f64),
                    b.succeeded,
                    b.probes
                ),
                "",
                "",
            );
            t.row(
                "ratio (blackbox_exporter ÷ labwatch)",
                &format!("{:.2}×", b.ratio),
                "",
                "",
            );
        }
    }
}

fn us(value: f64) -> String {
    ms(value / 1e3)
}

/// Milliseconds in the unit that reads best.
fn ms(value: f64) -> String {
    if value.is_nan() {
        "—".to_owned()
    } else if value < 1.0 {
        format!("{:.0} µs", value * 1e3)
    } else if value < 1000.0 {
        format!("{value:.2} ms")
    } else {
        format!("{:.2} s", value / 1e3)
    }
}
