//! The GitLab simulator as a separate process (`labwatch sim`), one per
//! scenario, and the parts of its control API the benchmark uses: request
//! counters, latency and injected faults.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use labwatch::sim::Counters;
use serde_json::json;

use crate::http::Http;
use crate::procs::Proc;

/// How long a simulator may take to load a scenario of 20,000 projects.
const START_DEADLINE: Duration = Duration::from_secs(120);
/// Printed once the simulator serves (after the scenario summary).
const READY_PREFIX: &str = "Control API: ";

pub struct Sim {
    /// The process; dropping the handle stops it.
    _proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Sim {
    /// Starts `labwatch sim` on a free port the kernel picks, writing the
    /// scenario summary (project ids) to `summary`.
    pub fn start(bin: &Path, scenario: &Path, summary: &Path) -> Result<Sim> {
        let mut cmd = Command::new(bin);
        cmd.args(["sim", "--listen", "127.0.0.1:0", "--scenario"])
            .arg(scenario)
            .arg("--summary-json")
            .arg(summary);
        let proc = Proc::spawn(cmd, &[READY_PREFIX])?;
        let line = proc.events.wait_line(READY_PREFIX, START_DEADLINE)?;
        let base = line
            .strip_prefix(READY_PREFIX)
            .and_then(|rest| rest.split("/-/sim/").next())
            .context("the simulator's ready line names no URL")?
            .to_owned();
        Ok(Sim { _proc: proc, base })
    }

    fn control(&self, http: &Http, method: reqwest::Method, path: &str, body: Option<serde_json::Value>) -> Result<()> {
        let mut request = http.client().request(method, format!("{}/-/sim/{path}", self.base));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let reply = http.send(request)?;
        if !(200..300).contains(&reply.status) {
            bail!("simulator control {path}: {} {}", reply.status, reply.text());
        }
        Ok(())
    }

    pub fn reset_counters(&self, http: &Http) -> Result<()> {
        self.control(http, reqwest::Method::DELETE, "counters", None)
    }

    pub fn counters(&self, http: &Http) -> Result<Counters> {
        let reply = http.get(&format!("{}/-/sim/counters", self.base))?;
        serde_json::from_slice(&reply.body).context("simulator counters")
    }

    pub fn set_latency(&self, http: &Http, ms: u64) -> Result<()> {
        self.control(http, reqwest::Method::PUT, "latency", Some(json!({ "ms": ms })))
    }

    /// Every following request answers `status` (until [`Sim::clear_faults`]).
    pub fn fail_all(&self, http: &Http, status: u16) -> Result<()> {
        let body = json!({ "count": 100_000_000u64, "status": status });
        self.control(http, reqwest::Method::POST, "faults/fail", Some(body))
    }

    /// Every following connection is closed unanswered.
    pub fn drop_all(&self, http: &Http) -> Result<()> {
        let body = json!({ "count": 100_000_000u64 });
        self.control(http, reqwest::Method::POST, "faults/drop", Some(body))
    }

    pub fn clear_faults(&self, http: &Http) -> Result<()> {
        self.control(http, reqwest::Method::DELETE, "faults", None)
    }
}

/// The ids of the projects in a `--summary-json` file, by path.
pub fn project_ids(summary: &Path) -> Result<Vec<(String, u64)>> {
    let summary: labwatch::sim::Summary = serde_json::from_slice(&std::fs::read(summary)?)?;
    Ok(summary
        .projects
        .into_iter()
        .map(|p| (p.path_with_namespace, p.id))
        .collect())
}
