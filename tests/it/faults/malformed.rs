//! Answers that arrive whole, with 200, but are not what GitLab sends: JSON
//! of the wrong shape, fields of the wrong type, an HTML page. Each is
//! `gitlab-answer-invalid` (never read as "no projects" or "no scopes"), and
//! costs exactly one request.

use labwatch::engine::Status;
use labwatch::sim::FailSpec;

use super::{fail, lab, round, state};

/// A 200 answer with `body` of `content_type` for the next request under `prefix`.
fn answer(prefix: &str, content_type: &str, body: &str) -> FailSpec {
    FailSpec {
        content_type: Some(content_type.into()),
        ..fail(1, 200, prefix, Some(body))
    }
}

#[track_caller]
fn assert_invalid(outcome: &labwatch::engine::Outcome, case: &str, url: &str) {
    assert_eq!(
        (outcome.status, outcome.reason.as_str()),
        (Status::Unknown, "gitlab-answer-invalid"),
        "{case}: {outcome:#?}"
    );
    assert!(
        outcome.summary.contains("could not be read"),
        "{case}: {}",
        outcome.summary
    );
    assert!(
        outcome.remediation[0].contains(&format!("Verify your instance URL {url}")),
        "{case}: {:?}",
        outcome.remediation
    );
}

#[tokio::test]
async fn a_project_listing_of_the_wrong_shape_is_gitlab_answer_invalid_for_every_repository() {
    let cases = [
        (
            "an object instead of an array",
            "application/json",
            r#"{"id": 1, "path_with_namespace": "acme/a"}"#,
        ),
        (
            "projects without their required fields",
            "application/json",
            r#"[{"name": "a"}, {"name": "b"}]"#,
        ),
        (
            "an id that is not a number",
            "application/json",
            r#"[{"id": "one", "path_with_namespace": "acme/a"}]"#,
        ),
        (
            "an HTML sign-in page",
            "text/html; charset=utf-8",
            "<!DOCTYPE html><html><title>Sign in · GitLab</title></html>",
        ),
        ("JSON null", "application/json", "null"),
    ];
    let lab = lab("10s").await;
    for (case, content_type, body) in cases {
        lab.sim.sim().fail_next(answer("/api/v4/projects", content_type, body));
        let store = round(&lab).await;
        assert_eq!(state(&store, "token", None).outcome.status, Status::Ok, "{case}");
        for repo in ["acme/a", "acme/b", "acme/c"] {
            let outcome = state(&store, "repository", Some(repo)).outcome;
            assert_invalid(&outcome, &format!("{case}, {repo}"), lab.sim.base_url());
            assert!(
                outcome.summary.contains("the project listing"),
                "{case}: {}",
                outcome.summary
            );
        }
        let c = lab.sim.sim().counters();
        assert_eq!(c.route("GET /api/v4/projects"), 1, "{case}: {c:#?}");
        assert_eq!(c.route("GET /api/v4/projects/{id}"), 0, "{case}: {c:#?}");
    }
}

#[tokio::test]
async fn a_token_answer_of_the_wrong_shape_is_gitlab_answer_invalid_and_blocks_the_scopes() {
    let cases = [
        (
            "fields of the wrong type",
            r#"{"id": "7", "name": 7, "scopes": "api", "active": "yes"}"#,
        ),
        (
            "an expiry that is not a date",
            r#"{"id": 7, "name": "ws", "scopes": ["api"], "active": true, "expires_at": "next year"}"#,
        ),
        ("an array instead of an object", r#"[{"id": 7, "name": "ws"}]"#),
        ("an empty body", ""),
    ];
    let lab = lab("10s").await;
    for (case, body) in cases {
        lab.sim
            .sim()
            .fail_next(answer("/api/v4/personal_access_tokens/self", "application/json", body));
        let store = round(&lab).await;
        let token = state(&store, "token", None).outcome;
        assert_invalid(&token, case, lab.sim.base_url());
        assert!(token.summary.contains("the token"), "{case}: {}", token.summary);
        assert_eq!(
            state(&store, "scopes", None).blocked_by.as_deref(),
            Some("token"),
            "{case}: no scopes read from a broken answer"
        );
        let c = lab.sim.sim().counters();
        assert_eq!(c.route("GET /api/v4/personal_access_tokens/self"), 1, "{case}: {c:#?}");
        assert_eq!(c.total, 2, "the instance probe and the token call: {c:#?}");
    }
}
