//! `GET /api/v4/version`, `/metadata` and `/user`: authenticated, accepting
//! `read_user`, `read_api` or `api`. `/version` answers like `/metadata`, as
//! current GitLab serves both from one handler.

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, READ_USER};
use crate::sim::render::{self, View};
use crate::sim::request::ApiRequest;
use crate::sim::shared::Sim;

pub async fn metadata(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    auth::require(&mut world, &req, READ_USER)?;
    Ok(Json(render::metadata(&world.instance, sim.base_url())).into_response())
}

pub async fn user(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, READ_USER)?;
    let user = world.user(caller.user_id).ok_or(ApiError::Unauthorized)?;
    let view = View {
        world: &world,
        base: sim.base_url(),
        user: Some(caller.user_id),
    };
    Ok(Json(render::user(&view, user)).into_response())
}
