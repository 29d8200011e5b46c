//! Personal access token self-service: `GET`/`DELETE
//! /personal_access_tokens/self` (any scope), rotation through
//! `POST /personal_access_tokens/self/rotate` (`api` or `self_rotate`) and
//! `POST /personal_access_tokens/:id/rotate` (`api`, own tokens only), and
//! the caller's own tokens by id: `GET /personal_access_tokens` (filtered,
//! paginated), `GET /personal_access_tokens/:id` (`api` or `read_api`) and
//! `DELETE /personal_access_tokens/:id` (`api`). The simulator has no
//! administrators, so every caller sees only their own tokens
//! (docs/gitlab.md §14).

use std::cmp::Ordering;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use time::{Date, OffsetDateTime};

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, API, Caller, Need, READ_API, SELF_ROTATE};
use crate::sim::model::Token;
use crate::sim::pagination;
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

/// `GET /personal_access_tokens`: the caller's tokens, filtered as
/// `PersonalAccessTokensFinder` does, in id order unless `sort` names one of
/// the token's sorts.
pub async fn list(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, READ_API)?;
    // `restrict_non_admins!` runs before validation, on the raw value: any
    // user but the caller (or none) is 401.
    if let Some(asked) = req.param("user_id").filter(|v| !v.trim().is_empty()) {
        if asked.trim().parse::<u64>().ok() != Some(caller.user_id) {
            return Err(ApiError::Unauthorized);
        }
    }
    req.integer("user_id")?;
    let filters = TokenFilters::parse(&req)?;
    let per_page = pagination::per_page(&req)?;
    let page = pagination::page(&req)?;
    let mut tokens: Vec<&Token> = world
        .tokens()
        .filter(|t| t.user_id == caller.user_id && filters.keep(t, world.today))
        .collect();
    sort_tokens(&mut tokens, req.param("sort").unwrap_or(""));
    let page = pagination::offset(sim.base_url(), &req, tokens.len(), page, per_page);
    let mut headers = HeaderMap::new();
    for (name, value) in &page.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let body: Vec<serde_json::Value> = tokens[page.range].iter().map(|t| listed(&world, t)).collect();
    Ok((headers, Json(body)).into_response())
}

/// `GET /personal_access_tokens/:id`: one of the caller's tokens, revoked or
/// expired ones included. Anyone else's token, or none, is 401 for a
/// caller who is not an administrator ("Only admins should be informed if
/// the token doesn't exist").
pub async fn show(State(sim): State<Sim>, Path(id): Path<String>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, READ_API)?;
    let token = own_token(&world, caller, &id)?.ok_or(ApiError::Unauthorized)?;
    Ok(Json(listed(&world, token)).into_response())
}

/// `DELETE /personal_access_tokens/:id`: revokes one of the caller's tokens
/// the way self-revocation does (204). A missing id is 404 `Not found`
/// (`PersonalAccessToken.find`); someone else's token is 400 "Not
/// permitted to revoke" (`RevokeService`).
pub async fn revoke(State(sim): State<Sim>, Path(id): Path<String>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::require(&mut world, &req, API)?;
    let id = token_id(&id)?;
    let token = world
        .token(id)
        .ok_or(ApiError::Message(StatusCode::NOT_FOUND, "404 Not found".to_owned()))?;
    if token.user_id != caller.user_id {
        return Err(ApiError::BadRequest("Not permitted to revoke".to_owned()));
    }
    world
        .revoke(id)
        .map_err(|_| ApiError::Message(StatusCode::NOT_FOUND, "404 Not found".to_owned()))?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Grape's `requires :id, type: Integer`.
fn token_id(id: &str) -> Result<u64, ApiError> {
    id.trim()
        .parse::<u64>()
        .map_err(|_| ApiError::Param("id is invalid".to_owned()))
}

fn own_token<'w>(world: &'w World, caller: Caller, id: &str) -> Result<Option<&'w Token>, ApiError> {
    let id = token_id(id)?;
    Ok(world.token(id).filter(|t| t.user_id == caller.user_id))
}

/// `Entities::PersonalAccessTokenWithLastUsedIps`. The simulator does not
/// record client addresses, so the list is always empty.
fn listed(world: &World, token: &Token) -> serde_json::Value {
    let mut value = render::token(world, token);
    if let serde_json::Value::Object(map) = &mut value {
        map.insert("last_used_ips".to_owned(), serde_json::Value::Array(Vec::new()));
    }
    value
}

/// The list's filters (`access_token_params` in
/// `lib/api/helpers/personal_access_tokens_helpers.rb`), each as the finder
/// applies it (docs/gitlab.md §14).
struct TokenFilters {
    revoked: Option<bool>,
    state: Option<bool>,
    created_before: Option<OffsetDateTime>,
    created_after: Option<OffsetDateTime>,
    last_used_before: Option<OffsetDateTime>,
    last_used_after: Option<OffsetDateTime>,
    expires_before: Option<Date>,
    expires_after: Option<Date>,
    search: Option<String>,
}

impl TokenFilters {
    fn parse(req: &ApiRequest) -> Result<TokenFilters, ApiError> {
        let state = match req.param("state") {
            None => None,
            Some("active") => Some(true),
            Some("inactive") => Some(false),
            Some(_) => return Err(ApiError::Param("state does not have a valid value".to_owned())),
        };
        Ok(TokenFilters {
            revoked: req.optional_flag("revoked")?,
            state,
            created_before: req.datetime("created_before")?,
            created_after: req.datetime("created_after")?,
            last_used_before: req.datetime("last_used_before")?,
            last_used_after: req.datetime("last_used_after")?,
            expires_before: req.date("expires_before")?,
            expires_after: req.date("expires_after")?,
            search: req.param("search").map(str::to_owned),
        })
    }

    fn keep(&self, token: &Token, today: Date) -> bool {
        // `inactive` is `revoked OR expires_at < CURRENT_DATE`, so a token
        // that expires today is neither active nor inactive.
        let state_ok = match self.state {
            None => true,
            Some(true) => token.active(today),
            Some(false) => token.revoked || token.expires_at.is_some_and(|d| d < today),
        };
        let used = token.last_used_at;
        let expires = token.expires_at;
        state_ok
            && self.revoked.is_none_or(|r| r == token.revoked)
            && self.created_before.is_none_or(|t| token.created_at <= t)
            && self.created_after.is_none_or(|t| token.created_at >= t)
            && self.last_used_before.is_none_or(|t| used.is_some_and(|u| u <= t))
            && self.last_used_after.is_none_or(|t| used.is_some_and(|u| u >= t))
            && self.expires_before.is_none_or(|d| expires.is_some_and(|e| e < d))
            && self.expires_after.is_none_or(|d| expires.is_some_and(|e| e >= d))
            && self.search.as_deref().is_none_or(|q| fuzzy_match(&token.name, q))
    }
}

/// `Gitlab::SQL::Pattern#fuzzy_search` on one column: every word of three
/// characters or more must appear (case-insensitively); a query with no
/// such word must equal the whole value (case-insensitively). A blank
/// query matches everything.
pub(super) fn fuzzy_match(value: &str, query: &str) -> bool {
    let value = value.to_lowercase();
    let query = query.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    if query.is_empty() {
        return true;
    }
    let words: Vec<&str> = query.split(' ').filter(|w| w.chars().count() >= 3).collect();
    if words.is_empty() {
        return value == query;
    }
    words.iter().all(|w| value.contains(w))
}

/// `PersonalAccessToken.simple_sorts` as the documentation lists them; ties
/// by id in the same direction, and (PostgreSQL's default) an empty value
/// after every date going up, before every date going down. Any other
/// `sort` leaves the finder unordered, and pagination then orders by id.
fn sort_tokens(tokens: &mut [&Token], sort: &str) {
    let (key, descending): (fn(&Token, &Token) -> Ordering, bool) = match sort {
        "created_asc" => (|a, b| a.created_at.cmp(&b.created_at), false),
        "created_desc" => (|a, b| a.created_at.cmp(&b.created_at), true),
        "name_asc" => (|a, b| a.name.cmp(&b.name), false),
        "name_desc" => (|a, b| a.name.cmp(&b.name), true),
        "expires_asc" => (|a, b| nulls_last(a.expires_at, b.expires_at), false),
        "expires_desc" => (|a, b| nulls_last(a.expires_at, b.expires_at), true),
        "last_used_asc" => (|a, b| nulls_last(a.last_used_at, b.last_used_at), false),
        "last_used_desc" => (|a, b| nulls_last(a.last_used_at, b.last_used_at), true),
        _ => (|_, _| Ordering::Equal, false),
    };
    tokens.sort_by(|a, b| {
        let order = key(a, b).then(a.id.cmp(&b.id));
        if descending { order.reverse() } else { order }
    });
}

fn nulls_last<T: Ord>(a: Option<T>, b: Option<T>) -> Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(&b),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    }
}
