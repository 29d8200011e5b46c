//! `GET /status` and `GET /status/{workspace}`: the JSON document (`docs/http.md`).

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;

use super::extract::Path;
use super::{AppState, ErrorResponse};
use crate::report::{StatusDoc, WorkspaceDoc};

/// Always 200: the document itself says how things are.
pub async fn all(State(state): State<AppState>) -> Response {
    let views = state.status.snapshot();
    Json(StatusDoc::new(
        &views,
        state.connections.as_ref(),
        OffsetDateTime::now_utc(),
    ))
    .into_response()
}

pub async fn one(State(state): State<AppState>, Path(workspace): Path<String>) -> Response {
    match state.status.workspace(&workspace) {
        Some(view) => Json(WorkspaceDoc::new(&view, state.connections.as_ref())).into_response(),
        None => ErrorResponse::unknown_workspace(&workspace, &state.status.workspace_names()).into_response(),
    }
}
