//! GitLab's API error answers, byte for byte where `docs/gitlab.md` knows them: the
//! helper style `{"message": "<status> <text>"}`, Grape's `{"error": …}`, and
//! the OAuth-style `invalid_token` / `insufficient_scope` bodies.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::unconfirmed;

pub const EXPIRED_DESCRIPTION: &str = "Token is expired. You can either do re-authorization or token refresh.";
pub const REVOKED_DESCRIPTION: &str = "Token was revoked. You have to re-authorize from the user.";
const INSUFFICIENT_SCOPE_DESCRIPTION: &str =
    "The request requires higher privileges than provided by the access token.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// No token, or a token GitLab does not know.
    Unauthorized,
    TokenExpired,
    TokenRevoked,
    /// The token lacks every scope the endpoint accepts (the scope string).
    InsufficientScope(&'static str),
    /// `403 Forbidden - <reason>` (blocked user).
    Forbidden(&'static str),
    ProjectNotFound,
    /// The catch-all route: `{"error":"404 Not Found"}`.
    RouteNotFound,
    /// `bad_request!(reason)`: `{"message":"400 Bad request - <reason>"}`.
    BadRequest(String),
    /// A body given verbatim as `{"message": <text>}`.
    Message(StatusCode, String),
    /// Grape parameter validation: `{"error":"<param> is invalid"}` etc.
    Param(String),
    /// A Grape error with another status, e.g. 405 for keyset or offset limits.
    Grape(StatusCode, &'static str),
    /// A raw JSON body (e.g. a fixed string from `unconfirmed`).
    Raw(StatusCode, &'static str),
}

fn json_response(status: StatusCode, body: Value) -> Response {
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Unauthorized => json_response(StatusCode::UNAUTHORIZED, json!({"message": "401 Unauthorized"})),
            ApiError::TokenExpired => invalid_token(EXPIRED_DESCRIPTION),
            ApiError::TokenRevoked => invalid_token(REVOKED_DESCRIPTION),
            ApiError::InsufficientScope(scope) => json_response(
                StatusCode::FORBIDDEN,
                json!({
                    "error": "insufficient_scope",
                    "error_description": INSUFFICIENT_SCOPE_DESCRIPTION,
                    "scope": scope,
                }),
            ),
            ApiError::Forbidden(message) => json_response(StatusCode::FORBIDDEN, json!({ "message": message })),
            ApiError::ProjectNotFound => {
                json_response(StatusCode::NOT_FOUND, json!({"message": "404 Project Not Found"}))
            }
            ApiError::RouteNotFound => json_response(StatusCode::NOT_FOUND, json!({"error": "404 Not Found"})),
            ApiError::BadRequest(reason) => json_response(
                StatusCode::BAD_REQUEST,
                json!({"message": format!("400 Bad request - {reason}")}),
            ),
            ApiError::Message(status, text) => json_response(status, json!({ "message": text })),
            ApiError::Param(text) => json_response(StatusCode::BAD_REQUEST, json!({ "error": text })),
            ApiError::Grape(status, text) => json_response(status, json!({ "error": text })),
            ApiError::Raw(status, body) => (status, [(header::CONTENT_TYPE, "application/json")], body).into_response(),
        }
    }
}

/// The rack-oauth2 401: JSON body plus the `WWW-Authenticate` challenge.
fn invalid_token(description: &str) -> Response {
    let mut response = json_response(
        StatusCode::UNAUTHORIZED,
        json!({"error": "invalid_token", "error_description": description}),
    );
    if let Ok(value) = HeaderValue::from_str(&unconfirmed::invalid_token_challenge(description)) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    response
}
