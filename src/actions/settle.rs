//! Settling a rotation that a crash interrupted.
//!
//! A rotation writes a marker to the store before it asks GitLab, and
//! removes it once the new token is saved. A crash in between leaves the
//! marker, and only the stored token can tell what happened:
//!
//! - it still works: the rotation never reached GitLab, or its new token was
//!   saved in time. Nothing is lost; the marker goes.
//! - GitLab rejects it: GitLab rotated, and the new token was never saved.
//!   The marker stays, so the token check reports `token-lost-in-rotation`
//!   until a person renews the token.
//! - GitLab cannot be asked: the question waits for the workspace's next
//!   round whose token check passes.
//!
//! Removing the marker changes the store, so it is an action, with an audit
//! line; the token check only reads the marker.
//!
//! A rotation whose new token the store refused (see `rotate`) leaves it in
//! memory and, where it could, in `<workspace>.rotated`, which the next start
//! reads back; after every round it is saved if the store accepts it now,
//! which ends that rotation like a normal one: marker removed, `.rotated`
//! removed, workspace re-planned, audited.

use std::sync::PoisonError;

use super::Actions;
use super::renewal::token_check;
use crate::config::instance_url;
use crate::engine::{Reason, StatusStore};
use crate::store::{Actor, AuditAction, AuditEntry, AuditResult, RotationMarker};

/// What looking at a workspace's marker concluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settlement {
    /// No marker (any more), or one that stays for the token check to report.
    Done,
    /// GitLab could not be asked, or a rotation is running: try again later.
    Open,
}

impl Actions {
    /// At start: every configured workspace with a rotation marker is
    /// settled, or remembered to be settled after its next round.
    pub async fn settle_interrupted_rotations(&self) {
        for ws in self.runtime.names_where(|_| true) {
            self.pick_up_rotated(&ws).await;
            let name = ws.clone();
            match self.on_store(move |s| s.read_marker(&name)).await {
                Ok(None) => {}
                Ok(Some(marker)) => {
                    if self.settle(&marker, "at start").await == Settlement::Open {
                        self.unsettled().insert(ws.clone());
                    }
                }
                // The token check reads the marker too, and reports the error.
                Err(e) => tracing::error!(workspace = %ws, error = %e, "Cannot read the rotation marker"),
            }
        }
    }

    /// After a round: settles the workspaces left open whose token check
    /// passed, which means GitLab answers again.
    pub(super) async fn settle_where_the_token_works(&self, status: &StatusStore) {
        self.save_kept_rotations().await;
        let ready: Vec<String> = self
            .unsettled()
            .iter()
            .filter(|ws| {
                status
                    .get(&token_check(ws))
                    .is_some_and(|s| !s.is_blocked() && s.outcome.status.is_usable())
            })
            .cloned()
            .collect();
        for ws in ready {
            let name = ws.clone();
            let settled = match self.on_store(move |s| s.read_marker(&name)).await {
                Ok(Some(marker)) => self.settle(&marker, "after a round").await == Settlement::Done,
                Ok(None) => true,
                Err(_) => false,
            };
            if settled {
                self.unsettled().remove(&ws);
            }
        }
    }

    /// Asks GitLab whether the stored token still works, and acts on the answer.
    async fn settle(&self, marker: &RotationMarker, when: &str) -> Settlement {
        let workspace = marker.workspace.as_str();
        let lock = self.rotation_lock(workspace);
        // A rotation running now writes and removes its own marker.
        let Ok(_guard) = lock.try_lock() else {
            return Settlement::Open;
        };
        // Its new token waits in memory for the store; saving it settles it.
        if self.kept().contains_key(workspace) {
            return Settlement::Open;
        }
        let (Ok(mut ws), Ok(conn)) = (self.workspace(workspace), self.connection(workspace).await) else {
            // Not configured or not connected any more: no token to lose,
            // and connecting again makes a new one.
            return Settlement::Done;
        };
        let Ok(url) = instance_url::normalize(&conn.instance_url) else {
            return Settlement::Done;
        };
        ws.instance_url = url.clone();
        let Ok(client) = self.client(&ws, &url, conn.token.clone()) else {
            return Settlement::Open;
        };
        let started = crate::report::rfc3339(marker.started_at);
        let mut entry = AuditEntry::new(workspace, Actor::Daemon, AuditAction::SettleRotation, AuditResult::Ok);
        match client.token_self().await {
            Ok(info) if info.active => {
                let name = workspace.to_owned();
                if let Err(e) = self.on_store(move |s| s.clear_marker(&name)).await {
                    tracing::warn!(workspace, error = %e, "Cannot remove the rotation marker; trying again after the next round");
                    return Settlement::Open;
                }
                tracing::info!(
                    workspace,
                    token_id = info.id,
                    "Interrupted rotation settled: the stored token works"
                );
                entry.token_id = Some(info.id);
                entry.detail = Some(format!(
                    "{when}: the rotation started {started} ({}) never reached GitLab or was saved in time; the stored token works",
                    marker.trigger
                ));
            }
            Err(e) if !e.root().is_auth_failure() => {
                tracing::info!(workspace, error = %e, "Cannot settle the interrupted rotation yet: GitLab did not answer");
                return Settlement::Open;
            }
            _ => {
                tracing::warn!(
                    workspace,
                    old_token_id = marker.old_token_id,
                    "An interrupted rotation lost the token: GitLab rejects the stored one"
                );
                entry.result = AuditResult::Failed(Reason::TokenLostInRotation.code().to_owned());
                entry.token_id = Some(marker.old_token_id);
                entry.detail = Some(format!(
                    "{when}: GitLab rejects the stored token; the rotation started {started} ({}) got a new token that was never saved",
                    marker.trigger
                ));
            }
        }
        self.audit(entry).await;
        Settlement::Done
    }

    /// At start: a rotated connection an earlier run could not save as
    /// `.conn` but kept as `.rotated` is kept again, to be saved after the
    /// next round like one refused in this run.
    async fn pick_up_rotated(&self, workspace: &str) {
        let name = workspace.to_owned();
        match self.on_store(move |s| s.load_rotated(&name)).await {
            Ok(None) => {}
            Ok(Some(conn)) => {
                tracing::warn!(
                    workspace,
                    token_id = conn.token_id,
                    "A rotated token an earlier run could not save is picked up; it is saved after the next round"
                );
                self.kept().insert(workspace.to_owned(), conn);
            }
            // Left as it is: with the right key it still holds the token.
            Err(e) => {
                tracing::error!(workspace, error = %e, "Cannot read the rotated connection kept beside the store")
            }
        }
    }

    /// Saves the rotated connections the store refused before, where it
    /// accepts them now.
    async fn save_kept_rotations(&self) {
        let workspaces: Vec<String> = self.kept().keys().cloned().collect();
        for workspace in workspaces {
            let lock = self.rotation_lock(&workspace);
            let Ok(_guard) = lock.try_lock() else {
                continue;
            };
            // Read under the lock: a connect or disconnect that took it
            // first has superseded the kept token.
            let Some(conn) = self.kept().get(&workspace).cloned() else {
                continue;
            };
            let token_id = conn.token_id;
            let saved = conn.clone();
            if let Err(e) = self.on_store(move |s| s.save(&saved)).await {
                tracing::warn!(workspace, error = %e, token_id, "The rotated token kept in memory still cannot be saved");
                continue;
            }
            // Only now: until it is on disk, memory (and `.rotated`) hold
            // the only copy.
            self.kept().remove(&workspace);
            let name = workspace.clone();
            if let Err(e) = self.on_store(move |s| s.clear_rotated(&name)).await {
                tracing::warn!(workspace, error = %e, "Cannot remove the rotated connection file, which is saved now");
            }
            let name = workspace.clone();
            if let Err(e) = self.on_store(move |s| s.clear_marker(&name)).await {
                tracing::warn!(workspace, error = %e, "Cannot remove the rotation marker; trying again after the next round");
                self.unsettled().insert(workspace.clone());
            }
            tracing::info!(workspace, token_id, "The rotated token kept in memory is saved");
            let mut entry = AuditEntry::new(&workspace, Actor::Daemon, AuditAction::SettleRotation, AuditResult::Ok);
            entry.token_id = Some(token_id);
            entry.detail =
                Some("the rotated token that the store had refused is saved; the workspace uses it".to_owned());
            self.audit(entry).await;
            self.replan(&workspace).await;
        }
    }

    pub(super) fn unsettled(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.unsettled.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
