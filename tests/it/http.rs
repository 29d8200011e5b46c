//! The read-only endpoints, through the router with `oneshot`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use labwatch::engine::{CheckKey, Outcome, Reason, Status, StatusStore};
use labwatch::gitlab::GitlabMetrics;
use labwatch::http::{AppState, router};
use labwatch::metrics::Metrics;
use labwatch::report::ConnectionView;
use time::OffsetDateTime;
use tower::ServiceExt;

use crate::support::tools;

/// A store with workspace `acme` (instance + token) and `beta` (instance).
pub(crate) fn store() -> Arc<StatusStore> {
    let store = Arc::new(StatusStore::new());
    store.set_layout(vec![
        (
            "acme".into(),
            "https://gitlab.example.com".into(),
            vec![("instance".into(), None), ("token".into(), None)],
        ),
        (
            "beta".into(),
            "https://gitlab.com".into(),
            vec![("instance".into(), None)],
        ),
    ]);
    store
}

fn key(ws: &str, check: &str) -> CheckKey {
    CheckKey {
        workspace: ws.into(),
        check: check.into(),
        target: None,
    }
}

fn record(store: &StatusStore, ws: &str, check: &str, outcome: Outcome, blocked_by: Option<&str>) {
    let at = OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap();
    store.record(
        &key(ws, check),
        outcome,
        blocked_by.map(Into::into),
        Duration::from_millis(31),
        at,
    );
}

pub(crate) fn all_ok(store: &StatusStore) {
    let instance = Outcome::ok("GitLab 17.5 answers")
        .with_measurement("dns_seconds", 0.002)
        .with_measurement("tls_cert_expiry_timestamp_seconds", 1.9e9);
    record(store, "acme", "instance", instance, None);
    record(store, "acme", "token", Outcome::ok("token valid"), None);
    record(store, "beta", "instance", Outcome::ok("GitLab answers"), None);
    for ws in ["acme", "beta"] {
        store.finish_pass(ws);
    }
}

fn instance_down(store: &StatusStore) {
    let down = Outcome::new(
        Status::Critical,
        Reason::TcpRefused,
        "Connection to gitlab.example.com:443 was refused.",
    );
    record(store, "acme", "instance", down, None);
    let blocked = Outcome::new(
        Status::Unknown,
        Reason::Blocked,
        "Not run: `instance` is critical (tcp-refused).",
    );
    record(store, "acme", "token", blocked, Some("instance"));
}

pub(crate) async fn get(store: &Arc<StatusStore>, uri: &str) -> (StatusCode, String) {
    let state = AppState {
        status: store.clone(),
        metrics: Arc::new(Metrics::new(store.clone(), &GitlabMetrics::new())),
        connections: Arc::new(BTreeMap::<String, ConnectionView>::new()),
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
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test]
async fn livez_always_answers() {
    assert_eq!(get(&store(), "/livez").await.0, StatusCode::OK);
}

#[tokio::test]
async fn readyz_is_503_until_every_workspace_finished_a_round() {
    let s = store();
    assert_eq!(get(&s, "/readyz").await.0, StatusCode::SERVICE_UNAVAILABLE);
    s.finish_pass("acme");
    let (code, body) = get(&s, "/readyz?verbose").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("[+] config ok"), "{body}");
    assert!(body.contains("[+] workspace:acme ok"), "{body}");
    assert!(body.contains("[-] workspace:beta first-round-pending"), "{body}");
    s.finish_pass("beta");
    assert_eq!(get(&s, "/readyz").await, (StatusCode::OK, "ok\n".into()));
}

#[tokio::test]
async fn health_is_503_before_the_first_round() {
    let (code, body) = get(&store(), "/health").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("first round"), "{body}");
}

#[tokio::test]
async fn health_lists_only_the_root_cause_of_an_outage() {
    let s = store();
    all_ok(&s);
    assert_eq!(get(&s, "/health").await, (StatusCode::OK, "ok\n".into()));
    instance_down(&s);
    let (code, body) = get(&s, "/health").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        "acme/instance critical tcp-refused: Connection to gitlab.example.com:443 was refused.\n"
    );
    // Scoped to the healthy workspace it is 200.
    assert_eq!(get(&s, "/health?workspace=beta").await.0, StatusCode::OK);
    assert_eq!(
        get(&s, "/health?workspace=acme").await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn health_strict_also_fails_on_warnings_and_verbose_lists_everything() {
    let s = store();
    all_ok(&s);
    let expiring = Outcome::new(
        Status::Warning,
        Reason::TlsCertExpiring,
        "The certificate expires in 5 days.",
    );
    record(&s, "beta", "instance", expiring, None);
    assert_eq!(get(&s, "/health").await.0, StatusCode::OK);
    let (code, body) = get(&s, "/health?strict").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("beta/instance warning tls-cert-expiring"), "{body}");
    let (code, body) = get(&s, "/health?verbose").await;
    assert_eq!(code, StatusCode::OK);
    assert_eq!(body.lines().count(), 3, "{body}");
    assert!(body.contains("acme/token ok ok: token valid"), "{body}");
}

#[tokio::test]
async fn an_unknown_check_result_that_is_not_blocked_fails_health() {
    let s = store();
    all_ok(&s);
    let timeout = Outcome::new(
        Status::Unknown,
        Reason::CheckTimeout,
        "The check did not finish within its timeout of 10s.",
    );
    record(&s, "acme", "token", timeout, None);
    let (code, body) = get(&s, "/health").await;
    assert_eq!(code, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("acme/token unknown check-timeout"), "{body}");
}

#[tokio::test]
async fn unknown_workspaces_get_a_json_404() {
    let s = store();
    all_ok(&s);
    for uri in ["/health?workspace=nope", "/status/nope"] {
        let (code, body) = get(&s, uri).await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{uri}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["error"], "unknown-workspace");
        assert!(
            v["message"]
                .as_str()
                .unwrap()
                .contains("configured workspaces: acme, beta"),
            "{body}"
        );
    }
    let (code, body) = get(&s, "/no/such/path").await;
    assert_eq!(code, StatusCode::NOT_FOUND);
    assert!(body.contains("\"error\":\"not-found\""), "{body}");
}

#[tokio::test]
async fn status_has_the_documented_shape() {
    let s = store();
    all_ok(&s);
    instance_down(&s);
    let (code, body) = get(&s, "/status").await;
    assert_eq!(code, StatusCode::OK);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "critical");
    assert_eq!(v["version"], env!("CARGO_PKG_VERSION"));
    assert!(
        OffsetDateTime::parse(
            v["generated_at"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339
        )
        .is_ok()
    );
    let acme = &v["workspaces"][0];
    assert_eq!(
        (acme["name"].as_str(), acme["status"].as_str()),
        (Some("acme"), Some("critical"))
    );
    assert_eq!(acme["instance_url"], "https://gitlab.example.com");
    assert_eq!(acme["connection"]["connected"], false);
    let instance = &acme["checks"][0];
    assert_eq!(instance["check"], "instance");
    assert_eq!(instance["target"], serde_json::Value::Null);
    assert_eq!(instance["reason"], "tcp-refused");
    assert!(
        instance["remediation"][0]
            .as_str()
            .unwrap()
            .starts_with("Verify your instance URL")
    );
    assert_eq!(instance["duration_seconds"], 0.031);
    assert_eq!(instance["last_run"], "2027-01-15T08:00:00Z");
    assert_eq!(instance["last_success"], "2027-01-15T08:00:00Z");
    assert_eq!(instance["consecutive_failures"], 1);
    let token = &acme["checks"][1];
    assert_eq!(
        (token["status"].as_str(), token["reason"].as_str()),
        (Some("unknown"), Some("blocked"))
    );
    assert_eq!(token["blocked_by"], "instance");
    assert_eq!(v["workspaces"][1]["status"], "ok");

    let (code, body) = get(&s, "/status/beta").await;
    assert_eq!(code, StatusCode::OK);
    let beta: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (beta["name"].as_str(), beta["status"].as_str()),
        (Some("beta"), Some("ok"))
    );
}

#[tokio::test]
async fn checks_that_have_not_run_show_as_pending() {
    let (_, body) = get(&store(), "/status/beta").await;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "unknown");
    assert_eq!(v["checks"][0]["reason"], "pending");
    assert_eq!(v["checks"][0]["last_run"], serde_json::Value::Null);
}

#[tokio::test]
async fn metrics_carry_the_check_results() {
    let s = store();
    all_ok(&s);
    instance_down(&s);
    let (code, body) = get(&s, "/metrics").await;
    assert_eq!(code, StatusCode::OK);
    for line in [
        r#"labwatch_check_status{check="instance",target="",workspace="acme"} 2"#,
        r#"labwatch_check_status{check="token",target="",workspace="acme"} 3"#,
        r#"labwatch_check_status{check="instance",target="",workspace="beta"} 0"#,
        r#"labwatch_check_reason_info{check="instance",reason="tcp-refused",target="",workspace="acme"} 1"#,
        r#"labwatch_check_duration_seconds{check="instance",target="",workspace="acme"} 0.031"#,
        r#"labwatch_check_last_success_timestamp_seconds{check="instance",target="",workspace="acme"} 1800000000"#,
        r#"labwatch_build_info{version=""#,
    ] {
        assert!(body.contains(line), "missing `{line}` in:\n{body}");
    }
    // The failing run carries no phases; the earlier ok run's are gone with it.
    assert!(
        !body.contains("labwatch_instance_phase_duration_seconds{phase=\"dns\",workspace=\"acme\"}"),
        "{body}"
    );
    assert!(body.contains("scrapes never trigger GitLab calls"));
}

#[tokio::test]
async fn instance_phases_and_certificate_expiry_become_their_own_series() {
    let s = store();
    all_ok(&s);
    let (_, body) = get(&s, "/metrics").await;
    assert!(
        body.contains(r#"labwatch_instance_phase_duration_seconds{phase="dns",workspace="acme"} 0.002"#),
        "{body}"
    );
    assert!(
        body.contains(r#"labwatch_tls_cert_expiry_timestamp_seconds{workspace="acme"} 1900000000"#),
        "{body}"
    );
}

#[tokio::test]
#[cfg_attr(
    not(has_promtool),
    ignore = "promtool not installed: apt-get install prometheus (scripts/test does)"
)]
async fn metrics_pass_promtool() {
    let s = store();
    all_ok(&s);
    instance_down(&s);
    let (_, body) = get(&s, "/metrics").await;
    tools::assert_promtool_accepts(&body);
}
