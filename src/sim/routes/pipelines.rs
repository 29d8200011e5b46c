//! `GET /api/v4/projects/:id/pipelines` (docs/gitlab.md §15): a project
//! with commits has one pipeline; 403 `{"message":"403 Forbidden"}` when
//! the caller may not read both pipelines and jobs (CI/CD or the repository
//! disabled or members-only, a Guest without public pipelines).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, READ_API};
use crate::sim::pagination;
use crate::sim::render::{self, View};
use crate::sim::request::ApiRequest;
use crate::sim::shared::Sim;
use crate::sim::unconfirmed;

use super::projects::visible_project;

pub async fn list(State(sim): State<Sim>, Path(id): Path<String>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_API)?;
    let user = caller.map(|c| c.user_id);
    let per_page = pagination::per_page(&req)?;
    let page = pagination::page(&req)?;
    let (pid, redirected) = visible_project(&world, &id, user)?;
    if redirected && !unconfirmed::MOVED_PROJECT_SUBRESOURCES_FOLLOW {
        return Err(ApiError::ProjectNotFound);
    }
    let project = world.project(pid).ok_or(ApiError::ProjectNotFound)?;
    if !world.can_read_pipelines(user, project) {
        return Err(ApiError::Message(StatusCode::FORBIDDEN, "403 Forbidden".to_owned()));
    }
    let view = View {
        world: &world,
        base: sim.base_url(),
        user,
    };
    let all: Vec<serde_json::Value> = if project.empty_repo {
        Vec::new()
    } else {
        vec![render::pipeline(&view, project)]
    };
    let offset = pagination::offset(sim.base_url(), &req, all.len(), page, per_page);
    let mut headers = HeaderMap::new();
    for (name, value) in &offset.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok((headers, Json(all[offset.range].to_vec())).into_response())
}
