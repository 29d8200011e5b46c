//! GitLab's 429 with `Retry-After` on the project listing of a workspace
//! with many repositories, under the daemon's scheduler: one request finds
//! out, every repository says so, and the workspace's next round sends
//! GitLab nothing with the token until `Retry-After` has passed.

use labwatch::engine::Status;

use super::{Daemon, fail, lab_with, repo_names, state};

#[tokio::test]
async fn a_429_on_the_listing_marks_every_repository_and_the_next_round_sends_no_token() {
    let repos = repo_names(40);
    let lab = lab_with(&repos, "10s").await;
    let mut spec = fail(1, 429, "/api/v4/projects", Some("Retry later"));
    spec.content_type = Some("text/plain".into());
    spec.headers.insert("Retry-After".into(), "600".into());
    lab.sim.sim().fail_next(spec);

    let mut daemon = Daemon::start(lab.config.clone()).await;
    let store = daemon.store();
    let c = lab.sim.sim().counters();
    assert_eq!(
        c.route("GET /api/v4/projects"),
        1,
        "one listing for 40 repositories: {c:#?}"
    );
    assert_eq!(c.status(429), 1, "{c:#?}");
    assert_eq!(
        c.route("GET /api/v4/projects/{id}"),
        0,
        "no per-project fallback: {c:#?}"
    );
    assert_eq!(state(&store, "token", None).outcome.status, Status::Ok);
    for repo in &repos {
        let s = state(&store, "repository", Some(repo)).outcome;
        assert_eq!(
            (s.status, s.reason.as_str()),
            (Status::Warning, "rate-limited"),
            "{repo}: {s:#?}"
        );
        assert!(s.summary.contains("retry in 10m"), "{repo}: {}", s.summary);
        assert!(
            s.remediation[0].contains("`requests_per_second`") && s.remediation[0].contains("workspace `acme`"),
            "{repo}: {:?}",
            s.remediation
        );
    }

    lab.sim.sim().reset_counters();
    daemon.round().await;
    let c = lab.sim.sim().counters();
    // The instance probe asks /version without a token every round; it is
    // the only request that may reach GitLab inside the Retry-After window.
    assert!(
        c.recent.iter().all(|r| r.token_id.is_none()),
        "no request carried the token: {c:#?}"
    );
    assert_eq!(c.total, 1, "only the anonymous instance probe: {c:#?}");
    assert_eq!(c.route("GET /api/v4/version"), 1, "{c:#?}");
    let token = state(&store, "token", None).outcome;
    assert_eq!(
        (token.status, token.reason.as_str()),
        (Status::Warning, "rate-limited"),
        "the token check waits too: {token:#?}"
    );
    let scopes = state(&store, "scopes", None).outcome;
    assert_eq!(
        (scopes.status, scopes.reason.as_str()),
        (Status::Warning, "rate-limited"),
        "no stale ok from the first round's token answer: {scopes:#?}"
    );
    for repo in &repos {
        assert_eq!(
            state(&store, "repository", Some(repo)).outcome.reason,
            "rate-limited",
            "{repo}"
        );
    }
}
