//! The admin API (`/api/v1/…`): bearer-token authenticated actions. Off
//! when no admin token is configured. Handlers only translate HTTP to
//! [`Actions`] calls and back.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use secrecy::{ExposeSecret, SecretString};

use super::{AppState, ErrorResponse};
use crate::actions::{ActionError, Actions, Trigger};
use crate::wire::{AlertResults, ConnectBody, ErrorBody, RotateBody, TokenBody, Webhook};

/// What the admin routes need.
pub struct AdminState {
    /// The bearer token callers must present.
    pub token: SecretString,
    pub actions: Arc<Actions>,
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/workspaces/{ws}/connect", post(connect))
        .route("/api/v1/workspaces/{ws}/token", put(update_token))
        .route("/api/v1/workspaces/{ws}/rotate", post(rotate))
        .route("/api/v1/workspaces/{ws}/connection", axum::routing::delete(disconnect))
        .route(
            "/api/v1/workspaces/{ws}/repositories",
            get(list_repositories).put(set_repositories),
        )
        .route("/api/v1/checks/run", post(run_checks))
        .route("/api/v1/alerts", post(alerts))
}

/// Proof that the request carried the admin token; extracting it answers
/// 404 when the admin API is off and 401 without the right token.
pub struct Admin(Arc<AdminState>);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Admin, Response> {
        let Some(admin) = state.admin.clone() else {
            return Err(ErrorResponse::new(
                StatusCode::NOT_FOUND,
                "admin-api-off",
                "The admin API is off: set `admin_token_file` in [server] to turn it on.",
            )
            .into_response());
        };
        let given = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !constant_time_eq(given.as_bytes(), admin.token.expose_secret().as_bytes()) {
            let mut r = ErrorResponse::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "Send the admin token as `Authorization: Bearer <token>` (the content of `admin_token_file`).",
            )
            .into_response();
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"labwatch\""),
            );
            return Err(r);
        }
        Ok(Admin(admin))
    }
}

/// Compares without an early exit, so timing does not reveal how much of
/// the token matched. Length differences are folded into the result.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mut diff = a.len() ^ b.len();
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= usize::from(x ^ y);
    }
    diff == 0
}

/// A JSON body, with malformed input answered as `{error, message}`.
pub struct Body<T>(T);

impl<T: serde::de::DeserializeOwned> axum::extract::FromRequest<AppState> for Body<T> {
    type Rejection = Response;

    async fn from_request(req: axum::extract::Request, state: &AppState) -> Result<Body<T>, Response> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(rejection) => {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "body-too-large"
                } else {
                    "bad-request"
                };
                let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "The request body is larger than 64 KiB.".to_owned()
                } else {
                    format!(
                        "The request body is not what this endpoint takes: {}.",
                        rejection.body_text()
                    )
                };
                Err(ErrorResponse::new(status, code, message).into_response())
            }
        }
    }
}

fn action_result<T: serde::Serialize>(result: Result<T, ActionError>, ok: StatusCode) -> Response {
    match result {
        Ok(v) => (ok, Json(v)).into_response(),
        Err(e) => action_error(e),
    }
}

fn action_error(e: ActionError) -> Response {
    ErrorResponse {
        status: StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        body: ErrorBody {
            error: e.code,
            message: e.message,
            remediation: e.remediation,
        },
    }
    .into_response()
}

async fn connect(Admin(a): Admin, Path(ws): Path<String>, Body(b): Body<ConnectBody>) -> Response {
    action_result(a.actions.connect(&ws, b).await, StatusCode::OK)
}

async fn update_token(Admin(a): Admin, Path(ws): Path<String>, Body(b): Body<TokenBody>) -> Response {
    action_result(a.actions.update_token(&ws, b.token, b.revoke_old).await, StatusCode::OK)
}

/// The body is optional: an empty POST rotates with the default expiry.
async fn rotate(Admin(a): Admin, Path(ws): Path<String>, body: axum::body::Bytes) -> Response {
    let b: RotateBody = if body.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        match serde_json::from_slice(&body) {
            Ok(b) => b,
            Err(e) => {
                return action_error(ActionError::new(
                    400,
                    "bad-request",
                    format!("The request body is not what this endpoint takes: {e}."),
                ));
            }
        }
    };
    let expires_at = match b.expires_at.as_deref().map(parse_date).transpose() {
        Ok(d) => d,
        Err(e) => return action_error(e),
    };
    action_result(a.actions.rotate(&ws, expires_at, Trigger::Manual).await, StatusCode::OK)
}

fn parse_date(s: &str) -> Result<time::Date, ActionError> {
    time::Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).map_err(|_| {
        ActionError::new(
            422,
            "expires-at-invalid",
            format!("`{s}` is not a date; write it as YYYY-MM-DD."),
        )
    })
}

async fn disconnect(Admin(a): Admin, Path(ws): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let revoke = q.get("revoke").is_some_and(|v| v == "true" || v == "1" || v.is_empty());
    action_result(a.actions.disconnect(&ws, revoke).await, StatusCode::OK)
}

async fn list_repositories(
    Admin(a): Admin,
    Path(ws): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let page = match q.get("page").map(|p| p.parse::<u32>()) {
        None => 1,
        Some(Ok(p)) if p > 0 => p,
        Some(_) => {
            return action_error(ActionError::new(
                400,
                "bad-request",
                "`page` must be a whole number from 1.",
            ));
        }
    };
    action_result(
        a.actions
            .repositories(&ws, q.get("search").map(String::as_str), page)
            .await,
        StatusCode::OK,
    )
}

async fn set_repositories(Admin(a): Admin, Path(ws): Path<String>, Body(list): Body<Vec<String>>) -> Response {
    action_result(a.actions.set_repositories(&ws, list).await, StatusCode::OK)
}

/// Alertmanager's webhook: 202 with what happened to each alert; 4xx for
/// a bad payload or an unknown workspace; 5xx when a retry could help.
async fn alerts(Admin(a): Admin, Body(hook): Body<Webhook>) -> Response {
    match a.actions.alerts(hook).await {
        Ok(results) => (StatusCode::ACCEPTED, Json(AlertResults { results })).into_response(),
        Err(e) => action_error(e),
    }
}

async fn run_checks(Admin(a): Admin, Query(q): Query<HashMap<String, String>>) -> Response {
    match a.actions.run_now(q.get("workspace").map(String::as_str)) {
        Ok(()) => (StatusCode::ACCEPTED, Json(serde_json::json!({ "status": "accepted" }))).into_response(),
        Err(Ok(wait)) => {
            let secs = wait.as_secs().max(1);
            let mut r = ErrorResponse::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too-many-requests",
                format!("Checks ran moments ago; try again in {secs} s."),
            )
            .into_response();
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            r
        }
        Err(Err(e)) => action_error(e),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn constant_time_eq_compares_whole_tokens() {
        assert!(super::constant_time_eq(b"secret", b"secret"));
        assert!(!super::constant_time_eq(b"secret", b"secreT"));
        assert!(!super::constant_time_eq(b"secret", b"secret2"));
        assert!(!super::constant_time_eq(b"", b"x"));
    }
}
