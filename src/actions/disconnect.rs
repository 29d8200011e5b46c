//! disconnect: forget the connection, optionally revoking the token first.
//! A workspace connected by the config's bootstrap `token_file` alone can be
//! disconnected too. Either way a disconnect record stays in the store, so
//! that file does not connect the workspace again while it holds the same
//! token (see [`crate::store::DisconnectRecord`]).

use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::{ActionError, Actions};
use crate::checks;
use crate::config::instance_url;
use crate::gitlab::GitlabError;
use crate::store::{Actor, AuditAction, DisconnectRecord};
use crate::wire::Disconnected;

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
        let (token, stored) = match self.store.load(workspace).map_err(super::store_error)? {
            Some(conn) => {
                ws.instance_url =
                    instance_url::normalize(&conn.instance_url).map_err(|m| ActionError::new(500, "store-error", m))?;
                (conn.token, true)
            }
            None => {
                let earlier = self.store.read_disconnected(workspace).map_err(super::store_error)?;
                match &file_token {
                    Some(t) if !earlier.is_some_and(|d| d.silences(t.expose_secret())) => (t.clone(), false),
                    _ => return Err(ActionError::not_connected(workspace)),
                }
            }
        };
        let mut token_revoked = false;
        if revoke {
            let client = self.client(&ws, &ws.instance_url.clone(), token)?;
            match client.revoke_self().await {
                Ok(()) => token_revoked = true,
                // Already unusable: nothing left to revoke.
                Err(GitlabError::TokenRevoked | GitlabError::TokenExpired | GitlabError::TokenUnknown) => {}
                Err(e) => {
                    return Err(ActionError::new(
                        502,
                        "revoke-failed",
                        format!(
                            "GitLab did not revoke the token ({e}); the connection is kept. Retry, or disconnect without revoking and revoke it in GitLab."
                        ),
                    ));
                }
            }
        }
        // Written before the connection goes: there is no moment in which a
        // reload could connect the workspace again from its token_file.
        let record = DisconnectRecord::new(
            workspace,
            OffsetDateTime::now_utc(),
            file_token.as_ref().map(|t| t.expose_secret()),
        );
        self.store.write_disconnected(&record).map_err(super::store_error)?;
        if stored {
            self.store.remove(workspace).map_err(super::store_error)?;
        }
        // The re-planned workspace has no token: `/status` shows it
        // disconnected at once.
        self.replan(workspace);
        Ok(Disconnected {
            workspace: workspace.to_owned(),
            token_revoked,
        })
    }
}
