//! Renderings of the status store: the `/status` JSON document (also
//! `labwatch check --output json`), human text, and the Nagios plugin format.

mod json;
mod nagios;
mod text;

pub use json::{CheckDoc, StatusDoc, WorkspaceDoc, rfc3339};
pub use nagios::nagios;
pub use text::text;

use crate::engine::{CheckState, CheckView, Outcome, Reason, Status, WorkspaceView};

/// The worst status over workspaces (blocked checks left out).
pub fn overall(views: &[WorkspaceView]) -> Status {
    views.iter().map(WorkspaceView::status).max().unwrap_or(Status::Unknown)
}

/// The outcome to show for a check: its last one, or "pending".
pub fn shown_outcome(c: &CheckView) -> Outcome {
    match &c.state {
        Some(CheckState { outcome, .. }) => outcome.clone(),
        None => Outcome::new(Status::Unknown, Reason::Pending, "The check has not run yet."),
    }
}

/// `check` or `check[target]`, for one-line listings.
pub fn check_label(c: &CheckView) -> String {
    match &c.target {
        Some(t) => format!("{}[{t}]", c.check),
        None => c.check.clone(),
    }
}
