//! How a new token reaches a workspace: the steps of the token check's
//! `not-connected`, `token-expiring`, `token-expired`, `token-revoked`,
//! `token-invalid` and `auth-paused` (with the steps of the 401 that paused
//! it), and the scopes check's `scopes-missing`.
//!
//! The registry's steps for these codes name every way; a person reading
//! `/status` needs the one that works here. That depends on two things the
//! check knows: whether the admin API is on (then `labwatch connect`,
//! `renew` and `rotate` work, and are the way: a token that comes from the
//! store wins over `token_file`), and whether the workspace's token is its
//! `token_file`'s. The steps keep the `{workspace}` placeholder; the check
//! fills it.

use super::context::WorkspaceGitlab;
use crate::engine::{Outcome, Reason};

/// Where a new token must go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// The admin API is on: `labwatch connect`, `renew`, `rotate`.
    AdminApi {
        /// The token in use is `token_file`'s, not the store's.
        from_file: bool,
    },
    /// The admin API is off and the token is `token_file`'s (or there is
    /// none): edit the file and reload.
    TokenFile,
    /// The admin API is off, but the store connects the workspace (it was
    /// on once): the file is not read while the store has a connection.
    StoreWithoutApi,
}

const CREATE: &str = "Create a new personal access token in GitLab (Preferences → Access Tokens) with the same scopes.";
const TOKEN_FILE: &str = "Put the new token in the token_file of workspace `{workspace}` (alone on one line, readable only by labwatch) and reload labwatch (SIGHUP).";
const TURN_ON: &str = "The store connects this workspace, and it wins over token_file: turn the admin API on (`admin_token_file` in [server], then restart) and hand the new token over with `labwatch renew --workspace {workspace}`.";
const CONNECT: &str = "Connect the workspace with it: `labwatch connect --workspace {workspace}` reads the token from stdin (docs/admin-api.md#connect; the API's `POST /api/v1/workspaces/{workspace}/connect`).";
const RENEW: &str = "Hand the new token over: `labwatch renew --workspace {workspace}` reads it from stdin (docs/admin-api.md#update-the-token).";
const RESUME: &str = "Its checks resume on their own once the token changes.";
const AUDIT_EVENTS: &str =
    "If nobody revoked it on purpose, check GitLab's audit events: a leaked token may have been revoked automatically.";
const COPIED_WHOLE: &str =
    "Check that the token was copied whole (personal access tokens start with `glpat-`) and belongs to {url}.";

impl Handover {
    /// How a new token reaches `ws`; `admin_api`: whether the admin API is on.
    pub fn of(ws: &WorkspaceGitlab, admin_api: bool) -> Handover {
        match (admin_api, ws.token_from_file || !ws.has_token()) {
            (true, from_file) => Handover::AdminApi { from_file },
            (false, true) => Handover::TokenFile,
            (false, false) => Handover::StoreWithoutApi,
        }
    }

    /// The steps for `outcome` where this is how tokens arrive; other
    /// outcomes are left as they are.
    /// `auth-paused` is left as it is too: its steps depend on the 401
    /// that paused it, which [`Handover::paused`] is given.
    pub fn advise(self, outcome: Outcome) -> Outcome {
        let steps = match Reason::from_code(&outcome.reason) {
            Some(Reason::NotConnected) => self.not_connected(),
            Some(Reason::TokenExpiring) => self.expiring(),
            Some(reason) => match self.rejected(reason) {
                Some(steps) => steps,
                None => return outcome,
            },
            None => return outcome,
        };
        outcome.with_remediation(steps)
    }

    /// The steps of an `auth-paused` outcome whose pause `cause` opened
    /// (`token-expired`, `token-revoked`, `token-invalid`): that refusal's
    /// own steps, then that the checks resume by themselves. The summary
    /// names the cause already; the steps must not lose it (a revoked token
    /// still wants its audit events looked at).
    pub fn paused(self, outcome: Outcome, cause: Reason) -> Outcome {
        let mut steps = self.rejected(cause).unwrap_or_else(|| self.dead(&[]));
        steps.push(RESUME);
        outcome.with_remediation(steps)
    }

    /// The step that hands a new token over once it exists, for
    /// `scopes-missing`, whose first step (which scopes the new token
    /// needs) the scopes check writes.
    pub fn hand_over(self) -> &'static str {
        match self {
            // The token in use works, so renew can compare the new one's
            // account with it (and adopts the file's token first).
            Handover::AdminApi { .. } => RENEW,
            Handover::TokenFile => TOKEN_FILE,
            Handover::StoreWithoutApi => TURN_ON,
        }
    }

    /// The steps for a token GitLab refuses; `None` for other reasons.
    fn rejected(self, reason: Reason) -> Option<Vec<&'static str>> {
        Some(match reason {
            Reason::TokenExpired => self.dead(&[]),
            Reason::TokenRevoked => self.dead(&[AUDIT_EVENTS]),
            Reason::TokenInvalid => {
                let mut steps = vec![COPIED_WHOLE];
                steps.extend(self.dead(&[]));
                steps
            }
            _ => return None,
        })
    }

    fn not_connected(self) -> Vec<&'static str> {
        let create = "Create a personal access token in GitLab: Preferences → Access Tokens → Add new token, with the scopes this workspace needs.";
        match self {
            Handover::AdminApi { .. } => vec![create, CONNECT],
            Handover::TokenFile | Handover::StoreWithoutApi => vec![
                create,
                "Put it in a file readable only by labwatch and set `token_file` for workspace `{workspace}` to that file, then reload labwatch (SIGHUP).",
            ],
        }
    }

    fn expiring(self) -> Vec<&'static str> {
        match self {
            Handover::AdminApi { .. } => vec![
                "Renew the token before it expires: `labwatch rotate --workspace {workspace}` rotates it (GitLab issues the new token and labwatch stores it; the token needs the `api` or `self_rotate` scope), and `[workspace.renewal] mode = \"auto\"` rotates it by itself when due.",
                "Or create a new token with the same scopes in GitLab (Preferences → Access Tokens) and hand it over: `labwatch renew --workspace {workspace}` reads it from stdin.",
            ],
            Handover::TokenFile => vec![
                "Renew the token before it expires: rotate it in GitLab (Preferences → Access Tokens → Rotate), or create a new one with the same scopes.",
                TOKEN_FILE,
            ],
            Handover::StoreWithoutApi => vec![
                "Renew the token before it expires: create a new one with the same scopes in GitLab (Preferences → Access Tokens).",
                TURN_ON,
            ],
        }
    }

    /// An expired or revoked token: a new one, and where it goes; then
    /// `after`.
    fn dead(self, after: &[&'static str]) -> Vec<&'static str> {
        let handover = match self {
            // The file's token no longer works, so there is no account to
            // keep: renew would have nothing to compare the new token with.
            Handover::AdminApi { from_file: true } => CONNECT,
            Handover::AdminApi { from_file: false } => RENEW,
            Handover::TokenFile => TOKEN_FILE,
            Handover::StoreWithoutApi => TURN_ON,
        };
        let mut steps = vec![CREATE, handover];
        steps.extend_from_slice(after);
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;

    fn steps(h: Handover, reason: Reason) -> String {
        h.advise(Outcome::new(Status::Critical, reason, ""))
            .remediation
            .join("\n")
    }

    #[test]
    fn with_the_admin_api_on_the_steps_name_the_commands() {
        let api = Handover::AdminApi { from_file: true };
        assert!(steps(api, Reason::NotConnected).contains("labwatch connect --workspace {workspace}"));
        assert!(!steps(api, Reason::NotConnected).contains("SIGHUP"));
        assert!(steps(api, Reason::TokenExpiring).contains("labwatch renew --workspace {workspace}"));
        assert!(steps(api, Reason::TokenExpired).contains("labwatch connect"));
        let stored = Handover::AdminApi { from_file: false };
        assert!(steps(stored, Reason::TokenRevoked).contains("labwatch renew --workspace {workspace}"));
        assert!(steps(stored, Reason::TokenRevoked).contains("audit events"));
    }

    #[test]
    fn with_the_admin_api_off_the_steps_name_token_file_and_the_reload() {
        for reason in [Reason::NotConnected, Reason::TokenExpiring, Reason::TokenExpired] {
            let text = steps(Handover::TokenFile, reason);
            assert!(text.contains("token_file") && text.contains("SIGHUP"), "{text}");
            assert!(!text.contains("`labwatch "), "{text}");
        }
        assert!(steps(Handover::StoreWithoutApi, Reason::TokenExpired).contains("admin_token_file"));
    }

    fn paused(h: Handover, cause: Reason) -> Vec<String> {
        h.paused(Outcome::new(Status::Critical, Reason::AuthPaused, ""), cause)
            .remediation
    }

    #[test]
    fn a_rejected_token_names_where_the_new_one_goes() {
        let stored = Handover::AdminApi { from_file: false };
        assert!(steps(stored, Reason::TokenInvalid).contains("labwatch renew --workspace {workspace}"));
        assert!(steps(Handover::TokenFile, Reason::TokenInvalid).contains("SIGHUP"));
        assert!(steps(stored, Reason::TokenInvalid).contains("glpat-"));
        for cause in [Reason::TokenInvalid, Reason::TokenRevoked, Reason::TokenExpired] {
            let text = paused(stored, cause).join("\n");
            assert!(text.contains("labwatch renew --workspace {workspace}"), "{text}");
            assert!(text.contains("resume on their own"), "{text}");
            assert!(paused(Handover::TokenFile, cause).join("\n").contains("SIGHUP"));
        }
    }

    #[test]
    fn a_paused_token_keeps_the_steps_of_what_paused_it() {
        let stored = Handover::AdminApi { from_file: false };
        let revoked = paused(stored, Reason::TokenRevoked).join("\n");
        assert!(revoked.contains("audit events"), "{revoked}");
        let expired = paused(stored, Reason::TokenExpired).join("\n");
        assert!(!expired.contains("audit events"), "{expired}");
        assert!(paused(stored, Reason::TokenInvalid).join("\n").contains("glpat-"));
        // The steps of the refusal itself, plus one: the checks resume.
        for cause in [Reason::TokenInvalid, Reason::TokenRevoked, Reason::TokenExpired] {
            let mut own = stored.advise(Outcome::new(Status::Critical, cause, "")).remediation;
            own.push(RESUME.to_owned());
            assert_eq!(paused(stored, cause), own);
        }
    }

    #[test]
    fn no_advice_repeats_a_step() {
        let ways = [
            Handover::AdminApi { from_file: true },
            Handover::AdminApi { from_file: false },
            Handover::TokenFile,
            Handover::StoreWithoutApi,
        ];
        for h in ways {
            for reason in Reason::ALL {
                let all = h.advise(Outcome::new(Status::Critical, *reason, "")).remediation;
                let mut unique = all.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), all.len(), "{h:?} {reason:?}: {all:#?}");
            }
            for cause in [Reason::TokenInvalid, Reason::TokenRevoked, Reason::TokenExpired] {
                let all = paused(h, cause);
                let mut unique = all.clone();
                unique.sort();
                unique.dedup();
                assert_eq!(unique.len(), all.len(), "{h:?} {cause:?}: {all:#?}");
            }
        }
    }

    #[test]
    fn other_outcomes_keep_their_steps() {
        let o = Outcome::new(Status::Critical, Reason::CheckTimeout, "");
        assert_eq!(Handover::TokenFile.advise(o.clone()), o);
    }
}
