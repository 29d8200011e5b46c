//! The committed fuzz seeds (`fuzz/seeds/<target>/`) through the entry points
//! their fuzz targets call (`fuzz/fuzz_targets/`), so `cargo test` checks
//! the seeds and the harness logic without cargo-fuzz or a nightly flag.
//! Seeds named `invalid-*` must be rejected with a message; every other seed
//! must be accepted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use labwatch::actions::Actions;
use labwatch::checks::plugin::{perfdata, protocol};
use labwatch::config::Config;
use labwatch::gitlab::GitlabError;
use labwatch::gitlab::client::{Answer, classify};
use labwatch::gitlab::types::{Project, TokenInfo, User, Version};
use labwatch::http::AppState;
use labwatch::http::admin::AdminState;
use labwatch::runtime::Runtime;
use labwatch::store::ConnectionStore;
use reqwest::header::HeaderMap;
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

/// Every seed of a target, by file name, in name order.
fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/seeds")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&path).unwrap())
        })
        .collect();
    out.sort();
    assert!(out.len() >= 2, "{}: too few seeds", dir.display());
    out
}

fn invalid(name: &str) -> bool {
    name.starts_with("invalid-")
}

#[test]
fn config_seeds() {
    for (name, bytes) in seeds("config") {
        let text = String::from_utf8(bytes).unwrap();
        match Config::parse(Path::new(&name), &text) {
            Ok(_) => assert!(!invalid(&name), "{name} was accepted"),
            Err(errors) => {
                assert!(invalid(&name), "{name}:\n{errors}");
                for e in &errors.0 {
                    assert!(e.line >= 1 && e.column >= 1 && !e.message.is_empty(), "{e}");
                }
            }
        }
    }
}

#[test]
fn plugin_output_seeds() {
    for (name, bytes) in seeds("plugin_output") {
        // As in the target: the first byte is the exit code, modulo 4, so
        // the ASCII digits 0-3 the seeds start with read as themselves.
        let (code, stdout) = bytes.split_first().unwrap();
        let stdout = String::from_utf8_lossy(stdout);
        match protocol::parse(code % 4, &stdout) {
            Ok(p) => {
                assert!(!invalid(&name), "{name} was accepted: {p:?}");
                assert!(!p.summary.is_empty(), "{name}");
                assert!(p.measurements.iter().all(|(n, _)| !n.is_empty()), "{name}: {p:?}");
            }
            Err(problem) => assert!(invalid(&name) && !problem.is_empty(), "{name}: {problem}"),
        }
        if let Ok(items) = perfdata::parse(&stdout) {
            perfdata::measurements(&items);
        }
    }
}

/// The seed decoded as the client decodes answers.
fn decode<T: serde::de::DeserializeOwned>(name: &str, body: &[u8]) -> T {
    let answer = Answer {
        status: StatusCode::OK,
        headers: HeaderMap::new(),
        body: body.to_vec(),
    };
    answer.json().unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[test]
fn gitlab_json_seeds() {
    for (name, body) in seeds("gitlab_json") {
        let stem = name.trim_end_matches(".json");
        match stem {
            "token-self" => assert_eq!(decode::<TokenInfo>(&name, &body).scopes, ["api"]),
            "token-rotate" => {
                let info = decode::<TokenInfo>(&name, &body);
                assert!(info.expires_at.is_some() && info.created_at.is_some(), "{info:?}");
                assert!(decode::<Value>(&name, &body)["token"].is_string());
            }
            "user" => assert!(!decode::<User>(&name, &body).username.is_empty()),
            "project" => assert_eq!(decode::<Project>(&name, &body).access_level(), Some(50)),
            "projects-page" => assert!(!decode::<Vec<Project>>(&name, &body).is_empty()),
            "version" | "version-metadata" => assert!(!decode::<Version>(&name, &body).version.is_empty()),
            "error-401-expired" => assert_eq!(
                classify(StatusCode::UNAUTHORIZED, &HeaderMap::new(), &body),
                GitlabError::TokenExpired
            ),
            "error-403-scope" => assert_eq!(
                classify(StatusCode::FORBIDDEN, &HeaderMap::new(), &body),
                GitlabError::InsufficientScope { scope: "sudo".into() }
            ),
            other => panic!("seed {other} has no expectation here; add one"),
        }
    }
}

#[tokio::test]
async fn webhook_seeds() {
    // The fuzz target's harness: two unconnected workspaces, one in alert
    // mode, and the real router.
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "[store]\ndir = \"{d}/store\"\nkey_file = \"{d}/store.key\"\n[defaults]\ninterval = \"1d\"\n\
         [[workspace]]\nname = \"acme\"\ninstance_url = \"http://127.0.0.1:9\"\n\
         [[workspace]]\nname = \"alerted\"\ninstance_url = \"http://127.0.0.1:9\"\n\
         [workspace.renewal]\nmode = \"alert\"\nrenew_before = \"14d\"\n",
        d = dir.path().display()
    );
    let config = Config::parse(&dir.path().join("fuzz.toml"), &text).unwrap();
    let store = Arc::new(ConnectionStore::with_key(&config.store.dir, [7; 32]).unwrap());
    let runtime = Arc::new(Runtime::start(config, Some(store.clone())));
    let base = AppState::new(&runtime);
    for (name, body) in seeds("webhook") {
        let mut state = base.clone();
        state.admin = Some(Arc::new(AdminState::new(
            SecretString::from("admin"),
            Arc::new(Actions::new(runtime.clone(), store.clone())),
        )));
        let request = Request::post("/api/v1/alerts")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::AUTHORIZATION, "Bearer admin")
            .body(Body::from(body.clone()))
            .unwrap();
        let response = labwatch::http::router(state).oneshot(request).await.unwrap();
        let status = response.status();
        let answer: Value = serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
        if invalid(&name) {
            assert!(status.is_client_error(), "{name}: {status} {answer}");
            assert!(
                answer["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{name}: {answer}"
            );
            continue;
        }
        assert_eq!(status, StatusCode::ACCEPTED, "{name}: {answer}");
        let sent: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            answer["results"].as_array().map(Vec::len),
            sent["alerts"].as_array().map(Vec::len),
            "{name}: {answer}"
        );
    }
}
