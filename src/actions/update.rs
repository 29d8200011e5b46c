//! update token: a person supplies a new token for the same account.

use secrecy::SecretString;

use super::{ActionError, Actions, token_summary, verify};
use crate::config::instance_url;
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
        let mut ws = self.workspace(workspace)?;
        let old = self.connection(workspace).await?;
        ws.instance_url =
            instance_url::normalize(&old.instance_url).map_err(|m| ActionError::new(500, "store-error", m))?;
        let client = self.client(&ws, &ws.instance_url.clone(), token.clone())?;
        let (info, user) = verify::identify(&client, &ws).await?;
        if user.id != old.user_id {
            return Err(ActionError::new(
                409,
                "conflict",
                format!(
                    "The new token belongs to @{} but workspace `{workspace}` is connected to @{}; a token of the same account is needed (or disconnect and connect the other account).",
                    user.username, old.username
                ),
            ));
        }
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
        })
    }
}
