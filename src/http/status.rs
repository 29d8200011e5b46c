//! `GET /status` and `GET /status/{workspace}`: the JSON document (`docs/http.md`).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;

use super::extract::Path;
use super::{AppState, ConfigDoc, ErrorResponse};
use crate::report::{InstanceView, StatusDoc, WorkspaceDoc};

/// The daemon's `/status`: the status document `labwatch check` prints
/// too, and what only a running daemon knows, whether its configuration is
/// the file's.
#[derive(Serialize)]
struct DaemonDoc<'a> {
    #[serde(flatten)]
    status: StatusDoc<'a>,
    config: ConfigDoc,
    /// The GitLab instances the workspaces use, with their budgets.
    instances: Vec<InstanceView>,
}

/// Always 200: the document itself says how things are.
pub async fn all(State(state): State<AppState>) -> Response {
    let views = state.status.snapshot();
    Json(DaemonDoc {
        status: StatusDoc::new(&views, state.connections.as_ref(), OffsetDateTime::now_utc()),
        config: state.config.doc(),
        instances: state.fleet.instances(),
    })
    .into_response()
}

pub async fn one(State(state): State<AppState>, Path(workspace): Path<String>) -> Response {
    match state.status.workspace(&workspace) {
        Some(view) => Json(WorkspaceDoc::new(&view, state.connections.as_ref())).into_response(),
        None => ErrorResponse::unknown_workspace(&workspace, &state.status.workspace_names()).into_response(),
    }
}
