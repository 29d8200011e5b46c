//! The whole HTML document of `GET /`: head (inline CSS, the refresh script
//! or, without JavaScript, a meta refresh), the overall status with a list of
//! workspaces, one section per workspace, and the recent changes.
//!
//! Everything that changes lives in `<main id="content">`, which the refresh
//! script swaps for the same element of a freshly fetched page.

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::html::{Badge, esc, head, id_part};
use super::notice::Notice;
use super::when::moment;
use super::{transitions, workspace};
use crate::actions::Actions;
use crate::engine::{History, WorkspaceView};
use crate::report::Connections;
use crate::report::overall;

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
    /// Who is looking: the actions show for a signed-in operator only.
    pub viewer: Viewer<'a>,
    /// What an action just did, from the redirect that follows it.
    pub notice: Option<&'a Notice>,
}

/// Who the page is rendered for.
pub enum Viewer<'a> {
    /// The admin API is off: no actions, no sign-in.
    ReadOnly,
    /// Not signed in; the header links to the sign-in form.
    MaySignIn,
    /// Signed in: every form carries `csrf`.
    SignedIn { csrf: &'a str, actions: &'a Actions },
}

pub fn render(i: &Inputs<'_>) -> String {
    let status = overall(i.views);
    let mut out = String::with_capacity(32 * 1024);
    let nonce = i.nonce.map(|n| format!(r#" nonce="{}""#, esc(n))).unwrap_or_default();
    let refresh = format!(r#"<meta http-equiv="refresh" content="{META_REFRESH_SECONDS}">"#);
    // With JavaScript on, a <noscript> meta refresh is inert text and the
    // script refreshes in place; without, the browser reloads.
    let refresh = if i.nonce.is_some() {
        format!("<noscript>{refresh}</noscript>\n")
    } else {
        format!("{refresh}\n")
    };
    head(&mut out, &status.as_str().to_uppercase(), &refresh);
    let _ = write!(
        out,
        r#"<body>
<header>
<h1>labwatch <span class="sub">GitLab connection status</span></h1>
{account}
{noscript}
</header>
<main id="content">
"#,
        account = account_bar(&i.viewer),
        noscript = if i.nonce.is_some() {
            format!(
                r#"<noscript><p class="note">JavaScript is off: this page reloads every {META_REFRESH_SECONDS} seconds.</p></noscript>
<p class="note" id="refresh-note"></p>"#
            )
        } else {
            format!(r#"<p class="note">This page reloads every {META_REFRESH_SECONDS} seconds.</p>"#)
        },
    );
    if let Some(n) = i.notice {
        let _ = match &n.workspace {
            Some(ws) => writeln!(
                out,
                r#"<p class="notice" role="status">Workspace <strong>{}</strong>: {}</p>"#,
                esc(ws),
                n.sentence()
            ),
            None => writeln!(out, r#"<p class="notice" role="status">{}</p>"#, n.sentence()),
        };
    }
    overview(&mut out, i);
    for ws in i.views {
        let conn = i.connections.connection(&ws.name);
        let actions = match &i.viewer {
            Viewer::SignedIn { csrf, actions } => workspace_actions(&ws.name, conn.connected, csrf, actions),
            _ => String::new(),
        };
        workspace::render(&mut out, ws, &conn, i.now, &actions);
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

/// Under the heading: sign in, or who is signed in with the sign-out
/// button and the link to a new workspace.
fn account_bar(viewer: &Viewer<'_>) -> String {
    match viewer {
        Viewer::ReadOnly => String::new(),
        Viewer::MaySignIn => {
            r#"<p class="account"><a href="/sign-in">Sign in</a> to connect, rotate or disconnect from this page.</p>"#
                .to_owned()
        }
        Viewer::SignedIn { csrf, .. } => format!(
            r#"<div class="account"><p>Signed in with the admin token · <a href="/workspaces/new">New workspace</a></p>{}</div>"#,
            crate::http::forms::sign_out_button(csrf)
        ),
    }
}

/// A workspace's actions: links to the forms, and rotate as a button
/// (it has nothing to fill in).
fn workspace_actions(name: &str, connected: bool, csrf: &str, actions: &Actions) -> String {
    let ws = esc(name);
    let mut out = String::from(r#"<div class="actions" role="group" aria-label="Actions">"#);
    if connected {
        let _ = write!(
            out,
            r#"<a class="button" href="/workspaces/{ws}/repositories">Repositories</a>
<a class="button" href="/workspaces/{ws}/token">Update token</a>
<form method="post" action="/workspaces/{ws}/rotate" class="inline"><input type="hidden" name="csrf" value="{csrf}"><button type="submit">Rotate now</button></form>
<a class="button danger" href="/workspaces/{ws}/disconnect">Disconnect</a>
"#,
            csrf = esc(csrf),
        );
    } else {
        let _ = writeln!(out, r#"<a class="button" href="/workspaces/{ws}/connect">Connect</a>"#);
    }
    if actions.page_facts(name).is_some_and(|(_, runtime)| runtime) {
        let _ = writeln!(
            out,
            r#"<a class="button danger" href="/workspaces/{ws}/delete">Delete</a>"#
        );
    }
    out.push_str("</div>\n");
    out
}
