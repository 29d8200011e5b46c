//! The control API under `/-/sim/` (JSON in and out, no authentication):
//! the same operations as [`Sim`]'s methods, for tests in other processes
//! and for people poking the demo with curl. The route list is in the
//! `sim` module documentation.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use time::Duration as Days;

use crate::sim::error::SimError;
use crate::sim::faults::{DropSpec, FailSpec};
use crate::sim::model::{Instance, Limits, RepositoryAccess, UserState, Visibility};
use crate::sim::scenario::{self, parse_date_text};
use crate::sim::shared::{Sim, token_info};
use crate::sim::spec::{ProjectRef, TokenRef};
use crate::sim::summary::Summary;

impl IntoResponse for SimError {
    fn into_response(self) -> Response {
        let status = match self {
            SimError::NotFound(_) => StatusCode::NOT_FOUND,
            SimError::Invalid(_) => StatusCode::BAD_REQUEST,
            SimError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (status, Json(json!({"error": self.to_string()}))).into_response()
    }
}

type Answer = Result<Response, SimError>;

pub fn router() -> Router<Sim> {
    Router::new()
        .route("/summary", get(summary))
        .route("/today", get(today).put(set_today))
        .route("/instance", get(instance).patch(patch_instance))
        .route("/limits", get(limits).patch(patch_limits))
        .route("/bans", axum::routing::delete(clear_bans))
        .route("/latency", put(set_latency))
        .route("/faults", get(faults).delete(clear_faults))
        .route("/faults/fail", post(fail))
        .route("/faults/drop", post(drop_connections))
        .route("/counters", get(counters).delete(reset_counters))
        .route("/users", post(add_user))
        .route("/users/{user}/state", put(set_user_state))
        .route("/users/{user}/tokens", post(add_token))
        .route("/groups", post(add_group))
        .route("/tokens/{token}", get(token))
        .route("/tokens/{token}/expire", post(expire))
        .route("/tokens/{token}/revoke", post(revoke))
        .route("/tokens/{token}/rotate", post(rotate))
        .route("/tokens/{token}/scopes", put(set_scopes))
        .route("/tokens/{token}/expires_at", put(set_expires_at))
        .route("/projects", post(add_project))
        .route("/projects/{project}/move", post(move_project))
        .route("/projects/{project}/archive", post(archive))
        .route("/projects/{project}/unarchive", post(unarchive))
        .route("/projects/{project}/visibility", put(set_visibility))
        .route(
            "/projects/{project}/repository_access_level",
            put(set_repository_access),
        )
        .route(
            "/projects/{project}/members/{user}",
            put(set_member).delete(remove_member),
        )
        .fallback(|| async {
            SimError::NotFound("no such control route; see the labwatch::sim module documentation".to_owned())
        })
}

/// A JSON body (empty means `{}`).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, SimError> {
    let bytes: &[u8] = if bytes.is_empty() { b"{}" } else { bytes };
    serde_json::from_slice(bytes).map_err(|e| SimError::Invalid(format!("invalid JSON body: {e}")))
}

fn ok(value: impl serde::Serialize) -> Answer {
    Ok(Json(value).into_response())
}

fn invalid(message: String) -> SimError {
    SimError::Invalid(message)
}

async fn summary(State(sim): State<Sim>) -> Answer {
    ok(sim.summary())
}

async fn today(State(sim): State<Sim>) -> Answer {
    ok(json!({"today": sim.today().to_string()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TodayBody {
    today: Option<String>,
    advance_days: Option<i64>,
}

async fn set_today(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let b: TodayBody = body(&bytes)?;
    let day = match (b.today, b.advance_days) {
        (Some(text), None) => parse_date_text(&text).map_err(invalid)?,
        (None, Some(days)) => sim.today() + Days::days(days),
        _ => {
            return Err(invalid(
                "give either \"today\": \"YYYY-MM-DD\" or \"advance_days\": N".to_owned(),
            ));
        }
    };
    sim.set_today(day);
    ok(json!({"today": day.to_string()}))
}

async fn instance(State(sim): State<Sim>) -> Answer {
    ok(sim.instance())
}

/// Merges `patch` into `current` and reads it back (unknown keys rejected).
fn merge_patch<T: serde::Serialize + DeserializeOwned>(current: &T, bytes: &Bytes) -> Result<T, SimError> {
    let patch: serde_json::Map<String, Value> = body(bytes)?;
    let mut value = serde_json::to_value(current).map_err(|e| invalid(e.to_string()))?;
    if let Value::Object(map) = &mut value {
        map.extend(patch);
    }
    serde_json::from_value(value).map_err(|e| invalid(format!("invalid settings: {e}")))
}

async fn patch_instance(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let new: Instance = merge_patch(&sim.instance(), &bytes)?;
    sim.update_instance(|i| *i = new.clone());
    ok(new)
}

async fn limits(State(sim): State<Sim>) -> Answer {
    ok(sim.limits())
}

async fn patch_limits(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let new: Limits = merge_patch(&sim.limits(), &bytes)?;
    sim.set_limits(new);
    ok(new)
}

async fn clear_bans(State(sim): State<Sim>) -> Answer {
    sim.clear_bans();
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LatencyBody {
    ms: u64,
}

async fn set_latency(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let b: LatencyBody = body(&bytes)?;
    sim.set_latency(Duration::from_millis(b.ms));
    ok(json!({"latency_ms": b.ms}))
}

async fn faults(State(sim): State<Sim>) -> Answer {
    let traffic = sim.traffic();
    let (failures, drops) = traffic.faults.pending();
    let latency_ms = u64::try_from(traffic.faults.latency.as_millis()).unwrap_or(u64::MAX);
    ok(json!({"latency_ms": latency_ms, "pending_failures": failures, "pending_drops": drops}))
}

async fn clear_faults(State(sim): State<Sim>) -> Answer {
    sim.clear_faults();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn fail(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let spec: FailSpec = body(&bytes)?;
    if StatusCode::from_u16(spec.status).is_err() {
        return Err(invalid(format!("{} is not an HTTP status", spec.status)));
    }
    sim.fail_next(spec);
    faults(State(sim)).await
}

async fn drop_connections(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let spec: DropSpec = body(&bytes)?;
    sim.drop_next(spec.count, spec.path_prefix.as_deref());
    faults(State(sim)).await
}

async fn counters(State(sim): State<Sim>) -> Answer {
    ok(sim.counters())
}

async fn reset_counters(State(sim): State<Sim>) -> Answer {
    sim.reset_counters();
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn add_user(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let value: Value = body(&bytes)?;
    let id = scenario::add_user_json(&mut sim.world(), value).map_err(invalid)?;
    let summary = sim.summary();
    ok(summary.users.into_iter().find(|u| u.user_id == id))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StateBody {
    state: UserState,
}

async fn set_user_state(State(sim): State<Sim>, Path(user): Path<String>, bytes: Bytes) -> Answer {
    let b: StateBody = body(&bytes)?;
    sim.set_user_state(&user, b.state)?;
    ok(json!({"username": user, "state": b.state.as_str()}))
}

async fn add_token(State(sim): State<Sim>, Path(user): Path<String>, bytes: Bytes) -> Answer {
    let value: Value = body(&bytes)?;
    let (id, _) = scenario::add_token_json(&mut sim.world(), &user, value).map_err(invalid)?;
    let info = token_info(&sim.world(), id)?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

async fn add_group(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let value: Value = body(&bytes)?;
    let id = scenario::add_group_json(&mut sim.world(), value).map_err(invalid)?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

async fn token(State(sim): State<Sim>, Path(token): Path<String>) -> Answer {
    ok(sim.token(TokenRef::from(token))?)
}

async fn expire(State(sim): State<Sim>, Path(token): Path<String>) -> Answer {
    sim.expire_token(&token)?;
    ok(sim.token(token)?)
}

async fn revoke(State(sim): State<Sim>, Path(token): Path<String>) -> Answer {
    sim.revoke_token(&token)?;
    ok(sim.token(token)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpiresBody {
    expires_at: Option<String>,
}

fn optional_date(text: Option<String>) -> Result<Option<time::Date>, SimError> {
    text.map(|t| parse_date_text(&t)).transpose().map_err(invalid)
}

async fn rotate(State(sim): State<Sim>, Path(token): Path<String>, bytes: Bytes) -> Answer {
    let b: ExpiresBody = body(&bytes)?;
    let new = sim.rotate_token(token, optional_date(b.expires_at)?)?;
    ok(sim.token(new.id)?)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopesBody {
    scopes: Vec<String>,
}

async fn set_scopes(State(sim): State<Sim>, Path(token): Path<String>, bytes: Bytes) -> Answer {
    let b: ScopesBody = body(&bytes)?;
    let scopes: Vec<&str> = b.scopes.iter().map(String::as_str).collect();
    sim.set_token_scopes(&token, &scopes)?;
    ok(sim.token(token)?)
}

async fn set_expires_at(State(sim): State<Sim>, Path(token): Path<String>, bytes: Bytes) -> Answer {
    let b: ExpiresBody = body(&bytes)?;
    sim.set_token_expiry(&token, optional_date(b.expires_at)?)?;
    ok(sim.token(token)?)
}

fn project_summary(sim: &Sim, project: &str) -> Answer {
    let id = sim.world().resolve_project(&ProjectRef::from(project))?;
    let summary: Summary = sim.summary();
    ok(summary.projects.into_iter().find(|p| p.id == id))
}

async fn add_project(State(sim): State<Sim>, bytes: Bytes) -> Answer {
    let value: Value = body(&bytes)?;
    let id = scenario::add_project_json(&mut sim.world(), value).map_err(invalid)?;
    let response = project_summary(&sim, &id.to_string())?;
    Ok((StatusCode::CREATED, response).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveBody {
    to: String,
}

async fn move_project(State(sim): State<Sim>, Path(project): Path<String>, bytes: Bytes) -> Answer {
    let b: MoveBody = body(&bytes)?;
    sim.move_project(project.as_str(), &b.to)?;
    project_summary(&sim, &b.to)
}

async fn archive(State(sim): State<Sim>, Path(project): Path<String>) -> Answer {
    sim.set_archived(project.as_str(), true)?;
    project_summary(&sim, &project)
}

async fn unarchive(State(sim): State<Sim>, Path(project): Path<String>) -> Answer {
    sim.set_archived(project.as_str(), false)?;
    project_summary(&sim, &project)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisibilityBody {
    visibility: Visibility,
}

async fn set_visibility(State(sim): State<Sim>, Path(project): Path<String>, bytes: Bytes) -> Answer {
    let b: VisibilityBody = body(&bytes)?;
    sim.set_visibility(project.as_str(), b.visibility)?;
    project_summary(&sim, &project)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RepositoryBody {
    repository_access_level: RepositoryAccess,
}

async fn set_repository_access(State(sim): State<Sim>, Path(project): Path<String>, bytes: Bytes) -> Answer {
    let b: RepositoryBody = body(&bytes)?;
    sim.set_repository_access(project.as_str(), b.repository_access_level)?;
    project_summary(&sim, &project)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberBody {
    access_level: Value,
}

async fn set_member(State(sim): State<Sim>, Path((project, user)): Path<(String, String)>, bytes: Bytes) -> Answer {
    let b: MemberBody = body(&bytes)?;
    let level = scenario::level_json(b.access_level).map_err(invalid)?;
    sim.set_member(project.as_str(), &user, Some(level))?;
    project_summary(&sim, &project)
}

async fn remove_member(State(sim): State<Sim>, Path((project, user)): Path<(String, String)>) -> Answer {
    sim.set_member(project.as_str(), &user, None)?;
    project_summary(&sim, &project)
}
