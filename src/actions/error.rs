//! [`ActionError`]: why an action did not happen, as data the admin API
//! renders as `{"error": code, "message": …, "remediation": […]}`.

use crate::engine::{Outcome, Reason, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct ActionError {
    /// HTTP status for the admin API.
    pub status: u16,
    /// A reason code (`token-expired`, `scopes-missing`, …) or an API code
    /// (`unknown-workspace`, `not-connected`, `conflict`).
    pub code: String,
    pub message: String,
    pub remediation: Vec<String>,
}

impl ActionError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> ActionError {
        ActionError {
            status,
            code: code.into(),
            message: message.into(),
            remediation: Vec::new(),
        }
    }

    pub fn with_steps(mut self, steps: Vec<String>) -> ActionError {
        self.remediation = steps;
        self
    }

    /// An error with `reason`'s code and its remediation steps filled in
    /// for `workspace`. The registry's steps are templates (`{workspace}`);
    /// this is the one place an action turns a reason into steps, so no
    /// placeholder reaches a person (it did, through a bare
    /// `Reason::remediation()`, in a rotation GitLab refused).
    pub fn for_reason(status: u16, reason: Reason, workspace: &str, message: impl Into<String>) -> ActionError {
        let steps = Outcome::new(Status::Critical, reason, String::new())
            .fill(&[("workspace", workspace)])
            .remediation;
        ActionError::new(status, reason.code(), message).with_steps(steps)
    }

    pub fn unknown_workspace(name: &str) -> ActionError {
        ActionError::new(
            404,
            "unknown-workspace",
            format!("There is no workspace `{name}` in the configuration; add a [[workspace]] with that name first."),
        )
    }

    pub fn not_connected(name: &str) -> ActionError {
        ActionError::new(
            409,
            Reason::NotConnected.code(),
            format!("Workspace `{name}` is not connected; connect it first (`labwatch connect --workspace {name}`)."),
        )
    }

    /// A failed check or GitLab call as the reason for refusing an action:
    /// the outcome's code, summary and remediation; 502 when GitLab could not
    /// be reached (a retry may help), else 422.
    pub fn from_outcome(outcome: Outcome) -> ActionError {
        let retry_may_help = matches!(
            Reason::from_code(&outcome.reason),
            Some(
                Reason::DnsTimeout
                    | Reason::TcpTimeout
                    | Reason::HttpTimeout
                    | Reason::HttpServerError
                    | Reason::RequestFailed
                    | Reason::RateLimited
                    | Reason::CheckTimeout
            )
        );
        ActionError {
            status: if retry_may_help { 502 } else { 422 },
            code: outcome.reason,
            message: outcome.summary,
            remediation: outcome.remediation,
        }
    }
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ActionError {}
