//! `GET /api/v4/projects/:id/protected_branches` and
//! `GET /api/v4/projects/:id/protected_branches/:name` (docs/gitlab.md §15):
//! the rules as defined (a wildcard is returned as written, not expanded),
//! for callers who may read the code; 404 `{"message":"404 Not found"}`
//! for a branch without a rule of that exact name.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, READ_API};
use crate::sim::model::Project;
use crate::sim::pagination;
use crate::sim::render;
use crate::sim::request::ApiRequest;
use crate::sim::shared::Sim;
use crate::sim::unconfirmed;
use crate::sim::world::World;

use super::projects::visible_project;

/// The project, once the caller may read its protected branches.
fn readable<'w>(world: &'w World, id: &str, user: Option<u64>) -> Result<&'w Project, ApiError> {
    let (pid, redirected) = visible_project(world, id, user)?;
    if redirected && !unconfirmed::MOVED_PROJECT_SUBRESOURCES_FOLLOW {
        return Err(ApiError::ProjectNotFound);
    }
    let project = world.project(pid).ok_or(ApiError::ProjectNotFound)?;
    let allowed = if unconfirmed::PROTECTED_BRANCHES_NEED_MAINTAINER {
        user.and_then(|uid| world.access(uid, project))
            .is_some_and(|l| l >= crate::sim::model::AccessLevel::MAINTAINER)
    } else {
        // `authorize_read_code!`: whoever may download the code.
        world.can_download(user, project)
    };
    if !allowed {
        return Err(ApiError::Message(StatusCode::FORBIDDEN, "403 Forbidden".to_owned()));
    }
    Ok(project)
}

pub async fn list(State(sim): State<Sim>, Path(id): Path<String>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_API)?;
    let user = caller.map(|c| c.user_id);
    let per_page = pagination::per_page(&req)?;
    let page = pagination::page(&req)?;
    let project = readable(&world, &id, user)?;
    let search = req.param("search").map(str::to_lowercase);
    let rules: Vec<_> = project
        .protected_branches
        .iter()
        .filter(|b| {
            search
                .as_ref()
                .is_none_or(|s| b.name.to_lowercase().contains(s.as_str()))
        })
        .collect();
    let offset = pagination::offset(sim.base_url(), &req, rules.len(), page, per_page);
    let body: Vec<serde_json::Value> = rules[offset.range.clone()]
        .iter()
        .map(|b| render::protected_branch(b))
        .collect();
    let mut headers = HeaderMap::new();
    for (name, value) in &offset.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    Ok((headers, Json(body)).into_response())
}

pub async fn show(
    State(sim): State<Sim>,
    Path((id, name)): Path<(String, String)>,
    req: ApiRequest,
) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_API)?;
    let user = caller.map(|c| c.user_id);
    let project = readable(&world, &id, user)?;
    // `find_by!(name:)`: the rule's exact name, so a branch that a wildcard
    // covers is still 404 (ActiveRecord::RecordNotFound).
    let branch = project
        .protected_branches
        .iter()
        .find(|b| b.name == name)
        .ok_or_else(|| ApiError::Message(StatusCode::NOT_FOUND, "404 Not found".to_owned()))?;
    Ok(Json(render::protected_branch(branch)).into_response())
}
