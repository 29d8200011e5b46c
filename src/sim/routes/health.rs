//! The self-managed probes outside `/api/v4`: `/-/health` (plain `GitLab OK`),
//! `/-/readiness` and `/-/liveness` (JSON). All of them 404 for clients that
//! are not in the monitoring allowlist; readiness and liveness also accept
//! the `health_check_access_token` as `token` parameter or `TOKEN` header.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::sim::model::Instance;
use crate::sim::request::ApiRequest;
use crate::sim::shared::Sim;
use crate::sim::unconfirmed;

pub async fn health(State(sim): State<Sim>) -> Response {
    if sim.world().instance.health_allowlisted {
        (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain")], "GitLab OK").into_response()
    } else {
        (StatusCode::NOT_FOUND, [(header::CONTENT_TYPE, "text/plain")], "").into_response()
    }
}

fn allowed(instance: &Instance, req: &ApiRequest) -> bool {
    let given = req.param("token").map(str::to_owned).or_else(|| {
        req.headers
            .get("token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    instance.health_allowlisted || (instance.health_check_token.is_some() && given == instance.health_check_token)
}

fn not_allowed() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, unconfirmed::HEALTH_NOT_ALLOWED_CONTENT_TYPE)],
        unconfirmed::HEALTH_NOT_ALLOWED_BODY,
    )
        .into_response()
}

pub async fn readiness(State(sim): State<Sim>, req: ApiRequest) -> Response {
    let instance = sim.world().instance.clone();
    if !allowed(&instance, &req) {
        return not_allowed();
    }
    if !instance.readiness_ok {
        let body = json!({
            "status": "failed",
            "master_check": [{"status": "failed", "message": "unexpected Master check result: false"}],
        });
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("x-gitlab-custom-error", "1")],
            axum::Json(body),
        )
            .into_response();
    }
    let mut body = json!({"status": "ok", "master_check": [{"status": "ok"}]});
    if req.flag("all").unwrap_or(false) {
        if let Value::Object(map) = &mut body {
            for check in [
                "db_check",
                "cache_check",
                "queues_check",
                "shared_state_check",
                "redis_check",
            ] {
                map.insert(check.to_owned(), json!([{"status": "ok"}]));
            }
            map.insert(
                "gitaly_check".to_owned(),
                json!([{"status": "ok", "labels": {"shard": "default"}}]),
            );
        }
    }
    axum::Json(body).into_response()
}

pub async fn liveness(State(sim): State<Sim>, req: ApiRequest) -> Response {
    let instance = sim.world().instance.clone();
    if !allowed(&instance, &req) {
        return not_allowed();
    }
    axum::Json(json!({"status": "ok"})).into_response()
}
