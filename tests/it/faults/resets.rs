//! Connections reset in the middle of an answer's body (the head and part of
//! the body arrived, then a TCP RST), made by the proxy of
//! `support::proxy` between labwatch and the simulator: on the token call
//! and on the project listing. The failed call is reported, not retried
//! within the round, and the next round starts afresh.

use std::sync::Arc;

use labwatch::checks::Shared;
use labwatch::engine::{Status, StatusStore, run_once};

use super::{lab, round_of, state};
use crate::support::proxy::Proxy;

const TOKEN_SELF: &str = "/api/v4/personal_access_tokens/self";

#[tokio::test]
async fn a_reset_in_the_middle_of_the_token_answer_is_request_failed_without_retries() {
    let lab = lab("10s").await;
    let proxy = Proxy::start(lab.sim.addr()).await;
    let config = lab.config_for(&proxy.url(), "");
    proxy.reset_mid_body(1, TOKEN_SELF, 20);

    let shared = Shared::default();
    let store = Arc::new(StatusStore::new());
    lab.sim.sim().reset_counters();
    run_once(labwatch::runtime::plans(&config, &shared), store.clone(), 4).await;
    assert_eq!(proxy.resets(), 1, "the answer was cut");
    let token = state(&store, "token", None).outcome;
    assert_eq!(
        (token.status, token.reason.as_str()),
        (Status::Unknown, "request-failed"),
        "{token:#?}"
    );
    assert!(
        token
            .summary
            .starts_with("Reading the token from GitLab failed: GitLab's answer broke off after"),
        "not a refusal, and says the answer was cut: {token:#?}"
    );
    // Counted as an error, not as the 200 its headers promised.
    let metrics = labwatch::metrics::Metrics::new(store.clone(), &shared.gitlab_metrics).render(&[]);
    assert!(
        metrics.contains(r#"labwatch_gitlab_requests_total{code="error",workspace="acme"} 1"#),
        "{metrics}"
    );
    assert!(
        token.remediation[0].contains(&format!("Check whether GitLab at {}", proxy.url())),
        "{:?}",
        token.remediation
    );
    let c = lab.sim.sim().counters();
    assert_eq!(
        c.route("GET /api/v4/personal_access_tokens/self"),
        1,
        "not retried: {c:#?}"
    );
    assert_eq!(c.route("GET /api/v4/user"), 0, "nothing after the failed call: {c:#?}");
    assert_eq!(state(&store, "scopes", None).blocked_by.as_deref(), Some("token"));
    assert_eq!(
        state(&store, "repository", Some("acme/a")).blocked_by.as_deref(),
        Some("token")
    );
}

#[tokio::test]
async fn a_reset_in_the_middle_of_the_project_listing_fails_every_repository_with_one_request() {
    let lab = lab("10s").await;
    let proxy = Proxy::start(lab.sim.addr()).await;
    let config = lab.config_for(&proxy.url(), "");
    proxy.reset_mid_body(1, "/api/v4/projects", 100);

    let store = round_of(&lab, &config).await;
    assert_eq!(proxy.resets(), 1, "the answer was cut");
    assert_eq!(state(&store, "token", None).outcome.status, Status::Ok);
    for repo in ["acme/a", "acme/b", "acme/c"] {
        let s = state(&store, "repository", Some(repo)).outcome;
        assert_eq!(
            (s.status, s.reason.as_str()),
            (Status::Unknown, "request-failed"),
            "{repo}: {s:#?}"
        );
        assert!(s.summary.contains("the project listing"), "{repo}: {}", s.summary);
    }
    let c = lab.sim.sim().counters();
    assert_eq!(
        c.route("GET /api/v4/projects"),
        1,
        "one listing for all repositories, not retried: {c:#?}"
    );
    assert_eq!(
        c.route("GET /api/v4/projects/{id}"),
        0,
        "no per-project fallback: {c:#?}"
    );

    let store = round_of(&lab, &config).await;
    for repo in ["acme/a", "acme/b", "acme/c"] {
        assert_eq!(
            state(&store, "repository", Some(repo)).outcome.status,
            Status::Ok,
            "the next round recovers: {repo}"
        );
    }
}
