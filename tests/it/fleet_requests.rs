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
use labwatch::engine::Status;
use labwatch::engine::{CheckKey, CheckState, StatusStore, run_once};
use labwatch::sim::{self, AccessLevel, Counters, Expiry, Limits, NewToken, Scenario, SimHandle, TokenSpec, UserSpec};
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

async fn counters(sim: &SimHandle) -> Counters {
    in_process::sim_counters(sim).await
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
        instance
            .summary
            .contains("answered 429 Too Many Requests to GET /api/v4/version")
            && instance.summary.contains("retry in ")
            && instance.summary.contains("GitLab asked to wait until "),
        "the wait GitLab asked for: {}",
        instance.summary
    );
    assert!(
        instance.remediation[0].contains("`requests_per_second`")
            && instance.remediation[0].contains("workspace `acme`"),
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

// --- item 2: a large membership is not paged through for a few projects ---

/// The daemon's scheduler over a config without a store, driven round by
/// round; its caches live across rounds, as in `labwatch run`.
struct Scheduled {
    runtime: Arc<labwatch::runtime::Runtime>,
    passes: tokio::sync::watch::Receiver<u64>,
}

impl Scheduled {
    /// Starts scheduling and waits for the first round.
    async fn start(config: Config) -> Scheduled {
        let runtime = Arc::new(labwatch::runtime::Runtime::start(config, None));
        let mut passes = runtime.status().subscribe();
        passes.changed().await.unwrap();
        Scheduled { runtime, passes }
    }

    async fn round(&mut self) {
        self.passes.borrow_and_update();
        assert!(self.runtime.run_now(Some("acme")));
        self.passes.changed().await.unwrap();
    }

    fn outcome(&self, repo: &str) -> labwatch::engine::Outcome {
        state(&self.runtime.status(), "repository", Some(repo)).outcome
    }
}

/// Project requests of a round: pages of the member listing (a search for
/// similar paths is a `GET /projects` too, but not `membership=true`), and
/// projects read one by one.
fn project_requests(c: &Counters) -> (usize, u64) {
    let pages = c
        .recent
        .iter()
        .filter(|r| r.route == "GET /api/v4/projects")
        .filter(|r| r.query.as_deref().is_some_and(|q| q.contains("membership=true")))
        .count();
    (pages, c.route("GET /api/v4/projects/{id}"))
}

/// alice is a developer of `members` projects through group `big`, three of
/// which, the last ones in id order (so not on the listing's first page),
/// the workspace watches.
async fn watching_3_of(members: usize) {
    let watched = ["big/watched-a", "big/watched-b", "big/watched-c"];
    let (sim, alice) = simulator(|s| {
        s.add_group(sim::GroupSpec::new("big").member("alice", AccessLevel::DEVELOPER))
            .unwrap();
        for i in 0..members - watched.len() {
            s.add_project(sim::ProjectSpec::new(format!("big/p{i:05}"))).unwrap();
        }
        for w in watched {
            s.add_project(sim::ProjectSpec::new(w)).unwrap();
        }
    })
    .await;
    let dir = TempDir::new().unwrap();
    let config = token_file_config(dir.path(), sim.base_url(), &alice.token, &watched);
    reset_counters(&sim).await;
    let mut daemon = Scheduled::start(config).await;
    // The first round learns how long the listing is from its first page
    // (X-Total-Pages up to 10,000 projects; absent above, docs/gitlab.md §7:
    // more than 100 pages either way), then reads the three directly.
    let c = counters(&sim).await;
    assert_eq!(project_requests(&c), (1, 3), "first round: W + 1 = 4 requests: {c:#?}");
    for round in 2..=3 {
        reset_counters(&sim).await;
        daemon.round().await;
        let c = counters(&sim).await;
        assert_eq!(
            project_requests(&c),
            (0, 3),
            "round {round}: min(W, ceil(M/100)) = 3 requests: {c:#?}"
        );
        assert_eq!(c.total, 1 + 1 + 3, "the probe, the token, the projects: {c:#?}");
    }
    for w in watched {
        let o = daemon.outcome(w);
        assert_eq!(o.reason, "ok", "{w}: {o:#?}");
        assert!(o.summary.contains("you are developer"), "{w}: {}", o.summary);
    }
}

#[tokio::test]
async fn watching_3_of_10000_member_projects_costs_3_project_requests_a_round_not_100_pages() {
    watching_3_of(10_000).await;
}

#[tokio::test]
async fn watching_3_of_more_projects_than_gitlab_counts_costs_3_project_requests_a_round() {
    watching_3_of(10_500).await;
}

#[tokio::test]
async fn watching_3_of_150_member_projects_costs_the_2_listing_pages() {
    let watched = ["acme/first", "acme/second", "acme/last"];
    let (sim, alice) = simulator(|s| {
        let mut add = |path: &str| {
            s.add_project(sim::ProjectSpec::new(path).member("alice", AccessLevel::DEVELOPER))
                .unwrap();
        };
        add("acme/first");
        add("acme/second");
        for i in 0..147 {
            add(&format!("acme/other-{i:03}"));
        }
        // The 150th project in id order: on the second page.
        add("acme/last");
    })
    .await;
    let dir = TempDir::new().unwrap();
    let config = token_file_config(dir.path(), sim.base_url(), &alice.token, &watched);
    reset_counters(&sim).await;
    let mut daemon = Scheduled::start(config).await;
    for round in 1..=3 {
        if round > 1 {
            reset_counters(&sim).await;
            daemon.round().await;
        }
        let c = counters(&sim).await;
        assert_eq!(
            project_requests(&c),
            (2, 0),
            "round {round}: min(W, ceil(M/100)) = 2 requests: {c:#?}"
        );
    }
    for w in watched {
        assert_eq!(daemon.outcome(w).reason, "ok", "{w}");
    }
}

/// alice's projects as a workspace watching `WATCHED` sees them, with
/// `filler` more member projects before them in id order.
async fn judged(filler: u64) -> (Vec<labwatch::engine::Outcome>, Vec<(usize, u64)>) {
    use labwatch::sim::{ProjectSpec, RepositoryAccess, Visibility};
    let (sim, alice) = simulator(|s| {
        s.add_group(sim::GroupSpec::new("filler").member("alice", AccessLevel::DEVELOPER))
            .unwrap();
        for i in 0..filler {
            s.add_project(ProjectSpec::new(format!("filler/p{i:05}"))).unwrap();
        }
        // The same ids in both worlds: `project_id` is part of the outcome.
        let mut id = 50_000;
        let mut add = |spec: ProjectSpec| {
            id += 1;
            s.add_project(ProjectSpec { id: Some(id), ..spec }).unwrap();
        };
        let dev = |path: &str| ProjectSpec::new(path).member("alice", AccessLevel::DEVELOPER);
        add(dev("acme/ok"));
        add(dev("acme/cased"));
        add(dev("acme/archived").archived());
        add(dev("acme/disabled").repository(RepositoryAccess::Disabled));
        add(ProjectSpec::new("acme/guest").member("alice", AccessLevel::GUEST));
        add(ProjectSpec::new("acme/public").visibility(Visibility::Public));
        add(ProjectSpec::new("acme/internal").visibility(Visibility::Internal));
        add(dev("acme/new-name").redirect_from("acme/old-name"));
        add(dev("acme/backend"));
    })
    .await;
    let dir = TempDir::new().unwrap();
    let config = token_file_config(dir.path(), sim.base_url(), &alice.token, WATCHED);
    reset_counters(&sim).await;
    let mut daemon = Scheduled::start(config).await;
    let mut costs = vec![project_requests(&counters(&sim).await)];
    reset_counters(&sim).await;
    daemon.round().await;
    costs.push(project_requests(&counters(&sim).await));
    // The instance URL differs between the two simulators, and is in some
    // remediations: everything else must be the same.
    let outcomes = WATCHED
        .iter()
        .map(|w| {
            let mut o = daemon.outcome(w);
            o.summary = o.summary.replace(sim.base_url(), "{sim}");
            for step in &mut o.remediation {
                *step = step.replace(sim.base_url(), "{sim}");
            }
            o
        })
        .collect();
    (outcomes, costs)
}

const WATCHED: &[&str] = &[
    "acme/ok",
    "ACME/Cased",
    "acme/archived",
    "acme/disabled",
    "acme/guest",
    "acme/public",
    "acme/internal",
    "acme/old-name",
    "acme/backnd",
];

#[tokio::test]
async fn a_project_read_directly_is_judged_as_one_found_in_the_listing() {
    // 7 member projects: one listing page holds them all.
    let (listed, listing_costs) = judged(0).await;
    // 1,007: 11 pages for 9 watched projects, so they are read directly.
    let (direct, direct_costs) = judged(1_000).await;
    // Round 1 reads the one page and the 4 watched projects it lacks (the
    // public, the internal, the moved and the missing one), and the moved
    // one where the 301 points; round 2 again.
    assert_eq!(listing_costs, [(1, 5), (1, 5)], "listing mode");
    // Round 1 reads the first page, learns that 11 pages are more than 9
    // requests, and reads the 9 directly (and the moved one's new place);
    // round 2 only those.
    assert_eq!(direct_costs, [(1, 10), (0, 10)], "direct mode");
    let reasons: Vec<&str> = listed.iter().map(|o| o.reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "ok",
            "ok",
            "repo-archived",
            "repo-disabled",
            "repo-access-insufficient",
            "ok",
            "ok",
            "repo-moved",
            "repo-not-found-or-no-access",
        ]
    );
    assert!(
        listed[5].summary.contains("public, not a member"),
        "{}",
        listed[5].summary
    );
    assert!(
        listed[8].summary.contains("Did you mean `acme/backend`?"),
        "{}",
        listed[8].summary
    );
    for ((watched, l), d) in WATCHED.iter().zip(&listed).zip(&direct) {
        assert_eq!(l, d, "{watched}: judged alike, listed or read directly");
    }
}
