//! The HTTP API (axum). Handlers are a few lines each: they read the status
//! store and render; nothing here runs checks or calls GitLab.
//!
//! - `/livez`, `/readyz`, `/health`: probes ([`probes`]).
//! - `/status`, `/status/{workspace}`: the JSON document ([`status`]).
//! - `/metrics`: Prometheus text format.
//! - `/`: the status page; `/status/history`: recent transitions ([`page`]).
//! - `/sign-in`, `/workspaces/…`: the page's actions, as forms ([`forms`]).
//! - `/api/v1/…`: the admin API ([`admin`]).

pub mod admin;
mod chunks;
mod config_status;
mod extract;
pub mod forms;
pub mod page;
mod probes;
pub mod server;
mod shared;
mod status;

use std::future::Future;
use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use crate::engine::StatusStore;
use crate::metrics::Metrics;
use crate::report::{Connections, Fleet};
use crate::runtime::Runtime;
use crate::store::ConnectionStore;
use crate::wire::ErrorBody;

pub use config_status::{ConfigDoc, ConfigStatus, ReloadFailure};

/// Request bodies above this get 413 (`docs/admin-api.md`).
pub const BODY_LIMIT: usize = 64 * 1024;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    /// What every check last found.
    pub status: Arc<StatusStore>,
    pub metrics: Arc<Metrics>,
    /// Each workspace's connection, for `/status` and the page.
    pub connections: Arc<dyn Connections>,
    /// The instances the workspaces use, for `/status` and `/metrics`.
    pub fleet: Arc<dyn Fleet>,
    /// The admin API; `None` when no admin token is configured.
    pub admin: Option<Arc<admin::AdminState>>,
    /// Whether the last reload failed, for `/readyz?verbose` and `/status`.
    pub config: Arc<ConfigStatus>,
    /// The connection store, whose availability `/readyz` reports.
    pub store: Option<Arc<ConnectionStore>>,
    /// This replica's name when replicas share the fleet: `/status` and
    /// `/health` then answer for the other replicas' workspaces too, from
    /// the verdicts they wrote to the store.
    pub replica: Option<String>,
}

impl AppState {
    /// The read-only endpoints over a running daemon's workspaces; the
    /// admin API is off until `admin` is set.
    pub fn new(runtime: &Arc<Runtime>) -> AppState {
        let status = runtime.status();
        let mut metrics = Metrics::new(status.clone(), runtime.gitlab_metrics());
        if let (Some(ownership), Some(store)) = (runtime.ownership(), runtime.store()) {
            metrics = metrics.sharing(ownership, store);
        }
        metrics.configure(runtime.config().metrics);
        AppState {
            metrics: Arc::new(metrics),
            status,
            connections: runtime.clone(),
            fleet: runtime.clone(),
            admin: None,
            config: Arc::default(),
            store: runtime.store(),
            replica: runtime.ownership().map(|o| o.replica().to_owned()),
        }
    }
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(page::index))
        .route("/livez", get(probes::livez))
        .route("/readyz", get(probes::readyz))
        .route("/health", get(probes::health))
        .route("/status", get(status::all))
        .route("/status/history", get(page::history))
        .route("/status/{workspace}", get(status::one))
        .route("/metrics", get(metrics))
        .merge(admin::routes())
        .merge(forms::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(state)
}

pub use server::Limits;

/// Serves until `shutdown` completes, then lets requests in progress finish
/// for a few seconds, within [`Limits::for_this_process`] ([`server`]).
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Limits::for_this_process(), shutdown).await
}

/// [`serve`] within the given limits.
pub async fn serve_with(
    listener: TcpListener,
    state: AppState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    server::serve(listener, router(state), limits, shutdown).await
}

/// Rendered on the blocking pool: a fleet's scrape is tens of milliseconds
/// of writing, which would stall every task on the worker it ran on.
async fn metrics(State(state): State<AppState>) -> Response {
    let render = move || state.metrics.render_chunks(&state.fleet.instances());
    let chunks = match tokio::task::spawn_blocking(render).await {
        Ok(chunks) => chunks,
        Err(e) => {
            tracing::error!(error = %e, "Rendering /metrics failed");
            return ErrorResponse::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal-error",
                "Rendering the metrics failed; the log says why.",
            )
            .into_response();
        }
    };
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        axum::body::Body::new(chunks::Chunks::new(chunks)),
    )
        .into_response()
}

async fn not_found() -> Response {
    ErrorResponse::new(
        StatusCode::NOT_FOUND,
        "not-found",
        "No such endpoint; see / for the list.",
    )
    .into_response()
}

/// axum keeps the `Allow` header it computed for the path.
async fn method_not_allowed(method: axum::http::Method) -> Response {
    ErrorResponse::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method-not-allowed",
        format!("This endpoint does not take {method}; the `Allow` header lists what it takes."),
    )
    .into_response()
}

/// An error answer: an HTTP status with the [`ErrorBody`] every endpoint
/// uses.
#[derive(Debug)]
pub struct ErrorResponse {
    pub status: StatusCode,
    pub body: ErrorBody,
}

impl ErrorResponse {
    pub fn new(status: StatusCode, error: impl Into<String>, message: impl Into<String>) -> ErrorResponse {
        ErrorResponse {
            status,
            body: ErrorBody::new(error, message),
        }
    }

    pub fn unknown_workspace(name: &str, known: &[String]) -> ErrorResponse {
        ErrorResponse::new(
            StatusCode::NOT_FOUND,
            "unknown-workspace",
            format!(
                "There is no workspace `{name}`; configured workspaces: {}.",
                known.join(", ")
            ),
        )
    }
}

impl IntoResponse for ErrorResponse {
    fn into_response(self) -> Response {
        (self.status, axum::Json(&self.body)).into_response()
    }
}
