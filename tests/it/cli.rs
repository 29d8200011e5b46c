//! The `labwatch` binary: exit codes, outputs, and the daemon's lifecycle
//! (readiness, metrics, SIGHUP reload, SIGTERM).

use assert_cmd::Command;
use predicates::prelude::*;

use crate::support::client::get;
use crate::support::config::{ConfigFile, single};
use crate::support::process::Daemon;
use crate::support::stub::{Answer, Stub};
use crate::support::tools;

fn labwatch() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
    cmd.env_remove("LABWATCH_CONFIG").env("RUST_LOG", "error");
    cmd
}

#[test]
fn check_reports_a_refused_connection_as_critical_with_remediation() {
    let file = ConfigFile::new(&single("http://127.0.0.1:1", ""));
    labwatch()
        .args(["check", "-c"])
        .arg(&file.path)
        .assert()
        .code(2)
        .stdout(predicate::str::contains("acme (http://127.0.0.1:1): CRITICAL"))
        .stdout(predicate::str::contains("[CRITICAL] instance tcp-refused"))
        .stdout(predicate::str::contains(
            "1. Verify your instance URL http://127.0.0.1:1",
        ))
        .stdout(predicate::str::contains("2. Check that GitLab is running"));
}

#[test]
fn check_prints_json_and_nagios() {
    let file = ConfigFile::new(&single("http://127.0.0.1:1", ""));
    let out = labwatch()
        .args(["check", "--output", "json", "-c"])
        .arg(&file.path)
        .assert()
        .code(2);
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["status"], "critical");
    assert_eq!(v["workspaces"][0]["checks"][0]["reason"], "tcp-refused");

    labwatch()
        .args(["check", "--output", "nagios", "-c"])
        .arg(&file.path)
        .assert()
        .code(2)
        .stdout(predicate::str::starts_with("LABWATCH CRITICAL - acme/instance: "))
        .stdout(predicate::str::contains("[CRITICAL] acme/instance tcp-refused"));
}

#[tokio::test]
async fn check_exits_0_when_gitlab_answers() {
    let gitlab = Stub::start(Answer::Gitlab).await;
    let file = ConfigFile::new(&single(&gitlab.url(), ""));
    let path = file.path.clone();
    let out = tokio::task::spawn_blocking(move || labwatch().args(["check", "-c"]).arg(&path).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("[OK] instance ok"), "{stdout}");
}

#[test]
fn check_for_an_unknown_workspace_is_a_usage_error() {
    let file = ConfigFile::new(&single("http://127.0.0.1:1", ""));
    labwatch()
        .args(["check", "--workspace", "nope", "-c"])
        .arg(&file.path)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("there is no workspace `nope`"))
        .stderr(predicate::str::contains("configured: acme"));
}

#[test]
fn bad_arguments_exit_64_not_a_check_status() {
    labwatch().args(["check", "--output", "yaml"]).assert().code(64);
    labwatch().arg("frobnicate").assert().code(64);
    labwatch()
        .arg("--help")
        .assert()
        .code(0)
        .stdout(predicate::str::contains("check"));
}

#[test]
fn a_misspelt_key_exits_78_with_file_line_and_column() {
    let file = ConfigFile::new("[[workspace]]\nname = \"acme\"\ninstance_ulr = \"https://gitlab.com\"\n");
    let expected = format!("{}:3:1: unknown field `instance_ulr`", file.path.display());
    for args in [&["config", "check"][..], &["check"], &["run"]] {
        labwatch()
            .args(args)
            .arg("-c")
            .arg(&file.path)
            .assert()
            .code(78)
            .stderr(predicate::str::contains(expected.as_str()))
            .stderr(predicate::str::contains("did you mean `instance_url`?"));
    }
}

#[test]
fn config_check_accepts_the_example_and_honours_labwatch_config() {
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/labwatch.toml");
    labwatch()
        .args(["config", "check", "-c"])
        .arg(&example)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("ok (1 workspace)"));
    labwatch()
        .args(["config", "check"])
        .env("LABWATCH_CONFIG", "/nonexistent/lw.toml")
        .assert()
        .code(78)
        .stderr(predicate::str::contains(
            "/nonexistent/lw.toml: cannot read the config file",
        ));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_daemon_is_ready_after_its_first_round_reloads_on_sighup_and_stops_on_sigterm() {
    let (release, latch) = tokio::sync::watch::channel(false);
    let gitlab = Stub::start(Answer::HoldThenGitlab(latch)).await;
    let text = single(&gitlab.url(), "").replace("timeout = \"5s\"", "timeout = \"5m\"");
    let file = ConfigFile::new(&text);
    let mut daemon = tokio::task::block_in_place(|| Daemon::start(&file.path));

    // GitLab holds the first answer, so the first round cannot have finished.
    let (code, body) = get(daemon.addr, "/readyz").await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(get(daemon.addr, "/livez").await.0, 200);
    assert_eq!(get(daemon.addr, "/health").await.0, 503);

    release.send_replace(true);
    tokio::task::block_in_place(|| daemon.wait_for("First round finished"));
    assert_eq!(get(daemon.addr, "/readyz").await, (200, "ok\n".into()));
    assert_eq!(get(daemon.addr, "/health").await, (200, "ok\n".into()));

    let (code, metrics) = get(daemon.addr, "/metrics").await;
    assert_eq!(code, 200);
    assert!(
        metrics.contains(r#"labwatch_check_status{check="instance",target="",workspace="acme"} 0"#),
        "{metrics}"
    );
    tools::assert_promtool_accepts(&metrics);

    // An invalid config is reported and the running one kept.
    file.rewrite("[[workspace]]\nname = \"acme\"\nintervall = \"1m\"\n");
    daemon.signal("HUP");
    let failed = tokio::task::block_in_place(|| {
        daemon.wait_for("Configuration reload failed; keeping the running configuration")
    });
    assert!(
        failed["errors"]
            .as_str()
            .unwrap()
            .contains(":3:1: unknown field `intervall`"),
        "{failed}"
    );
    assert_eq!(get(daemon.addr, "/status/acme").await.0, 200);

    // A valid one replaces it.
    gitlab.set(Answer::Gitlab);
    file.rewrite(&text.replace("name = \"acme\"", "name = \"beta\""));
    daemon.signal("HUP");
    tokio::task::block_in_place(|| daemon.wait_for("Configuration reloaded"));
    assert_eq!(get(daemon.addr, "/status/acme").await.0, 404);
    assert_eq!(get(daemon.addr, "/status/beta").await.0, 200);

    daemon.signal("TERM");
    tokio::task::block_in_place(|| daemon.wait_for("Shut down"));
    assert_eq!(tokio::task::block_in_place(|| daemon.wait_exit()), Some(0));
}

#[test]
fn the_daemon_reports_a_taken_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let file = ConfigFile::new(&single("http://127.0.0.1:1", "").replace("127.0.0.1:0", &addr.to_string()));
    labwatch()
        .args(["run", "-c"])
        .arg(&file.path)
        .assert()
        .code(69)
        .stderr(predicate::str::contains(format!("cannot listen on {addr}")));
}

/// Files read whole (the config, the admin token, a `--token-file`) must be
/// regular files, read up to a cap: a wrong path such as `/dev/zero` is an
/// error naming the file and what it is, not an allocation that grows until
/// the process is killed.
#[test]
fn an_endless_config_admin_token_or_token_file_is_refused() {
    labwatch()
        .args(["config", "check", "-c", "/dev/zero"])
        .assert()
        .code(78)
        .stderr(predicate::str::contains(
            "cannot read the config file: it is a character device, not a regular file",
        ));

    let file = ConfigFile::new(&single("http://127.0.0.1:1", "").replace(
        "listen = \"127.0.0.1:0\"",
        "listen = \"127.0.0.1:0\"\nadmin_token_file = \"/dev/zero\"",
    ));
    labwatch()
        .args(["run", "-c"])
        .arg(&file.path)
        .assert()
        .failure()
        .stderr(predicate::str::contains(
            "cannot read admin_token_file /dev/zero: it is a character device, not a regular file",
        ));

    labwatch()
        .args([
            "connect",
            "-w",
            "acme",
            "--daemon",
            "http://127.0.0.1:1",
            "--token-file",
            "/dev/zero",
        ])
        .env("LABWATCH_ADMIN_TOKEN", "x")
        .assert()
        .code(64)
        .stderr(predicate::str::contains(
            "cannot read --token-file `/dev/zero`: it is a character device, not a regular file",
        ));
}

#[tokio::test]
async fn check_reports_a_name_that_does_not_resolve_as_dns_nxdomain() {
    let dns = crate::support::net::DnsServer::start(crate::support::net::Zone::new()).await;
    let extra = format!("nameservers = [\"{}\"]", dns.addr);
    let file = ConfigFile::new(&single("https://gitlab.nowhere.test", &extra));
    let path = file.path.clone();
    let out = tokio::task::spawn_blocking(move || labwatch().args(["check", "-c"]).arg(&path).output().unwrap())
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(stdout.contains("[CRITICAL] instance dns-nxdomain"), "{stdout}");
    assert!(stdout.contains("`gitlab.nowhere.test`"), "{stdout}");
    assert!(
        stdout.contains("1. Verify your instance URL https://gitlab.nowhere.test"),
        "{stdout}"
    );
    assert!(
        dns.queries().iter().any(|q| q.starts_with("gitlab.nowhere.test")),
        "{:?}",
        dns.queries()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_token_never_leaves_for_logs_status_metrics_or_errors() {
    use crate::support::config::TOKEN;
    let gitlab = Stub::start(Answer::Revoked).await;
    let file = ConfigFile::new(&single(&gitlab.url(), "repositories = [\"acme/app\"]"));
    let mut daemon = tokio::task::block_in_place(|| Daemon::start(&file.path));
    tokio::task::block_in_place(|| daemon.wait_for("First round finished"));

    let (_, status) = get(daemon.addr, "/status").await;
    assert!(status.contains("\"reason\":\"token-revoked\""), "{status}");
    let mut bodies = vec![status];
    for path in [
        "/metrics",
        "/health?verbose",
        "/status/acme",
        "/status/nope",
        "/readyz?verbose",
        "/nope",
    ] {
        bodies.push(get(daemon.addr, path).await.1);
    }
    daemon.signal("TERM");
    tokio::task::block_in_place(|| daemon.wait_for("Shut down"));
    for body in &bodies {
        assert!(!body.contains(TOKEN), "the token leaked into a response:\n{body}");
    }
    assert!(
        daemon
            .seen
            .iter()
            .any(|l| l.contains("Pausing authenticated GitLab calls")),
        "{:?}",
        daemon.seen
    );
    for line in &daemon.seen {
        assert!(!line.contains(TOKEN), "the token leaked into the log:\n{line}");
    }
}
