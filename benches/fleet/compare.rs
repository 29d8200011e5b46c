//! The comparison: Prometheus' blackbox_exporter probing, per workspace,
//! what labwatch checks per workspace-round: the instance (`/version`), the
//! token (`/personal_access_tokens/self`) and each of the 3 repositories
//! (`/projects/:id` with a body check), 5 probes. The token travels as
//! GitLab's `private_token` parameter (docs/gitlab.md §12): one module
//! serves every workspace, as a platform would configure it.
//! blackbox_exporter keeps nothing between probes, so its CPU per
//! workspace does not depend on how many workspaces there are; large
//! fleets probe a sample (`--blackbox-workspaces`).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};

use crate::blackbox::{Exporter, Target};
use crate::http::Http;
use crate::report::Blackbox;
use crate::world::Workspace;

const API: &str = "gitlab_api";
const PROJECT: &str = "gitlab_project";
/// Probes in flight, as a Prometheus scraping many targets keeps them.
pub const CONCURRENCY: usize = 8;

const CONFIG: &str = r#"modules:
  gitlab_api:
    prober: http
    timeout: 10s
    http:
      method: GET
      valid_status_codes: [200]
      preferred_ip_protocol: ip4
  gitlab_project:
    prober: http
    timeout: 10s
    http:
      method: GET
      valid_status_codes: [200]
      fail_if_body_not_matches_regexp:
        - '"path_with_namespace"'
      preferred_ip_protocol: ip4
"#;

/// Probes every endpoint of `workspaces` once; `labwatch_us` is labwatch's
/// steady CPU per workspace-round, for the ratio.
pub fn run(
    http: &Http,
    dir: &Path,
    sim_base: &str,
    workspaces: &[Workspace],
    ids: &BTreeMap<String, u64>,
    labwatch_us: f64,
) -> Result<Blackbox> {
    let mut targets = Vec::with_capacity(workspaces.len() * 5);
    for ws in workspaces {
        let token = format!("private_token={}", ws.token);
        targets.push(Target {
            module: API,
            url: format!("{sim_base}/api/v4/version?{token}"),
        });
        targets.push(Target {
            module: API,
            url: format!("{sim_base}/api/v4/personal_access_tokens/self?{token}"),
        });
        for repo in &ws.repositories {
            let id = ids
                .get(repo)
                .with_context(|| format!("the simulator has no project {repo}"))?;
            targets.push(Target {
                module: PROJECT,
                url: format!("{sim_base}/api/v4/projects/{id}?{token}"),
            });
        }
    }
    let per_workspace = targets.len() / workspaces.len().max(1);
    let exporter = Exporter::start(http, dir, CONFIG)?;
    let probes = exporter.probe(http, &targets, CONCURRENCY)?;
    let per_round = probes.cpu_ms * 1e3 / workspaces.len().max(1) as f64;
    Ok(Blackbox {
        version: probes.version,
        workspaces: workspaces.len(),
        probes_per_workspace: per_workspace,
        probes: probes.probes,
        succeeded: probes.succeeded,
        concurrency: probes.concurrency,
        cpu_ms: probes.cpu_ms,
        cpu_us_per_probe: probes.cpu_us_per_probe,
        cpu_us_per_workspace_round: per_round,
        ratio: per_round / labwatch_us,
        peak_rss_kib: probes.peak_rss_kib,
    })
}
