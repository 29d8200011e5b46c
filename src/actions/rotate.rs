//! rotate: replace the token through GitLab's rotation API.
//!
//! GitLab revokes the old token the moment it answers, and a second rotate
//! call with the old token revokes the whole family (docs/gitlab.md §2). So: one
//! rotation at a time per workspace; a marker on disk before the call (a
//! crash then shows as `token-lost-in-rotation` instead of a silently dead
//! token); the new token saved (fsync) before anything else; no retry.
//!
//! The store refuses what it could not read back; the connection the
//! rotation will save is checked before the marker and the call. When
//! saving still fails after GitLab answered (a disk error, a file planted in
//! the way), the new token is kept in memory and in `<workspace>.rotated`,
//! and saved after the next round that the store accepts it (`settle`): the
//! answer is `rotation-not-saved` with the steps, and
//! `token-lost-in-rotation` stays for what truly cannot be recovered (a crash
//! before the answer was written anywhere, or GitLab's answer lost). An
//! answer whose metadata breaks a bound still yields its token, saved with
//! the old token's name and scopes.
//!
//! A workspace whose token comes from its config's `token_file` has that
//! token adopted into the store ([`super::adopt`]) after the checks that
//! refuse a rotation up front and before the marker: a rotated token must
//! be saved where labwatch can write, and the file is the person's.

use std::sync::Arc;

use time::{Date, Duration, OffsetDateTime};

use super::adopt::after_adoption;
use super::{ActionError, Actions, pause_point, token_summary, verify};
use crate::engine::Reason;
use crate::gitlab::GitlabError;
use crate::store::{Actor, AuditAction, RotationLock, RotationMarker, StoreError, StoredConnection};
use crate::wire::Rotated;

/// GitLab's default maximum token lifetime (docs/gitlab.md §4); rotation asks for no
/// more. Instances with the 400-day buffer or a lower admin limit answer
/// with a validation error, which is reported as `renewal-failed`.
const MAX_LIFETIME_DAYS: i64 = 365;

/// What made a rotation happen (`labwatch_token_renewals_total{trigger}`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Manual,
    Alert,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Manual => "manual",
            Trigger::Alert => "alert",
            Trigger::Schedule => "schedule",
        }
    }

    fn actor(self) -> Actor {
        match self {
            Trigger::Manual => Actor::AdminApi,
            Trigger::Alert => Actor::Alert,
            Trigger::Schedule => Actor::Schedule,
        }
    }
}

/// How far a rotation got, for what follows it whether it succeeded or not.
#[derive(Debug, Default)]
struct Progress {
    /// The `token_file` token was adopted into the store first.
    adopted: bool,
    /// The rotate call was sent to GitLab: a failure from here on is a
    /// failed renewal (`labwatch_token_renewal_failures_total`).
    asked_gitlab: bool,
}

impl Actions {
    /// Rotates the workspace's token; `expires_at` defaults to today plus
    /// the renewal policy's lifetime, capped at GitLab's maximum.
    pub async fn rotate(
        &self,
        workspace: &str,
        expires_at: Option<Date>,
        trigger: Trigger,
    ) -> Result<Rotated, ActionError> {
        let lock = self.rotation_lock(workspace);
        let Ok(_guard) = lock.try_lock() else {
            return Err(ActionError::new(
                409,
                "rotation-in-progress",
                format!("A rotation of workspace `{workspace}` is already running; wait for it."),
            ));
        };
        // Replicas on one database: one rotation at a time across all of
        // them, or the second would rotate a token GitLab already revoked.
        let name = workspace.to_owned();
        let Some(shared) = self
            .on_store(move |s| s.try_rotation_lock(&name))
            .await
            .map_err(super::store_error)?
        else {
            return Err(ActionError::new(
                409,
                "rotation-in-progress",
                format!("A rotation of workspace `{workspace}` is already running on another replica; wait for it."),
            ));
        };
        // An alert or the schedule asked because the token was due when it
        // looked; another replica may have rotated it since.
        if trigger != Trigger::Manual && self.runtime.ownership().is_some() {
            self.still_due(workspace, trigger).await?;
        }
        let mut progress = Progress::default();
        let result = self
            .audited(
                workspace,
                trigger.actor(),
                AuditAction::Rotate,
                self.try_rotate(workspace, expires_at, trigger, Arc::new(shared), &mut progress),
            )
            .await
            .map(|mut r| {
                r.adopted = progress.adopted;
                r
            })
            .map_err(|e| if progress.adopted { after_adoption(e) } else { e });
        // `labwatch_token_renewal_failures_total` fires LabwatchRenewalFailing:
        // it counts rotations GitLab was asked for and that then failed, not
        // requests refused before (a bad date, not connected, not due, a lock
        // held, a token that cannot rotate itself), which the caller is told.
        let metrics = self.runtime.gitlab_metrics();
        match &result {
            Ok(_) => metrics.renewal(workspace, trigger.as_str()),
            Err(_) if progress.asked_gitlab => metrics.renewal_failure(workspace, trigger.as_str()),
            Err(_) => {}
        }
        // Last: whoever sees the new token in `/status` finds the rotation
        // already in the audit log and the metrics. A token adopted before
        // a rotation that failed is in the store too: the checks read it
        // from there from now on.
        if result.is_ok() || progress.adopted {
            self.replan(workspace).await;
        }
        result
    }

    /// Inside the rotation locks, for a rotation an alert or the schedule
    /// asked for on a replica: the token must still be due (another
    /// replica may have rotated it between the look and the lock), and a
    /// scheduled one must come from the workspace's owner, whose lease
    /// still holds at the epoch it was given (the fence against a replica
    /// that was paused past its lease).
    async fn still_due(&self, workspace: &str, trigger: Trigger) -> Result<(), ActionError> {
        if trigger == Trigger::Schedule {
            let ownership = self.runtime.ownership();
            let held = ownership
                .as_ref()
                .and_then(|o| o.epoch(workspace).map(|e| (o.replica().to_owned(), e)));
            let fenced = match held {
                Some((replica, epoch)) => {
                    let name = workspace.to_owned();
                    self.on_store(move |s| s.holds_lease(&replica, &name, epoch))
                        .await
                        .map_err(super::store_error)?
                }
                None => false,
            };
            if !fenced {
                return Err(ActionError::new(
                    409,
                    "not-owner",
                    format!("This replica no longer holds the lease of workspace `{workspace}`; its owner renews it."),
                ));
            }
        }
        let config = self.workspace(workspace)?;
        if !self.renewal_due(workspace, &config).await? {
            return Err(ActionError::new(
                409,
                "renewal-not-due",
                format!(
                    "The token of workspace `{workspace}` is not due for renewal any more: it was rotated meanwhile."
                ),
            ));
        }
        Ok(())
    }

    async fn try_rotate(
        &self,
        workspace: &str,
        expires_at: Option<Date>,
        trigger: Trigger,
        shared: Arc<RotationLock>,
        progress: &mut Progress,
    ) -> Result<Rotated, ActionError> {
        if let Some(kept) = self.kept().get(workspace).map(|c| c.token_id) {
            return Err(ActionError::new(
                409,
                "rotation-not-saved",
                format!(
                    "The last rotation of workspace `{workspace}` made token {kept}, which labwatch keeps in memory because the store refused it; \
                     it is saved after the next round once the store accepts it. Fix the store first; rotating again now would lose that token."
                ),
            ));
        }
        let (ws, in_use) = self.in_use(workspace).await?;
        let old = in_use.conn.clone();
        let today = OffsetDateTime::now_utc().date();
        let expires_at = match expires_at {
            Some(d) => check_date(d, today)?,
            None => {
                let days = (ws.renewal.lifetime.as_secs() / 86_400) as i64;
                today + Duration::days(days.clamp(1, MAX_LIFETIME_DAYS))
            }
        };
        let client = self.client(&ws, &ws.instance_url.clone(), old.token.clone())?;
        let info = preflight(&client, &ws).await?;
        // The store refuses what it could not read back. A rotation keeps the
        // token's name and scopes, so the connection it will save is checked
        // now, before the marker and the call that revokes the old token.
        let candidate = StoredConnection {
            token_name: info.name.clone(),
            scopes: info.scopes.clone(),
            ..old.clone()
        };
        self.on_store(move |s| s.check_storable(&candidate))
            .await
            .map_err(|e| super::store_failed(workspace, e))?;
        // A token from token_file goes into the store first: the marker,
        // and the new token GitLab answers with, belong beside it.
        progress.adopted = self.adopt(&in_use, trigger.actor()).await?;
        let marker = RotationMarker {
            workspace: workspace.to_owned(),
            old_token_id: old.token_id,
            started_at: OffsetDateTime::now_utc(),
            trigger: trigger.as_str().to_owned(),
        };
        // On the rotation lock's own session: only its holder writes a
        // marker, and a scheduled rotation only while this replica's lease
        // holds (fenced in the same statement).
        let fence = match trigger {
            Trigger::Schedule => self
                .runtime
                .ownership()
                .and_then(|o| o.epoch(workspace).map(|e| (o.replica().to_owned(), e))),
            Trigger::Manual | Trigger::Alert => None,
        };
        let guard = shared.clone();
        self.on_store(move |s| s.write_marker_locked(&guard, &marker, fence))
            .await
            .map_err(|e| match e {
                StoreError::Fenced { .. } => ActionError::new(409, "not-owner", e.to_string()),
                e => super::store_error(e),
            })?;
        pause_point("rotate-before-call").await;
        progress.asked_gitlab = true;
        let answer = client.rotate_self(Some(expires_at)).await;
        pause_point("rotate-after-answer").await;
        let rotation = match answer {
            Ok(a) => a,
            Err(e) => return Err(self.rotation_failed(workspace, &client, e).await),
        };
        // A rotation keeps the token's name and scopes (docs/gitlab.md §2):
        // when GitLab's words for them break a bound, the old ones stand in
        // and the next token check reports the answer.
        let (token_name, scopes) = match &rotation.refused {
            None => (rotation.info.name.clone(), rotation.info.scopes.clone()),
            Some(e) => {
                tracing::warn!(workspace, error = %e, "GitLab's answer to the rotation breaks a bound; the new token is kept with the old token's name and scopes");
                (old.token_name.clone(), old.scopes.clone())
            }
        };
        let new = StoredConnection {
            token: rotation.secret,
            token_id: rotation.info.id,
            token_name,
            scopes,
            expires_at: rotation.info.expires_at,
            created_at: rotation.info.created_at,
            ..old.clone()
        };
        let saved = new.clone();
        if let Err(e) = self.on_store(move |s| s.save(&saved)).await {
            return Err(self.keep_rotated(new, old.token_id, e).await);
        }
        pause_point("rotate-after-persist").await;
        let name = workspace.to_owned();
        if let Err(e) = self.on_store(move |s| s.clear_marker(&name)).await {
            // The new token is stored and works: settling removes the
            // marker after the next round.
            tracing::warn!(workspace, error = %e, "Cannot clear the rotation marker; it is settled after the next round");
            self.unsettled().insert(workspace.to_owned());
        }
        Ok(Rotated {
            workspace: workspace.to_owned(),
            token: token_summary(&new),
            previous_token_id: old.token_id,
            adopted: false,
        })
    }

    /// GitLab rotated (the old token is revoked) and the store refused the
    /// new connection: keep it, where the next rounds save it once the store
    /// accepts it, and say so. It is kept in memory and, where the store
    /// takes that small file, as `<workspace>.rotated`, which a restart
    /// picks up (`settle`). The marker stays until the `.conn` is written.
    async fn keep_rotated(&self, new: StoredConnection, old_token_id: u64, e: StoreError) -> ActionError {
        let workspace = new.workspace.clone();
        let new_id = new.token_id;
        let spare = new.clone();
        let on_disk = self.on_store(move |s| s.save_rotated(&spare)).await;
        tracing::error!(
            workspace = %workspace, error = %e, new_token_id = new_id, saved_aside = on_disk.is_ok(),
            "Cannot save the rotated token; it is kept and saved once the store accepts it"
        );
        self.kept().insert(workspace.clone(), new);
        let store = self.store.describe();
        let kept_at = self
            .store
            .place(crate::store::Slot::Rotated, &workspace)
            .map_or_else(|_| format!("`{workspace}.rotated`"), |p| p.to_string());
        let (where_kept, restart) = match on_disk {
            Ok(()) => (
                format!("in memory and in {kept_at} (encrypted like the connection)"),
                format!(
                    "A restart does not lose it: labwatch reads {kept_at} at start. Do not delete it; \
                     if the store key is lost, revoke token {new_id} in GitLab and renew the workspace's token."
                ),
            ),
            Err(aside) => (
                format!("in memory only (it could not be written beside the connection either: {aside})"),
                format!(
                    "Do not restart labwatch before that: the new token is only in its memory. If it was restarted, revoke token {new_id} \
                     in GitLab (Preferences → Access Tokens) and give the workspace a new token: `labwatch renew --workspace {workspace}`."
                ),
            ),
        };
        ActionError::new(
            500,
            "rotation-not-saved",
            format!(
                "GitLab rotated the token of workspace `{workspace}` (token {old_token_id} is revoked; the new one is token {new_id}), \
                 but labwatch could not save the new token: {e}. The new token is not lost: labwatch keeps it {where_kept} \
                 and saves it after the next round of checks once the store accepts it."
            ),
        )
        .with_steps(vec![
            format!("Fix the problem above in {store}."),
            format!(
                "Then let the checks of workspace `{workspace}` run (their next round, or `POST /api/v1/checks/run?workspace={workspace}`): \
                 labwatch saves the new token and the workspace uses it; the audit log records it (settle-rotation)."
            ),
            restart,
        ])
    }

    /// After a failed rotate call: did GitLab rotate anyway? Only a read of
    /// the old token tells (never another rotate).
    async fn rotation_failed(
        &self,
        workspace: &str,
        client: &crate::gitlab::GitlabClient,
        e: GitlabError,
    ) -> ActionError {
        let old_still_works = client.token_self().await.is_ok_and(|i| i.active);
        if old_still_works {
            let name = workspace.to_owned();
            let _ = self.on_store(move |s| s.clear_marker(&name)).await;
            let status = if matches!(e, GitlabError::BadRequest { .. }) {
                422
            } else {
                502
            };
            return ActionError::for_reason(
                status,
                Reason::RenewalFailed,
                workspace,
                format!("GitLab did not rotate the token: {e}. The current token still works."),
            );
        }
        ActionError::for_reason(
            500,
            Reason::TokenLostInRotation,
            workspace,
            format!(
                "The rotation failed ({e}) and the old token no longer works: GitLab may have issued a new token that labwatch never received."
            ),
        )
    }
}

/// A rotation that cannot work is refused before the marker and the call:
/// a dead token, no api/self_rotate scope, GitLab before 16.10. Returns the
/// token's metadata as GitLab reports it now.
async fn preflight(
    client: &crate::gitlab::GitlabClient,
    ws: &crate::config::WorkspaceConfig,
) -> Result<crate::gitlab::types::TokenInfo, ActionError> {
    let impossible = |why: String| ActionError::for_reason(422, Reason::RenewalImpossible, &ws.name, why);
    let (info, _) = match verify::identify(client, ws).await {
        Ok(found) => found,
        // GitLab's answer broke a bound (docs/checks.md): that is not the
        // token's fault, and the same answer would come back after a rotation.
        Err(e) if e.code == Reason::GitlabAnswerInvalid.code() => return Err(e),
        Err(e) => {
            return Err(impossible(format!(
                "The current token cannot rotate itself: {}",
                e.message
            )));
        }
    };
    if !info.scopes.iter().any(|s| s == "api" || s == "self_rotate") {
        return Err(impossible(format!(
            "The token has scopes {} but rotating itself needs `api` or `self_rotate`.",
            info.scopes.join(", ")
        )));
    }
    if let Ok(v) = client.version().await {
        if version_below(&v.version, 16, 10) {
            return Err(impossible(format!(
                "GitLab {} cannot rotate a token by itself (that came in 16.10).",
                v.version
            )));
        }
    }
    Ok(info)
}

fn check_date(d: Date, today: Date) -> Result<Date, ActionError> {
    if d <= today || d > today + Duration::days(MAX_LIFETIME_DAYS) {
        return Err(ActionError::new(
            422,
            "expires-at-invalid",
            format!("expires_at must be after today and at most {MAX_LIFETIME_DAYS} days ahead (GitLab's limit)."),
        ));
    }
    Ok(d)
}

/// `16.9.2-ee` < 16.10.
fn version_below(version: &str, major: u32, minor: u32) -> bool {
    let mut parts = version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (Some(ma), Some(mi)) = (parts.next(), parts.next()) else {
        return false;
    };
    (ma, mi) < (major, minor)
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_numerically() {
        assert!(super::version_below("16.9.2-ee", 16, 10));
        assert!(!super::version_below("16.10.0", 16, 10));
        assert!(!super::version_below("17.5.0-pre", 16, 10));
        assert!(!super::version_below("garbage", 16, 10));
    }
}
