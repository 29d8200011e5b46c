//! One workspace's section: its overall status, the connection (instance,
//! account, token and its expiry), when it last ran and last worked, then
//! its checks ([`super::checks`]).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::checks;
use super::html::{Badge, esc, id_part};
use super::when::{expiry, moment};
use crate::engine::{CheckState, WorkspaceView};
use crate::report::ConnectionView;

/// `actions` is the signed-in operator's buttons (HTML), empty otherwise.
pub fn render(out: &mut String, ws: &WorkspaceView, conn: &ConnectionView, now: OffsetDateTime, actions: &str) {
    let status = ws.status();
    let s = status.as_str();
    let id = id_part(&ws.name);
    let _ = write!(
        out,
        r#"<section class="workspace st-{s}" id="ws-{id}" data-workspace="{name}" data-status="{s}" aria-labelledby="ws-{id}-h">
<h2 id="ws-{id}-h">{name} {badge}</h2>
<dl class="conn">
"#,
        name = esc(&ws.name),
        badge = Badge(status),
    );
    row(out, "Instance", &instance(&ws.instance_url));
    connection(out, conn, now);
    let states: Vec<&CheckState> = ws.checks.iter().filter_map(|c| c.state.as_deref()).collect();
    let last_run = states.iter().map(|s| s.last_run).max();
    row(
        out,
        "Last run",
        &last_run.map_or_else(|| "not yet".to_owned(), |t| moment(t, now)),
    );
    row(out, "Last success", &last_success(&states, now));
    out.push_str("</dl>\n");
    out.push_str(actions);
    checks::render(out, ws, now);
    out.push_str("</section>\n");
}

fn row(out: &mut String, term: &str, value: &str) {
    let _ = writeln!(out, "<div><dt>{term}</dt><dd>{value}</dd></div>");
}

/// The instance URL, a link when it is one (config validates the scheme;
/// checking again keeps `javascript:` out of an href whatever happens).
fn instance(url: &str) -> String {
    if url.starts_with("https://") || url.starts_with("http://") {
        format!(r#"<a href="{0}" rel="noreferrer">{0}</a>"#, esc(url))
    } else {
        esc(url).to_string()
    }
}

fn connection(out: &mut String, conn: &ConnectionView, now: OffsetDateTime) {
    if !conn.connected {
        row(out, "Connection", r#"<strong>not connected</strong>"#);
        return;
    }
    let user = match (&conn.username, conn.user_id) {
        (Some(name), Some(id)) => format!("{} (id {id})", esc(name)),
        (Some(name), None) => esc(name).to_string(),
        (None, Some(id)) => format!("user id {id}"),
        (None, None) => "not known yet".to_owned(),
    };
    row(out, "User", &user);
    let Some(token) = &conn.token else {
        row(out, "Token", "not known yet");
        return;
    };
    row(out, "Token", &format!("{} (id {})", esc(&token.name), token.id));
    let scopes: Vec<String> = token
        .scopes
        .iter()
        .map(|s| format!("<code>{}</code>", esc(s)))
        .collect();
    row(
        out,
        "Scopes",
        &if scopes.is_empty() {
            "none".to_owned()
        } else {
            scopes.join(" ")
        },
    );
    let expires = match &token.expires_at {
        Some(date) => expiry(date, now),
        None => "never".to_owned(),
    };
    row(out, "Expires", &expires);
    if let Some(due) = token
        .renewal_due
        .as_deref()
        .and_then(|d| OffsetDateTime::parse(d, &time::format_description::well_known::Rfc3339).ok())
    {
        row(out, "Renewal due", &moment(due, now));
    }
}

/// When everything that fails now last worked: the last run when nothing
/// fails, else the oldest last success among the failing checks ("never"
/// when one of them never passed). Blocked checks did not run and count
/// through their root cause.
fn last_success(states: &[&CheckState], now: OffsetDateTime) -> String {
    let ran: Vec<&&CheckState> = states.iter().filter(|s| !s.is_blocked()).collect();
    if ran.is_empty() {
        return "not yet".to_owned();
    }
    let failing: Vec<&&&CheckState> = ran.iter().filter(|s| !s.outcome.status.is_usable()).collect();
    if failing.is_empty() {
        return ran
            .iter()
            .map(|s| s.last_run)
            .max()
            .map_or_else(String::new, |t| moment(t, now));
    }
    match failing.iter().map(|s| s.last_success).collect::<Option<Vec<_>>>() {
        Some(times) => times.into_iter().min().map_or_else(String::new, |t| moment(t, now)),
        None => "never".to_owned(),
    }
}
