//! The simulator's API as third-party GitLab clients use it beyond what
//! labwatch asks: Grape's parameter coercion and validation on
//! `GET /projects` (booleans, `per_page`, `min_access_level`, `order_by`),
//! the personal access token endpoints by id, the users API, and what the
//! failed-authentication ban counts (docs/gitlab.md §10, §13, §14).

use labwatch::sim::{AccessLevel, Expiry, ProjectSpec, Scenario, SimHandle, TokenSpec, UserSpec, Visibility};
use serde_json::json;
use time::Date;
use time::macros::date;

use crate::support::sim_http::{delete, get, serve};

const TODAY: Date = date!(2026 - 03 - 01);

const ALICE: &str = "glpat-alice-api-000000000000";
const ALICE_READ_API: &str = "glpat-alice-read-api-0000000";
const ALICE_READ_USER: &str = "glpat-alice-read-user-000000";
const BOB: &str = "glpat-bob-api-00000000000000";

// --- helpers ---

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
    // An empty value is not given (unconfirmed item 18).
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

// --- personal access tokens by id ---

fn user_id(gitlab: &SimHandle, username: &str) -> u64 {
    gitlab
        .summary()
        .users
        .iter()
        .find(|u| u.username == username)
        .expect("user")
        .user_id
}

fn secret_id(gitlab: &SimHandle, secret: &str) -> u64 {
    gitlab.token(secret).expect("token").id
}

#[tokio::test]
async fn token_list_holds_only_the_callers_tokens_and_filters_them() {
    let gitlab = serve(scenario()).await;
    let list = get(&gitlab, "/api/v4/personal_access_tokens", Some(ALICE)).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let ids = [ALICE, ALICE_READ_API, ALICE_READ_USER].map(|s| secret_id(&gitlab, s));
    assert_eq!(list.ids(), ids.to_vec(), "alice's three, in id order");
    let first = &list.json()[0];
    assert_eq!(first["user_id"], user_id(&gitlab, "alice"));
    assert_eq!(first["last_used_ips"], json!([]));
    assert_eq!(first["revoked"], json!(false));

    // A read_api token may list; a read_user one may not.
    assert_eq!(
        get(&gitlab, "/api/v4/personal_access_tokens", Some(ALICE_READ_API))
            .await
            .status,
        200
    );
    let denied = get(&gitlab, "/api/v4/personal_access_tokens", Some(ALICE_READ_USER)).await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["scope"], "api read_api");
    assert_eq!(get(&gitlab, "/api/v4/personal_access_tokens", None).await.status, 401);

    gitlab.revoke_token(ids[2]).expect("revoke");
    let revoked = get(&gitlab, "/api/v4/personal_access_tokens?revoked=True", Some(ALICE)).await;
    assert_eq!(revoked.ids(), vec![ids[2]]);
    let active = get(&gitlab, "/api/v4/personal_access_tokens?state=active", Some(ALICE)).await;
    assert_eq!(active.ids(), vec![ids[0], ids[1]]);
    let inactive = get(&gitlab, "/api/v4/personal_access_tokens?state=inactive", Some(ALICE)).await;
    assert_eq!(inactive.ids(), vec![ids[2]]);
    let searched = get(&gitlab, "/api/v4/personal_access_tokens?search=READ", Some(ALICE)).await;
    assert_eq!(searched.ids(), vec![ids[1], ids[2]], "case-insensitive substring");
    let short = get(&gitlab, "/api/v4/personal_access_tokens?search=re", Some(ALICE)).await;
    assert_eq!(short.ids(), Vec::<u64>::new(), "under three characters: the whole name");
    // The workspace token expires in 60 days, the others in 30 (on 2026-03-31).
    let expiring = get(
        &gitlab,
        "/api/v4/personal_access_tokens?expires_before=2026-03-31",
        Some(ALICE),
    )
    .await;
    assert_eq!(expiring.ids(), Vec::<u64>::new(), "before is exclusive");
    let expiring = get(
        &gitlab,
        "/api/v4/personal_access_tokens?expires_before=2026-04-01",
        Some(ALICE),
    )
    .await;
    assert_eq!(expiring.ids(), vec![ids[1], ids[2]]);
    let later = get(
        &gitlab,
        "/api/v4/personal_access_tokens?expires_after=2026-04-30",
        Some(ALICE),
    )
    .await;
    assert_eq!(later.ids(), vec![ids[0]], "after is inclusive");
    let by_name = get(&gitlab, "/api/v4/personal_access_tokens?sort=name_desc", Some(ALICE)).await;
    assert_eq!(by_name.ids(), vec![ids[0], ids[2], ids[1]]);
    let created = get(
        &gitlab,
        "/api/v4/personal_access_tokens?created_after=2000-01-01T00:00:00",
        Some(ALICE),
    )
    .await;
    assert_eq!(created.ids().len(), 3);

    let paged = get(&gitlab, "/api/v4/personal_access_tokens?per_page=2&page=2", Some(ALICE)).await;
    assert_eq!(paged.ids(), vec![ids[2]]);
    let own = user_id(&gitlab, "alice");
    let mine = get(
        &gitlab,
        &format!("/api/v4/personal_access_tokens?user_id={own}"),
        Some(ALICE),
    )
    .await;
    assert_eq!(mine.ids().len(), 3);
    let bob = user_id(&gitlab, "bob");
    let theirs = get(
        &gitlab,
        &format!("/api/v4/personal_access_tokens?user_id={bob}"),
        Some(ALICE),
    )
    .await;
    assert_eq!(theirs.status, 401);
    assert_eq!(theirs.json(), json!({"message": "401 Unauthorized"}));
    for (query, error) in [
        ("state=gone", "state does not have a valid value"),
        ("revoked=maybe", "revoked is invalid"),
        ("created_before=yesterday", "created_before is invalid"),
        ("expires_after=2026-13-01", "expires_after is invalid"),
        ("per_page=0", "per_page has a value not allowed"),
    ] {
        let answer = get(&gitlab, &format!("/api/v4/personal_access_tokens?{query}"), Some(ALICE)).await;
        assert_eq!(answer.status, 400, "{query}");
        assert_eq!(answer.json(), json!({ "error": error }), "{query}");
    }
}

#[tokio::test]
async fn one_token_by_id_is_the_callers_own_only() {
    let gitlab = serve(scenario()).await;
    let id = secret_id(&gitlab, ALICE_READ_USER);
    let own = get(
        &gitlab,
        &format!("/api/v4/personal_access_tokens/{id}"),
        Some(ALICE_READ_API),
    )
    .await;
    assert_eq!(own.status, 200, "{}", own.text);
    assert_eq!(own.json()["name"], "read user");
    assert_eq!(own.json()["id"], id);
    // Someone else's token and a missing one look alike to a non-admin: 401.
    let bobs = secret_id(&gitlab, BOB);
    for other in [bobs, 999] {
        let answer = get(&gitlab, &format!("/api/v4/personal_access_tokens/{other}"), Some(ALICE)).await;
        assert_eq!(answer.status, 401, "token {other}");
        assert_eq!(answer.json(), json!({"message": "401 Unauthorized"}));
    }
    let bad = get(&gitlab, "/api/v4/personal_access_tokens/abc", Some(ALICE)).await;
    assert_eq!(bad.json(), json!({"error": "id is invalid"}));
    // The self endpoint still answers the calling token.
    let me = get(&gitlab, "/api/v4/personal_access_tokens/self", Some(ALICE_READ_USER)).await;
    assert_eq!(me.json()["id"], id);
    // A revoked token of one's own can still be read.
    gitlab.revoke_token(id).expect("revoke");
    let revoked = get(&gitlab, &format!("/api/v4/personal_access_tokens/{id}"), Some(ALICE)).await;
    assert_eq!(revoked.json()["revoked"], json!(true));
}

#[tokio::test]
async fn revoking_by_id_is_self_revocation_of_another_own_token() {
    let gitlab = serve(scenario()).await;
    let id = secret_id(&gitlab, ALICE_READ_API);
    // DELETE is a write: read_api is not enough.
    let denied = delete(
        &gitlab,
        &format!("/api/v4/personal_access_tokens/{id}"),
        Some(ALICE_READ_API),
    )
    .await;
    assert_eq!(denied.status, 403);
    assert_eq!(denied.json()["scope"], "api");
    let revoked = delete(&gitlab, &format!("/api/v4/personal_access_tokens/{id}"), Some(ALICE)).await;
    assert_eq!(revoked.status, 204);
    assert_eq!(revoked.text, "");
    assert!(gitlab.token(id).expect("token").revoked);
    // The same effect as self-revocation: the token now gets the revoked 401.
    let used = get(&gitlab, "/api/v4/projects", Some(ALICE_READ_API)).await;
    assert_eq!(used.status, 401);
    assert_eq!(used.json()["error"], "invalid_token");
    let again = delete(&gitlab, &format!("/api/v4/personal_access_tokens/{id}"), Some(ALICE)).await;
    assert_eq!(again.status, 204, "revoking a revoked token changes nothing");

    let bobs = secret_id(&gitlab, BOB);
    let theirs = delete(&gitlab, &format!("/api/v4/personal_access_tokens/{bobs}"), Some(ALICE)).await;
    assert_eq!(theirs.status, 400);
    assert_eq!(
        theirs.json(),
        json!({"message": "400 Bad request - Not permitted to revoke"})
    );
    assert!(!gitlab.token(bobs).expect("token").revoked);
    let missing = delete(&gitlab, "/api/v4/personal_access_tokens/999", Some(ALICE)).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"message": "404 Not found"}));
}

// --- users ---

#[tokio::test]
async fn users_by_id_show_the_public_profile() {
    let gitlab = serve(scenario()).await;
    let bob = user_id(&gitlab, "bob");
    let answer = get(&gitlab, &format!("/api/v4/users/{bob}"), Some(ALICE_READ_USER)).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let body = answer.json();
    assert_eq!(body["username"], "bob");
    assert_eq!(body["id"], bob);
    assert_eq!(body["is_followed"], json!(false));
    for private in ["email", "last_sign_in_at", "identities", "is_admin", "projects_limit"] {
        assert!(body.get(private).is_none(), "{private} is not public");
    }
    let missing = get(&gitlab, "/api/v4/users/999", Some(ALICE)).await;
    assert_eq!(missing.status, 404);
    assert_eq!(missing.json(), json!({"message": "404 User Not Found"}));
    let anonymous = get(&gitlab, &format!("/api/v4/users/{bob}"), None).await;
    assert_eq!(anonymous.status, 403);
    assert_eq!(anonymous.json(), json!({"message": "403 Forbidden - Not authorized!"}));
    let not_a_number = get(&gitlab, "/api/v4/users/bob", Some(ALICE)).await;
    assert_eq!(not_a_number.status, 404);
    assert_eq!(
        not_a_number.json(),
        json!({"error": "404 Not Found"}),
        "no route matches"
    );
    // Counted by route template, as every route is.
    assert_eq!(gitlab.counters().route("GET /api/v4/users/{id}"), 4);
}

#[tokio::test]
async fn users_by_username_answer_a_list_of_at_most_one() {
    let gitlab = serve(scenario()).await;
    gitlab.add_user(UserSpec::new("carol").blocked()).expect("user");
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(|u| user_id(&gitlab, u));
    let found = get(&gitlab, "/api/v4/users?username=Bob", Some(ALICE_READ_USER)).await;
    assert_eq!(found.status, 200, "{}", found.text);
    assert_eq!(found.ids(), vec![bob], "case-insensitive");
    let keys: Vec<String> = found.json()[0].as_object().expect("object").keys().cloned().collect();
    assert_eq!(keys.len(), 7, "the basic entity: {keys:?}");
    let unknown = get(&gitlab, "/api/v4/users?username=nobody", Some(ALICE)).await;
    assert_eq!(unknown.status, 200);
    assert_eq!(unknown.json(), json!([]));
    // Anonymous: only a lookup by username.
    assert_eq!(get(&gitlab, "/api/v4/users?username=bob", None).await.ids(), vec![bob]);
    let everyone = get(&gitlab, "/api/v4/users", None).await;
    assert_eq!(everyone.status, 403);
    assert_eq!(
        everyone.json(),
        json!({"message": "403 Forbidden - Not authorized to access /api/v4/users"})
    );
    // Signed in: everyone, newest first; filters and order.
    assert_eq!(
        get(&gitlab, "/api/v4/users", Some(ALICE)).await.ids(),
        vec![carol, bob, alice]
    );
    assert_eq!(
        get(&gitlab, "/api/v4/users?blocked=true", Some(ALICE)).await.ids(),
        vec![carol]
    );
    assert_eq!(
        get(&gitlab, "/api/v4/users?active=Y", Some(ALICE)).await.ids(),
        vec![bob, alice]
    );
    let by_name = get(&gitlab, "/api/v4/users?order_by=username&sort=asc", Some(ALICE)).await;
    assert_eq!(by_name.ids(), vec![alice, bob, carol]);
    assert_eq!(
        get(&gitlab, "/api/v4/users?search=CAR", Some(ALICE)).await.ids(),
        vec![carol]
    );
    let bad = get(&gitlab, "/api/v4/users?active=maybe", Some(ALICE)).await;
    assert_eq!(bad.json(), json!({"error": "active is invalid"}));
}
