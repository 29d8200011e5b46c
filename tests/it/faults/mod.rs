//! The fault-injection suite (issue 8): each fault gives the right reason
//! code, and labwatch never answers a fault with a storm of requests (it does
//! not retry within a round; the next round is the retry, and GitLab's
//! `Retry-After` holds even that back). Repeated faults leave the daemon's
//! state at its bounds. Faults come from the simulator's control API, a TCP
//! proxy that resets answers mid-body (`support::proxy`), a silent DNS server
//! and a TLS front whose certificate changes (`support::net`). How fast the
//! endpoints stay under faults, and how much memory the process takes, is
//! measured in benchmarks, not asserted here.
//!
//! This file owns the lab the fault tests share: a simulator with alice, her
//! token and her projects, a config for it, and ways to run rounds.

mod dns;
mod malformed;
mod memory;
mod rate_limit;
mod resets;
mod simulator;
mod tls;

use std::path::Path;
use std::sync::Arc;

use labwatch::checks::Shared;
use labwatch::config::Config;
use labwatch::engine::{CheckKey, CheckState, StatusStore, run_once};
use labwatch::metrics::Metrics;
use labwatch::runtime::Runtime;
use labwatch::sim::{self, AccessLevel, Expiry, FailSpec, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use tempfile::TempDir;
use tokio::sync::watch;

/// A simulator with alice's `api` token and her member projects, and the
/// workspace `acme` that watches them.
struct Lab {
    sim: SimHandle,
    /// The workspace, connecting to the simulator directly.
    config: Config,
    repos: Vec<String>,
    timeout: String,
    dir: TempDir,
}

/// Three projects, `acme/a` to `acme/c`.
async fn lab(timeout: &str) -> Lab {
    lab_with(&["acme/a", "acme/b", "acme/c"], timeout).await
}

/// `n` projects, `acme/repo-00` and on.
fn repo_names(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("acme/repo-{i:02}")).collect()
}

async fn lab_with(repos: &[impl AsRef<str>], timeout: &str) -> Lab {
    let repos: Vec<String> = repos.iter().map(|r| r.as_ref().to_owned()).collect();
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let token = s
        .add_token(
            TokenSpec::new("alice", "ws")
                .scopes(&["api"])
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    for p in &repos {
        s.add_project(ProjectSpec::new(p).member("alice", AccessLevel::DEVELOPER))
            .unwrap();
    }
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), &token.token).unwrap();
    let config = workspace_config(dir.path(), &repos, timeout, sim.base_url(), "");
    Lab {
        sim,
        config,
        repos,
        timeout: timeout.to_owned(),
        dir,
    }
}

impl Lab {
    /// The workspace with labwatch connecting to `url` (a proxy or a TLS
    /// front before the simulator, or a host only DNS knows), and `extra`
    /// workspace keys.
    fn config_for(&self, url: &str, extra: &str) -> Config {
        workspace_config(self.dir.path(), &self.repos, &self.timeout, url, extra)
    }
}

fn workspace_config(dir: &Path, repos: &[String], timeout: &str, url: &str, extra: &str) -> Config {
    let repos = repos.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ");
    let text = format!(
        "[defaults]\ninterval = \"1h\"\ntimeout = \"{timeout}\"\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n\
         token_file = \"{}\"\nrepositories = [{repos}]\nclone_probe = false\n{extra}\n",
        dir.join("token").display()
    );
    Config::parse(Path::new("faults.toml"), &text).unwrap()
}

/// One round of every check, as `labwatch check` runs it: fresh clients,
/// a fresh store, the simulator's counters reset first.
async fn round(lab: &Lab) -> Arc<StatusStore> {
    round_of(lab, &lab.config).await
}

async fn round_of(lab: &Lab, config: &Config) -> Arc<StatusStore> {
    let shared = Shared::default();
    let store = Arc::new(StatusStore::new());
    lab.sim.sim().reset_counters();
    run_once(labwatch::runtime::plans(config, &shared), store.clone(), 4).await;
    store
}

/// The daemon's real scheduler over one config, driven round by round:
/// clients, caches, the request budget and the status store live across
/// rounds, as they do in `labwatch serve`. Rounds are triggered and awaited,
/// never slept for.
struct Daemon {
    runtime: Arc<Runtime>,
    passes: watch::Receiver<u64>,
}

impl Daemon {
    /// Starts scheduling and waits for the first round.
    async fn start(config: Config) -> Daemon {
        let runtime = Arc::new(Runtime::start(config, None));
        let mut passes = runtime.status().subscribe();
        passes.changed().await.unwrap();
        Daemon { runtime, passes }
    }

    /// Makes every check due and waits until the round finished.
    async fn round(&mut self) {
        self.passes.borrow_and_update();
        self.runtime.run_now(None);
        self.passes.changed().await.unwrap();
    }

    fn store(&self) -> Arc<StatusStore> {
        self.runtime.status()
    }

    /// What `/metrics` shows now.
    fn metrics(&self) -> String {
        Metrics::new(self.runtime.status(), self.runtime.gitlab_metrics()).render(&[])
    }
}

fn state(store: &StatusStore, check: &str, target: Option<&str>) -> CheckState {
    store
        .get(&CheckKey {
            workspace: "acme".into(),
            check: check.into(),
            target: target.map(Into::into),
        })
        .map(|s| CheckState::clone(&s))
        .unwrap_or_else(|| panic!("no result for {check} {target:?}"))
}

fn reason(store: &StatusStore, check: &str, target: Option<&str>) -> String {
    state(store, check, target).outcome.reason
}

fn fail(count: u32, status: u16, prefix: &str, body: Option<&str>) -> FailSpec {
    FailSpec {
        count,
        status,
        path_prefix: Some(prefix.into()),
        body: body.map(Into::into),
        content_type: None,
        headers: Default::default(),
    }
}
