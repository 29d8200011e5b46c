//! Renderings of the status store: the `/status` JSON document (also
//! `labwatch check --output json`) with each workspace's
//! [`ConnectionView`], human text, and the Nagios plugin format.

mod capabilities;
mod connection;
mod instances;
mod json;
mod nagios;
mod text;

pub use capabilities::capability_row;
pub use connection::{ConnectionView, Connections, TokenView};
pub use instances::{Fleet, InstanceView, NoInstances, ProbeView};
pub use json::{StatusDoc, WorkspaceDoc, rfc3339};
pub use nagios::nagios;
pub use text::text;

use std::sync::LazyLock;

use crate::engine::{CheckView, Outcome, Reason, Status, WorkspaceView};

/// The worst status over workspaces (blocked checks left out).
pub fn overall(views: &[WorkspaceView]) -> Status {
    views.iter().map(WorkspaceView::status).max().unwrap_or(Status::Unknown)
}

/// The outcome to show for a check: its last one, or "pending". Borrowed:
/// `/health` and `/status` look at every check on every request.
pub fn shown_outcome(c: &CheckView) -> &Outcome {
    /// Immutable once built, like a constant; `Outcome` owns strings, so it
    /// cannot be a `const`.
    static PENDING: LazyLock<Outcome> =
        LazyLock::new(|| Outcome::new(Status::Unknown, Reason::Pending, "The check has not run yet."));
    match &c.state {
        Some(state) => &state.outcome,
        None => &PENDING,
    }
}

/// `check` or `check[target]`, for one-line listings.
pub fn check_label(c: &CheckView) -> String {
    match &c.target {
        Some(t) => format!("{}[{t}]", c.check),
        None => c.check.to_string(),
    }
}
