//! axum's extractors, with their rejections answered as the JSON error body
//! every labwatch endpoint uses (`docs/http.md`, "Errors") instead of
//! axum's plain text: a client reads one shape, and a code that names the
//! problem.

use axum::extract::rejection::{BytesRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;

use super::{BODY_LIMIT, ErrorResponse};

/// Path parameters; a segment that does not decode (percent-encoded bytes
/// that are not UTF-8) answers 400 `invalid-path`.
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Path<T>, Response> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(Path(v)),
            Err(rejection) => Err(path_error(&rejection).into_response()),
        }
    }
}

fn path_error(rejection: &PathRejection) -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::BAD_REQUEST,
        "invalid-path",
        format!(
            "The path cannot be read: {}. Percent-encode names as UTF-8.",
            rejection.body_text()
        ),
    )
}

/// The query string; one that does not decode answers 400 `invalid-query`.
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Query<T>, Response> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(rejection) => Err(query_error(&rejection).into_response()),
        }
    }
}

fn query_error(rejection: &QueryRejection) -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::BAD_REQUEST,
        "invalid-query",
        format!(
            "The query string cannot be read: {}. Percent-encode values as UTF-8.",
            rejection.body_text()
        ),
    )
}

/// The raw request body, at most [`BODY_LIMIT`] bytes: a larger one
/// answers 413 `body-too-large`.
pub struct Bytes(pub axum::body::Bytes);

impl<S: Send + Sync> FromRequest<S> for Bytes {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Bytes, Response> {
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Bytes(bytes)),
            Err(rejection) => Err(bytes_error(&rejection).into_response()),
        }
    }
}

fn bytes_error(rejection: &BytesRejection) -> ErrorResponse {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        body_too_large()
    } else {
        ErrorResponse::new(
            rejection.status(),
            "bad-request",
            format!("The request body could not be read: {}.", rejection.body_text()),
        )
    }
}

/// 413 `body-too-large`.
pub fn body_too_large() -> ErrorResponse {
    ErrorResponse::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
        format!("The request body is larger than {} KiB.", BODY_LIMIT / 1024),
    )
}
