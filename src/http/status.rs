//! `GET /status` and `GET /status/{workspace}`: the JSON document (`docs/http.md`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use time::OffsetDateTime;

use super::extract::Path;
use super::shared;
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

/// Always 200: the document itself says how things are. Written on the
/// blocking pool: a fleet's document is tens of megabytes of JSON, which
/// would stall every task on the worker it was written on.
pub async fn all(State(state): State<AppState>) -> Response {
    let write = move || {
        let views = state.status.snapshot();
        let doc = DaemonDoc {
            status: StatusDoc::new(&views, state.connections.as_ref(), OffsetDateTime::now_utc()),
            config: state.config.doc(),
            instances: state.fleet.instances(),
        };
        match (&state.replica, &state.store) {
            (Some(replica), Some(store)) => shared::all(doc, replica, store),
            _ => serde_json::to_vec(&doc),
        }
    };
    match tokio::task::spawn_blocking(write).await {
        Ok(Ok(json)) => ([(header::CONTENT_TYPE, "application/json")], json).into_response(),
        Ok(Err(e)) => internal_error(&e),
        Err(e) => internal_error(&e),
    }
}

fn internal_error(e: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %e, "Writing /status failed");
    ErrorResponse::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal-error",
        "Writing the status document failed; the log says why.",
    )
    .into_response()
}

pub async fn one(State(state): State<AppState>, Path(workspace): Path<String>) -> Response {
    if let Some(view) = state.status.workspace(&workspace) {
        let doc = WorkspaceDoc::new(&view, state.connections.as_ref());
        return match &state.replica {
            Some(replica) => Json(shared::mine(&doc, replica)).into_response(),
            None => Json(doc).into_response(),
        };
    }
    // Another replica's, when replicas share the fleet.
    if let (Some(_), Some(store)) = (&state.replica, state.store.clone()) {
        let name = workspace.clone();
        match tokio::task::spawn_blocking(move || store.read_verdicts(Some(&name))).await {
            Ok(Ok(mut found)) if !found.is_empty() => return Json(shared::theirs(found.remove(0))).into_response(),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return shared::unavailable(&e),
            Err(e) => return internal_error(&e),
        }
    }
    ErrorResponse::unknown_workspace(&workspace, &state.status.workspace_names()).into_response()
}
