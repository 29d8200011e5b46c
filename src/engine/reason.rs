//! The registry of built-in reason codes: each stable kebab-case code, what it
//! means, and the generic steps that fix it.
//!
//! Codes are part of the interface (status JSON, metrics labels, alert rules),
//! so they are listed here once, explicitly, and a test checks they are unique
//! and documented in the README. Remediation text may hold `{url}`, `{host}`,
//! `{port}`, `{workspace}`, `{command}` (a plugin's argv) and `{request}` (an
//! HTTP check's method and URL) placeholders that checks fill in with
//! [`Outcome::fill`](super::Outcome::fill).

/// Every built-in reason code. Plugins may report codes of their own; those
/// travel as plain strings in [`Outcome::reason`](super::Outcome::reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reason {
    // any check
    Ok,
    Pending,
    Blocked,
    CheckTimeout,
    CheckCrashed,
    PluginError,
    // instance
    DnsNxdomain,
    DnsTimeout,
    DnsFailure,
    TcpRefused,
    TcpTimeout,
    TlsCertExpired,
    TlsCertUntrusted,
    TlsHostnameMismatch,
    TlsCertExpiring,
    TlsFailure,
    HttpTimeout,
    HttpServerError,
    NotGitlab,
    InstanceUrlInvalid,
    // token
    NotConnected,
    TokenInvalid,
    TokenExpired,
    TokenRevoked,
    TokenExpiring,
    NotPersonalAccessToken,
    AccountBlocked,
    AccessForbidden,
    RateLimited,
    AuthPaused,
    RequestFailed,
    GitlabAnswerInvalid,
    // scopes
    ScopesMissing,
    // repository
    RepoNotFoundOrNoAccess,
    RepoOnOtherInstance,
    RepoMoved,
    RepoArchived,
    RepoAccessInsufficient,
    RepoCloneDenied,
    RepoDisabled,
    // plugins and HTTP checks
    PluginWarning,
    PluginCritical,
    PluginUnknown,
    HttpCheckFailed,
    HttpCheckUnreachable,
    // renewal
    RenewalFailed,
    RenewalImpossible,
    TokenLostInRotation,
    StoreUnreadable,
}

impl Reason {
    /// Every code, in the order the README lists them.
    pub const ALL: &'static [Reason] = &[
        Reason::Ok,
        Reason::Pending,
        Reason::Blocked,
        Reason::CheckTimeout,
        Reason::CheckCrashed,
        Reason::PluginError,
        Reason::DnsNxdomain,
        Reason::DnsTimeout,
        Reason::DnsFailure,
        Reason::TcpRefused,
        Reason::TcpTimeout,
        Reason::TlsCertExpired,
        Reason::TlsCertUntrusted,
        Reason::TlsHostnameMismatch,
        Reason::TlsCertExpiring,
        Reason::TlsFailure,
        Reason::HttpTimeout,
        Reason::HttpServerError,
        Reason::NotGitlab,
        Reason::InstanceUrlInvalid,
        Reason::NotConnected,
        Reason::TokenInvalid,
        Reason::TokenExpired,
        Reason::TokenRevoked,
        Reason::TokenExpiring,
        Reason::NotPersonalAccessToken,
        Reason::AccountBlocked,
        Reason::AccessForbidden,
        Reason::RateLimited,
        Reason::AuthPaused,
        Reason::RequestFailed,
        Reason::GitlabAnswerInvalid,
        Reason::ScopesMissing,
        Reason::RepoNotFoundOrNoAccess,
        Reason::RepoOnOtherInstance,
        Reason::RepoMoved,
        Reason::RepoArchived,
        Reason::RepoAccessInsufficient,
        Reason::RepoCloneDenied,
        Reason::RepoDisabled,
        Reason::PluginWarning,
        Reason::PluginCritical,
        Reason::PluginUnknown,
        Reason::HttpCheckFailed,
        Reason::HttpCheckUnreachable,
        Reason::RenewalFailed,
        Reason::RenewalImpossible,
        Reason::TokenLostInRotation,
        Reason::StoreUnreadable,
    ];

    pub fn code(self) -> &'static str {
        self.entry().0
    }

    /// Which check reports it ("any" for engine-level codes).
    pub fn check(self) -> &'static str {
        self.entry().1
    }

    /// One sentence: what the code means.
    pub fn meaning(self) -> &'static str {
        self.entry().2
    }

    /// The generic steps that fix it, for a person.
    pub fn remediation(self) -> &'static [&'static str] {
        self.entry().3
    }

    /// The engine's own codes: a plugin may not report them, since they
    /// mean something about the run itself (not run yet, not run because of
    /// a dependency, crashed).
    pub fn engine_only(self) -> bool {
        matches!(self, Reason::Pending | Reason::Blocked | Reason::CheckCrashed)
    }

    /// Reasons that may be critical while the checked thing still works:
    /// they warn about what is coming, so dependents keep running.
    pub fn still_works(self) -> bool {
        matches!(self, Reason::TokenExpiring | Reason::TlsCertExpiring)
    }

    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL.iter().copied().find(|r| r.code() == code)
    }

    fn entry(self) -> (&'static str, &'static str, &'static str, &'static [&'static str]) {
        match self {
            Reason::Ok => ("ok", "any", "The check passed.", &[]),
            Reason::Pending => (
                "pending",
                "any",
                "The check has not run yet: the daemon just started or its configuration was reloaded.",
                &["Wait for the first round to finish (`/readyz` turns 200)."],
            ),
            Reason::Blocked => (
                "blocked",
                "any",
                "Not run because a check it depends on is failing; `blocked_by` names the root cause.",
                &["Fix the check named in `blocked_by` first; this one runs again as soon as that one passes."],
            ),
            Reason::CheckTimeout => (
                "check-timeout",
                "any",
                "The check did not finish within its timeout and was cancelled.",
                &[
                    "Check whether GitLab at {url} is slow or overloaded (try it in a browser).",
                    "If the instance is just slow, raise `timeout` for workspace `{workspace}` in the config.",
                ],
            ),
            Reason::CheckCrashed => (
                "check-crashed",
                "any",
                "The check stopped unexpectedly (a bug in labwatch); the daemon kept running.",
                &[
                    "Look for the panic message in labwatch's log and report it with the labwatch version.",
                    "The check runs again at its next interval.",
                ],
            ),
            Reason::PluginError => (
                "plugin-error",
                "any",
                "An external check could not be run or broke its protocol.",
                &[
                    "Run the plugin by hand and look at its output and exit code: `{command}` (labwatch runs it with only PATH and LABWATCH_* set).",
                    "It must exit 0-3 and print a summary line (Nagios plugin API) or a JSON object with \"labwatch\": 1.",
                ],
            ),
            Reason::PluginWarning => (
                "plugin-warning",
                "plugin",
                "An external check exited 1 (WARNING) without a reason code of its own; its summary says what is wrong.",
                &[
                    "Read the plugin's summary and details, then fix what they name.",
                    "Run it by hand to see its whole output: `{command}` (with LABWATCH_WORKSPACE={workspace}).",
                ],
            ),
            Reason::PluginCritical => (
                "plugin-critical",
                "plugin",
                "An external check exited 2 (CRITICAL) without a reason code of its own; its summary says what is wrong.",
                &[
                    "Read the plugin's summary and details, then fix what they name.",
                    "Run it by hand to see its whole output: `{command}` (with LABWATCH_WORKSPACE={workspace}).",
                ],
            ),
            Reason::PluginUnknown => (
                "plugin-unknown",
                "plugin",
                "An external check exited 3 (UNKNOWN): it could not tell, usually because of bad arguments or something missing on this machine.",
                &[
                    "Run it by hand and read what it prints: `{command}` (with LABWATCH_WORKSPACE={workspace}).",
                    "Check its arguments in the `[[plugin]]` table and the tools it needs (it runs with a cleared environment: only PATH and LABWATCH_* are set).",
                ],
            ),
            Reason::HttpCheckFailed => (
                "http-check-failed",
                "http_check",
                "A declarative HTTP check got an answer, but one or more of its conditions failed; the summary names each with the value it got.",
                &[
                    "Open {request} yourself and compare the answer with the failing conditions.",
                    "If the service changed on purpose, update the `conditions` of this `[[http_check]]`.",
                ],
            ),
            Reason::HttpCheckUnreachable => (
                "http-check-unreachable",
                "http_check",
                "A declarative HTTP check got no answer: the name did not resolve, the connection was refused or reset, TLS failed, or nothing came back in time.",
                &[
                    "Check that {request} is reachable from this machine (curl it from here).",
                    "If it is only slow, raise `timeout` of this `[[http_check]]`.",
                ],
            ),
            Reason::DnsNxdomain => (
                "dns-nxdomain",
                "instance",
                "The instance host name does not exist in DNS.",
                &[
                    "Verify your instance URL {url}: is the host name `{host}` spelt correctly?",
                    "If it is an internal host, check that this machine uses the DNS servers that know it (or set `nameservers` for workspace `{workspace}`).",
                ],
            ),
            Reason::DnsTimeout => (
                "dns-timeout",
                "instance",
                "No DNS server answered for the instance host in time.",
                &[
                    "Check that this machine can reach its DNS servers (or the `nameservers` configured for workspace `{workspace}`).",
                    "Check that your network or firewall allows DNS traffic (UDP and TCP port 53).",
                ],
            ),
            Reason::DnsFailure => (
                "dns-failure",
                "instance",
                "DNS answered with an error, or with no address for the instance host.",
                &[
                    "Verify your instance URL {url}: does `{host}` have an A or AAAA record?",
                    "Ask whoever runs your DNS whether the server is failing (SERVFAIL or REFUSED).",
                ],
            ),
            Reason::TcpRefused => (
                "tcp-refused",
                "instance",
                "The instance host refused the connection (nothing listens on that port), or the network rejected it (no route to host).",
                &[
                    "Verify your instance URL {url}: are the host and port ({port}) right?",
                    "Check that GitLab is running on `{host}` and listening on port {port}.",
                    "Check that your network allows connections to GitLab (firewall, proxy, VPN).",
                ],
            ),
            Reason::TcpTimeout => (
                "tcp-timeout",
                "instance",
                "Connecting to the instance host timed out: packets are dropped on the way.",
                &[
                    "Check that your network allows connections to GitLab at `{host}` port {port} (firewall, VPN, security groups).",
                    "Verify your instance URL {url}: a wrong port often looks like this.",
                ],
            ),
            Reason::TlsCertExpired => (
                "tls-cert-expired",
                "instance",
                "The instance's TLS certificate has expired.",
                &[
                    "Tell the GitLab administrator: the certificate of `{host}` must be renewed.",
                    "Do not work around it by turning off verification; connections would no longer be safe.",
                ],
            ),
            Reason::TlsCertUntrusted => (
                "tls-cert-untrusted",
                "instance",
                "The instance's TLS certificate is not signed by a trusted certificate authority.",
                &[
                    "If `{host}` uses an internal CA, set `ca_file` for workspace `{workspace}` to that CA's PEM file.",
                    "Otherwise the connection may be intercepted (proxy, captive portal): check your network.",
                ],
            ),
            Reason::TlsHostnameMismatch => (
                "tls-hostname-mismatch",
                "instance",
                "The instance's TLS certificate is for a different host name.",
                &[
                    "Verify your instance URL {url}: use the host name the certificate was issued for.",
                    "If the URL is right, the GitLab administrator must install a certificate that covers `{host}`.",
                ],
            ),
            Reason::TlsCertExpiring => (
                "tls-cert-expiring",
                "instance",
                "The instance's TLS certificate expires soon.",
                &["Tell the GitLab administrator that the certificate of `{host}` must be renewed before it expires."],
            ),
            Reason::TlsFailure => (
                "tls-failure",
                "instance",
                "The TLS handshake with the instance failed.",
                &[
                    "Verify your instance URL {url}: if the server speaks plain HTTP on port {port}, use http:// instead of https://.",
                    "Check that no proxy or middlebox on your network interferes with TLS to `{host}`.",
                ],
            ),
            Reason::HttpTimeout => (
                "http-timeout",
                "instance",
                "The instance accepted the connection but did not answer the HTTP request in time.",
                &[
                    "Check whether GitLab at {url} is overloaded or still starting (try it in a browser).",
                    "If the instance is just slow, raise `timeout` for workspace `{workspace}` in the config.",
                ],
            ),
            Reason::HttpServerError => (
                "http-server-error",
                "instance",
                "The instance answered with a server error (5xx), or dropped the connection without answering.",
                &[
                    "GitLab or a proxy in front of it is failing: check GitLab's status page or ask its administrator.",
                    "If a proxy answers (502/504), check that GitLab behind it is running.",
                ],
            ),
            Reason::NotGitlab => (
                "not-gitlab",
                "instance",
                "Something answered at the instance URL, but it is not GitLab's API.",
                &[
                    "Verify your instance URL {url}: it must be the GitLab root (for example https://gitlab.example.com), without /api/v4 or a project path.",
                    "If GitLab is served under a sub-path, include it (for example https://example.com/gitlab).",
                ],
            ),
            Reason::InstanceUrlInvalid => (
                "instance-url-invalid",
                "instance",
                "The instance URL cannot be used: it must be an http(s) URL with a host.",
                &[
                    "Set `instance_url` for workspace `{workspace}` to the address of your GitLab, for example https://gitlab.com.",
                ],
            ),
            Reason::NotConnected => (
                "not-connected",
                "token",
                "The workspace has no GitLab token, so nothing beyond the instance can be checked.",
                &[
                    "Create a personal access token in GitLab: Preferences → Access Tokens → Add new token, with the scopes this workspace needs.",
                    "Put it in a file readable only by labwatch and set `token_file` for workspace `{workspace}` to that file, then reload labwatch (SIGHUP).",
                ],
            ),
            Reason::TokenInvalid => (
                "token-invalid",
                "token",
                "GitLab does not know the token (401 Unauthorized): it is mistyped, was deleted, or belongs to another instance.",
                &[
                    "Check that the token was copied whole (personal access tokens start with `glpat-`) and belongs to {url}.",
                    "If in doubt, create a new token in GitLab (Preferences → Access Tokens) and replace the old one.",
                ],
            ),
            Reason::TokenExpired => (
                "token-expired",
                "token",
                "The token has expired; GitLab rejects it from 00:00 UTC on its expiry date.",
                &[
                    "Create a new personal access token in GitLab (Preferences → Access Tokens) with the same scopes; an expired token cannot be renewed.",
                    "Replace the token of workspace `{workspace}` with the new one.",
                ],
            ),
            Reason::TokenRevoked => (
                "token-revoked",
                "token",
                "The token was revoked in GitLab (by a person, an administrator, or a rotation that replaced it).",
                &[
                    "Create a new personal access token in GitLab (Preferences → Access Tokens) with the same scopes.",
                    "Replace the token of workspace `{workspace}` with the new one.",
                    "If nobody revoked it on purpose, check GitLab's audit events: a leaked token may have been revoked automatically.",
                ],
            ),
            Reason::TokenExpiring => (
                "token-expiring",
                "token",
                "The token expires soon: it is due for renewal (a warning), or about to stop working (critical).",
                &[
                    "Renew the token before it expires: rotate it in GitLab (Preferences → Access Tokens → Rotate), or create a new one with the same scopes.",
                    "Replace the token of workspace `{workspace}` with the new one.",
                ],
            ),
            Reason::NotPersonalAccessToken => (
                "not-personal-access-token",
                "token",
                "The token is not a personal access token (for example an OAuth token), which labwatch cannot inspect or renew.",
                &["Create a personal access token in GitLab (Preferences → Access Tokens) and use it instead."],
            ),
            Reason::AccountBlocked => (
                "account-blocked",
                "token",
                "The GitLab account behind the token is blocked or deactivated.",
                &[
                    "Ask a GitLab administrator of {url} to unblock or reactivate the account, or connect the workspace with another account's token.",
                ],
            ),
            Reason::AccessForbidden => (
                "access-forbidden",
                "token",
                "GitLab refused the request (403) without naming a scope: an IP ban after many failed sign-ins, or an administrator policy.",
                &[
                    "Wait for a ban to expire (GitLab.com bans for 15 minutes) and make sure no other tool on this host uses a wrong token.",
                    "If it persists, ask the GitLab administrator of {url} whether this host or account is restricted.",
                ],
            ),
            Reason::RateLimited => (
                "rate-limited",
                "token",
                "GitLab is rate limiting labwatch's requests; the check will try again after the time GitLab asked for.",
                &[
                    "Lower `requests_per_second` or raise `interval` for workspace `{workspace}` if this keeps happening.",
                ],
            ),
            Reason::AuthPaused => (
                "auth-paused",
                "token",
                "labwatch stopped sending the token after GitLab rejected it (401), so the host does not get banned for failed sign-ins; it resumes when the token changes.",
                &[
                    "Replace the token of workspace `{workspace}` with a valid one; checks resume on their own once it changes.",
                ],
            ),
            Reason::RequestFailed => (
                "request-failed",
                "any",
                "A request to GitLab failed: no answer, an answer that broke off (connection reset, timeout), or a server error.",
                &[
                    "Check whether GitLab at {url} is overloaded or restarting; the check retries at its next interval.",
                    "If it keeps failing, check proxies or firewalls between labwatch and GitLab.",
                ],
            ),
            Reason::GitlabAnswerInvalid => (
                "gitlab-answer-invalid",
                "any",
                "GitLab answered with something labwatch could not read.",
                &[
                    "Verify your instance URL {url}: a proxy or another application may answer instead of GitLab.",
                    "If the URL is right, report the labwatch version and the GitLab version: the answer format may have changed.",
                ],
            ),
            Reason::ScopesMissing => (
                "scopes-missing",
                "scopes",
                "The token lacks scopes this workspace needs.",
                &[
                    "GitLab cannot add scopes to an existing token: create a new personal access token (Preferences → Access Tokens) with the missing scopes and the ones it has.",
                    "Replace the token of workspace `{workspace}` with the new one.",
                ],
            ),
            Reason::RepoNotFoundOrNoAccess => (
                "repo-not-found-or-no-access",
                "repository",
                "GitLab answered 404: the project does not exist, or the token's user cannot see it (GitLab never says which).",
                &[
                    "Check the project path for typos (compare with the URL in your browser).",
                    "Check that the user behind the token is a member of the project (at least Reporter to clone a private project).",
                    "Check that the project lives on {url} and not on another GitLab instance.",
                ],
            ),
            Reason::RepoOnOtherInstance => (
                "repo-on-other-instance",
                "repository",
                "The repository URL points to another host than the workspace's GitLab instance.",
                &[
                    "Watch it from a workspace connected to that instance, or use the path on {url} if the project was copied there.",
                ],
            ),
            Reason::RepoMoved => (
                "repo-moved",
                "repository",
                "The project was renamed or moved; GitLab still redirects the old path, but the redirect ends when someone reuses it.",
                &["Update the watched repository (and your Git remotes) to the new path."],
            ),
            Reason::RepoArchived => (
                "repo-archived",
                "repository",
                "The project is archived: it is read-only and can no longer be pushed to.",
                &["Ask a project owner to unarchive it (Settings → General → Advanced), or stop watching it."],
            ),
            Reason::RepoAccessInsufficient => (
                "repo-access-insufficient",
                "repository",
                "The token's user is a member of the project, but with a lower role than this workspace requires.",
                &[
                    "Ask a project maintainer to raise the user's role (Manage → Members), or lower `min_access_level` for workspace `{workspace}`.",
                ],
            ),
            Reason::RepoCloneDenied => (
                "repo-clone-denied",
                "repository",
                "The API can see the project, but Git over HTTPS refuses to clone it with this token.",
                &[
                    "Check that the token has the `read_repository` (or `api`) scope.",
                    "Check that the user's role may download code (Guests cannot on private projects).",
                ],
            ),
            Reason::RenewalFailed => (
                "renewal-failed",
                "token",
                "GitLab refused to rotate the token; the current token still works.",
                &[
                    "Read GitLab's message above: an `expires_at` beyond the instance's maximum lifetime is the usual cause.",
                    "Retry the rotation, or create a new token by hand and update the token of workspace `{workspace}`.",
                ],
            ),
            Reason::RenewalImpossible => (
                "renewal-impossible",
                "token",
                "The token cannot be rotated through the API: it is expired or revoked, lacks the `api` or `self_rotate` scope, or GitLab is older than 16.10.",
                &[
                    "Create a new personal access token in GitLab (Preferences → Access Tokens) with the scopes the workspace needs (add `self_rotate` so labwatch can rotate it next time).",
                    "Update the token of workspace `{workspace}`: `labwatch renew --workspace {workspace}`.",
                ],
            ),
            Reason::TokenLostInRotation => (
                "token-lost-in-rotation",
                "token",
                "A rotation was interrupted after GitLab revoked the old token, and labwatch never stored the new one.",
                &[
                    "In GitLab (Preferences → Access Tokens) revoke the token that the interrupted rotation created (same name, created at the time of the rotation).",
                    "Create a new token and update workspace `{workspace}`: `labwatch renew --workspace {workspace}`.",
                ],
            ),
            Reason::StoreUnreadable => (
                "store-unreadable",
                "token",
                "The stored connection cannot be decrypted or read: a different store key, or a damaged or tampered file.",
                &[
                    "Restore the store key that wrote it (`key_file` or LABWATCH_STORE_KEY); labwatch never overwrites the file.",
                    "If the key is lost, remove the workspace's file from the store directory and connect the workspace again.",
                ],
            ),
            Reason::RepoDisabled => (
                "repo-disabled",
                "repository",
                "The project's repository feature is disabled, so there is no Git repository to clone.",
                &[
                    "Ask a project owner to enable Repository under Settings → General → Visibility, project features, permissions.",
                ],
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_kebab_case_and_round_trip() {
        let mut seen = HashSet::new();
        for reason in Reason::ALL {
            let code = reason.code();
            assert!(seen.insert(code), "duplicate reason code {code}");
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{code} is not kebab-case"
            );
            assert_eq!(Reason::from_code(code), Some(*reason));
            assert!(!reason.meaning().is_empty());
        }
    }

    #[test]
    fn every_failure_code_carries_remediation() {
        for reason in Reason::ALL {
            if *reason != Reason::Ok {
                assert!(!reason.remediation().is_empty(), "{} has no remediation", reason.code());
            }
        }
    }
}
