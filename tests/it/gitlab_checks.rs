//! The token, scopes and repository checks against the GitLab simulator:
//! every reason code, what /status and /metrics then show, and what the
//! checks cost GitLab in requests.

use std::collections::BTreeMap;
use std::sync::Arc;

use labwatch::checks::Shared;
use labwatch::config::Config;
use labwatch::engine::{CheckKey, CheckState, Reason, Status, StatusStore, run_once};
use labwatch::metrics::Metrics;
use labwatch::report::{ConnectionView, Connections};
use labwatch::sim::{
    self, AccessLevel, Expiry, FailSpec, NewToken, ProjectSpec, RepositoryAccess, Scenario, SimHandle, TokenSpec,
    UserSpec, Visibility,
};
use tempfile::TempDir;

/// A simulator with user alice and her token, and a config pointing at it.
struct Lab {
    sim: SimHandle,
    token: NewToken,
    dir: TempDir,
}

fn scenario(scopes: &[&str], expiry: Expiry) -> (Scenario, NewToken) {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    s.add_user(UserSpec::new("bob")).unwrap();
    let token = s
        .add_token(TokenSpec::new("alice", "workspace").scopes(scopes).expires(expiry))
        .unwrap();
    s.add_project(ProjectSpec::new("acme/backend").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s.add_project(ProjectSpec::new("acme/backend-api").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    s.add_project(ProjectSpec::new("acme/secret").member("bob", AccessLevel::OWNER))
        .unwrap();
    s.add_project(
        ProjectSpec::new("acme/guestbook")
            .member("alice", AccessLevel::GUEST)
            .member("bob", AccessLevel::OWNER),
    )
    .unwrap();
    s.add_project(
        ProjectSpec::new("acme/old-app")
            .member("alice", AccessLevel::DEVELOPER)
            .archived(),
    )
    .unwrap();
    s.add_project(
        ProjectSpec::new("acme/wiki-only")
            .member("alice", AccessLevel::DEVELOPER)
            .repository(RepositoryAccess::Disabled),
    )
    .unwrap();
    s.add_project(
        ProjectSpec::new("acme/renamed")
            .member("alice", AccessLevel::DEVELOPER)
            .redirect_from("acme/legacy"),
    )
    .unwrap();
    s.add_project(
        ProjectSpec::new("oss/tool")
            .visibility(Visibility::Public)
            .member("bob", AccessLevel::OWNER),
    )
    .unwrap();
    (s, token)
}

impl Lab {
    async fn start(scopes: &[&str], expiry: Expiry) -> Lab {
        let (s, token) = scenario(scopes, expiry);
        Lab::with(s, token).await
    }

    async fn with(s: Scenario, token: NewToken) -> Lab {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let sim = sim::start(s, listener).await.unwrap();
        Lab {
            sim,
            token,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A config for workspace `acme` with `secret` (or no token) and `extra` lines.
    fn config(&self, secret: Option<&str>, extra: &str) -> Config {
        let token_line = match secret {
            Some(secret) => {
                let path = self.dir.path().join("token");
                std::fs::write(&path, secret).unwrap();
                format!("token_file = \"{}\"\n", path.display())
            }
            None => String::new(),
        };
        let text = format!(
            "[defaults]\ninterval = \"1h\"\ntimeout = \"20s\"\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{}\"\n{token_line}{extra}\n",
            self.sim.base_url()
        );
        Config::parse(std::path::Path::new("lab.toml"), &text).unwrap()
    }

    fn connected(&self, extra: &str) -> Config {
        self.config(Some(&self.token.token), extra)
    }
}

/// One round of every check; the store and what the checks shared.
async fn round(config: &Config) -> (Arc<StatusStore>, Shared) {
    let (store, shared, _) = round_with_connections(config).await;
    (store, shared)
}

/// [`round`], and what `/status` then shows of each workspace's connection.
async fn round_with_connections(config: &Config) -> (Arc<StatusStore>, Shared, BTreeMap<String, ConnectionView>) {
    let shared = Shared::default();
    let store = Arc::new(StatusStore::new());
    let built = labwatch::runtime::build_all(config, None, &shared);
    run_once(built.iter().map(|b| b.plan.clone()).collect(), store.clone(), 4).await;
    let connections = built
        .iter()
        .map(|b| (b.plan.workspace.clone(), b.connection()))
        .collect();
    (store, shared, connections)
}

fn state(store: &StatusStore, check: &str, target: Option<&str>) -> CheckState {
    let key = CheckKey {
        workspace: "acme".into(),
        check: check.into(),
        target: target.map(Into::into),
    };
    store
        .get(&key)
        .map(|s| CheckState::clone(&s))
        .unwrap_or_else(|| panic!("no result for {check} {target:?}"))
}

#[track_caller]
fn assert_outcome(s: &CheckState, status: Status, reason: Reason, summary: &str) {
    assert_eq!(
        (s.outcome.status, s.outcome.reason.as_str()),
        (status, reason.code()),
        "{:#?}",
        s.outcome
    );
    assert!(
        s.outcome.summary.contains(summary),
        "summary `{}` lacks `{summary}`",
        s.outcome.summary
    );
    if status != Status::Ok {
        assert!(!s.outcome.remediation.is_empty(), "{reason:?} has no remediation");
        assert!(
            s.outcome.remediation.iter().all(|r| !r.contains('{')),
            "unfilled placeholder: {:?}",
            s.outcome.remediation
        );
    }
}

fn metrics(store: &Arc<StatusStore>, shared: &Shared) -> String {
    Metrics::new(store.clone(), &shared.gitlab_metrics).render(&[])
}

// ---- token ----

#[tokio::test]
async fn a_valid_token_shows_identity_and_expiry_in_status_and_metrics() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let config = lab.connected("[workspace.renewal]\nrenew_before = \"14d\"");
    let (store, shared, connections) = round_with_connections(&config).await;
    let s = state(&store, "token", None);
    assert_outcome(&s, Status::Ok, Reason::Ok, "Token `workspace` of @alice is valid until");
    assert!(
        s.outcome.summary.contains("(in 60 days)") || s.outcome.summary.contains("(in 59 days)"),
        "{}",
        s.outcome.summary
    );

    let conn = connections.connection("acme");
    let expires = lab.sim.sim().today() + time::Duration::days(60);
    let expires_text = labwatch::gitlab::types::format_date(expires);
    assert_eq!((conn.connected, conn.username.as_deref()), (true, Some("alice")));
    let token = conn.token.unwrap();
    assert_eq!(
        (token.id, token.name.as_str(), token.scopes.clone()),
        (lab.token.id, "workspace", vec!["api".to_owned()])
    );
    assert_eq!(token.expires_at.as_deref(), Some(expires_text.as_str()));
    let midnight = expires.midnight().assume_utc();
    let due = midnight - time::Duration::days(14);
    assert_eq!(token.renewal_due, Some(labwatch::report::rfc3339(due)));

    let m = metrics(&store, &shared);
    assert!(
        m.contains(&format!(
            "labwatch_token_expiry_timestamp_seconds{{workspace=\"acme\"}} {}",
            midnight.unix_timestamp()
        )),
        "{m}"
    );
    assert!(
        m.contains(&format!(
            "labwatch_token_renewal_due_timestamp_seconds{{workspace=\"acme\"}} {}",
            due.unix_timestamp()
        )),
        "{m}"
    );
    assert!(
        m.contains("labwatch_gitlab_requests_total{code=\"200\",workspace=\"acme\"}"),
        "{m}"
    );
}

#[tokio::test]
async fn without_a_token_the_workspace_is_not_connected() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let (store, _, connections) = round_with_connections(&lab.config(None, "")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Critical,
        Reason::NotConnected,
        "has no GitLab token",
    );
    assert!(state(&store, "token", None).outcome.remediation[1].contains("`token_file` for workspace `acme`"));
    assert_eq!(state(&store, "scopes", None).blocked_by.as_deref(), Some("token"));
    assert!(!connections.connection("acme").connected);
}

#[tokio::test]
async fn an_unknown_token_is_token_invalid() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let (store, _) = round(&lab.config(Some("glpat-not-a-real-token-000"), "")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Critical,
        Reason::TokenInvalid,
        "401",
    );
}

#[tokio::test]
async fn an_expired_token_is_token_expired() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    lab.sim.sim().expire_token(lab.token.id).unwrap();
    let (store, _) = round(&lab.connected("")).await;
    let s = state(&store, "token", None);
    assert_outcome(&s, Status::Critical, Reason::TokenExpired, "expired");
    assert!(
        s.outcome.remediation[0].contains("Create a new personal access token"),
        "{:?}",
        s.outcome.remediation
    );
}

#[tokio::test]
async fn a_token_expiring_soon_warns_at_the_renewal_threshold_and_is_critical_within_three_days() {
    for (days, status, text) in [
        (10, Status::Warning, "renewal was due on"),
        (2, Status::Critical, "stops working on"),
    ] {
        let lab = Lab::start(&["api"], Expiry::InDays(days)).await;
        let (store, _) = round(&lab.connected("[workspace.renewal]\nrenew_before = \"14d\"")).await;
        assert_outcome(&state(&store, "token", None), status, Reason::TokenExpiring, text);
        assert_eq!(
            state(&store, "scopes", None).outcome.status,
            Status::Ok,
            "an expiring token still works"
        );
    }
}

#[tokio::test]
async fn a_non_personal_token_is_reported_as_such() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let body = r#"{"message":"400 Bad request - This endpoint requires token type to be a personal access token"}"#;
    lab.sim
        .sim()
        .fail_next(fail(400, "/api/v4/personal_access_tokens/self", body));
    let (store, _) = round(&lab.connected("")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Critical,
        Reason::NotPersonalAccessToken,
        "not a personal access token",
    );
}

#[tokio::test]
async fn a_blocked_account_is_account_blocked() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    lab.sim
        .sim()
        .set_user_state("alice", labwatch::sim::UserState::Blocked)
        .unwrap();
    let (store, _) = round(&lab.connected("")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Critical,
        Reason::AccountBlocked,
        "403",
    );
}

#[tokio::test]
async fn a_bare_403_is_access_forbidden() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    lab.sim.sim().fail_next(FailSpec {
        content_type: Some("text/plain".into()),
        ..fail(403, "/api/v4/personal_access_tokens/self", "Forbidden")
    });
    let (store, _) = round(&lab.connected("")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Critical,
        Reason::AccessForbidden,
        "403",
    );
}

#[tokio::test]
async fn gitlab_rate_limiting_is_a_warning_and_retry_after_is_honoured() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let mut spec = fail(429, "/api/v4/personal_access_tokens/self", "Retry later");
    spec.content_type = Some("text/plain".into());
    spec.headers.insert("Retry-After".into(), "120".into());
    lab.sim.sim().fail_next(spec);
    let (store, _) = round(&lab.connected("")).await;
    let s = state(&store, "token", None);
    assert_outcome(&s, Status::Warning, Reason::RateLimited, "retry in 2m");
}

#[tokio::test]
async fn server_errors_and_garbage_answers_are_reported_not_misread() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    lab.sim.sim().fail_next(fail(
        503,
        "/api/v4/personal_access_tokens/self",
        r#"{"message":"503 Service Unavailable"}"#,
    ));
    let (store, _) = round(&lab.connected("")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Unknown,
        Reason::RequestFailed,
        "503",
    );

    lab.sim
        .sim()
        .fail_next(fail(200, "/api/v4/personal_access_tokens/self", "<html>login</html>"));
    let (store, _) = round(&lab.connected("")).await;
    assert_outcome(
        &state(&store, "token", None),
        Status::Unknown,
        Reason::GitlabAnswerInvalid,
        "could not be read",
    );
}

#[tokio::test]
async fn a_revoked_token_costs_exactly_one_401_then_calls_pause() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let runtime = Arc::new(labwatch::runtime::Runtime::start(
        lab.connected("repositories = [\"acme/backend\"]"),
        None,
    ));
    let store = runtime.status();
    let mut passes = store.subscribe();
    passes.changed().await.unwrap();
    assert_eq!(state(&store, "token", None).outcome.status, Status::Ok);

    lab.sim.sim().revoke_token(lab.token.id).unwrap();
    lab.sim.sim().reset_counters();
    for _ in 0..3 {
        passes.borrow_and_update();
        runtime.run_now(None);
        passes.changed().await.unwrap();
    }
    // The instance probe's anonymous /version is answered 401 every round
    // (GitLab wants a token there); what must not repeat is a 401 for the token.
    let counters = lab.sim.sim().counters();
    let with_token: Vec<_> = counters.recent.iter().filter(|r| r.token_id.is_some()).collect();
    assert_eq!(
        with_token.len(),
        1,
        "only one request carried the revoked token: {with_token:#?}"
    );
    assert_eq!(with_token[0].status, 401);
    assert_eq!(counters.route("GET /api/v4/version"), 3, "{counters:#?}");
    assert_eq!(counters.total, 4, "{counters:#?}");
    let s = state(&store, "token", None);
    assert_outcome(&s, Status::Critical, Reason::AuthPaused, "rejected the token earlier");
    assert!(
        s.outcome.summary.contains("revoked"),
        "the root cause is named: {}",
        s.outcome.summary
    );
    // ... and kept in the details and the steps: a revoked token's own
    // step (GitLab's audit events) is not lost to the pause.
    assert!(
        s.outcome.details.iter().any(|d| d.contains("`token-revoked`")),
        "{:#?}",
        s.outcome.details
    );
    assert!(
        s.outcome.remediation.iter().any(|r| r.contains("audit events")),
        "{:#?}",
        s.outcome.remediation
    );
    assert!(
        s.outcome.remediation.iter().any(|r| r.contains("resume on their own")),
        "{:#?}",
        s.outcome.remediation
    );
    assert_eq!(
        state(&store, "repository", Some("acme/backend")).blocked_by.as_deref(),
        Some("token")
    );

    // /status shows auth-paused, with the root cause in the summary.
    let view = serde_json::to_string(&labwatch::report::StatusDoc::new(
        &store.snapshot(),
        runtime.as_ref(),
        time::OffsetDateTime::now_utc(),
    ))
    .unwrap();
    assert!(view.contains("\"reason\":\"auth-paused\""), "{view}");
}

#[tokio::test]
async fn a_token_rotated_in_gitlab_is_noticed_by_the_next_round() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let runtime = Arc::new(labwatch::runtime::Runtime::start(lab.connected(""), None));
    let store = runtime.status();
    let mut passes = store.subscribe();
    passes.changed().await.unwrap();
    assert_eq!(state(&store, "token", None).outcome.status, Status::Ok);

    lab.sim.sim().rotate_token(lab.token.id, None).unwrap();
    passes.borrow_and_update();
    runtime.run_now(None);
    passes.changed().await.unwrap();
    assert_outcome(
        &state(&store, "token", None),
        Status::Critical,
        Reason::TokenRevoked,
        "revoked",
    );
}

// ---- scopes ----

#[tokio::test]
async fn a_missing_scope_is_named_in_summary_remediation_and_metrics() {
    let lab = Lab::start(&["read_api"], Expiry::InDays(60)).await;
    let (store, shared) = round(&lab.connected("repositories = [\"acme/backend\"]")).await;
    let s = state(&store, "scopes", None);
    assert_outcome(
        &s,
        Status::Critical,
        Reason::ScopesMissing,
        "lacks scope `read_repository` (it has: read_api)",
    );
    assert!(
        s.outcome.remediation[0].contains("read_api, read_repository"),
        "{:?}",
        s.outcome.remediation
    );
    assert!(
        s.outcome.remediation.iter().any(|r| r.contains("cannot add")),
        "{:?}",
        s.outcome.remediation
    );
    // One step creates the token, the next hands it over (here through
    // token_file, the admin API being off): no step said twice.
    let creates = s
        .outcome
        .remediation
        .iter()
        .filter(|r| r.to_lowercase().contains("create a new"))
        .count();
    assert_eq!(creates, 1, "{:#?}", s.outcome.remediation);
    assert_eq!(s.outcome.remediation.len(), 2, "{:#?}", s.outcome.remediation);
    assert!(
        s.outcome.remediation[1].contains("token_file") && s.outcome.remediation[1].contains("SIGHUP"),
        "{:#?}",
        s.outcome.remediation
    );
    let m = metrics(&store, &shared);
    assert!(
        m.contains("labwatch_token_scope_missing{scope=\"read_repository\",workspace=\"acme\"} 1"),
        "{m}"
    );
    assert!(
        m.contains("labwatch_token_scope_missing{scope=\"read_api\",workspace=\"acme\"} 0"),
        "{m}"
    );
    assert_eq!(
        state(&store, "repository", Some("acme/backend")).blocked_by.as_deref(),
        Some("scopes")
    );
}

#[tokio::test]
async fn api_scope_covers_the_default_requirements() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let (store, _) = round(&lab.connected("")).await;
    assert_outcome(
        &state(&store, "scopes", None),
        Status::Ok,
        Reason::Ok,
        "every required scope",
    );
}

// ---- repository ----

async fn repo_round(lab: &Lab, repos: &[&str], extra: &str) -> Arc<StatusStore> {
    let list = repos.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ");
    round(&lab.connected(&format!("repositories = [{list}]\n{extra}")))
        .await
        .0
}

#[tokio::test]
async fn a_member_repository_reports_visibility_and_role() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["acme/backend"], "").await;
    assert_outcome(
        &state(&store, "repository", Some("acme/backend")),
        Status::Ok,
        Reason::Ok,
        "`acme/backend` is reachable: private, you are developer.",
    );
}

#[tokio::test]
async fn a_public_project_is_reachable_without_membership() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["oss/tool"], "").await;
    assert_outcome(
        &state(&store, "repository", Some("oss/tool")),
        Status::Ok,
        Reason::Ok,
        "public, not a member",
    );
}

#[tokio::test]
async fn a_missing_or_invisible_repository_explains_the_404_and_suggests_close_paths() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["acme/backnd", "acme/secret"], "").await;
    let typo = state(&store, "repository", Some("acme/backnd"));
    assert_outcome(
        &typo,
        Status::Critical,
        Reason::RepoNotFoundOrNoAccess,
        "does not exist, or @alice cannot see it",
    );
    assert!(
        typo.outcome.summary.contains("Did you mean `acme/backend`"),
        "{}",
        typo.outcome.summary
    );
    let secret = state(&store, "repository", Some("acme/secret"));
    assert_outcome(
        &secret,
        Status::Critical,
        Reason::RepoNotFoundOrNoAccess,
        "GitLab answers 404 for `acme/secret`",
    );
    assert!(
        secret
            .outcome
            .remediation
            .iter()
            .any(|r| r.contains("member of the project")),
        "{:?}",
        secret.outcome.remediation
    );

    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["acme/backen"], "").await;
    let close = state(&store, "repository", Some("acme/backen"));
    assert!(
        close.outcome.summary.contains("Did you mean `acme/backend`"),
        "{}",
        close.outcome.summary
    );
    assert!(
        close.outcome.remediation[0].contains("acme/backend"),
        "{:?}",
        close.outcome.remediation
    );
}

#[tokio::test]
async fn a_repository_url_on_another_host_is_on_another_instance() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let own = format!("{}/acme/backend", lab.sim.base_url());
    let store = repo_round(&lab, &["https://gitlab.other.example/acme/backend", &own], "").await;
    // The instance's own URL form is the plain path; the other host is a check of its own.
    assert_eq!(
        state(&store, "repository", Some("acme/backend")).outcome.status,
        Status::Ok
    );
    let s = state(&store, "repository", Some("gitlab.other.example/acme/backend"));
    assert_outcome(
        &s,
        Status::Critical,
        Reason::RepoOnOtherInstance,
        "is on gitlab.other.example, but workspace `acme` is connected to 127.0.0.1:",
    );
}

#[tokio::test]
async fn a_moved_repository_names_its_new_path() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["acme/legacy"], "").await;
    let s = state(&store, "repository", Some("acme/legacy"));
    assert_outcome(
        &s,
        Status::Warning,
        Reason::RepoMoved,
        "`acme/legacy` moved to `acme/renamed`",
    );
    assert!(
        s.outcome.remediation[0].contains("Watch `acme/renamed`"),
        "{:?}",
        s.outcome.remediation
    );
}

/// `run_once` over the same plans a second time is a new round: it lists
/// the projects again instead of judging from the first round's listing.
#[tokio::test]
async fn running_the_same_plans_again_sees_what_changed_in_gitlab() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let config = lab.connected("repositories = [\"acme/backend\"]\n");
    let plans = labwatch::runtime::plans(&config, &Shared::default());
    let store = Arc::new(StatusStore::new());
    run_once(plans.clone(), store.clone(), 4).await;
    assert_eq!(
        state(&store, "repository", Some("acme/backend")).outcome.status,
        Status::Ok
    );

    lab.sim.sim().set_archived("acme/backend", true).unwrap();
    run_once(plans, store.clone(), 4).await;
    assert_outcome(
        &state(&store, "repository", Some("acme/backend")),
        Status::Warning,
        Reason::RepoArchived,
        "archived",
    );
}

#[tokio::test]
async fn archived_disabled_and_insufficient_access_are_told_apart() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["acme/old-app", "acme/wiki-only", "acme/guestbook"], "").await;
    assert_outcome(
        &state(&store, "repository", Some("acme/old-app")),
        Status::Warning,
        Reason::RepoArchived,
        "archived",
    );
    assert_outcome(
        &state(&store, "repository", Some("acme/wiki-only")),
        Status::Critical,
        Reason::RepoDisabled,
        "repository disabled",
    );
    assert_outcome(
        &state(&store, "repository", Some("acme/guestbook")),
        Status::Critical,
        Reason::RepoAccessInsufficient,
        "you are guest but reporter is required",
    );
}

#[tokio::test]
async fn a_clone_refused_by_git_is_repo_clone_denied() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let store = repo_round(&lab, &["acme/guestbook"], "min_access_level = \"guest\"").await;
    let s = state(&store, "repository", Some("acme/guestbook"));
    assert_outcome(
        &s,
        Status::Critical,
        Reason::RepoCloneDenied,
        "You are not allowed to download code from this project.",
    );
}

#[tokio::test]
async fn the_clone_probe_runs_once_per_token() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let runtime = Arc::new(labwatch::runtime::Runtime::start(
        lab.connected("repositories = [\"acme/backend\"]"),
        None,
    ));
    let store = runtime.status();
    let mut passes = store.subscribe();
    passes.changed().await.unwrap();
    for _ in 0..2 {
        passes.borrow_and_update();
        runtime.run_now(None);
        passes.changed().await.unwrap();
    }
    assert_eq!(
        lab.sim.sim().counters().route("GET /{path}.git/info/refs"),
        1,
        "{:#?}",
        lab.sim.sim().counters()
    );
}

#[tokio::test]
async fn two_thousand_member_repositories_cost_at_most_25_requests_per_round() {
    let (mut s, token) = scenario(&["api"], Expiry::InDays(60));
    let mut repos = Vec::new();
    for i in 0..2000 {
        let path = format!("fleet/service-{i:04}");
        s.add_project(ProjectSpec::new(&path).member("alice", AccessLevel::DEVELOPER))
            .unwrap();
        repos.push(path);
    }
    let lab = Lab::with(s, token).await;
    let list = repos.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ");
    let config = lab.connected(&format!("repositories = [{list}]\nclone_probe = false"));
    lab.sim.sim().reset_counters();
    let (store, _) = round(&config).await;
    let counters = lab.sim.sim().counters();
    assert!(
        counters.total <= 25,
        "a round made {} requests: {:#?}",
        counters.total,
        counters.by_route
    );
    let view = store.workspace("acme").unwrap();
    let ok = view
        .checks
        .iter()
        .filter(|c| &*c.check == "repository" && c.state.as_ref().is_some_and(|s| s.outcome.status == Status::Ok))
        .count();
    assert_eq!(ok, 2000);
}

fn fail(status: u16, prefix: &str, body: &str) -> FailSpec {
    FailSpec {
        count: 1,
        status,
        path_prefix: Some(prefix.into()),
        body: Some(body.into()),
        content_type: None,
        headers: Default::default(),
    }
}

#[tokio::test]
async fn after_a_429_no_request_goes_out_before_retry_after() {
    let lab = Lab::start(&["api"], Expiry::InDays(60)).await;
    let runtime = Arc::new(labwatch::runtime::Runtime::start(lab.connected(""), None));
    let store = runtime.status();
    let mut passes = store.subscribe();
    passes.changed().await.unwrap();

    let mut spec = fail(429, "/api/v4/personal_access_tokens/self", "Retry later");
    spec.headers.insert("Retry-After".into(), "600".into());
    lab.sim.sim().fail_next(spec);
    for _ in 0..3 {
        passes.borrow_and_update();
        runtime.run_now(None);
        passes.changed().await.unwrap();
    }
    let counters = lab.sim.sim().counters();
    assert_eq!(counters.status(429), 1, "{counters:#?}");
    let token_calls = counters.route("GET /api/v4/personal_access_tokens/self");
    assert_eq!(
        token_calls, 2,
        "one before and one answered 429, then none for 10 minutes: {counters:#?}"
    );
    assert_outcome(
        &state(&store, "token", None),
        Status::Warning,
        Reason::RateLimited,
        "retry in",
    );
}
