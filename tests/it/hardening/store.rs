//! Hardening of the store (issue "Hardening", items 3, 4, 9 and 11): the
//! store directory and key file are checked before they are trusted, planted
//! links and pipes are neither followed nor waited on, the writer refuses
//! what the reader would refuse, a rotation whose new token cannot be saved
//! keeps it and saves it later, disconnect works on an unreadable file, and
//! the rotation's remediation names the workspace.
//!
//! The daemon is driven as the real binary where the user sees its exit
//! code and log, and as the real server on loopback (like `admin.rs`)
//! where the user sees the admin API's answers.

use std::ffi::OsStr;
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use labwatch::config::Config;
use labwatch::sim::{self, AccessLevel, Expiry, NewToken, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use labwatch::store::{ConnectionStore, StoreError, StoredConnection};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::watch;

use crate::support::in_process::{self, http_client};
use crate::support::process::Daemon;

const ADMIN: &str = "admin-secret-for-store-hardening";
const CANARY: &str = "glpat-canary-store-hardening-01";
const KEY: [u8; 32] = [9; 32];
const ROTATE: &str = "POST /api/v4/personal_access_tokens/self/rotate";

/// The config of one workspace `acme` on `url`, its store under `dir`.
fn config_text(dir: &Path, url: &str) -> String {
    let d = dir.display();
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{d}/admin\"\n\
         [store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n\
         [defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n"
    )
}

/// A simulator with alice's token `CANARY` (scope api, 60 days) and a project.
async fn gitlab() -> (SimHandle, NewToken) {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let alice = s
        .add_token(
            TokenSpec::new("alice", "workspace")
                .scopes(&["api"])
                .secret(CANARY)
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    s.add_project(ProjectSpec::new("acme/app").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    (sim, alice)
}

/// The daemon's store, wired like `labwatch run` does, served on loopback.
struct Lab {
    sim: SimHandle,
    alice: NewToken,
    dir: TempDir,
    addr: SocketAddr,
    http: reqwest::Client,
    passes: watch::Receiver<u64>,
    /// Serves for as long as the test runs.
    _served: in_process::InProcess,
}

async fn lab() -> Lab {
    let (sim, alice) = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    let text = config_text(dir.path(), sim.base_url());
    std::fs::write(dir.path().join("lw.toml"), &text).unwrap();
    let config = Config::parse(&dir.path().join("lw.toml"), &text).unwrap();
    let served = in_process::serve(config, Some(ADMIN)).await;
    Lab {
        sim,
        alice,
        dir,
        addr: served.addr,
        http: http_client(),
        passes: served.passes.clone(),
        _served: served,
    }
}

impl Lab {
    fn store_dir(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// A second handle on the daemon's store, to look at what it holds.
    fn store(&self) -> ConnectionStore {
        ConnectionStore::open(&self.store_dir(), &self.dir.path().join("store.key")).unwrap()
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        in_process::call(&self.http, self.addr, ADMIN, method, path, body).await
    }

    async fn connect(&self) -> (u16, Value) {
        let body = json!({ "instance_url": self.sim.base_url(), "token": CANARY });
        self.call(reqwest::Method::POST, "/api/v1/workspaces/acme/connect", Some(body))
            .await
    }

    async fn rotate(&self) -> (u16, Value) {
        self.call(reqwest::Method::POST, "/api/v1/workspaces/acme/rotate", None)
            .await
    }

    async fn disconnect(&self) -> (u16, Value) {
        self.call(reqwest::Method::DELETE, "/api/v1/workspaces/acme/connection", None)
            .await
    }

    fn audit_lines(&self) -> Vec<Value> {
        std::fs::read_to_string(self.store_dir().join("audit.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

fn steps(body: &Value) -> Vec<String> {
    body["remediation"]
        .as_array()
        .map(|a| a.iter().map(|s| s.as_str().unwrap_or_default().to_owned()).collect())
        .unwrap_or_default()
}

/// `labwatch run -c config`, to its exit: (exit code, stderr).
fn run_to_exit(config: &Path) -> (Option<i32>, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args([OsStr::new("run"), OsStr::new("-c"), config.as_os_str()])
        .env_remove("LABWATCH_STORE_KEY")
        .env_remove("LABWATCH_CONFIG")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A config for `run` whose GitLab is never reached (the daemon does not start).
fn config_check_to_exit(config: &Path) -> (Option<i32>, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args([
            OsStr::new("config"),
            OsStr::new("check"),
            OsStr::new("-c"),
            config.as_os_str(),
        ])
        .env_remove("LABWATCH_STORE_KEY")
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

fn offline_config(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("admin"), ADMIN).unwrap();
    let config = dir.join("lw.toml");
    std::fs::write(&config, config_text(dir, "https://gitlab.invalid")).unwrap();
    config
}

fn conn(workspace: &str, scopes: Vec<String>) -> StoredConnection {
    StoredConnection {
        workspace: workspace.to_owned(),
        instance_url: "https://gitlab.example.com".to_owned(),
        token: SecretString::from(CANARY),
        user_id: 3,
        username: "alice".to_owned(),
        token_id: 4,
        token_name: "workspace".to_owned(),
        scopes,
        expires_at: None,
        created_at: None,
        connected_at: time::OffsetDateTime::UNIX_EPOCH,
        repositories: None,
    }
}

fn huge_scopes() -> Vec<String> {
    (0..100_000).map(|i| format!("scope-{i:06}")).collect()
}

fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}

// ---- item 4: the store directory and the key file ----

#[test]
fn run_refuses_a_world_writable_store_directory_and_says_how_to_fix_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (code, stderr) = run_to_exit(&config);
    assert_eq!(code, Some(69), "EX_UNAVAILABLE: {stderr}");
    assert!(stderr.contains(&format!("`chmod 700 {}`", store.display())), "{stderr}");
    assert!(stderr.contains("mode 777"), "{stderr}");
    assert!(
        !dir.path().join("store.key").exists(),
        "nothing created before the refusal"
    );
    // `config check` reports what `run` refuses, with the same exit code.
    let (code, stderr) = config_check_to_exit(&config);
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains("refused (store-refused)"), "{stderr}");
    assert!(stderr.contains(&format!("`chmod 700 {}`", store.display())), "{stderr}");
    assert!(!dir.path().join("store.key").exists(), "config check creates nothing");
}

#[test]
fn run_refuses_a_key_file_owned_by_another_user() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let key = dir.path().join("store.key");
    std::fs::write(&key, KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    // 65534 is `nobody`; the test runs as root to hand the file over.
    std::os::unix::fs::chown(&key, Some(65534), None).expect("the tests run as root");
    let (code, stderr) = run_to_exit(&config);
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains("owned by uid 65534"), "{stderr}");
    assert!(stderr.contains(&format!("chown 0 {}", key.display())), "{stderr}");
    assert_eq!(std::fs::read(&key).unwrap(), KEY, "the key file is untouched");
}

// ---- item 11: a missing key beside connection files ----

#[test]
fn run_refuses_to_make_a_new_key_beside_existing_connections_and_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let config = offline_config(dir.path());
    let store_dir = dir.path().join("store");
    ConnectionStore::with_key(&store_dir, KEY)
        .unwrap()
        .save(&conn("acme", vec!["api".into()]))
        .unwrap();
    let (code, stderr) = run_to_exit(&config);
    assert_eq!(code, Some(69), "{stderr}");
    assert!(stderr.contains("does not exist"), "{stderr}");
    assert!(stderr.contains("acme.conn"), "{stderr}");
    assert!(stderr.contains("restore the key file from backup"), "{stderr}");
    assert!(stderr.contains("move the .conn files away to start over"), "{stderr}");
    assert!(!dir.path().join("store.key").exists(), "no new key was made");
    // With the key back, the connection reads again.
    std::fs::write(dir.path().join("store.key"), KEY).unwrap();
    let store = ConnectionStore::open(&store_dir, &dir.path().join("store.key")).unwrap();
    assert_eq!(store.load("acme").unwrap().unwrap().token.expose_secret(), CANARY);
}

#[test]
fn inspect_reports_what_open_refuses_and_creates_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let key = root.path().join("store.key");

    // Nothing there yet: fine, and still nothing there afterwards.
    assert_eq!(ConnectionStore::inspect(&dir, &key).unwrap(), vec![]);
    assert!(!dir.exists() && !key.exists(), "inspect creates nothing");

    // A world-writable directory: the same refusal from both.
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let seen = ConnectionStore::inspect(&dir, &key).unwrap_err().to_string();
    let refused = ConnectionStore::open(&dir, &key).unwrap_err().to_string();
    assert_eq!(seen, refused);
    assert!(seen.contains(&format!("`chmod 700 {}`", dir.display())), "{seen}");
    assert!(!key.exists(), "open refused before making a key");
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    // .conn files and no key: refused by both, with the steps.
    ConnectionStore::with_key(&dir, KEY)
        .unwrap()
        .save(&conn("acme", vec![]))
        .unwrap();
    let seen = ConnectionStore::inspect(&dir, &key).unwrap_err();
    assert!(matches!(seen, StoreError::MissingKey { .. }), "{seen}");
    assert_eq!(
        seen.to_string(),
        ConnectionStore::open(&dir, &key).unwrap_err().to_string()
    );
    assert!(!key.exists());

    // A key others can read: works, with a warning that says the fix.
    std::fs::write(&key, KEY).unwrap();
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let warnings = ConnectionStore::inspect(&dir, &key).unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].message.contains("chmod 600"), "{warnings:?}");
    ConnectionStore::open(&dir, &key).unwrap();

    // A key others can write: refused.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o666)).unwrap();
    let seen = ConnectionStore::inspect(&dir, &key).unwrap_err().to_string();
    assert!(seen.contains("mode 666") && seen.contains("chmod 600"), "{seen}");
    assert_eq!(seen, ConnectionStore::open(&dir, &key).unwrap_err().to_string());

    // A key file that is a pipe: refused at once, not waited on.
    std::fs::remove_file(&key).unwrap();
    mkfifo(&key);
    let seen = ConnectionStore::inspect(&dir, &key).unwrap_err().to_string();
    assert!(seen.contains("named pipe"), "{seen}");
}

#[test]
fn a_key_file_may_be_a_link_to_a_private_file() {
    let root = tempfile::tempdir().unwrap();
    let real = root.path().join("secret-key");
    std::fs::write(&real, KEY).unwrap();
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o600)).unwrap();
    let key = root.path().join("store.key");
    std::os::unix::fs::symlink(&real, &key).unwrap();
    let dir = root.path().join("store");
    let store = ConnectionStore::open(&dir, &key).unwrap();
    store.save(&conn("acme", vec![])).unwrap();
    ConnectionStore::with_key(&dir, KEY)
        .unwrap()
        .load("acme")
        .unwrap()
        .unwrap();
}

// ---- item 4: planted links and pipes ----

#[test]
fn store_files_that_are_links_or_pipes_are_refused_without_following_or_waiting() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let store = ConnectionStore::with_key(&dir, KEY).unwrap();
    // A link to a real connection file elsewhere is still refused.
    let elsewhere = root.path().join("elsewhere");
    ConnectionStore::with_key(&elsewhere, KEY)
        .unwrap()
        .save(&conn("acme", vec![]))
        .unwrap();
    std::os::unix::fs::symlink(elsewhere.join("acme.conn"), dir.join("acme.conn")).unwrap();
    let e = store.load("acme").unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotRegular {
                kind: "symbolic link",
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("does not follow links"), "{e}");
    // A pipe: an error at once (this test would hang on the old code).
    mkfifo(&dir.join("beta.conn"));
    let e = store.load("beta").unwrap_err();
    assert!(
        matches!(
            e,
            StoreError::NotRegular {
                kind: "named pipe (FIFO)",
                ..
            }
        ),
        "{e}"
    );
    mkfifo(&dir.join("beta.rotation"));
    assert!(store.read_marker("beta").is_err());
}

#[test]
fn an_audit_log_link_is_not_followed_and_its_target_is_untouched() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    let store = ConnectionStore::with_key(&dir, KEY).unwrap();
    let target = root.path().join("victim");
    std::fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("audit.log")).unwrap();
    let entry = labwatch::store::AuditEntry::new(
        "acme",
        labwatch::store::Actor::AdminApi,
        labwatch::store::AuditAction::Connect,
        labwatch::store::AuditResult::Ok,
    );
    let e = store.audit(&entry).unwrap_err();
    assert!(e.to_string().contains("audit.log` is a symbolic link"), "{e}");
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
    // A pipe as audit.log does not block the writer either.
    std::fs::remove_file(dir.join("audit.log")).unwrap();
    mkfifo(&dir.join("audit.log"));
    assert!(store.audit(&entry).unwrap_err().to_string().contains("named pipe"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_does_not_append_to_a_planted_audit_log_link_and_logs_why() {
    let (sim, _alice) = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin"), ADMIN).unwrap();
    let config = dir.path().join("lw.toml");
    std::fs::write(&config, config_text(dir.path(), sim.base_url())).unwrap();
    let store = dir.path().join("store");
    std::fs::create_dir(&store).unwrap();
    std::fs::set_permissions(&store, std::fs::Permissions::from_mode(0o700)).unwrap();
    let target = dir.path().join("victim");
    std::fs::write(&target, "precious\n").unwrap();
    std::os::unix::fs::symlink(&target, store.join("audit.log")).unwrap();
    let mut daemon = tokio::task::block_in_place(|| Daemon::start(&config));
    let resp = http_client()
        .post(format!("http://{}/api/v1/workspaces/acme/connect", daemon.addr))
        .bearer_auth(ADMIN)
        .json(&json!({ "instance_url": sim.base_url(), "token": CANARY }))
        .send()
        .await
        .unwrap();
    // The connection changed, so the action stands; the log says why its audit line is missing.
    assert_eq!(resp.status().as_u16(), 200);
    let event = tokio::task::block_in_place(|| daemon.wait_for("Cannot write the audit log"));
    let error = event["error"].as_str().unwrap_or_default().to_owned();
    assert!(error.contains("is a symbolic link"), "{event}");
    assert!(
        !daemon.seen.iter().any(|l| l.contains(CANARY)),
        "the token never reaches the log"
    );
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious\n");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipe_planted_as_the_connection_file_fails_connect_at_once_and_the_server_keeps_answering() {
    let lab = lab().await;
    let fifo = lab.store_dir().join("acme.conn");
    mkfifo(&fifo);
    let (code, body) = lab.connect().await;
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("store-unreadable")),
        "{body}"
    );
    assert!(body["message"].as_str().unwrap().contains("named pipe"), "{body}");
    assert!(
        steps(&body)
            .iter()
            .any(|s| s.contains("labwatch disconnect --workspace acme")),
        "{body}"
    );
    let livez = lab.http.get(format!("http://{}/livez", lab.addr)).send().await.unwrap();
    assert_eq!(livez.status().as_u16(), 200);
    // Disconnect moves the pipe away, and the workspace connects again.
    let (code, body) = lab.disconnect().await;
    assert_eq!(code, 200, "{body}");
    assert!(!fifo.exists());
    assert_eq!(lab.connect().await.0, 200);
}

// ---- item 3: what the reader refuses, the writer refuses ----

#[test]
fn a_connection_too_large_to_read_back_is_never_written() {
    let root = tempfile::tempdir().unwrap();
    let store = ConnectionStore::with_key(root.path(), KEY).unwrap();
    store.save(&conn("acme", vec!["api".into()])).unwrap();
    let before = std::fs::read(root.path().join("acme.conn")).unwrap();
    let huge = conn("acme", huge_scopes());
    let e = store.check_storable(&huge).unwrap_err();
    assert!(matches!(e, StoreError::TooLarge { .. }), "{e}");
    let e = store.save(&huge).unwrap_err();
    assert!(e.to_string().contains("Nothing was written"), "{e}");
    assert_eq!(std::fs::read(root.path().join("acme.conn")).unwrap(), before);
    assert_eq!(store.load("acme").unwrap().unwrap().scopes, vec!["api".to_owned()]);
    // A new workspace's file is not created either.
    assert!(store.save(&conn("beta", huge_scopes())).is_err());
    assert!(!root.path().join("beta.conn").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_over_an_oversize_answer_is_refused_before_gitlab_is_asked() {
    let lab = lab().await;
    assert_eq!(lab.connect().await.0, 200);
    let mut scopes: Vec<String> = huge_scopes();
    scopes.push("api".into());
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    lab.sim.sim().set_token_scopes(lab.alice.id, &scopes).unwrap();
    let (code, body) = lab.rotate().await;
    // GitLab's answer is refused as soon as it is read (src/gitlab/bounds.rs);
    // the store's own check behind it is `a_connection_too_large_to_read_back_is_never_written`.
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("gitlab-answer-invalid")),
        "{body}"
    );
    assert_eq!(
        lab.sim.sim().counters().route(ROTATE),
        0,
        "GitLab was never asked to rotate"
    );
    assert!(
        lab.sim.sim().token(lab.alice.id).unwrap().active,
        "the old token still works"
    );
    let store = lab.store();
    assert!(store.read_marker("acme").unwrap().is_none());
    assert_eq!(store.load("acme").unwrap().unwrap().token.expose_secret(), CANARY);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_the_store_cannot_save_keeps_the_new_token_and_saves_it_once_the_fault_is_gone() {
    let mut lab = lab().await;
    assert_eq!(lab.connect().await.0, 200);
    let conn_file = lab.store_dir().join("acme.conn");
    let marker = lab.store_dir().join("acme.rotation");
    // Every GitLab answer takes a while, so that the fault can be put in
    // place between the marker (written before the rotate call) and the save.
    lab.sim.sim().set_latency(Duration::from_millis(1500));
    let rotating = {
        let (http, addr) = (lab.http.clone(), lab.addr);
        tokio::spawn(async move {
            http.post(format!("http://{addr}/api/v1/workspaces/acme/rotate"))
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap()
        })
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the rotation never wrote its marker"
        );
        // Polls the observable condition; the latency above leaves 1.5 s.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The fault: a non-empty directory where the connection file goes, so
    // the atomic rename of the new file fails.
    std::fs::remove_file(&conn_file).unwrap();
    std::fs::create_dir_all(conn_file.join("in-the-way")).unwrap();
    let resp = rotating.await.unwrap();
    let code = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    lab.sim.sim().set_latency(Duration::ZERO);
    assert_eq!(
        (code, body["error"].as_str()),
        (500, Some("rotation-not-saved")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("The new token is not lost"), "{body}");
    assert!(!message.contains(CANARY), "{body}");
    let steps = steps(&body);
    assert!(steps.iter().any(|s| s.contains("checks/run?workspace=acme")), "{body}");
    assert!(steps.iter().any(|s| s.contains("A restart does not lose it")), "{body}");
    assert!(
        lab.store_dir().join("acme.rotated").exists(),
        "kept beside the store too"
    );
    let rotated = lab
        .audit_lines()
        .into_iter()
        .rfind(|l| l["action"] == "rotate")
        .unwrap();
    assert_eq!(rotated["result"], "rotation-not-saved", "{rotated}");
    assert_eq!(lab.sim.sim().counters().route(ROTATE), 1);
    assert!(
        !lab.sim.sim().token(lab.alice.id).unwrap().active,
        "GitLab revoked the old token"
    );

    // The fault goes; the next round saves the kept token.
    std::fs::remove_dir_all(&conn_file).unwrap();
    let (code, _) = lab
        .call(reqwest::Method::POST, "/api/v1/checks/run?workspace=acme", None)
        .await;
    assert_eq!(code, 202);
    let store = lab.store();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let saved = loop {
        if let Ok(Some(c)) = store.load("acme") {
            break c;
        }
        tokio::time::timeout_at(deadline, lab.passes.changed())
            .await
            .expect("the kept token was never saved")
            .unwrap();
    };
    let new = lab.sim.sim().token(saved.token_id).unwrap();
    assert!(new.active, "the saved token is the working new one");
    assert_eq!(saved.token.expose_secret(), new.token);
    assert_ne!(saved.token_id, lab.alice.id);
    assert!(store.read_marker("acme").unwrap().is_none(), "the rotation is finished");
    assert!(!lab.store_dir().join("acme.rotated").exists(), "nothing left beside it");
    let settled = lab
        .audit_lines()
        .into_iter()
        .rfind(|l| l["action"] == "settle-rotation")
        .unwrap();
    assert_eq!(
        (settled["result"].as_str(), settled["token_id"].as_u64()),
        (Some("ok"), Some(saved.token_id))
    );
    // And the checks use it.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let token = token_check(&lab.http, lab.addr).await;
        if token["reason"] == "ok" {
            break;
        }
        tokio::time::timeout_at(deadline, lab.passes.changed())
            .await
            .unwrap_or_else(|_| panic!("the token check never passed with the new token: {token}"))
            .unwrap();
    }
}

// ---- item 3: disconnect on an unreadable connection file ----

#[tokio::test(flavor = "multi_thread")]
async fn disconnect_works_on_an_unreadable_connection_file_and_says_what_was_lost() {
    let lab = lab().await;
    assert_eq!(lab.connect().await.0, 200);
    // Written with another key: it can never be read with this one.
    let path = lab.store_dir().join("acme.conn");
    let other = tempfile::tempdir().unwrap();
    ConnectionStore::with_key(other.path(), [1; 32])
        .unwrap()
        .save(&conn("acme", vec!["api".into()]))
        .unwrap();
    std::fs::copy(other.path().join("acme.conn"), &path).unwrap();
    let (code, body) = lab.connect().await;
    assert_eq!(
        (code, body["error"].as_str()),
        (409, Some("store-unreadable")),
        "{body}"
    );

    let (code, body) = lab.disconnect().await;
    assert_eq!(code, 200, "{body}");
    let lost = body["lost"].as_str().unwrap();
    assert!(lost.contains("could not be read"), "{body}");
    assert!(lost.contains("acme.conn.unreadable"), "{body}");
    assert!(lost.contains("revoke it in GitLab"), "{body}");
    assert!(!path.exists());
    let aside = lab.store_dir().join("acme.conn.unreadable");
    assert_eq!(
        std::fs::read(&aside).unwrap(),
        std::fs::read(other.path().join("acme.conn")).unwrap(),
        "set aside, not deleted"
    );
    let line = lab
        .audit_lines()
        .into_iter()
        .rfind(|l| l["action"] == "disconnect")
        .unwrap();
    assert_eq!(line["result"], "ok");
    assert!(line["detail"].as_str().unwrap().contains("could not be read"), "{line}");
    // Connecting again needs no file deleted by hand.
    assert_eq!(lab.connect().await.0, 200);
}

// ---- item 9: the rotation's remediation names the workspace ----

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_rotation_remediation_names_the_workspace() {
    let lab = lab().await;
    assert_eq!(lab.connect().await.0, 200);
    lab.sim.sim().fail_next(labwatch::sim::FailSpec {
        count: 1,
        status: 400,
        path_prefix: Some("/api/v4/personal_access_tokens/self/rotate".into()),
        body: Some(r#"{"message":"400 Bad request - Expires at is invalid"}"#.into()),
        content_type: None,
        headers: Default::default(),
    });
    let (code, body) = lab.rotate().await;
    assert_eq!((code, body["error"].as_str()), (422, Some("renewal-failed")), "{body}");
    let steps = steps(&body);
    assert!(!steps.is_empty(), "{body}");
    assert!(
        steps.iter().all(|s| !s.contains('{')),
        "a placeholder reached the user: {steps:?}"
    );
    assert!(steps.iter().any(|s| s.contains("workspace `acme`")), "{steps:?}");
}

/// `/status/acme`'s token check from a daemon on `addr`.
async fn token_check(http: &reqwest::Client, addr: SocketAddr) -> Value {
    let status: Value = http
        .get(format!("http://{addr}/status/acme"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token")
        .cloned()
        .unwrap()
}

/// Polls `/status/acme` (the observable condition) until the token check's
/// reason is `reason`.
async fn until_token_reason(http: &reqwest::Client, addr: SocketAddr, reason: &str) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let token = token_check(http, addr).await;
        if token["reason"] == reason {
            return token;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the token check never said {reason}: {token}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotated_token_the_store_refused_survives_a_crash_and_is_saved_at_the_next_start() {
    let (sim, alice) = gitlab().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("admin"), ADMIN).unwrap();
    let config = dir.path().join("lw.toml");
    std::fs::write(&config, config_text(dir.path(), sim.base_url())).unwrap();
    let store_dir = dir.path().join("store");
    let (conn_file, marker) = (store_dir.join("acme.conn"), store_dir.join("acme.rotation"));
    let mut daemon = tokio::task::block_in_place(|| Daemon::start(&config));
    let http = http_client();
    let admin = |path: &str| http.post(format!("http://{}{path}", daemon.addr)).bearer_auth(ADMIN);
    let connected = admin("/api/v1/workspaces/acme/connect")
        .json(&json!({ "instance_url": sim.base_url(), "token": CANARY }))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status().as_u16(), 200);

    // As above: the rename of the new connection file fails.
    sim.sim().set_latency(Duration::from_millis(1500));
    let rotating = tokio::spawn(admin("/api/v1/workspaces/acme/rotate").send());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while !marker.exists() {
        assert!(tokio::time::Instant::now() < deadline, "no marker");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    std::fs::remove_file(&conn_file).unwrap();
    std::fs::create_dir_all(conn_file.join("in-the-way")).unwrap();
    let resp = rotating.await.unwrap().unwrap();
    sim.sim().set_latency(Duration::ZERO);
    assert_eq!(resp.status().as_u16(), 500);
    assert!(store_dir.join("acme.rotated").exists());

    // The token check tells a kept token from a lost one.
    let run = admin("/api/v1/checks/run?workspace=acme").send().await.unwrap();
    assert_eq!(run.status().as_u16(), 202);
    let token = until_token_reason(&http, daemon.addr, "rotation-not-saved").await;
    assert_eq!(token["status"], "critical", "{token}");
    assert!(token["summary"].as_str().unwrap().contains("acme.rotated"), "{token}");
    assert!(
        token["remediation"]
            .to_string()
            .contains("Do not delete `acme.rotated`"),
        "{token}"
    );

    // A crash before the store is fixed: the new token is only on disk now.
    daemon.signal("KILL");
    tokio::task::block_in_place(|| daemon.wait_exit());
    std::fs::remove_dir_all(&conn_file).unwrap();
    let mut daemon = tokio::task::block_in_place(|| Daemon::start(&config));
    let picked = tokio::task::block_in_place(|| {
        daemon.wait_for("A rotated token an earlier run could not save is picked up; it is saved after the next round")
    });
    let saved = tokio::task::block_in_place(|| daemon.wait_for("The rotated token kept in memory is saved"));
    assert_eq!(picked["token_id"], saved["token_id"]);
    let store = ConnectionStore::open(&store_dir, &dir.path().join("store.key")).unwrap();
    let conn = store.load("acme").unwrap().unwrap();
    let new = sim.sim().token(conn.token_id).unwrap();
    assert!(
        new.active && conn.token_id != alice.id,
        "the working new token is saved"
    );
    assert_eq!(conn.token.expose_secret(), new.token);
    assert!(!marker.exists() && !store_dir.join("acme.rotated").exists());
    until_token_reason(&http, daemon.addr, "ok").await;
    assert!(
        !daemon.seen.iter().any(|l| l.contains(&new.token)),
        "the new token is never logged"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rotation_answer_whose_metadata_breaks_a_bound_still_saves_its_token() {
    let lab = lab().await;
    assert_eq!(lab.connect().await.0, 200);
    // GitLab (or what answers in its place) sends a new token with a name
    // no store should keep.
    let mut fault = sim::FailSpec::new(1, 200).path_prefix("/api/v4/personal_access_tokens/self/rotate");
    fault.body = Some(
        json!({
            "id": 4242, "name": "n".repeat(100_000), "revoked": false, "active": true,
            "scopes": ["api"], "user_id": 1, "expires_at": "2027-06-01",
            "created_at": "2026-12-07T00:00:00Z", "token": "glpat-successor-of-canary-0001"
        })
        .to_string(),
    );
    lab.sim.sim().fail_next(fault);
    let (code, body) = lab.rotate().await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["token"]["id"], 4242, "{body}");
    assert_eq!(body["token"]["name"], "workspace", "the old name stands in: {body}");
    let stored = lab.store().load("acme").unwrap().unwrap();
    assert_eq!(stored.token.expose_secret(), "glpat-successor-of-canary-0001");
    assert_eq!((stored.token_id, stored.token_name.as_str()), (4242, "workspace"));
    assert!(lab.store().read_marker("acme").unwrap().is_none());
}
