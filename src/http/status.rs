//! `GET /status` and `GET /status/{workspace}`: the JSON document of DESIGN §3.3.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::{AppState, ErrorResponse};
use crate::report::{StatusDoc, WorkspaceDoc};

/// Always 200: the document itself says how things are.
pub async fn all(State(state): State<AppState>) -> Response {
    let views = state.store.snapshot();
    Json(StatusDoc::new(&views, &state.connections, OffsetDateTime::now_utc())).into_response()
}

pub async fn one(State(state): State<AppState>, Path(workspace): Path<String>) -> Response {
    match state.store.workspace(&workspace) {
        Some(view) => Json(WorkspaceDoc::new(&view, &state.connections)).into_response(),
        None => ErrorResponse::unknown_workspace(&workspace, &state.store.workspace_names()).into_response(),
    }
}
