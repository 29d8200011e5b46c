//! What the in-process benchmarks run on: a status store as a round over N
//! repositories leaves it, the router over it, a config watching N
//! repositories, and a page of GitLab projects.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use http_body_util::BodyExt;
use time::OffsetDateTime;
use tower::ServiceExt;

use labwatch::engine::{Capabilities, CapabilityView, CheckKey, DenialView, Outcome, StatusStore};
use labwatch::gitlab::GitlabMetrics;
use labwatch::http::{AppState, router as app_router};
use labwatch::metrics::Metrics;
use labwatch::report::ConnectionView;

const WORKSPACE: &str = "acme";

/// A store holding the instance, token and scopes checks and `n` passing
/// repository checks, with the measurements real runs leave.
pub fn store(n: usize) -> Arc<StatusStore> {
    let store = Arc::new(StatusStore::new());
    let mut checks = vec![
        ("instance".to_owned(), None),
        ("token".to_owned(), None),
        ("scopes".to_owned(), None),
    ];
    checks.extend((0..n).map(|i| ("repository".to_owned(), Some(repo(i)))));
    store.set_layout(vec![(
        WORKSPACE.into(),
        "https://gitlab.example.com".into(),
        checks.clone(),
    )]);
    let now = OffsetDateTime::now_utc();
    for (check, target) in checks {
        let outcome = match (check.as_str(), &target) {
            ("instance", _) => Outcome::ok("GitLab 17.5.0 answers.")
                .with_measurement("dns_seconds", 0.0012)
                .with_measurement("connect_seconds", 0.0031)
                .with_measurement("tls_seconds", 0.0123)
                .with_measurement("http_seconds", 0.0456),
            ("token", _) => Outcome::ok("The token expires in 60 days.")
                .with_measurement("expiry_timestamp_seconds", 1_790_000_000.0)
                .with_measurement("renewal_due_timestamp_seconds", 1_788_000_000.0),
            ("scopes", _) => Outcome::ok("The token has every required scope.")
                .with_measurement("scope_missing:api", 0.0)
                .with_measurement("scope_missing:read_repository", 0.0),
            (_, Some(t)) => repository(Outcome::ok(format!("`{t}` is reachable: private, you are Developer."))),
            _ => continue,
        };
        let key = CheckKey {
            workspace: WORKSPACE.into(),
            check,
            target,
        };
        store.record(&key, outcome, None, Duration::from_micros(1234), now);
    }
    store.finish_pass(WORKSPACE);
    store
}

/// A passing repository outcome as a real run leaves it: its project id
/// and the five capability verdicts, one of them `no` with its text.
fn repository(outcome: Outcome) -> Outcome {
    let mut outcome = outcome.with_measurement("project_id", 1000.0);
    outcome.capabilities = Capabilities::new(
        ["clone", "push", "issues", "merge_requests", "pipelines"]
            .into_iter()
            .map(|name| CapabilityView {
                name,
                needed: name == "clone",
                judged: false,
                denial: (name == "push").then(|| {
                    Box::new(DenialView {
                        reason: "role-too-low",
                        message: "To push to the repository GitLab requires at least the Developer (30) role here; the token's user has the Reporter (20) role.".to_owned(),
                        fix: "Ask a project Maintainer to give the user at least the Developer (30) role (Manage → Members).".to_owned(),
                    })
                }),
            })
            .collect(),
    );
    outcome
}

/// A fleet as a round leaves it: `n` workspaces of 3 repositories each,
/// every check passing, and the GitLab client's per-workspace series
/// created, as `/metrics` renders them in fleet mode.
pub fn fleet(n: usize) -> Metrics {
    let store = Arc::new(StatusStore::new());
    let gitlab = GitlabMetrics::new();
    let now = OffsetDateTime::now_utc();
    let layouts = (0..n)
        .map(|w| {
            let name = format!("ws-{w:05}");
            let mut checks = vec![
                ("instance".to_owned(), None),
                ("token".to_owned(), None),
                ("scopes".to_owned(), None),
            ];
            checks.extend((0..3).map(|r| ("repository".to_owned(), Some(format!("user-{w}/app-{r}")))));
            (name, "https://gitlab.com".to_owned(), checks)
        })
        .collect::<Vec<_>>();
    store.set_layout(layouts.clone());
    for (name, _, checks) in layouts {
        gitlab.init_workspace(&name);
        for (check, target) in checks {
            let outcome = match check.as_str() {
                "instance" => Outcome::ok("GitLab answers.")
                    .with_measurement("dns_seconds", 0.0012)
                    .with_measurement("connect_seconds", 0.0031)
                    .with_measurement("tls_seconds", 0.0123)
                    .with_measurement("http_seconds", 0.0456),
                "token" => Outcome::ok("The token expires in 60 days.")
                    .with_measurement("expiry_timestamp_seconds", 1_790_000_000.0)
                    .with_measurement("renewal_due_timestamp_seconds", 1_788_000_000.0),
                "scopes" => Outcome::ok("The token has every required scope.")
                    .with_measurement("scope_missing:api", 0.0)
                    .with_measurement("scope_missing:read_repository", 0.0),
                _ => repository(Outcome::ok("reachable: private, you are Developer.")),
            };
            let key = CheckKey {
                workspace: name.clone(),
                check,
                target,
            };
            store.record(&key, outcome, None, Duration::from_micros(1234), now);
        }
        store.finish_pass(&name);
    }
    Metrics::new(store, &gitlab)
}

fn repo(i: usize) -> String {
    format!("acme/project-{i:05}")
}

pub fn metrics(store: Arc<StatusStore>) -> Metrics {
    Metrics::new(store, &GitlabMetrics::new())
}

pub fn router(store: Arc<StatusStore>) -> axum::Router {
    app_router(AppState {
        metrics: Arc::new(metrics(store.clone())),
        status: store,
        connections: Arc::new(BTreeMap::<String, ConnectionView>::new()),
        fleet: Arc::new(labwatch::report::NoInstances),
        admin: None,
        config: Default::default(),
        store: None,
        replica: None,
    })
}

/// GET `path`; the body's length, so nothing is optimised away.
pub async fn get(router: &axum::Router, path: &str) -> usize {
    let request = axum::http::Request::get(path)
        .body(Body::empty())
        .expect("a GET request builds");
    let response = router.clone().oneshot(request).await.expect("the router is infallible");
    match response.into_body().collect().await {
        Ok(body) => body.to_bytes().len(),
        Err(_) => 0,
    }
}

/// A config watching `n` repositories of one workspace.
pub fn config_text(n: usize) -> String {
    let repos: Vec<String> = (0..n).map(|i| format!("\"{}\"", repo(i))).collect();
    format!(
        "[[workspace]]\nname = \"{WORKSPACE}\"\ninstance_url = \"https://gitlab.example.com\"\nrepositories = [{}]\n",
        repos.join(", ")
    )
}

/// A page of `n` projects in GitLab's full shape: the recorded fixture with
/// ids and paths changed.
pub fn project_page(n: usize) -> Vec<u8> {
    let text = include_str!("../../tests/fixtures/gitlab/project.json");
    let template: serde_json::Value = serde_json::from_str(text).expect("the fixture is JSON");
    let page: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            let mut p = template.clone();
            p["id"] = serde_json::json!(1000 + i);
            p["path_with_namespace"] = serde_json::json!(repo(i));
            p
        })
        .collect();
    serde_json::to_vec(&page).expect("JSON values serialize")
}
