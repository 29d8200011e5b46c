//! A workspace's checks on the page: one card per workspace-level check,
//! blocked checks listed under the card of their root cause, and one table
//! per check that runs per target (the repositories).

use std::fmt::Write as _;

use time::OffsetDateTime;

use super::html::{Badge, Inline, esc, id_part};
use super::when::moment;
use crate::engine::{Capabilities, CheckView, Status, WorkspaceView};
use crate::report::shown_outcome;

/// The checks part of one workspace section.
pub fn render(out: &mut String, ws: &WorkspaceView, now: OffsetDateTime) {
    let roots: Vec<&str> = ws
        .checks
        .iter()
        .filter(|c| c.target.is_none() && !is_blocked(c))
        .map(|c| &*c.check)
        .collect();
    // A blocked check goes under its root cause's card when that card exists
    // (a plugin may name a root that is not a workspace-level check).
    let grouped = |c: &CheckView| blocked_by(c).is_some_and(|r| roots.contains(&r));
    for c in ws.checks.iter().filter(|c| c.target.is_none() && !grouped(c)) {
        let blocked: Vec<&CheckView> = ws
            .checks
            .iter()
            .filter(|b| grouped(b) && blocked_by(b) == Some(&*c.check))
            .collect();
        card(out, ws, c, &blocked, now);
    }
    let mut names: Vec<&str> = Vec::new();
    for c in ws.checks.iter().filter(|c| c.target.is_some()) {
        if !names.contains(&&*c.check) {
            names.push(&c.check);
        }
    }
    for name in names {
        let rows: Vec<&CheckView> = ws
            .checks
            .iter()
            .filter(|c| &*c.check == name && c.target.is_some())
            .collect();
        targets_table(out, ws, name, &rows, now);
    }
}

fn blocked_by(c: &CheckView) -> Option<&str> {
    c.state.as_ref().and_then(|s| s.blocked_by.as_deref())
}

fn is_blocked(c: &CheckView) -> bool {
    blocked_by(c).is_some()
}

/// `check` or `check acme/backend`, escaped, for lists.
fn label(c: &CheckView) -> String {
    match &c.target {
        Some(t) => format!("{} <code>{}</code>", esc(&c.check), esc(t)),
        None => esc(&c.check).to_string(),
    }
}

fn card(out: &mut String, ws: &WorkspaceView, c: &CheckView, blocked: &[&CheckView], now: OffsetDateTime) {
    let o = shown_outcome(c);
    let s = o.status.as_str();
    let _ = write!(
        out,
        r#"<article class="check st-{s}" id="ws-{ws_id}-check-{id}" data-check="{check}" data-status="{s}" data-reason="{reason}">
<h3>{check} {badge}</h3>
<p class="summary">{summary}</p>
<p class="meta">Reason <code>{reason}</code>{times}</p>
"#,
        ws_id = id_part(&ws.name),
        id = id_part(&c.check),
        check = esc(&c.check),
        reason = esc(&o.reason),
        badge = Badge(o.status),
        summary = Inline(&o.summary),
        times = times(c, now),
    );
    if !o.details.is_empty() {
        out.push_str(r#"<ul class="details">"#);
        for d in &o.details {
            let _ = write!(out, "<li>{}</li>", Inline(d));
        }
        out.push_str("</ul>");
    }
    if o.status != Status::Ok {
        steps(out, &o.remediation);
    }
    if !blocked.is_empty() {
        let _ = write!(
            out,
            r#"<div class="blocked"><p><strong>Not checked until {} passes</strong> ({} blocked):</p><ul>"#,
            esc(&c.check),
            blocked.len()
        );
        for b in blocked {
            let _ = write!(
                out,
                r#"<li data-check="{}" data-target="{}">{} {}</li>"#,
                esc(&b.check),
                esc(b.target.as_deref().unwrap_or("")),
                Badge(shown_outcome(b).status),
                label(b)
            );
        }
        out.push_str("</ul></div>\n");
    }
    out.push_str("</article>\n");
}

/// The remediation steps as an ordered list, when there are any.
fn steps(out: &mut String, steps: &[String]) {
    if steps.is_empty() {
        return;
    }
    out.push_str(r#"<p class="todo">What to do:</p><ol class="remediation">"#);
    for step in steps {
        let _ = write!(out, "<li>{}</li>", Inline(step));
    }
    out.push_str("</ol>\n");
}

/// A repository's capability verdicts as a compact row of words ("push:
/// no, role-too-low, needed"), the verdict's message on hover; nothing
/// for other checks. Words, so the row reads without colour.
fn capability_row(out: &mut String, capabilities: &Capabilities) {
    if capabilities.is_empty() {
        return;
    }
    out.push_str(r#"<ul class="capabilities" aria-label="What the connection can do">"#);
    for c in capabilities.iter() {
        let verdict = c.verdict();
        let _ = write!(
            out,
            r#"<li class="cap cap-{verdict}" data-capability="{name}" data-verdict="{verdict}""#,
            name = esc(c.name)
        );
        if let Some(d) = &c.denial {
            let _ = write!(out, r#" title="{}""#, esc(&d.message));
        }
        let _ = write!(out, "><strong>{}</strong>: {verdict}", esc(c.name));
        if let Some(d) = &c.denial {
            let _ = write!(out, ", {}", esc(d.reason));
        }
        if c.needed {
            out.push_str(", needed");
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
}

/// " · last run … · last success …" (and the failure streak), for card meta.
fn times(c: &CheckView, now: OffsetDateTime) -> String {
    let Some(state) = &c.state else {
        return " · not run yet".to_owned();
    };
    let mut out = format!(" · last run {}", moment(state.last_run, now));
    match state.last_success {
        // Passed on its last run: the same moment twice says nothing.
        Some(t) if t == state.last_run => {}
        Some(t) => {
            let _ = write!(out, " · last success {}", moment(t, now));
        }
        None => out.push_str(" · never succeeded"),
    }
    if state.consecutive_failures > 1 {
        let _ = write!(out, " · failed {} times in a row", state.consecutive_failures);
    }
    out
}

fn targets_table(out: &mut String, ws: &WorkspaceView, check: &str, rows: &[&CheckView], now: OffsetDateTime) {
    let (title, column) = if check == "repository" {
        ("Repositories".to_owned(), "Repository".to_owned())
    } else {
        (format!("{} (per target)", esc(check)), "Target".to_owned())
    };
    let h_id = format!("ws-{}-targets-{}", id_part(&ws.name), id_part(check));
    let _ = write!(
        out,
        r#"<h3 id="{h_id}">{title}</h3>
<div class="table-wrap" role="region" aria-labelledby="{h_id}" tabindex="0">
<table class="targets stack" role="table" data-check="{check}">
<thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">{column}</th><th scope="col" role="columnheader">Status</th><th scope="col" role="columnheader">What labwatch found</th><th scope="col" role="columnheader">Last success</th></tr></thead>
<tbody role="rowgroup">
"#,
        check = esc(check)
    );
    for c in rows {
        let o = shown_outcome(c);
        let s = o.status.as_str();
        let _ = write!(
            out,
            r#"<tr role="row" data-target="{target}" data-status="{s}" data-reason="{reason}"><th scope="row" role="rowheader"><code>{target}</code></th><td role="cell" data-label="Status">{badge}</td><td role="cell"><p>{summary}</p><p class="meta">Reason <code>{reason}</code></p>"#,
            target = esc(c.target.as_deref().unwrap_or("")),
            reason = esc(&o.reason),
            badge = Badge(o.status),
            summary = Inline(&o.summary),
        );
        capability_row(out, &o.capabilities);
        // A blocked row's only step is "fix the root cause", which its card says.
        if o.status != Status::Ok && !is_blocked(c) {
            steps(out, &o.remediation);
        }
        let last = match c.state.as_ref().and_then(|s| s.last_success) {
            Some(t) => moment(t, now),
            None if c.state.is_some() => "never".to_owned(),
            None => "not run yet".to_owned(),
        };
        let _ = writeln!(
            out,
            r#"</td><td role="cell" data-label="Last success">{last}</td></tr>"#
        );
    }
    out.push_str("</tbody></table></div>\n");
}
