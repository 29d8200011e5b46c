//! update token: a person supplies a new token for the same account.

use secrecy::SecretString;

use super::adopt::account;
use super::{ActionError, Actions, token_summary, verify};
use crate::store::{Actor, AuditAction, StoredConnection};
use crate::wire::Updated;

impl Actions {
    pub async fn update_token(
        &self,
        workspace: &str,
        token: SecretString,
        revoke_old: bool,
    ) -> Result<Updated, ActionError> {
        self.audited(
            workspace,
            Actor::AdminApi,
            AuditAction::UpdateToken,
            self.try_update(workspace, token, revoke_old),
        )
        .await
    }

    async fn try_update(&self, workspace: &str, token: SecretString, revoke_old: bool) -> Result<Updated, ActionError> {
        let (ws, in_use) = self.in_use(workspace).await?;
        let old = in_use.conn.clone();
        let client = self.client(&ws, &ws.instance_url.clone(), token.clone())?;
        let (info, user) = verify::identify(&client, &ws).await?;
        if user.id != old.user_id {
            let current = account(&old, in_use.from_file);
            return Err(ActionError::account_mismatch(
                workspace,
                &current,
                &format!("@{} on {}", user.username, old.instance_url),
            ));
        }
        // The connection is the store's from now on: the old token's
        // record goes there before the new one replaces it.
        let adopted = self.adopt(&in_use, Actor::AdminApi).await?;
        let new = StoredConnection {
            token,
            token_id: info.id,
            token_name: info.name.clone(),
            scopes: info.scopes.clone(),
            expires_at: info.expires_at,
            created_at: info.created_at,
            username: user.username,
            ..old.clone()
        };
        // The new token is on disk before the old one is touched.
        self.save_replacing(new.clone())
            .await
            .map_err(|e| super::store_failed(workspace, e))?;
        self.replan(workspace).await;
        let (old_token_revoked, revoke_error) = if revoke_old && old.token_id != new.token_id {
            let old_client = self.client(&ws, &ws.instance_url.clone(), old.token.clone())?;
            match old_client.revoke_self().await {
                Ok(()) => (true, None),
                Err(e) => (
                    false,
                    Some(format!(
                        "The old token could not be revoked: {e}. Revoke it in GitLab (Preferences → Access Tokens)."
                    )),
                ),
            }
        } else {
            (false, None)
        };
        Ok(Updated {
            workspace: workspace.to_owned(),
            token: token_summary(&new),
            previous_token_id: old.token_id,
            old_token_revoked,
            revoke_error,
            adopted,
        })
    }
}
