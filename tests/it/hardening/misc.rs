//! Hardening, miscellaneous items: secrets in refused instance URLs, weak
//! admin tokens and what `config check` reports, a FIFO as the config, the
//! test-only pause hook, blocked checks' freshness.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use predicates::prelude::*;
use serde_json::json;
use tempfile::TempDir;

use crate::support::process::Daemon;

/// A strong admin token (`openssl rand -hex 16`).
const ADMIN: &str = "9d41c0e7a3b25f6d8e1c4a7b0f3d6e92";
/// The secret a careless instance URL carries; never echoed anywhere.
const SECRET: &str = "glpat-SECRETinURL00000000";

/// Upper bound for a command that must finish; reaching it means it hung.
const DEADLINE: Duration = Duration::from_secs(60);

/// The binary, killed at [`DEADLINE`] so that a hang fails the test.
fn labwatch() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
    cmd.env_remove("LABWATCH_CONFIG")
        .env("RUST_LOG", "error")
        .timeout(DEADLINE);
    cmd
}

fn http() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(DEADLINE)
        .build()
        .unwrap()
}

/// A directory with `lw.toml` (one unconnected workspace, the admin API on)
/// and the admin token file `admin` holding `token` with mode `mode`.
struct Lab {
    dir: TempDir,
}

impl Lab {
    fn new(token: &str, mode: u32) -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let admin = dir.path().join("admin");
        std::fs::write(&admin, format!("{token}\n")).unwrap();
        std::fs::set_permissions(&admin, std::fs::Permissions::from_mode(mode)).unwrap();
        std::fs::write(
            dir.path().join("lw.toml"),
            format!(
                "[server]\nlisten = \"127.0.0.1:0\"\nadmin_token_file = \"{d}/admin\"\n\
                 [store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n\
                 [defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n\
                 [[workspace]]\nname = \"acme\"\ninstance_url = \"http://127.0.0.1:1\"\n"
            ),
        )
        .unwrap();
        Lab { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("lw.toml")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

// ------------------------------------------------ item 5: instance_url

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_bearing_instance_url_is_refused_without_echoing_the_secret() {
    let lab = Lab::new(ADMIN, 0o600);
    let config = lab.config();
    let mut daemon = tokio::task::block_in_place(|| Daemon::start(&config));
    let connect = format!("http://{}/api/v1/workspaces/acme/connect", daemon.addr);
    for (url, shown) in [
        (
            format!("http://oauth2:{SECRET}@gitlab.example.com"),
            "`http://***@gitlab.example.com` contains credentials",
        ),
        (
            format!("https://gitlab.example.com/?private_token={SECRET}"),
            "`https://gitlab.example.com/?***` has a query or fragment",
        ),
    ] {
        let answer = http()
            .post(&connect)
            .bearer_auth(ADMIN)
            .json(&json!({ "instance_url": url, "token": "glpat-some-token-0000000000" }))
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status().as_u16(), 422);
        let body: serde_json::Value = answer.json().await.unwrap();
        assert_eq!(body["error"], "instance-url-invalid", "{body}");
        let message = body["message"].as_str().unwrap();
        assert!(message.contains(shown), "{message}");
        assert!(!body.to_string().contains(SECRET), "{body}");
    }
    let audit = std::fs::read_to_string(lab.path("store/audit.log")).unwrap();
    assert_eq!(audit.matches("instance-url-invalid").count(), 2, "{audit}");
    assert!(
        !audit.contains(SECRET),
        "the audit log holds the URL's secret:\n{audit}"
    );
    daemon.signal("TERM");
    daemon.wait_exit();
    let logs = daemon.seen.join("\n");
    assert!(!logs.contains(SECRET), "the log holds the URL's secret:\n{logs}");
}

// ------------------------------------------------ item 12: FIFO config

#[test]
fn a_fifo_as_the_config_is_refused_at_once_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("lw.toml");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    // Before the fix `open` waited for a writer forever; DEADLINE ends that.
    labwatch()
        .args(["config", "check", "-c"])
        .arg(&fifo)
        .assert()
        .code(78)
        .stderr(predicate::str::contains(
            "cannot read the config file: it is a named pipe (FIFO), not a regular file; point at a regular file",
        ));
}

// ------------------------------------------------ item 10: admin token

/// `config check` and `run` refuse the same admin token files, with the
/// same sentence and exit code 69.
#[test]
fn config_check_refuses_what_run_refuses_with_exit_69() {
    for (token, mode, code, words) in [
        (
            "x",
            0o600,
            "admin-token-weak",
            "holds a token of 1 character; it must be at least 32",
        ),
        (
            &"a".repeat(40),
            0o600,
            "admin-token-weak",
            "made of only 1 different characters",
        ),
        (
            ADMIN,
            0o666,
            "admin-token-file-writable",
            "has mode 0666: other users can write it",
        ),
        ("", 0o600, "admin-token-weak", "is empty"),
    ] {
        let lab = Lab::new(token, mode);
        let out = labwatch()
            .args(["config", "check", "-c"])
            .arg(lab.config())
            .assert()
            .code(69)
            .stdout(predicate::str::is_empty())
            .stderr(
                predicate::str::contains(format!("refused ({code}): admin_token_file"))
                    .and(predicate::str::contains(words))
                    .and(predicate::str::contains("`labwatch run` would refuse to start")),
            )
            .get_output()
            .stderr
            .clone();
        // The sentence describes the token, never quotes it.
        if token.len() >= 8 {
            assert!(!String::from_utf8_lossy(&out).contains(token));
        }
        labwatch()
            .args(["run", "-c"])
            .arg(lab.config())
            .assert()
            .code(69)
            .stderr(predicate::str::contains(words));
    }

    let lab = Lab::new(ADMIN, 0o600);
    std::fs::remove_file(lab.path("admin")).unwrap();
    labwatch()
        .args(["config", "check", "-c"])
        .arg(lab.config())
        .assert()
        .code(69)
        .stderr(predicate::str::contains(
            "refused (admin-token-unreadable): cannot read admin_token_file",
        ));
}

/// A world-readable admin token file is warned about by both, and refused
/// by neither: 0644 is what many deployments have today.
#[test]
fn a_world_readable_admin_token_file_is_warned_about() {
    let lab = Lab::new(ADMIN, 0o644);
    labwatch()
        .args(["config", "check", "-c"])
        .arg(lab.config())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(": ok (1 workspace, 1 warning)"))
        .stderr(
            predicate::str::contains("warning (admin-token-file-readable): admin_token_file").and(
                predicate::str::contains(
                    "has mode 0644: every user on this machine can read the admin token; run `chmod o-r",
                ),
            ),
        );

    let config = lab.config();
    let mut daemon = Daemon::start(&config);
    let warned = daemon
        .seen
        .iter()
        .any(|l| l.contains("admin-token-file-readable") && l.contains("\"level\":\"WARN\""));
    assert!(warned, "{:#?}", daemon.seen);
    daemon.signal("TERM");
    assert_eq!(daemon.wait_exit(), Some(0));
}

#[test]
fn a_strong_private_admin_token_file_passes_config_check_quietly() {
    let lab = Lab::new(ADMIN, 0o600);
    labwatch()
        .args(["config", "check", "-c"])
        .arg(lab.config())
        .assert()
        .code(0)
        .stdout(predicate::str::ends_with(": ok (1 workspace)\n"))
        .stderr(predicate::str::is_empty());
}

// ------------------------------------------------ item 13: test hooks

/// In a build without the `test-hooks` feature (what `cargo build --release`
/// makes), `LABWATCH_PAUSE_AT=rotate-after-answer` in the daemon's
/// environment does nothing: rotations finish, and the next one is not
/// refused with 409 `rotation-in-progress`. Built with the feature (as
/// `scripts/test` does) the variable works, so this test is ignored there;
/// `.ci/run` runs it in a build without the feature.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    feature = "test-hooks",
    ignore = "proves the build without test-hooks ignores LABWATCH_PAUSE_AT: cargo test --test it hardening::misc::without"
)]
async fn without_test_hooks_the_pause_variable_is_ignored() {
    use labwatch::sim::{self, Expiry, Scenario, TokenSpec, UserSpec};
    const OLD: &str = "glpat-canary-misc-pause-0123456789";
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_token(
        TokenSpec::new("alice", "workspace")
            .scopes(&["api"])
            .secret(OLD)
            .expires(Expiry::InDays(30)),
    )
    .unwrap();
    let gitlab = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let lab = Lab::new(ADMIN, 0o600);
    let config = lab.config();
    // `.ci/run` runs this test against its release build, a build without
    // test-hooks, rather than compiling the suite a second time without
    // them (a minute and a half on 2 cores).
    let other_build = std::env::var_os("LABWATCH_WITHOUT_HOOKS_BIN").map(std::path::PathBuf::from);
    assert!(
        other_build.is_some() || !cfg!(feature = "test-hooks"),
        "this build has test-hooks: set LABWATCH_WITHOUT_HOOKS_BIN to a labwatch built without them (target/release/labwatch)"
    );
    let mut daemon = tokio::task::block_in_place(|| {
        let args: &[&std::ffi::OsStr] = &["run".as_ref(), "-c".as_ref(), config.as_os_str()];
        let env = &[("LABWATCH_PAUSE_AT", "rotate-after-answer")];
        let mut d = match &other_build {
            Some(bin) => Daemon::spawn_binary_with_env(bin, args, env),
            None => Daemon::spawn_with_env(args, env),
        };
        d.wait_serving();
        d
    });
    let base = format!("http://{}/api/v1/workspaces/acme", daemon.addr);
    let connected = http()
        .post(format!("{base}/connect"))
        .bearer_auth(ADMIN)
        .json(&json!({ "instance_url": gitlab.base_url(), "token": OLD }))
        .send()
        .await
        .unwrap();
    assert_eq!(connected.status().as_u16(), 200, "{}", connected.text().await.unwrap());
    for n in 1..=2 {
        let rotated = http()
            .post(format!("{base}/rotate"))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        assert_eq!(
            rotated.status().as_u16(),
            200,
            "rotation {n}: {}",
            rotated.text().await.unwrap()
        );
    }
    daemon.signal("TERM");
    assert_eq!(tokio::task::block_in_place(|| daemon.wait_exit()), Some(0));
}
