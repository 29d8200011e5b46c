//! GitLab's pagination: `page`/`per_page` validation (default 20, capped at
//! 100, 0 refused by Grape, negatives by the endpoint), offset headers
//! (`X-Page`, `X-Per-Page`, `X-Next-Page` and `X-Prev-Page` empty when
//! absent, `X-Total`/`X-Total-Pages` only up to 10,000 records, `Link` with
//! absolute URLs repeating every query parameter), and keyset
//! `Link: …; rel="next"` URLs.

use std::ops::Range;

use super::api_error::ApiError;
use super::request::ApiRequest;
use super::unconfirmed;

const DEFAULT_PER_PAGE: u64 = 20;
pub const MAX_PER_PAGE: u64 = 100;
/// Above this many records GitLab stops counting (no totals, no `rel="last"`).
const COUNT_LIMIT: usize = 10_000;

pub fn per_page(req: &ApiRequest) -> Result<u64, ApiError> {
    match req.integer("per_page")? {
        None => Ok(DEFAULT_PER_PAGE),
        // Grape's `except_values: [0]` (docs/gitlab.md §7, §13) …
        Some(0) => Err(ApiError::Param("per_page has a value not allowed".to_owned())),
        // … and, after validation, the endpoint's check for negative values.
        Some(n) if n < 0 => Err(ApiError::Param("per_page does not have a valid value".to_owned())),
        Some(n) => Ok(n.unsigned_abs().min(MAX_PER_PAGE)),
    }
}

pub fn page(req: &ApiRequest) -> Result<u64, ApiError> {
    match req.integer("page")? {
        None => Ok(1),
        Some(n) if n < 1 && unconfirmed::POSITIVE_PAGE_REQUIRED => {
            Err(ApiError::Param("page does not have a valid value".to_owned()))
        }
        Some(n) if n < 1 => Ok(1),
        Some(n) => Ok(n.unsigned_abs()),
    }
}

/// One offset page: which records, and the headers that describe it.
#[derive(Debug)]
pub struct OffsetPage {
    pub range: Range<usize>,
    pub headers: Vec<(&'static str, String)>,
}

pub fn offset(base: &str, req: &ApiRequest, total: usize, page: u64, per_page: u64) -> OffsetPage {
    let counted = total <= COUNT_LIMIT;
    let total_pages = (total as u64).div_ceil(per_page).max(1);
    let start = usize::try_from((page - 1).saturating_mul(per_page)).unwrap_or(usize::MAX);
    let end = start
        .saturating_add(usize::try_from(per_page).unwrap_or(usize::MAX))
        .min(total);
    let range = start.min(total)..end;
    let next = (end < total).then_some(page + 1);
    // Kaminari: no previous page when out of range.
    let prev = (page > 1 && page <= total_pages).then(|| page - 1);
    let blank = |p: Option<u64>| p.map(|n| n.to_string()).unwrap_or_default();
    let mut links = Vec::new();
    if let Some(p) = prev {
        links.push(format!("<{}>; rel=\"prev\"", href(base, req, page_params(p, per_page))));
    }
    if let Some(n) = next {
        links.push(format!("<{}>; rel=\"next\"", href(base, req, page_params(n, per_page))));
    }
    links.push(format!(
        "<{}>; rel=\"first\"",
        href(base, req, page_params(1, per_page))
    ));
    if counted {
        links.push(format!(
            "<{}>; rel=\"last\"",
            href(base, req, page_params(total_pages, per_page))
        ));
    }
    let mut headers = vec![
        ("x-page", page.to_string()),
        ("x-per-page", per_page.to_string()),
        ("x-next-page", blank(next)),
        ("x-prev-page", blank(prev)),
        ("link", links.join(", ")),
    ];
    if counted {
        headers.push(("x-total", total.to_string()));
        headers.push(("x-total-pages", total_pages.to_string()));
    }
    OffsetPage { range, headers }
}

fn page_params(page: u64, per_page: u64) -> Vec<(&'static str, String)> {
    vec![("page", page.to_string()), ("per_page", per_page.to_string())]
}

/// The keyset `Link` to the page after the record `last_id`.
pub fn keyset_next(base: &str, req: &ApiRequest, last_id: u64, descending: bool, per_page: u64) -> String {
    let key = if descending { "id_before" } else { "id_after" };
    let url = href(
        base,
        req,
        vec![(key, last_id.to_string()), ("per_page", per_page.to_string())],
    );
    format!("<{url}>; rel=\"next\"")
}

/// The request's URL on the configured host with `overrides` applied; keys
/// sorted like Ruby's `to_query`. Like GitLab, every parameter is repeated,
/// a `private_token` one included.
fn href(base: &str, req: &ApiRequest, overrides: Vec<(&'static str, String)>) -> String {
    let mut pairs: Vec<(String, String)> = req
        .query
        .iter()
        .filter(|(k, _)| !overrides.iter().any(|(o, _)| o == k))
        .cloned()
        .collect();
    pairs.extend(overrides.into_iter().map(|(k, v)| (k.to_owned(), v)));
    pairs.sort();
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish();
    format!("{base}{}?{query}", req.path)
}
