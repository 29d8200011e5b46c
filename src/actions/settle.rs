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

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use super::Actions;
use super::renewal::token_check;
use crate::config::instance_url;
use crate::engine::{Reason, StatusStore};
use crate::store::{Actor, AuditAction, AuditEntry, AuditResult, RotationLock, Slot, StoreError, StoredConnection};

/// Replicas: the longest a marker left by a replica that does not own its
/// workspace waits for the owner to look.
const LOOK_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// Whether a kept rotated token is still the workspace's newest.
enum Superseded {
    /// It is: saved under this lock across replicas.
    No(RotationLock),
    Yes,
}

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
    /// settled, or remembered to be settled after its next round. One
    /// listing per kind of record, not a read per workspace: at fleet size
    /// that would be thousands of store calls before serving.
    ///
    /// Replicas own nothing yet at start: each looks at the workspaces it
    /// gains, after its rounds ([`Actions::settle_where_the_token_works`]).
    pub async fn settle_interrupted_rotations(&self) {
        if self.runtime.ownership().is_some() {
            return;
        }
        for ws in self.configured_with(Slot::Rotated).await {
            self.pick_up_rotated(&ws).await;
        }
        for ws in self.configured_with(Slot::Marker).await {
            if self.settle(&ws, "at start").await == Settlement::Open {
                self.unsettled().insert(ws);
            }
        }
    }

    /// The configured workspaces that have a record of `slot`. A store
    /// that cannot list them is logged: the token check reads the marker
    /// too, and reports that error where it matters.
    async fn configured_with(&self, slot: Slot) -> Vec<String> {
        match self.on_store(move |s| s.names(slot)).await {
            // A lookup per record: there are few (a marker lives while its
            // rotation runs), and the fleet may be large.
            Ok(names) => names
                .into_iter()
                .filter(|ws| self.runtime.workspace_config(ws).is_some())
                .collect(),
            Err(e) => {
                tracing::error!(error = %e, "Cannot list the {} records", slot.table());
                Vec::new()
            }
        }
    }

    /// Replicas: the rotations a replica left behind (it died, lost the
    /// lease, or rotated for an admin or an alert a workspace it does not
    /// own, and could not remove the marker) are picked up by the owner, as
    /// a single daemon does at start: when a lease round gained
    /// workspaces, and every [`LOOK_EVERY`] in any case. A listing of a
    /// table that holds a row only while a rotation runs or waits.
    async fn find_rotations_left_behind(&self) {
        let Some(ownership) = self.runtime.ownership() else {
            return;
        };
        let gains = ownership.gains();
        let gained = self.gains_seen.swap(gains, Ordering::Relaxed) != gains;
        let due = {
            let mut last = self
                .looked_for_markers_at
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let due = gained || last.is_none_or(|at| at.elapsed() >= LOOK_EVERY);
            if due {
                *last = Some(tokio::time::Instant::now());
            }
            due
        };
        if !due {
            return;
        }
        for ws in self.configured_with(Slot::Rotated).await {
            if ownership.epoch(&ws).is_some() && !self.kept().contains_key(&ws) {
                self.pick_up_rotated(&ws).await;
            }
        }
        for ws in self.configured_with(Slot::Marker).await {
            if ownership.epoch(&ws).is_some() {
                self.unsettled().insert(ws);
            }
        }
    }

    /// After a round: settles the workspaces left open whose token check
    /// passed, which means GitLab answers again.
    pub(super) async fn settle_where_the_token_works(&self, status: &StatusStore) {
        self.find_rotations_left_behind().await;
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
            if self.settle(&ws, "after a round").await == Settlement::Done {
                self.unsettled().remove(&ws);
            }
        }
    }

    /// Asks GitLab whether the stored token of `workspace`, which has a
    /// rotation marker, still works, and acts on the answer. Under both
    /// rotation locks (this daemon's and, on PostgreSQL, the one across
    /// replicas): the marker of a rotation running anywhere is that
    /// rotation's to remove. A replica settles only what it owns, and
    /// removes the marker only while its lease holds (the fence).
    async fn settle(&self, workspace: &str, when: &str) -> Settlement {
        let lock = self.rotation_lock(workspace);
        // A rotation running now writes and removes its own marker.
        let Ok(_guard) = lock.try_lock() else {
            return Settlement::Open;
        };
        // Its new token waits in memory for the store; saving it settles it.
        if self.kept().contains_key(workspace) {
            return Settlement::Open;
        }
        let fence = match self.runtime.ownership() {
            None => None,
            Some(o) => match o.epoch(workspace) {
                Some(epoch) => Some((o.replica().to_owned(), epoch)),
                // Its owner settles it.
                None => return Settlement::Done,
            },
        };
        let name = workspace.to_owned();
        let shared = match self.on_store(move |s| s.try_rotation_lock(&name)).await {
            Ok(Some(shared)) => shared,
            Ok(None) | Err(_) => return Settlement::Open,
        };
        // Read under the locks: a rotation that ended meanwhile removed it.
        let name = workspace.to_owned();
        let marker = match self.on_store(move |s| s.read_marker(&name)).await {
            Ok(Some(marker)) => marker,
            Ok(None) => return Settlement::Done,
            // The token check reads the marker too, and reports the error.
            Err(e) => {
                tracing::error!(workspace, error = %e, "Cannot read the rotation marker");
                return Settlement::Open;
            }
        };
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
                let held = Arc::new(shared);
                match self.on_store(move |s| s.clear_marker_locked(&held, &name, fence)).await {
                    Ok(()) => {}
                    // The lease moved on: the new owner settles it.
                    Err(StoreError::Fenced { .. }) => return Settlement::Done,
                    Err(e) => {
                        tracing::warn!(workspace, error = %e, "Cannot remove the rotation marker; trying again after the next round");
                        return Settlement::Open;
                    }
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
            // Replicas: a connect or disconnect on another replica takes
            // the lock across replicas, and supersedes the kept token.
            let _shared = match self.runtime.ownership() {
                None => None,
                Some(_) => match self.superseded_elsewhere(&conn).await {
                    Some(Superseded::No(shared)) => Some(shared),
                    Some(Superseded::Yes) => {
                        self.forget_kept(&workspace).await;
                        continue;
                    }
                    None => continue,
                },
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

    /// Under the rotation lock across replicas: whether the connection
    /// stored now is still the one the kept rotation replaced (the marker's
    /// old token). `None`: the lock is held elsewhere or the store cannot
    /// tell now; try again after the next round.
    async fn superseded_elsewhere(&self, kept: &StoredConnection) -> Option<Superseded> {
        let name = kept.workspace.clone();
        let shared = self.on_store(move |s| s.try_rotation_lock(&name)).await.ok()??;
        let name = kept.workspace.clone();
        let marker = self.on_store(move |s| s.read_marker(&name)).await.ok()?;
        let name = kept.workspace.clone();
        let stored = self.on_store(move |s| s.load(&name)).await.ok()?;
        // Without a marker there is nothing to compare with: keeping the
        // token is the side that cannot lose one.
        let replaced = marker.map(|m| m.old_token_id);
        match stored {
            Some(now) if now.token_id == kept.token_id || replaced.is_none_or(|old| old == now.token_id) => {
                Some(Superseded::No(shared))
            }
            _ => {
                tracing::warn!(
                    workspace = %kept.workspace,
                    token_id = kept.token_id,
                    "Another replica connected or disconnected the workspace since its rotation; the rotated token kept here is not saved"
                );
                Some(Superseded::Yes)
            }
        }
    }

    pub(super) fn unsettled(&self) -> std::sync::MutexGuard<'_, std::collections::BTreeSet<String>> {
        self.unsettled.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
