//! The users API as a caller who is not an administrator sees it (the
//! simulator has none): `GET /api/v4/users` (`Entities::UserBasic`, by
//! `username` or filtered, paginated) and `GET /api/v4/users/:id`
//! (`Entities::UserProfile`). `api`, `read_api` or `read_user`
//! (docs/gitlab.md §14).

use std::cmp::Ordering;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, READ_USER};
use crate::sim::model::{User, UserState};
use crate::sim::pagination;
use crate::sim::render::{self, View};
use crate::sim::request::ApiRequest;
use crate::sim::shared::Sim;

/// `Entities::UserBasic`, as the documentation's "as a regular user"
/// example shows it.
const BASIC_FIELDS: [&str; 7] = ["id", "username", "name", "state", "locked", "avatar_url", "web_url"];

/// `Entities::UserProfile`: the basic fields and the public profile.
const PROFILE_FIELDS: [&str; 26] = [
    "id",
    "username",
    "name",
    "state",
    "locked",
    "avatar_url",
    "web_url",
    "created_at",
    "bio",
    "bio_html",
    "bot",
    "location",
    "public_email",
    "linkedin",
    "twitter",
    "discord",
    "github",
    "website_url",
    "organization",
    "job_title",
    "pronouns",
    "work_information",
    "followers",
    "following",
    "local_time",
    "is_followed",
];

/// Boolean filters GitLab declares that change nothing for the
/// simulator's users (all human, none internal or a bot); Grape still
/// coerces them.
const NO_OP_FLAGS: [&str; 5] = [
    "humans",
    "exclude_external",
    "exclude_internal",
    "without_project_bots",
    "with_custom_attributes",
];

pub async fn list(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_USER)?;
    let filters = Filters::parse(&req)?;
    let (order_by, descending) = order(&req)?;
    let per_page = pagination::per_page(&req)?;
    let page = pagination::page(&req)?;
    // Without a caller, only a lookup by username: `UsersFinder` matches it
    // exactly, so at most one user, never the whole list.
    if caller.is_none() && filters.username.is_none() {
        return Err(ApiError::Message(
            StatusCode::FORBIDDEN,
            "403 Forbidden - Not authorized to access /api/v4/users".to_owned(),
        ));
    }
    let mut users: Vec<&User> = world.users().filter(|u| filters.keep(u)).collect();
    users.sort_by(|a, b| {
        let primary = match order_by {
            "name" => a.name.cmp(&b.name),
            "username" => a.username.cmp(&b.username),
            // Creation and update follow creation order, which is id order.
            _ => Ordering::Equal,
        };
        let order = primary.then(a.id.cmp(&b.id));
        if descending { order.reverse() } else { order }
    });
    let page = pagination::offset(sim.base_url(), &req, users.len(), page, per_page);
    let mut headers = HeaderMap::new();
    for (name, value) in &page.headers {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
    let view = View {
        world: &world,
        base: sim.base_url(),
        user: caller.map(|c| c.user_id),
    };
    let body: Vec<Value> = users[page.range]
        .iter()
        .map(|u| pick(&view, u, &BASIC_FIELDS))
        .collect();
    Ok((headers, Json(body)).into_response())
}

pub async fn show(State(sim): State<Sim>, Path(id): Path<String>, req: ApiRequest) -> Result<Response, ApiError> {
    // The route's requirement `id: /[0-9]*/`: anything else matches no
    // route at all.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::RouteNotFound);
    }
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_USER)?;
    let Some(caller) = caller else {
        return Err(ApiError::Forbidden("403 Forbidden - Not authorized!"));
    };
    req.optional_flag("with_custom_attributes")?;
    let user = id
        .parse::<u64>()
        .ok()
        .and_then(|id| world.user(id))
        .ok_or(ApiError::Message(
            StatusCode::NOT_FOUND,
            "404 User Not Found".to_owned(),
        ))?;
    let view = View {
        world: &world,
        base: sim.base_url(),
        user: Some(caller.user_id),
    };
    Ok(Json(pick(&view, user, &PROFILE_FIELDS)).into_response())
}

/// The fields of `keys` from the simulator's full user entity (so values
/// agree with `/user`), plus the profile's own `bio_html` and `is_followed`.
fn pick(view: &View<'_>, user: &User, keys: &[&str]) -> Value {
    let full = match render::user(view, user) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let mut out = Map::new();
    for key in keys {
        let value = match *key {
            "bio_html" => Value::String(String::new()),
            "is_followed" => Value::Bool(false),
            other => full.get(other).cloned().unwrap_or(Value::Null),
        };
        out.insert((*key).to_owned(), value);
    }
    Value::Object(out)
}

/// `order_by` (`id`, `name`, `username`, `created_at`, `updated_at`;
/// default `id`) and `sort` (default `desc`).
fn order(req: &ApiRequest) -> Result<(&str, bool), ApiError> {
    let order_by = req.param("order_by").unwrap_or("id");
    if !matches!(order_by, "id" | "name" | "username" | "created_at" | "updated_at") {
        return Err(ApiError::Param("order_by does not have a valid value".to_owned()));
    }
    let descending = match req.param("sort").unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        _ => return Err(ApiError::Param("sort does not have a valid value".to_owned())),
    };
    Ok((order_by, descending))
}

/// The list's filters as `UsersFinder` applies them for a caller who is
/// not an administrator.
struct Filters {
    username: Option<String>,
    search: Option<String>,
    active: bool,
    blocked: bool,
    exclude_active: bool,
    /// `external` or `exclude_humans`: no simulated user is external, a bot
    /// or internal, so nobody passes.
    none_can_pass: bool,
}

impl Filters {
    fn parse(req: &ApiRequest) -> Result<Filters, ApiError> {
        for key in NO_OP_FLAGS {
            req.optional_flag(key)?;
        }
        // Administrators only: checked by Grape, then dropped.
        req.datetime("created_after")?;
        req.datetime("created_before")?;
        req.optional_flag("without_projects")?;
        req.optional_flag("admins")?;
        Ok(Filters {
            username: req.param("username").filter(|u| !u.is_empty()).map(str::to_lowercase),
            search: req.param("search").filter(|s| !s.trim().is_empty()).map(str::to_owned),
            active: req.flag("active")?,
            blocked: req.flag("blocked")?,
            exclude_active: req.flag("exclude_active")?,
            none_can_pass: req.flag("external")? | req.flag("exclude_humans")?,
        })
    }

    fn keep(&self, user: &User) -> bool {
        let active = user.state == UserState::Active;
        !self.none_can_pass
            && self
                .username
                .as_deref()
                .is_none_or(|u| user.username.to_lowercase() == u)
            && (!self.active || active)
            && (!self.blocked || user.state == UserState::Blocked)
            && (!self.exclude_active || !active)
            && self.search.as_deref().is_none_or(|q| {
                super::tokens::fuzzy_match(&user.username, q) || super::tokens::fuzzy_match(&user.name, q)
            })
    }
}
