//! The `scopes` check: does the token carry every scope the workspace needs?
//! It reads what the token check fetched this round, so it costs no request.
//! When the token check could not read the token (a rate limit is only a
//! warning, so this check still runs), it says why instead of judging the
//! scopes of an older answer: never a stale `ok`.

use std::borrow::Cow;
use std::sync::Arc;

use super::context::WorkspaceGitlab;
use super::gitlab_errors;
use super::handover::Handover;
use crate::config::scopes;
use crate::engine::{Check, CheckFuture, Outcome, Reason, RunContext, Status};

pub struct ScopesCheck {
    ws: Arc<WorkspaceGitlab>,
    /// Where the new token with the missing scopes goes.
    handover: Handover,
}

impl ScopesCheck {
    /// `admin_api`: whether the admin API is on.
    pub fn new(ws: Arc<WorkspaceGitlab>, admin_api: bool) -> ScopesCheck {
        let handover = Handover::of(&ws, admin_api);
        ScopesCheck { ws, handover }
    }

    fn judge(&self) -> Outcome {
        let seen = match &self.ws.client {
            Ok(c) => self.ws.current_token_info(c.token_generation()),
            Err(_) => Ok(None),
        };
        let info = match seen {
            Ok(info) => info,
            Err(e) => return gitlab_errors::outcome(&e, "the token's scopes"),
        };
        let Some(info) = info else {
            return Outcome::new(
                Status::Unknown,
                Reason::Blocked,
                "The token's scopes are not known yet.",
            );
        };
        let required = &self.ws.config.required_scopes;
        let missing = scopes::missing(required, &info.scopes);
        let mut outcome = if missing.is_empty() {
            Outcome::ok(format!("The token has every required scope ({}).", required.join(", ")))
        } else {
            let has = if info.scopes.is_empty() {
                "none".to_owned()
            } else {
                info.scopes.join(", ")
            };
            let summary = format!("The token lacks scope {} (it has: {has}).", quoted(&missing));
            let wanted: Vec<String> = info
                .scopes
                .iter()
                .cloned()
                .chain(missing.iter().map(|s| (*s).to_owned()))
                .collect();
            // The registry's first step says the same in general words:
            // this one replaces it rather than coming before it.
            let create = format!(
                "Create a new personal access token in GitLab (Preferences → Access Tokens) with the scopes {} — GitLab cannot add {} to the existing token.",
                wanted.join(", "),
                quoted(&missing)
            );
            Outcome::new(Status::Critical, Reason::ScopesMissing, summary)
                .with_remediation([create, self.handover.hand_over().to_owned()])
        };
        for scope in required {
            let value = if missing.contains(&scope.as_str()) { 1.0 } else { 0.0 };
            outcome = outcome.with_measurement(format!("scope_missing:{scope}"), value);
        }
        outcome
    }
}

fn quoted(scopes: &[&str]) -> String {
    scopes
        .iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(" and ")
}

impl Check for ScopesCheck {
    fn name(&self) -> &str {
        "scopes"
    }

    fn depends_on(&self) -> &[Cow<'static, str>] {
        const DEPENDS_ON: &[Cow<'static, str>] = &[Cow::Borrowed("token")];
        DEPENDS_ON
    }

    fn run<'a>(&'a self, _ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(async move { self.ws.fill(self.judge()) })
    }
}
