//! The `token` check: is the workspace's token accepted, whose is it, and
//! when must it be renewed? One `GET /personal_access_tokens/self` per round
//! (its answer also feeds the scopes check, and its `user_id` says whose it
//! is). `GET /user` only when that account is not known yet: a connected
//! workspace knows it from connect, a `token_file` asks once per token.
//! Its steps for a missing, expiring or dead token say where the new one
//! goes here ([`Handover`]).

use std::borrow::Cow;
use std::sync::Arc;

use time::OffsetDateTime;

use super::context::WorkspaceGitlab;
use super::gitlab_errors;
use super::handover::Handover;
use crate::config::expiry_moment;
use crate::engine::{Check, CheckFuture, Outcome, Reason, RunContext, Status};
use crate::gitlab::types::{TokenInfo, format_date};
use crate::report::rfc3339;
use crate::store::{ConnectionStore, StoreError};

pub struct TokenCheck {
    ws: Arc<WorkspaceGitlab>,
    /// Where a new token must go, for the steps of `not-connected` and
    /// of an expiring, expired or revoked token.
    handover: Handover,
}

impl TokenCheck {
    /// `admin_api`: whether the admin API is on.
    pub fn new(ws: Arc<WorkspaceGitlab>, admin_api: bool) -> TokenCheck {
        let handover = Handover::of(&ws, admin_api);
        TokenCheck { ws, handover }
    }

    /// Reads `read`'s file for this workspace from the store, on tokio's
    /// blocking pool (it is file I/O); `None` without a store, without the
    /// file, or when it cannot be read (the actions report that).
    async fn on_store<T: Send + 'static>(
        &self,
        read: fn(&ConnectionStore, &str) -> Result<Option<T>, StoreError>,
    ) -> Option<T> {
        let store = self.ws.store.clone()?;
        let name = self.ws.config.name.clone();
        tokio::task::spawn_blocking(move || read(&store, &name))
            .await
            .ok()?
            .ok()
            .flatten()
    }

    async fn probe(&self, ctx: &RunContext) -> Outcome {
        let client = match self.ws.client_or_outcome() {
            Ok(c) => c,
            Err(outcome) => return outcome,
        };
        if let Some(e) = &self.ws.store_error {
            let summary = format!(
                "The stored connection of workspace `{}` cannot be read: {e}",
                self.ws.config.name
            );
            return Outcome::new(Status::Critical, Reason::StoreUnreadable, summary);
        }
        if !client.has_token() {
            let summary = match self.ws.disconnected_at {
                Some(at) if self.ws.config.token_file.is_some() => format!(
                    "Workspace `{}` was disconnected on {}; the token in its token_file is not used again (put a new token there, or connect).",
                    self.ws.config.name,
                    rfc3339(at)
                ),
                Some(at) => format!(
                    "Workspace `{}` was disconnected on {}.",
                    self.ws.config.name,
                    rfc3339(at)
                ),
                None => format!("Workspace `{}` has no GitLab token.", self.ws.config.name),
            };
            return Outcome::new(Status::Critical, Reason::NotConnected, summary);
        }
        let generation = client.token_generation();
        let info = match client.token_self().await {
            Ok(info) => info,
            Err(e) => {
                // The marker matters only to a token GitLab refuses, so it
                // is read then and not every round: a fleet's rounds would
                // each cost a trip to the blocking pool and the disk.
                let marker = match e.root().is_auth_failure() {
                    true => self.on_store(ConnectionStore::read_marker).await,
                    false => None,
                };
                if let Some(m) = marker {
                    // The rotation's answer was kept beside the store: the
                    // actions save it once the store takes it.
                    if let Some(kept) = self.on_store(ConnectionStore::load_rotated).await.map(|c| c.token_id) {
                        let summary = format!(
                            "GitLab revoked token {} in a rotation ({}, started {}); its successor, token {kept}, is kept in `{}.rotated` until the store accepts it.",
                            m.old_token_id,
                            m.trigger,
                            rfc3339(m.started_at),
                            self.ws.config.name
                        );
                        return Outcome::new(Status::Critical, Reason::RotationNotSaved, summary);
                    }
                    let summary = format!(
                        "A token rotation ({}, started {}) was interrupted after GitLab revoked token {}; the new token was never stored.",
                        m.trigger,
                        rfc3339(m.started_at),
                        m.old_token_id
                    );
                    return Outcome::new(Status::Critical, Reason::TokenLostInRotation, summary);
                }
                self.ws.token_read_failed(generation, &e);
                let outcome = gitlab_errors::outcome(&e, "the token");
                return match gitlab_errors::pause_cause(&e) {
                    Some(cause) => self.handover.paused(outcome, cause),
                    None => outcome,
                };
            }
        };
        // A marker beside a token that works is an interrupted rotation that
        // never reached GitLab or was saved in time: nothing is lost, and
        // the actions settle it (removing a marker is a change, not an
        // observation).
        self.ws.remember_token(generation, info.clone());
        let identity = self.ws.identity(client, info.user_id).await;
        let username = identity.as_ref().ok().map(|u| u.username.as_str());
        let outcome = self.judge(&info, username, ctx.now);
        match identity {
            Err(e) if outcome.status == Status::Ok => gitlab_errors::outcome(&e, "the user of the token"),
            _ => outcome,
        }
    }

    /// Expiry and renewal, from the token's metadata.
    fn judge(&self, info: &TokenInfo, username: Option<&str>, now: OffsetDateTime) -> Outcome {
        let who = username.map_or_else(|| format!("user #{}", info.user_id.unwrap_or(0)), |u| format!("@{u}"));
        let Some(expires_at) = info.expires_at else {
            return Outcome::ok(format!("Token `{}` of {who} is valid and never expires.", info.name));
        };
        let expires = expiry_moment(expires_at);
        let due = self.ws.config.renewal.renewal_due(info.created_at, expires);
        let left = expires - now;
        let date = format_date(expires_at);
        let outcome = if left <= time::Duration::ZERO || info.revoked || !info.active {
            if info.revoked {
                Outcome::new(
                    Status::Critical,
                    Reason::TokenRevoked,
                    format!("Token `{}` of {who} was revoked.", info.name),
                )
            } else {
                Outcome::new(
                    Status::Critical,
                    Reason::TokenExpired,
                    format!("The token expired on {date}."),
                )
            }
        } else if left.unsigned_abs() <= self.ws.config.token_expiry_critical {
            let summary = format!(
                "Token `{}` of {who} stops working on {date} (in {}).",
                info.name,
                human(left)
            );
            Outcome::new(Status::Critical, Reason::TokenExpiring, summary)
        } else if now >= due {
            let summary = format!(
                "Token `{}` of {who} expires on {date} (in {}); renewal was due on {}.",
                info.name,
                human(left),
                format_date(due.date())
            );
            Outcome::new(Status::Warning, Reason::TokenExpiring, summary)
        } else {
            Outcome::ok(format!(
                "Token `{}` of {who} is valid until {date} (in {}).",
                info.name,
                human(left)
            ))
        };
        outcome
            .with_measurement("expires_in_seconds", left.whole_seconds() as f64)
            .with_measurement("expiry_timestamp_seconds", expires.unix_timestamp() as f64)
            .with_measurement("renewal_due_timestamp_seconds", due.unix_timestamp() as f64)
    }
}

/// "5 days", "20 hours": how people say time left.
fn human(d: time::Duration) -> String {
    let days = d.whole_days();
    if days >= 2 {
        format!("{days} days")
    } else if d.whole_hours() >= 2 {
        format!("{} hours", d.whole_hours())
    } else {
        format!("{} minutes", d.whole_minutes().max(0))
    }
}

impl Check for TokenCheck {
    fn name(&self) -> &str {
        "token"
    }

    fn depends_on(&self) -> &[Cow<'static, str>] {
        const DEPENDS_ON: &[Cow<'static, str>] = &[Cow::Borrowed("instance")];
        DEPENDS_ON
    }

    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(async move { self.ws.fill(self.handover.advise(self.probe(ctx).await)) })
    }
}
