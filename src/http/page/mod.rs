//! The status page: `GET /` renders, on the server, what a person needs to
//! see about every workspace (see `docs/status-page.md`), and
//! `GET /status/history` serves the recent transitions as JSON.
//!
//! The page loads nothing from anywhere: CSS and the small refresh script
//! are inline, allowed by a per-response CSP nonce; the script may only
//! fetch this page again (`connect-src 'self'`).
//!
//! - [`document`]: the HTML document; [`workspace`], [`checks`] and
//!   [`transitions`] render its parts; [`notice`] says what an action just
//!   did; [`html`] escapes, [`when`] formats times.

mod checks;
mod document;
pub(crate) mod html;
mod notice;
mod transitions;
mod when;
mod workspace;

use axum::extract::State;
use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use time::OffsetDateTime;

pub use transitions::history;

use super::AppState;
use super::extract::Query;

/// The styles of every page, the form pages too ([`html::head`]).
const STYLE: &str = include_str!("style.css");

/// `GET /`: the status for everyone; for a signed-in operator, also the
/// buttons and links of the actions (`http::forms`).
pub async fn index(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let nonce = nonce();
    let views = state.status.snapshot();
    let viewer = crate::http::forms::viewer(&state, &headers);
    let actions = match &viewer {
        Some((admin, csrf)) => document::Viewer::SignedIn {
            csrf,
            actions: &admin.actions,
        },
        None if state.admin.is_some() => document::Viewer::MaySignIn,
        None => document::Viewer::ReadOnly,
    };
    let notice = notice::Notice::from_query(&q);
    let body = document::render(&document::Inputs {
        views: &views,
        connections: state.connections.as_ref(),
        history: state.status.history(),
        now: OffsetDateTime::now_utc(),
        nonce: nonce.as_deref(),
        viewer: actions,
        notice: notice.as_ref(),
    });
    let csp = csp(nonce.as_deref());
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    common_headers(headers);
    response
}

/// What every HTML answer sends besides its CSP: never cached (a signed-in
/// page holds a CSRF token), never sniffed, framed or referred.
pub(crate) fn common_headers(headers: &mut HeaderMap) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

/// Nothing but this page's own inline script (by nonce), inline style,
/// fetches of this origin, forms posted to this origin (the actions), and
/// the empty `data:` favicon (which keeps
/// browsers from asking for `/favicon.ico`). Styles are allowed inline
/// rather than by nonce: the refresh script parses a fresh copy of the page,
/// whose `<style>` carries that copy's nonce, and the browser would report
/// it as a violation. Everything on the page is escaped, so no one else's
/// style gets in either way.
fn csp(nonce: Option<&str>) -> String {
    let script = nonce.map_or_else(|| "'none'".to_owned(), |n| format!("'nonce-{n}'"));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {script}; connect-src 'self'; img-src data:; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

/// 128 random bits for the CSP nonce; `None` if the system has no
/// randomness, and the page is then served without its script.
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}
