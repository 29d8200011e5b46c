//! The simulator's router: the GitLab routes (`/api/v4/…`, probes, git
//! smart HTTP through the fallback) behind the traffic layer, and the
//! control API nested at `/-/sim` outside it.

mod control;
pub(crate) mod git;
mod health;
mod meta;
mod pipelines;
mod projects;
mod protected_branches;
mod tokens;
mod users;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::api_error::ApiError;
use super::shared::Sim;
use super::traffic;

pub fn router(sim: Sim) -> Router {
    Router::new()
        .route("/api/v4/version", get(meta::metadata))
        .route("/api/v4/metadata", get(meta::metadata))
        .route("/api/v4/user", get(meta::user))
        .route(
            "/api/v4/personal_access_tokens/self",
            get(tokens::show_self).delete(tokens::revoke_self),
        )
        .route("/api/v4/personal_access_tokens", get(tokens::list))
        .route(
            "/api/v4/personal_access_tokens/{id}",
            get(tokens::show).delete(tokens::revoke),
        )
        .route("/api/v4/personal_access_tokens/self/rotate", post(tokens::rotate_self))
        .route("/api/v4/personal_access_tokens/{id}/rotate", post(tokens::rotate_by_id))
        .route("/api/v4/users", get(users::list))
        .route("/api/v4/users/{id}", get(users::show))
        .route("/api/v4/projects", get(projects::list))
        .route("/api/v4/projects/{id}", get(projects::show))
        .route(
            "/api/v4/projects/{id}/protected_branches",
            get(protected_branches::list),
        )
        .route(
            "/api/v4/projects/{id}/protected_branches/{name}",
            get(protected_branches::show),
        )
        .route("/api/v4/projects/{id}/pipelines", get(pipelines::list))
        .route("/-/health", get(health::health))
        .route("/-/readiness", get(health::readiness))
        .route("/-/liveness", get(health::liveness))
        .fallback(fallback)
        .method_not_allowed_fallback(fallback)
        .layer(middleware::from_fn_with_state(sim.clone(), traffic::traffic))
        .nest("/-/sim", control::router())
        .with_state(sim)
}

/// Unknown API routes (GitLab's catch-all), git smart HTTP (`info/refs`
/// and the `git-upload-pack`/`git-receive-pack` posts), and everything else
/// the web UI would answer with its HTML 404.
async fn fallback(State(sim): State<Sim>, method: Method, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path();
    if path == "/api" || path.starts_with("/api/") {
        return ApiError::RouteNotFound.into_response();
    }
    if let Some(answer) = git::handle(&sim, &method, &uri, &headers, &body) {
        return answer;
    }
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!DOCTYPE html>\n<html><head><title>Not Found</title></head><body><h1>404</h1></body></html>\n",
    )
        .into_response()
}
