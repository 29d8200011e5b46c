//! Crash safety of rotation: the daemon is SIGKILLed at each step of a
//! rotation — before the call, after GitLab answered, after persisting — and
//! restarted. Every time the workspace ends with a working token or a
//! `token-lost-in-rotation` diagnosis, never a silently broken connection,
//! and GitLab saw exactly one rotate call.
//!
//! The pause points exist only in builds with the `test-hooks` feature;
//! without it these tests are ignored (and `hardening::misc` checks that the
//! variable then does nothing).

use std::ffi::OsStr;
use std::time::Duration;

use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, TokenSpec, UserSpec};
use serde_json::{Value, json};

use crate::support::client::get;
use crate::support::process::Daemon;

const ADMIN: &str = "crash-test-admin-token-5b8e2a6f9c41";
const CANARY: &str = "glpat-canary-crash-0123456789ab";

fn http() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(Duration::from_secs(120))
        .build()
        .unwrap()
}

/// Connects `acme`, starts a rotation that pauses at `point`, kills the
/// daemon there, restarts it, and returns the token check and the sim.
async fn crash_at(point: &str) -> (Value, sim::SimHandle, Vec<String>) {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_token(
        TokenSpec::new("alice", "workspace")
            .scopes(&["api"])
            .secret(CANARY)
            .expires(Expiry::InDays(30)),
    )
    .unwrap();
    s.add_project(ProjectSpec::new("acme/app").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let gitlab = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    std::fs::write(dir.path().join("admin"), ADMIN).unwrap();
    let config = dir.path().join("lw.toml");
    std::fs::write(
        &config,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{d}/admin\"\n[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n\
             [defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{}\"\n",
            gitlab.base_url()
        ),
    )
    .unwrap();
    let args = [OsStr::new("run"), OsStr::new("-c"), config.as_os_str()];

    let mut first = tokio::task::block_in_place(|| {
        let mut d = Daemon::spawn_with_env(&args, &[("LABWATCH_PAUSE_AT", point)]);
        d.wait_serving();
        d
    });
    let client = http();
    let base = format!("http://{}", first.addr);
    let connected = client
        .post(format!("{base}/api/v1/workspaces/acme/connect"))
        .bearer_auth(ADMIN)
        .json(&json!({ "instance_url": gitlab.base_url(), "token": CANARY }))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status().as_u16(), 200, "{}", connected.text().await.unwrap());
    let rotating = tokio::spawn(
        client
            .post(format!("{base}/api/v1/workspaces/acme/rotate"))
            .bearer_auth(ADMIN)
            .send(),
    );
    let paused = tokio::task::block_in_place(|| first.wait_for("Paused at a test pause point"));
    assert_eq!(paused["point"], point);
    // One rotation at a time: a second one while the first is under way is refused.
    let second = client
        .post(format!("{base}/api/v1/workspaces/acme/rotate"))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(second.status().as_u16(), 409);
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["error"], "rotation-in-progress");
    first.signal("KILL");
    assert_eq!(
        tokio::task::block_in_place(|| first.wait_exit()),
        None,
        "killed by a signal"
    );
    let _ = rotating.await;
    let mut logs = first.seen.clone();

    let mut second = tokio::task::block_in_place(|| {
        let mut d = Daemon::spawn(&args);
        d.wait_serving();
        d.wait_for("First round finished");
        d
    });
    let (_, body) = get(second.addr, "/status/acme").await;
    let status: Value = serde_json::from_str(&body).unwrap();
    let token = status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token")
        .unwrap()
        .clone();
    second.signal("TERM");
    tokio::task::block_in_place(|| second.wait_exit());
    logs.extend(second.seen.clone());
    let audit = std::fs::read_to_string(dir.path().join("store/audit.log")).unwrap_or_default();
    logs.push(audit);
    for entry in std::fs::read_dir(dir.path().join("store")).unwrap() {
        logs.push(String::from_utf8_lossy(&std::fs::read(entry.unwrap().path()).unwrap()).into_owned());
    }
    (token, gitlab, logs)
}

#[track_caller]
fn assert_single_rotate_and_no_leak(gitlab: &sim::SimHandle, logs: &[String], calls: u64) {
    assert_eq!(
        gitlab
            .sim()
            .counters()
            .route("POST /api/v4/personal_access_tokens/self/rotate"),
        calls,
        "never retried"
    );
    for l in logs {
        assert!(!l.contains(CANARY), "the token leaked: {l}");
    }
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the pause points: cargo test --features test-hooks (scripts/test enables it)"
)]
async fn killed_before_the_call_the_old_token_still_works() {
    let (token, gitlab, logs) = crash_at("rotate-before-call").await;
    assert_eq!(
        (token["status"].as_str(), token["reason"].as_str()),
        (Some("ok"), Some("ok")),
        "{token}"
    );
    assert_single_rotate_and_no_leak(&gitlab, &logs, 0);
    assert!(
        logs.iter().any(|l| l.contains("Interrupted rotation settled")),
        "the marker was cleared"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains(r#""actor":"daemon","action":"settle-rotation","result":"ok""#)),
        "settling is audited: {logs:?}"
    );
    assert!(
        // The marker is pretty-printed JSON; log lines are compact.
        !logs.iter().any(|l| l.contains(r#""old_token_id": "#)),
        "no marker is left in the store"
    );
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the pause points: cargo test --features test-hooks (scripts/test enables it)"
)]
async fn killed_after_gitlab_answered_the_loss_is_diagnosed() {
    let (token, gitlab, logs) = crash_at("rotate-after-answer").await;
    assert_eq!(
        (token["status"].as_str(), token["reason"].as_str()),
        (Some("critical"), Some("token-lost-in-rotation")),
        "{token}"
    );
    assert!(token["summary"].as_str().unwrap().contains("interrupted"), "{token}");
    assert!(
        token["remediation"][0].as_str().unwrap().contains("revoke the token"),
        "{token}"
    );
    assert!(
        logs.iter()
            .any(|l| l.contains(r#""actor":"daemon","action":"settle-rotation","result":"token-lost-in-rotation""#)),
        "the loss is audited: {logs:?}"
    );
    assert!(
        logs.iter().any(|l| l.contains(r#""old_token_id": "#)),
        "the marker stays for the token check"
    );
    assert_single_rotate_and_no_leak(&gitlab, &logs, 1);
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(feature = "test-hooks"),
    ignore = "needs the pause points: cargo test --features test-hooks (scripts/test enables it)"
)]
async fn killed_after_persisting_the_new_token_works() {
    let (token, gitlab, logs) = crash_at("rotate-after-persist").await;
    assert_eq!(
        (token["status"].as_str(), token["reason"].as_str()),
        (Some("ok"), Some("ok")),
        "{token}"
    );
    assert_single_rotate_and_no_leak(&gitlab, &logs, 1);
}
