//! Recent status transitions: the "Recent changes" table of the page and the
//! `GET /status/history` JSON document, both from the store's ring buffer.

use std::fmt::Write as _;

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use time::OffsetDateTime;

use super::html::{Badge, Inline, esc};
use super::when::stamp;
use crate::engine::{History, Status, Transition};
use crate::http::AppState;
use crate::report::rfc3339;

/// The page shows this many; the JSON has every kept transition.
pub const ON_PAGE: usize = 50;

/// `GET /status/history`: `{"capacity": N, "transitions": [...]}`, newest first.
#[derive(Debug, Serialize)]
pub struct HistoryDoc {
    /// How many transitions the daemon keeps; older ones are dropped.
    pub capacity: usize,
    pub transitions: Vec<TransitionDoc>,
}

#[derive(Debug, Serialize)]
pub struct TransitionDoc {
    pub at: String,
    pub workspace: String,
    pub check: String,
    pub target: Option<String>,
    /// `null` for a check's first result.
    pub from: Option<Status>,
    pub from_reason: Option<String>,
    pub to: Status,
    pub reason: String,
    pub summary: String,
    pub blocked_by: Option<String>,
}

impl HistoryDoc {
    pub fn new(history: &History) -> HistoryDoc {
        HistoryDoc {
            capacity: history.capacity(),
            transitions: history.newest_first().into_iter().map(TransitionDoc::from).collect(),
        }
    }
}

impl From<Transition> for TransitionDoc {
    fn from(t: Transition) -> TransitionDoc {
        let (from, from_reason) = t.from.map_or((None, None), |(s, r)| (Some(s), Some(r)));
        TransitionDoc {
            at: rfc3339(t.at),
            workspace: t.workspace,
            check: t.check,
            target: t.target,
            from,
            from_reason,
            to: t.to,
            reason: t.reason,
            summary: t.summary,
            blocked_by: t.blocked_by,
        }
    }
}

pub async fn history(State(state): State<AppState>) -> Json<HistoryDoc> {
    Json(HistoryDoc::new(state.status.history()))
}

/// The "Recent changes" section.
pub fn render(out: &mut String, history: &History, now: OffsetDateTime) {
    let all = history.newest_first();
    let _ = write!(
        out,
        r#"<section id="changes" aria-labelledby="changes-h">
<h2 id="changes-h">Recent changes</h2>
<p class="note">Status changes of every check, newest first: {shown} of the last {kept} kept in memory (at most {cap}; also as JSON at <a href="/status/history">/status/history</a>).</p>
"#,
        shown = all.len().min(ON_PAGE),
        kept = all.len(),
        cap = history.capacity(),
    );
    if all.is_empty() {
        out.push_str("<p>No check has finished yet.</p></section>\n");
        return;
    }
    out.push_str(
        r#"<div class="table-wrap" role="region" aria-labelledby="changes-h" tabindex="0">
<table class="changes stack" role="table">
<thead role="rowgroup"><tr role="row"><th scope="col" role="columnheader">Time</th><th scope="col" role="columnheader">Workspace</th><th scope="col" role="columnheader">Check</th><th scope="col" role="columnheader">Change</th><th scope="col" role="columnheader">Reason</th></tr></thead>
<tbody role="rowgroup">
"#,
    );
    for t in all.iter().take(ON_PAGE) {
        row(out, t, now);
    }
    out.push_str("</tbody></table></div></section>\n");
}

fn row(out: &mut String, t: &Transition, now: OffsetDateTime) {
    let from = match &t.from {
        Some((s, _)) => Badge(*s).to_string(),
        None => r#"<span class="first">first result</span>"#.to_owned(),
    };
    let check = match &t.target {
        Some(target) => format!("{} <code>{}</code>", esc(&t.check), esc(target)),
        None => esc(&t.check).to_string(),
    };
    let _ = writeln!(
        out,
        r#"<tr role="row" data-workspace="{ws}" data-check="{c}" data-target="{target}" data-from="{from_s}" data-to="{to_s}" data-reason="{reason}"><th scope="row" role="rowheader">{at}</th><td role="cell" data-label="Workspace">{ws}</td><td role="cell" data-label="Check">{check}</td><td role="cell" class="change" data-label="Change">{from} <span aria-hidden="true">→</span><span class="sr-only"> to </span> {to}</td><td role="cell"><code>{reason}</code> {summary}</td></tr>"#,
        ws = esc(&t.workspace),
        c = esc(&t.check),
        target = esc(t.target.as_deref().unwrap_or("")),
        from_s = t.from.as_ref().map_or("", |(s, _)| s.as_str()),
        to_s = t.to.as_str(),
        reason = esc(&t.reason),
        at = stamp(t.at, now),
        to = Badge(t.to),
        summary = Inline(&t.summary),
    );
}
