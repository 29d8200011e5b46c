//! The registry of built-in reason codes: each stable kebab-case code, what it
//! means, and the generic steps that fix it.
//!
//! Codes are part of the interface (status JSON, metrics labels, alert rules),
//! so they are listed here once, explicitly, and a test checks they are unique
//! and documented in `docs/checks.md`. Remediation text may hold `{url}`, `{host}`,
//! `{port}`, `{workspace}`, `{command}` (a plugin's argv) and `{request}` (an
//! HTTP check's method and URL) placeholders that checks fill in with
//! [`Outcome::fill`](super::Outcome::fill).

/// Defines [`Reason`], [`Reason::ALL`] and each code's entry from one list,
/// so a code cannot exist without its check, meaning and remediation, nor be
/// left out of `ALL` (the order of `ALL` is the order of the list).
macro_rules! reasons {
    ($(
        $(#[$attr:meta])*
        $variant:ident {
            code: $code:literal,
            check: $check:literal,
            meaning: $meaning:literal,
            remediation: [$($step:literal),* $(,)?] $(,)?
        }
    )*) => {
        /// Every built-in reason code. Plugins may report codes of their own; those
        /// travel as plain strings in [`Outcome::reason`](super::Outcome::reason).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Reason {
            $($(#[$attr])* $variant,)*
        }

        impl Reason {
            /// Every code, in the order the docs list them.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)*];

            fn entry(self) -> Entry {
                match self {
                    $(Reason::$variant => Entry {
                        code: $code,
                        check: $check,
                        meaning: $meaning,
                        remediation: &[$($step),*],
                    },)*
                }
            }
        }
    };
}

/// What the registry says about one code.
struct Entry {
    code: &'static str,
    /// Which check reports it ("any" for engine-level codes).
    check: &'static str,
    meaning: &'static str,
    remediation: &'static [&'static str],
}

impl Reason {
    pub fn code(self) -> &'static str {
        self.entry().code
    }

    /// Which check reports it ("any" for engine-level codes).
    pub fn check(self) -> &'static str {
        self.entry().check
    }

    /// One sentence: what the code means.
    pub fn meaning(self) -> &'static str {
        self.entry().meaning
    }

    /// The generic steps that fix it, for a person.
    pub fn remediation(self) -> &'static [&'static str] {
        self.entry().remediation
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
}

reasons! {
    // any check
    Ok {
        code: "ok",
        check: "any",
        meaning: "The check passed.",
        remediation: [],
    }
    Pending {
        code: "pending",
        check: "any",
        meaning: "The check has not run yet: the daemon just started or its configuration was reloaded.",
        remediation: [
            "Wait for the first round to finish (`/readyz` turns 200).",
        ],
    }
    Blocked {
        code: "blocked",
        check: "any",
        meaning: "Not run because a check it depends on is failing; `blocked_by` names the root cause.",
        remediation: [
            "Fix the check named in `blocked_by` first; this one runs again as soon as that one passes.",
        ],
    }
    CheckTimeout {
        code: "check-timeout",
        check: "any",
        meaning: "The check did not finish within its timeout and was cancelled.",
        remediation: [
            "Check whether GitLab at {url} is slow or overloaded (try it in a browser).",
            "If the instance is just slow, raise `timeout` for workspace `{workspace}` in the config.",
        ],
    }
    CheckCrashed {
        code: "check-crashed",
        check: "any",
        meaning: "The check stopped unexpectedly (a bug in labwatch); the daemon kept running.",
        remediation: [
            "Look for the panic message in labwatch's log and report it with the labwatch version.",
            "The check runs again at its next interval.",
        ],
    }
    PluginError {
        code: "plugin-error",
        check: "any",
        meaning: "An external check could not be run or broke its protocol.",
        remediation: [
            "Run the plugin by hand and look at its output and exit code: `{command}` (labwatch runs it with only PATH and LABWATCH_* set).",
            "It must exit 0-3 and print a summary line (Nagios plugin API) or a JSON object with \"labwatch\": 1.",
        ],
    }
    // instance
    DnsNxdomain {
        code: "dns-nxdomain",
        check: "instance",
        meaning: "The instance host name does not exist in DNS.",
        remediation: [
            "Verify your instance URL {url}: is the host name `{host}` spelt correctly?",
            "If it is an internal host, check that this machine uses the DNS servers that know it (or set `nameservers` for workspace `{workspace}`).",
        ],
    }
    DnsTimeout {
        code: "dns-timeout",
        check: "instance",
        meaning: "No DNS server answered for the instance host in time.",
        remediation: [
            "Check that this machine can reach its DNS servers (or the `nameservers` configured for workspace `{workspace}`).",
            "Check that your network or firewall allows DNS traffic (UDP and TCP port 53).",
        ],
    }
    DnsFailure {
        code: "dns-failure",
        check: "instance",
        meaning: "DNS answered with an error, or with no address for the instance host.",
        remediation: [
            "Verify your instance URL {url}: does `{host}` have an A or AAAA record?",
            "Ask whoever runs your DNS whether the server is failing (SERVFAIL or REFUSED).",
        ],
    }
    TcpRefused {
        code: "tcp-refused",
        check: "instance",
        meaning: "The instance host refused the connection (nothing listens on that port), or the network rejected it (no route to host).",
        remediation: [
            "Verify your instance URL {url}: are the host and port ({port}) right?",
            "Check that GitLab is running on `{host}` and listening on port {port}.",
            "Check that your network allows connections to GitLab (firewall, proxy, VPN).",
        ],
    }
    TcpTimeout {
        code: "tcp-timeout",
        check: "instance",
        meaning: "Connecting to the instance host timed out: packets are dropped on the way.",
        remediation: [
            "Check that your network allows connections to GitLab at `{host}` port {port} (firewall, VPN, security groups).",
            "Verify your instance URL {url}: a wrong port often looks like this.",
        ],
    }
    LocalResourceExhausted {
        code: "local-resource-exhausted",
        check: "any",
        meaning: "labwatch itself ran out of open files, memory or local ports before it could reach GitLab: nothing is known about GitLab.",
        remediation: [
            "Raise labwatch's open-files limit (`LimitNOFILE=` in its systemd unit, `ulimit -n` in a shell); `labwatch run` lifts its soft limit to the hard one at start.",
            "See what holds labwatch's files: `ls /proc/<pid>/fd | wc -l` and `ss -tnp | grep labwatch`; many idle HTTP clients are cut off by its connection cap and timeouts.",
        ],
    }
    TlsCertExpired {
        code: "tls-cert-expired",
        check: "instance",
        meaning: "The instance's TLS certificate has expired.",
        remediation: [
            "Tell the GitLab administrator: the certificate of `{host}` must be renewed.",
            "Do not work around it by turning off verification; connections would no longer be safe.",
        ],
    }
    TlsCertUntrusted {
        code: "tls-cert-untrusted",
        check: "instance",
        meaning: "The instance's TLS certificate is not signed by a trusted certificate authority.",
        remediation: [
            "If `{host}` uses an internal CA, set `ca_file` for workspace `{workspace}` to that CA's PEM file.",
            "Otherwise the connection may be intercepted (proxy, captive portal): check your network.",
        ],
    }
    TlsHostnameMismatch {
        code: "tls-hostname-mismatch",
        check: "instance",
        meaning: "The instance's TLS certificate is for a different host name.",
        remediation: [
            "Verify your instance URL {url}: use the host name the certificate was issued for.",
            "If the URL is right, the GitLab administrator must install a certificate that covers `{host}`.",
        ],
    }
    TlsCertExpiring {
        code: "tls-cert-expiring",
        check: "instance",
        meaning: "The instance's TLS certificate expires soon.",
        remediation: [
            "Tell the GitLab administrator that the certificate of `{host}` must be renewed before it expires.",
        ],
    }
    TlsFailure {
        code: "tls-failure",
        check: "instance",
        meaning: "The TLS handshake with the instance failed.",
        remediation: [
            "Verify your instance URL {url}: if the server speaks plain HTTP on port {port}, use http:// instead of https://.",
            "Check that no proxy or middlebox on your network interferes with TLS to `{host}`.",
        ],
    }
    HttpTimeout {
        code: "http-timeout",
        check: "instance",
        meaning: "The instance accepted the connection but did not answer the HTTP request in time.",
        remediation: [
            "Check whether GitLab at {url} is overloaded or still starting (try it in a browser).",
            "If the instance is just slow, raise `timeout` for workspace `{workspace}` in the config.",
        ],
    }
    HttpServerError {
        code: "http-server-error",
        check: "instance",
        meaning: "The instance answered with a server error (5xx), or dropped the connection without answering.",
        remediation: [
            "GitLab or a proxy in front of it is failing: check GitLab's status page or ask its administrator.",
            "If a proxy answers (502/504), check that GitLab behind it is running.",
        ],
    }
    NotGitlab {
        code: "not-gitlab",
        check: "instance",
        meaning: "Something answered at the instance URL, but it is not GitLab's API.",
        remediation: [
            "Verify your instance URL {url}: it must be the GitLab root (for example https://gitlab.example.com), without /api/v4 or a project path.",
            "If GitLab is served under a sub-path, include it (for example https://example.com/gitlab).",
        ],
    }
    InstanceUrlInvalid {
        code: "instance-url-invalid",
        check: "instance",
        meaning: "The instance URL cannot be used: it must be an http(s) URL with a host.",
        remediation: [
            "Set `instance_url` for workspace `{workspace}` to the address of your GitLab, for example https://gitlab.com.",
        ],
    }
    // token
    NotConnected {
        code: "not-connected",
        check: "token",
        meaning: "The workspace has no GitLab token, so nothing beyond the instance can be checked.",
        remediation: [
            "Create a personal access token in GitLab: Preferences → Access Tokens → Add new token, with the scopes this workspace needs.",
            "With the admin API on, connect the workspace with it: `labwatch connect --workspace {workspace}` (docs/admin-api.md#connect). Without it, put it in a file readable only by labwatch, set `token_file` for workspace `{workspace}` to that file, then reload labwatch (SIGHUP).",
        ],
    }
    TokenInvalid {
        code: "token-invalid",
        check: "token",
        meaning: "GitLab does not know the token (401 Unauthorized): it is mistyped, was deleted, or belongs to another instance.",
        remediation: [
            "Check that the token was copied whole (personal access tokens start with `glpat-`) and belongs to {url}.",
            "If in doubt, create a new token in GitLab (Preferences → Access Tokens) and replace the old one.",
        ],
    }
    TokenMalformed {
        code: "token-malformed",
        check: "token",
        meaning: "The token contains a character that cannot be sent in an HTTP header (a newline, a control character); labwatch did not send it to GitLab.",
        remediation: [
            "Check the token file of workspace `{workspace}`: it must hold the token alone, on one line (a second line or a stray control character is part of the token).",
            "Copy the token again from GitLab (Preferences → Access Tokens) and save it without anything around it; if it was given to `labwatch connect`, connect again with it.",
        ],
    }
    TokenExpired {
        code: "token-expired",
        check: "token",
        meaning: "The token has expired; GitLab rejects it from 00:00 UTC on its expiry date.",
        remediation: [
            "Create a new personal access token in GitLab (Preferences → Access Tokens) with the same scopes; an expired token cannot be renewed.",
            "Hand the new token over: with the admin API on, `labwatch renew --workspace {workspace}` (`labwatch connect` when the dead token came from token_file); without it, put it in the token_file of workspace `{workspace}` and reload labwatch (SIGHUP).",
        ],
    }
    TokenRevoked {
        code: "token-revoked",
        check: "token",
        meaning: "The token was revoked in GitLab (by a person, an administrator, or a rotation that replaced it).",
        remediation: [
            "Create a new personal access token in GitLab (Preferences → Access Tokens) with the same scopes.",
            "Hand the new token over: with the admin API on, `labwatch renew --workspace {workspace}` (`labwatch connect` when the dead token came from token_file); without it, put it in the token_file of workspace `{workspace}` and reload labwatch (SIGHUP).",
            "If nobody revoked it on purpose, check GitLab's audit events: a leaked token may have been revoked automatically.",
        ],
    }
    TokenExpiring {
        code: "token-expiring",
        check: "token",
        meaning: "The token expires soon: it is due for renewal (a warning), or about to stop working (critical).",
        remediation: [
            "Renew the token before it expires: with the admin API on, `labwatch rotate --workspace {workspace}` rotates it (GitLab issues the new token, labwatch stores it); or create a new one with the same scopes in GitLab (Preferences → Access Tokens).",
            "Hand a new token over: with the admin API on, `labwatch renew --workspace {workspace}`; without it, put it in the token_file of workspace `{workspace}` and reload labwatch (SIGHUP).",
        ],
    }
    NotPersonalAccessToken {
        code: "not-personal-access-token",
        check: "token",
        meaning: "The token is not a personal access token (for example an OAuth token), which labwatch cannot inspect or renew.",
        remediation: [
            "Create a personal access token in GitLab (Preferences → Access Tokens) and use it instead.",
        ],
    }
    AccountBlocked {
        code: "account-blocked",
        check: "token",
        meaning: "The GitLab account behind the token is blocked or deactivated.",
        remediation: [
            "Ask a GitLab administrator of {url} to unblock or reactivate the account, or connect the workspace with another account's token.",
        ],
    }
    AccessForbidden {
        code: "access-forbidden",
        check: "token",
        meaning: "GitLab refused the request (403) without naming a scope: an IP ban after many failed sign-ins, or an administrator policy.",
        remediation: [
            "Wait for a ban to expire (GitLab.com bans for 15 minutes) and make sure no other tool on this host uses a wrong token.",
            "If it persists, ask the GitLab administrator of {url} whether this host or account is restricted.",
        ],
    }
    RateLimited {
        code: "rate-limited",
        check: "any",
        meaning: "GitLab is rate limiting labwatch's requests; the check will try again after the time GitLab asked for.",
        remediation: [
            "Lower `requests_per_second` or raise `interval` for workspace `{workspace}` if this keeps happening.",
        ],
    }
    AuthPaused {
        code: "auth-paused",
        check: "token",
        meaning: "labwatch stopped sending the token after GitLab rejected it (401), so the host does not get banned for failed sign-ins; it resumes when the token changes.",
        remediation: [
            "Replace the token of workspace `{workspace}` with a valid one; checks resume on their own once it changes.",
        ],
    }
    RequestFailed {
        code: "request-failed",
        check: "any",
        meaning: "A request to GitLab failed: no answer, an answer that broke off (connection reset, timeout), or a server error.",
        remediation: [
            "Check whether GitLab at {url} is overloaded or restarting; the check retries at its next interval.",
            "If it keeps failing, check proxies or firewalls between labwatch and GitLab.",
        ],
    }
    GitlabAnswerInvalid {
        code: "gitlab-answer-invalid",
        check: "any",
        meaning: "GitLab answered with something labwatch could not read.",
        remediation: [
            "Verify your instance URL {url}: a proxy or another application may answer instead of GitLab.",
            "If the URL is right, report the labwatch version and the GitLab version: the answer format may have changed.",
        ],
    }
    // scopes
    ScopesMissing {
        code: "scopes-missing",
        check: "scopes",
        meaning: "The token lacks scopes this workspace needs.",
        remediation: [
            "GitLab cannot add scopes to an existing token: create a new personal access token (Preferences → Access Tokens) with the missing scopes and the ones it has.",
            "Replace the token of workspace `{workspace}` with the new one.",
        ],
    }
    // repository
    RepoNotFoundOrNoAccess {
        code: "repo-not-found-or-no-access",
        check: "repository",
        meaning: "GitLab answered 404: the project does not exist, or the token's user cannot see it (GitLab never says which).",
        remediation: [
            "Check the project path for typos (compare with the URL in your browser).",
            "Check that the user behind the token is a member of the project (at least Reporter to clone a private project).",
            "Check that the project lives on {url} and not on another GitLab instance.",
        ],
    }
    RepoOnOtherInstance {
        code: "repo-on-other-instance",
        check: "repository",
        meaning: "The repository URL points to another host than the workspace's GitLab instance.",
        remediation: [
            "Watch it from a workspace connected to that instance, or use the path on {url} if the project was copied there.",
        ],
    }
    RepoMoved {
        code: "repo-moved",
        check: "repository",
        meaning: "The project was renamed or moved; GitLab still redirects the old path, but the redirect ends when someone reuses it.",
        remediation: [
            "Update the watched repository (and your Git remotes) to the new path.",
        ],
    }
    RepoArchived {
        code: "repo-archived",
        check: "repository",
        meaning: "The project is archived: it is read-only and can no longer be pushed to.",
        remediation: [
            "Ask a project owner to unarchive it (Settings → General → Advanced), or stop watching it.",
        ],
    }
    RepoAccessInsufficient {
        code: "repo-access-insufficient",
        check: "repository",
        meaning: "The token's user is a member of the project, but with a lower role than this workspace requires.",
        remediation: [
            "Ask a project maintainer to raise the user's role (Manage → Members), or lower `min_access_level` for workspace `{workspace}`.",
        ],
    }
    RepoCloneDenied {
        code: "repo-clone-denied",
        check: "repository",
        meaning: "The API can see the project, but Git over HTTPS refuses to clone it with this token.",
        remediation: [
            "Check that the token has the `read_repository` (or `api`) scope.",
            "Check that the user's role may download code (Guests cannot on private projects).",
        ],
    }
    RepoDisabled {
        code: "repo-disabled",
        check: "repository",
        meaning: "The project's repository feature is disabled, so there is no Git repository to clone.",
        remediation: [
            "Ask a project owner to enable Repository under Settings → General → Visibility, project features, permissions.",
        ],
    }
    RepoRoleTooLow {
        code: "repo-role-too-low",
        check: "repository",
        meaning: "A capability the workspace needs (`capabilities`) needs a higher role on the project than the token's user has, or the feature is for members only.",
        remediation: [
            "Ask a project maintainer for the role the summary names (Manage → Members), or remove the capability from `capabilities` of workspace `{workspace}`.",
        ],
    }
    RepoFeatureDisabled {
        code: "repo-feature-disabled",
        check: "repository",
        meaning: "A capability the workspace needs (`capabilities`) depends on a project feature (issues, merge requests, CI/CD) that is disabled in the project's settings.",
        remediation: [
            "Ask a project maintainer to enable the feature the summary names in Settings → General → Visibility, project features, permissions, or remove the capability from `capabilities` of workspace `{workspace}`.",
        ],
    }
    RepoScopeMissing {
        code: "repo-scope-missing",
        check: "repository",
        meaning: "A capability the workspace needs (`capabilities`) needs a token scope the token lacks (say `write_repository` to push, `api` to create merge requests).",
        remediation: [
            "GitLab cannot add scopes to an existing token: create a new personal access token (Preferences → Access Tokens) with the scope the summary names and the ones it has.",
            "Replace the token of workspace `{workspace}` with the new one.",
        ],
    }
    RepoPushDenied {
        code: "repo-push-denied",
        check: "repository",
        meaning: "The workspace needs `push`, and the project's default branch is protected by a rule that does not let the token's user push to it (GitLab's default protects it for Maintainers).",
        remediation: [
            "Ask a project maintainer to allow Developers + Maintainers to push to the default branch (Settings → Repository → Protected branches), or push to another branch and merge through a merge request.",
        ],
    }
    // plugins and HTTP checks
    PluginWarning {
        code: "plugin-warning",
        check: "plugin",
        meaning: "An external check exited 1 (WARNING) without a reason code of its own; its summary says what is wrong.",
        remediation: [
            "Read the plugin's summary and details, then fix what they name.",
            "Run it by hand to see its whole output: `{command}` (with LABWATCH_WORKSPACE={workspace}).",
        ],
    }
    PluginCritical {
        code: "plugin-critical",
        check: "plugin",
        meaning: "An external check exited 2 (CRITICAL) without a reason code of its own; its summary says what is wrong.",
        remediation: [
            "Read the plugin's summary and details, then fix what they name.",
            "Run it by hand to see its whole output: `{command}` (with LABWATCH_WORKSPACE={workspace}).",
        ],
    }
    PluginUnknown {
        code: "plugin-unknown",
        check: "plugin",
        meaning: "An external check exited 3 (UNKNOWN): it could not tell, usually because of bad arguments or something missing on this machine.",
        remediation: [
            "Run it by hand and read what it prints: `{command}` (with LABWATCH_WORKSPACE={workspace}).",
            "Check its arguments in the `[[plugin]]` table and the tools it needs (it runs with a cleared environment: only PATH and LABWATCH_* are set).",
        ],
    }
    HttpCheckFailed {
        code: "http-check-failed",
        check: "http_check",
        meaning: "A declarative HTTP check got an answer, but one or more of its conditions failed; the summary names each with the value it got.",
        remediation: [
            "Open {request} yourself and compare the answer with the failing conditions.",
            "If the service changed on purpose, update the `conditions` of this `[[http_check]]`.",
        ],
    }
    HttpCheckUnreachable {
        code: "http-check-unreachable",
        check: "http_check",
        meaning: "A declarative HTTP check got no answer: the name did not resolve, the connection was refused or reset, TLS failed, or nothing came back in time.",
        remediation: [
            "Check that {request} is reachable from this machine (curl it from here).",
            "If it is only slow, raise `timeout` of this `[[http_check]]`.",
        ],
    }
    // renewal and the store
    RenewalFailed {
        code: "renewal-failed",
        check: "token",
        meaning: "GitLab refused to rotate the token; the current token still works.",
        remediation: [
            "Read GitLab's message above: an `expires_at` beyond the instance's maximum lifetime is the usual cause.",
            "Retry the rotation of workspace `{workspace}`: `labwatch rotate --workspace {workspace}` (with `--expires-at YYYY-MM-DD` within the instance's limit).",
            "Or create a new token with the same scopes in GitLab (Preferences → Access Tokens) and hand it over: `labwatch renew --workspace {workspace}` reads it from stdin.",
        ],
    }
    RenewalImpossible {
        code: "renewal-impossible",
        check: "token",
        meaning: "The token cannot be rotated through the API: it is expired or revoked, lacks the `api` or `self_rotate` scope, or GitLab is older than 16.10.",
        remediation: [
            "Create a new personal access token in GitLab (Preferences → Access Tokens) with the scopes the workspace needs (add `self_rotate` so labwatch can rotate it next time).",
            "Update the token of workspace `{workspace}`: `labwatch renew --workspace {workspace}`.",
        ],
    }
    TokenLostInRotation {
        code: "token-lost-in-rotation",
        check: "token",
        meaning: "A rotation was interrupted after GitLab revoked the old token, and labwatch never stored the new one.",
        remediation: [
            "In GitLab (Preferences → Access Tokens) revoke the token that the interrupted rotation created (same name, created at the time of the rotation).",
            "Create a new token and update workspace `{workspace}`: `labwatch renew --workspace {workspace}`.",
        ],
    }
    RotationNotSaved {
        code: "rotation-not-saved",
        check: "token",
        meaning: "GitLab rotated the token and labwatch holds the new one (in `<workspace>.rotated` in the store directory), but the store has not accepted it as the connection yet.",
        remediation: [
            "Fix the store directory: the log and the rotate answer name the problem. labwatch saves the new token after the next round once the store accepts it.",
            "Do not delete `{workspace}.rotated` from the store directory: it holds the new token until then.",
        ],
    }
    StoreUnreadable {
        code: "store-unreadable",
        check: "token",
        meaning: "The stored connection cannot be decrypted or read: a different store key, or a damaged or tampered file.",
        remediation: [
            "Restore the store key that wrote it (`key_file` or LABWATCH_STORE_KEY); labwatch never overwrites the file.",
            "If the key is lost, disconnect the workspace (`labwatch disconnect --workspace {workspace}`), which sets the file aside without deleting it, and connect it again.",
        ],
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
