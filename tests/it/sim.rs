//! The GitLab simulator, driven over HTTP like labwatch drives GitLab: its
//! answers are compared with the real response bodies in
//! `tests/fixtures/gitlab/`, and its behaviour with docs/gitlab.md (auth errors,
//! rotation and token families, pagination, moved and invisible projects,
//! git `info/refs`, rate limits, the failed-auth ban) and its control API.

use std::path::PathBuf;
use std::time::Duration;

use labwatch::sim::{
    AccessLevel, Expiry, FailSpec, GroupSpec, Limits, ProjectSpec, RepositoryAccess, Scenario, SimHandle, TokenSpec,
    UserSpec, Visibility,
};
use reqwest::Method;
use serde_json::{Value, json};
use time::Date;
use time::macros::date;

use crate::support::sim_http::{Answer, call, client, get, git, post, serve};

const TODAY: Date = date!(2026 - 03 - 01);

// --- the test world ---

const ALICE: &str = "glpat-alice-api-000000000000";
const ALICE_READ_USER: &str = "glpat-alice-read-user-000000";
const ALICE_READ_API: &str = "glpat-alice-read-api-0000000";
const ALICE_SELF_ROTATE: &str = "glpat-alice-self-rotate-0000";
const ALICE_EXPIRED: &str = "glpat-alice-expired-00000000";
const ALICE_REVOKED: &str = "glpat-alice-revoked-00000000";
const ALICE_EXPIRED_REVOKED: &str = "glpat-alice-exp-revoked-0000";
const BOB: &str = "glpat-bob-api-00000000000000";
const CAROL_BLOCKED: &str = "glpat-carol-blocked-00000000";

/// alice is a member of several projects, bob of one she cannot see, carol
/// is blocked. `alice/dotfiles` has every optional field filled in.
fn scenario() -> Scenario {
    let mut s = Scenario::new(TODAY);
    for user in [
        UserSpec::new("alice"),
        UserSpec::new("bob"),
        UserSpec::new("carol").blocked(),
    ] {
        s.add_user(user).expect("user");
    }
    let tokens = [
        TokenSpec::new("alice", "workspace")
            .scopes(&["api", "read_repository"])
            .secret(ALICE)
            .description("Test Token description")
            .expires(Expiry::InDays(60)),
        TokenSpec::new("alice", "user only")
            .scopes(&["read_user"])
            .secret(ALICE_READ_USER),
        TokenSpec::new("alice", "read api")
            .scopes(&["read_api"])
            .secret(ALICE_READ_API),
        TokenSpec::new("alice", "self rotate")
            .scopes(&["self_rotate"])
            .secret(ALICE_SELF_ROTATE),
        TokenSpec::new("alice", "expired")
            .secret(ALICE_EXPIRED)
            .expires(Expiry::On(TODAY)),
        TokenSpec::new("alice", "revoked").secret(ALICE_REVOKED).revoked(),
        TokenSpec::new("alice", "both")
            .secret(ALICE_EXPIRED_REVOKED)
            .expires(Expiry::InDays(-3))
            .revoked(),
        TokenSpec::new("bob", "bob").secret(BOB),
        TokenSpec::new("carol", "carol").secret(CAROL_BLOCKED),
    ];
    for token in tokens {
        s.add_token(token).expect("token");
    }
    let projects = [
        ProjectSpec::new("acme/backend")
            .member("alice", AccessLevel::DEVELOPER)
            .description("The backend"),
        ProjectSpec::new("acme/frontend").visibility(Visibility::Internal),
        ProjectSpec::new("acme/docs").visibility(Visibility::Public),
        ProjectSpec::new("acme/secret").member("bob", AccessLevel::OWNER),
        ProjectSpec::new("acme/platform")
            .member("alice", AccessLevel::MAINTAINER)
            .redirect_from("acme/old-platform"),
        ProjectSpec::new("acme/wiki-only")
            .member("alice", AccessLevel::DEVELOPER)
            .repository(RepositoryAccess::Disabled),
        ProjectSpec::new("acme/design").member("alice", AccessLevel::GUEST),
        ProjectSpec::new("acme/legacy")
            .member("alice", AccessLevel::DEVELOPER)
            .archived(),
        ProjectSpec::new("bob/hidden-notes").redirect_from("bob/old-notes"),
        ProjectSpec {
            marked_for_deletion_on: Some(date!(2026 - 04 - 01)),
            ..ProjectSpec::new("alice/dotfiles").description("My dotfiles")
        },
    ];
    for project in projects {
        s.add_project(project).expect("project");
    }
    s
}

fn token_id(gitlab: &SimHandle, secret: &str) -> u64 {
    gitlab.token(secret).expect("token exists").id
}

// --- fixtures ---

/// How a simulator answer is compared with a fixture.
#[derive(Clone, Copy)]
enum Mode {
    /// Same keys at every level.
    Exact,
    /// Every fixture key present (the simulator may add keys: a newer entity
    /// or the union of two doc examples of the same entity).
    FixtureKeys,
}

struct Mapping {
    fixture: &'static str,
    method: Method,
    path: String,
    token: Option<&'static str>,
    status: u16,
    mode: Mode,
    /// Keys whose value may be null in the simulator though the fixture shows
    /// a value (optional data the fixture's example happens to have).
    nullable: &'static [&'static str],
    /// Fixture keys the simulator leaves out on purpose.
    missing_ok: &'static [&'static str],
}

fn mapping(fixture: &'static str, method: Method, path: impl Into<String>, token: Option<&'static str>) -> Mapping {
    Mapping {
        fixture,
        method,
        path: path.into(),
        token,
        status: 200,
        mode: Mode::Exact,
        nullable: &[],
        missing_ok: &[],
    }
}

/// Fixtures with no simulator counterpart, and why.
const NOT_APPLICABLE: &[(&str, &str)] = &[
    (
        "error_400_not_personal_access_token.json",
        "needs an OAuth token; the simulator knows only personal access tokens",
    ),
    (
        "error_405_method_not_allowed.json",
        "self-rotation with a non-PAT token; the simulator knows only personal access tokens",
    ),
    (
        "error_429_application_rate_limit.json",
        "application-level endpoint limit; the simulator models Rack Attack throttles (text 429), \
         tests inject this body through the fail-next control",
    ),
    (
        "personal_access_token_associations.json",
        "GET /personal_access_tokens/self/associations is not called by labwatch, so not simulated",
    ),
];

const PROJECT_NULLABLE: &[&str] = &[
    "avatar_url",            // no avatar uploaded
    "mirror_user_id",        // not a pull mirror
    "issue_branch_template", // unset setting
    "description",           // projects without a description
    "group_access",          // no group membership (personal projects have none)
];

fn fixture_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gitlab")
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "float",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Same field names and JSON types, recursively; a null in the fixture
/// matches anything; arrays compare their elements with the fixture's first.
fn compare(expected: &Value, actual: &Value, at: &str, m: &Mapping, problems: &mut Vec<String>) {
    let key = at.rsplit(['.', '[']).next().unwrap_or(at);
    if expected.is_null() || (actual.is_null() && m.nullable.contains(&key)) {
        return;
    }
    if type_name(expected) != type_name(actual) {
        problems.push(format!(
            "{at}: fixture has {}, simulator {}",
            type_name(expected),
            type_name(actual)
        ));
        return;
    }
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                match a.get(k) {
                    Some(av) => compare(ev, av, &format!("{at}.{k}"), m, problems),
                    None if m.missing_ok.contains(&k.as_str()) => {}
                    None => problems.push(format!("{at}.{k}: missing in the simulator")),
                }
            }
            if matches!(m.mode, Mode::Exact) {
                for k in a.keys().filter(|k| !e.contains_key(*k)) {
                    problems.push(format!("{at}.{k}: not in the fixture"));
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, av) in a.iter().enumerate() {
                    compare(first, av, &format!("{at}[{i}]"), m, problems);
                }
            }
        }
        _ => {}
    }
}

#[tokio::test]
async fn every_fixture_matches_the_simulator_or_is_excused() {
    let mut s = scenario();
    s.add_token(
        TokenSpec::new("alice", "Rotated Token")
            .secret("glpat-rotate-self-fixture00")
            .description("d"),
    )
    .expect("token");
    let rotate_id = s
        .add_token(TokenSpec::new("alice", "Rotated Token").description("d"))
        .expect("token");
    let rotate_id_go = s.add_token(TokenSpec::new("alice", "Rotated Token")).expect("token");
    let revoked_id = token_id_in(&s, ALICE_REVOKED);
    let gitlab = serve(s).await;
    let self_rotate_secret: &'static str = "glpat-rotate-self-fixture00";

    let p = |path: &str| format!("/api/v4{path}");
    let mut maps = vec![
        mapping("user.json", Method::GET, p("/user"), Some(ALICE)),
        mapping("metadata.json", Method::GET, p("/metadata"), Some(ALICE)),
        Mapping {
            mode: Mode::FixtureKeys,
            ..mapping("version.json", Method::GET, p("/version"), Some(ALICE))
        },
        mapping(
            "personal_access_token_self.json",
            Method::GET,
            p("/personal_access_tokens/self"),
            Some(ALICE),
        ),
        mapping(
            "personal_access_token_self_rotate.json",
            Method::POST,
            p("/personal_access_tokens/self/rotate"),
            Some(self_rotate_secret),
        ),
        mapping(
            "personal_access_token_rotate.json",
            Method::POST,
            p(&format!("/personal_access_tokens/{}/rotate", rotate_id.id)),
            Some(ALICE),
        ),
        Mapping {
            mode: Mode::FixtureKeys,
            ..mapping(
                "personal_access_token_rotate_go_gitlab.json",
                Method::POST,
                p(&format!("/personal_access_tokens/{}/rotate", rotate_id_go.id)),
                Some(ALICE),
            )
        },
        mapping("users_list.json", Method::GET, p("/users"), Some(ALICE)),
        mapping("user_profile.json", Method::GET, p("/users/2"), Some(ALICE)),
        Mapping {
            // Tokens without a description or never used; `granular_scopes`
            // only for tokens created with granular scopes (docs/gitlab.md §14).
            nullable: &["description", "last_used_at"],
            missing_ok: &["granular_scopes"],
            ..mapping(
                "personal_access_tokens_list.json",
                Method::GET,
                p("/personal_access_tokens"),
                Some(ALICE),
            )
        },
        Mapping {
            status: 400,
            ..mapping(
                "error_400_rotate_token_already_revoked.json",
                Method::POST,
                p(&format!("/personal_access_tokens/{revoked_id}/rotate")),
                Some(ALICE),
            )
        },
        Mapping {
            mode: Mode::FixtureKeys,
            nullable: PROJECT_NULLABLE,
            // The doc example spells it `printing_merge_requests_link_enabled`;
            // the entity (and projects_full.json) say `printing_merge_request_link_enabled`.
            missing_ok: &["printing_merge_requests_link_enabled"],
            ..mapping(
                "project.json",
                Method::GET,
                p("/projects/alice%2Fdotfiles?license=true&statistics=true"),
                Some(ALICE),
            )
        },
        Mapping {
            mode: Mode::FixtureKeys,
            nullable: PROJECT_NULLABLE,
            ..mapping("projects_full.json", Method::GET, p("/projects"), Some(ALICE))
        },
        Mapping {
            mode: Mode::FixtureKeys,
            nullable: PROJECT_NULLABLE,
            // Only for callers who can read the code (docs/gitlab.md §7); alice cannot in some projects.
            missing_ok: &["default_branch"],
            ..mapping(
                "projects_simple.json",
                Method::GET,
                p("/projects?simple=true"),
                Some(ALICE),
            )
        },
        Mapping {
            status: 401,
            ..mapping("error_401.json", Method::GET, p("/user"), None)
        },
        Mapping {
            status: 401,
            ..mapping(
                "error_401_token_expired.json",
                Method::GET,
                p("/user"),
                Some(ALICE_EXPIRED),
            )
        },
        Mapping {
            status: 401,
            ..mapping(
                "error_401_token_revoked.json",
                Method::GET,
                p("/user"),
                Some(ALICE_REVOKED),
            )
        },
        Mapping {
            status: 403,
            ..mapping(
                "error_403_insufficient_scope.json",
                Method::GET,
                p("/projects"),
                Some(ALICE_READ_USER),
            )
        },
        Mapping {
            status: 404,
            ..mapping(
                "error_404_project.json",
                Method::GET,
                p("/projects/999999"),
                Some(ALICE),
            )
        },
        Mapping {
            status: 404,
            ..mapping(
                "error_404_unknown_route.json",
                Method::GET,
                p("/no/such/route"),
                Some(ALICE),
            )
        },
        Mapping {
            status: 405,
            ..mapping(
                "error_405_offset_pagination_limit.json",
                Method::GET,
                p("/projects?page=2502&per_page=20"),
                Some(ALICE),
            )
        },
        mapping("health_liveness_ok.json", Method::GET, "/-/liveness", None),
        mapping("health_readiness_ok.json", Method::GET, "/-/readiness", None),
    ];
    // Needs the instance switched to "not ready", so it runs last.
    maps.push(Mapping {
        status: 503,
        ..mapping("health_readiness_failed.json", Method::GET, "/-/readiness", None)
    });

    let mut problems = Vec::new();
    for m in &maps {
        if m.fixture == "health_readiness_failed.json" {
            gitlab.update_instance(|i| i.readiness_ok = false);
        }
        let text = std::fs::read_to_string(fixture_dir().join(m.fixture)).expect("fixture readable");
        let expected: Value = serde_json::from_str(&text).expect("fixture is JSON");
        let answer = call(&gitlab, m.method.clone(), &m.path, m.token, None).await;
        if answer.status.as_u16() != m.status {
            problems.push(format!(
                "{}: status {} (want {}): {}",
                m.fixture, answer.status, m.status, answer.text
            ));
            continue;
        }
        let mut found = Vec::new();
        compare(&expected, &answer.json(), "$", m, &mut found);
        problems.extend(found.into_iter().map(|p| format!("{}: {p}", m.fixture)));
    }

    let mapped: Vec<&str> = maps.iter().map(|m| m.fixture).collect();
    for entry in std::fs::read_dir(fixture_dir()).expect("fixture dir") {
        let name = entry.expect("entry").file_name().to_string_lossy().into_owned();
        if !name.ends_with(".json") {
            continue;
        }
        let excused = NOT_APPLICABLE.iter().any(|(f, _)| *f == name);
        match (mapped.contains(&name.as_str()), excused) {
            (true, true) => problems.push(format!("{name}: both mapped and excused")),
            (false, false) => problems.push(format!("{name}: neither mapped to a request nor excused")),
            _ => {}
        }
    }
    assert!(problems.is_empty(), "fixture mismatches:\n{}", problems.join("\n"));
}

fn token_id_in(s: &Scenario, secret: &str) -> u64 {
    s.summary()
        .users
        .iter()
        .flat_map(|u| &u.tokens)
        .find(|t| t.token == secret)
        .expect("token in scenario")
        .id
}

// --- authentication ---

#[tokio::test]
async fn token_accepted_as_header_parameter_and_bearer() {
    let gitlab = serve(scenario()).await;
    let header = get(&gitlab, "/api/v4/user", Some(ALICE)).await;
    assert_eq!(header.status, 200);
    assert_eq!(header.json()["username"], "alice");
    assert_eq!(header.json()["web_url"], format!("{}/alice", gitlab.base_url()));

    let param = get(&gitlab, &format!("/api/v4/user?private_token={ALICE}"), None).await;
    assert_eq!(param.status, 200);

    let bearer = client()
        .get(format!("{}/api/v4/user", gitlab.base_url()))
        .bearer_auth(ALICE)
        .send()
        .await
        .expect("answered");
    assert_eq!(bearer.status(), 200);
}

#[tokio::test]
async fn missing_and_unknown_tokens_get_plain_401_without_challenge() {
    let gitlab = serve(scenario()).await;
    for token in [None, Some("glpat-nobody-knows-this-one")] {
        for path in [
            "/api/v4/user",
            "/api/v4/version",
            "/api/v4/metadata",
            "/api/v4/personal_access_tokens/self",
        ] {
            let answer = get(&gitlab, path, token).await;
            assert_eq!(answer.status, 401, "{path}");
            assert_eq!(answer.json(), json!({"message": "401 Unauthorized"}));
            assert!(answer.header("www-authenticate").is_none());
        }
    }
    // An invalid token fails even where anonymous access is allowed.
    let answer = get(&gitlab, "/api/v4/projects", Some("glpat-nobody-knows-this-one")).await;
    assert_eq!(answer.status, 401);
}

#[tokio::test]
async fn expired_and_revoked_tokens_get_invalid_token_with_challenge() {
    let gitlab = serve(scenario()).await;
    let expired = get(&gitlab, "/api/v4/personal_access_tokens/self", Some(ALICE_EXPIRED)).await;
    assert_eq!(expired.status, 401);
    let description = "Token is expired. You can either do re-authorization or token refresh.";
    assert_eq!(
        expired.json(),
        json!({"error": "invalid_token", "error_description": description})
    );
    assert_eq!(
        expired.header("www-authenticate"),
        Some(
            r#"Bearer realm="Protected by OAuth 2.0", error="invalid_token", error_description="Token is expired. You can either do re-authorization or token refresh.""#
        )
    );

    let revoked = get(&gitlab, "/api/v4/user", Some(ALICE_REVOKED)).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(
        revoked.json()["error_description"],
        "Token was revoked. You have to re-authorize from the user."
    );
    assert!(
        revoked
            .header("www-authenticate")
            .is_some_and(|h| h.contains("Token was revoked"))
    );

    // Expiry is checked first.
    let both = get(&gitlab, "/api/v4/user", Some(ALICE_EXPIRED_REVOKED)).await;
    assert_eq!(both.json()["error_description"], description);
}

#[tokio::test]
async fn expiry_starts_at_midnight_of_the_expiry_date() {
    let gitlab = serve(scenario()).await;
    gitlab
        .set_token_expiry(ALICE, Some(date!(2026 - 03 - 02)))
        .expect("token");
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
    gitlab.set_today(date!(2026 - 03 - 02));
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 401);
    let info = gitlab.token(ALICE).expect("token");
    assert!(!info.active && !info.revoked);
}

#[tokio::test]
async fn insufficient_scope_names_the_accepted_scopes() {
    let gitlab = serve(scenario()).await;
    let answer = get(&gitlab, "/api/v4/projects", Some(ALICE_READ_USER)).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.json(),
        json!({
            "error": "insufficient_scope",
            "error_description": "The request requires higher privileges than provided by the access token.",
            "scope": "api read_api",
        })
    );
    assert!(answer.header("www-authenticate").is_none());
    // read_user is enough for /user and /version; any scope for /self.
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE_READ_USER)).await.status, 200);
    assert_eq!(get(&gitlab, "/api/v4/version", Some(ALICE_READ_USER)).await.status, 200);
    let self_rotate_only = get(&gitlab, "/api/v4/personal_access_tokens/self", Some(ALICE_SELF_ROTATE)).await;
    assert_eq!(self_rotate_only.status, 200);
    assert_eq!(self_rotate_only.json()["scopes"], json!(["self_rotate"]));
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE_SELF_ROTATE)).await.status, 403);
}

#[tokio::test]
async fn blocked_user_gets_403() {
    let gitlab = serve(scenario()).await;
    let answer = get(&gitlab, "/api/v4/user", Some(CAROL_BLOCKED)).await;
    assert_eq!(answer.status, 403);
    assert!(
        answer.json()["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("403 Forbidden"))
    );
}

#[tokio::test]
async fn version_and_metadata_report_the_configured_version() {
    let gitlab = serve(scenario()).await;
    let version = get(&gitlab, "/api/v4/version", Some(ALICE)).await.json();
    assert_eq!(version["version"], "17.5.0");
    assert_eq!(version, get(&gitlab, "/api/v4/metadata", Some(ALICE)).await.json());
}

// --- self-service and rotation ---

#[tokio::test]
async fn self_inspection_and_self_revocation() {
    let gitlab = serve(scenario()).await;
    let me = get(&gitlab, "/api/v4/personal_access_tokens/self", Some(ALICE)).await;
    assert_eq!(me.status, 200);
    let me = me.json();
    assert_eq!(me["name"], "workspace");
    assert_eq!(me["expires_at"], "2026-04-30");
    assert_eq!(me["active"], true);
    assert!(me["last_used_at"].is_string(), "a use is recorded");

    let deleted = call(
        &gitlab,
        Method::DELETE,
        "/api/v4/personal_access_tokens/self",
        Some(ALICE),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204);
    assert!(deleted.text.is_empty());
    let after = get(&gitlab, "/api/v4/user", Some(ALICE)).await;
    assert_eq!(after.status, 401);
    assert_eq!(
        after.json()["error_description"],
        "Token was revoked. You have to re-authorize from the user."
    );
}

#[tokio::test]
async fn self_rotation_revokes_the_old_token_and_defaults_to_a_week() {
    let gitlab = serve(scenario()).await;
    let old_id = token_id(&gitlab, ALICE);
    let rotated = post(&gitlab, "/api/v4/personal_access_tokens/self/rotate", Some(ALICE)).await;
    assert_eq!(rotated.status, 200);
    let body = rotated.json();
    let new_secret = body["token"].as_str().expect("new secret").to_owned();
    assert!(new_secret.starts_with("glpat-"));
    assert_eq!(body["expires_at"], "2026-03-08");
    assert_eq!(body["name"], "workspace");
    assert_eq!(body["scopes"], json!(["api", "read_repository"]));
    assert_eq!(body["active"], true);

    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 401);
    assert_eq!(get(&gitlab, "/api/v4/user", Some(&new_secret)).await.status, 200);
    let new = gitlab.token(new_secret.as_str()).expect("new token");
    assert_eq!(new.previous_id, Some(old_id));
    assert!(gitlab.token(old_id).expect("old token").revoked);
}

#[tokio::test]
async fn rotation_takes_expires_at_from_query_or_body() {
    let gitlab = serve(scenario()).await;
    let by_query = post(
        &gitlab,
        "/api/v4/personal_access_tokens/self/rotate?expires_at=2026-05-01",
        Some(ALICE),
    )
    .await;
    assert_eq!(by_query.json()["expires_at"], "2026-05-01");
    let secret = by_query.json()["token"].as_str().expect("secret").to_owned();

    // The token goes in a header; the JSON body carries the date.
    let by_json = client()
        .post(format!(
            "{}/api/v4/personal_access_tokens/self/rotate",
            gitlab.base_url()
        ))
        .header("PRIVATE-TOKEN", &secret)
        .json(&json!({"expires_at": "2026-06-01"}))
        .send()
        .await
        .expect("answered");
    assert_eq!(by_json.status(), 200);
    let body: Value = by_json.json().await.expect("JSON");
    assert_eq!(body["expires_at"], "2026-06-01");

    let bad = post(
        &gitlab,
        "/api/v4/personal_access_tokens/self/rotate?expires_at=soon",
        Some(BOB),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json(), json!({"error": "expires_at is invalid"}));
}

#[tokio::test]
async fn rotation_beyond_the_maximum_lifetime_fails_and_keeps_the_old_token() {
    let gitlab = serve(scenario()).await;
    let answer = post(
        &gitlab,
        "/api/v4/personal_access_tokens/self/rotate?expires_at=2027-06-01",
        Some(ALICE),
    )
    .await;
    assert_eq!(answer.status, 400);
    assert_eq!(
        answer.json(),
        json!({"message": "400 Bad request - Expires at must be before 2027-03-01"})
    );
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
    assert!(gitlab.token(ALICE).expect("token").active);
}

#[tokio::test]
async fn rotation_scopes_and_ownership() {
    let gitlab = serve(scenario()).await;
    // self_rotate may rotate itself, but not through the :id route.
    let own_id = token_id(&gitlab, ALICE_SELF_ROTATE);
    let by_id = post(
        &gitlab,
        &format!("/api/v4/personal_access_tokens/{own_id}/rotate"),
        Some(ALICE_SELF_ROTATE),
    )
    .await;
    assert_eq!(by_id.status, 403);
    assert_eq!(by_id.json()["scope"], "api");
    let by_self = post(
        &gitlab,
        "/api/v4/personal_access_tokens/self/rotate",
        Some(ALICE_SELF_ROTATE),
    )
    .await;
    assert_eq!(by_self.status, 200);
    // read_api may not rotate at all.
    let read_api = post(
        &gitlab,
        "/api/v4/personal_access_tokens/self/rotate",
        Some(ALICE_READ_API),
    )
    .await;
    assert_eq!(read_api.status, 403);
    assert_eq!(read_api.json()["error"], "insufficient_scope");
    // Someone else's token, or a missing one: 401 for non-admins.
    let bobs = token_id(&gitlab, BOB);
    for id in [bobs, 99_999] {
        let answer = post(
            &gitlab,
            &format!("/api/v4/personal_access_tokens/{id}/rotate"),
            Some(ALICE),
        )
        .await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.json(), json!({"message": "401 Unauthorized"}));
    }
    // One's own other token by id.
    let read_api_id = token_id(&gitlab, ALICE_READ_API);
    let other = post(
        &gitlab,
        &format!("/api/v4/personal_access_tokens/{read_api_id}/rotate"),
        Some(ALICE),
    )
    .await;
    assert_eq!(other.status, 200);
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE_READ_API)).await.status, 401);
}

#[tokio::test]
async fn reusing_a_rotated_token_on_rotate_revokes_the_family() {
    let gitlab = serve(scenario()).await;
    let first = post(&gitlab, "/api/v4/personal_access_tokens/self/rotate", Some(ALICE)).await;
    let new_secret = first.json()["token"].as_str().expect("secret").to_owned();

    // Using the old token elsewhere does not touch the family.
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 401);
    assert_eq!(get(&gitlab, "/api/v4/user", Some(&new_secret)).await.status, 200);

    // A rotate call with the old token: 401, and the new token dies too.
    let reuse = post(&gitlab, "/api/v4/personal_access_tokens/self/rotate", Some(ALICE)).await;
    assert_eq!(reuse.status, 401);
    assert_eq!(
        reuse.json()["error_description"],
        "Token was revoked. You have to re-authorize from the user."
    );
    let after = get(&gitlab, "/api/v4/user", Some(&new_secret)).await;
    assert_eq!(after.status, 401);
    assert_eq!(after.json()["error"], "invalid_token");
}

#[tokio::test]
async fn instances_without_self_rotate_reject_the_self_keyword() {
    let mut s = scenario();
    s.instance_mut().self_rotate = false;
    let gitlab = serve(s).await;
    let answer = post(&gitlab, "/api/v4/personal_access_tokens/self/rotate", Some(ALICE)).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json(), json!({"error": "id is invalid"}));
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
}

// --- projects ---

#[tokio::test]
async fn listing_shows_only_visible_projects() {
    let gitlab = serve(scenario()).await;
    let paths = |answer: &Answer| -> Vec<String> {
        answer
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|p| p["path_with_namespace"].as_str().expect("path").to_owned())
            .collect()
    };
    let all = get(&gitlab, "/api/v4/projects?per_page=100", Some(ALICE)).await;
    let seen = paths(&all);
    assert!(
        seen.contains(&"acme/frontend".to_owned()),
        "internal is visible to users"
    );
    assert!(seen.contains(&"acme/docs".to_owned()));
    assert!(
        !seen.contains(&"acme/secret".to_owned()),
        "private non-member project hidden"
    );
    assert_eq!(
        seen.first().map(String::as_str),
        Some("alice/dotfiles"),
        "newest first by default"
    );

    let member = paths(&get(&gitlab, "/api/v4/projects?membership=true&per_page=100", Some(ALICE)).await);
    assert!(!member.contains(&"acme/docs".to_owned()));
    assert!(member.contains(&"acme/design".to_owned()), "guests are members");
    assert!(
        member.contains(&"alice/dotfiles".to_owned()),
        "owner of the personal namespace"
    );

    let anonymous = get(&gitlab, "/api/v4/projects", None).await;
    assert_eq!(paths(&anonymous), vec!["acme/docs"]);
    assert!(
        anonymous.json()[0].get("visibility").is_none(),
        "anonymous listings are simple"
    );

    let full = get(&gitlab, "/api/v4/projects?membership=true&per_page=100", Some(ALICE))
        .await
        .json();
    let backend = full
        .as_array()
        .and_then(|a| a.iter().find(|p| p["path_with_namespace"] == "acme/backend"))
        .expect("backend listed");
    assert_eq!(backend["visibility"], "private");
    assert_eq!(backend["permissions"]["project_access"]["access_level"], 30);
    assert!(backend["permissions"]["group_access"].is_null());

    let simple = get(&gitlab, "/api/v4/projects?simple=true", Some(ALICE)).await.json();
    assert!(simple[0].get("permissions").is_none() && simple[0].get("archived").is_none());
}

/// The membership listing of a user outside any group reads the
/// simulator's member index (`src/sim/membership.rs`) instead of judging
/// every project; it must follow every change the control API makes, and a
/// user who joins a group gets the projects the group passes down.
#[tokio::test]
async fn membership_listing_follows_members_moves_and_groups() {
    let gitlab = serve(scenario()).await;
    let control = |method: Method, path: &str, body: Option<Value>| {
        let gitlab = &gitlab;
        let path = format!("/-/sim{path}");
        async move {
            let answer = call(gitlab, method, &path, None, body).await;
            assert!(answer.status.is_success(), "{path}: {} {}", answer.status, answer.text);
        }
    };
    let listed = || async {
        let answer = get(
            &gitlab,
            "/api/v4/projects?membership=true&order_by=id&sort=asc&per_page=100",
            Some(BOB),
        )
        .await;
        let mut paths: Vec<String> = answer
            .json()
            .as_array()
            .expect("array")
            .iter()
            .map(|p| p["path_with_namespace"].as_str().expect("path").to_owned())
            .collect();
        paths.sort();
        paths
    };
    assert_eq!(
        listed().await,
        ["acme/secret", "bob/hidden-notes"],
        "member, and owner of his namespace"
    );

    control(
        Method::PUT,
        "/projects/acme%2Fbackend/members/bob",
        Some(json!({"access_level": "developer"})),
    )
    .await;
    control(Method::DELETE, "/projects/acme%2Fsecret/members/bob", None).await;
    control(
        Method::POST,
        "/projects/bob%2Fhidden-notes/move",
        Some(json!({"to": "acme/notes"})),
    )
    .await;
    control(
        Method::POST,
        "/projects/acme%2Fdocs/move",
        Some(json!({"to": "bob/docs"})),
    )
    .await;
    assert_eq!(listed().await, ["acme/backend", "bob/docs"]);

    control(
        Method::POST,
        "/groups",
        Some(json!({"path": "acme", "members": {"bob": "reporter"}})),
    )
    .await;
    assert_eq!(
        listed().await,
        [
            "acme/backend",
            "acme/design",
            "acme/frontend",
            "acme/legacy",
            "acme/notes",
            "acme/platform",
            "acme/secret",
            "acme/wiki-only",
            "bob/docs"
        ]
    );
}

#[tokio::test]
async fn search_is_case_insensitive_and_ands_terms() {
    let gitlab = serve(scenario()).await;
    let found = |q: &str| {
        let gitlab = &gitlab;
        let q = q.to_owned();
        async move {
            get(gitlab, &format!("/api/v4/projects?simple=true&search={q}"), Some(ALICE))
                .await
                .json()
                .as_array()
                .expect("array")
                .iter()
                .map(|p| p["path_with_namespace"].as_str().expect("path").to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("BACK").await, vec!["acme/backend"]);
    assert_eq!(
        found("the+backend").await,
        vec!["acme/backend"],
        "terms may match the description"
    );
    assert!(found("backend+frontend").await.is_empty(), "terms are ANDed");
    assert!(found("secret").await.is_empty(), "invisible projects are not found");
    assert_eq!(found("acme%2Fdocs&search_namespaces=true").await, vec!["acme/docs"]);
}

#[tokio::test]
async fn group_members_see_the_group_projects() {
    let mut s = scenario();
    s.add_group(GroupSpec::new("acme").member("bob", AccessLevel::REPORTER))
        .expect("group");
    let gitlab = serve(s).await;
    let backend = get(&gitlab, "/api/v4/projects/acme%2Fbackend", Some(BOB)).await;
    assert_eq!(backend.status, 200);
    assert_eq!(backend.json()["permissions"]["group_access"]["access_level"], 20);
    assert!(backend.json()["permissions"]["project_access"].is_null());
}

async fn many_projects(count: usize) -> SimHandle {
    let mut s = Scenario::new(TODAY);
    s.add_user(UserSpec::new("alice")).expect("user");
    s.add_token(TokenSpec::new("alice", "ws").secret(ALICE)).expect("token");
    for i in 0..count {
        s.add_project(ProjectSpec::new(format!("acme/repo-{i:04}")).member("alice", AccessLevel::DEVELOPER))
            .expect("project");
    }
    serve(s).await
}

#[tokio::test]
async fn offset_pagination_headers() {
    let gitlab = many_projects(45).await;
    let base = gitlab.base_url().to_owned();
    let first = get(&gitlab, "/api/v4/projects?membership=true&per_page=20", Some(ALICE)).await;
    assert_eq!(first.json().as_array().map(Vec::len), Some(20));
    assert_eq!(first.header("x-page"), Some("1"));
    assert_eq!(first.header("x-per-page"), Some("20"));
    assert_eq!(first.header("x-next-page"), Some("2"));
    assert_eq!(first.header("x-prev-page"), Some(""), "present but empty");
    assert_eq!(first.header("x-total"), Some("45"));
    assert_eq!(first.header("x-total-pages"), Some("3"));
    assert_eq!(
        first.header("link"),
        Some(
            format!(
                "<{base}/api/v4/projects?membership=true&page=2&per_page=20>; rel=\"next\", \
                 <{base}/api/v4/projects?membership=true&page=1&per_page=20>; rel=\"first\", \
                 <{base}/api/v4/projects?membership=true&page=3&per_page=20>; rel=\"last\""
            )
            .as_str()
        )
    );

    let last = get(
        &gitlab,
        "/api/v4/projects?membership=true&per_page=20&page=3",
        Some(ALICE),
    )
    .await;
    assert_eq!(last.json().as_array().map(Vec::len), Some(5));
    assert_eq!(
        last.header("x-next-page"),
        Some(""),
        "present but empty on the last page"
    );
    assert_eq!(last.header("x-prev-page"), Some("2"));
    let link = last.header("link").expect("link");
    assert!(link.contains("rel=\"prev\"") && !link.contains("rel=\"next\""));

    let capped = get(&gitlab, "/api/v4/projects?per_page=500", Some(ALICE)).await;
    assert_eq!(capped.header("x-per-page"), Some("100"));
    assert_eq!(capped.json().as_array().map(Vec::len), Some(45));
    let default = get(&gitlab, "/api/v4/projects", Some(ALICE)).await;
    assert_eq!(default.header("x-per-page"), Some("20"));

    let zero = get(&gitlab, "/api/v4/projects?per_page=0", Some(ALICE)).await;
    assert_eq!(zero.status, 400);
    assert_eq!(zero.json(), json!({"error": "per_page has a value not allowed"}));
    let negative = get(&gitlab, "/api/v4/projects?per_page=-1", Some(ALICE)).await;
    assert_eq!(negative.status, 400);
    assert_eq!(
        negative.json(),
        json!({"error": "per_page does not have a valid value"})
    );
}

#[tokio::test]
async fn keyset_pagination_links_until_a_short_page() {
    let gitlab = many_projects(45).await;
    let mut path = "/api/v4/projects?pagination=keyset&order_by=id&sort=asc&per_page=20".to_owned();
    let mut ids = Vec::new();
    let mut pages = 0;
    loop {
        let answer = get(&gitlab, &path, Some(ALICE)).await;
        assert_eq!(answer.status, 200);
        assert!(answer.header("x-total").is_none() && answer.header("x-next-page").is_none());
        ids.extend(
            answer
                .json()
                .as_array()
                .expect("array")
                .iter()
                .map(|p| p["id"].as_u64().expect("id")),
        );
        pages += 1;
        let Some(link) = answer.header("link") else { break };
        let url = link
            .strip_prefix('<')
            .and_then(|l| l.strip_suffix(">; rel=\"next\""))
            .expect("only rel=next");
        assert!(url.contains("id_after=") && url.contains("pagination=keyset"));
        path = url
            .strip_prefix(gitlab.base_url())
            .expect("absolute URL on the sim")
            .to_owned();
    }
    assert_eq!(pages, 3);
    assert_eq!(ids, (1..=45).collect::<Vec<u64>>());

    let unsupported = get(&gitlab, "/api/v4/projects?pagination=keyset&order_by=name", Some(ALICE)).await;
    assert_eq!(unsupported.status, 405);
}

#[tokio::test]
async fn thousands_of_projects_list_by_the_hundred() {
    let gitlab = many_projects(2_000).await;
    let page = get(
        &gitlab,
        "/api/v4/projects?membership=true&simple=true&per_page=100&page=20",
        Some(ALICE),
    )
    .await;
    assert_eq!(page.header("x-total"), Some("2000"));
    assert_eq!(page.header("x-total-pages"), Some("20"));
    assert_eq!(page.json().as_array().map(Vec::len), Some(100));
    let one = get(&gitlab, "/api/v4/projects/acme%2Frepo-1999", Some(ALICE)).await;
    assert_eq!(one.status, 200);
}

#[tokio::test]
async fn project_by_id_or_encoded_path() {
    let gitlab = serve(scenario()).await;
    let by_path = get(&gitlab, "/api/v4/projects/acme%2Fbackend", Some(ALICE)).await;
    assert_eq!(by_path.status, 200);
    let id = by_path.json()["id"].as_u64().expect("id");
    let by_id = get(&gitlab, &format!("/api/v4/projects/{id}"), Some(ALICE)).await;
    assert_eq!(by_id.json()["path_with_namespace"], "acme/backend");
    assert_eq!(
        by_id.json()["http_url_to_repo"],
        format!("{}/acme/backend.git", gitlab.base_url())
    );
    let upper = get(&gitlab, "/api/v4/projects/ACME%2Fbackend", Some(ALICE)).await;
    assert_eq!(upper.status, 200, "paths match case-insensitively");

    let archived = get(&gitlab, "/api/v4/projects/acme%2Flegacy", Some(ALICE)).await.json();
    assert_eq!(archived["archived"], true);
    let disabled = get(&gitlab, "/api/v4/projects/acme%2Fwiki-only", Some(ALICE))
        .await
        .json();
    assert_eq!(disabled["repository_access_level"], "disabled");
    let public = get(&gitlab, "/api/v4/projects/acme%2Fdocs", None).await;
    assert_eq!(public.status, 200, "public projects need no token");
}

#[tokio::test]
async fn missing_and_invisible_projects_look_the_same() {
    let gitlab = serve(scenario()).await;
    let missing = get(&gitlab, "/api/v4/projects/acme%2Fnope", Some(ALICE)).await;
    let invisible = get(&gitlab, "/api/v4/projects/acme%2Fsecret", Some(ALICE)).await;
    let not_a_path = get(&gitlab, "/api/v4/projects/secret", Some(ALICE)).await;
    for answer in [&missing, &invisible, &not_a_path] {
        assert_eq!(answer.status, 404);
        assert_eq!(answer.json(), json!({"message": "404 Project Not Found"}));
    }
    assert_eq!(
        get(&gitlab, "/api/v4/projects/acme%2Fsecret", Some(BOB)).await.status,
        200
    );
    assert_eq!(get(&gitlab, "/api/v4/projects/acme%2Fbackend", None).await.status, 404);
}

#[tokio::test]
async fn moved_projects_redirect_permanently() {
    let gitlab = serve(scenario()).await;
    let answer = get(&gitlab, "/api/v4/projects/acme%2Fold-platform", Some(ALICE)).await;
    assert_eq!(answer.status, 301);
    let id = gitlab
        .summary()
        .projects
        .iter()
        .find(|p| p.path_with_namespace == "acme/platform")
        .expect("p")
        .id;
    let location = format!("{}/api/v4/projects/{id}", gitlab.base_url());
    assert_eq!(answer.header("location"), Some(location.as_str()));
    assert_eq!(
        answer.text,
        format!("This resource has been moved permanently to {location}.")
    );
    // Someone who cannot see the project learns nothing.
    let hidden = get(&gitlab, "/api/v4/projects/bob%2Fold-notes", Some(ALICE)).await;
    assert_eq!(hidden.status, 404);
}

#[tokio::test]
async fn unknown_api_routes_get_grape_404() {
    let gitlab = serve(scenario()).await;
    for (method, path) in [
        (Method::GET, "/api/v4/nothing/here"),
        (Method::PUT, "/api/v4/user"),
        (Method::GET, "/api/v4/projects/acme/backend"),
    ] {
        let answer = call(&gitlab, method, path, Some(ALICE), None).await;
        assert_eq!(answer.status, 404, "{path}");
        assert_eq!(answer.json(), json!({"error": "404 Not Found"}));
    }
}

// --- git smart HTTP ---

#[tokio::test]
async fn info_refs_advertises_refs_to_allowed_clients() {
    let gitlab = serve(scenario()).await;
    let answer = git(&gitlab, "acme/backend", Some(ALICE)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.header("content-type"),
        Some("application/x-git-upload-pack-advertisement")
    );
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert!(answer.text.starts_with("001e# service=git-upload-pack\n0000"));
    assert!(answer.text.contains("refs/heads/main") && answer.text.ends_with("0000"));
    assert_eq!(
        git(&gitlab, "acme/docs", None).await.status,
        200,
        "anonymous clone of a public project"
    );
    assert_eq!(
        git(&gitlab, "acme/old-platform", Some(ALICE)).await.status,
        200,
        "old paths still clone"
    );
}

#[tokio::test]
async fn info_refs_errors_follow_gitlabs_order_of_checks() {
    let gitlab = serve(scenario()).await;
    let denied = git(&gitlab, "acme/backend", None).await;
    assert_eq!(denied.status, 401);
    assert_eq!(denied.header("www-authenticate"), Some("Basic realm=\"GitLab\""));
    assert!(denied.text.starts_with("HTTP Basic: Access denied."));
    assert!(denied.text.contains(&format!(
        "{}/help/topics/git/troubleshooting_git.md#error-on-git-fetch-http-basic-access-denied",
        gitlab.base_url()
    )));
    for bad in ["glpat-wrong", ALICE_EXPIRED, ALICE_REVOKED] {
        let answer = git(&gitlab, "acme/backend", Some(bad)).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.text, denied.text);
    }
    // The scope is checked before the project is looked up.
    for repo in ["acme/backend", "acme/does-not-exist"] {
        let answer = git(&gitlab, repo, Some(ALICE_READ_USER)).await;
        assert_eq!(answer.status, 403);
        assert_eq!(answer.text, "You are not allowed to download code.");
    }
    let not_found = "The project you were looking for could not be found or you don't have permission to view it.";
    for repo in ["acme/does-not-exist", "acme/secret"] {
        let answer = git(&gitlab, repo, Some(ALICE)).await;
        assert_eq!(answer.status, 404);
        assert_eq!(answer.text, not_found);
    }
    for repo in ["acme/wiki-only", "acme/design"] {
        let answer = git(&gitlab, repo, Some(ALICE)).await;
        assert_eq!(answer.status, 403, "{repo}");
        assert_eq!(answer.text, "You are not allowed to download code from this project.");
    }
    let head = client()
        .head(format!(
            "{}/acme/backend.git/info/refs?service=git-upload-pack",
            gitlab.base_url()
        ))
        .basic_auth("oauth2", Some(ALICE))
        .send()
        .await
        .expect("answered");
    assert_eq!(head.status(), 403);
}

// --- rate limits and the failed-auth ban ---

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let mut s = scenario();
    s.limits = Limits {
        authenticated_per_minute: 3,
        ..Limits::default()
    };
    let gitlab = serve(s).await;
    for remaining in ["2", "1", "0"] {
        let answer = get(&gitlab, "/api/v4/user", Some(ALICE)).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("ratelimit-limit"), Some("3"));
        assert_eq!(answer.header("ratelimit-remaining"), Some(remaining));
        assert_eq!(answer.header("ratelimit-name"), Some("throttle_authenticated_api"));
        assert!(answer.header("ratelimit-observed").is_some());
        let reset: u64 = answer.header("ratelimit-reset").expect("reset").parse().expect("epoch");
        assert!(reset > 1_700_000_000, "an epoch, not seconds left");
    }
    let throttled = get(&gitlab, "/api/v4/user", Some(ALICE)).await;
    assert_eq!(throttled.status, 429);
    assert_eq!(throttled.text, "Retry later\n");
    let retry: u64 = throttled
        .header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry));
    assert!(
        throttled
            .header("ratelimit-resettime")
            .is_some_and(|t| t.ends_with(" GMT"))
    );
    // Another token has its own budget.
    assert_eq!(get(&gitlab, "/api/v4/user", Some(BOB)).await.status, 200);
    gitlab.clear_bans();
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
}

#[tokio::test]
async fn many_failed_git_sign_ins_from_one_client_get_it_banned() {
    let mut s = scenario();
    s.limits = Limits {
        failed_auth_ban_after: 3,
        ..Limits::default()
    };
    let gitlab = serve(s).await;
    for password in ["glpat-wrong", ALICE_REVOKED, ALICE_EXPIRED] {
        assert_eq!(git(&gitlab, "acme/backend", Some(password)).await.status, 401);
    }
    let banned = get(&gitlab, "/api/v4/user", Some(ALICE)).await;
    assert_eq!(banned.status, 403);
    assert_eq!(banned.text, "Forbidden\n");
    assert!(banned.header("ratelimit-limit").is_none() && banned.header("retry-after").is_none());
    assert_eq!(git(&gitlab, "acme/backend", Some(ALICE)).await.status, 403, "Git too");
    assert_eq!(get(&gitlab, "/-/liveness", None).await.status, 200, "probes are exempt");
    let counters = gitlab.counters();
    assert_eq!(counters.status(401), 3);
    assert_eq!(counters.status(403), 2);
    gitlab.clear_bans();
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
}

/// Only Git's Basic sign-in counts (`Gitlab::Auth.find_for_git_client`
/// calls `register_fail!`; the API's token lookup does not): an anonymous
/// 401 (labwatch's instance probe asks `/api/v4/version` without a token)
/// and a wrong API token never ban the address.
#[tokio::test]
async fn anonymous_and_api_token_401s_do_not_count_towards_the_ban() {
    let mut s = scenario();
    s.limits = Limits {
        failed_auth_ban_after: 3,
        ..Limits::default()
    };
    let gitlab = serve(s).await;
    for _ in 0..5 {
        assert_eq!(get(&gitlab, "/api/v4/version", None).await.status, 401);
        assert_eq!(
            git(&gitlab, "acme/backend", None).await.status,
            401,
            "Git's first, anonymous try"
        );
        assert_eq!(get(&gitlab, "/api/v4/version", Some("glpat-wrong")).await.status, 401);
        assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE_REVOKED)).await.status, 401);
    }
    assert_eq!(
        get(&gitlab, "/api/v4/user", Some(ALICE)).await.status,
        200,
        "not banned"
    );
    assert_eq!(
        git(&gitlab, "acme/backend", Some(ALICE)).await.status,
        200,
        "not banned"
    );
}

/// A successful Git sign-in clears the address's failures
/// (`IpRateLimiter#reset!`: "Repeated login 'failures' are normal behavior
/// for some Git clients").
#[tokio::test]
async fn a_successful_git_sign_in_clears_the_failures() {
    let mut s = scenario();
    s.limits = Limits {
        failed_auth_ban_after: 3,
        ..Limits::default()
    };
    let gitlab = serve(s).await;
    for _ in 0..3 {
        assert_eq!(git(&gitlab, "acme/backend", Some("glpat-wrong")).await.status, 401);
        assert_eq!(git(&gitlab, "acme/backend", Some("glpat-wrong")).await.status, 401);
        assert_eq!(git(&gitlab, "acme/backend", Some(ALICE)).await.status, 200);
    }
    assert_eq!(git(&gitlab, "acme/backend", Some("glpat-wrong")).await.status, 401);
    assert_eq!(git(&gitlab, "acme/backend", Some("glpat-wrong")).await.status, 401);
    assert_eq!(git(&gitlab, "acme/backend", Some("glpat-wrong")).await.status, 401);
    assert_eq!(
        get(&gitlab, "/api/v4/user", Some(ALICE)).await.status,
        403,
        "three in a row ban"
    );
}

// --- health probes ---

#[tokio::test]
async fn health_probes_answer_only_allowlisted_clients() {
    let gitlab = serve(scenario()).await;
    let health = get(&gitlab, "/-/health", None).await;
    assert_eq!((health.status.as_u16(), health.text.as_str()), (200, "GitLab OK"));
    assert!(
        health
            .header("content-type")
            .is_some_and(|c| c.starts_with("text/plain"))
    );
    let all = get(&gitlab, "/-/readiness?all=1", None).await.json();
    assert_eq!(all["gitaly_check"][0]["labels"]["shard"], "default");

    gitlab.update_instance(|i| {
        i.health_allowlisted = false;
        i.health_check_token = Some("health-secret".to_owned());
    });
    let hidden = get(&gitlab, "/-/health", None).await;
    assert_eq!((hidden.status.as_u16(), hidden.text.as_str()), (404, ""));
    assert_eq!(get(&gitlab, "/-/readiness", None).await.status, 404);
    assert_eq!(get(&gitlab, "/-/liveness?token=health-secret", None).await.status, 200);

    gitlab.update_instance(|i| {
        i.health_allowlisted = true;
        i.readiness_ok = false;
    });
    let failed = get(&gitlab, "/-/readiness", None).await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.header("x-gitlab-custom-error"), Some("1"));
}

// --- faults, counters and the control API ---

#[tokio::test]
async fn injected_failures_and_drops() {
    let gitlab = serve(scenario()).await;
    gitlab.fail_next(FailSpec::new(2, 503).path_prefix("/api/v4/projects"));
    assert_eq!(
        get(&gitlab, "/api/v4/user", Some(ALICE)).await.status,
        200,
        "other paths unaffected"
    );
    let failed = get(&gitlab, "/api/v4/projects", Some(ALICE)).await;
    assert_eq!(failed.status, 503);
    assert_eq!(failed.json(), json!({"message": "503 Service Unavailable"}));
    assert_eq!(get(&gitlab, "/api/v4/projects/1", Some(ALICE)).await.status, 503);
    assert_eq!(get(&gitlab, "/api/v4/projects", Some(ALICE)).await.status, 200);

    gitlab.drop_next(1, None);
    let dropped = client()
        .get(format!("{}/api/v4/user", gitlab.base_url()))
        .header("PRIVATE-TOKEN", ALICE)
        .send()
        .await;
    assert!(dropped.is_err(), "the connection closes without an answer");
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
    assert_eq!(gitlab.counters().by_status.get("dropped"), Some(&1));

    gitlab.set_latency(Duration::from_millis(5));
    assert_eq!(get(&gitlab, "/api/v4/user", Some(ALICE)).await.status, 200);
    gitlab.clear_faults();
}

#[tokio::test]
async fn counters_count_routes_and_statuses_without_secrets() {
    let gitlab = serve(scenario()).await;
    get(&gitlab, "/api/v4/user", Some(ALICE)).await;
    get(&gitlab, "/api/v4/projects/1", Some(ALICE)).await;
    get(&gitlab, "/api/v4/projects/2", Some(ALICE)).await;
    get(&gitlab, &format!("/api/v4/user?private_token={ALICE_REVOKED}"), None).await;
    git(&gitlab, "acme/backend", Some(ALICE)).await;
    let counters = gitlab.counters();
    assert_eq!(counters.total, 5);
    assert_eq!(counters.route("GET /api/v4/projects/{id}"), 2);
    assert_eq!(counters.route("GET /api/v4/user"), 2);
    assert_eq!(counters.route("GET /{path}.git/info/refs"), 1);
    assert_eq!(counters.api_calls(), 4);
    assert_eq!(counters.status(401), 1);
    let revoked_id = token_id(&gitlab, ALICE_REVOKED);
    assert_eq!(counters.with_token(revoked_id).count(), 1);
    let log = serde_json::to_string(&counters).expect("JSON");
    assert!(
        !log.contains(ALICE) && !log.contains(ALICE_REVOKED),
        "no secret in the log"
    );
    gitlab.reset_counters();
    assert_eq!(gitlab.counters().total, 0);
}

#[tokio::test]
async fn control_api_changes_the_world() {
    let gitlab = serve(scenario()).await;
    let control = |method: Method, path: &str, body: Option<Value>| {
        let gitlab = &gitlab;
        let path = format!("/-/sim{path}");
        async move { call(gitlab, method, &path, None, body).await }
    };

    let expired = control(Method::POST, &format!("/tokens/{ALICE}/expire"), None).await;
    assert_eq!(expired.status, 200);
    assert_eq!(expired.json()["active"], false);
    assert_eq!(
        get(&gitlab, "/api/v4/user", Some(ALICE)).await.json()["error"],
        "invalid_token"
    );

    let bob = token_id(&gitlab, BOB);
    let rescoped = control(
        Method::PUT,
        &format!("/tokens/{bob}/scopes"),
        Some(json!({"scopes": ["read_user"]})),
    )
    .await;
    assert_eq!(rescoped.json()["scopes"], json!(["read_user"]));
    assert_eq!(get(&gitlab, "/api/v4/projects", Some(BOB)).await.status, 403);
    control(Method::POST, &format!("/tokens/{bob}/revoke"), None).await;
    assert_eq!(get(&gitlab, "/api/v4/user", Some(BOB)).await.status, 401);

    let added = control(
        Method::POST,
        "/users/alice/tokens",
        Some(json!({"name": "new", "scopes": ["api"], "expires_in_days": 10})),
    )
    .await;
    assert_eq!(added.status, 201);
    assert_eq!(added.json()["expires_at"], "2026-03-11");
    let fresh = added.json()["token"].as_str().expect("secret").to_owned();
    assert_eq!(get(&gitlab, "/api/v4/user", Some(&fresh)).await.status, 200);

    let rotated = control(Method::POST, &format!("/tokens/{fresh}/rotate"), None).await;
    let newer = rotated.json()["token"].as_str().expect("secret").to_owned();
    assert_eq!(get(&gitlab, "/api/v4/user", Some(&fresh)).await.status, 401);
    assert_eq!(get(&gitlab, "/api/v4/user", Some(&newer)).await.status, 200);

    let moved = control(
        Method::POST,
        "/projects/acme%2Fbackend/move",
        Some(json!({"to": "core/backend"})),
    )
    .await;
    assert_eq!(moved.json()["moved_from"], json!(["acme/backend"]));
    assert_eq!(
        get(&gitlab, "/api/v4/projects/acme%2Fbackend", Some(&newer))
            .await
            .status,
        301
    );
    assert_eq!(
        get(&gitlab, "/api/v4/projects/core%2Fbackend", Some(&newer))
            .await
            .status,
        200
    );

    control(Method::POST, "/projects/core%2Fbackend/archive", None).await;
    let archived = get(&gitlab, "/api/v4/projects/core%2Fbackend", Some(&newer))
        .await
        .json();
    assert_eq!(archived["archived"], true);

    control(
        Method::PUT,
        "/projects/acme%2Fsecret/visibility",
        Some(json!({"visibility": "internal"})),
    )
    .await;
    assert_eq!(
        get(&gitlab, "/api/v4/projects/acme%2Fsecret", Some(&newer))
            .await
            .status,
        200
    );

    control(
        Method::PUT,
        "/projects/acme%2Fdesign/members/alice",
        Some(json!({"access_level": "reporter"})),
    )
    .await;
    assert_eq!(git(&gitlab, "acme/design", Some(&newer)).await.status, 200);
    control(Method::DELETE, "/projects/acme%2Fdesign/members/alice", None).await;
    assert_eq!(
        get(&gitlab, "/api/v4/projects/acme%2Fdesign", Some(&newer))
            .await
            .status,
        404
    );

    let today = control(Method::PUT, "/today", Some(json!({"advance_days": 6}))).await;
    assert_eq!(today.json()["today"], "2026-03-07");
    assert_eq!(
        get(&gitlab, "/api/v4/user", Some(&newer)).await.status,
        200,
        "a rotated token lasts a week"
    );
    control(Method::PUT, "/today", Some(json!({"today": "2026-03-20"}))).await;
    assert_eq!(get(&gitlab, "/api/v4/user", Some(&newer)).await.status, 401);

    control(Method::POST, "/faults/fail", Some(json!({"count": 1, "status": 502}))).await;
    assert_eq!(get(&gitlab, "/api/v4/version", None).await.status, 502);
    control(Method::PUT, "/latency", Some(json!({"ms": 1}))).await;
    let faults = control(Method::GET, "/faults", None).await.json();
    assert_eq!(faults["latency_ms"], 1);
    control(Method::DELETE, "/faults", None).await;

    control(Method::PATCH, "/limits", Some(json!({"authenticated_per_minute": 1}))).await;
    let limits = control(Method::GET, "/limits", None).await.json();
    assert_eq!(limits["authenticated_per_minute"], 1);

    let counters = control(Method::GET, "/counters", None).await.json();
    assert!(counters["total"].as_u64().is_some_and(|n| n > 10));
    assert!(counters["by_route"].get("GET /api/v4/user").is_some());
    assert_eq!(control(Method::DELETE, "/counters", None).await.status, 204);
    assert_eq!(
        control(Method::GET, "/counters", None).await.json()["total"],
        0,
        "control calls are not counted"
    );

    let unknown = control(Method::POST, "/tokens/glpat-nope/revoke", None).await;
    assert_eq!(unknown.status, 404);
    let bad = control(Method::PUT, "/latency", Some(json!({"seconds": 1}))).await;
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].as_str().is_some_and(|e| e.contains("seconds")));
    let patched = control(Method::PATCH, "/instance", Some(json!({"versionn": "1"}))).await;
    assert_eq!(patched.status, 400);
}

// --- scenarios and summaries ---

#[test]
fn scenario_errors_name_the_place_and_the_problem() {
    let cases = [
        ("colour = \"red\"", "unknown field `colour`"),
        (
            "today = \"01/03/2026\"",
            "today: '01/03/2026' is not a date, expected YYYY-MM-DD",
        ),
        (
            "[[users]]\nusername = \"a\"\n[[users.tokens]]\nname = \"t\"\nscopes = [\"api\"]\nexpires_at = \"2026-01-01\"\nexpires_in_days = 3",
            "users[0] (a): tokens[0] (t): give expires_at or expires_in_days, not both",
        ),
        (
            "[[projects]]\npath = \"acme/x\"\nmembers = { ghost = 30 }",
            "projects[0] (acme/x): no user 'ghost'",
        ),
        (
            "[[projects]]\npath = \"acme/x\"\nvisibility = \"secret\"",
            "unknown variant `secret`",
        ),
        (
            "[[projects]]\npath = \"nogroup\"",
            "projects[0] (nogroup): project 'nogroup': needs at least 2",
        ),
        (
            "[[projects]]\npath = \"a/x\"\nmembers = { a = \"boss\" }",
            "unknown access level 'boss'",
        ),
    ];
    for (text, wanted) in cases {
        let text = if text.contains("members = { a =") {
            format!("[[users]]\nusername = \"a\"\n{text}")
        } else {
            text.to_owned()
        };
        let error = Scenario::from_toml(&text).expect_err(&text);
        assert!(error.contains(wanted), "for {text:?}: {error}");
    }
    let located = Scenario::from_toml("[[users]]\nusername = 3").expect_err("type error");
    assert!(located.contains("line 2"), "{located}");
}

#[test]
fn scenario_file_loads_with_relative_and_bare_dates() {
    let text = r#"
        today = 2026-03-01
        [limits]
        authenticated_per_minute = 10
        [[users]]
        username = "dana"
        [[users.tokens]]
        name = "ci"
        token = "glpat-dana"
        scopes = ["read_api"]
        expires_in_days = 5
        [[groups]]
        path = "team"
        members = { dana = "maintainer" }
        [[projects]]
        path = "team/app"
        redirects = ["team/old-app"]
        archived = true
    "#;
    let scenario = Scenario::from_toml(text).expect("valid");
    assert_eq!(scenario.limits.authenticated_per_minute, 10);
    let summary = scenario.summary();
    assert_eq!(summary.users[0].tokens[0].expires_at.as_deref(), Some("2026-03-06"));
    assert_eq!(summary.projects[0].moved_from, vec!["team/old-app"]);
    assert_eq!(summary.groups[0].members[0].role, "maintainer");
}

#[tokio::test]
async fn demo_scenario_has_a_healthy_and_a_broken_user() {
    let demo = Scenario::demo().expect("demo");
    let summary = serde_json::to_value(demo.summary()).expect("JSON");
    for key in ["users", "projects"] {
        assert!(summary[key].is_array());
    }
    let user = &summary["users"][0];
    for key in ["username", "user_id", "tokens"] {
        assert!(user.get(key).is_some(), "{key}");
    }
    for key in ["token", "name", "scopes", "expires_at", "active"] {
        assert!(user["tokens"][0].get(key).is_some(), "{key}");
    }
    let project = &summary["projects"][0];
    for key in ["path_with_namespace", "visibility", "members"] {
        assert!(project.get(key).is_some(), "{key}");
    }
    let visibilities: Vec<&str> = summary["projects"]
        .as_array()
        .expect("projects")
        .iter()
        .filter_map(|p| p["visibility"].as_str())
        .collect();
    for v in ["private", "internal", "public"] {
        assert!(visibilities.contains(&v));
    }

    let gitlab = serve(demo).await;
    let text = gitlab.summary().text(gitlab.base_url());
    assert!(text.contains(gitlab.base_url()) && text.contains("glpat-demo-alice-healthy-token"));
    let alice = "glpat-demo-alice-healthy-token";
    let bob = "glpat-demo-bob-expiring-token0";
    assert_eq!(git(&gitlab, "acme/backend", Some(alice)).await.status, 200);
    let self_info = get(&gitlab, "/api/v4/personal_access_tokens/self", Some(bob))
        .await
        .json();
    assert_eq!(self_info["scopes"], json!(["read_api"]));
    assert!(self_info["expires_at"].is_string());
    assert_eq!(
        get(&gitlab, "/api/v4/projects/acme%2Fold-platform", Some(alice))
            .await
            .status,
        301
    );
    assert_eq!(
        get(&gitlab, "/api/v4/projects/finance%2Fledger", Some(bob))
            .await
            .status,
        404
    );
    assert_eq!(git(&gitlab, "acme/design", Some(bob)).await.status, 403);
    gitlab.shutdown().await.expect("clean shutdown");
}

/// The simulator models GitLab, not labwatch's client, and other GitLab
/// clients are run against it: it may use nothing of labwatch outside
/// `src/sim`. (As a module of the main crate rather than a crate of its
/// own, nothing but this test keeps it so; `docs/ARCHITECTURE.md` says
/// why it is not a crate.)
#[test]
fn the_simulator_uses_nothing_of_labwatch() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/sim");
    let mut dirs = vec![root];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).unwrap();
            for (n, line) in text.lines().enumerate() {
                let outside = line
                    .match_indices("crate::")
                    .any(|(at, _)| !line[at..].starts_with("crate::sim"));
                assert!(
                    !outside && !line.replace("labwatch::sim", "").contains("labwatch::"),
                    "{}:{}: the simulator reaches into labwatch: {line}",
                    path.display(),
                    n + 1
                );
            }
        }
    }
    assert!(files > 20, "read the simulator's {files} files");
}
