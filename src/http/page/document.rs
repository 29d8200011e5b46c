//! The whole HTML document of `GET /`: head (inline CSS, the refresh script
//! or, without JavaScript, a meta refresh), the overall status with a list of
//! workspaces, one section per workspace, and the recent changes.
//!
//! Everything that changes lives in `<main id="content">`, which the refresh
//! script swaps for the same element of a freshly fetched page.

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::html::{Badge, esc, id_part};
use super::when::moment;
use super::{transitions, workspace};
use crate::engine::{History, WorkspaceView};
use crate::report::Connections;
use crate::report::overall;

const STYLE: &str = include_str!("style.css");
const SCRIPT: &str = include_str!("refresh.js");

/// Seconds between reloads when JavaScript is off (the script refreshes
/// every 10 s; a full reload is heavier, so less often).
const META_REFRESH_SECONDS: u32 = 30;

/// What one rendering needs.
pub struct Inputs<'a> {
    pub views: &'a [WorkspaceView],
    pub connections: &'a dyn Connections,
    pub history: &'a History,
    pub now: OffsetDateTime,
    /// The CSP nonce of the inline script; `None` serves the page without
    /// the script (and with a plain meta refresh).
    pub nonce: Option<&'a str>,
}

pub fn render(i: &Inputs<'_>) -> String {
    let status = overall(i.views);
    let mut out = String::with_capacity(32 * 1024);
    let nonce = i.nonce.map(|n| format!(r#" nonce="{}""#, esc(n))).unwrap_or_default();
    let refresh = format!(r#"<meta http-equiv="refresh" content="{META_REFRESH_SECONDS}">"#);
    let _ = write!(
        out,
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>labwatch: {title}</title>
<link rel="icon" href="data:,">
{refresh}
<style>{STYLE}</style>
</head>
<body>
<header>
<h1>labwatch <span class="sub">GitLab connection status</span></h1>
{noscript}
</header>
<main id="content">
"#,
        title = status.as_str().to_uppercase(),
        // With JavaScript on, a <noscript> meta refresh is inert text and the
        // script refreshes in place; without, the browser reloads.
        refresh = if i.nonce.is_some() {
            format!("<noscript>{refresh}</noscript>")
        } else {
            refresh
        },
        noscript = if i.nonce.is_some() {
            format!(
                r#"<noscript><p class="note">JavaScript is off: this page reloads every {META_REFRESH_SECONDS} seconds.</p></noscript>
<p class="note" id="refresh-note"></p>"#
            )
        } else {
            format!(r#"<p class="note">This page reloads every {META_REFRESH_SECONDS} seconds.</p>"#)
        },
    );
    overview(&mut out, i);
    for ws in i.views {
        workspace::render(&mut out, ws, &i.connections.connection(&ws.name), i.now);
    }
    transitions::render(&mut out, i.history, i.now);
    let _ = write!(
        out,
        r#"</main>
<footer><p>labwatch {version} · <a href="/status">status JSON</a> · <a href="/status/history">history JSON</a> · <a href="/health">health</a> · <a href="/metrics">metrics</a></p></footer>
"#,
        version = env!("CARGO_PKG_VERSION"),
    );
    if i.nonce.is_some() {
        let _ = writeln!(out, "<script{nonce}>{SCRIPT}</script>");
    }
    out.push_str("</body>\n</html>\n");
    out
}

/// Overall status, when this was generated, and a list of workspaces with
/// their status that links to their sections.
fn overview(out: &mut String, i: &Inputs<'_>) {
    let status = overall(i.views);
    let _ = write!(
        out,
        r#"<p class="overall" data-status="{s}">Overall {badge} · generated {at}</p>
<nav aria-label="Workspaces"><ul class="toc">
"#,
        s = status.as_str(),
        badge = Badge(status),
        at = moment(i.now, i.now),
    );
    if i.views.is_empty() {
        out.push_str("<li>No workspace is configured.</li>\n");
    }
    for ws in i.views {
        let _ = writeln!(
            out,
            r##"<li><a href="#ws-{}">{}</a> {}</li>"##,
            id_part(&ws.name),
            esc(&ws.name),
            Badge(ws.status())
        );
    }
    out.push_str("</ul></nav>\n");
}
