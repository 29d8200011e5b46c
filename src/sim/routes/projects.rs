//! `GET /api/v4/projects` (membership, simple, search, filters, ordering,
//! offset and keyset pagination) and `GET /api/v4/projects/:id` (numeric id or
//! URL-encoded path; 404 for missing *and* invisible projects; 301 from a
//! former path).

use std::cmp::Ordering;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::sim::api_error::ApiError;
use crate::sim::auth::{self, READ_API};
use crate::sim::model::{AccessLevel, NamespaceKind, Project, Visibility};
use crate::sim::pagination;
use crate::sim::render::{self, Extras, View};
use crate::sim::request::ApiRequest;
use crate::sim::shared::Sim;
use crate::sim::similarity;
use crate::sim::unconfirmed;
use crate::sim::world::World;

const KEYSET_UNAVAILABLE: &str = "Keyset pagination is not yet available for this type of request";
const OFFSET_LIMIT: &str = "Offset pagination has a maximum allowed offset of 50000 for requests that return objects of type Project. Remaining records can be retrieved using keyset pagination.";

/// The listing's filters, parsed and validated up front (Grape validates
/// every parameter before the endpoint runs).
struct Filters {
    user: Option<u64>,
    membership: bool,
    owned: bool,
    archived: Option<bool>,
    visibility: Option<Visibility>,
    min_access_level: Option<AccessLevel>,
    terms: Vec<String>,
    search_namespaces: bool,
    /// `starred` or `imported`: the simulator's projects have no stars and
    /// were not imported, so nothing passes.
    none_can_pass: bool,
    /// `active`: neither archived nor marked for deletion (or, `false`, the
    /// opposite).
    active: Option<bool>,
}

impl Filters {
    fn parse(req: &ApiRequest, user: Option<u64>) -> Result<Filters, ApiError> {
        let archived = req.optional_flag("archived")?;
        let visibility = req
            .param("visibility")
            .map(|v| {
                Visibility::parse(v).map_err(|_| ApiError::Param("visibility does not have a valid value".to_owned()))
            })
            .transpose()?;
        // Grape's `values: Gitlab::Access.all_values` (docs/gitlab.md §13).
        let min_access_level = req
            .integer("min_access_level")?
            .map(|n| {
                u32::try_from(n)
                    .ok()
                    .filter(|n| unconfirmed::MIN_ACCESS_LEVEL_VALUES.contains(n))
                    .map(AccessLevel)
                    .ok_or_else(|| ApiError::Param("min_access_level does not have a valid value".to_owned()))
            })
            .transpose()?;
        Ok(Filters {
            user,
            membership: req.flag("membership")?,
            owned: req.flag("owned")?,
            archived,
            visibility,
            min_access_level,
            terms: req
                .param("search")
                .unwrap_or("")
                .split_whitespace()
                .map(str::to_lowercase)
                .collect(),
            search_namespaces: req.flag("search_namespaces")?,
            none_can_pass: req.flag("starred")? | req.flag("imported")?,
            active: req.optional_flag("active")?,
        })
    }

    /// When only projects the caller is a member of can pass, the ids of
    /// the few that may (in id order), if the world's index can say.
    fn members_only(&self, world: &World) -> Option<Vec<u64>> {
        if !(self.membership || self.min_access_level.is_some()) {
            return None;
        }
        world.member_project_ids(self.user?)
    }

    fn keep(&self, world: &World, project: &Project) -> bool {
        if !world.can_read(self.user, project) {
            return false;
        }
        let access = self.user.and_then(|uid| world.access(uid, project));
        let member = access.is_some_and(|l| l >= AccessLevel::GUEST);
        if (self.membership || self.min_access_level.is_some()) && !member {
            return false;
        }
        if self.min_access_level.is_some_and(|min| access < Some(min)) {
            return false;
        }
        if self.owned && !self.owns(world, project) {
            return false;
        }
        if self.archived.is_some_and(|a| a != project.archived) {
            return false;
        }
        if self.visibility.is_some_and(|v| v != project.visibility) {
            return false;
        }
        if self.none_can_pass {
            return false;
        }
        let active = !project.archived && project.marked_for_deletion_on.is_none();
        if self.active.is_some_and(|a| a != active) {
            return false;
        }
        self.terms.iter().all(|term| self.matches(project, term))
    }

    fn owns(&self, world: &World, project: &Project) -> bool {
        world
            .namespace(project.namespace_id)
            .is_some_and(|ns| ns.kind == NamespaceKind::User && ns.owner_id.is_some() && ns.owner_id == self.user)
    }

    /// Case-insensitive substring of path, name or description (and the
    /// full path with `search_namespaces=true`).
    fn matches(&self, project: &Project, term: &str) -> bool {
        let hit = |text: &str| text.to_lowercase().contains(term);
        hit(project.path())
            || hit(&project.name)
            || project.description.as_deref().is_some_and(hit)
            || (self.search_namespaces && hit(&project.path_with_namespace))
    }
}

/// How a listing is ordered, once GitLab has replaced the orders it does
/// not grant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// A column, with `sort` (`desc` by default); ties by id the same way.
    Column(&'static str, bool),
    /// By similarity to `search`, highest first, whatever `sort` says.
    Similarity,
}

/// `order_by`'s values (`lib/api/projects.rb`), the statistics orders of
/// `STATISTICS_SORT_PARAMS` last (docs/gitlab.md §13).
const ORDER_BY: [&str; 12] = [
    "id",
    "name",
    "path",
    "created_at",
    "updated_at",
    "last_activity_at",
    "similarity",
    "star_count",
    "storage_size",
    "repository_size",
    "wiki_size",
    "packages_size",
];
const DEFAULT_ORDER_BY: &str = "created_at";

fn order(req: &ApiRequest, user: Option<u64>, search: bool) -> Result<Order, ApiError> {
    let asked = req.param("order_by").unwrap_or(DEFAULT_ORDER_BY);
    let Some(&order_by) = ORDER_BY.iter().find(|v| **v == asked) else {
        return Err(ApiError::Param("order_by does not have a valid value".to_owned()));
    };
    let descending = match req.param("sort").unwrap_or("desc") {
        "desc" => true,
        "asc" => false,
        _ => return Err(ApiError::Param("sort does not have a valid value".to_owned())),
    };
    let order_by = match order_by {
        // `support_order_by_similarity!`: only with a search and a caller;
        // otherwise the default order.
        "similarity" if search && user.is_some() => return Ok(Order::Similarity),
        "similarity" => DEFAULT_ORDER_BY,
        // `verify_statistics_order_by_projects!`: administrators only, and
        // the simulator has none, so the default order.
        "storage_size" | "repository_size" | "wiki_size" | "packages_size" => DEFAULT_ORDER_BY,
        other => other,
    };
    Ok(Order::Column(order_by, descending))
}

pub async fn list(State(sim): State<Sim>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_API)?;
    let user = caller.map(|c| c.user_id);
    let mut filters = Filters::parse(&req, user)?;
    let simple = req.flag("simple")? || user.is_none();
    let statistics = req.flag("statistics")?;
    accepted_flags(&req, LIST_ONLY_FLAGS)?;
    let order = order(&req, user, !filters.terms.is_empty())?;
    if order == Order::Similarity {
        // GitLab then lists only the caller's own projects (`non_public`),
        // to keep the scoring query small.
        filters.membership = true;
    }
    let per_page = pagination::per_page(&req)?;
    let keyset = req.param("pagination") == Some("keyset");
    // Keyset pagination knows only the id order (docs/gitlab.md §7).
    let descending = match order {
        Order::Column("id", descending) => descending,
        _ if keyset => return Err(ApiError::Grape(StatusCode::METHOD_NOT_ALLOWED, KEYSET_UNAVAILABLE)),
        _ => true,
    };
    let page = if keyset { 1 } else { pagination::page(&req)? };
    if !keyset && unconfirmed::PROJECT_OFFSET_LIMIT.is_some_and(|limit| (page - 1).saturating_mul(per_page) > limit) {
        return Err(ApiError::Grape(StatusCode::METHOD_NOT_ALLOWED, OFFSET_LIMIT));
    }
    let mut selected: Vec<&Project> = match filters.members_only(&world) {
        // The caller's own projects, judged by the same filters: the same
        // answer as judging every project (see `sim::membership`).
        Some(ids) => ids
            .into_iter()
            .filter_map(|id| world.project(id))
            .filter(|p| filters.keep(&world, p))
            .collect(),
        None => world.projects().filter(|p| filters.keep(&world, p)).collect(),
    };
    sort(&mut selected, order, req.param("search").unwrap_or(""));
    let mut headers = HeaderMap::new();
    let page_items: Vec<&Project> = if keyset {
        keyset_page(&sim, &req, selected, descending, per_page, &mut headers)?
    } else {
        let page = pagination::offset(sim.base_url(), &req, selected.len(), page, per_page);
        add_headers(&mut headers, &page.headers);
        selected[page.range].to_vec()
    };
    let view = View {
        world: &world,
        base: sim.base_url(),
        user,
    };
    let extras = Extras {
        statistics,
        ..Extras::default()
    };
    let body: Vec<serde_json::Value> = page_items
        .into_iter()
        .map(|p| {
            if simple {
                render::project_simple(&view, p)
            } else {
                render::project_full(&view, p, extras)
            }
        })
        .collect();
    Ok((headers, Json(body)).into_response())
}

/// Boolean parameters `GET /projects` declares (`lib/api/projects.rb`) that
/// change nothing in the simulator's world, but that Grape still coerces:
/// a value it cannot read is a 400.
const LIST_ONLY_FLAGS: &[&str] = &[
    "with_issues_enabled",
    "with_merge_requests_enabled",
    "include_pending_delete",
    "with_custom_attributes",
];

fn accepted_flags(req: &ApiRequest, keys: &[&str]) -> Result<(), ApiError> {
    for key in keys {
        req.optional_flag(key)?;
    }
    Ok(())
}

fn sort(projects: &mut Vec<&Project>, order: Order, search: &str) {
    let (order_by, descending) = match order {
        Order::Column(order_by, descending) => (order_by, descending),
        Order::Similarity => {
            let mut scored: Vec<(f64, &Project)> = projects
                .drain(..)
                .map(|p| (similarity::project_score(p, search), p))
                .collect();
            scored.sort_by(|(sa, a), (sb, b)| sb.total_cmp(sa).then(b.id.cmp(&a.id)));
            projects.extend(scored.into_iter().map(|(_, p)| p));
            return;
        }
    };
    let key = |a: &Project, b: &Project| -> Ordering {
        let primary = match order_by {
            "name" => a.name.to_lowercase().cmp(&b.name.to_lowercase()),
            "path" => a.path().cmp(b.path()),
            // Creation and activity follow creation order, which is id
            // order; no project has stars.
            _ => Ordering::Equal,
        };
        primary.then(a.id.cmp(&b.id))
    };
    projects.sort_by(|a, b| if descending { key(b, a) } else { key(a, b) });
}

fn keyset_page<'w>(
    sim: &Sim,
    req: &ApiRequest,
    selected: Vec<&'w Project>,
    descending: bool,
    per_page: u64,
    headers: &mut HeaderMap,
) -> Result<Vec<&'w Project>, ApiError> {
    let after = req.integer("id_after")?;
    let before = req.integer("id_before")?;
    let limit = usize::try_from(per_page).unwrap_or(usize::MAX);
    let items: Vec<&Project> = selected
        .into_iter()
        .filter(|p| after.is_none_or(|a| i128::from(p.id) > i128::from(a)))
        .filter(|p| before.is_none_or(|b| i128::from(p.id) < i128::from(b)))
        .take(limit)
        .collect();
    // A full page may have a successor; GitLab links it without looking ahead.
    if items.len() == limit {
        if let Some(last) = items.last() {
            let link = pagination::keyset_next(sim.base_url(), req, last.id, descending, per_page);
            add_headers(headers, &[("link", link)]);
        }
    }
    Ok(items)
}

fn add_headers(headers: &mut HeaderMap, list: &[(&'static str, String)]) {
    for (name, value) in list {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(HeaderName::from_static(name), value);
        }
    }
}

/// The project `:id` names (a number, or a path that may be a former one:
/// `true` then), if `user` may see it; else GitLab's 404 (docs/gitlab.md §8).
pub(super) fn visible_project(world: &World, id: &str, user: Option<u64>) -> Result<(u64, bool), ApiError> {
    let found = if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        id.parse()
            .ok()
            .filter(|pid| world.project(*pid).is_some())
            .map(|pid| (pid, false))
    } else if id.contains('/') {
        world.find_project(id)
    } else {
        None
    };
    let (pid, redirected) = found.ok_or(ApiError::ProjectNotFound)?;
    let project = world.project(pid).ok_or(ApiError::ProjectNotFound)?;
    if !world.can_read(user, project) {
        return Err(ApiError::ProjectNotFound);
    }
    Ok((pid, redirected))
}

pub async fn show(State(sim): State<Sim>, Path(id): Path<String>, req: ApiRequest) -> Result<Response, ApiError> {
    let mut world = sim.world();
    let caller = auth::authenticate(&mut world, &req, READ_API)?;
    let user = caller.map(|c| c.user_id);
    let (pid, redirected) = visible_project(&world, &id, user)?;
    let project = world.project(pid).ok_or(ApiError::ProjectNotFound)?;
    if redirected {
        let location = format!("{}/api/v4/projects/{pid}", sim.base_url());
        let body = format!("This resource has been moved permanently to {location}.");
        return Ok((
            StatusCode::MOVED_PERMANENTLY,
            [
                (header::LOCATION, location),
                (header::CONTENT_TYPE, "text/plain".to_owned()),
            ],
            body,
        )
            .into_response());
    }
    accepted_flags(&req, &["with_custom_attributes"])?;
    let extras = Extras {
        license: req.flag("license")?,
        statistics: req.flag("statistics")?,
        single: true,
    };
    let view = View {
        world: &world,
        base: sim.base_url(),
        user,
    };
    Ok(Json(render::project_full(&view, project, extras)).into_response())
}
