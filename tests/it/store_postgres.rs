//! The PostgreSQL store against a real server (`support::postgres`): it
//! keeps what the file store keeps, sealed the same way; its schema is
//! versioned and a newer one is refused; its audit log cannot be changed;
//! an outage is reported, retryable, and ends when the server is back;
//! `store migrate` moves a file store over and the daemon runs on the
//! result.

use std::path::Path;
use std::process::Command;

use labwatch::store::{
    Actor, AuditAction, AuditEntry, AuditResult, Availability, ConnectionStore, DisconnectRecord, Key, PostgresOptions,
    RotationMarker, StoreError, StoredConnection, WorkspaceRecord,
};
use secrecy::{ExposeSecret, SecretString};
use time::macros::{date, datetime};

use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, TokenSpec, UserSpec};
use reqwest::Method;
use serde_json::{Value, json};

use crate::support::client;
use crate::support::in_process;
use crate::support::postgres::Postgres;
use crate::support::process::Daemon;

const CANARY: &str = "glpat-canary-POSTGRES-0123456789";
const KEY: [u8; 32] = [9; 32];
const ADMIN: &str = "admin-secret-for-the-postgres-tests";

fn conn(workspace: &str) -> StoredConnection {
    StoredConnection {
        workspace: workspace.to_owned(),
        instance_url: "https://gitlab.example.com".to_owned(),
        token: SecretString::from(CANARY),
        user_id: 3,
        username: "alice".to_owned(),
        token_id: 4,
        token_name: "workspace".to_owned(),
        scopes: vec!["api".to_owned()],
        expires_at: Some(date!(2027 - 01 - 31)),
        created_at: Some(datetime!(2026-11-01 08:30:00 UTC)),
        connected_at: datetime!(2026-11-24 20:00:00 UTC),
        repositories: Some(vec!["acme/backend".to_owned()]),
    }
}

fn options(pg: &Postgres) -> PostgresOptions {
    PostgresOptions {
        url: pg.url(),
        password_file: Some(pg.password_file().to_path_buf()),
        pool_size: 2,
        ca_file: None,
        lease: labwatch::store::postgres::DEFAULT_LEASE,
    }
}

fn open(pg: &Postgres) -> ConnectionStore {
    ConnectionStore::postgres_with_key(&options(pg), &Key::from_bytes(KEY)).expect("open the PostgreSQL store")
}

fn entry(workspace: &str, action: AuditAction) -> AuditEntry {
    let mut e = AuditEntry::new(workspace, Actor::AdminApi, action, AuditResult::Ok);
    e.token_id = Some(4);
    e.detail = Some("a test".to_owned());
    e
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn the_postgres_store_keeps_every_record_sealed_and_a_dump_holds_no_token() {
    let pg = Postgres::start();
    let store = open(&pg);
    assert!(store.load("acme").unwrap().is_none());

    store.save(&conn("acme")).unwrap();
    let loaded = store.load("acme").unwrap().expect("saved");
    assert_eq!(loaded.token.expose_secret(), CANARY);
    assert_eq!(loaded.username, "alice");
    store.save_rotated(&conn("acme")).unwrap();
    assert!(store.load_rotated("acme").unwrap().is_some());
    let marker = RotationMarker {
        workspace: "acme".to_owned(),
        old_token_id: 4,
        started_at: datetime!(2026-12-01 10:00:00 UTC),
        trigger: "manual".to_owned(),
    };
    store.write_marker(&marker).unwrap();
    assert_eq!(store.read_marker("acme").unwrap(), Some(marker));
    let record = DisconnectRecord::new("beta", datetime!(2026-12-02 10:00:00 UTC), None);
    store.write_disconnected(&record).unwrap();
    assert_eq!(store.read_disconnected("beta").unwrap(), Some(record));
    let ws = WorkspaceRecord {
        workspace: "acme".to_owned(),
        settings: serde_json::json!({"instance_url": "https://gitlab.example.com"})
            .as_object()
            .unwrap()
            .clone(),
        created_at: datetime!(2026-12-01 09:00:00 UTC),
        updated_at: datetime!(2026-12-01 09:00:00 UTC),
    };
    store.save_workspace(&ws).unwrap();
    let listed = store.list_workspaces().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].1.as_ref().unwrap(), &ws);
    store.audit(&entry("acme", AuditAction::Connect)).unwrap();
    assert_eq!(store.audit_entries().unwrap(), vec![entry_at(&store, 0)]);

    // A dump has the workspace and instance in clear, never the token.
    let dump = pg.dump();
    assert!(dump.contains("gitlab.example.com"), "the envelope is in the dump");
    assert!(!dump.contains(CANARY), "the token is in the dump");
    assert!(!dump.contains(&CANARY[6..]), "part of the token is in the dump");

    // Another key cannot read it, and says so.
    let other = ConnectionStore::postgres_with_key(&options(&pg), &Key::from_bytes([1; 32])).unwrap();
    let e = other.load("acme").unwrap_err();
    assert!(matches!(e, StoreError::Decrypt { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("cannot decrypt the row of workspace `acme` in table `connections`"),
        "{e}"
    );
    assert!(!e.to_string().contains(CANARY));

    // Moving an envelope to another workspace's row breaks its seal.
    pg.superuser_psql(
        "labwatch",
        "INSERT INTO labwatch.connections (workspace, body) SELECT 'beta', body FROM labwatch.connections WHERE workspace = 'acme'",
    );
    let e = store.load("beta").unwrap_err();
    assert!(matches!(e, StoreError::WorkspaceMismatch { .. }), "{e}");

    // Disconnect's set-aside moves the row; deleting the workspace removes
    // every row but its audit entries.
    let aside = store.set_aside("beta").unwrap().expect("there was a row");
    assert_eq!(
        aside.to_string(),
        "the row of workspace `beta` in table `set_aside_connections`"
    );
    assert!(store.load("beta").unwrap().is_none());
    let removed = store.remove_workspace("acme").unwrap();
    assert_eq!(
        removed,
        ["rotation_markers", "rotated_connections", "connections", "workspaces"]
    );
    assert!(store.load("acme").unwrap().is_none());
    assert!(store.list_workspaces().unwrap().is_empty());
    assert_eq!(store.audit_entries().unwrap().len(), 1);
}

/// The first audit entry as read back (its `at` is the row's).
fn entry_at(store: &ConnectionStore, i: usize) -> AuditEntry {
    let mut e = entry("acme", AuditAction::Connect);
    e.at = store.audit_entries().unwrap()[i].at;
    e
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn the_audit_log_refuses_updates_deletes_and_truncation() {
    let pg = Postgres::start();
    let store = open(&pg);
    store.audit(&entry("acme", AuditAction::Rotate)).unwrap();
    for sql in [
        "UPDATE labwatch.audit_log SET result = 'ok'",
        "DELETE FROM labwatch.audit_log",
        "TRUNCATE labwatch.audit_log",
    ] {
        let out = pg
            .client("psql")
            .args([
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port().to_string(),
                "-U",
                "labwatch",
                "labwatch",
                "-c",
                sql,
            ])
            .env("PGPASSWORD", pg.password())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{sql} was allowed");
        assert!(stderr.contains("labwatch.audit_log is append-only"), "{sql}: {stderr}");
    }
    assert_eq!(store.audit_entries().unwrap().len(), 1);
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn migrations_run_once_and_a_schema_newer_than_the_binary_is_refused() {
    let pg = Postgres::start();
    // Two opening at once (replicas starting together) migrate once.
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| ConnectionStore::postgres_with_key(&options(&pg), &Key::from_bytes(KEY)).map(drop));
        let b = s.spawn(|| ConnectionStore::postgres_with_key(&options(&pg), &Key::from_bytes(KEY)).map(drop));
        (a.join().unwrap(), b.join().unwrap())
    });
    a.unwrap();
    b.unwrap();
    let versions = pg.superuser_psql(
        "labwatch",
        "SELECT version, applied_by FROM labwatch.schema_migrations ORDER BY version",
    );
    let expected: Vec<String> = (1..=labwatch::store::postgres::SCHEMA_VERSION)
        .map(|v| format!("{v}|labwatch {}", env!("CARGO_PKG_VERSION")))
        .collect();
    assert_eq!(versions.trim(), expected.join("\n"), "each version applied once");

    pg.superuser_psql(
        "labwatch",
        "INSERT INTO labwatch.schema_migrations (version, description, applied_by) VALUES (999, 'future', 'labwatch 9.0.0')",
    );
    let e = ConnectionStore::postgres_with_key(&options(&pg), &Key::from_bytes(KEY)).unwrap_err();
    assert!(matches!(e, StoreError::SchemaTooNew { found: 999, .. }), "{e}");
    assert!(
        e.to_string()
            .contains("labwatch 9.0.0 migrated it. Fix: run labwatch 9.0.0 or later"),
        "{e}"
    );
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn an_outage_is_retryable_shows_as_unavailable_and_ends_when_the_server_is_back() {
    let pg = Postgres::start();
    let store = open(&pg);
    store.save(&conn("acme")).unwrap();
    assert_eq!(store.availability(), Availability::Available);

    pg.stop();
    let e = store.save(&conn("acme")).unwrap_err();
    assert!(e.is_unavailable(), "{e}");
    assert!(
        e.to_string()
            .contains("Nothing was written; retry once PostgreSQL is reachable again"),
        "{e}"
    );
    assert!(matches!(store.availability(), Availability::Unavailable { .. }));
    assert!(store.load("acme").unwrap_err().is_unavailable());

    pg.restart_after_stop();
    // The pool drops the connections the restart closed and makes new ones.
    store.ping().unwrap();
    assert_eq!(store.availability(), Availability::Available);
    assert_eq!(store.load("acme").unwrap().unwrap().token.expose_secret(), CANARY);
}

#[test]
fn a_url_with_a_password_is_refused_without_echoing_it() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lw.toml");
    std::fs::write(
        &config,
        "[store]\nbackend = \"postgres\"\n[store.postgres]\nurl = \"postgres://labwatch:hunter2-secret@db:5432/labwatch\"\n",
    )
    .unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(["config", "check", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("lw.toml:4:7: `url` holds a password"), "{stderr}");
    assert!(stderr.contains("LABWATCH_POSTGRES_PASSWORD"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");

    std::fs::write(&config, "[store]\nbackend = \"postgres\"\n").unwrap();
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(["config", "check", "-c"])
        .arg(&config)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(78), "{stderr}");
    assert!(
        stderr.contains("backend = \"postgres\" needs a [store.postgres] table with `url`"),
        "{stderr}"
    );
}

/// Writes a config for `dir` on `pg`, with the file store in `dir/store`.
fn config(dir: &Path, pg: &Postgres, backend: &str) -> std::path::PathBuf {
    let d = dir.display();
    std::fs::write(dir.join("admin"), ADMIN).unwrap();
    let path = dir.join("lw.toml");
    std::fs::write(
        &path,
        format!(
            "[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{d}/admin\"\n\
             [store]\nbackend = \"{backend}\"\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n\
             [store.postgres]\nurl = \"{}\"\npassword_file = \"{}\"\n\
             [defaults]\ninterval = \"1h\"\ntimeout = \"2s\"\n",
            pg.url(),
            pg.password_file().display()
        ),
    )
    .unwrap();
    path
}

fn start(config: &Path) -> Daemon {
    tokio::task::block_in_place(|| Daemon::start(config))
}

fn labwatch(args: &[&str], config: &Path) -> (i32, String, String) {
    let out = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
        .args(args)
        .arg("-c")
        .arg(config)
        .env_remove("LABWATCH_STORE_KEY")
        .env_remove("LABWATCH_POSTGRES_PASSWORD")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
async fn a_file_store_moves_to_postgres_and_the_daemon_rides_out_an_outage() {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let alice = s
        .add_token(
            TokenSpec::new("alice", "workspace")
                .scopes(&["api"])
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let pg = tokio::task::block_in_place(Postgres::start);
    let dir = tempfile::tempdir().unwrap();
    let http = in_process::http_client();

    // An installation on the file store: a workspace connected through the
    // API (created by connect) and one created without a connection.
    let cfg = config(dir.path(), &pg, "file");
    let mut daemon = start(&cfg);
    let connect = json!({"instance_url": sim.base_url(), "token": alice.token, "repositories": ["acme/backend"]});
    let (code, body) = in_process::call(
        &http,
        daemon.addr,
        ADMIN,
        Method::POST,
        "/api/v1/workspaces/acme/connect",
        Some(connect),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    let spare = json!({"instance_url": sim.base_url(), "repositories": ["acme/backend"]});
    let (code, body) = in_process::call(
        &http,
        daemon.addr,
        ADMIN,
        Method::PUT,
        "/api/v1/workspaces/spare",
        Some(spare),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    daemon.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| daemon.wait_exit()), Some(0));
    // A rotation a crash interrupted: its marker moves too, and the daemon
    // on PostgreSQL settles it.
    let files = ConnectionStore::open(&dir.path().join("store"), &dir.path().join("store.key")).unwrap();
    let token_id = files.load("acme").unwrap().unwrap().token_id;
    files
        .write_marker(&RotationMarker {
            workspace: "acme".to_owned(),
            old_token_id: token_id,
            started_at: time::OffsetDateTime::now_utc(),
            trigger: "manual".to_owned(),
        })
        .unwrap();
    drop(files);

    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| labwatch(&["store", "migrate", "--from", "file", "--to", "postgres"], &cfg));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(&format!(
            "to the PostgreSQL store at labwatch@127.0.0.1:{}/labwatch: 2 run-time workspace(s), 1 connection(s), \
             0 rotated connection(s) awaiting save, 1 rotation marker(s), 0 disconnect record(s), 3 audit entries.",
            pg.port()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("Next: set [store] backend = \"postgres\""), "{stdout}");
    // Into a store that holds something: refused, nothing copied twice.
    let (code, _, stderr) =
        tokio::task::block_in_place(|| labwatch(&["store", "migrate", "--from", "file", "--to", "postgres"], &cfg));
    assert_eq!(code, 64, "{stderr}");
    assert!(stderr.contains("already holds 7 record(s)"), "{stderr}");
    assert!(!tokio::task::block_in_place(|| pg.dump()).contains(alice.token.as_str()));

    // The daemon on the result: the workspace is connected as before.
    let cfg = config(dir.path(), &pg, "postgres");
    std::fs::remove_dir_all(dir.path().join("store")).unwrap();
    let mut daemon = start(&cfg);
    // Every daemon on PostgreSQL is a replica: the workspace's owner settles
    // it, after the first round that finds the token working.
    tokio::task::block_in_place(|| daemon.wait_for("Interrupted rotation settled: the stored token works"));
    let markers =
        tokio::task::block_in_place(|| pg.superuser_psql("labwatch", "SELECT count(*) FROM labwatch.rotation_markers"));
    assert_eq!(markers.trim(), "0", "the marker was settled");
    let (code, ws) = in_process::call(&http, daemon.addr, ADMIN, Method::GET, "/api/v1/workspaces/acme", None).await;
    assert_eq!((code, ws["origin"].as_str()), (200, Some("api")), "{ws}");
    let (code, status) = client::get(daemon.addr, "/status/acme").await;
    assert_eq!(code, 200, "{status}");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["connection"]["username"], "alice", "{status}");
    assert!(!dir.path().join("store").exists(), "the PostgreSQL store wrote files");

    // PostgreSQL goes away: /readyz says so, actions are 503 and retryable,
    // the checks go on.
    tokio::task::block_in_place(|| pg.stop());
    tokio::task::block_in_place(|| {
        daemon.wait_for("The connection store is unavailable; checks go on with the tokens already loaded, actions fail until it is back")
    });
    let (code, ready) = client::get(daemon.addr, "/readyz").await;
    assert_eq!(code, 503, "{ready}");
    assert!(ready.starts_with("store-unavailable since "), "{ready}");
    let (code, ready) = client::get(daemon.addr, "/readyz?verbose").await;
    assert_eq!(code, 503, "{ready}");
    assert!(ready.contains("[-] store-unavailable since "), "{ready}");
    let (code, body) = in_process::call(
        &http,
        daemon.addr,
        ADMIN,
        Method::PUT,
        "/api/v1/workspaces/late",
        Some(json!({"instance_url": sim.base_url()})),
    )
    .await;
    assert_eq!(
        (code, body["error"].as_str()),
        (503, Some("store-unavailable")),
        "{body}"
    );
    assert!(
        body["remediation"][0]
            .as_str()
            .unwrap()
            .starts_with("Nothing was changed. Send the same request again"),
        "{body}"
    );
    let (code, body) = in_process::call(
        &http,
        daemon.addr,
        ADMIN,
        Method::POST,
        "/api/v1/checks/run?workspace=acme",
        None,
    )
    .await;
    assert!(code < 300, "{code} {body}");
    let (code, status) = client::get(daemon.addr, "/status/acme").await;
    assert_eq!(code, 200, "{status}");

    // Back: ready again, and the same request succeeds.
    tokio::task::block_in_place(|| pg.restart_after_stop());
    tokio::task::block_in_place(|| daemon.wait_for("The connection store is available again"));
    let (code, ready) = client::get(daemon.addr, "/readyz?verbose").await;
    assert_eq!(code, 200, "{ready}");
    assert!(ready.contains("[+] store ok"), "{ready}");
    let (code, body) = in_process::call(
        &http,
        daemon.addr,
        ADMIN,
        Method::PUT,
        "/api/v1/workspaces/late",
        Some(json!({"instance_url": sim.base_url()})),
    )
    .await;
    assert_eq!(code, 201, "{body}");
    daemon.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| daemon.wait_exit()), Some(0));
    let logs = daemon.seen.join("\n");
    assert!(!logs.contains(alice.token.as_str()), "the token is in the log");
    assert!(!logs.contains(pg.password()), "the database password is in the log");
    assert!(!tokio::task::block_in_place(|| pg.dump()).contains(alice.token.as_str()));

    // And back to files, into an empty directory: the way back keeps what
    // happened on PostgreSQL.
    let (code, stdout, stderr) =
        tokio::task::block_in_place(|| labwatch(&["store", "migrate", "--from", "postgres", "--to", "file"], &cfg));
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains(": 3 run-time workspace(s), 1 connection(s),"),
        "{stdout}"
    );
    let store = ConnectionStore::open(&dir.path().join("store"), &dir.path().join("store.key")).unwrap();
    assert_eq!(store.load("acme").unwrap().unwrap().username, "alice");
    let actions: Vec<AuditAction> = store.audit_entries().unwrap().iter().map(|e| e.action).collect();
    assert_eq!(
        actions,
        [
            AuditAction::WorkspaceCreated,
            AuditAction::Connect,
            AuditAction::WorkspaceCreated,
            AuditAction::SettleRotation,
            AuditAction::WorkspaceCreated
        ]
    );
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn a_table_changed_by_hand_is_an_error_that_says_so_not_a_crash() {
    let pg = Postgres::start();
    let store = open(&pg);
    let names = vec!["acme".to_owned()];
    let lease = std::time::Duration::from_secs(15);
    let first = store.lease_round("a", lease, &names, &Default::default()).unwrap();
    assert_eq!(first.owned.len(), 1);
    pg.superuser_psql(
        "labwatch",
        "ALTER TABLE labwatch.leases ALTER COLUMN epoch TYPE integer",
    );
    let e = store.lease_round("a", lease, &names, &first.owned).unwrap_err();
    assert!(!e.is_unavailable(), "{e}");
    assert!(e.to_string().contains("was the schema changed by hand?"), "{e}");
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
async fn a_listener_cut_off_from_the_database_catches_up_on_what_changed_meanwhile() {
    use labwatch::store::Notice;
    let pg = tokio::task::block_in_place(Postgres::start);
    let (me, other, mut notices) = tokio::task::block_in_place(|| {
        let me = open(&pg);
        let notices = me.listen(&options(&pg)).unwrap().expect("PostgreSQL listens");
        (me, open(&pg), notices)
    });
    let next = async |notices: &mut tokio::sync::mpsc::UnboundedReceiver<Notice>| {
        tokio::time::timeout(std::time::Duration::from_secs(60), notices.recv())
            .await
            .expect("a notice within a minute")
            .expect("the listener runs")
    };
    // Listening, and it has read the database's clock once.
    let heartbeat = "SELECT count(*) FROM pg_stat_activity \
         WHERE application_name = 'labwatch (change notices)' AND query = 'SELECT now()' AND state = 'idle'";
    let listening = || {
        (0..600).any(|_| {
            let seen = pg.superuser_psql("labwatch", heartbeat).trim() == "1";
            if !seen {
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            seen
        })
    };
    assert!(tokio::task::block_in_place(listening), "the listener never listened");
    tokio::task::block_in_place(|| other.notify("replica-b", Notice::CONNECTION, "heard")).unwrap();
    assert_eq!(
        next(&mut notices).await,
        Notice {
            replica: "replica-b".to_owned(),
            kind: Notice::CONNECTION.to_owned(),
            workspace: "heard".to_owned(),
        }
    );

    // The listener's session is cut. While it is away a connection is
    // saved and a workspace created, their notices lost (none is sent
    // here): on listening again it reads back what changed, and nothing
    // else.
    pg.superuser_psql(
        "labwatch",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'labwatch (change notices)'",
    );
    tokio::task::block_in_place(|| {
        other.save(&conn("missed")).unwrap();
        other
            .save_workspace(&WorkspaceRecord {
                workspace: "created".to_owned(),
                settings: json!({"instance_url": "https://gitlab.example.com"})
                    .as_object()
                    .unwrap()
                    .clone(),
                created_at: datetime!(2026-12-01 09:00:00 UTC),
                updated_at: datetime!(2026-12-01 09:00:00 UTC),
            })
            .unwrap();
    });
    let mut caught: Vec<(String, String, String)> = Vec::new();
    for _ in 0..2 {
        let n = next(&mut notices).await;
        caught.push((n.replica, n.kind, n.workspace));
    }
    caught.sort();
    assert_eq!(
        caught,
        [
            (String::new(), Notice::CONNECTION.to_owned(), "missed".to_owned()),
            (String::new(), Notice::WORKSPACE.to_owned(), "created".to_owned()),
        ]
    );
    drop(me);
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn tls_with_sslmode_require_trusts_the_ca_file_and_refuses_an_unknown_issuer() {
    let pg = Postgres::start();
    let ca = crate::support::net::TestCa::new("labwatch test PostgreSQL CA");
    let (cert, key) = ca.leaf_pem(&["127.0.0.1"]);
    pg.enable_tls(&cert, &key);
    let mut tls = options(&pg);
    tls.url = format!("{}?sslmode=require", pg.url());
    tls.ca_file = Some(ca.pem_path.clone());
    let store = ConnectionStore::postgres_with_key(&tls, &Key::from_bytes(KEY)).expect("open over TLS");
    store.save(&conn("acme")).unwrap();
    assert_eq!(store.load("acme").unwrap().unwrap().token.expose_secret(), CANARY);
    // Every session of labwatch's role is encrypted.
    let sessions = pg.superuser_psql(
        "labwatch",
        "SELECT count(*), bool_and(s.ssl) FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.usename = 'labwatch'",
    );
    let (count, all_tls) = sessions.trim().split_once('|').unwrap();
    assert!(count.parse::<u32>().unwrap() >= 1, "{sessions}");
    assert_eq!(all_tls, "t", "{sessions}");
    drop(store);

    // Without the CA that issued the server's certificate: refused, and
    // the error says it is about the certificate.
    tls.ca_file = None;
    let Err(e) = ConnectionStore::postgres_with_key(&tls, &Key::from_bytes(KEY)) else {
        panic!("an unknown issuer is refused");
    };
    let text = e.to_string();
    assert!(text.contains("invalid peer certificate: UnknownIssuer"), "{text}");
    assert!(text.contains("Set [store.postgres] ca_file"), "{text}");
    assert!(
        !e.is_unavailable(),
        "a setting to fix, not an outage to wait for: {text}"
    );
    assert!(!text.contains(pg.password()), "{text}");
}

#[test]
#[cfg_attr(
    not(has_postgres),
    ignore = "PostgreSQL not installed: apt-get install postgresql (scripts/test does)"
)]
fn a_check_never_migrates_the_schema_and_says_who_does() {
    let pg = Postgres::start();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("store.key"), KEY).unwrap();
    let cfg = config(dir.path(), &pg, "postgres");
    let schema = "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'labwatch'";

    let (_, stdout, stderr) = labwatch(&["check"], &cfg);
    assert!(
        stderr.contains(&format!(
            "the PostgreSQL store's schema is at version 0 and this labwatch uses version {}",
            labwatch::store::postgres::SCHEMA_VERSION
        )),
        "{stdout}{stderr}"
    );
    assert!(stderr.contains("start the daemon (`labwatch run`)"), "{stderr}");
    assert_eq!(pg.superuser_psql("labwatch", schema).trim(), "0", "nothing created");

    // Once the daemon's open migrated it, a check uses it.
    drop(ConnectionStore::postgres_with_key(&options(&pg), &Key::from_bytes(KEY)).unwrap());
    let (_, stdout, stderr) = labwatch(&["check"], &cfg);
    assert!(!stderr.contains("not used"), "{stdout}{stderr}");
    assert_eq!(pg.superuser_psql("labwatch", schema).trim(), "1");
}
