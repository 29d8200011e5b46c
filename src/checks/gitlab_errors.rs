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
        GitlabError::TokenMalformed => (Status::Critical, Reason::TokenMalformed),
        GitlabError::NotPersonalAccessToken => (Status::Critical, Reason::NotPersonalAccessToken),
        GitlabError::InsufficientScope { .. } => (Status::Critical, Reason::ScopesMissing),
        GitlabError::Forbidden { message } if mentions_blocked(message) => (Status::Critical, Reason::AccountBlocked),
        GitlabError::Forbidden { .. } => (Status::Critical, Reason::AccessForbidden),
        GitlabError::RateLimited { .. } | GitlabError::OverBudget { .. } => (Status::Warning, Reason::RateLimited),
        GitlabError::Server { .. } | GitlabError::Transport { .. } => (Status::Unknown, Reason::RequestFailed),
        // Never "GitLab could not be reached": it was never tried.
        GitlabError::LocalShortage { .. } => (Status::Unknown, Reason::LocalResourceExhausted),
        GitlabError::NotFound
        | GitlabError::Moved { .. }
        | GitlabError::Redirected { .. }
        | GitlabError::Invalid { .. }
        | GitlabError::BadRequest { .. }
        | GitlabError::Unexpected { .. }
        | GitlabError::Decode { .. }
        | GitlabError::AuthPaused { .. } => (Status::Unknown, Reason::GitlabAnswerInvalid),
    };
    if let GitlabError::AuthPaused { cause } = err {
        // The reason stays `auth-paused` (one alert survives `token-invalid`
        // turning into it); the 401 that paused it is named first, and its
        // code is in the details ([`pause_cause`] gives the token check its
        // steps).
        let summary = format!(
            "GitLab rejected the token earlier: {cause}. labwatch does not send it again until the token changes."
        );
        let outcome = Outcome::new(Status::Critical, Reason::AuthPaused, summary);
        return match pause_cause(err) {
            Some(c) => outcome.with_detail(format!("Paused by `{}`: {}", c.code(), c.meaning())),
            None => outcome,
        };
    }
    Outcome::new(status, reason, summary(err, what))
}

/// The reason of the 401 that paused authenticated calls, for an
/// [`GitlabError::AuthPaused`]: `token-expired`, `token-revoked` or
/// `token-invalid`; `None` for any other error.
pub fn pause_cause(err: &GitlabError) -> Option<Reason> {
    let GitlabError::AuthPaused { cause } = err else {
        return None;
    };
    match **cause {
        GitlabError::TokenExpired => Some(Reason::TokenExpired),
        GitlabError::TokenRevoked => Some(Reason::TokenRevoked),
        _ => Some(Reason::TokenInvalid),
    }
}

/// "GitLab refused" only when GitLab said no; a broken connection, an
/// unreadable answer, a redirect or a token that was never sent is not a
/// refusal.
fn summary(err: &GitlabError, what: &str) -> String {
    match err {
        GitlabError::LocalShortage { .. } => {
            format!("Not reading {what} from GitLab: {err}. This is labwatch's own shortage, not GitLab's.")
        }
        GitlabError::OverBudget { .. } => {
            format!("Not reading {what} from GitLab: {err}. GitLab did not refuse anything; the next round asks again.")
        }
        GitlabError::Server { .. } | GitlabError::Transport { .. } | GitlabError::Decode { .. } => {
            format!("Reading {what} from GitLab failed: {err}.")
        }
        GitlabError::Invalid { .. } => format!("Reading {what} from GitLab failed: {err}."),
        GitlabError::Moved { .. } | GitlabError::Redirected { .. } => {
            format!("GitLab's answer for {what} was {err}; labwatch follows no redirects.")
        }
        GitlabError::TokenMalformed => {
            format!("Not calling GitLab for {what}: {err}; check the token file (the token was not sent).")
        }
        // A fresh verdict every round while the pause lasts, saying until
        // when: never the last good result again (docs/checks.md).
        GitlabError::RateLimited { retry_after } => {
            format!(
                "GitLab refused {what}: {err}; GitLab asked to wait until {}.",
                until(*retry_after)
            )
        }
        _ => format!("GitLab refused {what}: {err}."),
    }
}

/// The moment `retry_after` from now, as `/status` writes times: what a
/// `rate-limited` summary says, whichever check got the 429.
pub(crate) fn until(retry_after: std::time::Duration) -> String {
    time::OffsetDateTime::now_utc()
        .checked_add(time::Duration::try_from(retry_after).unwrap_or(time::Duration::ZERO))
        .map_or_else(|| "later".to_owned(), crate::report::rfc3339)
}

fn mentions_blocked(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("blocked") || m.contains("deactivated") || m.contains("banned")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labwatchs_own_shortage_is_never_called_gitlabs() {
        let err = GitlabError::LocalShortage {
            message: "labwatch could not send the request to GitLab: Too many open files (os error 24)".into(),
        };
        let outcome = outcome(&err, "the token");
        assert_eq!(
            (outcome.status, outcome.reason),
            (Status::Unknown, Reason::LocalResourceExhausted.code().into())
        );
        assert!(outcome.summary.contains("not GitLab's"), "{}", outcome.summary);
        assert!(!outcome.summary.contains("GitLab refused"), "{}", outcome.summary);
    }
}
