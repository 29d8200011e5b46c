//! External plugins (`[[plugin]]`), run for real with the fixture scripts in
//! tests/fixtures/plugins: every exit code, perfdata and JSON outcomes,
//! malformed output, a hanging plugin killed with its children, an output
//! flood, what a plugin is (and is not) given, the dependency graph, metrics,
//! the daemon's endpoints while plugins misbehave, config errors,
//! `labwatch checks list`, and the example plugins in checks/.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use assert_cmd::Command;
use labwatch::checks::{self, Shared, WorkspaceGitlab};
use labwatch::config::Config;
use labwatch::engine::{CheckKey, CheckState, Outcome, RunContext, Status, StatusStore, run_once};
use labwatch::metrics::Metrics;
use labwatch::sim::{self, AccessLevel, ProjectSpec, Scenario, TokenSpec, UserSpec};
use predicates::prelude::*;
use tempfile::TempDir;
use time::OffsetDateTime;

use crate::support::client::get;
use crate::support::config::TOKEN;
use crate::support::net::{Behaviour, HttpServer, Reply};
use crate::support::stub::{Answer, Stub};
use crate::support::tools;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/plugins");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/checks");
/// An instance nobody listens on: built-in checks fail fast and offline.
const NOWHERE: &str = "http://127.0.0.1:1";

/// A config whose relative plugin paths start at the fixtures directory,
/// with workspace `acme` on `instance` holding the canary [`TOKEN`].
struct Lab {
    dir: TempDir,
}

impl Lab {
    fn new() -> Lab {
        crate::support::process::become_subreaper();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("token"), TOKEN).unwrap();
        Lab { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn text(&self, instance: &str, tables: &str) -> String {
        format!(
            "[defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{instance}\"\ntoken_file = \"{}\"\n\n{tables}",
            self.path("token").display()
        )
    }

    fn config(&self, instance: &str, tables: &str) -> Config {
        let text = self.text(instance, tables);
        Config::parse(&Path::new(FIXTURES).join("labwatch.toml"), &text)
            .unwrap_or_else(|e| panic!("test config is valid: {e}\n{text}"))
    }
}

/// A `[[plugin]]` table; `extra` holds further keys.
fn plugin(name: &str, argv: &[&str], extra: &str) -> String {
    let argv: Vec<String> = argv.iter().map(|a| format!("{a:?}")).collect();
    format!(
        "[[plugin]]\nname = \"{name}\"\ncommand = [{}]\n{extra}\n",
        argv.join(", ")
    )
}

/// Runs one check of the registry by hand, outside the scheduler (so a
/// plugin given the token runs without its implicit `token` dependency).
async fn run_check(config: &Config, name: &str) -> Outcome {
    let shared = Shared::default();
    let ws = &config.workspaces[0];
    let gitlab = Arc::new(WorkspaceGitlab::new(ws, &shared));
    let planned = checks::planned(config, ws, gitlab)
        .into_iter()
        .find(|c| c.check.name() == name)
        .unwrap_or_else(|| panic!("check {name} is planned"));
    let ctx = RunContext {
        workspace: ws.name.clone(),
        deadline: tokio::time::Instant::now() + planned.timeout,
        now: OffsetDateTime::now_utc(),
        round: 1,
        requested: true,
    };
    planned.check.run(&ctx).await
}

/// The fixture `say.sh`: prints `lines` and exits `code`.
async fn say(code: u8, lines: &[&str]) -> Outcome {
    let lab = Lab::new();
    let code = code.to_string();
    let mut argv = vec!["say.sh", code.as_str()];
    argv.extend_from_slice(lines);
    run_check(&lab.config(NOWHERE, &plugin("say", &argv, "")), "say").await
}

fn state(store: &StatusStore, check: &str) -> CheckState {
    let key = CheckKey {
        workspace: "acme".into(),
        check: check.into(),
        target: None,
    };
    store
        .get(&key)
        .map(|s| CheckState::clone(&s))
        .unwrap_or_else(|| panic!("{check} has a state"))
}

fn proc_exists(pid_file: &Path) -> bool {
    let pid = std::fs::read_to_string(pid_file).expect("the fixture recorded its child's pid");
    Path::new(&format!("/proc/{}", pid.trim())).exists()
}

// ---------------------------------------------------------------- exit codes

#[tokio::test]
async fn every_exit_code_maps_to_a_status() {
    for (code, status, reason) in [
        (0, Status::Ok, "ok"),
        (1, Status::Warning, "plugin-warning"),
        (2, Status::Critical, "plugin-critical"),
        (3, Status::Unknown, "plugin-unknown"),
    ] {
        let o = say(code, &["DISK - the summary line"]).await;
        assert_eq!((o.status, o.reason.as_str()), (status, reason), "exit {code}: {o:?}");
        assert_eq!(o.summary, "DISK - the summary line");
        if code != 0 {
            assert!(
                o.remediation.iter().any(|s| s.contains("say.sh")),
                "the generic steps name the command: {o:?}"
            );
        }
    }
    for code in [4, 127, 255] {
        let o = say(code, &["whatever"]).await;
        assert_eq!(
            (o.status, o.reason.as_str()),
            (Status::Unknown, "plugin-error"),
            "{o:?}"
        );
        assert!(o.summary.contains(&format!("exited with code {code}")), "{}", o.summary);
    }
    assert!(say(127, &[]).await.summary.contains("was not found"));
}

#[tokio::test]
async fn a_plugin_killed_by_a_signal_is_a_plugin_error_with_its_stderr() {
    let lab = Lab::new();
    let o = run_check(&lab.config(NOWHERE, &plugin("crash", &["crash.sh"], "")), "crash").await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Unknown, "plugin-error"));
    assert!(o.summary.contains("killed by signal 11 (SIGSEGV)"), "{}", o.summary);
    assert!(o.summary.contains("stderr: segfaulting now"), "{}", o.summary);
}

#[tokio::test]
async fn a_missing_program_at_run_time_is_a_plugin_error() {
    let lab = Lab::new();
    let script = lab.path("gone.sh");
    std::fs::copy(Path::new(FIXTURES).join("say.sh"), &script).unwrap();
    let config = lab.config(NOWHERE, &plugin("gone", &[script.to_str().unwrap()], ""));
    std::fs::remove_file(&script).unwrap();
    let o = run_check(&config, "gone").await;
    assert_eq!(o.reason, "plugin-error");
    assert!(o.summary.contains("could not be started"), "{}", o.summary);
}

// ---------------------------------------------------------------- output

#[tokio::test]
async fn perfdata_becomes_measurements_in_base_units() {
    let o = say(
        0,
        &[
            "OK - all forms | time=250ms;500;1000;0 'free space'=2GB;;;0;4 'it''s quoted'=3 load=90%;@80:90 n=U",
            "first detail",
            "second detail | late=5s",
            "more=7c",
        ],
    )
    .await;
    assert_eq!(o.status, Status::Ok);
    assert_eq!(o.summary, "OK - all forms");
    assert_eq!(o.details, ["first detail", "second detail"]);
    let gib = 1024.0 * 1024.0 * 1024.0;
    for (name, value) in [
        ("time_seconds", 0.25),
        ("time_seconds_warning", 0.5),
        ("time_seconds_critical", 1.0),
        ("time_seconds_min", 0.0),
        ("free space_bytes", 2.0 * gib),
        ("free space_bytes_min", 0.0),
        ("free space_bytes_max", 4.0 * gib),
        ("it's quoted", 3.0),
        ("load_percent", 90.0),
        ("late_seconds", 5.0),
        ("more", 7.0),
    ] {
        assert_eq!(o.measurements.get(name), Some(&value), "{name}: {:?}", o.measurements);
    }
    assert!(!o.measurements.contains_key("n"), "U is not a value");
    assert!(
        !o.measurements.contains_key("load_percent_warning"),
        "an inside (@) range is not an upper bound"
    );
}

#[tokio::test]
async fn json_outcomes_carry_reason_remediation_and_measurements() {
    let o = say(
        0,
        &[r#"{"labwatch": 1, "status": "critical", "reason": "runner-offline", "summary": "2 of 3 runners are offline", "remediation": ["Restart gitlab-runner on ci-2 and ci-3."], "measurements": {"runners_online": 1, "runners_total": 3}}"#],
    )
    .await;
    assert_eq!(o.status, Status::Critical, "the JSON status wins over exit 0");
    assert_eq!(o.reason, "runner-offline");
    assert_eq!(o.summary, "2 of 3 runners are offline");
    assert_eq!(o.remediation, ["Restart gitlab-runner on ci-2 and ci-3."]);
    assert_eq!(o.measurements.get("runners_online"), Some(&1.0));

    let pretty = say(
        0,
        &[
            "{",
            r#"  "labwatch": 1,"#,
            r#"  "status": "warning","#,
            r#"  "summary": "pretty-printed""#,
            "}",
        ],
    )
    .await;
    assert_eq!(
        (pretty.status, pretty.reason.as_str()),
        (Status::Warning, "plugin-warning")
    );
    assert_eq!(pretty.summary, "pretty-printed");
    assert!(
        pretty.remediation.iter().any(|s| s.contains("say.sh")),
        "no remediation of its own: the generic steps: {pretty:?}"
    );
}

#[tokio::test]
async fn malformed_output_is_a_plugin_error_naming_the_problem() {
    let cases: &[(u8, &[&str], &str)] = &[
        (0, &[], "printed nothing on stdout"),
        (0, &["", "second line"], "no summary"),
        (2, &["CRITICAL | time=fast"], "`fast` does not start with a number"),
        (0, &["OK | free space=1"], "single quotes"),
        (0, &["OK | 'unclosed=1"], "closing quote"),
        (0, &["OK | a=1;x"], "not a Nagios range"),
        (
            0,
            &[r#"{"labwatch": 1, "status": "fine", "summary": "x"}"#],
            "\"status\" must be",
        ),
        (
            0,
            &[r#"{"labwatch": 1, "status": "ok", "summary": "x", "reason": "Disk Full"}"#],
            "not a reason code",
        ),
        (
            0,
            &[r#"{"labwatch": 1, "status": "ok", "summary": "x", "reason": "blocked"}"#],
            "reserved",
        ),
        (0, &[r#"{"labwatch": 1, "status": "ok"}"#], "no \"summary\""),
        (
            0,
            &[r#"{"labwatch": 2, "status": "ok", "summary": "x"}"#],
            "protocol version",
        ),
        (
            0,
            &[r#"{"labwatch": 1, "status": "ok", "summary": "x", "measurements": {"a": "1"}}"#],
            "not a number",
        ),
        (0, &[r#"{"labwatch": 1, "status": "ok", "summary": "#], "not valid JSON"),
    ];
    for (code, lines, problem) in cases {
        let o = say(*code, lines).await;
        assert_eq!(
            (o.status, o.reason.as_str()),
            (Status::Unknown, "plugin-error"),
            "{lines:?}: {o:?}"
        );
        assert!(o.summary.contains("broke the output protocol"), "{}", o.summary);
        assert!(
            o.summary.contains(problem),
            "{lines:?}: want `{problem}` in: {}",
            o.summary
        );
    }
}

#[tokio::test]
async fn measurements_are_capped_per_plugin() {
    let perf: Vec<String> = (0..60).map(|i| format!("m{i}=1")).collect();
    let line = format!("OK - many | {}", perf.join(" "));
    let o = say(0, &[&line]).await;
    assert_eq!(o.measurements.len(), 50);
    assert!(
        o.remediation
            .iter()
            .any(|s| s.contains("60 measurements") && s.contains("first 50")),
        "{:?}",
        o.remediation
    );
}

#[tokio::test]
async fn a_flood_is_capped_and_read_to_the_end() {
    let lab = Lab::new();
    let o = run_check(&lab.config(NOWHERE, &plugin("flood", &["flood.sh"], "")), "flood").await;
    // Had labwatch stopped reading at the cap, the plugin would have blocked
    // on a full pipe and been killed at its timeout.
    assert_eq!((o.status, o.reason.as_str()), (Status::Ok, "ok"), "{o:?}");
    assert_eq!(o.summary, "OK - flooded");
    let total = "OK - flooded\n".len() + 4 * 1024 * 1024;
    assert!(
        o.remediation
            .iter()
            .any(|s| s.contains("first 64 KiB") && s.contains(&format!("{total} bytes"))),
        "{:?}",
        o.remediation
    );
}

// ---------------------------------------------------------------- processes

#[tokio::test]
async fn a_hanging_plugin_is_killed_with_its_children_and_reaped() {
    let lab = Lab::new();
    let pid_file = lab.path("child.pid");
    let table = plugin("hang", &["hang.sh", pid_file.to_str().unwrap()], "timeout = \"2s\"");
    let o = run_check(&lab.config(NOWHERE, &table), "hang").await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Unknown, "check-timeout"),
        "{o:?}"
    );
    // Killed by the plugin runner (this sentence), not cancelled by the
    // engine at the timeout ("The check did not finish within…"): the
    // runner's deadline is earlier. When exactly it fired is wall-clock time
    // on a busy machine, so it is not asserted here; the 90% margin itself
    // is tested on tokio's paused clock (engine::a_check_s_budget_…).
    assert!(
        o.summary.starts_with(
            "The plugin did not finish within its timeout of 2s and was killed, with every process it started, after "
        ),
        "{}",
        o.summary
    );
    assert!(
        !proc_exists(&pid_file),
        "the plugin's child must be killed and reaped (no process, no zombie)"
    );
}

#[tokio::test]
async fn what_a_plugin_leaves_running_is_killed_when_it_exits() {
    let lab = Lab::new();
    let pid_file = lab.path("child.pid");
    let table = plugin("leave", &["leave-child.sh", pid_file.to_str().unwrap()], "");
    let o = run_check(&lab.config(NOWHERE, &table), "leave").await;
    assert_eq!((o.status, o.summary.as_str()), (Status::Ok, "OK - left a child behind"));
    assert!(!proc_exists(&pid_file), "the leftover child is killed and reaped");
}

// ---------------------------------------------------------------- the token

/// What env-dump.sh recorded: (argv line, environment lines, stdin).
fn dump(file: &Path) -> (String, Vec<String>, String) {
    let text = std::fs::read_to_string(file).expect("env-dump.sh wrote its file");
    let (head, stdin) = text.split_once("stdin:\n").expect("stdin section");
    let (argv, environ) = head.split_once("environ:\n").expect("environ section");
    let env = environ.lines().map(str::to_owned).collect();
    (argv.to_owned(), env, stdin.to_owned())
}

#[tokio::test]
async fn a_plugin_not_granted_the_token_never_sees_it() {
    let lab = Lab::new();
    let out = lab.path("dump");
    let config = lab.config(NOWHERE, &plugin("dump", &["env-dump.sh", out.to_str().unwrap()], ""));
    let o = run_check(&config, "dump").await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    let (argv, env, stdin) = dump(&out);
    let everything = std::fs::read_to_string(&out).unwrap();
    assert!(!everything.contains(TOKEN), "the canary token leaked:\n{everything}");
    assert!(stdin.is_empty(), "stdin is /dev/null: {stdin:?}");
    assert!(argv.contains("env-dump.sh"), "{argv}");
    let keys: Vec<&str> = env.iter().filter_map(|l| l.split_once('=')).map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            "LABWATCH_INSTANCE_URL",
            "LABWATCH_PLUGIN_NAME",
            "LABWATCH_WORKSPACE",
            "PATH"
        ],
        "a cleared environment plus the allowlist"
    );
    assert!(env.contains(&"LABWATCH_WORKSPACE=acme".to_owned()));
    assert!(env.contains(&format!("LABWATCH_INSTANCE_URL={NOWHERE}")));
    assert!(env.contains(&"LABWATCH_PLUGIN_NAME=dump".to_owned()));
}

#[tokio::test]
async fn a_granted_plugin_gets_the_token_on_stdin_only() {
    let lab = Lab::new();
    let out = lab.path("dump");
    let config = lab.config(
        NOWHERE,
        &plugin("dump", &["env-dump.sh", out.to_str().unwrap()], "token = true"),
    );
    assert_eq!(run_check(&config, "dump").await.status, Status::Ok);
    let (argv, env, stdin) = dump(&out);
    assert_eq!(stdin, format!("{TOKEN}\n"));
    assert!(!argv.contains(TOKEN), "{argv}");
    assert!(env.iter().all(|l| !l.contains(TOKEN)), "{env:?}");
}

#[tokio::test]
async fn a_plugin_echoing_its_token_has_it_redacted() {
    let lab = Lab::new();
    let config = lab.config(NOWHERE, &plugin("echo", &["/bin/cat"], "token = true"));
    let o = run_check(&config, "echo").await;
    assert_eq!(o.summary, "[REDACTED]");
    assert!(!format!("{o:?}").contains(TOKEN));
}

// ---------------------------------------------------------------- the graph

#[tokio::test]
async fn plugins_join_the_dependency_graph_like_built_in_checks() {
    let lab = Lab::new();
    let tables = [
        plugin("needs-instance", &["say.sh", "0", "OK"], "depends_on = [\"instance\"]"),
        plugin("broken", &["say.sh", "2", "CRITICAL - broken"], ""),
        plugin("needs-broken", &["say.sh", "0", "OK"], "depends_on = [\"broken\"]"),
        plugin("granted", &["say.sh", "0", "OK"], "token = true"),
        plugin("free", &["say.sh", "0", "OK - free"], ""),
    ]
    .concat();
    let config = lab.config(NOWHERE, &tables);
    let store = Arc::new(StatusStore::new());
    run_once(labwatch::runtime::plans(&config, &Shared::default()), store.clone(), 4).await;
    assert_eq!(state(&store, "instance").outcome.reason, "tcp-refused");
    for (check, root) in [
        ("needs-instance", "instance"),
        ("needs-broken", "broken"),
        ("granted", "instance"),
    ] {
        let s = state(&store, check);
        assert_eq!(s.outcome.reason, "blocked", "{check}");
        assert_eq!(s.blocked_by.as_deref(), Some(root), "{check}");
    }
    assert_eq!(state(&store, "broken").outcome.status, Status::Critical);
    assert_eq!(state(&store, "free").outcome.summary, "OK - free");
}

#[tokio::test]
async fn plugin_measurements_are_metrics() {
    let lab = Lab::new();
    let config = lab.config(
        NOWHERE,
        &plugin(
            "perf",
            &["say.sh", "1", "WARNING - slow | time=1500ms;1000;2000 'queue depth'=7"],
            "",
        ),
    );
    let shared = Shared::default();
    let store = Arc::new(StatusStore::new());
    run_once(labwatch::runtime::plans(&config, &shared), store.clone(), 4).await;
    let body = Metrics::new(store, &shared.gitlab_metrics).render(&[]);
    for line in [
        r#"labwatch_check_status{check="perf",target="",workspace="acme"} 1"#,
        r#"labwatch_check_reason_info{check="perf",reason="plugin-warning",target="",workspace="acme"} 1"#,
        r#"labwatch_plugin_measurement{name="time_seconds",plugin="perf",workspace="acme"} 1.5"#,
        r#"labwatch_plugin_measurement{name="time_seconds_warning",plugin="perf",workspace="acme"} 1"#,
        r#"labwatch_plugin_measurement{name="queue depth",plugin="perf",workspace="acme"} 7"#,
    ] {
        assert!(body.contains(line), "missing {line}\n{body}");
    }
    assert!(
        !body.contains(r#"labwatch_plugin_measurement{name="expiry"#),
        "built-ins stay out"
    );
    tools::assert_promtool_accepts(&body);
}

// ---------------------------------------------------------------- the daemon

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_daemon_stays_responsive_while_plugins_misbehave() {
    let gitlab = Stub::start(Answer::Gitlab).await;
    let lab = Lab::new();
    let fifo = lab.path("started");
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");
    let pid_file = lab.path("child.pid");
    let tables = [
        plugin(
            "hang",
            &["hang.sh", pid_file.to_str().unwrap(), fifo.to_str().unwrap()],
            "timeout = \"3s\"",
        ),
        plugin("after-hang", &["say.sh", "0", "OK"], "depends_on = [\"hang\"]"),
        plugin("flood", &["flood.sh"], ""),
        plugin(
            "perf",
            &["say.sh", "0", "OK - fine | time=20ms"],
            "depends_on = [\"token\"]",
        ),
    ]
    .concat();
    let runtime = Arc::new(labwatch::runtime::Runtime::start(
        lab.config(&gitlab.url(), &tables),
        None,
    ));
    let mut passes = runtime.status().subscribe();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (_stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(labwatch::http::serve(
        listener,
        labwatch::http::AppState::new(&runtime),
        async move {
            let _ = stopped.await;
        },
    ));

    // The hanging plugin says it runs (and blocks until someone reads).
    let started = tokio::task::spawn_blocking(move || std::fs::read_to_string(fifo));
    let started = tokio::time::timeout(std::time::Duration::from_secs(60), started)
        .await
        .expect("the hanging plugin never started")
        .unwrap()
        .unwrap();
    assert_eq!(started, "started\n");
    assert_eq!(get(addr, "/livez").await, (200, "ok\n".to_owned()));
    let (code, status) = get(addr, "/status/acme").await;
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let hang = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "hang")
        .unwrap();
    assert_eq!(hang["reason"], "pending", "still running: {hang}");
    assert_eq!(get(addr, "/metrics").await.0, 200);

    while !runtime.status().first_round_done() {
        passes.changed().await.unwrap();
    }
    assert!(!proc_exists(&pid_file), "the hanging plugin's child is gone");
    let (_, status) = get(addr, "/status/acme").await;
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    let check = |name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["check"] == name)
            .unwrap_or_else(|| panic!("{name} in /status"))
            .clone()
    };
    assert_eq!(check("hang")["reason"], "check-timeout");
    assert_eq!(check("after-hang")["blocked_by"], "hang");
    assert_eq!(check("flood")["status"], "ok");
    assert_eq!(check("perf")["status"], "ok");
    assert_eq!(check("perf")["measurements"]["time_seconds"], 0.02);
    assert_eq!(check("token")["status"], "ok");
    let (code, health) = get(addr, "/health?workspace=acme").await;
    assert_eq!(code, 503, "{health}");
    assert!(health.contains("acme/hang unknown check-timeout"), "{health}");
    assert!(
        !health.contains("after-hang"),
        "a blocked check is not a second alert: {health}"
    );
    let (_, metrics) = get(addr, "/metrics").await;
    assert!(
        metrics.contains(r#"labwatch_plugin_measurement{name="time_seconds",plugin="perf",workspace="acme"} 0.02"#),
        "{metrics}"
    );
}

// ---------------------------------------------------------------- config

fn config_errors(lab: &Lab, tables: &str) -> Vec<String> {
    let text = lab.text(NOWHERE, tables);
    match Config::parse(&Path::new(FIXTURES).join("lw.toml"), &text) {
        Ok(_) => panic!("config should be rejected:\n{text}"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn plugin_config_errors_point_at_the_offending_value() {
    let lab = Lab::new();
    // Line numbers below count from the first table: the header has 9 lines.
    let at = |line: usize, col: usize| format!("{FIXTURES}/lw.toml:{}:{col}: ", line + 9);
    let cases: &[(&str, usize, usize, &str)] = &[
        (
            "[[plugin]]\nname = \"Disk_Space\"\ncommand = [\"say.sh\"]\n",
            2,
            8,
            "kebab case",
        ),
        (
            "[[plugin]]\nname = \"token\"\ncommand = [\"say.sh\"]\n",
            2,
            8,
            "name of a built-in check",
        ),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"nope.sh\"]\n",
            3,
            12,
            "nope.sh` (relative paths start at the config file's directory",
        ),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"say.sh 0 OK\"]\n",
            3,
            12,
            "an argv array, not a shell line",
        ),
        ("[[plugin]]\nname = \"x\"\ncommand = []\n", 3, 11, "command is empty"),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"say.sh\"]\ndepends_on = [\"tokn\"]\n",
            4,
            15,
            "did you mean `token`?",
        ),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"say.sh\"]\ndepends_on = [\"repository\"]\n",
            4,
            15,
            "depend on `scopes`",
        ),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"say.sh\"]\nworkspaces = [\"acm\"]\n",
            4,
            15,
            "did you mean `acme`?",
        ),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"say.sh\"]\ntimeout = \"2h\"\n",
            4,
            11,
            "longer than interval",
        ),
        (
            "[[plugin]]\nname = \"x\"\ncommand = [\"say.sh\"]\ntokens = true\n",
            4,
            1,
            "unknown field `tokens`",
        ),
    ];
    for (tables, line, col, message) in cases {
        let errs = config_errors(&lab, tables);
        let want = at(*line, *col);
        assert!(
            errs.iter().any(|e| e.starts_with(&want) && e.contains(message)),
            "want {want}…{message}, got {errs:?}"
        );
    }
}

#[test]
fn plugin_names_are_unique_and_dependencies_acyclic() {
    let lab = Lab::new();
    let dup = [plugin("a", &["say.sh"], ""), plugin("a", &["say.sh"], "")].concat();
    assert!(config_errors(&lab, &dup).iter().any(|e| e.contains("already defined")));
    let cycle = [
        plugin("a", &["say.sh"], "depends_on = [\"b\"]"),
        plugin("b", &["say.sh"], "depends_on = [\"c\"]"),
        plugin("c", &["say.sh"], "depends_on = [\"a\"]"),
    ]
    .concat();
    let errs = config_errors(&lab, &cycle);
    assert!(
        errs.iter().any(|e| e.contains("dependency cycle: a → b → c → a")),
        "{errs:?}"
    );
    let own = plugin("a", &["say.sh"], "depends_on = [\"a\"]");
    assert!(
        config_errors(&lab, &own)
            .iter()
            .any(|e| e.contains("cannot depend on itself"))
    );
}

#[test]
fn a_dependency_must_run_wherever_its_dependent_runs() {
    let lab = Lab::new();
    let text = format!(
        "{}[[workspace]]\nname = \"other\"\n\n{}{}",
        lab.text(NOWHERE, ""),
        plugin("only-acme", &["say.sh"], "workspaces = [\"acme\"]"),
        plugin("everywhere", &["say.sh"], "depends_on = [\"only-acme\"]"),
    );
    let errs = Config::parse(&Path::new(FIXTURES).join("lw.toml"), &text)
        .unwrap_err()
        .to_string();
    assert!(
        errs.contains("`only-acme` does not run in workspace `other`, where `everywhere` runs"),
        "{errs}"
    );
}

#[test]
fn a_not_executable_program_is_rejected_with_the_fix() {
    let lab = Lab::new();
    let script = lab.path("plain.sh");
    std::fs::write(&script, "#!/bin/sh\necho OK\n").unwrap();
    let errs = config_errors(&lab, &plugin("x", &[script.to_str().unwrap()], ""));
    assert!(
        errs.iter()
            .any(|e| e.contains("is not executable; make it so with `chmod +x")),
        "{errs:?}"
    );
}

#[test]
fn relative_commands_start_at_the_config_files_directory() {
    let lab = Lab::new();
    let config = lab.config(NOWHERE, &plugin("p", &["say.sh", "0", "OK"], ""));
    assert_eq!(config.plugins[0].program, Path::new(FIXTURES).join("say.sh"));
    assert_eq!(config.plugins[0].args, ["0", "OK"]);
    assert!(!config.plugins[0].token, "token = false by default");
    assert_eq!(
        config.plugins[0].timeout,
        std::time::Duration::from_secs(5),
        "from [defaults]"
    );
}

#[test]
fn the_example_config_plugins_http_checks_instances_and_metrics_are_valid() {
    // The commented [[plugin]], [[http_check]], [[instance]] and [metrics]
    // examples, uncommented, must load: their commands exist in checks/,
    // their conditions parse, their keys are known.
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/labwatch.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let start = text.find("# [[plugin]]").expect("the example documents [[plugin]]");
    assert!(
        text.contains("# [[http_check]]"),
        "the example documents [[http_check]]"
    );
    let examples: Vec<&str> = text[start..]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| {
            l.starts_with('[')
                || l.split_once(" = ")
                    .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .collect();
    let full = format!("{text}\n{}\n", examples.join("\n"));
    let config =
        Config::parse(&path, &full).unwrap_or_else(|e| panic!("{e}\n--- examples ---\n{}", examples.join("\n")));
    assert!(config.plugins.len() >= 3, "{:?}", config.plugins);
    assert!(!config.http_checks.is_empty());
    assert_eq!(config.instances.len(), 1, "{:?}", config.instances);
    assert_eq!(
        config.metrics.repository_series,
        labwatch::config::RepositorySeries::PerRepository
    );
}

// ---------------------------------------------------------------- checks list

fn labwatch() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("labwatch"));
    cmd.env_remove("LABWATCH_CONFIG").env("RUST_LOG", "error");
    cmd
}

#[test]
fn checks_list_shows_every_check_with_dependencies_and_schedule() {
    let lab = Lab::new();
    let tables = format!(
        "{}{}[[http_check]]\nname = \"version\"\nurl = \"api/v4/version\"\nconditions = [\"[STATUS] == 200\"]\ninterval = \"2m\"\n",
        plugin(
            "disk",
            &[&format!("{FIXTURES}/say.sh"), "0", "OK"],
            "interval = \"1m\"\ntimeout = \"5s\"\ndepends_on = [\"instance\"]"
        ),
        plugin("probe", &[&format!("{FIXTURES}/say.sh")], "token = true"),
    );
    let file = lab.path("labwatch.toml");
    std::fs::write(
        &file,
        lab.text("https://gitlab.example.com", &tables)
            .replace("token_file", "repositories = [\"acme/backend\"]\ntoken_file"),
    )
    .unwrap();
    let out = labwatch()
        .args(["checks", "list", "-c"])
        .arg(&file)
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("acme (https://gitlab.example.com)\n"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let rows: Vec<Vec<&str>> = out.lines().skip(1).map(|l| l.split_whitespace().collect()).collect();
    let row = |name: &str| {
        rows.iter()
            .find(|r| r[0] == name)
            .unwrap_or_else(|| panic!("{name} in:\n{out}"))
    };
    assert_eq!(rows[0][..5], ["CHECK", "KIND", "INTERVAL", "TIMEOUT", "DEPENDS"]);
    assert_eq!(row("instance")[1..5], ["built-in", "1h", "5s", "-"]);
    assert_eq!(row("scopes")[4], "token");
    assert_eq!(row("repository[acme/backend]")[4], "scopes");
    assert_eq!(row("disk")[1..5], ["plugin", "1m", "5s", "instance"]);
    assert!(row("disk")[5].ends_with("say.sh"), "{out}");
    assert_eq!(row("probe")[4], "token", "a plugin given the token waits for `token`");
    assert_eq!(row("probe").last(), Some(&"(token)"));
    assert_eq!(row("version")[1..5], ["http_check", "2m", "5s", "token"]);
    assert_eq!(
        row("version")[5..7],
        ["GET", "https://gitlab.example.com/api/v4/version"]
    );

    let json = labwatch()
        .args(["checks", "list", "--output", "json", "--workspace", "acme", "-c"])
        .arg(&file)
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let disk = v[0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "disk")
        .unwrap();
    assert_eq!(disk["kind"], "plugin");
    assert_eq!(disk["interval_seconds"], 60.0);
    assert_eq!(disk["depends_on"], serde_json::json!(["instance"]));

    labwatch()
        .args(["checks", "list", "--workspace", "nope", "-c"])
        .arg(&file)
        .assert()
        .code(64)
        .stderr(predicate::str::contains("there is no workspace `nope`"));
    std::fs::write(&file, "[[workspace]]\nname = \"a\"\n[[plugin]]\nname = \"x\"\n").unwrap();
    labwatch()
        .args(["checks", "list", "-c"])
        .arg(&file)
        .assert()
        .code(78)
        .stderr(predicate::str::contains("missing field `command`"));
}

// ---------------------------------------------------------------- examples

/// A simulator where alice's token can clone acme/backend, bob's is a guest
/// on acme/design, and acme/secret is bob's alone.
async fn git_lab() -> (sim::SimHandle, String, String) {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_user(UserSpec::new("bob")).unwrap();
    let alice = s
        .add_token(TokenSpec::new("alice", "ws").scopes(&["read_api", "read_repository"]))
        .unwrap();
    let bob = s
        .add_token(TokenSpec::new("bob", "ws").scopes(&["read_repository"]))
        .unwrap();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s.add_project(ProjectSpec::new("acme/secret").member("bob", AccessLevel::OWNER))
        .unwrap();
    s.add_project(
        ProjectSpec::new("acme/design")
            .member("bob", AccessLevel::GUEST)
            .member("alice", AccessLevel::OWNER),
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (sim::start(s, listener).await.unwrap(), alice.token, bob.token)
}

async fn probe(gitlab: &sim::SimHandle, token: &str, repo: &str, grant: bool) -> Outcome {
    let lab = Lab::new();
    std::fs::write(lab.path("token"), token).unwrap();
    let table = plugin(
        "clone",
        &[&format!("{EXAMPLES}/git-clone-probe.sh"), repo],
        if grant { "token = true" } else { "" },
    );
    run_check(&lab.config(gitlab.base_url(), &table), "clone").await
}

#[tokio::test]
#[cfg_attr(not(has_git), ignore = "git not installed: apt-get install git (scripts/test does)")]
async fn the_git_clone_probe_runs_git_ls_remote_against_the_simulator() {
    tools::require("git", "git");
    let (gitlab, alice, bob) = git_lab().await;
    let ok = probe(&gitlab, &alice, "acme/backend", true).await;
    assert_eq!((ok.status, ok.reason.as_str()), (Status::Ok, "ok"), "{ok:?}");
    assert!(
        ok.summary.starts_with("OK - Git can clone acme/backend: 2 refs, HEAD "),
        "{}",
        ok.summary
    );
    assert_eq!(ok.measurements.get("refs"), Some(&2.0));
    assert!(ok.measurements.contains_key("time_seconds"), "{:?}", ok.measurements);
    let refs = gitlab.counters().by_route.get("GET /{path}.git/info/refs").copied();
    assert!(
        refs.is_some_and(|n| n >= 2),
        "anonymous try, then with the credential helper: {refs:?}"
    );

    let cases = [
        (&alice, "acme/secret", "(HTTP 404)"),
        (&bob, "acme/design", "(HTTP 403)"),
        (
            &"glpat-not-a-real-token".to_owned(),
            "acme/backend",
            "rejected the workspace token",
        ),
    ];
    for (token, repo, says) in cases {
        let o = probe(&gitlab, token, repo, true).await;
        assert_eq!(
            (o.status, o.reason.as_str()),
            (Status::Critical, "plugin-critical"),
            "{repo}: {o:?}"
        );
        assert!(o.summary.contains(says), "{repo}: {}", o.summary);
        assert!(
            o.details.iter().any(|s| s.starts_with("git: ")),
            "git's own words: {o:?}"
        );
        assert!(!format!("{o:?}").contains(token.as_str()));
    }
    let no_token = probe(&gitlab, &alice, "acme/backend", false).await;
    assert_eq!(no_token.status, Status::Unknown);
    assert!(no_token.summary.contains("no token on stdin"), "{}", no_token.summary);
}

#[tokio::test]
#[cfg_attr(
    not(all(has_jq, has_curl)),
    ignore = "jq or curl not installed: apt-get install jq curl (scripts/test does)"
)]
async fn the_pipeline_health_example_reports_a_failed_pipeline_as_json() {
    tools::require("jq", "jq");
    tools::require("curl", "curl");
    let body = r#"[{"id":42,"status":"failed","ref":"main","web_url":"http://gitlab.example.com/acme/backend/-/pipelines/42","created_at":"2026-11-24T10:00:00.000Z","updated_at":"2026-11-24T10:05:00.000Z","duration":300}]"#;
    let server = HttpServer::start(Behaviour::Answer(Reply::new(200, "OK", "application/json", body))).await;
    let lab = Lab::new();
    let table = plugin(
        "pipeline",
        &[
            &format!("{EXAMPLES}/gitlab-pipeline-health.sh"),
            "acme/backend",
            "--ref",
            "main",
        ],
        "token = true",
    );
    let o = run_check(&lab.config(&format!("http://{}", server.addr), &table), "pipeline").await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Critical, "pipeline-failed"),
        "{o:?}"
    );
    assert!(o.summary.contains("(#42) failed"), "{}", o.summary);
    assert!(o.remediation[0].contains("http://gitlab.example.com/acme/backend/-/pipelines/42"));
    assert_eq!(o.measurements.get("pipeline_id"), Some(&42.0));
    assert_eq!(o.measurements.get("pipeline_duration_seconds"), Some(&300.0));
    let request = server.requests().concat().to_ascii_lowercase();
    assert!(
        request.starts_with("get /api/v4/projects/acme%2fbackend/pipelines?ref=main&scope=finished"),
        "{request}"
    );
    assert!(
        request.contains(&format!("private-token: {}", TOKEN.to_ascii_lowercase())),
        "{request}"
    );
}

#[tokio::test]
async fn the_disk_space_example_follows_the_nagios_api() {
    let lab = Lab::new();
    let script = format!("{EXAMPLES}/disk-space.sh");
    let table = [
        plugin("roomy", &[&script, "--warn", "0", "--min", "0", "/"], ""),
        plugin("full", &[&script, "--min", "101", "/"], ""),
    ]
    .concat();
    let config = lab.config(NOWHERE, &table);
    let ok = run_check(&config, "roomy").await;
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    assert!(
        ok.measurements.get("free_bytes").is_some_and(|b| *b > 0.0),
        "{:?}",
        ok.measurements
    );
    assert!(ok.measurements.contains_key("free_share_percent"));
    let full = run_check(&config, "full").await;
    assert_eq!(
        (full.status, full.reason.as_str()),
        (Status::Critical, "plugin-critical")
    );
    assert!(full.summary.contains("below 101%"), "{}", full.summary);
}
