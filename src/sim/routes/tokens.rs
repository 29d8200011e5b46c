//! Personal access token self-service: `GET`/`DELETE
//! /personal_access_tokens/self` (any scope), and rotation through
//! `POST /personal_access_tokens/self/rotate` (`api` or `self_rotate`) and
//! `POST /personal_access_tokens/:id/rotate` (`api`, own tokens only).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::Date;

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, API, Need, SELF_ROTATE};
use crate::sim::render;
use crate::sim::request::ApiRequest;
use crate::sim::scenario::parse_date_text;
use crate::sim::shared::Sim;
use crate::sim::unconfirmed;
use crate::sim::world::{RotateError, World};

pub async fn show_self(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, Need::AnyScope)?;
    let token = world.token(caller.token_id).ok_or(ApiError::Unauthorized)?;
    Ok(Json(render::token(&world, token)).into_response())
}

pub async fn revoke_self(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, Need::AnyScope)?;
    world
        .revoke(caller.token_id)
        .map_err(|_| ApiError::BadRequest(String::new()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn rotate_self(State(sim): State<Sim>, req: ApiRequest, body: Bytes) -> Result<Response, ApiError> {
    let mut world = sim.world();
    if !world.instance.self_rotate {
        // Before 16.10 `self` lands on the `:id` route and fails its Integer check.
        auth::require(&mut world, &req, API)?;
        return Err(ApiError::Raw(StatusCode::BAD_REQUEST, unconfirmed::NO_SELF_ROTATE_BODY));
    }
    let caller = auth::require(&mut world, &req, SELF_ROTATE)?;
    let expires_at = expires_at_param(&req, &body)?;
    rotate(&mut world, caller.token_id, expires_at)
}

pub async fn rotate_by_id(
    State(sim): State<Sim>,
    Path(id): Path<String>,
    req: ApiRequest,
    body: Bytes,
) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, API)?;
    let id: u64 = id.parse().map_err(|_| ApiError::Param("id is invalid".to_owned()))?;
    let expires_at = expires_at_param(&req, &body)?;
    // Non-admins get 401 both for someone else's token and for a missing one.
    let owned = world.token(id).is_some_and(|t| t.user_id == caller.user_id);
    if !owned {
        return Err(ApiError::Unauthorized);
    }
    rotate(&mut world, id, expires_at)
}

fn rotate(world: &mut World, id: u64, expires_at: Option<Date>) -> Result<Response, ApiError> {
    match world.rotate(id, expires_at) {
        Ok(new_id) => {
            let token = world.token(new_id).ok_or(ApiError::Unauthorized)?;
            Ok((StatusCode::OK, Json(render::token_with_secret(world, token))).into_response())
        }
        Err(RotateError::AlreadyRevoked) => Err(ApiError::BadRequest("Token already revoked".to_owned())),
        Err(RotateError::BeyondLifetime(max)) => Err(ApiError::Message(
            StatusCode::BAD_REQUEST,
            unconfirmed::lifetime_error_message(max),
        )),
    }
}

/// `expires_at` from the query, a JSON body or a form body (Grape merges them).
fn expires_at_param(req: &ApiRequest, body: &Bytes) -> Result<Option<Date>, ApiError> {
    let invalid = || ApiError::Param("expires_at is invalid".to_owned());
    let from_body = if body.is_empty() {
        None
    } else if is_json(req) {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| ApiError::Message(StatusCode::BAD_REQUEST, "400 Bad request".to_owned()))?;
        match value.get("expires_at") {
            None | Some(serde_json::Value::Null) => None,
            Some(serde_json::Value::String(text)) => Some(text.clone()),
            Some(_) => return Err(invalid()),
        }
    } else {
        url::form_urlencoded::parse(body)
            .find(|(k, _)| k == "expires_at")
            .map(|(_, v)| v.into_owned())
    };
    match from_body.or_else(|| req.param("expires_at").map(str::to_owned)) {
        None => Ok(None),
        Some(text) if text.is_empty() => Ok(None),
        Some(text) => parse_date_text(&text).map(Some).map_err(|_| invalid()),
    }
}

fn is_json(req: &ApiRequest) -> bool {
    req.headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}
