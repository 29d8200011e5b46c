//! The status document (`GET /status`, `labwatch check --output json`),
//! whose shape `docs/http.md` documents.

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::{ConnectionView, Connections};
use crate::engine::{Capabilities, Measurements, Status, WorkspaceView};

// The documents borrow from the views they describe: `/status` of ten
// thousand repositories serializes megabytes, and copying every outcome
// first would double the work and the memory.

#[derive(Debug, Serialize)]
pub struct StatusDoc<'a> {
    pub status: Status,
    pub generated_at: String,
    pub version: &'static str,
    pub workspaces: Vec<WorkspaceDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct WorkspaceDoc<'a> {
    pub name: &'a str,
    pub instance_url: &'a str,
    pub status: Status,
    pub connection: ConnectionView,
    pub checks: Vec<CheckDoc<'a>>,
}

#[derive(Debug, Serialize)]
pub struct CheckDoc<'a> {
    pub check: &'a str,
    pub target: Option<&'a str>,
    pub status: Status,
    pub reason: &'a str,
    pub summary: &'a str,
    pub remediation: &'a [String],
    pub blocked_by: Option<&'a str>,
    pub duration_seconds: Option<f64>,
    pub last_run: Option<String>,
    pub last_success: Option<String>,
    pub consecutive_failures: u32,
    pub measurements: &'a Measurements,
    /// Further lines of explanation (a plugin's long output).
    pub details: &'a [String],
    /// A repository check's capability verdicts, by name (`docs/http.md`);
    /// left out for other checks.
    #[serde(skip_serializing_if = "Capabilities::is_empty")]
    pub capabilities: &'a Capabilities,
}

impl<'a> StatusDoc<'a> {
    pub fn new(views: &'a [WorkspaceView], connections: &dyn Connections, now: OffsetDateTime) -> StatusDoc<'a> {
        StatusDoc {
            status: super::overall(views),
            generated_at: rfc3339(now),
            version: env!("CARGO_PKG_VERSION"),
            workspaces: views.iter().map(|v| WorkspaceDoc::new(v, connections)).collect(),
        }
    }
}

impl<'a> WorkspaceDoc<'a> {
    pub fn new(view: &'a WorkspaceView, connections: &dyn Connections) -> WorkspaceDoc<'a> {
        WorkspaceDoc {
            name: &view.name,
            instance_url: &view.instance_url,
            status: view.status(),
            connection: connections.connection(&view.name),
            checks: view.checks.iter().map(CheckDoc::new).collect(),
        }
    }
}

impl<'a> CheckDoc<'a> {
    fn new(c: &'a crate::engine::CheckView) -> CheckDoc<'a> {
        let outcome = super::shown_outcome(c);
        let state = c.state.as_deref();
        CheckDoc {
            check: &c.check,
            target: c.target.as_deref(),
            status: outcome.status,
            reason: &outcome.reason,
            summary: &outcome.summary,
            remediation: &outcome.remediation,
            blocked_by: state.and_then(|s| s.blocked_by.as_deref()),
            duration_seconds: state.map(|s| s.duration.as_secs_f64()),
            last_run: state.map(|s| rfc3339(s.last_run)),
            last_success: state.and_then(|s| s.last_success).map(rfc3339),
            consecutive_failures: state.map_or(0, |s| s.consecutive_failures),
            measurements: &outcome.measurements,
            details: &outcome.details,
            capabilities: &outcome.capabilities,
        }
    }
}

/// RFC 3339 in UTC with second precision, as people and jq like it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}
