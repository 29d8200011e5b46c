//! Faults the simulator makes by itself through its control API: a
//! connection dropped before the answer, truncated JSON, a 5xx storm,
//! latency past the timeout, and a clock jump past the token's expiry.

use std::time::Duration;

use super::{fail, lab, reason, round, state};

#[tokio::test]
async fn a_healthy_round_costs_a_handful_of_requests() {
    let lab = lab("10s").await;
    let store = round(&lab).await;
    assert_eq!(reason(&store, "repository", Some("acme/a")), "ok");
    // version, token, user, one listing page.
    assert_eq!(
        lab.sim.sim().counters().total,
        4,
        "{:#?}",
        lab.sim.sim().counters().by_route
    );
}

#[tokio::test]
async fn a_connection_reset_mid_request_is_request_failed_without_retries() {
    let lab = lab("10s").await;
    lab.sim.sim().drop_next(1, Some("/api/v4/personal_access_tokens/self"));
    let store = round(&lab).await;
    assert_eq!(reason(&store, "token", None), "request-failed");
    let c = lab.sim.sim().counters();
    assert_eq!(
        c.route("GET /api/v4/personal_access_tokens/self"),
        1,
        "not retried within the round: {c:#?}"
    );
    assert_eq!(state(&store, "scopes", None).blocked_by.as_deref(), Some("token"));
}

#[tokio::test]
async fn truncated_json_from_the_project_listing_is_reported_for_every_repository_with_one_request() {
    let lab = lab("10s").await;
    lab.sim.sim().fail_next(fail(
        1,
        200,
        "/api/v4/projects",
        Some(r#"[{"id": 1, "path_with_namespace": "acme/a", "#),
    ));
    let store = round(&lab).await;
    for repo in ["acme/a", "acme/b", "acme/c"] {
        assert_eq!(
            reason(&store, "repository", Some(repo)),
            "gitlab-answer-invalid",
            "{repo}"
        );
    }
    assert_eq!(
        lab.sim.sim().counters().route("GET /api/v4/projects"),
        1,
        "one listing shared by all repositories"
    );
}

#[tokio::test]
async fn a_5xx_storm_is_answered_with_one_request_per_round_not_a_storm() {
    let lab = lab("10s").await;
    lab.sim.sim().fail_next(fail(1000, 503, "/api/v4/", None));
    let store = round(&lab).await;
    // The anonymous /version probe gets the 503 too: the instance is down.
    assert_eq!(reason(&store, "instance", None), "http-server-error");
    assert_eq!(state(&store, "token", None).blocked_by.as_deref(), Some("instance"));
    assert_eq!(
        lab.sim.sim().counters().total,
        1,
        "nothing behind a failed instance is called"
    );
    let store = round(&lab).await;
    assert_eq!(reason(&store, "instance", None), "http-server-error");
    assert_eq!(lab.sim.sim().counters().total, 1);
}

#[tokio::test]
async fn latency_beyond_the_timeout_is_reported_as_a_timeout() {
    let lab = lab("1s").await;
    lab.sim.sim().set_latency(Duration::from_secs(5));
    let store = round(&lab).await;
    let r = reason(&store, "instance", None);
    assert!(r == "http-timeout" || r == "check-timeout", "{r}");
    assert_eq!(state(&store, "token", None).blocked_by.as_deref(), Some("instance"));
    lab.sim.sim().set_latency(Duration::ZERO);
    let store = round(&lab).await;
    assert_eq!(reason(&store, "instance", None), "ok", "recovers on the next round");
}

#[tokio::test]
async fn a_clock_jump_past_the_expiry_shows_as_an_expired_token() {
    let lab = lab("10s").await;
    let later = lab.sim.sim().today() + time::Duration::days(400);
    lab.sim.sim().set_today(later);
    let store = round(&lab).await;
    assert_eq!(reason(&store, "token", None), "token-expired");
    let c = lab.sim.sim().counters();
    assert_eq!(
        c.status(401),
        2,
        "the anonymous /version probe and exactly one token call: {c:#?}"
    );
}
