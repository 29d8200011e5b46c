//! The status document of DESIGN §3.3.

use std::collections::BTreeMap;

use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::connections::{ConnectionView, Connections};
use crate::engine::{Status, WorkspaceView};

#[derive(Debug, Serialize)]
pub struct StatusDoc {
    pub status: Status,
    pub generated_at: String,
    pub version: &'static str,
    pub workspaces: Vec<WorkspaceDoc>,
}

#[derive(Debug, Serialize)]
pub struct WorkspaceDoc {
    pub name: String,
    pub instance_url: String,
    pub status: Status,
    pub connection: ConnectionView,
    pub checks: Vec<CheckDoc>,
}

#[derive(Debug, Serialize)]
pub struct CheckDoc {
    pub check: String,
    pub target: Option<String>,
    pub status: Status,
    pub reason: String,
    pub summary: String,
    pub remediation: Vec<String>,
    pub blocked_by: Option<String>,
    pub duration_seconds: Option<f64>,
    pub last_run: Option<String>,
    pub last_success: Option<String>,
    pub consecutive_failures: u32,
    pub measurements: BTreeMap<String, f64>,
    /// Further lines of explanation (a plugin's long output).
    pub details: Vec<String>,
}

impl StatusDoc {
    pub fn new(views: &[WorkspaceView], connections: &Connections, now: OffsetDateTime) -> StatusDoc {
        StatusDoc {
            status: super::overall(views),
            generated_at: rfc3339(now),
            version: env!("CARGO_PKG_VERSION"),
            workspaces: views.iter().map(|v| WorkspaceDoc::new(v, connections)).collect(),
        }
    }
}

impl WorkspaceDoc {
    pub fn new(view: &WorkspaceView, connections: &Connections) -> WorkspaceDoc {
        WorkspaceDoc {
            name: view.name.clone(),
            instance_url: view.instance_url.clone(),
            status: view.status(),
            connection: connections.get(&view.name),
            checks: view.checks.iter().map(CheckDoc::new).collect(),
        }
    }
}

impl CheckDoc {
    fn new(c: &crate::engine::CheckView) -> CheckDoc {
        let outcome = super::shown_outcome(c);
        let state = c.state.as_ref();
        CheckDoc {
            check: c.check.clone(),
            target: c.target.clone(),
            status: outcome.status,
            reason: outcome.reason,
            summary: outcome.summary,
            remediation: outcome.remediation,
            blocked_by: state.and_then(|s| s.blocked_by.clone()),
            duration_seconds: state.map(|s| s.duration.as_secs_f64()),
            last_run: state.map(|s| rfc3339(s.last_run)),
            last_success: state.and_then(|s| s.last_success).map(rfc3339),
            consecutive_failures: state.map_or(0, |s| s.consecutive_failures),
            measurements: outcome.measurements,
            details: outcome.details,
        }
    }
}

/// RFC 3339 in UTC with second precision, as people and jq like it.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC).replace_nanosecond(0).unwrap_or(t);
    t.format(&Rfc3339).unwrap_or_default()
}
