//! Capability verdicts as a user meets them (issue 20, docs/capabilities.md):
//! the `capabilities` key of a workspace, the repository check made
//! critical by a needed capability GitLab would refuse (one reason code per
//! cause, with the verdict's fix), the verdicts of the others shown but not
//! judged, `/status`'s `capabilities` object, the
//! `labwatch_repository_capability` series, and what the verdicts cost
//! GitLab: nothing beyond the round's usual requests.

use std::sync::Arc;

use labwatch::checks::Shared;
use labwatch::config::Config;
use labwatch::engine::{CheckKey, CheckState, Reason, Status, StatusStore, run_once};
use labwatch::metrics::Metrics;
use labwatch::sim::{
    self, AccessLevel, Counters, Expiry, FeatureAccess, NewToken, ProjectSpec, Protection, Scenario, SimHandle,
    TokenSpec, UserSpec,
};
use tempfile::TempDir;

use crate::support::in_process;

/// alice, with an `api` token and a token that can only read; she is a
/// Developer of `acme/backend` (its default branch open to Developers'
/// pushes), `acme/guarded` (GitLab's default: Maintainers only),
/// `acme/open` (default branch unprotected), `acme/no-mr` (merge requests
/// disabled) and the archived `acme/old-app`, and a Reporter of
/// `acme/docs`.
struct Lab {
    sim: SimHandle,
    api: NewToken,
    read_only: NewToken,
    dir: TempDir,
}

impl Lab {
    async fn start() -> Lab {
        let mut s = Scenario::empty();
        s.add_user(UserSpec::new("alice")).unwrap();
        let token =
            |name: &str, scopes: &[&str]| TokenSpec::new("alice", name).scopes(scopes).expires(Expiry::InDays(60));
        let api = s.add_token(token("api", &["api"])).unwrap();
        let read_only = s.add_token(token("read", &["read_api", "read_repository"])).unwrap();
        let dev = |path: &str| ProjectSpec::new(path).member("alice", AccessLevel::DEVELOPER);
        let developers_push = Protection {
            push: AccessLevel::DEVELOPER,
            merge: AccessLevel::MAINTAINER,
        };
        for project in [
            dev("acme/backend").default_branch_protection(Some(developers_push)),
            dev("acme/guarded"),
            dev("acme/open").default_branch_protection(None),
            dev("acme/no-mr")
                .merge_requests(FeatureAccess::Disabled)
                .default_branch_protection(Some(developers_push)),
            dev("acme/old-app").archived(),
            ProjectSpec::new("acme/docs").member("alice", AccessLevel::REPORTER),
        ] {
            s.add_project(project).unwrap();
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Lab {
            sim: sim::start(s, listener).await.unwrap(),
            api,
            read_only,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// Workspace `acme` with `token`, watching `repos`, with `extra` lines
    /// (no clone probe: it is counted apart, and judges clone by itself).
    fn config(&self, token: &NewToken, repos: &[&str], extra: &str) -> Config {
        Config::parse(std::path::Path::new("lab.toml"), &self.config_text(token, repos, extra)).unwrap()
    }

    /// The text of [`Lab::config`].
    fn config_text(&self, token: &NewToken, repos: &[&str], extra: &str) -> String {
        let path = self.dir.path().join("token");
        std::fs::write(&path, &token.token).unwrap();
        let repos = repos.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ");
        format!(
            "[defaults]\ninterval = \"1h\"\ntimeout = \"20s\"\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{}\"\n\
             token_file = \"{}\"\nrepositories = [{repos}]\nclone_probe = false\n{extra}\n",
            self.sim.base_url(),
            path.display()
        )
    }
}

/// One round of every check, counters reset first.
async fn round(lab: &Lab, config: &Config) -> Arc<StatusStore> {
    let reset = in_process::http_client()
        .delete(format!("{}/-/sim/counters", lab.sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(reset.status().is_success(), "{reset:?}");
    let store = Arc::new(StatusStore::new());
    run_once(labwatch::runtime::plans(config, &Shared::default()), store.clone(), 4).await;
    store
}

fn repository(store: &StatusStore, repo: &str) -> CheckState {
    let key = CheckKey {
        workspace: "acme".into(),
        check: "repository".into(),
        target: Some(repo.into()),
    };
    store
        .get(&key)
        .map(|s| CheckState::clone(&s))
        .unwrap_or_else(|| panic!("no result for {repo}"))
}

/// `/status`'s document (`labwatch check --output json` writes the same).
fn status_doc(store: &StatusStore) -> serde_json::Value {
    let views = store.snapshot();
    let connections = std::collections::BTreeMap::<String, labwatch::report::ConnectionView>::new();
    let doc = labwatch::report::StatusDoc::new(&views, &connections, time::OffsetDateTime::now_utc());
    serde_json::to_value(&doc).unwrap()
}

/// The repository's entry in `/status`'s document.
fn status_json(store: &StatusStore, repo: &str) -> serde_json::Value {
    let doc = status_doc(store);
    doc["workspaces"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "repository" && c["target"] == repo)
        .cloned()
        .unwrap_or_else(|| panic!("{repo} not in {doc:#}"))
}

fn metrics(store: &Arc<StatusStore>) -> String {
    Metrics::new(store.clone(), &labwatch::gitlab::GitlabMetrics::new()).render(&[])
}

#[track_caller]
fn assert_refused(s: &CheckState, reason: Reason, summary: &str, fix: &str) {
    let o = &s.outcome;
    assert_eq!(
        (o.status, o.reason.as_str()),
        (Status::Critical, reason.code()),
        "{o:#?}"
    );
    assert!(o.summary.contains(summary), "summary `{}` lacks `{summary}`", o.summary);
    assert!(
        o.remediation.first().is_some_and(|r| r.contains(fix)),
        "first step of {:?} lacks `{fix}`",
        o.remediation
    );
    assert!(
        o.remediation
            .last()
            .is_some_and(|r| r.contains("remove it from its `capabilities`")
                || r.contains("remove them from its `capabilities`")),
        "{:?}",
        o.remediation
    );
}

// --- config ---

#[test]
fn the_config_names_the_capabilities_gitlab_capabilities_judges() {
    let judged: Vec<&str> = labwatch::gitlab::capabilities::Capability::ALL
        .iter()
        .map(|c| c.name())
        .collect();
    assert_eq!(labwatch::config::capabilities::KNOWN, judged.as_slice());
}

#[test]
fn an_unknown_capability_is_a_config_error_naming_the_valid_ones() {
    let text = "[[workspace]]\nname = \"acme\"\ncapabilities = [\"clone\", \"psuh\", \"deploy\"]\n";
    let errors = Config::parse(std::path::Path::new("lw.toml"), text)
        .unwrap_err()
        .to_string();
    assert!(
        errors.contains("lw.toml:3:") && errors.contains("`psuh` is not a capability; did you mean `push`?"),
        "{errors}"
    );
    assert!(
        errors.contains(
            "`deploy` is not a capability; the capabilities are: clone, push, issues, merge_requests, pipelines"
        ),
        "{errors}"
    );

    // Left out: clone alone, judged as before; listed twice: once.
    let config = Config::parse(std::path::Path::new("lw.toml"), "[[workspace]]\nname = \"a\"\n").unwrap();
    assert_eq!(config.workspaces[0].capabilities, None);
    assert_eq!(config.workspaces[0].listed_capabilities(None), None);
    let text = "[[workspace]]\nname = \"a\"\ncapabilities = [\"push\", \"clone\", \"push\"]\n";
    let config = Config::parse(std::path::Path::new("lw.toml"), text).unwrap();
    assert_eq!(config.workspaces[0].capabilities, Some(vec!["push", "clone"]));
}

#[test]
fn a_run_time_workspace_takes_capabilities_and_shows_them_back() {
    let config = Config::parse(
        std::path::Path::new("lw.toml"),
        "[server]\nadmin_token_file = \"/dev/null\"\n",
    )
    .unwrap();
    let body = serde_json::json!({"repositories": ["g/p"], "capabilities": ["push", "merge_request"]});
    let errors = labwatch::config::workspace_body::validate(&config, "acme", &body).unwrap_err();
    assert_eq!(errors[0].field, "capabilities[1]", "{errors:?}");
    assert!(
        errors[0].message.contains("did you mean `merge_requests`?"),
        "{errors:?}"
    );

    let body = serde_json::json!({"repositories": ["g/p"], "capabilities": ["push", "merge_requests"]});
    let ws = labwatch::config::workspace_body::validate(&config, "acme", &body).unwrap();
    let shown = labwatch::config::workspace_body::to_body(&ws);
    assert_eq!(shown["capabilities"], serde_json::json!(["push", "merge_requests"]));
    let default = labwatch::config::workspace_body::validate(&config, "acme", &serde_json::json!({})).unwrap();
    assert!(!labwatch::config::workspace_body::to_body(&default).contains_key("capabilities"));
}

#[test]
fn a_repository_entry_may_list_its_own_capabilities_as_a_table() {
    let text = "[[workspace]]\nname = \"acme\"\ncapabilities = [\"clone\"]\nrepositories = [\n  \"acme/docs\",\n  \
                { path = \"https://gitlab.com/acme/api.git\", capabilities = [\"push\", \"merge_requests\"] },\n]\n";
    let config = Config::parse(std::path::Path::new("lw.toml"), text).unwrap();
    let ws = &config.workspaces[0];
    let (docs, api) = (&ws.repositories[0], &ws.repositories[1]);
    assert_eq!((docs.key(), api.key()), ("acme/docs".to_owned(), "acme/api".to_owned()));
    assert_eq!(
        ws.listed_capabilities(Some(docs)),
        Some(&["clone"][..]),
        "the workspace's"
    );
    assert_eq!(
        ws.listed_capabilities(Some(api)),
        Some(&["push", "merge_requests"][..]),
        "its own"
    );

    // Its mistakes point at its entry, and name the fix.
    let errors = |text: &str| {
        Config::parse(std::path::Path::new("lw.toml"), text)
            .unwrap_err()
            .to_string()
    };
    let typo =
        errors("[[workspace]]\nname = \"a\"\nrepositories = [\n  { path = \"g/p\", capabilities = [\"psuh\"] },\n]\n");
    assert!(
        typo.contains("lw.toml:4:") && typo.contains("`psuh` is not a capability; did you mean `push`?"),
        "{typo}"
    );
    let key = errors("[[workspace]]\nname = \"a\"\nrepositories = [{ path = \"g/p\", capability = [\"push\"] }]\n");
    assert!(
        key.contains("unknown field `capability`") && key.contains("capabilities"),
        "{key}"
    );
    let number = errors("[[workspace]]\nname = \"a\"\nrepositories = [42]\n");
    assert!(
        number.contains("lw.toml:3:")
            && number.contains("a repository path or URL (\"group/project\"), or a table such as { path = \"group/project\", capabilities = [\"push\"] }"),
        "{number}"
    );

    // Through the admin API too, and shown back in the same form.
    let config = Config::parse(
        std::path::Path::new("lw.toml"),
        "[server]\nadmin_token_file = \"/dev/null\"\n",
    )
    .unwrap();
    let body = serde_json::json!({"repositories": ["g/p", {"path": "g/q", "capabilities": ["pipelines"]}]});
    let ws = labwatch::config::workspace_body::validate(&config, "acme", &body).unwrap();
    assert_eq!(
        labwatch::config::workspace_body::to_body(&ws)["repositories"],
        body["repositories"]
    );
    let bad = serde_json::json!({"repositories": [{"path": "g/q", "capabilities": ["pipeline"]}]});
    let errors = labwatch::config::workspace_body::validate(&config, "acme", &bad).unwrap_err();
    assert_eq!(errors[0].field, "repositories[0]", "{errors:?}");
    assert!(errors[0].message.contains("did you mean `pipelines`?"), "{errors:?}");
}

// --- the repository check: every `no` reason ---

#[tokio::test]
async fn a_needed_capability_gitlab_refuses_makes_the_repository_critical_with_its_cause_and_fix() {
    let lab = Lab::start().await;
    let repos = ["acme/backend", "acme/no-mr", "acme/old-app", "acme/docs"];
    let config = lab.config(
        &lab.api,
        &repos,
        "capabilities = [\"clone\", \"push\", \"merge_requests\"]",
    );
    let store = round(&lab, &config).await;

    let ok = repository(&store, "acme/backend");
    assert_eq!(ok.outcome.status, Status::Ok, "{:#?}", ok.outcome);

    assert_refused(
        &repository(&store, "acme/docs"),
        Reason::RepoRoleTooLow,
        "Workspace `acme` needs push on `acme/docs`, which GitLab refuses: To push to the repository GitLab requires at least the Developer (30) role here; the token's user has the Reporter (20) role.",
        "Ask a project Maintainer to give the user at least the Developer (30) role (Manage → Members).",
    );
    let docs = repository(&store, "acme/docs").outcome;
    assert!(
        docs.summary.contains("Also refused: merge_requests (role-too-low)."),
        "{}",
        docs.summary
    );
    assert_eq!(docs.details.len(), 2, "{:?}", docs.details);

    assert_refused(
        &repository(&store, "acme/no-mr"),
        Reason::RepoFeatureDisabled,
        "needs merge_requests on `acme/no-mr`, which GitLab refuses: The project's Merge requests feature is disabled (`merge_requests_access_level` is `disabled`)",
        "Ask a project Maintainer to enable Merge requests in Settings → General → Visibility, project features, permissions.",
    );

    assert_refused(
        &repository(&store, "acme/old-app"),
        Reason::RepoArchived,
        "needs push on `acme/old-app`, which GitLab refuses: The project is archived (read-only)",
        "Ask a project Owner to unarchive it",
    );
}

#[tokio::test]
async fn a_token_without_the_scope_a_needed_capability_takes_is_repo_scope_missing() {
    let lab = Lab::start().await;
    let config = lab.config(&lab.read_only, &["acme/backend"], "capabilities = [\"push\"]");
    let store = round(&lab, &config).await;
    assert_refused(
        &repository(&store, "acme/backend"),
        Reason::RepoScopeMissing,
        "needs push on `acme/backend`, which GitLab refuses: The token has none of the scopes `write_repository` or `api`",
        "Create a personal access token with the `write_repository` scope",
    );
}

#[tokio::test]
async fn without_the_key_only_clone_is_needed_and_the_check_judges_as_before() {
    let lab = Lab::start().await;
    let repos = ["acme/docs", "acme/old-app", "acme/no-mr"];
    let config = lab.config(&lab.read_only, &repos, "");
    let store = round(&lab, &config).await;
    // Push is `no` on every one (scope, role, archived), yet nothing needs it.
    let docs = repository(&store, "acme/docs");
    assert_eq!(
        (docs.outcome.status, docs.outcome.reason.as_str()),
        (Status::Ok, "ok"),
        "{:#?}",
        docs.outcome
    );
    let old = repository(&store, "acme/old-app");
    assert_eq!(
        (old.outcome.status, old.outcome.reason.as_str()),
        (Status::Warning, "repo-archived"),
        "archived stays a warning when nothing needs to write: {:#?}",
        old.outcome
    );

    // The verdicts are shown all the same in /status; /metrics has only
    // those the `capabilities` key lists, and here there is no key.
    let shown = status_json(&store, "acme/docs");
    let caps = &shown["capabilities"];
    assert_eq!(caps["clone"], serde_json::json!({"verdict": "yes", "needed": true}));
    assert_eq!(caps["push"]["verdict"], "no");
    assert_eq!(caps["push"].get("needed"), None, "left out when false: {caps:#}");
    assert_eq!(caps["push"]["reason"], "role-too-low");
    assert!(
        caps["push"]["fix"]
            .as_str()
            .unwrap()
            .contains("at least the Developer (30) role"),
        "{caps:#}"
    );
    assert_eq!(caps["issues"]["reason"], "scope-missing", "{caps:#}");
    let names: Vec<&str> = caps.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(names.len(), 5, "{caps:#}");

    let m = metrics(&store);
    assert!(
        !m.contains("labwatch_repository_capability{"),
        "without the key no verdict is a series:\n{m}"
    );
    assert!(m.contains(r#"labwatch_check_status{check="repository",target="acme/docs",workspace="acme"} 0"#));
    // Other checks carry no `capabilities`.
    let doc = status_doc(&store);
    let token = doc["workspaces"][0]["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["check"] == "token")
        .unwrap();
    assert!(token.get("capabilities").is_none(), "{token:#}");
}

// --- what it costs ---

/// The requests of a round, by route.
fn routes(c: &Counters) -> std::collections::BTreeMap<String, u64> {
    c.by_route.clone()
}

#[tokio::test]
async fn judging_the_capabilities_costs_no_request_beyond_the_round_but_push() {
    let lab = Lab::start().await;
    let repos = ["acme/backend", "acme/no-mr", "acme/docs"];
    let plain = lab.config(&lab.api, &repos, "");
    round(&lab, &plain).await;
    let before: Counters = in_process::sim_counters(&lab.sim).await;
    let all = lab.config(
        &lab.api,
        &repos,
        "capabilities = [\"clone\", \"issues\", \"merge_requests\", \"pipelines\"]",
    );
    let store = round(&lab, &all).await;
    let after: Counters = in_process::sim_counters(&lab.sim).await;
    assert_eq!(routes(&after), routes(&before), "{after:#?}");
    assert_eq!(after.route("GET /api/v4/projects"), 1, "one listing page: {after:#?}");
    assert_eq!(after.route("GET /api/v4/projects/{id}"), 0, "{after:#?}");
    assert_eq!(repository(&store, "acme/no-mr").outcome.reason, "repo-feature-disabled");
}

// --- the CLI ---

#[tokio::test]
async fn labwatch_check_prints_each_repositorys_verdicts_and_the_fix_of_a_needed_no() {
    let lab = Lab::start().await;
    let text = lab.config_text(&lab.api, &["acme/docs", "acme/backend"], "capabilities = [\"push\"]");
    let path = lab.dir.path().join("lw.toml");
    std::fs::write(&path, text).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("labwatch"))
            .env_remove("LABWATCH_CONFIG")
            .env("RUST_LOG", "error")
            .args(["check", "-c"])
            .arg(&path)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "[CRITICAL] repository[acme/docs] repo-role-too-low - Workspace `acme` needs push on `acme/docs`"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "      can: clone yes, push no* (role-too-low), issues yes, merge_requests no (role-too-low), pipelines no (role-too-low) (* needed)"
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains(
            "      1. Ask a project Maintainer to give the user at least the Developer (30) role (Manage → Members)."
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("      can: clone yes, push yes*, issues yes, merge_requests yes, pipelines yes (* needed)"),
        "{stdout}"
    );
}

// --- the page ---

#[tokio::test]
async fn the_page_shows_each_repositorys_verdicts_as_a_row_of_words() {
    use tower::ServiceExt;
    let lab = Lab::start().await;
    let config = lab.config(&lab.api, &["acme/docs"], "capabilities = [\"push\"]");
    let store = round(&lab, &config).await;
    let state = labwatch::http::AppState {
        status: store.clone(),
        metrics: Arc::new(Metrics::new(store.clone(), &labwatch::gitlab::GitlabMetrics::new())),
        connections: Arc::new(std::collections::BTreeMap::<String, labwatch::report::ConnectionView>::new()),
        fleet: Arc::new(labwatch::report::NoInstances),
        admin: None,
        config: Default::default(),
        store: None,
        replica: None,
    };
    let answer = labwatch::http::router(state)
        .oneshot(axum::http::Request::get("/").body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    let body = http_body_util::BodyExt::collect(answer.into_body())
        .await
        .unwrap()
        .to_bytes();
    let html = String::from_utf8(body.to_vec()).unwrap();
    assert!(
        html.contains(r#"<ul class="capabilities" aria-label="What the connection can do"><li class="cap cap-yes" data-capability="clone" data-verdict="yes"><strong>clone</strong>: yes</li>"#),
        "{html}"
    );
    assert!(
        html.contains(r#"data-capability="push" data-verdict="no" title="To push to the repository GitLab requires at least the Developer (30) role here; the token&#39;s user has the Reporter (20) role."><strong>push</strong>: no, role-too-low, needed</li>"#),
        "{html}"
    );
}

// --- the push probe: the default branch's protection ---

const PROTECTED_BRANCH: &str = "GET /api/v4/projects/{id}/protected_branches/{name}";

#[tokio::test]
async fn a_default_branch_closed_to_the_users_pushes_is_repo_push_denied_asked_once_per_token() {
    let lab = Lab::start().await;
    // acme/docs: push is already `no` (Reporter), so nothing is asked.
    let repos = ["acme/backend", "acme/guarded", "acme/open", "acme/docs"];
    let config = lab.config(&lab.api, &repos, "capabilities = [\"push\"]");
    // The same plans twice: the workspace's GitLab context, and what it
    // learnt, lives on between rounds as in the daemon.
    let plans = labwatch::runtime::plans(&config, &Shared::default());
    let store = Arc::new(StatusStore::new());
    run_once(plans.clone(), store.clone(), 4).await;
    let first: Counters = in_process::sim_counters(&lab.sim).await;
    assert_eq!(
        first.route(PROTECTED_BRANCH),
        3,
        "one probe per project whose push verdict is yes: {first:#?}"
    );

    assert_eq!(repository(&store, "acme/backend").outcome.status, Status::Ok);
    assert_eq!(repository(&store, "acme/open").outcome.status, Status::Ok);
    assert_refused(
        &repository(&store, "acme/guarded"),
        Reason::RepoPushDenied,
        "needs push on `acme/guarded`, which GitLab refuses: The default branch `main` is protected, and its rule does not let the token's user (Developer (30)) push to it",
        "Ask a project Maintainer to allow Developers + Maintainers to push to `main` (Settings → Repository → Protected branches), or push to another branch",
    );
    let shown = status_json(&store, "acme/guarded");
    assert_eq!(shown["capabilities"]["push"]["reason"], "branch-protected", "{shown:#}");
    assert!(metrics(&store).contains(
        "labwatch_repository_capability{capability=\"push\",repository=\"acme/guarded\",workspace=\"acme\"} 0\n"
    ));

    // The next round of the same workspace asks nothing again.
    let before = first.route(PROTECTED_BRANCH);
    run_once(plans, store.clone(), 4).await;
    let second: Counters = in_process::sim_counters(&lab.sim).await;
    assert_eq!(second.route(PROTECTED_BRANCH), before, "{second:#?}");
    assert_eq!(repository(&store, "acme/guarded").outcome.reason, "repo-push-denied");

    // Without push among the needs, the rules are never asked.
    let config = lab.config(&lab.api, &repos, "");
    round(&lab, &config).await;
    let plain: Counters = in_process::sim_counters(&lab.sim).await;
    assert_eq!(plain.route(PROTECTED_BRANCH), 0, "{plain:#?}");
}

// --- verdicts are kept between rounds, and judged again on a change ---

#[tokio::test]
async fn a_change_at_gitlab_between_rounds_is_judged_again_in_the_next_round() {
    let lab = Lab::start().await;
    let repos = ["acme/docs", "acme/backend"];
    let config = lab.config(&lab.api, &repos, "capabilities = [\"clone\", \"issues\"]");
    let plans = labwatch::runtime::plans(&config, &Shared::default());
    let store = Arc::new(StatusStore::new());
    run_once(plans.clone(), store.clone(), 4).await;
    let verdict = |repo: &str, capability: &str| status_json(&store, repo)["capabilities"][capability].clone();
    assert_eq!(verdict("acme/docs", "push")["reason"], "role-too-low");
    assert_eq!(verdict("acme/backend", "issues")["verdict"], "yes");

    // A Maintainer makes alice a Developer of acme/docs and archives
    // acme/backend; the same plans run again, as the daemon's next round.
    lab.sim
        .set_member("acme/docs", "alice", Some(AccessLevel::DEVELOPER))
        .unwrap();
    lab.sim.set_archived("acme/backend", true).unwrap();
    run_once(plans.clone(), store.clone(), 4).await;
    assert_eq!(
        verdict("acme/docs", "push")["verdict"],
        "yes",
        "{:#}",
        verdict("acme/docs", "push")
    );
    assert_eq!(verdict("acme/backend", "issues")["reason"], "project-archived");
    assert_refused(
        &repository(&store, "acme/backend"),
        Reason::RepoArchived,
        "needs issues on `acme/backend`, which GitLab refuses: The project is archived",
        "Ask a project Owner to unarchive it",
    );

    // The token loses `api` (the simulator can; GitLab mints a new token
    // instead): issues are read-only now.
    lab.sim
        .set_token_scopes(lab.api.id, &["read_api", "read_repository"])
        .unwrap();
    lab.sim.set_archived("acme/backend", false).unwrap();
    run_once(plans, store.clone(), 4).await;
    assert_refused(
        &repository(&store, "acme/backend"),
        Reason::RepoScopeMissing,
        "needs issues on `acme/backend`, which GitLab refuses: The token has none of the scopes `api`, and GitLab needs one to create issues.",
        "Create a personal access token with the `api` scope",
    );
}

#[tokio::test]
async fn a_push_probe_that_failed_is_asked_again_the_next_round() {
    let lab = Lab::start().await;
    // Like acme/guarded (GitLab's default protection), added here for its id.
    let id = lab
        .sim
        .add_project(ProjectSpec::new("acme/locked").member("alice", AccessLevel::DEVELOPER))
        .unwrap();
    let config = lab.config(&lab.api, &["acme/locked"], "capabilities = [\"push\"]");
    let plans = labwatch::runtime::plans(&config, &Shared::default());
    // A GitLab that lets only Maintainers read the rules, once.
    lab.sim.fail_next(labwatch::sim::FailSpec {
        path_prefix: Some(format!("/api/v4/projects/{id}/protected_branches")),
        ..labwatch::sim::FailSpec::new(1, 403)
    });
    let store = Arc::new(StatusStore::new());
    run_once(plans.clone(), store.clone(), 4).await;
    // The probe said nothing: the listing's verdict stands.
    assert_eq!(repository(&store, "acme/locked").outcome.status, Status::Ok);
    let first: Counters = in_process::sim_counters(&lab.sim).await;
    assert_eq!(first.route(PROTECTED_BRANCH), 1, "{first:#?}");

    run_once(plans, store.clone(), 4).await;
    let second: Counters = in_process::sim_counters(&lab.sim).await;
    assert_eq!(second.route(PROTECTED_BRANCH), 2, "asked again: {second:#?}");
    assert_eq!(repository(&store, "acme/locked").outcome.reason, "repo-push-denied");
}

#[tokio::test]
async fn a_repositorys_own_capabilities_judge_it_and_the_workspaces_judge_the_others() {
    let lab = Lab::start().await;
    let path = lab.dir.path().join("token");
    std::fs::write(&path, &lab.api.token).unwrap();
    // alice is a Reporter of acme/docs: she can clone it, not push to it.
    let text = format!(
        "[[workspace]]\nname = \"acme\"\ninstance_url = \"{}\"\ntoken_file = \"{}\"\nclone_probe = false\n\
         capabilities = [\"clone\", \"issues\"]\n\
         repositories = [\"acme/backend\", {{ path = \"acme/docs\", capabilities = [\"push\"] }}]\n",
        lab.sim.base_url(),
        path.display()
    );
    let config = Config::parse(std::path::Path::new("lab.toml"), &text).unwrap();
    let store = round(&lab, &config).await;

    let docs = repository(&store, "acme/docs");
    assert_eq!(docs.outcome.reason, "repo-role-too-low", "{:#?}", docs.outcome);
    assert!(
        docs.outcome.remediation.last().is_some_and(|r| r
            == "If `acme/docs` does not need push, remove it from the `capabilities` of its entry in the `repositories` of workspace `acme`."),
        "{:?}",
        docs.outcome.remediation
    );
    assert_eq!(repository(&store, "acme/backend").outcome.status, Status::Ok);
    let shown = status_json(&store, "acme/docs");
    assert_eq!(shown["capabilities"]["push"]["needed"], true, "{shown:#}");
    assert_eq!(shown["capabilities"]["issues"].get("needed"), None, "{shown:#}");

    // Each repository's series are its own list's.
    let text = metrics(&store);
    let series: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("labwatch_repository_capability{"))
        .collect();
    assert_eq!(
        series,
        [
            "labwatch_repository_capability{capability=\"clone\",repository=\"acme/backend\",workspace=\"acme\"} 1",
            "labwatch_repository_capability{capability=\"issues\",repository=\"acme/backend\",workspace=\"acme\"} 1",
            "labwatch_repository_capability{capability=\"push\",repository=\"acme/docs\",workspace=\"acme\"} 0",
        ],
        "{text}"
    );
}

#[test]
fn repositories_chosen_through_the_admin_api_keep_what_their_config_entry_lists() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(labwatch::store::ConnectionStore::with_key(dir.path(), [7; 32]).unwrap());
    store
        .save(&labwatch::store::StoredConnection {
            workspace: "acme".to_owned(),
            instance_url: "https://gitlab.example.com".to_owned(),
            token: secrecy::SecretString::from("glpat-capabilities-canary-0123"),
            user_id: 3,
            username: "alice".to_owned(),
            token_id: 4,
            token_name: "workspace".to_owned(),
            scopes: vec!["api".to_owned()],
            expires_at: None,
            created_at: None,
            connected_at: time::OffsetDateTime::now_utc(),
            // The user's choice: one the file lists as a table, one it does not.
            repositories: Some(vec!["Acme/Docs".to_owned(), "acme/new".to_owned()]),
        })
        .unwrap();
    let text = "[[workspace]]\nname = \"acme\"\ninstance_url = \"https://gitlab.example.com\"\n\
                repositories = [\"acme/backend\", { path = \"acme/docs\", capabilities = [\"push\"] }]\n";
    let config = Config::parse(std::path::Path::new("lw.toml"), text).unwrap();
    let built = labwatch::runtime::build(&config, "acme", Some(&store), &Shared::default()).unwrap();
    let ws = &built.gitlab.config;
    let listed: Vec<(String, Option<&[&str]>)> = ws
        .repositories
        .iter()
        .map(|r| (r.key(), ws.listed_capabilities(Some(r))))
        .collect();
    assert_eq!(
        listed,
        [
            ("Acme/Docs".to_owned(), Some(&["push"][..])),
            ("acme/new".to_owned(), None)
        ]
    );
}

#[tokio::test]
async fn capability_series_all_writes_every_verdict_of_every_repository() {
    let lab = Lab::start().await;
    let config = lab.config(&lab.api, &["acme/backend", "acme/docs"], "");
    let store = round(&lab, &config).await;
    let series = |capability_series: &str| {
        let text = format!("[metrics]\ncapability_series = \"{capability_series}\"\n[[workspace]]\nname = \"acme\"\n");
        let parsed = Config::parse(std::path::Path::new("lw.toml"), &text).unwrap();
        let metrics = Metrics::new(store.clone(), &labwatch::gitlab::GitlabMetrics::new());
        metrics.configure(parsed.metrics);
        let text = metrics.render(&[]);
        text.lines()
            .filter(|l| l.starts_with("labwatch_repository_capability{"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    // No `capabilities` key: nothing is listed, so by default no series.
    assert_eq!(series("listed"), Vec::<String>::new());
    let all = series("all");
    assert_eq!(all.len(), 10, "{all:#?}");
    assert!(
        all.contains(
            &"labwatch_repository_capability{capability=\"push\",repository=\"acme/docs\",workspace=\"acme\"} 0"
                .to_owned()
        ),
        "{all:#?}"
    );

    let errors = Config::parse(
        std::path::Path::new("lw.toml"),
        "[metrics]\ncapability_series = \"every\"\n[[workspace]]\nname = \"acme\"\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        errors.contains("lw.toml:2:") && errors.contains("capability_series `every` is unknown; use \"listed\""),
        "{errors}"
    );
}
