//! The admin API (`/api/v1/…`): bearer-token authenticated actions. Off
//! when no admin token is configured. Handlers only translate HTTP to
//! [`Actions`] calls and back.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::extract::rejection::JsonRejection;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use secrecy::{ExposeSecret, SecretString};

use super::extract::{Bytes, Path, Query, body_too_large};
use super::forms::limiter::SignInLimiter;
use super::forms::session::Sessions;
use super::{AppState, ErrorResponse};
use crate::actions::{ActionError, Actions, DEFAULT_PER_PAGE, MAX_PER_PAGE, Trigger};
use crate::wire::{AlertResults, ConnectBody, ErrorBody, RotateBody, TokenBody, Webhook};

/// What the admin routes and the page's forms need.
pub struct AdminState {
    /// The bearer token callers must present.
    pub token: SecretString,
    pub actions: Arc<Actions>,
    /// The page's sessions, keyed by the admin token ([`super::forms::session`]).
    pub sessions: Sessions,
    /// Failed sign-ins to the page, per address.
    pub limiter: SignInLimiter,
}

impl AdminState {
    pub fn new(token: SecretString, actions: Arc<Actions>) -> AdminState {
        AdminState {
            sessions: Sessions::new(&token),
            limiter: SignInLimiter::default(),
            token,
            actions,
        }
    }
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
        .route("/api/v1/workspaces", get(list_workspaces))
        .route(
            "/api/v1/workspaces/{ws}",
            get(get_workspace).put(put_workspace).delete(delete_workspace),
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
            .and_then(bearer_token)
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

/// The token of an `Authorization: Bearer <token>` value. The scheme is
/// case-insensitive (RFC 9110 §11.1: `bearer` and `BEARER` are `Bearer`),
/// and one or more spaces may separate it from the token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim_start_matches(' '))
}

/// Compares without an early exit, so timing does not reveal how much of
/// the token matched. Length differences are folded into the result.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
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
            Err(rejection) => Err(json_error(&rejection).into_response()),
        }
    }
}

fn json_error(rejection: &JsonRejection) -> ErrorResponse {
    match rejection.status() {
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorResponse::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send the body as JSON, with `Content-Type: application/json`.",
        ),
        status => ErrorResponse::new(
            status,
            "bad-request",
            format!(
                "The request body is not what this endpoint takes: {}.",
                rejection.body_text()
            ),
        ),
    }
}

/// Runs an action on a task of its own, so that a client hanging up or the
/// request timeout (`http::server`) ends the answer, never the action
/// halfway: a rotation cut between GitLab's answer and the store would lose
/// the new token (`docs/admin-api.md`, "Rotation never loses a working
/// token"). The action finishes, and is audited, either way.
pub(super) async fn detached<T, F>(action: F) -> Result<T, ActionError>
where
    F: std::future::Future<Output = Result<T, ActionError>> + Send + 'static,
    T: Send + 'static,
{
    tokio::spawn(action).await.unwrap_or_else(|e| {
        Err(ActionError::new(
            500,
            "internal-error",
            format!("The action stopped unexpectedly ({e}); look at labwatch's log and `/status`."),
        ))
    })
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
            errors: e.errors,
        },
    }
    .into_response()
}

async fn connect(Admin(a): Admin, Path(ws): Path<String>, Body(b): Body<ConnectBody>) -> Response {
    let actions = a.actions.clone();
    action_result(
        detached(async move { actions.connect(&ws, b).await }).await,
        StatusCode::OK,
    )
}

async fn update_token(Admin(a): Admin, Path(ws): Path<String>, Body(b): Body<TokenBody>) -> Response {
    let actions = a.actions.clone();
    let updated = detached(async move { actions.update_token_with(&ws, b.token, b.revoke_old, b.force).await });
    action_result(updated.await, StatusCode::OK)
}

/// The body is optional: an empty POST rotates with the default expiry.
async fn rotate(Admin(a): Admin, Path(ws): Path<String>, Bytes(body): Bytes) -> Response {
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
    let actions = a.actions.clone();
    let rotated = detached(async move { actions.rotate(&ws, expires_at, Trigger::Manual).await });
    action_result(rotated.await, StatusCode::OK)
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

/// 201 when the workspace was created, 200 when it was replaced.
async fn put_workspace(Admin(a): Admin, Path(ws): Path<String>, Body(body): Body<serde_json::Value>) -> Response {
    let actions = a.actions.clone();
    match detached(async move { actions.put_workspace(&ws, body).await }).await {
        Ok((doc, true)) => (StatusCode::CREATED, Json(doc)).into_response(),
        Ok((doc, false)) => (StatusCode::OK, Json(doc)).into_response(),
        Err(e) => action_error(e),
    }
}

async fn get_workspace(Admin(a): Admin, Path(ws): Path<String>) -> Response {
    action_result(a.actions.get_workspace(&ws), StatusCode::OK)
}

/// `?page=` (from 1) and `?per_page=` (1 to 1000, default 100).
async fn list_workspaces(Admin(a): Admin, Query(q): Query<HashMap<String, String>>) -> Response {
    let number = |key: &str, default: usize, max: usize| match q.get(key).map(|v| v.parse::<usize>()) {
        None => Ok(default),
        Some(Ok(n)) if (1..=max).contains(&n) => Ok(n),
        Some(_) => Err(action_error(ActionError::new(
            400,
            "bad-request",
            format!("`{key}` must be a whole number from 1 to {max}."),
        ))),
    };
    let page = match number("page", 1, usize::MAX / MAX_PER_PAGE) {
        Ok(n) => n,
        Err(r) => return r,
    };
    let per_page = match number("per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE) {
        Ok(n) => n,
        Err(r) => return r,
    };
    (StatusCode::OK, Json(a.actions.list_workspaces(page, per_page))).into_response()
}

/// `?revoke=true` revokes the token at GitLab first.
async fn delete_workspace(
    Admin(a): Admin,
    Path(ws): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let revoke = q.get("revoke").is_some_and(|v| v == "true" || v == "1" || v.is_empty());
    let actions = a.actions.clone();
    action_result(
        detached(async move { actions.delete_workspace(&ws, revoke).await }).await,
        StatusCode::OK,
    )
}

async fn disconnect(Admin(a): Admin, Path(ws): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    let revoke = q.get("revoke").is_some_and(|v| v == "true" || v == "1" || v.is_empty());
    let actions = a.actions.clone();
    action_result(
        detached(async move { actions.disconnect(&ws, revoke).await }).await,
        StatusCode::OK,
    )
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
    let actions = a.actions.clone();
    action_result(
        detached(async move { actions.set_repositories(&ws, list).await }).await,
        StatusCode::OK,
    )
}

/// Alertmanager's webhook: 202 with what happened to each alert; 4xx for
/// a bad payload or an unknown workspace; 5xx when a retry could help.
async fn alerts(Admin(a): Admin, Body(hook): Body<Webhook>) -> Response {
    let actions = a.actions.clone();
    match detached(async move { actions.alerts(hook).await }).await {
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

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        for value in ["Bearer t0k", "bearer t0k", "BEARER t0k", "bEaReR  t0k"] {
            assert_eq!(super::bearer_token(value), Some("t0k"), "{value}");
        }
        assert_eq!(super::bearer_token("Basic t0k"), None);
        assert_eq!(super::bearer_token("Bearert0k"), None);
    }
}
