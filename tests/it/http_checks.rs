//! Declarative HTTP checks (`[[http_check]]`): conditions against the GitLab
//! simulator, each failing condition named, the token sent to the instance's
//! own origin only, redirects not followed, unreachable URLs, the body cap,
//! the implicit `token` dependency, and condition errors located at
//! FILE:LINE:COL.

use std::path::Path;
use std::sync::Arc;

use labwatch::checks::{self, Shared, WorkspaceGitlab};
use labwatch::config::Config;
use labwatch::engine::{CheckKey, Outcome, RunContext, Status, StatusStore, run_once};
use labwatch::sim::{self, Scenario, TokenSpec, UserSpec};
use tempfile::TempDir;
use time::OffsetDateTime;

use crate::support::config::TOKEN;
use crate::support::net::{Behaviour, HttpServer, Reply};
use crate::support::stub::{Answer, Stub};

/// Workspace `acme` on `instance` with `token`, plus `tables`.
fn config(dir: &TempDir, instance: &str, token: &str, tables: &str) -> Config {
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, token).unwrap();
    let text = format!(
        "[defaults]\ninterval = \"1h\"\ntimeout = \"5s\"\n\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{instance}\"\ntoken_file = \"{}\"\n\n{tables}",
        token_file.display()
    );
    Config::parse(Path::new("lw.toml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn http_check(name: &str, url: &str, conditions: &[&str], extra: &str) -> String {
    let conditions: Vec<String> = conditions.iter().map(|c| format!("{c:?}")).collect();
    format!(
        "[[http_check]]\nname = \"{name}\"\nurl = \"{url}\"\nconditions = [{}]\n{extra}\n",
        conditions.join(", ")
    )
}

/// One check of the registry, run by hand (outside the scheduler).
async fn run_check(config: &Config, name: &str) -> Outcome {
    let shared = Shared::default();
    let ws = &config.workspaces[0];
    let gitlab = Arc::new(WorkspaceGitlab::new(ws, &shared));
    let planned = checks::planned(config, ws, gitlab)
        .into_iter()
        .find(|c| c.check.name() == name)
        .unwrap_or_else(|| panic!("{name} is planned"));
    let ctx = RunContext {
        workspace: "acme".into(),
        deadline: tokio::time::Instant::now() + planned.timeout,
        now: OffsetDateTime::now_utc(),
        round: 1,
        requested: true,
    };
    planned.check.run(&ctx).await
}

async fn simulator() -> (sim::SimHandle, String) {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let token = s
        .add_token(TokenSpec::new("alice", "ws").scopes(&["read_api"]))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (sim::start(s, listener).await.unwrap(), token.token)
}

#[tokio::test]
async fn conditions_on_status_body_headers_and_time_hold_against_the_simulator() {
    let (gitlab, token) = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let table = http_check(
        "version",
        "api/v4/version",
        &[
            "[STATUS] == 200",
            "[BODY].version >= 17.0",
            "has([BODY].revision) == true",
            "[HEADER].content-type == pat(application/json*)",
            "[RESPONSE_TIME] < 30s",
        ],
        "",
    );
    let o = run_check(&config(&dir, gitlab.base_url(), &token, &table), "version").await;
    assert_eq!((o.status, o.reason.as_str()), (Status::Ok, "ok"), "{o:?}");
    assert!(o.summary.starts_with("All 5 conditions hold: GET "), "{}", o.summary);
    assert_eq!(o.measurements.get("status_code"), Some(&200.0));
    assert!(o.measurements.contains_key("response_time_seconds"));
}

#[tokio::test]
async fn each_failing_condition_is_named_with_what_it_got() {
    let (gitlab, token) = simulator().await;
    let dir = tempfile::tempdir().unwrap();
    let table = http_check(
        "version",
        "/api/v4/version",
        &[
            "[STATUS] == 201",
            "[STATUS] < 300",
            "[BODY].version >= 99",
            "[BODY].edition.name == ee",
        ],
        "",
    );
    let o = run_check(&config(&dir, gitlab.base_url(), &token, &table), "version").await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Critical, "http-check-failed"),
        "{o:?}"
    );
    let url = format!("{}/api/v4/version", gitlab.base_url());
    assert!(
        o.summary
            .starts_with(&format!("3 of 4 conditions failed for GET {url} (answered 200 in ")),
        "{}",
        o.summary
    );
    for part in [
        "`[STATUS] == 201` (got `200`)",
        "`[BODY].version >= 99` (got `17.5.0`)",
        "`[BODY].edition.name == ee` ([BODY].edition is missing)",
    ] {
        assert!(o.summary.contains(part), "want {part} in {}", o.summary);
    }
    assert!(
        !o.summary.contains("[STATUS] < 300"),
        "a condition that holds is not named"
    );
    assert!(o.remediation[0].contains(&format!("GET {url}")), "{:?}", o.remediation);
}

#[tokio::test]
async fn severity_warning_makes_failures_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let table = http_check(
        "down",
        "http://127.0.0.1:1/health",
        &["[STATUS] == 200"],
        "severity = \"warning\"",
    );
    let o = run_check(&config(&dir, "http://127.0.0.1:1", TOKEN, &table), "down").await;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Warning, "http-check-unreachable"),
        "{o:?}"
    );
    assert!(o.summary.contains("cannot connect"), "{}", o.summary);
}

fn carries_token(request: &str) -> bool {
    request.to_ascii_lowercase().contains("private-token:") || request.contains(TOKEN)
}

#[tokio::test]
async fn the_token_goes_to_the_instances_own_origin_only() {
    let instance = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let other = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://{}", instance.addr);
    let tables = [
        http_check("relative", "api/v4/version", &["[STATUS] == 200"], ""),
        http_check("absolute", &format!("{base}/api/v4/version"), &["[STATUS] == 200"], ""),
        http_check("opted-out", "api/v4/version", &["[STATUS] == 200"], "token = false"),
        http_check(
            "elsewhere",
            &format!("http://{}/api/v4/version", other.addr),
            &["[STATUS] == 200"],
            "",
        ),
    ]
    .concat();
    let config = config(&dir, &base, TOKEN, &tables);
    for (name, sent) in [("relative", true), ("absolute", true), ("opted-out", false)] {
        assert_eq!(run_check(&config, name).await.status, Status::Ok, "{name}");
        let request = instance.requests().last().cloned().expect("the instance was asked");
        assert_eq!(carries_token(&request), sent, "{name}: {request}");
        if sent {
            assert!(request.contains(&format!("private-token: {TOKEN}")), "{request}");
        }
    }
    assert_eq!(run_check(&config, "elsewhere").await.status, Status::Ok);
    let requests = other.requests();
    assert_eq!(requests.len(), 1);
    assert!(
        !carries_token(&requests[0]),
        "another origin never sees the token: {}",
        requests[0]
    );
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let target = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let instance = HttpServer::start(Behaviour::Answer(Reply::redirect(&format!(
        "http://{}/api/v4/version",
        target.addr
    ))))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let table = http_check(
        "moved",
        "api/v4/version",
        &["[STATUS] == 301", "[HEADER].location == pat(http://*)"],
        "",
    );
    let o = run_check(
        &config(&dir, &format!("http://{}", instance.addr), TOKEN, &table),
        "moved",
    )
    .await;
    assert_eq!(o.status, Status::Ok, "{o:?}");
    assert!(
        target.requests().is_empty(),
        "the redirect (and the token) went nowhere"
    );
}

#[tokio::test]
async fn bodies_over_the_cap_fail_only_the_body_conditions() {
    let big = format!("{{\"a\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let server = HttpServer::start(Behaviour::Answer(Reply::new(200, "OK", "application/json", &big))).await;
    let dir = tempfile::tempdir().unwrap();
    let table = http_check("big", "/", &["[STATUS] == 200", "[BODY].a == x"], "");
    let o = run_check(&config(&dir, &format!("http://{}", server.addr), TOKEN, &table), "big").await;
    assert_eq!(o.reason, "http-check-failed", "{o:?}");
    assert!(o.summary.starts_with("1 of 2 conditions failed"), "{}", o.summary);
    assert!(o.summary.contains("larger than 1 MiB"), "{}", o.summary);
}

#[tokio::test]
async fn a_check_sending_the_token_waits_for_the_token_check() {
    let gitlab = Stub::start(Answer::Revoked).await;
    let dir = tempfile::tempdir().unwrap();
    let tables = [
        http_check("with-token", "api/v4/user", &["[STATUS] == 200"], ""),
        http_check("without-token", "api/v4/version", &["[STATUS] == 200"], "token = false"),
    ]
    .concat();
    let config = config(&dir, &gitlab.url(), TOKEN, &tables);
    let store = Arc::new(StatusStore::new());
    run_once(labwatch::runtime::plans(&config, &Shared::default()), store.clone(), 4).await;
    let state = |check: &str| {
        store
            .get(&CheckKey {
                workspace: "acme".into(),
                check: check.into(),
                target: None,
            })
            .unwrap()
    };
    assert_eq!(state("token").outcome.reason, "token-revoked");
    let blocked = state("with-token");
    assert_eq!(
        (blocked.outcome.reason.as_str(), blocked.blocked_by.as_deref()),
        ("blocked", Some("token")),
        "a revoked token is not sent again"
    );
    assert_eq!(state("without-token").outcome.status, Status::Ok);
}

#[test]
fn bad_conditions_and_requests_are_located_at_load_time() {
    let text = "[[workspace]]\nname = \"acme\"\n\n[[http_check]]\nname = \"v\"\nurl = \"api/v4/version\"\nconditions = [\"[STATUS] == 200\", \"[BODY].items[x] == 1\", \"[status] == 2\"]\nmethod = \"FETCH\"\nseverity = \"fatal\"\nheaders = { PRIVATE-TOKEN = \"x\" }\n\n[[http_check]]\nname = \"w\"\nurl = \"https://user:pw@status.example.com/\"\nconditions = []\n";
    let errs: Vec<String> = match Config::parse(Path::new("lw.toml"), text) {
        Ok(_) => panic!("must be rejected"),
        Err(e) => e.0.iter().map(ToString::to_string).collect(),
    };
    for want in [
        "lw.toml:7:47: `[x]` is not a list index; write [0] for the first item",
        "lw.toml:7:59: `[status]` is not something an answer has; placeholders are upper case: did you mean [STATUS]?",
        "lw.toml:8:10: `FETCH` is not an HTTP method",
        "lw.toml:9:12: severity `fatal` is unknown",
        "lw.toml:10:29: remove the PRIVATE-TOKEN header",
        "lw.toml:14:7: `https://user:pw@status.example.com/` contains credentials",
        "lw.toml:15:14: conditions is empty",
    ] {
        assert!(errs.iter().any(|e| e.starts_with(want)), "want {want}\ngot {errs:#?}");
    }
}
