//! Turning a [`GitlabError`] from any check's GitLab call into the outcome a
//! person needs: the right reason code, status and remediation.

use crate::engine::{Outcome, Reason, Status};
use crate::gitlab::GitlabError;

/// The outcome for a failed call; `what` names the call for the summary
/// ("reading the token", "listing projects").
pub fn outcome(err: &GitlabError, what: &str) -> Outcome {
    let (status, reason) = match err.root() {
        GitlabError::TokenExpired => (Status::Critical, Reason::TokenExpired),
        GitlabError::TokenRevoked => (Status::Critical, Reason::TokenRevoked),
        GitlabError::TokenUnknown => (Status::Critical, Reason::TokenInvalid),
        GitlabError::NotPersonalAccessToken => (Status::Critical, Reason::NotPersonalAccessToken),
        GitlabError::InsufficientScope { .. } => (Status::Critical, Reason::ScopesMissing),
        GitlabError::Forbidden { message } if mentions_blocked(message) => (Status::Critical, Reason::AccountBlocked),
        GitlabError::Forbidden { .. } => (Status::Critical, Reason::AccessForbidden),
        GitlabError::RateLimited { .. } => (Status::Warning, Reason::RateLimited),
        GitlabError::Server { .. } | GitlabError::Transport { .. } => (Status::Unknown, Reason::RequestFailed),
        GitlabError::NotFound
        | GitlabError::Moved { .. }
        | GitlabError::BadRequest { .. }
        | GitlabError::Unexpected { .. }
        | GitlabError::Decode { .. }
        | GitlabError::AuthPaused { .. } => (Status::Unknown, Reason::GitlabAnswerInvalid),
    };
    if let GitlabError::AuthPaused { cause } = err {
        let summary = format!("Not calling GitLab: it rejected the token earlier ({cause}).");
        return Outcome::new(Status::Critical, Reason::AuthPaused, summary);
    }
    Outcome::new(status, reason, summary(err, what))
}

/// "GitLab refused" only when GitLab said no; a broken connection or an
/// unreadable answer is not a refusal.
fn summary(err: &GitlabError, what: &str) -> String {
    match err {
        GitlabError::Server { .. } | GitlabError::Transport { .. } | GitlabError::Decode { .. } => {
            format!("Reading {what} from GitLab failed: {err}.")
        }
        _ => format!("GitLab refused {what}: {err}."),
    }
}

fn mentions_blocked(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("blocked") || m.contains("deactivated") || m.contains("banned")
}
