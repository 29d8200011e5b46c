//! The status page: `GET /` renders, on the server, what a person needs to
//! see about every workspace (see `docs/status-page.md`), and
//! `GET /status/history` serves the recent transitions as JSON.
//!
//! The page loads nothing from anywhere: CSS and the small refresh script
//! are inline, allowed by a per-response CSP nonce; the script may only
//! fetch this page again (`connect-src 'self'`).
//!
//! - [`document`]: the HTML document; [`workspace`], [`checks`] and
//!   [`transitions`] render its parts; [`html`] escapes, [`when`] formats
//!   times.

mod checks;
mod document;
mod html;
mod transitions;
mod when;
mod workspace;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use time::OffsetDateTime;

pub use transitions::history;

use super::AppState;

/// `GET /`.
pub async fn index(State(state): State<AppState>) -> Response {
    let nonce = nonce();
    let views = state.status.snapshot();
    let body = document::render(&document::Inputs {
        views: &views,
        connections: state.connections.as_ref(),
        history: state.status.history(),
        now: OffsetDateTime::now_utc(),
        nonce: nonce.as_deref(),
    });
    let csp = csp(nonce.as_deref());
    let mut response = ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Nothing but this page's own inline script (by nonce), inline style,
/// fetches of this origin, and the empty `data:` favicon (which keeps
/// browsers from asking for `/favicon.ico`). Styles are allowed inline
/// rather than by nonce: the refresh script parses a fresh copy of the page,
/// whose `<style>` carries that copy's nonce, and the browser would report
/// it as a violation. Everything on the page is escaped, so no one else's
/// style gets in either way.
fn csp(nonce: Option<&str>) -> String {
    let script = nonce.map_or_else(|| "'none'".to_owned(), |n| format!("'nonce-{n}'"));
    format!(
        "default-src 'none'; style-src 'unsafe-inline'; script-src {script}; connect-src 'self'; img-src data:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

/// 128 random bits for the CSP nonce; `None` if the system has no
/// randomness, and the page is then served without its script.
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}
