//! [`ActionError`]: why an action did not happen, as data the admin API
//! renders as `{"error": code, "message": …, "remediation": […]}`.

use crate::config::FieldError;
use crate::engine::{Outcome, Reason, Status};
use crate::wire;

#[derive(Debug, Clone, PartialEq)]
pub struct ActionError {
    /// HTTP status for the admin API.
    pub status: u16,
    /// A reason code (`token-expired`, `scopes-missing`, …) or an API code
    /// (`unknown-workspace`, `not-connected`, `account-mismatch`).
    pub code: String,
    pub message: String,
    pub remediation: Vec<String>,
    /// The fields of a body that did not validate (`invalid-workspace`).
    pub errors: Vec<wire::FieldError>,
}

impl ActionError {
    pub fn new(status: u16, code: impl Into<String>, message: impl Into<String>) -> ActionError {
        ActionError {
            status,
            code: code.into(),
            message: message.into(),
            remediation: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// 422 `invalid-workspace`: a workspace body that does not validate,
    /// with every field's problem.
    pub fn invalid_workspace(name: &str, errors: Vec<FieldError>) -> ActionError {
        let mut e = ActionError::new(
            422,
            "invalid-workspace",
            format!(
                "The settings of workspace `{name}` are not valid ({}); fix the fields listed in `errors` and send them again.",
                crate::config::workspace_body::summary(&errors)
            ),
        );
        e.errors = errors.into_iter().map(wire_field).collect();
        e
    }

    /// 409 `workspace-invalid`: a run-time workspace whose stored settings
    /// no longer validate (the config changed under it), so it does not run.
    pub fn workspace_invalid(name: &str, errors: &[FieldError]) -> ActionError {
        let mut e = ActionError::new(
            409,
            "workspace-invalid",
            format!(
                "Workspace `{name}` was created at run time, but its settings no longer validate ({}), so it does not run.",
                crate::config::workspace_body::summary(errors)
            ),
        )
        .with_steps(vec![
            format!("Send valid settings: `PUT /api/v1/workspaces/{name}` (`labwatch workspaces create {name} …`)."),
            format!("Or delete it: `labwatch workspaces delete {name}`."),
        ]);
        e.errors = errors.iter().cloned().map(wire_field).collect();
        e
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
            format!(
                "There is no workspace `{name}`; create it (`labwatch workspaces create {name}`, or PUT /api/v1/workspaces/{name}), or add a [[workspace]] with that name to the config."
            ),
        )
    }

    pub fn not_connected(name: &str) -> ActionError {
        ActionError::new(
            409,
            Reason::NotConnected.code(),
            format!("Workspace `{name}` is not connected; connect it first (`labwatch connect --workspace {name}`)."),
        )
    }

    /// 409 `account-mismatch`: one GitLab account per workspace. `current`
    /// is the account the workspace is connected to and `offered` the
    /// token's, each as `@user on URL`.
    pub fn account_mismatch(workspace: &str, current: &str, offered: &str) -> ActionError {
        ActionError::new(
            409,
            "account-mismatch",
            format!(
                "Workspace `{workspace}` is connected to {current}, but this token is {offered}; a workspace has one GitLab account."
            ),
        )
        .with_steps(vec![
            "To stay with the current account, use a token of that account.".to_owned(),
            format!(
                "To switch accounts, disconnect first (`labwatch disconnect --workspace {workspace}`; add `--revoke` to revoke the current token), then connect with the new token."
            ),
            format!(
                "Or switch in one step: `labwatch connect --workspace {workspace} --replace` (admin API: `\"replace\": true` in the connect body). The current token is not revoked then: revoke it in GitLab (Preferences → Access Tokens) if nothing else uses it."
            ),
        ])
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
            errors: Vec::new(),
        }
    }
}

fn wire_field(e: FieldError) -> wire::FieldError {
    wire::FieldError {
        field: e.field,
        message: e.message,
    }
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.code)
    }
}

impl std::error::Error for ActionError {}
