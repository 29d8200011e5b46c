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
