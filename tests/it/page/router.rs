//! The page's HTML and `/status/history` through the router (`oneshot`):
//! structure, escaping, the CSP and its nonce, the history's shape and bound.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use labwatch::engine::{CheckKey, HISTORY_CAPACITY, Outcome, Reason, Status, StatusStore};
use labwatch::gitlab::GitlabMetrics;
use labwatch::http::{AppState, router};
use labwatch::metrics::Metrics;
use labwatch::report::{ConnectionView, TokenView};
use serde_json::{Value, json};
use time::OffsetDateTime;
use tower::ServiceExt;

/// Fixed connection views, as the router tests give them.
type Connections = BTreeMap<String, ConnectionView>;

const XSS: &str = "<script>alert('pwned')</script>";

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

async fn get(store: &Arc<StatusStore>, connections: Connections, uri: &str) -> Answer {
    let state = AppState {
        status: store.clone(),
        metrics: Arc::new(Metrics::new(store.clone(), &GitlabMetrics::new())),
        connections: Arc::new(connections),
        fleet: Arc::new(labwatch::report::NoInstances),
        admin: None,
        config: Default::default(),
        store: None,
        replica: None,
    };
    let response = router(state)
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

fn key(check: &str, target: Option<&str>) -> CheckKey {
    CheckKey {
        workspace: "acme".into(),
        check: check.into(),
        target: target.map(Into::into),
    }
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).unwrap()
}

fn record(store: &StatusStore, k: &CheckKey, outcome: Outcome, blocked_by: Option<&str>, secs: i64) {
    store.record(
        k,
        outcome,
        blocked_by.map(Into::into),
        Duration::from_millis(20),
        at(secs),
    );
}

/// Workspace `acme`: instance ok, token revoked (with a hostile summary and
/// remediation), scopes and two repositories blocked by the token, plus a
/// workspace whose name is markup.
fn broken_store() -> (Arc<StatusStore>, Connections) {
    let store = Arc::new(StatusStore::new());
    let checks = ["instance", "token", "scopes"].map(|c| (c.to_owned(), None));
    let repos = ["acme/backend", "acme/<b>frontend</b>"].map(|r| ("repository".to_owned(), Some(r.to_owned())));
    store.set_layout(vec![
        (
            "acme".into(),
            "https://gitlab.example.com".into(),
            checks.into_iter().chain(repos).collect(),
        ),
        ("<i>odd</i>".into(), "javascript:alert(1)".into(), vec![]),
    ]);
    record(
        &store,
        &key("instance", None),
        Outcome::ok("GitLab 17.5 answers."),
        None,
        0,
    );
    record(&store, &key("token", None), Outcome::ok("Token valid."), None, 0);
    let revoked = Outcome::new(
        Status::Critical,
        Reason::TokenRevoked,
        format!("Token `ws` was revoked {XSS}."),
    )
    .with_remediation([
        "Create a new token.",
        "Run `labwatch renew --workspace acme` <img src=x onerror=alert(2)>.",
    ]);
    record(&store, &key("token", None), revoked, None, 60);
    let blocked = || {
        Outcome::new(
            Status::Unknown,
            Reason::Blocked,
            "Not run: `token` is critical (token-revoked).",
        )
    };
    for k in [
        key("scopes", None),
        key("repository", Some("acme/backend")),
        key("repository", Some("acme/<b>frontend</b>")),
    ] {
        record(&store, &k, blocked(), Some("token"), 60);
    }
    store.finish_pass("acme");
    let mut connections = Connections::new();
    connections.insert(
        "acme".to_owned(),
        ConnectionView {
            connected: true,
            username: Some("alice<svg onload=alert(3)>".into()),
            user_id: Some(3),
            token: Some(TokenView {
                id: 4,
                name: "workspace".into(),
                scopes: vec!["api".into(), "read_repository".into()],
                expires_at: Some("2027-01-31".into()),
                renewal_due: None,
            }),
        },
    );
    (store, connections)
}

/// The part of `body` from the element with `id` to the end of its
/// section or article (good enough for the page's own, flat markup).
fn part<'a>(body: &'a str, id: &str, end: &str) -> &'a str {
    let start = body
        .find(&format!(r#"id="{id}""#))
        .unwrap_or_else(|| panic!("no #{id}"));
    let rest = &body[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

#[tokio::test]
async fn the_page_is_self_contained_html_with_a_nonce_script_and_a_strict_csp() {
    let (store, connections) = broken_store();
    let a = get(&store, connections, "/").await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(a.headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = a.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    for directive in [
        "default-src 'none'",
        "connect-src 'self'",
        "img-src data:",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{csp}");
    }
    let nonce = csp
        .split("script-src 'nonce-")
        .nth(1)
        .and_then(|s| s.split('\'').next())
        .expect("a script nonce");
    let b = &a.body;
    assert!(b.starts_with("<!doctype html>\n<html lang=\"en\">"), "{b}");
    assert!(b.contains(r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#));
    assert_eq!(b.matches("<script").count(), 1, "only the refresh script");
    assert!(b.contains(&format!(r#"<script nonce="{nonce}">"#)));
    assert!(b.contains(r#"<noscript><meta http-equiv="refresh" content="30"></noscript>"#));
    for external in ["src=\"http", "href=\"//", "@import", "url("] {
        assert!(!b.contains(external), "`{external}` in the page");
    }
    // A second answer gets another nonce.
    let again = get(&store, Connections::new(), "/").await;
    assert!(!again.body.contains(&format!(r#"nonce="{nonce}""#)));
}

#[tokio::test]
async fn everything_from_gitlab_plugins_or_config_is_escaped() {
    let (store, connections) = broken_store();
    let b = get(&store, connections, "/").await.body;
    for raw in [XSS, "<img src=x", "<svg onload", "<b>frontend</b>", "<i>odd</i>"] {
        assert!(!b.contains(raw), "`{raw}` unescaped");
    }
    assert!(
        b.contains("revoked &lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;."),
        "summary"
    );
    assert!(b.contains("<code>labwatch renew --workspace acme</code> &lt;img src=x onerror=alert(2)&gt;."));
    assert!(b.contains("alice&lt;svg onload=alert(3)&gt; (id 3)"));
    assert!(b.contains("<code>acme/&lt;b&gt;frontend&lt;/b&gt;</code>"));
    assert!(b.contains("&lt;i&gt;odd&lt;/i&gt;"));
    // Config validates instance URLs; the page links only http(s) anyway.
    assert!(!b.contains(r#"href="javascript:"#));
    assert!(b.contains(r#"<a href="https://gitlab.example.com" rel="noreferrer">"#));
}

#[tokio::test]
async fn a_workspace_shows_connection_checks_remediation_blocked_checks_and_repositories() {
    let (store, connections) = broken_store();
    let b = get(&store, connections, "/").await.body;
    let ws = part(&b, "ws-acme", "</section>");
    assert!(
        ws.contains(r#"data-status="critical""#) && ws.contains(r#"<span class="badge st-critical">CRITICAL</span>"#)
    );
    for fact in [
        "<dt>User</dt>",
        "<dt>Token</dt><dd>workspace (id 4)</dd>",
        "<code>read_repository</code>",
    ] {
        assert!(ws.contains(fact), "`{fact}` missing");
    }
    assert!(
        ws.contains(r#"<time datetime="2027-01-31">2027-01-31</time> ("#),
        "expiry date"
    );
    // The root cause carries its steps, in order, and lists what it blocks.
    let token = part(ws, "ws-acme-check-token", "</article>");
    assert!(token.contains(r#"data-reason="token-revoked""#));
    let steps = token.split("<ol class=\"remediation\">").nth(1).unwrap();
    let first = steps.find("Create a new token.").unwrap();
    assert!(first < steps.find("labwatch renew").unwrap());
    for blocked in [
        r#"<li data-check="scopes" data-target="">"#,
        r#"<li data-check="repository" data-target="acme/backend">"#,
    ] {
        assert!(token.contains(blocked), "`{blocked}` not under token:\n{token}");
    }
    assert!(
        !ws.contains(r#"id="ws-acme-check-scopes""#),
        "blocked scopes has no card of its own"
    );
    // Repositories: a table with column and row headers.
    let table = part(ws, "ws-acme-targets-repository", "</table>");
    assert!(table.contains(r#"<th scope="col" role="columnheader">Repository</th>"#));
    assert!(table.contains(r#"<th scope="row" role="rowheader"><code>acme/backend</code></th>"#));
    assert_eq!(table.matches("<tr role=\"row\" data-target=").count(), 2);
    assert!(ws.contains("<dt>Last run</dt>") && ws.contains("<dt>Last success</dt>"));
}

#[tokio::test]
async fn history_is_newest_first_json_of_status_and_reason_changes() {
    let (store, connections) = broken_store();
    let a = get(&store, connections.clone(), "/status/history").await;
    assert_eq!(a.status, StatusCode::OK);
    let v: Value = serde_json::from_str(&a.body).unwrap();
    assert_eq!(v["capacity"], HISTORY_CAPACITY);
    let t = v["transitions"].as_array().unwrap();
    // instance, token (first results), token ok→critical, three blocked.
    assert_eq!(t.len(), 6, "{t:#?}");
    let revoked = t
        .iter()
        .find(|t| t["reason"] == "token-revoked")
        .expect("the revocation");
    assert_eq!(
        revoked,
        &json!({"at": "2027-01-15T08:01:00Z", "workspace": "acme", "check": "token", "target": null,
                "from": "ok", "from_reason": "ok", "to": "critical", "reason": "token-revoked",
                "summary": format!("Token `ws` was revoked {XSS}."), "blocked_by": null})
    );
    assert_eq!(t.last().unwrap()["from"], Value::Null, "oldest: a first result");
    assert_eq!(t.last().unwrap()["check"], "instance");
    let times: Vec<&str> = t.iter().map(|t| t["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first: {times:?}");
    let blocked = t.iter().find(|t| t["target"] == "acme/backend").unwrap();
    assert_eq!(
        (&blocked["to"], &blocked["blocked_by"]),
        (&json!("unknown"), &json!("token"))
    );

    // The same status and reason with a new summary is no transition.
    record(
        &store,
        &key("token", None),
        Outcome::new(Status::Critical, Reason::TokenRevoked, "Other words."),
        None,
        120,
    );
    let v: Value = serde_json::from_str(&get(&store, connections.clone(), "/status/history").await.body).unwrap();
    assert_eq!(v["transitions"].as_array().unwrap().len(), 6);

    // The page lists them too.
    let page = get(&store, connections, "/").await.body;
    let changes = part(&page, "changes", "</section>");
    assert!(changes.contains(r#"data-workspace="acme" data-check="token" data-target="" data-from="ok" data-to="critical" data-reason="token-revoked""#));
    assert!(changes.contains(r#"<span class="first">first result</span>"#));
}

#[tokio::test]
async fn history_keeps_only_the_newest_transitions() {
    let store = Arc::new(StatusStore::new());
    store.set_layout(vec![(
        "acme".into(),
        "https://gitlab.example.com".into(),
        vec![("token".into(), None)],
    )]);
    let flips = HISTORY_CAPACITY + 100;
    for i in 0..flips {
        let outcome = if i % 2 == 0 {
            Outcome::ok("ok")
        } else {
            Outcome::new(Status::Critical, Reason::TokenExpired, "expired")
        };
        record(&store, &key("token", None), outcome, None, i64::try_from(i).unwrap());
    }
    let v: Value = serde_json::from_str(&get(&store, Connections::new(), "/status/history").await.body).unwrap();
    let t = v["transitions"].as_array().unwrap();
    assert_eq!(t.len(), HISTORY_CAPACITY);
    let newest = i64::try_from(flips - 1).unwrap();
    assert_eq!(t[0]["at"], labwatch::report::rfc3339(at(newest)));
    assert_eq!(t[HISTORY_CAPACITY - 1]["at"], labwatch::report::rfc3339(at(100)));
    // The page shows the newest 50 of them.
    let page = get(&store, Connections::new(), "/").await.body;
    assert_eq!(
        part(&page, "changes", "</section>")
            .matches("<tr role=\"row\" data-workspace=")
            .count(),
        50
    );
}
