//! `labwatch demo` and `labwatch sim`: the GitLab simulator with its demo
//! scenario, alone or with a daemon pointed at it, for people to try labwatch
//! without a GitLab (and without a network).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use reqwest::Method;
use secrecy::SecretString;
use tokio::net::TcpListener;

use super::admin::client::AdminClient;
use crate::config::Config;
use crate::daemon;
use crate::sim::summary::TokenSummary;
use crate::sim::{self, Scenario, SimHandle, Summary};
use crate::wire::{ConnectBody, Connected};

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
/// SIGTERM/SIGINT. Once the daemon answers, the demo connects `healthy`
/// through its own admin API, as `labwatch connect` does, and only then
/// prints the banner: every command it prints works as printed.
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
    let banner = Banner {
        sim_url: gitlab.base_url().to_owned(),
        listen: listener.local_addr().unwrap_or(listen),
        admin_token,
        dir: dir.path().to_owned(),
        labwatch: labwatch_command(),
    };
    let healthy = token_of(&summary, "alice", HEALTHY_TOKEN)?.token.clone();
    // The listener is bound, so the request waits in its backlog until the
    // daemon below serves it.
    let greeter = tokio::spawn(async move {
        let connected = connect_healthy(&banner, healthy).await;
        println!("{}", banner.render(&summary, connected));
    });
    let served = daemon::run(config, listener, reloads, stop).await;
    greeter.abort();
    served.map_err(|e| DemoError::Io(format!("the HTTP server failed: {e}")))?;
    gitlab.shutdown().await.map_err(|e| DemoError::Io(e.to_string()))
}

/// The names of alice's tokens in the demo scenario: `healthy`'s, the
/// `repositories` workspace's, and the one the banner connects `spare`
/// with. Each workspace has its own, so rotating or revoking one leaves
/// the others alone.
const HEALTHY_TOKEN: &str = "labwatch-demo";
const REPOSITORIES_TOKEN: &str = "labwatch-repositories";
const SPARE_TOKEN: &str = "labwatch-spare";

fn token_of<'a>(summary: &'a Summary, user: &str, name: &str) -> Result<&'a TokenSummary, DemoError> {
    summary
        .users
        .iter()
        .find(|u| u.username == user)
        .and_then(|u| u.tokens.iter().find(|t| t.active && t.name == name))
        .ok_or_else(|| DemoError::Scenario(format!("the demo scenario has no active token `{name}` of {user}")))
}

/// `POST /api/v1/workspaces/healthy/connect` with alice's token, so
/// `healthy` has a stored connection (`labwatch rotate` needs one).
/// `Err`: why not, for the banner.
async fn connect_healthy(banner: &Banner, token: String) -> Result<(), String> {
    let base = url::Url::parse(&format!("http://{}", banner.listen)).map_err(|e| e.to_string())?;
    let client = AdminClient::new(base, SecretString::from(banner.admin_token.clone())).map_err(|e| e.to_string())?;
    let body = ConnectBody {
        instance_url: None,
        token: SecretString::from(token),
        repositories: None,
        replace: false,
        force: false,
    };
    client
        .call::<Connected>(Method::POST, &["workspaces", "healthy", "connect"], &[], Some(&body))
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// The demo's workspaces: `healthy` (alice; the demo also connects it
/// through the admin API at start), `expiring` (bob: token expires in days,
/// a scope missing), `repositories` (alice, watching repositories that are
/// missing, moved, archived or on another instance), `spare` (not
/// connected, for trying `labwatch connect`). Token files go to `dir`,
/// which lives as long as the demo; `spare.token` is for the banner's
/// `labwatch connect`.
pub fn demo_config(summary: &Summary, sim_url: &str, listen: SocketAddr, dir: &Path) -> Result<Config, DemoError> {
    let token = |user: &str, name: &str, file: &str| -> Result<String, DemoError> {
        let secret = &token_of(summary, user, name)?.token;
        let path = dir.join(format!("{file}.token"));
        write_secret(&path, secret)?;
        Ok(path.display().to_string())
    };
    let alice = token("alice", HEALTHY_TOKEN, "alice")?;
    let bob = token("bob", "laptop", "bob")?;
    let repositories = token("alice", REPOSITORIES_TOKEN, "repositories")?;
    token("alice", SPARE_TOKEN, "spare")?;
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

# The demo connects it through the admin API at start, as `labwatch connect`
# does: the stored connection then wins over `token_file`.
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
token_file = "{repositories}"
repositories = ["acme/backend", "acme/backnd", "acme/old-platform", "acme/legacy-api", "https://gitlab.other.example/acme/backend"]

# Not connected: try `labwatch connect --workspace spare --token-file {dir}/spare.token`.
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

/// What the banner needs to know about this run.
struct Banner {
    sim_url: String,
    listen: SocketAddr,
    admin_token: String,
    /// The temporary directory with the token files.
    dir: PathBuf,
    /// How to run this labwatch from a shell ([`labwatch_command`]).
    labwatch: String,
}

impl Banner {
    /// The URLs, the workspaces, and commands that work as printed, in the
    /// order printed. `connected`: whether `healthy` got its stored
    /// connection; without it, `rotate` would fail, so it is not offered.
    fn render(&self, summary: &Summary, connected: Result<(), String>) -> String {
        let Banner {
            sim_url,
            listen,
            admin_token,
            dir,
            labwatch,
        } = self;
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
            "Workspaces: healthy (alice, connected through the admin API), expiring (bob), repositories (alice), spare (not connected); checks run every {DEMO_INTERVAL}."
        );
        let _ = writeln!(out, "\nAdmin API token (demo only): {admin_token}");
        let _ = writeln!(out, "Try, in another terminal and in this order:");
        let _ = writeln!(
            out,
            "  export LABWATCH_ADMIN_TOKEN={admin_token} LABWATCH_DAEMON=http://{listen}"
        );
        let spare = shell_word(&dir.join("spare.token").display().to_string());
        let _ = writeln!(out, "  {labwatch} connect --workspace spare --token-file {spare}");
        let _ = writeln!(out, "  {labwatch} repos --workspace spare --search docs");
        match connected {
            Ok(()) => {
                let _ = writeln!(out, "  {labwatch} rotate --workspace healthy");
            }
            Err(why) => {
                let _ = writeln!(
                    out,
                    "  (not `labwatch rotate --workspace healthy`: the demo could not connect it: {why})"
                );
            }
        }
        if let Ok(t) = token_of(summary, "alice", SPARE_TOKEN) {
            let _ = writeln!(
                out,
                "  curl -fsS -X POST {sim_url}/-/sim/tokens/{}/revoke   # spare's token: within {DEMO_INTERVAL} `spare` turns critical",
                t.id
            );
        }
        if labwatch != "labwatch" {
            let _ = writeln!(out, "(`labwatch` is not on your PATH: the commands name this binary.)");
        }
        let _ = write!(out, "Ctrl-C stops.");
        out
    }
}

/// This binary as a shell word: `labwatch` when that is what the PATH
/// finds, else its full path (after `cargo run`, `target/…/labwatch`).
fn labwatch_command() -> String {
    let Ok(me) = std::env::current_exe().and_then(|p| p.canonicalize()) else {
        return "labwatch".to_owned();
    };
    let on_path = std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path)
            .filter_map(|dir| dir.join("labwatch").canonicalize().ok())
            .next()
            .is_some_and(|found| found == me)
    });
    if on_path {
        "labwatch".to_owned()
    } else {
        shell_word(&me.display().to_string())
    }
}

/// Quotes `s` for a POSIX shell when it holds anything but plain
/// characters.
fn shell_word(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c)) {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
