//! Fleet mode's sharing (issue 16, `docs/configuration.md` "Instances"):
//! one instance probe per instance per interval whatever the number of
//! workspaces, one request budget per instance shared by its workspaces,
//! and workspaces spread over the interval. Requests are counted by the
//! simulator (`/-/sim/counters`), not guessed.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use labwatch::config::Config;
use labwatch::engine::{CheckKey, Status};
use labwatch::gitlab::{
    BudgetKind, ClientOptions, GitlabClient, GitlabError, GitlabMetrics, Instance, InstanceBudget, InstanceLimits,
};
use labwatch::runtime::Runtime;
use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec};
use secrecy::SecretString;
use tempfile::TempDir;

/// A simulator with `n` users, `user-0` …, each with a token and one
/// project, and the config of `n` workspaces, one per user, that watch it.
async fn fleet(n: usize, extra: &str) -> (SimHandle, Config, TempDir) {
    let mut s = Scenario::empty();
    let dir = tempfile::tempdir().unwrap();
    for i in 0..n {
        let user = format!("user-{i}");
        s.add_user(UserSpec::new(&user)).unwrap();
        let token = s
            .add_token(TokenSpec::new(&user, "ws").scopes(&["api"]).expires(Expiry::InDays(60)))
            .unwrap();
        s.add_project(ProjectSpec::new(format!("{user}/app")).member(&user, AccessLevel::DEVELOPER))
            .unwrap();
        std::fs::write(dir.path().join(&user), &token.token).unwrap();
    }
    let sim = sim::start(s, tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let mut text = format!("[defaults]\ninterval = \"1h\"\ntimeout = \"20s\"\n{extra}\n");
    for i in 0..n {
        text.push_str(&format!(
            "[[workspace]]\nname = \"ws-{i}\"\ninstance_url = \"{}\"\ntoken_file = \"{}\"\nrepositories = [\"user-{i}/app\"]\nclone_probe = false\n",
            sim.base_url(),
            dir.path().join(format!("user-{i}")).display()
        ));
    }
    let config = Config::parse(Path::new("fleet.toml"), &text).unwrap();
    (sim, config, dir)
}

/// Waits until every workspace finished its first round.
async fn first_round(runtime: &Runtime) {
    let status = runtime.status();
    let mut passes = status.subscribe();
    while !status.first_round_done() {
        passes.changed().await.unwrap();
    }
}

fn outcome(runtime: &Runtime, workspace: &str, check: &str) -> (Status, String) {
    let key = CheckKey {
        workspace: workspace.into(),
        check: check.into(),
        target: None,
    };
    let state = runtime.status().get(&key).expect("the check ran");
    (state.outcome.status, state.outcome.reason.to_string())
}

async fn counters(sim: &SimHandle) -> serde_json::Value {
    crate::support::in_process::sim_counters(sim).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_workspaces_on_one_instance_share_one_probe_per_interval() {
    let (sim, config, _dir) = fleet(30, "").await;
    let runtime = Runtime::start(config, None);
    tokio::time::timeout(Duration::from_secs(60), first_round(&runtime))
        .await
        .expect("the first round finishes");
    let c = counters(&sim).await;
    assert_eq!(
        c["by_route"]["GET /api/v4/version"], 1,
        "one anonymous probe for the instance, not one per workspace: {c}"
    );
    for i in 0..30 {
        let ws = format!("ws-{i}");
        assert_eq!(outcome(&runtime, &ws, "instance"), (Status::Ok, "ok".into()), "{ws}");
        assert_eq!(outcome(&runtime, &ws, "token"), (Status::Ok, "ok".into()), "{ws}");
    }
}

fn client(base: &url::Url, workspace: &str, instance: Arc<Instance>) -> GitlabClient {
    GitlabClient::new(ClientOptions {
        workspace,
        base,
        instance,
        requests_per_second: 100.0,
        timeout: Duration::from_secs(5),
        token: Some(SecretString::from("glpat-unused-by-version".to_owned())),
        metrics: GitlabMetrics::new(),
    })
}

#[tokio::test]
async fn workspaces_on_one_instance_draw_from_one_budget() {
    let (sim, _config, _dir) = fleet(1, "").await;
    sim.sim().reset_counters();
    let base = url::Url::parse(sim.base_url()).unwrap();
    // One request a minute for the whole instance: the first workspace's
    // request spends it, and the second's would wait a minute, longer than
    // a request waits, so it is refused here without reaching GitLab.
    let budget = Arc::new(InstanceBudget::new(InstanceLimits {
        requests_per_minute: Some(1),
        unauthenticated_per_minute: None,
    }));
    let instance = Arc::new(Instance::new(labwatch::tls::client_config(None).unwrap(), budget).unwrap());
    let (a, b) = (
        client(&base, "a", instance.clone()),
        client(&base, "b", instance.clone()),
    );
    let first = a.version().await;
    assert!(
        !matches!(first, Err(GitlabError::OverBudget { .. })),
        "the first request goes out: {first:?}"
    );
    match b.version().await {
        Err(GitlabError::OverBudget {
            budget: BudgetKind::Instance,
            wait,
        }) => {
            assert!(wait > Duration::from_secs(30), "{wait:?}")
        }
        other => panic!("the other workspace's request must wait for the shared budget: {other:?}"),
    }
    assert_eq!(sim.sim().counters().total, 1, "only the first request reached GitLab");
    // Each workspace's own budget (100 a second) would have let both through.
    let own = Arc::new(
        Instance::new(
            labwatch::tls::client_config(None).unwrap(),
            Arc::new(InstanceBudget::new(InstanceLimits::default())),
        )
        .unwrap(),
    );
    assert!(!matches!(
        client(&base, "c", own).version().await,
        Err(GitlabError::OverBudget { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_table_holds_the_whole_fleet_to_its_budget() {
    // One request a minute for three workspaces: the instance probe gets
    // through; every token check would wait a minute, so each is told the
    // budget is spent, by labwatch, before anything reaches GitLab.
    let (sim, _, _dir) = fleet(3, "").await;
    let (_, config, _dir) = fleet_config_with(&sim, 3, "requests_per_minute = 1").await;
    sim.sim().reset_counters();
    let runtime = Runtime::start(config, None);
    tokio::time::timeout(Duration::from_secs(60), first_round(&runtime))
        .await
        .expect("the first round finishes");
    assert_eq!(sim.sim().counters().total, 1, "only the probe reached GitLab");
    for i in 0..3 {
        let ws = format!("ws-{i}");
        assert_eq!(outcome(&runtime, &ws, "instance"), (Status::Ok, "ok".into()), "{ws}");
        assert_eq!(
            outcome(&runtime, &ws, "token"),
            (Status::Warning, "rate-limited".into()),
            "{ws}"
        );
        let summary = summary(&runtime, &ws, "token");
        assert!(
            summary.contains("held back by labwatch: the instance's ([[instance]], shared by all its workspaces) request budget is spent")
                && summary.contains("GitLab did not refuse anything"),
            "{summary}"
        );
    }
}

fn summary(runtime: &Runtime, workspace: &str, check: &str) -> String {
    let key = CheckKey {
        workspace: workspace.into(),
        check: check.into(),
        target: None,
    };
    runtime
        .status()
        .get(&key)
        .expect("the check ran")
        .outcome
        .summary
        .clone()
}

/// The config of `n` workspaces on `sim`, with an `[[instance]]` table for
/// it holding `limits`.
async fn fleet_config_with(sim: &SimHandle, n: usize, limits: &str) -> ((), Config, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut text = format!(
        "[store]\ndir = \"{dir}/store\"\nkey_file = \"{dir}/store.key\"\n[defaults]\ninterval = \"1h\"\ntimeout = \"20s\"\n[[instance]]\nurl = \"{}\"\n{limits}\n",
        sim.base_url(),
        dir = dir.path().display()
    );
    for i in 0..n {
        let token = dir.path().join(format!("user-{i}"));
        std::fs::write(&token, "glpat-not-reached").unwrap();
        text.push_str(&format!(
            "[[workspace]]\nname = \"ws-{i}\"\ninstance_url = \"{}\"\ntoken_file = \"{}\"\nrepositories = [\"user-{i}/app\"]\nclone_probe = false\n",
            sim.base_url(),
            token.display()
        ));
    }
    ((), Config::parse(Path::new("fleet.toml"), &text).unwrap(), dir)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_metrics_say_how_long_a_round_takes_under_the_budget_and_how_far_behind_it_is() {
    let (sim, _, _dir) = fleet(3, "").await;
    let (_, config, _dir) = fleet_config_with(&sim, 3, "requests_per_minute = 1\nunauthenticated_per_minute = 1").await;
    let daemon = crate::support::in_process::serve(config, None).await;
    tokio::time::timeout(Duration::from_secs(60), first_round(&daemon.runtime))
        .await
        .expect("the first round finishes");
    let http = crate::support::in_process::http_client();
    let status: serde_json::Value = http
        .get(format!("http://{}/status", daemon.addr))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let instances = status["instances"].as_array().expect("an instances list");
    assert_eq!(instances.len(), 1, "{status}");
    let i = &instances[0];
    assert_eq!(i["url"], sim.base_url().trim_end_matches('/'));
    assert_eq!(i["workspaces"], 3);
    assert_eq!(i["requests_per_minute"], 1);
    assert_eq!(i["unauthenticated_per_minute"], 1);
    assert_eq!(i["interval_seconds"], 3600.0);
    assert_eq!(i["probe"]["reason"], "ok");
    // At least a request per workspace and the probe: four minutes or more
    // at one a minute, well inside the hour.
    let per_round = i["requests_per_round"].as_f64().unwrap();
    assert!(per_round >= 4.0, "{i}");
    assert_eq!(i["full_round_seconds"].as_f64().unwrap(), per_round * 60.0);
    assert_eq!(i["behind_seconds"], 0.0);
    let metrics = http
        .get(format!("http://{}/metrics", daemon.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let instance = sim.base_url().trim_end_matches('/');
    for line in [
        format!("labwatch_instance_workspaces{{instance=\"{instance}\"}} 3"),
        format!("labwatch_instance_budget_requests_per_minute{{instance=\"{instance}\",kind=\"all\"}} 1"),
        format!("labwatch_instance_behind_seconds{{instance=\"{instance}\"}} 0"),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} missing from:\n{metrics}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fleet_the_budget_cannot_fit_into_the_interval_is_reported_behind() {
    let (sim, _, _dir) = fleet(3, "").await;
    let (_, mut config, _dir) = fleet_config_with(&sim, 3, "requests_per_minute = 1").await;
    for ws in &mut config.workspaces {
        ws.interval = Duration::from_secs(60);
    }
    let daemon = crate::support::in_process::serve(config, None).await;
    tokio::time::timeout(Duration::from_secs(60), first_round(&daemon.runtime))
        .await
        .expect("the first round finishes");
    let metrics = crate::support::in_process::http_client()
        .get(format!("http://{}/metrics", daemon.addr))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let behind: f64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("labwatch_instance_behind_seconds{"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .expect("the behind metric");
    // Four requests or more a round at one a minute: a round takes four
    // minutes, three more than the one-minute interval.
    assert!(behind >= 180.0, "{behind}\n{metrics}");
}

/// `[metrics] repository_series` through a real daemon: each repository's
/// series, then, after a SIGHUP, one set for the workspace.
#[tokio::test(flavor = "multi_thread")]
async fn a_reload_folds_the_repository_series_into_one_set_per_workspace() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let config = dir.path().join("lw.toml");
    // An instance that refuses connections: the repository checks are
    // blocked (unknown), and are exported all the same.
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n\
         [defaults]\ninterval = \"1h\"\ntimeout = \"2s\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"http://127.0.0.1:9\"\nrepositories = [\"g/a\", \"g/b\"]\n"
    );
    std::fs::write(&config, &text).unwrap();
    let mut daemon = tokio::task::block_in_place(|| crate::support::process::Daemon::start(&config));
    tokio::task::block_in_place(|| daemon.wait_for("First round finished"));
    let (code, body) = crate::support::client::get(daemon.addr, "/metrics").await;
    assert_eq!(code, 200);
    let statuses = |body: &str| -> Vec<String> {
        body.lines()
            .filter(|l| l.starts_with("labwatch_check_status{check=\"repository\""))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        statuses(&body),
        [
            r#"labwatch_check_status{check="repository",target="g/a",workspace="acme"} 3"#,
            r#"labwatch_check_status{check="repository",target="g/b",workspace="acme"} 3"#,
        ]
    );

    std::fs::write(
        &config,
        format!("{text}[metrics]\nrepository_series = \"per-workspace\"\n"),
    )
    .unwrap();
    daemon.signal("HUP");
    tokio::task::block_in_place(|| daemon.wait_for("Configuration reloaded"));
    let (_, body) = crate::support::client::get(daemon.addr, "/metrics").await;
    assert_eq!(
        statuses(&body),
        [r#"labwatch_check_status{check="repository",target="*",workspace="acme"} 3"#]
    );
}
