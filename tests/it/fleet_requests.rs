//! What one workspace's round costs GitLab (issue 16, items 2 and 3),
//! counted by the simulator's `/-/sim/counters`: a connected workspace's
//! round is the token's metadata and the project listing, nothing else, also
//! after a restart; a large membership is not paged through for a few
//! watched projects, and a project read directly is judged as one found in
//! the listing; a 429 is `rate-limited` everywhere, the instance probe's too.

use std::path::Path;
use std::sync::Arc;

use labwatch::checks::Shared;
use labwatch::config::Config;
use labwatch::engine::{CheckKey, CheckState, StatusStore, run_once};
use labwatch::sim::{
    self, AccessLevel, Counters, Expiry, Limits, NewToken, Scenario, SimHandle, TokenSpec, UserSpec,
};
use labwatch::engine::Status;
use tempfile::TempDir;

use crate::support::in_process;

/// A simulator with alice and her `api` token; `world` adds the projects.
async fn simulator(world: impl FnOnce(&mut Scenario)) -> (SimHandle, NewToken) {
    let mut s = Scenario::empty();
    s.add_user(UserSpec::new("alice")).unwrap();
    let token = s
        .add_token(
            TokenSpec::new("alice", "workspace")
                .scopes(&["api"])
                .expires(Expiry::InDays(60)),
        )
        .unwrap();
    world(&mut s);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    (sim::start(s, listener).await.unwrap(), token)
}

/// The simulator's counters, read as a person would: `GET /-/sim/counters`.
async fn counters(sim: &SimHandle) -> Counters {
    in_process::http_client()
        .get(format!("{}/-/sim/counters", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

async fn reset_counters(sim: &SimHandle) {
    let answer = in_process::http_client()
        .delete(format!("{}/-/sim/counters", sim.base_url()))
        .send()
        .await
        .unwrap();
    assert!(answer.status().is_success(), "{answer:?}");
}

/// Workspace `acme` on `url` with the token in `dir/token` (written here),
/// watching `repos`, without the clone probe (it runs once per token and is
/// counted apart).
fn token_file_config(dir: &Path, url: &str, token: &str, repos: &[&str]) -> Config {
    std::fs::write(dir.join("token"), token).unwrap();
    let repos = repos.iter().map(|r| format!("\"{r}\"")).collect::<Vec<_>>().join(", ");
    let text = format!(
        "[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n[[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n\
         token_file = \"{}\"\nrepositories = [{repos}]\nclone_probe = false\n",
        dir.join("token").display()
    );
    Config::parse(&dir.join("lw.toml"), &text).unwrap()
}

/// One round as `labwatch check` runs it, counters reset first.
async fn one_round(sim: &SimHandle, config: &Config) -> Arc<StatusStore> {
    let store = Arc::new(StatusStore::new());
    reset_counters(sim).await;
    run_once(labwatch::runtime::plans(config, &Shared::default()), store.clone(), 4).await;
    store
}

fn state(store: &StatusStore, check: &str, target: Option<&str>) -> CheckState {
    store
        .get(&CheckKey {
            workspace: "acme".into(),
            check: check.into(),
            target: target.map(Into::into),
        })
        .map(|s| CheckState::clone(&s))
        .unwrap_or_else(|| panic!("no result for {check} {target:?}"))
}

// --- item 3: a 429 is `rate-limited` everywhere ---------------------------

#[tokio::test]
async fn a_429_on_the_anonymous_version_probe_is_rate_limited_not_not_gitlab() {
    let (sim, alice) = simulator(|s| {
        s.add_project(sim::ProjectSpec::new("acme/a").member("alice", AccessLevel::DEVELOPER))
            .unwrap();
    })
    .await;
    // GitLab.com's throttle of requests without a token, per address
    // (docs/gitlab.md §10), exhausted: the next anonymous request gets 429.
    sim.sim().set_limits(Limits {
        unauthenticated_per_minute: 0,
        ..sim.sim().limits()
    });
    let dir = TempDir::new().unwrap();
    let config = token_file_config(dir.path(), sim.base_url(), &alice.token, &["acme/a"]);
    let store = one_round(&sim, &config).await;

    let instance = state(&store, "instance", None).outcome;
    assert_eq!(
        (instance.status, instance.reason.as_str()),
        (Status::Warning, "rate-limited"),
        "{instance:#?}"
    );
    assert!(
        instance.summary.contains("answered 429 Too Many Requests to GET /api/v4/version")
            && instance.summary.contains("retry in ")
            && instance.summary.contains("GitLab asked to wait until "),
        "the wait GitLab asked for: {}",
        instance.summary
    );
    assert!(
        instance.remediation[0].contains("`requests_per_second`") && instance.remediation[0].contains("workspace `acme`"),
        "the token check's remediation, filled: {:?}",
        instance.remediation
    );
    // A warning blocks nothing: the token's requests have a budget of their own.
    assert_eq!(state(&store, "token", None).outcome.reason, "ok");
    assert_eq!(state(&store, "repository", Some("acme/a")).outcome.reason, "ok");
    let c = counters(&sim).await;
    assert_eq!((c.route("GET /api/v4/version"), c.status(429)), (1, 1), "{c:#?}");
}

// --- item 1: an unchanged token costs its metadata and the listing --------

const ADMIN: &str = "admin-token-for-fleet-requests";

/// Workspace `acme` on `url` with a connection store in `dir` and no token of
/// its own: it gets one through connect.
fn store_config(dir: &Path, url: &str) -> Config {
    let text = format!(
        "[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"10s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\nclone_probe = false\n",
        d = dir.display()
    );
    Config::parse(&dir.join("lw.toml"), &text).unwrap()
}

/// Waits, pass by pass, until every watched repository of `acme` is `ok`:
/// the round that started last is over, its requests all made.
async fn until_repositories_ok(daemon: &mut in_process::InProcess, repos: &[&str]) {
    let store = daemon.runtime.status();
    let done = |store: &StatusStore| {
        repos.iter().all(|r| {
            store
                .get(&CheckKey {
                    workspace: "acme".into(),
                    check: "repository".into(),
                    target: Some((*r).into()),
                })
                .is_some_and(|s| s.outcome.reason == "ok")
        })
    };
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done(&store) {
        tokio::time::timeout_at(deadline, daemon.passes.changed())
            .await
            .expect("the repositories never became ok")
            .unwrap();
    }
}

/// Makes every check of `acme` due and waits until that pass is over.
async fn daemon_round(daemon: &mut in_process::InProcess) {
    daemon.passes.borrow_and_update();
    assert!(daemon.runtime.run_now(Some("acme")));
    daemon.passes.changed().await.unwrap();
}

/// Requests of one round of a workspace with a known account and a small
/// membership: the anonymous probe, the token's metadata, one listing page.
fn assert_token_and_listing_only(c: &Counters, when: &str) {
    assert_eq!(c.route("GET /api/v4/user"), 0, "{when}: the account is known: {c:#?}");
    assert_eq!(
        (
            c.route("GET /api/v4/version"),
            c.route("GET /api/v4/personal_access_tokens/self"),
            c.route("GET /api/v4/projects"),
            c.total
        ),
        (1, 1, 1, 3),
        "{when}: the instance probe plus exactly 2 requests: {c:#?}"
    );
}

#[tokio::test]
async fn a_connected_workspace_asks_only_the_token_and_the_listing_each_round_also_after_a_restart() {
    let repos = ["acme/backend", "acme/frontend"];
    let (sim, alice) = simulator(|s| {
        for r in repos {
            s.add_project(sim::ProjectSpec::new(r).member("alice", AccessLevel::DEVELOPER))
                .unwrap();
        }
    })
    .await;
    let dir = TempDir::new().unwrap();
    let config = store_config(dir.path(), sim.base_url());
    let mut daemon = in_process::serve(config.clone(), Some(ADMIN)).await;
    let (code, body) = in_process::call(
        &in_process::http_client(),
        daemon.addr,
        ADMIN,
        reqwest::Method::POST,
        "/api/v1/workspaces/acme/connect",
        Some(serde_json::json!({
            "instance_url": sim.base_url(),
            "token": alice.token,
            "repositories": repos,
        })),
    )
    .await;
    assert_eq!(code, 200, "{body}");
    // Connect re-plans the workspace, whose checks run at once.
    until_repositories_ok(&mut daemon, &repos).await;

    for round in 2..=3 {
        reset_counters(&sim).await;
        daemon_round(&mut daemon).await;
        assert_token_and_listing_only(&counters(&sim).await, &format!("round {round}"));
    }

    // A restart: a new daemon on the same config and store.
    drop(daemon);
    reset_counters(&sim).await;
    let mut daemon = in_process::serve(config, Some(ADMIN)).await;
    until_repositories_ok(&mut daemon, &repos).await;
    assert_token_and_listing_only(&counters(&sim).await, "the first round after a restart");
    let status: serde_json::Value = in_process::http_client()
        .get(format!("http://{}/status/acme", daemon.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        status["connection"]["username"], "alice",
        "whose token it is, from the store: {status}"
    );
}

#[tokio::test]
async fn a_token_file_workspace_asks_user_once_per_token() {
    let (sim, alice) = simulator(|s| {
        s.add_project(sim::ProjectSpec::new("acme/a").member("alice", AccessLevel::DEVELOPER))
            .unwrap();
    })
    .await;
    let dir = TempDir::new().unwrap();
    let config = token_file_config(dir.path(), sim.base_url(), &alice.token, &["acme/a"]);
    reset_counters(&sim).await;
    let runtime = Arc::new(labwatch::runtime::Runtime::start(config, None));
    let mut passes = runtime.status().subscribe();
    passes.changed().await.unwrap();
    let c = counters(&sim).await;
    assert_eq!(
        (c.route("GET /api/v4/user"), c.total),
        (1, 4),
        "nothing known of the account yet: {c:#?}"
    );
    reset_counters(&sim).await;
    passes.borrow_and_update();
    runtime.run_now(Some("acme"));
    passes.changed().await.unwrap();
    assert_token_and_listing_only(&counters(&sim).await, "the second round");
}
