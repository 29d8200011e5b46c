//! What can go wrong talking to GitLab, told apart the way the checks need:
//! which token problem, which access problem, or which transport problem.

use std::time::Duration;

/// One failed GitLab call. Never carries the token.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GitlabError {
    /// 401 `invalid_token` "Token is expired".
    #[error("the token has expired (GitLab answered 401 invalid_token)")]
    TokenExpired,
    /// 401 `invalid_token` "Token was revoked".
    #[error("the token was revoked (GitLab answered 401 invalid_token)")]
    TokenRevoked,
    /// 401 without detail: unknown or mistyped token, or no token at all.
    #[error("GitLab does not accept the token (401 Unauthorized)")]
    TokenUnknown,
    /// The token holds a character no HTTP header may carry (a newline, a
    /// control character): found locally, nothing was sent. Never carries
    /// the token or the character's position in it.
    #[error("the token contains a character that cannot be sent (a newline?)")]
    TokenMalformed,
    /// No further authenticated calls until the token changes (`docs/checks.md`, "How labwatch treats GitLab");
    /// `cause` is the 401 that opened the breaker.
    #[error("authenticated calls are paused after an earlier 401: {cause}")]
    AuthPaused { cause: Box<GitlabError> },
    /// 403 `insufficient_scope`; `scope` lists the scopes the endpoint takes.
    #[error("the token lacks a scope this call needs (one of: {scope})")]
    InsufficientScope { scope: String },
    /// 400 "This endpoint requires token type to be a personal access token".
    #[error("the token is not a personal access token")]
    NotPersonalAccessToken,
    /// Any other 403: a blocked account, or an IP ban after failed logins.
    #[error("GitLab refused the request (403): {message}")]
    Forbidden { message: String },
    /// 404: not found *or* no access (GitLab does not tell them apart).
    #[error("not found or no access (404)")]
    NotFound,
    /// 301 for a project that moved (docs/gitlab.md §8); `location` is
    /// where GitLab points.
    #[error("moved permanently (301 Moved Permanently) to {location}")]
    Moved { location: String },
    /// Any other redirect (302, 303, 307, 308): labwatch follows none, so
    /// the token never leaves its instance. Named as its status says.
    #[error("{} to {location}", redirect_text(*status))]
    Redirected { status: u16, location: String },
    /// 400 with GitLab's message (validation errors and the like).
    #[error("GitLab rejected the request (400): {message}")]
    BadRequest { message: String },
    /// 429, or a pause GitLab asked for with one that is not over.
    #[error("rate limited by GitLab; retry in {}", humantime::format_duration(*retry_after))]
    RateLimited { retry_after: Duration },
    /// labwatch's own request budget (the workspace's `requests_per_second`
    /// or its instance's `[[instance]]` limits) would hold the request back
    /// longer than a call waits: it was not sent.
    #[error("held back by labwatch: {} request budget is spent for the next {}", .budget.owner(), humantime::format_duration(*wait))]
    OverBudget { budget: BudgetKind, wait: Duration },
    /// 5xx.
    #[error("GitLab answered {status} (server error)")]
    Server { status: u16 },
    /// Another status labwatch did not expect.
    #[error("GitLab answered an unexpected {status}")]
    Unexpected { status: u16 },
    /// The request never got an HTTP answer.
    #[error("{message}")]
    Transport { message: String },
    /// labwatch itself ran out of something (open files, memory, local
    /// ports) before the request could leave: nothing is known about GitLab.
    #[error("{message}")]
    LocalShortage { message: String },
    /// An answer that is not the JSON GitLab sends.
    #[error("GitLab's answer could not be read: {message}")]
    Decode { message: String },
    /// An answer that decoded but breaks a bound labwatch keeps
    /// ([`super::bounds`]): `field` is GitLab's name for it, `problem` says
    /// how and names the bound. Never quotes the value.
    #[error("GitLab's answer is refused: `{field}` {problem}")]
    Invalid { field: &'static str, problem: String },
}

/// "redirected (302 Found)", "moved permanently (308 Permanent Redirect)":
/// what the status says, so a temporary redirect is not called a move.
fn redirect_text(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Redirect");
    match status {
        301 | 308 => format!("moved permanently ({status} {reason})"),
        _ => format!("redirected ({status} {reason})"),
    }
}

impl GitlabError {
    /// True for errors that say the token itself is unusable; these open
    /// the auth breaker.
    pub fn is_auth_failure(&self) -> bool {
        matches!(
            self,
            GitlabError::TokenExpired | GitlabError::TokenRevoked | GitlabError::TokenUnknown
        )
    }

    /// The error behind an [`GitlabError::AuthPaused`], or itself.
    pub fn root(&self) -> &GitlabError {
        match self {
            GitlabError::AuthPaused { cause } => cause,
            other => other,
        }
    }

    /// A transport error as a sentence, walking the source chain so "error
    /// sending request" becomes "connection refused".
    pub fn transport(err: &reqwest::Error) -> GitlabError {
        if let Some(io) = io_root(err).filter(|io| is_local_shortage(io)) {
            return GitlabError::LocalShortage {
                message: format!("labwatch could not send the request to GitLab: {io}"),
            };
        }
        let message = if err.is_timeout() {
            "the request to GitLab timed out".to_owned()
        } else if err.is_connect() {
            "cannot connect to GitLab".to_owned()
        } else {
            "the request to GitLab failed".to_owned()
        };
        GitlabError::Transport {
            message: with_root_cause(message, err),
        }
    }

    /// The answer's status and headers arrived, then its body broke off
    /// (connection reset, timeout) after `received` bytes.
    pub fn broken_body(err: &reqwest::Error, received: usize) -> GitlabError {
        let message = if err.is_timeout() {
            format!("GitLab's answer timed out after {received} bytes of its body")
        } else {
            format!("GitLab's answer broke off after {received} bytes of its body")
        };
        GitlabError::Transport {
            message: with_root_cause(message, err),
        }
    }
}

/// Whether an io error is labwatch's own shortage rather than the network's
/// or GitLab's answer: no file descriptor (EMFILE, ENFILE), no buffer or
/// memory (ENOBUFS, ENOMEM), no free local port (EADDRNOTAVAIL).
pub fn is_local_shortage(error: &std::io::Error) -> bool {
    matches!(
        error.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM | libc::EADDRNOTAVAIL)
    )
}

/// The io error at the bottom of `err`'s source chain, if there is one.
fn io_root<'e>(err: &'e (dyn std::error::Error + 'static)) -> Option<&'e std::io::Error> {
    let mut source = err.source();
    let mut found = None;
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            found = Some(io);
        }
        source = s.source();
    }
    found
}

/// `message`, then the innermost cause of `err` (the io error that says
/// what happened: "Connection reset by peer").
fn with_root_cause(mut message: String, err: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(err);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    if let Some(detail) = last {
        message.push_str(": ");
        message.push_str(&detail);
    }
    message
}

/// Which of labwatch's budgets held a request back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetKind {
    /// The workspace's `requests_per_second`.
    Workspace,
    /// The instance's, shared by all its workspaces (`[[instance]]`).
    Instance,
}

impl BudgetKind {
    fn owner(self) -> &'static str {
        match self {
            BudgetKind::Workspace => "the workspace's (requests_per_second)",
            BudgetKind::Instance => "the instance's ([[instance]], shared by all its workspaces)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// How hyper wraps the socket's error under reqwest's.
    #[derive(Debug, thiserror::Error)]
    #[error("client error (Connect)")]
    struct Wrapped(#[source] std::io::Error);

    #[test]
    fn a_shortage_of_labwatchs_own_is_found_under_the_wrapping() {
        for errno in [libc::EMFILE, libc::ENFILE, libc::EADDRNOTAVAIL] {
            let err = Wrapped(std::io::Error::from_raw_os_error(errno));
            assert!(io_root(&err).is_some_and(is_local_shortage), "errno {errno}");
        }
        let refused = Wrapped(std::io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert!(!io_root(&refused).is_some_and(is_local_shortage));
    }
}
