//! Hardening of the GitLab side (issue "Hardening", items 2, 3 and 9): what
//! GitLab (or whatever answers in its place) sends is held to bounds before
//! labwatch shows, stores or obeys it.
//!
//! - `Retry-After` is capped at an hour, read as seconds or an HTTP-date,
//!   and never overflows a clock; while GitLab's pause lasts, every round
//!   still gives a fresh verdict, never the last `ok` again.
//! - An answer with 100,000 scopes or a megabyte of username is refused as
//!   `gitlab-answer-invalid`, naming the field and the bound, and nothing is
//!   stored.
//! - A token that cannot be sent in a header is `token-malformed`, found
//!   locally; a 302 is called a redirect, not a permanent move.
//!
//! Everything runs against the simulator on loopback, through the real
//! runtime (scheduler, clients, budget) and the real admin API; rounds are
//! triggered and awaited on the status store, never slept for.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use labwatch::config::Config;
use labwatch::engine::{CheckKey, CheckState, Status};
use labwatch::runtime::Runtime;
use labwatch::sim::{
    self, AccessLevel, Expiry, FailSpec, NewToken, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec,
};
use labwatch::store::ConnectionStore;
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::sync::watch;

use crate::support::in_process::{self, http_client};

const ADMIN: &str = "admin-secret-for-hardening";

/// The simulator with alice and her token; workspace `acme` runs on that
/// token from its token file, workspace `fresh` has none (for connect).
struct Lab {
    sim: SimHandle,
    token: NewToken,
    dir: TempDir,
    store: Arc<ConnectionStore>,
    runtime: Arc<Runtime>,
    passes: watch::Receiver<u64>,
    addr: SocketAddr,
    http: reqwest::Client,
    /// Serves for as long as the test runs.
    _served: in_process::InProcess,
}

async fn lab() -> Lab {
    lab_with_token(None).await
}

/// With `token_file` holding `written` instead of alice's token.
async fn lab_with_token(written: Option<&str>) -> Lab {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let token = s
        .add_token(
            TokenSpec::new("alice", "ws")
                .scopes(&["api"])
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    s.add_project(ProjectSpec::new("acme/app").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), written.unwrap_or(&token.token)).unwrap();
    let config = config(dir.path(), sim.base_url());
    let served = in_process::serve(config, Some(ADMIN)).await;
    let mut passes = served.passes.clone();
    let mut lab = Lab {
        sim,
        token,
        dir,
        store: served.store.clone(),
        runtime: served.runtime.clone(),
        passes: {
            passes.borrow_and_update();
            passes
        },
        addr: served.addr,
        http: http_client(),
        _served: served,
    };
    lab.until_passes(0).await;
    lab
}

fn config(dir: &Path, url: &str) -> Config {
    let text = format!(
        "[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\ntoken_file = \"{d}/token\"\n\
         repositories = [\"acme/app\"]\nclone_probe = false\n\
         [[workspace]]\nname = \"fresh\"\ninstance_url = \"{url}\"\n",
        d = dir.display(),
    );
    Config::parse(&dir.join("lw.toml"), &text).unwrap()
}

impl Lab {
    fn state(&self, check: &str, target: Option<&str>) -> Option<CheckState> {
        self.runtime
            .status()
            .get(&CheckKey {
                workspace: "acme".into(),
                check: check.into(),
                target: target.map(Into::into),
            })
            .map(|s| CheckState::clone(&s))
            .filter(|s| s.outcome.reason != "pending")
    }

    fn outcome(&self, check: &str) -> labwatch::engine::Outcome {
        self.state(check, None)
            .unwrap_or_else(|| panic!("no result for {check}"))
            .outcome
    }

    /// Passes `acme` has finished.
    fn passes(&self) -> u64 {
        self.runtime.status().workspace("acme").map_or(0, |w| w.passes)
    }

    /// Waits until `acme` finished more than `done` passes.
    async fn until_passes(&mut self, done: u64) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        while self.passes() <= done {
            tokio::time::timeout_at(deadline, self.passes.changed())
                .await
                .expect("the round finished")
                .unwrap();
        }
    }

    /// Runs every check of `acme` now and waits until that round finished.
    async fn round(&mut self) {
        let done = self.passes();
        self.passes.borrow_and_update();
        assert!(self.runtime.run_now(Some("acme")));
        self.until_passes(done).await;
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        in_process::call(&self.http, self.addr, ADMIN, method, path, body).await
    }

    async fn connect_fresh(&self) -> (u16, Value) {
        let body = json!({ "instance_url": self.sim.base_url(), "token": self.token.token });
        self.call(reqwest::Method::POST, "/api/v1/workspaces/fresh/connect", Some(body))
            .await
    }

    fn audit_log(&self) -> String {
        std::fs::read_to_string(self.store.dir().unwrap().join("audit.log")).unwrap_or_default()
    }

    /// Requests the simulator saw that carried a token it knows.
    fn token_requests(&self) -> Vec<String> {
        self.sim
            .sim()
            .counters()
            .recent
            .iter()
            .filter(|r| r.token_id.is_some())
            .map(|r| r.route.clone())
            .collect()
    }
}

fn fail(status: u16, prefix: &str, body: Option<String>, headers: &[(&str, &str)]) -> FailSpec {
    let mut spec = FailSpec::new(1, status).path_prefix(prefix);
    spec.body = body;
    spec.headers = headers
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    spec
}

const TOKEN_SELF: &str = "/api/v4/personal_access_tokens/self";

// ---- item 2: Retry-After ----

/// A ten-year `Retry-After` is held for an hour at most, and every round
/// while it lasts gives a fresh verdict: the token check says how long and
/// until when, the scopes check no longer repeats its `ok`, and nothing
/// carrying the token goes out.
#[tokio::test]
async fn a_ten_year_retry_after_pauses_an_hour_at_most_and_each_round_is_fresh() {
    let mut lab = lab().await;
    assert_eq!(lab.outcome("token").status, Status::Ok);
    assert_eq!(lab.outcome("scopes").status, Status::Ok);

    lab.sim
        .sim()
        .fail_next(fail(429, TOKEN_SELF, None, &[("Retry-After", "315360000")]));
    lab.round().await;
    let token = lab.outcome("token");
    assert_eq!((token.status, token.reason.as_str()), (Status::Warning, "rate-limited"));
    assert!(
        token.summary.contains("retry in 1h"),
        "capped at an hour: {}",
        token.summary
    );
    assert!(
        token.summary.contains("GitLab asked to wait until "),
        "{}",
        token.summary
    );

    // Rounds inside the pause: new verdicts, none of them a stale ok.
    for _ in 0..2 {
        let before = lab.state("token", None).unwrap().last_run;
        lab.sim.sim().reset_counters();
        lab.round().await;
        let token = lab.state("token", None).unwrap();
        assert!(token.last_run > before, "a fresh verdict each round");
        assert_eq!(token.outcome.reason, "rate-limited", "{:#?}", token.outcome);
        let scopes = lab.outcome("scopes");
        assert_eq!(
            (scopes.status, scopes.reason.as_str()),
            (Status::Warning, "rate-limited"),
            "the scopes of an answer GitLab did not give this round are not judged: {scopes:#?}"
        );
        assert_eq!(lab.token_requests(), Vec::<String>::new(), "nothing carried the token");
    }
}

/// `Retry-After: 9223372036854775807` used to overflow the budget's clock:
/// the token check was `check-crashed` every round. Now it is capped, and the
/// admin API's connect answers it (502 `rate-limited`) and audits it
/// instead of dropping the connection.
#[tokio::test]
async fn an_i64_max_retry_after_is_capped_not_a_crash_in_the_checks_or_in_connect() {
    let mut lab = lab().await;
    lab.sim
        .sim()
        .fail_next(fail(429, TOKEN_SELF, None, &[("Retry-After", "9223372036854775807")]));
    lab.round().await;
    let token = lab.outcome("token");
    assert_eq!(
        (token.status, token.reason.as_str()),
        (Status::Warning, "rate-limited"),
        "{token:#?}"
    );
    assert!(token.summary.contains("retry in 1h"), "{}", token.summary);
    lab.round().await;
    assert_eq!(lab.outcome("token").reason, "rate-limited", "and again, no crash");

    lab.sim
        .sim()
        .fail_next(fail(429, TOKEN_SELF, None, &[("Retry-After", "9223372036854775807")]));
    let (code, body) = lab.connect_fresh().await;
    assert_eq!((code, body["error"].as_str()), (502, Some("rate-limited")), "{body}");
    assert!(lab.store.load("fresh").unwrap().is_none(), "nothing stored");
    let audit = lab.audit_log();
    assert!(
        audit
            .lines()
            .any(|l| l.contains(r#""workspace":"fresh""#) && l.contains(r#""result":"rate-limited""#)),
        "{audit}"
    );
}

/// `Retry-After` as an HTTP-date (what a proxy in front of GitLab may send)
/// is honoured: ten minutes ahead holds the token back; a date that has
/// passed holds nothing back, and the revoked token shows at once.
#[tokio::test]
async fn an_http_date_retry_after_is_honoured_and_a_past_one_holds_nothing_back() {
    let mut lab = lab().await;
    let in_ten_minutes = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(600));
    lab.sim
        .sim()
        .fail_next(fail(429, TOKEN_SELF, None, &[("Retry-After", &in_ten_minutes)]));
    lab.round().await;
    let token = lab.outcome("token");
    assert_eq!(token.reason, "rate-limited", "{token:#?}");
    assert!(
        token.summary.contains("retry in 9m") || token.summary.contains("retry in 10m"),
        "{}",
        token.summary
    );
    lab.sim.sim().reset_counters();
    lab.round().await;
    assert_eq!(lab.outcome("token").reason, "rate-limited");
    assert_eq!(lab.token_requests(), Vec::<String>::new());
}

#[tokio::test]
async fn after_a_past_http_date_the_revoked_token_is_seen_at_once() {
    let mut lab = lab().await;
    lab.sim.sim().fail_next(fail(
        429,
        TOKEN_SELF,
        None,
        &[("Retry-After", "Tue, 05 Jan 2021 11:00:00 GMT")],
    ));
    lab.round().await;
    assert_eq!(lab.outcome("token").reason, "rate-limited");
    lab.sim.sim().revoke_token(lab.token.id).unwrap();
    lab.round().await;
    let token = lab.outcome("token");
    assert_eq!(
        (token.status, token.reason.as_str()),
        (Status::Critical, "token-revoked"),
        "{token:#?}"
    );
}

// ---- item 3: bounds on GitLab's answers ----

fn token_self_body(scopes: usize, name: &str) -> String {
    let scopes: Vec<String> = (0..scopes).map(|i| format!("scope_{i}")).collect();
    json!({
        "id": 1, "name": name, "revoked": false, "active": true, "scopes": scopes,
        "user_id": 1, "expires_at": null, "created_at": "2026-01-01T00:00:00Z"
    })
    .to_string()
}

/// 100,000 scopes used to make connect answer 200 and write a 1.47 MB
/// `.conn` the store then refused to read. Now connect refuses, naming the
/// field and the bound, writes nothing, and the token check says the same.
#[tokio::test]
async fn an_answer_with_100000_scopes_is_refused_and_nothing_is_stored() {
    let mut lab = lab().await;
    lab.sim
        .sim()
        .fail_next(fail(200, TOKEN_SELF, Some(token_self_body(100_000, "ws")), &[]));
    let (code, body) = lab.connect_fresh().await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("gitlab-answer-invalid")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("`scopes` lists 100000 scopes; labwatch accepts at most 64"),
        "{message}"
    );
    assert!(lab.store.load("fresh").unwrap().is_none());
    assert!(!lab.store.dir().unwrap().join("fresh.conn").exists(), "no file written");

    lab.sim
        .sim()
        .fail_next(fail(200, TOKEN_SELF, Some(token_self_body(100_000, "ws")), &[]));
    lab.round().await;
    let token = lab.outcome("token");
    assert_eq!(
        (token.status, token.reason.as_str()),
        (Status::Unknown, "gitlab-answer-invalid"),
        "{token:#?}"
    );
    assert!(token.summary.contains("`scopes`"), "{}", token.summary);
    assert_eq!(lab.outcome("scopes").reason, "blocked", "no verdict on refused scopes");
}

/// A megabyte of username (from `/user`) is refused the same way.
#[tokio::test]
async fn a_one_megabyte_username_is_refused_and_nothing_is_stored() {
    let lab = lab().await;
    let user = json!({"id": 1, "username": "a".repeat(1 << 20), "name": "Alice", "state": "active"}).to_string();
    lab.sim.sim().fail_next(fail(200, "/api/v4/user", Some(user), &[]));
    let (code, body) = lab.connect_fresh().await;
    assert_eq!(
        (code, body["error"].as_str()),
        (422, Some("gitlab-answer-invalid")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("`username` is 1048576 bytes long; labwatch accepts at most 1024"),
        "{message}"
    );
    assert!(message.len() < 1000, "the value is not echoed: {} bytes", message.len());
    assert!(lab.store.load("fresh").unwrap().is_none());
}

/// A listing page with an oversize project path makes the repository check
/// say so, instead of showing or keeping the path.
#[tokio::test]
async fn an_oversize_project_path_in_the_listing_is_refused() {
    let mut lab = lab().await;
    let page = json!([{"id": 9, "path_with_namespace": format!("acme/{}", "p".repeat(10_000))}]).to_string();
    lab.sim.sim().fail_next(fail(200, "/api/v4/projects", Some(page), &[]));
    lab.round().await;
    let repo = lab.state("repository", Some("acme/app")).unwrap().outcome;
    assert_eq!(repo.reason, "gitlab-answer-invalid", "{repo:#?}");
    assert!(repo.summary.contains("`path_with_namespace`"), "{}", repo.summary);
    assert!(repo.summary.len() < 1000, "{}", repo.summary.len());
}

// ---- item 9: wrong messages ----

/// A token with a newline inside cannot be sent: `token-malformed`, said
/// locally, without a request carrying it and without echoing it.
#[tokio::test]
async fn a_token_with_a_newline_is_malformed_and_never_sent() {
    let mut lab = lab_with_token(Some("glpat-first-half\nsecond-half")).await;
    let token = lab.outcome("token");
    assert_eq!(
        (token.status, token.reason.as_str()),
        (Status::Critical, "token-malformed"),
        "{token:#?}"
    );
    assert!(
        token
            .summary
            .contains("contains a character that cannot be sent (a newline?)")
            && token.summary.contains("check the token file"),
        "{}",
        token.summary
    );
    assert!(
        token.remediation[0].contains("token file of workspace `acme`"),
        "{:?}",
        token.remediation
    );
    let shown = format!("{token:?}");
    assert!(
        !shown.contains("first-half") && !shown.contains("second-half"),
        "{shown}"
    );

    lab.round().await;
    let c = lab.sim.sim().counters();
    assert_eq!(c.route("GET /api/v4/personal_access_tokens/self"), 0, "{c:#?}");
    assert_eq!(c.route("GET /api/v4/user"), 0, "{c:#?}");
    assert_eq!(
        c.total,
        c.route("GET /api/v4/version"),
        "only the instance check's anonymous probe went out: {c:#?}"
    );
}

/// A 302 (a login page in front of the API, say) is "redirected (302
/// Found)", not "moved permanently"; a 308 is a permanent move.
#[tokio::test]
async fn a_302_is_called_a_redirect_and_a_308_a_permanent_move() {
    let mut lab = lab().await;
    let sso = "https://sso.example/login";
    lab.sim
        .sim()
        .fail_next(fail(302, TOKEN_SELF, Some(String::new()), &[("Location", sso)]));
    lab.round().await;
    let token = lab.outcome("token");
    assert_eq!(token.reason, "gitlab-answer-invalid", "{token:#?}");
    assert!(
        token
            .summary
            .contains("redirected (302 Found) to https://sso.example/login"),
        "{}",
        token.summary
    );
    assert!(!token.summary.contains("permanently"), "{}", token.summary);

    lab.sim
        .sim()
        .fail_next(fail(308, TOKEN_SELF, Some(String::new()), &[("Location", sso)]));
    lab.round().await;
    let token = lab.outcome("token");
    assert!(
        token.summary.contains("moved permanently (308 Permanent Redirect)"),
        "{}",
        token.summary
    );
}

/// The instance check names a 302 on `/api/v4/version` as such.
#[tokio::test]
async fn the_instance_check_names_a_302_as_found() {
    let mut lab = lab().await;
    lab.sim.sim().fail_next(fail(
        302,
        "/api/v4/version",
        Some(String::new()),
        &[("Location", "https://sso.example/login")],
    ));
    lab.round().await;
    let instance = lab.outcome("instance");
    assert!(instance.summary.contains("(302 Found)"), "{}", instance.summary);
    assert!(
        !instance.summary.to_lowercase().contains("permanent"),
        "{}",
        instance.summary
    );
    let _ = &lab.dir;
}
