//! What the simulator answers for the facts a capability verdict reads
//! (docs/gitlab.md §15, docs/capabilities.md): the four feature access
//! levels and `public_jobs` on the project entity, the protected branches
//! API (its shapes, the 404 of an unprotected branch, who may read it), and
//! the pipelines list with every refusal; each counted like other routes.

use labwatch::sim::{
    AccessLevel, FeatureAccess, ProjectSpec, Protection, RepositoryAccess, Scenario, SimHandle, TokenSpec, UserSpec,
    Visibility,
};
use serde_json::json;
use time::Date;
use time::macros::date;

use crate::support::sim_http::{get, serve};

const TODAY: Date = date!(2026 - 03 - 01);

const DEV: &str = "glpat-dev-api-00000000000000";
const DEV_READ_USER: &str = "glpat-dev-read-user-00000000";
const REPORTER: &str = "glpat-reporter-api-000000000";
const GUEST: &str = "glpat-guest-api-0000000000000";
const OUTSIDER: &str = "glpat-outsider-api-000000000";

/// dev is a Developer, rita a Reporter, gus a Guest of every `acme/*`
/// project; olga is no member of any.
fn scenario() -> Scenario {
    let mut s = Scenario::new(TODAY);
    for user in ["dev", "rita", "gus", "olga"] {
        s.add_user(UserSpec::new(user)).expect("user");
    }
    let tokens = [
        TokenSpec::new("dev", "api").scopes(&["api"]).secret(DEV),
        TokenSpec::new("dev", "read user")
            .scopes(&["read_user"])
            .secret(DEV_READ_USER),
        TokenSpec::new("rita", "api").scopes(&["api"]).secret(REPORTER),
        TokenSpec::new("gus", "api").scopes(&["api"]).secret(GUEST),
        TokenSpec::new("olga", "api").scopes(&["api"]).secret(OUTSIDER),
    ];
    for token in tokens {
        s.add_token(token).expect("token");
    }
    let members = |spec: ProjectSpec| {
        spec.member("dev", AccessLevel::DEVELOPER)
            .member("rita", AccessLevel::REPORTER)
            .member("gus", AccessLevel::GUEST)
    };
    let projects = [
        // The defaults: every feature on, main protected for maintainers.
        members(ProjectSpec::new("acme/backend")),
        members(
            ProjectSpec::new("acme/settings")
                .issues(FeatureAccess::Disabled)
                .merge_requests(FeatureAccess::Private)
                .builds(FeatureAccess::Private)
                .public_jobs(false)
                .default_branch_protection(Some(Protection {
                    push: AccessLevel::DEVELOPER,
                    merge: AccessLevel::MAINTAINER,
                }))
                .protect(
                    "release/*",
                    Protection {
                        push: AccessLevel::NO_ACCESS,
                        merge: AccessLevel::MAINTAINER,
                    },
                ),
        ),
        members(ProjectSpec::new("acme/no-ci").builds(FeatureAccess::Disabled)),
        members(ProjectSpec::new("acme/no-repo").repository(RepositoryAccess::Disabled)),
        members(ProjectSpec::new("acme/open").default_branch_protection(None)),
        members(ProjectSpec::new("acme/empty").empty()),
        ProjectSpec::new("pub/site").visibility(Visibility::Public),
        ProjectSpec::new("pub/members-ci")
            .visibility(Visibility::Public)
            .builds(FeatureAccess::Private),
    ];
    for project in projects {
        s.add_project(project).expect("project");
    }
    s
}

fn encoded(path: &str) -> String {
    path.replace('/', "%2F")
}

async fn project(gitlab: &SimHandle, path: &str, token: &str) -> serde_json::Value {
    let answer = get(gitlab, &format!("/api/v4/projects/{}", encoded(path)), Some(token)).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.text);
    answer.json()
}

// --- the project entity ---

#[tokio::test]
async fn the_project_entity_carries_the_four_access_levels_and_public_jobs() {
    let gitlab = serve(scenario()).await;
    let defaults = project(&gitlab, "acme/backend", DEV).await;
    for field in [
        "repository_access_level",
        "issues_access_level",
        "merge_requests_access_level",
        "builds_access_level",
    ] {
        assert_eq!(defaults[field], "enabled", "{field}");
    }
    assert_eq!(defaults["public_jobs"], true);
    assert_eq!(defaults["issues_enabled"], true);

    let set = project(&gitlab, "acme/settings", DEV).await;
    assert_eq!(set["repository_access_level"], "enabled");
    assert_eq!(set["issues_access_level"], "disabled");
    assert_eq!(set["merge_requests_access_level"], "private");
    assert_eq!(set["builds_access_level"], "private");
    assert_eq!(set["public_jobs"], false);
    // The legacy booleans follow: only `disabled` is off.
    assert_eq!(set["issues_enabled"], false);
    assert_eq!(set["merge_requests_enabled"], true);
    assert_eq!(set["jobs_enabled"], true);

    // The listing (full shape) carries the same fields.
    let listing = get(&gitlab, "/api/v4/projects?membership=true&per_page=100", Some(DEV)).await;
    let listed = listing.json();
    let entry = listed
        .as_array()
        .expect("array")
        .iter()
        .find(|p| p["path_with_namespace"] == "acme/settings")
        .expect("listed");
    assert_eq!(entry["issues_access_level"], "disabled");
    assert_eq!(entry["builds_access_level"], "private");
}

#[tokio::test]
async fn merge_requests_and_ci_are_never_more_open_than_the_repository() {
    let gitlab = serve(scenario()).await;
    let p = project(&gitlab, "acme/no-repo", DEV).await;
    assert_eq!(p["repository_access_level"], "disabled");
    assert_eq!(p["merge_requests_access_level"], "disabled");
    assert_eq!(p["builds_access_level"], "disabled");
    assert_eq!(
        p["issues_access_level"], "enabled",
        "issues do not depend on the repository"
    );
}

#[tokio::test]
async fn the_scenario_file_sets_access_levels_and_protection() {
    let toml = r#"
today = "2026-03-01"
[[users]]
username = "dev"
[[users.tokens]]
name = "api"
token = "glpat-toml-dev-000000000000"
scopes = ["api"]

[[projects]]
path = "acme/app"
members = { dev = "developer" }
issues_access_level = "private"
merge_requests_access_level = "disabled"
builds_access_level = "disabled"
public_jobs = false
default_branch_protection = { push = "developer", merge = "maintainer" }
protected_branches = [{ name = "release/*", push = "no_access", merge = 40 }]

[[projects]]
path = "acme/free"
members = { dev = "developer" }
default_branch_protection = false
"#;
    let gitlab = serve(Scenario::from_toml(toml).expect("scenario")).await;
    let token = "glpat-toml-dev-000000000000";
    let p = project(&gitlab, "acme/app", token).await;
    assert_eq!(p["issues_access_level"], "private");
    assert_eq!(p["merge_requests_access_level"], "disabled");
    assert_eq!(p["builds_access_level"], "disabled");
    assert_eq!(p["public_jobs"], false);
    let rules = get(&gitlab, "/api/v4/projects/acme%2Fapp/protected_branches", Some(token)).await;
    let names: Vec<String> = rules
        .json()
        .as_array()
        .expect("array")
        .iter()
        .map(|b| b["name"].as_str().expect("name").to_owned())
        .collect();
    assert_eq!(names, ["main", "release/*"]);
    assert_eq!(rules.json()[0]["push_access_levels"][0]["access_level"], 30);
    assert_eq!(rules.json()[1]["merge_access_levels"][0]["access_level"], 40);
    let free = get(&gitlab, "/api/v4/projects/acme%2Ffree/protected_branches", Some(token)).await;
    assert_eq!(free.json(), json!([]));

    let bad = Scenario::from_toml(
        r#"
[[projects]]
path = "acme/x"
default_branch_protection = { push = "reporter", merge = "maintainer" }
"#,
    );
    let Err(error) = bad else {
        panic!("a reporter cannot be a protected branch level");
    };
    assert!(error.contains("default_branch_protection"), "{error}");
    assert!(
        error.contains("no_access (0), developer (30) or maintainer (40)"),
        "{error}"
    );
}

// --- protected branches ---

#[tokio::test]
async fn protected_branches_list_the_rules_in_gitlabs_shape() {
    let gitlab = serve(scenario()).await;
    let answer = get(
        &gitlab,
        "/api/v4/projects/acme%2Fsettings/protected_branches",
        Some(DEV),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("x-total"), Some("2"));
    assert_eq!(answer.header("x-page"), Some("1"));
    let body = answer.json();
    let main = &body[0];
    assert_eq!(main["name"], "main");
    assert!(main["id"].is_u64());
    assert_eq!(main["allow_force_push"], false);
    assert_eq!(main["code_owner_approval_required"], false);
    let push = &main["push_access_levels"];
    assert_eq!(push.as_array().map(Vec::len), Some(1));
    assert!(push[0]["id"].is_u64());
    assert_eq!(push[0]["access_level"], 30);
    assert_eq!(push[0]["access_level_description"], "Developers + Maintainers");
    assert_eq!(main["merge_access_levels"][0]["access_level"], 40);
    assert_eq!(
        main["merge_access_levels"][0]["access_level_description"],
        "Maintainers"
    );
    // A wildcard is returned as written.
    let release = &body[1];
    assert_eq!(release["name"], "release/*");
    assert_eq!(release["push_access_levels"][0]["access_level"], 0);
    assert_eq!(release["push_access_levels"][0]["access_level_description"], "No one");
    // `search` filters by part of the name.
    let found = get(
        &gitlab,
        "/api/v4/projects/acme%2Fsettings/protected_branches?search=REL",
        Some(DEV),
    )
    .await;
    assert_eq!(found.json().as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn the_default_branch_is_protected_for_maintainers_by_default() {
    let gitlab = serve(scenario()).await;
    let answer = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches/main",
        Some(DEV),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let main = answer.json();
    assert_eq!(main["name"], "main");
    assert_eq!(main["push_access_levels"][0]["access_level"], 40);
    assert_eq!(main["push_access_levels"][0]["access_level_description"], "Maintainers");
    assert_eq!(main["merge_access_levels"][0]["access_level"], 40);
    // An empty repository has no default branch to protect yet.
    let empty = get(&gitlab, "/api/v4/projects/acme%2Fempty/protected_branches", Some(DEV)).await;
    assert_eq!(empty.json(), json!([]));
}

#[tokio::test]
async fn an_unprotected_branch_is_a_404_not_found() {
    let gitlab = serve(scenario()).await;
    for (path, branch) in [
        ("acme%2Fopen", "main"),
        ("acme%2Fbackend", "feature"),
        // Covered by `release/*`, but not a rule of that name.
        ("acme%2Fsettings", "release%2F1.0"),
    ] {
        let answer = get(
            &gitlab,
            &format!("/api/v4/projects/{path}/protected_branches/{branch}"),
            Some(DEV),
        )
        .await;
        assert_eq!(answer.status, 404, "{path} {branch}");
        assert_eq!(answer.json(), json!({"message": "404 Not found"}), "{path} {branch}");
    }
    // The wildcard itself is found by its name.
    let rule = get(
        &gitlab,
        "/api/v4/projects/acme%2Fsettings/protected_branches/release%2F*",
        Some(DEV),
    )
    .await;
    assert_eq!(rule.status, 200, "{}", rule.text);
    assert_eq!(rule.json()["name"], "release/*");
}

#[tokio::test]
async fn protected_branches_need_a_caller_who_may_read_the_code() {
    let gitlab = serve(scenario()).await;
    // A Guest of a private project may not read its code: 403.
    let guest = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches",
        Some(GUEST),
    )
    .await;
    assert_eq!(guest.status, 403);
    assert_eq!(guest.json(), json!({"message": "403 Forbidden"}));
    let one = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches/main",
        Some(GUEST),
    )
    .await;
    assert_eq!(one.status, 403);
    // A Reporter may.
    let reporter = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches",
        Some(REPORTER),
    )
    .await;
    assert_eq!(reporter.status, 200);
    // A non-member sees a private project as missing.
    let outsider = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches",
        Some(OUTSIDER),
    )
    .await;
    assert_eq!(outsider.status, 404);
    assert_eq!(outsider.json(), json!({"message": "404 Project Not Found"}));
    // A disabled repository has no code to read.
    let no_repo = get(&gitlab, "/api/v4/projects/acme%2Fno-repo/protected_branches", Some(DEV)).await;
    assert_eq!(no_repo.status, 403);
    // A token without `api` or `read_api` is refused before anything else.
    let scope = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches",
        Some(DEV_READ_USER),
    )
    .await;
    assert_eq!(scope.status, 403);
    assert_eq!(scope.json()["error"], "insufficient_scope");
    assert_eq!(scope.json()["scope"], "api read_api");
}

// --- pipelines ---

#[tokio::test]
async fn pipelines_list_in_gitlabs_basic_shape() {
    let gitlab = serve(scenario()).await;
    let answer = get(&gitlab, "/api/v4/projects/acme%2Fbackend/pipelines", Some(REPORTER)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(answer.header("x-total"), Some("1"));
    let body = answer.json();
    let pipeline = &body[0];
    for field in [
        "id",
        "iid",
        "project_id",
        "sha",
        "ref",
        "status",
        "source",
        "created_at",
        "updated_at",
        "web_url",
    ] {
        assert!(pipeline.get(field).is_some(), "{field} in {pipeline}");
    }
    assert_eq!(pipeline["ref"], "main");
    assert_eq!(pipeline["status"], "success");
    assert_eq!(pipeline["sha"].as_str().map(str::len), Some(40));
    // No commits, no pipelines.
    let empty = get(&gitlab, "/api/v4/projects/acme%2Fempty/pipelines", Some(DEV)).await;
    assert_eq!(empty.status, 200);
    assert_eq!(empty.json(), json!([]));
}

#[tokio::test]
async fn pipelines_are_refused_with_403_for_every_reason_gitlab_has() {
    let gitlab = serve(scenario()).await;
    let cases = [
        // CI/CD disabled: nobody, not even a Developer.
        ("acme%2Fno-ci", DEV, "CI/CD disabled"),
        // No repository, no pipelines.
        ("acme%2Fno-repo", DEV, "repository disabled"),
        // Public pipelines off: a Guest may not read jobs.
        ("acme%2Fsettings", GUEST, "public pipelines off"),
        // CI/CD for members only: a non-member of a public project.
        ("pub%2Fmembers-ci", OUTSIDER, "CI/CD members only"),
    ];
    for (path, token, why) in cases {
        let answer = get(&gitlab, &format!("/api/v4/projects/{path}/pipelines"), Some(token)).await;
        assert_eq!(answer.status, 403, "{why}: {}", answer.text);
        assert_eq!(answer.json(), json!({"message": "403 Forbidden"}), "{why}");
    }
    let allowed = [
        ("acme%2Fsettings", REPORTER, "a Reporter reads members-only CI/CD"),
        (
            "acme%2Fbackend",
            GUEST,
            "a Guest reads them when public pipelines are on",
        ),
        (
            "pub%2Fsite",
            OUTSIDER,
            "anyone reads a public project's public pipelines",
        ),
    ];
    for (path, token, why) in allowed {
        let answer = get(&gitlab, &format!("/api/v4/projects/{path}/pipelines"), Some(token)).await;
        assert_eq!(answer.status, 200, "{why}: {}", answer.text);
    }
    // A private project the caller cannot see: 404, never 403.
    let hidden = get(&gitlab, "/api/v4/projects/acme%2Fbackend/pipelines", Some(OUTSIDER)).await;
    assert_eq!(hidden.status, 404);
    assert_eq!(hidden.json(), json!({"message": "404 Project Not Found"}));
    let scope = get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/pipelines",
        Some(DEV_READ_USER),
    )
    .await;
    assert_eq!(scope.status, 403);
    assert_eq!(scope.json()["error"], "insufficient_scope");
}

// --- counters ---

#[tokio::test]
async fn the_new_routes_are_counted_like_the_others() {
    let gitlab = serve(scenario()).await;
    gitlab.reset_counters();
    get(&gitlab, "/api/v4/projects/acme%2Fbackend/protected_branches", Some(DEV)).await;
    get(
        &gitlab,
        "/api/v4/projects/acme%2Fbackend/protected_branches/main",
        Some(DEV),
    )
    .await;
    get(
        &gitlab,
        "/api/v4/projects/acme%2Fopen/protected_branches/main",
        Some(DEV),
    )
    .await;
    get(&gitlab, "/api/v4/projects/1/pipelines", Some(DEV)).await;
    get(&gitlab, "/api/v4/projects/acme%2Fno-ci/pipelines", Some(DEV)).await;
    let counters = gitlab.counters();
    assert_eq!(counters.route("GET /api/v4/projects/{id}/protected_branches"), 1);
    assert_eq!(counters.route("GET /api/v4/projects/{id}/protected_branches/{name}"), 2);
    assert_eq!(counters.route("GET /api/v4/projects/{id}/pipelines"), 2);
    assert_eq!(counters.route("/api/(unknown)"), 0);
    assert_eq!(counters.total, 5);
    assert_eq!(counters.status(404), 1);
    assert_eq!(counters.status(403), 1);
}
