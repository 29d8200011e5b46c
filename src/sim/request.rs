//! The parts of an API request handlers look at: path, query parameters (in
//! order, for rebuilding `Link` URLs), the token it carries, and typed
//! parameter parsing with Grape's error bodies.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, header};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time};

use super::api_error::ApiError;
use super::unconfirmed;

/// The token of a request, GitLab's order: `private_token` parameter, then
/// `PRIVATE-TOKEN` header, then `Authorization: Bearer`. Blank counts as none.
pub fn credential(headers: &HeaderMap, query: &[(String, String)]) -> Option<String> {
    let from_param = query.iter().find(|(k, _)| k == "private_token").map(|(_, v)| v.clone());
    let from_header = || {
        headers
            .get("private-token")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let from_bearer = || {
        let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
        let (scheme, token) = value.split_once(' ')?;
        scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
    };
    from_param
        .or_else(from_header)
        .or_else(from_bearer)
        .filter(|t| !t.trim().is_empty())
}

pub fn parse_query(raw: Option<&str>) -> Vec<(String, String)> {
    raw.map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default()
}

#[derive(Debug, Clone)]
pub struct ApiRequest {
    pub path: String,
    pub query: Vec<(String, String)>,
    pub secret: Option<String>,
    pub headers: HeaderMap,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiRequest {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parse_query(parts.uri.query());
        Ok(ApiRequest {
            path: parts.uri.path().to_owned(),
            secret: credential(&parts.headers, &query),
            query,
            headers: parts.headers.clone(),
        })
    }
}

impl ApiRequest {
    /// The last value of a parameter (Rack keeps the last of repeated keys).
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// A Grape `Boolean` parameter; absent (or empty) is `false`.
    pub fn flag(&self, key: &str) -> Result<bool, ApiError> {
        Ok(self.optional_flag(key)?.unwrap_or(false))
    }

    /// A Grape `Boolean` parameter that may be absent (`None`). Grape coerces
    /// booleans with dry-types' `Params::Bool`, which knows exactly these
    /// spellings, case included (docs/gitlab.md §13). An empty value: see
    /// [`unconfirmed::EMPTY_BOOLEAN_IS_NOT_GIVEN`].
    pub fn optional_flag(&self, key: &str) -> Result<Option<bool>, ApiError> {
        const TRUE: [&str; 14] = [
            "1", "on", "On", "ON", "t", "true", "True", "TRUE", "T", "y", "yes", "Yes", "YES", "Y",
        ];
        const FALSE: [&str; 14] = [
            "0", "off", "Off", "OFF", "f", "false", "False", "FALSE", "F", "n", "no", "No", "NO", "N",
        ];
        match self.param(key) {
            None => Ok(None),
            Some("") if unconfirmed::EMPTY_BOOLEAN_IS_NOT_GIVEN => Ok(None),
            Some(v) if TRUE.contains(&v) => Ok(Some(true)),
            Some(v) if FALSE.contains(&v) => Ok(Some(false)),
            Some(_) => Err(ApiError::Param(format!("{key} is invalid"))),
        }
    }

    /// A Grape `DateTime` parameter: a date (midnight UTC), an RFC 3339
    /// timestamp, or one without an offset (UTC), as the documentation's
    /// examples write them (`2022-01-01T00:00:00`).
    pub fn datetime(&self, key: &str) -> Result<Option<OffsetDateTime>, ApiError> {
        let Some(text) = self.param(key) else {
            return Ok(None);
        };
        let text = text.trim();
        let day = format_description!("[year]-[month]-[day]");
        let local = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
        Date::parse(text, day)
            .map(|d| d.with_time(Time::MIDNIGHT).assume_utc())
            .or_else(|_| OffsetDateTime::parse(text, &Rfc3339))
            .or_else(|_| PrimitiveDateTime::parse(text, local).map(PrimitiveDateTime::assume_utc))
            .map(Some)
            .map_err(|_| ApiError::Param(format!("{key} is invalid")))
    }

    /// A Grape `Date` parameter (`YYYY-MM-DD`).
    pub fn date(&self, key: &str) -> Result<Option<Date>, ApiError> {
        let Some(text) = self.param(key) else {
            return Ok(None);
        };
        Date::parse(text.trim(), format_description!("[year]-[month]-[day]"))
            .map(Some)
            .map_err(|_| ApiError::Param(format!("{key} is invalid")))
    }

    /// A Grape `Integer` parameter.
    pub fn integer(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.param(key)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| ApiError::Param(format!("{key} is invalid")))
            })
            .transpose()
    }
}
