//! disconnect: forget the connection, optionally revoking the token first.
//! A workspace connected by the config's bootstrap `token_file` alone can be
//! disconnected too. Either way a disconnect record stays in the store, so
//! that file does not connect the workspace again while it holds the same
//! token (see [`crate::store::DisconnectRecord`]).
//!
//! A connection file that cannot be read (wrong key, damaged, too large, a
//! pipe or link planted in its place) does not stop a disconnect: the file
//! is set aside, never deleted, and the answer says what was lost (its token
//! could not be revoked). Nobody has to delete store files by hand.

use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::{ActionError, Actions};
use crate::checks;
use crate::config::instance_url;
use crate::gitlab::GitlabError;
use crate::store::{Actor, AuditAction, DisconnectRecord};
use crate::wire::Disconnected;

/// What the store held for the workspace being disconnected.
enum Stored {
    /// A connection file that was read.
    Readable,
    /// A connection file that cannot be read; the store's error says why.
    Unreadable(String),
    /// No file: the workspace used the bootstrap `token_file`.
    No,
}

/// What a person must know after disconnecting from an unreadable file.
fn lost_note(problem: &str, aside: Option<&crate::store::Place>, revoke: bool) -> String {
    let aside = aside.map_or_else(
        || "it was gone by the time labwatch moved it".to_owned(),
        |p| format!("it was set aside as {p}"),
    );
    let revoke = if revoke {
        "Its token could not be revoked because it could not be read"
    } else {
        "Its token was not revoked"
    };
    format!(
        "The stored connection could not be read, so its token is lost to labwatch ({problem}); {aside}. \
         {revoke}: revoke it in GitLab (Preferences → Access Tokens) if it still works, \
         and delete what was set aside once it is no longer needed (with the right store key it can still be read)."
    )
}

impl Actions {
    pub async fn disconnect(&self, workspace: &str, revoke: bool) -> Result<Disconnected, ActionError> {
        self.audited(
            workspace,
            Actor::AdminApi,
            AuditAction::Disconnect,
            self.try_disconnect(workspace, revoke),
        )
        .await
    }

    async fn try_disconnect(&self, workspace: &str, revoke: bool) -> Result<Disconnected, ActionError> {
        let mut ws = self.workspace(workspace)?;
        let file_token = checks::read_token(&ws);
        // The token in use: the stored connection's, else the bootstrap
        // file's, unless an earlier disconnect already silenced that one.
        let name = workspace.to_owned();
        let (token, stored) = match self.on_store(move |s| s.load(&name)).await {
            Ok(Some(conn)) => {
                ws.instance_url =
                    instance_url::normalize(&conn.instance_url).map_err(|m| ActionError::new(500, "store-error", m))?;
                (Some(conn.token), Stored::Readable)
            }
            Err(e) if e.is_unreadable_file() => {
                tracing::warn!(workspace, error = %e, "Disconnecting a workspace whose connection file cannot be read");
                (None, Stored::Unreadable(e.to_string()))
            }
            Err(e) => return Err(super::store_failed(workspace, e)),
            Ok(None) => {
                let name = workspace.to_owned();
                let earlier = self
                    .on_store(move |s| s.read_disconnected(&name))
                    .await
                    .map_err(super::store_error)?;
                match &file_token {
                    Some(t) if !earlier.is_some_and(|d| d.silences(t.expose_secret())) => (Some(t.clone()), Stored::No),
                    _ => return Err(ActionError::not_connected(workspace)),
                }
            }
        };
        // An unreadable file's token is unknown: it cannot be revoked, and
        // the answer says so.
        let token_revoked = match (revoke, token) {
            (true, Some(token)) => self.revoke(&ws, token, "the connection is kept", "disconnect").await?,
            _ => false,
        };
        // Written before the connection goes: there is no moment in which a
        // reload could connect the workspace again from its token_file.
        let record = DisconnectRecord::new(
            workspace,
            OffsetDateTime::now_utc(),
            file_token.as_ref().map(|t| t.expose_secret()),
        );
        self.on_store(move |s| s.write_disconnected(&record))
            .await
            .map_err(super::store_error)?;
        let name = workspace.to_owned();
        // A kept rotated token saved after a round would connect the
        // workspace again: that takes the rotation lock too.
        let lock = self.rotation_lock(workspace);
        let guard = lock.lock().await;
        let lost = match stored {
            Stored::Readable => {
                self.on_store(move |s| s.remove(&name))
                    .await
                    .map_err(super::store_error)?;
                None
            }
            Stored::Unreadable(problem) => {
                let aside = self
                    .on_store(move |s| s.set_aside(&name))
                    .await
                    .map_err(super::store_error)?;
                Some(lost_note(&problem, aside.as_ref(), revoke))
            }
            Stored::No => None,
        };
        self.forget_kept(workspace).await;
        drop(guard);
        // The re-planned workspace has no token: `/status` shows it
        // disconnected at once.
        self.replan(workspace).await;
        Ok(Disconnected {
            workspace: workspace.to_owned(),
            token_revoked,
            lost,
        })
    }
}

impl Actions {
    /// Revokes `token` at `ws`'s instance before the connection (or the
    /// workspace) goes: true when GitLab revoked it, false when it was
    /// already unusable; a 502 `revoke-failed` that says `kept` (what stays
    /// as it was) and how to go on without revoking (`undo`: the action to
    /// repeat without `revoke`) when GitLab would not.
    pub(super) async fn revoke(
        &self,
        ws: &crate::config::WorkspaceConfig,
        token: secrecy::SecretString,
        kept: &str,
        undo: &str,
    ) -> Result<bool, ActionError> {
        let client = self.client(ws, &ws.instance_url.clone(), token)?;
        match client.revoke_self().await {
            Ok(()) => Ok(true),
            // Already unusable: nothing left to revoke.
            Err(GitlabError::TokenRevoked | GitlabError::TokenExpired | GitlabError::TokenUnknown) => Ok(false),
            Err(e) => Err(ActionError::new(
                502,
                "revoke-failed",
                format!(
                    "GitLab did not revoke the token ({e}); {kept}. Retry, or {undo} without revoking and revoke the token in GitLab."
                ),
            )),
        }
    }
}
