//! Fuzzes Alertmanager's webhook: arbitrary bytes POSTed as JSON to
//! `/api/v1/alerts` of the real router, so the body goes through the same
//! extractor (`http::admin::Body<Webhook>`, axum's JSON decoding under the
//! 64 KiB limit) and the same `Actions::alerts` as in the daemon. Two
//! workspaces are configured, one in `alert` renewal mode; neither is
//! connected, so no alert can lead to a GitLab call.
//!
//! Each input gets fresh `Actions` (fresh idempotency memory), so a crash
//! reproduces from its input alone.

#![no_main]

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use labwatch::actions::Actions;
use labwatch::config::Config;
use labwatch::http::AppState;
use labwatch::http::admin::AdminState;
use labwatch::runtime::Runtime;
use labwatch::store::ConnectionStore;
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

const ADMIN: &str = "fuzz-admin-token";

/// What every input shares: built once, because starting the workspaces costs far
/// more than one request.
struct Harness {
    runtime: tokio::runtime::Runtime,
    /// The daemon's running workspaces (not tokio's runtime above).
    workspaces: Arc<Runtime>,
    store: Arc<ConnectionStore>,
    state: AppState,
    /// Holds the store's directory for as long as the process runs.
    _dir: tempfile::TempDir,
}

fn harness() -> &'static Harness {
    static HARNESS: OnceLock<Harness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let dir = tempfile::tempdir().expect("a temporary directory for the store");
        // Port 9 (discard) refuses at once: the daemon's own checks fail
        // fast, and the day-long interval keeps them from running again.
        let text = format!(
            "[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1d\"\n\
             [[workspace]]\nname = \"acme\"\ninstance_url = \"http://127.0.0.1:9\"\n\
             [[workspace]]\nname = \"alerted\"\ninstance_url = \"http://127.0.0.1:9\"\n\
             [workspace.renewal]\nmode = \"alert\"\nrenew_before = \"14d\"\n",
            d = dir.path().display()
        );
        let config = Config::parse(&dir.path().join("fuzz.toml"), &text).expect("the harness config is valid");
        let store = Arc::new(ConnectionStore::with_key(&config.store.dir, [7; 32]).expect("a store in a fresh directory"));
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        let workspaces = {
            let _enter = runtime.enter();
            Arc::new(Runtime::start(config, Some(store.clone())))
        };
        let state = AppState::new(&workspaces);
        Harness {
            runtime,
            workspaces,
            store,
            state,
            _dir: dir,
        }
    })
}

fuzz_target!(|body: &[u8]| {
    let h = harness();
    let mut state = h.state.clone();
    state.admin = Some(Arc::new(AdminState::new(
        SecretString::from(ADMIN),
        Arc::new(Actions::new(h.workspaces.clone(), h.store.clone())),
    )));
    let request = Request::post("/api/v1/alerts")
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {ADMIN}"))
        .body(Body::from(body.to_vec()))
        .expect("a constant request is valid");
    let (status, answer) = h.runtime.block_on(async {
        let response = labwatch::http::router(state)
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        let status = response.status();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("a buffered body")
            .to_bytes();
        (status, bytes)
    });
    let answer: Value = serde_json::from_slice(&answer).expect("every answer is JSON");
    if status == StatusCode::ACCEPTED {
        let results = answer["results"].as_array().expect("202 lists results");
        for r in results {
            let action = r["action"].as_str().unwrap_or("");
            assert!(
                ["rotated", "duplicate", "resolved", "not-due", "ignored", "failed"].contains(&action),
                "{answer}"
            );
            assert!(!r["detail"].as_str().unwrap_or("").is_empty(), "{answer}");
        }
        return;
    }
    // No workspace is connected, so nothing can fail in a way a retry
    // would fix: a rejection is the payload's fault (4xx) and says why.
    assert!(status.is_client_error(), "{status}: {answer}");
    assert!(!answer["error"].as_str().unwrap_or("").is_empty(), "{answer}");
    assert!(!answer["message"].as_str().unwrap_or("").is_empty(), "{answer}");
});
