//! The GitLab simulator as its own process (`labwatch sim`), so that its
//! CPU is not labwatch's, and the counters the benchmark reads from its
//! control API (`GET /-/sim/counters`): every request labwatch sends, by
//! route, which is also how rounds are counted (see `steady`).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

use crate::http::Http;
use crate::procs::Proc;

/// Loading 10,000 users and 30,000 projects takes a few seconds.
const START_DEADLINE: Duration = Duration::from_secs(300);
/// Printed once the simulator serves (after the scenario summary).
const READY_PREFIX: &str = "Control API: ";

/// The membership listing the repository checks share within a pass.
pub const LISTING: &str = "GET /api/v4/projects";
/// The token self-inspection: one per token check, so one per
/// workspace-round (see `steady`).
pub const TOKEN_SELF: &str = "GET /api/v4/personal_access_tokens/self";

pub struct Simulator {
    pub proc: Proc,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

/// The counters without the request log.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Counts {
    pub total: u64,
    pub by_route: BTreeMap<String, u64>,
    pub by_status: BTreeMap<String, u64>,
}

impl Counts {
    pub fn route(&self, route: &str) -> u64 {
        self.by_route.get(route).copied().unwrap_or(0)
    }

    /// What happened between `earlier` and now.
    pub fn since(&self, earlier: &Counts) -> Counts {
        let diff = |now: &BTreeMap<String, u64>, then: &BTreeMap<String, u64>| {
            now.iter()
                .map(|(k, v)| (k.clone(), v.saturating_sub(then.get(k).copied().unwrap_or(0))))
                .filter(|(_, v)| *v > 0)
                .collect()
        };
        Counts {
            total: self.total.saturating_sub(earlier.total),
            by_route: diff(&self.by_route, &earlier.by_route),
            by_status: diff(&self.by_status, &earlier.by_status),
        }
    }
}

impl Simulator {
    /// Starts `labwatch sim` on a port the kernel picks, writing the
    /// scenario summary (with the project ids) to `summary`.
    pub fn start(bin: &Path, scenario: &Path, summary: &Path) -> Result<Simulator> {
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
        Ok(Simulator { proc, base })
    }

    pub fn counts(&self, http: &Http) -> Result<Counts> {
        let reply = http.get(&format!("{}/-/sim/counters", self.base))?;
        if reply.status != 200 {
            bail!("GET /-/sim/counters: {} {}", reply.status, reply.text());
        }
        serde_json::from_slice(&reply.body).context("the simulator's counters")
    }
}

/// The ids of the projects in a `--summary-json` file, by path.
pub fn project_ids(summary: &Path) -> Result<BTreeMap<String, u64>> {
    let summary: labwatch::sim::Summary = serde_json::from_slice(&std::fs::read(summary)?)?;
    Ok(summary
        .projects
        .into_iter()
        .map(|p| (p.path_with_namespace, p.id))
        .collect())
}
