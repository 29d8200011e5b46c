//! The simulator's API as third-party GitLab clients use it beyond what
//! labwatch asks: Grape's parameter coercion and validation on
//! `GET /projects` (booleans, `per_page`, `min_access_level`, `order_by`),
//! the personal access token endpoints by id, the users API, and what the
//! failed-authentication ban counts (docs/gitlab.md §10, §13, §14).

use labwatch::sim::{self, AccessLevel, Expiry, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec, Visibility};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use time::Date;
use time::macros::date;

const TODAY: Date = date!(2026 - 03 - 01);

const ALICE: &str = "glpat-alice-api-000000000000";
const ALICE_READ_API: &str = "glpat-alice-read-api-0000000";
const ALICE_READ_USER: &str = "glpat-alice-read-user-000000";
const BOB: &str = "glpat-bob-api-00000000000000";

// --- helpers ---

fn client() -> Client {
    let tls = labwatch::tls::client_config(None).expect("TLS config");
    Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

async fn serve(scenario: Scenario) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    sim::start(scenario, listener).await.expect("simulator starts")
}

struct Answer {
    status: StatusCode,
    text: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    /// The `id`s of a JSON array answer, in order.
    fn ids(&self) -> Vec<u64> {
        let body = self.json();
        let items = body.as_array().unwrap_or_else(|| panic!("not an array: {}", self.text));
        items.iter().map(|p| p["id"].as_u64().expect("id")).collect()
    }
}

async fn call(gitlab: &SimHandle, method: Method, path: &str, token: Option<&str>) -> Answer {
    let mut request = client().request(method, format!("{}{path}", gitlab.base_url()));
    if let Some(token) = token {
        request = request.header("PRIVATE-TOKEN", token);
    }
    let response = request.send().await.expect("request answered");
    Answer {
        status: response.status(),
        text: response.text().await.expect("body"),
    }
}

async fn get(gitlab: &SimHandle, path: &str, token: Option<&str>) -> Answer {
    call(gitlab, Method::GET, path, token).await
}

fn project_id(gitlab: &SimHandle, path: &str) -> u64 {
    gitlab
        .summary()
        .projects
        .iter()
        .find(|p| p.path_with_namespace == path)
        .expect("project")
        .id
}

// --- the test world ---

/// alice is a member of three projects (one archived) and can see a public
/// one; bob has a private project of his own.
fn scenario() -> Scenario {
    let mut s = Scenario::new(TODAY);
    for user in [UserSpec::new("alice"), UserSpec::new("bob")] {
        s.add_user(user).expect("user");
    }
    let tokens = [
        TokenSpec::new("alice", "workspace")
            .scopes(&["api"])
            .secret(ALICE)
            .expires(Expiry::InDays(60)),
        TokenSpec::new("alice", "read api")
            .scopes(&["read_api"])
            .secret(ALICE_READ_API),
        TokenSpec::new("alice", "read user")
            .scopes(&["read_user"])
            .secret(ALICE_READ_USER),
        TokenSpec::new("bob", "bob").scopes(&["api"]).secret(BOB),
    ];
    for token in tokens {
        s.add_token(token).expect("token");
    }
    let projects = [
        ProjectSpec::new("acme/backend")
            .member("alice", AccessLevel::DEVELOPER)
            .description("The backend service"),
        ProjectSpec::new("acme/back-office").member("alice", AccessLevel::MAINTAINER),
        ProjectSpec::new("acme/legacy")
            .member("alice", AccessLevel::REPORTER)
            .archived(),
        ProjectSpec::new("acme/docs").visibility(Visibility::Public),
        ProjectSpec::new("bob/notes"),
    ];
    for project in projects {
        s.add_project(project).expect("project");
    }
    s
}

// --- booleans ---

/// Every spelling dry-types' `Params::Bool` knows, on three parameters;
/// Python clients send `True`/`False`.
#[tokio::test]
async fn booleans_take_every_spelling_grape_coerces() {
    let gitlab = serve(scenario()).await;
    let members = get(&gitlab, "/api/v4/projects?membership=true", Some(ALICE))
        .await
        .ids();
    let everyone = get(&gitlab, "/api/v4/projects", Some(ALICE)).await.ids();
    assert_eq!(members.len(), 3);
    assert_eq!(everyone.len(), 4, "the public project too");
    let yes = [
        "1", "on", "On", "ON", "t", "true", "True", "TRUE", "T", "y", "yes", "Yes", "YES", "Y",
    ];
    let no = [
        "0", "off", "Off", "OFF", "f", "false", "False", "FALSE", "F", "n", "no", "No", "NO", "N",
    ];
    for value in yes {
        let answer = get(&gitlab, &format!("/api/v4/projects?membership={value}"), Some(ALICE)).await;
        assert_eq!(answer.status, 200, "membership={value}: {}", answer.text);
        assert_eq!(answer.ids(), members, "membership={value}");
        let simple = get(&gitlab, &format!("/api/v4/projects?simple={value}"), Some(ALICE)).await;
        assert!(
            simple.json()[0].get("visibility").is_none(),
            "simple={value} is the simple shape"
        );
        let archived = get(&gitlab, &format!("/api/v4/projects?archived={value}"), Some(ALICE)).await;
        assert_eq!(
            archived.ids(),
            vec![project_id(&gitlab, "acme/legacy")],
            "archived={value}"
        );
    }
    for value in no {
        let answer = get(&gitlab, &format!("/api/v4/projects?membership={value}"), Some(ALICE)).await;
        assert_eq!(answer.status, 200, "membership={value}: {}", answer.text);
        assert_eq!(answer.ids(), everyone, "membership={value}");
        let simple = get(&gitlab, &format!("/api/v4/projects?simple={value}"), Some(ALICE)).await;
        assert!(
            simple.json()[0].get("visibility").is_some(),
            "simple={value} is the full shape"
        );
        let archived = get(&gitlab, &format!("/api/v4/projects?archived={value}"), Some(ALICE)).await;
        assert_eq!(archived.ids().len(), 3, "archived={value} leaves the archived one out");
    }
    // An empty value is not given (unconfirmed item 14).
    let empty = get(&gitlab, "/api/v4/projects?membership=", Some(ALICE)).await;
    assert_eq!(empty.ids(), everyone);
}

#[tokio::test]
async fn other_boolean_spellings_are_invalid() {
    let gitlab = serve(scenario()).await;
    for (query, param) in [
        ("membership=tRUE", "membership"),
        ("simple=yEs", "simple"),
        ("archived=2", "archived"),
        ("statistics=oui", "statistics"),
        ("with_custom_attributes=maybe", "with_custom_attributes"),
        ("owned=nope", "owned"),
        ("starred=-1", "starred"),
    ] {
        let answer = get(&gitlab, &format!("/api/v4/projects?{query}"), Some(ALICE)).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(
            answer.json(),
            json!({"error": format!("{param} is invalid")}),
            "{query}"
        );
    }
    let id = project_id(&gitlab, "acme/backend");
    let answer = get(&gitlab, &format!("/api/v4/projects/{id}?statistics=Nope"), Some(ALICE)).await;
    assert_eq!(answer.json(), json!({"error": "statistics is invalid"}));
    let answer = get(
        &gitlab,
        &format!("/api/v4/projects/{id}?statistics=True&license=False"),
        Some(ALICE),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert!(answer.json().get("statistics").is_some());
}

// --- pagination and filter values ---

#[tokio::test]
async fn min_access_level_takes_only_gitlab_roles() {
    let gitlab = serve(scenario()).await;
    for level in [10, 15, 20, 30, 40, 50] {
        let answer = get(
            &gitlab,
            &format!("/api/v4/projects?min_access_level={level}"),
            Some(ALICE),
        )
        .await;
        assert_eq!(answer.status, 200, "min_access_level={level}: {}", answer.text);
    }
    let developer = get(&gitlab, "/api/v4/projects?min_access_level=30", Some(ALICE)).await;
    assert_eq!(developer.ids().len(), 2, "developer and maintainer projects");
    for level in ["0", "5", "25", "31", "60", "-10", "99999999999"] {
        let answer = get(
            &gitlab,
            &format!("/api/v4/projects?min_access_level={level}"),
            Some(ALICE),
        )
        .await;
        assert_eq!(answer.status, 400, "min_access_level={level}");
        assert_eq!(
            answer.json(),
            json!({"error": "min_access_level does not have a valid value"}),
            "min_access_level={level}"
        );
    }
    let answer = get(&gitlab, "/api/v4/projects?min_access_level=developer", Some(ALICE)).await;
    assert_eq!(answer.json(), json!({"error": "min_access_level is invalid"}));
}

#[tokio::test]
async fn every_order_by_gitlab_declares_is_accepted() {
    let gitlab = serve(scenario()).await;
    let newest_first = get(&gitlab, "/api/v4/projects", Some(ALICE)).await.ids();
    let oldest_first = get(&gitlab, "/api/v4/projects?sort=asc", Some(ALICE)).await.ids();
    assert!(newest_first.windows(2).all(|w| w[0] > w[1]), "{newest_first:?}");
    // Statistics orders are for administrators: others get the default order.
    for order_by in ["storage_size", "repository_size", "wiki_size", "packages_size"] {
        let answer = get(&gitlab, &format!("/api/v4/projects?order_by={order_by}"), Some(ALICE)).await;
        assert_eq!(answer.status, 200, "{order_by}: {}", answer.text);
        assert_eq!(answer.ids(), newest_first, "{order_by}");
        let asc = get(
            &gitlab,
            &format!("/api/v4/projects?order_by={order_by}&sort=asc"),
            Some(ALICE),
        )
        .await;
        assert_eq!(asc.ids(), oldest_first, "{order_by}&sort=asc");
    }
    // No project has a star: ties, broken by id in the same direction.
    let stars = get(&gitlab, "/api/v4/projects?order_by=star_count&sort=asc", Some(ALICE)).await;
    assert_eq!(stars.ids(), oldest_first);
    // Without a search, similarity is the default order, public projects included.
    let similarity = get(&gitlab, "/api/v4/projects?order_by=similarity", Some(ALICE)).await;
    assert_eq!(similarity.ids(), newest_first);
    for bad in ["stars", "Similarity", ""] {
        let answer = get(&gitlab, &format!("/api/v4/projects?order_by={bad}"), Some(ALICE)).await;
        assert_eq!(
            answer.json(),
            json!({"error": "order_by does not have a valid value"}),
            "order_by={bad}"
        );
    }
    let keyset = get(
        &gitlab,
        "/api/v4/projects?pagination=keyset&order_by=star_count",
        Some(ALICE),
    )
    .await;
    assert_eq!(keyset.status, 405);
}

/// With a search, `order_by=similarity` ranks the caller's own projects by
/// how much of the search text their path, name and description hold.
#[tokio::test]
async fn similarity_ranks_member_projects_against_the_search() {
    let gitlab = serve(scenario()).await;
    gitlab
        .add_project(ProjectSpec::new("acme/backyard").visibility(Visibility::Public))
        .expect("project");
    let backend = project_id(&gitlab, "acme/backend");
    let back_office = project_id(&gitlab, "acme/back-office");
    let backyard = project_id(&gitlab, "acme/backyard");
    let searched = get(&gitlab, "/api/v4/projects?search=back", Some(ALICE)).await;
    assert_eq!(searched.ids(), vec![backyard, back_office, backend], "newest first");
    for sort in ["", "&sort=asc", "&sort=desc"] {
        let ranked = get(
            &gitlab,
            &format!("/api/v4/projects?search=back&order_by=similarity{sort}"),
            Some(ALICE),
        )
        .await;
        assert_eq!(ranked.status, 200, "{}", ranked.text);
        // "backend" shares more trigrams with "back" than "back-office" does,
        // and the public project is left out.
        assert_eq!(ranked.ids(), vec![backend, back_office], "sort {sort:?}");
    }
    // Anonymous callers get the default order.
    let anonymous = get(&gitlab, "/api/v4/projects?search=back&order_by=similarity", None).await;
    assert_eq!(anonymous.ids(), vec![backyard]);
}
