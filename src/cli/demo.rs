//! `labwatch demo` and `labwatch sim`: the GitLab simulator with its demo
//! scenario, alone or with a daemon pointed at it, for people to try labwatch
//! without a GitLab (and without a network).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;

use tokio::net::TcpListener;

use crate::config::Config;
use crate::daemon;
use crate::sim::{self, Scenario, SimHandle, Summary};

/// How often the demo daemon checks: short, so changes made through the
/// simulator's control API show up quickly.
const DEMO_INTERVAL: &str = "30s";

/// Most a scenario file is read: one with 100,000 projects is about 5 MiB.
const MAX_SCENARIO_FILE: u64 = 64 * 1024 * 1024;

/// Why the demo or the simulator could not run; a sentence for stderr.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("{0}")]
    Scenario(String),
    #[error("{0}")]
    Io(String),
}

/// Loads a scenario file, or the built-in demo scenario.
pub fn scenario(file: Option<&Path>) -> Result<Scenario, DemoError> {
    let Some(path) = file else {
        return Scenario::demo().map_err(|e| DemoError::Scenario(format!("the built-in demo scenario is broken: {e}")));
    };
    let text = crate::files::read_text_capped(path, MAX_SCENARIO_FILE)
        .map_err(|e| DemoError::Scenario(format!("{}: cannot read the scenario: {e}", path.display())))?;
    Scenario::from_toml(&text).map_err(|e| DemoError::Scenario(format!("{}: {e}", path.display())))
}

/// Starts the simulator on `listen`.
pub async fn start_sim(scenario: Scenario, listen: SocketAddr) -> Result<SimHandle, DemoError> {
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        DemoError::Io(format!(
            "cannot listen on {listen}: {e}; choose another address with --listen"
        ))
    })?;
    sim::start(scenario, listener)
        .await
        .map_err(|e| DemoError::Io(format!("the simulator did not start: {e}")))
}

/// `labwatch sim`: serve until SIGTERM/SIGINT.
pub async fn run_sim(listen: SocketAddr, file: Option<&Path>, summary_json: Option<&Path>) -> Result<(), DemoError> {
    let gitlab = start_sim(scenario(file)?, listen).await?;
    // Before anything is printed: whoever reads the output may signal at once.
    let stop = daemon::termination();
    let summary = gitlab.sim().summary();
    if let Some(path) = summary_json {
        let json = serde_json::to_string_pretty(&summary).map_err(|e| DemoError::Io(e.to_string()))?;
        std::fs::write(path, json + "\n")
            .map_err(|e| DemoError::Io(format!("cannot write {}: {e}", path.display())))?;
    }
    println!("{}", summary.text(gitlab.base_url()));
    println!(
        "Control API: {}/-/sim/summary (see the sim module docs). Ctrl-C stops.",
        gitlab.base_url()
    );
    stop.await;
    gitlab.shutdown().await.map_err(|e| DemoError::Io(e.to_string()))
}

/// `labwatch demo`: the simulator with the demo scenario and the daemon
/// watching four workspaces on it, with the admin API on, until
/// SIGTERM/SIGINT.
pub async fn run_demo(listen: SocketAddr) -> Result<(), DemoError> {
    let gitlab = start_sim(scenario(None)?, "127.0.0.1:0".parse().expect("constant address")).await?;
    let summary = gitlab.sim().summary();
    let dir = tempfile::Builder::new()
        .prefix("labwatch-demo-")
        .tempdir()
        .map_err(|e| DemoError::Io(format!("cannot create a temporary directory: {e}")))?;
    let admin_token = random_token()?;
    write_secret(&dir.path().join("admin.token"), &admin_token)?;
    let config = demo_config(&summary, gitlab.base_url(), listen, dir.path())?;
    let listener = TcpListener::bind(listen).await.map_err(|e| {
        DemoError::Io(format!(
            "cannot listen on {listen}: {e}; choose another address with --listen"
        ))
    })?;
    let reloads = daemon::Sighup::install().map_err(|e| DemoError::Io(e.to_string()))?;
    let stop = daemon::termination();
    println!(
        "{}",
        banner(
            &summary,
            gitlab.base_url(),
            listener.local_addr().unwrap_or(listen),
            &admin_token
        )
    );
    daemon::run(config, listener, reloads, stop)
        .await
        .map_err(|e| DemoError::Io(format!("the HTTP server failed: {e}")))?;
    gitlab.shutdown().await.map_err(|e| DemoError::Io(e.to_string()))
}

/// The demo's workspaces: `healthy` (alice), `expiring` (bob: token expires
/// in days, a scope missing), `repositories` (alice, watching repositories
/// that are missing, moved, archived or on another instance), `spare` (not
/// connected, for trying `labwatch connect`). Token files
/// go to `dir`, which lives as long as the demo.
pub fn demo_config(summary: &Summary, sim_url: &str, listen: SocketAddr, dir: &Path) -> Result<Config, DemoError> {
    let token = |user: &str| -> Result<String, DemoError> {
        let secret = summary
            .users
            .iter()
            .find(|u| u.username == user)
            .and_then(|u| u.tokens.iter().find(|t| t.active))
            .map(|t| t.token.clone())
            .ok_or_else(|| DemoError::Scenario(format!("the demo scenario has no active token for {user}")))?;
        let path = dir.join(format!("{user}.token"));
        write_secret(&path, &secret)?;
        Ok(path.display().to_string())
    };
    let (alice, bob) = (token("alice")?, token("bob")?);
    let base = dir;
    let dir = base.display();
    let text = format!(
        r#"[server]
listen = "{listen}"
admin_token_file = "{dir}/admin.token"

[store]
dir = "{dir}/store"
key_file = "{dir}/store.key"

[defaults]
interval = "{DEMO_INTERVAL}"
timeout = "10s"

[[workspace]]
name = "healthy"
instance_url = "{sim_url}"
token_file = "{alice}"
repositories = ["acme/backend", "acme/frontend", "acme/docs"]

[[workspace]]
name = "expiring"
instance_url = "{sim_url}"
token_file = "{bob}"
repositories = ["acme/backend"]
[workspace.renewal]
renew_before = "14d"

[[workspace]]
name = "repositories"
instance_url = "{sim_url}"
token_file = "{alice}"
repositories = ["acme/backend", "acme/backnd", "acme/old-platform", "acme/legacy-api", "https://gitlab.other.example/acme/backend"]

# Not connected: try `labwatch connect --workspace spare` with a token of the simulator.
[[workspace]]
name = "spare"
instance_url = "{sim_url}"
"#
    );
    let path = base.join("labwatch-demo.toml");
    std::fs::write(&path, &text).map_err(|e| DemoError::Io(format!("cannot write {}: {e}", path.display())))?;
    Config::parse(&path, &text).map_err(|e| DemoError::Scenario(format!("the generated demo config is invalid:\n{e}")))
}

fn write_secret(path: &Path, secret: &str) -> Result<(), DemoError> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| DemoError::Io(format!("cannot write {}: {e}", path.display())))?;
    f.write_all(secret.as_bytes())
        .map_err(|e| DemoError::Io(format!("cannot write {}: {e}", path.display())))
}

/// 32 random bytes as hex, for the demo's admin token.
fn random_token() -> Result<String, DemoError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| DemoError::Io(format!("no randomness for the admin token: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

fn banner(summary: &Summary, sim_url: &str, listen: SocketAddr, admin_token: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "labwatch demo: the daemon watches a simulated GitLab (no network needed).\n"
    );
    let _ = writeln!(out, "  status page  http://{listen}/");
    let _ = writeln!(out, "  status JSON  http://{listen}/status");
    let _ = writeln!(out, "  health       http://{listen}/health");
    let _ = writeln!(out, "  metrics      http://{listen}/metrics");
    let _ = writeln!(
        out,
        "  GitLab sim   {sim_url}  (control API: {sim_url}/-/sim/summary)\n"
    );
    let _ = writeln!(
        out,
        "Workspaces: healthy (alice), expiring (bob), repositories (alice), spare (not connected); checks run every {DEMO_INTERVAL}."
    );
    if let Some(t) = summary
        .users
        .iter()
        .find(|u| u.username == "alice")
        .and_then(|u| u.tokens.first())
    {
        let _ = writeln!(
            out,
            "Try: curl -X POST {sim_url}/-/sim/tokens/{}/revoke   (alice's token; see `healthy` turn critical)",
            t.id
        );
    }
    let _ = writeln!(out, "\nAdmin API token (demo only): {admin_token}");
    let _ = writeln!(
        out,
        "  export LABWATCH_ADMIN_TOKEN={admin_token} LABWATCH_DAEMON=http://{listen}"
    );
    let _ = writeln!(out, "  labwatch rotate --workspace healthy");
    if let Some(t) = summary
        .users
        .iter()
        .find(|u| u.username == "bob")
        .and_then(|u| u.tokens.first())
    {
        let _ = writeln!(
            out,
            "  echo {} | labwatch connect --workspace spare --instance-url {sim_url}",
            t.token
        );
    }
    let _ = write!(out, "Ctrl-C stops.");
    out
}
