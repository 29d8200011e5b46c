//! update token: a person supplies a new token for the same account. The
//! answer says what became of the old token as GitLab tells it: revoked by
//! this update (`revoke_old`), still working, or already dead.

use secrecy::SecretString;

use super::adopt::account;
use super::{ActionError, Actions, token_summary, verify};
use crate::gitlab::{GitlabClient, GitlabError};
use crate::store::{Actor, AuditAction, StoredConnection};
use crate::wire::{OldTokenState, Updated};

impl Actions {
    /// A new token for the workspace; refused (409 `token-shared`) when
    /// another workspace uses it.
    pub async fn update_token(
        &self,
        workspace: &str,
        token: SecretString,
        revoke_old: bool,
    ) -> Result<Updated, ActionError> {
        self.update_token_with(workspace, token, revoke_old, false).await
    }

    /// [`Actions::update_token`]; `force`: take a token another workspace
    /// uses, with a warning (see `sharing`).
    pub async fn update_token_with(
        &self,
        workspace: &str,
        token: SecretString,
        revoke_old: bool,
        force: bool,
    ) -> Result<Updated, ActionError> {
        self.audited(
            workspace,
            Actor::AdminApi,
            AuditAction::UpdateToken,
            self.try_update(workspace, token, revoke_old, force),
        )
        .await
    }

    async fn try_update(
        &self,
        workspace: &str,
        token: SecretString,
        revoke_old: bool,
        force: bool,
    ) -> Result<Updated, ActionError> {
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
        let warnings = self.token_shared(workspace, &old.instance_url, info.id, force)?;
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
        // What the answer says of the old token must be true: a renew is
        // often the fix for a token GitLab already revoked or let expire,
        // so GitLab is asked before anything is said or revoked.
        let (mut old_token_revoked, mut revoke_error, mut old_token_state) = (false, None, None);
        if old.token_id != new.token_id {
            let old_client = self.client(&ws, &ws.instance_url.clone(), old.token.clone())?;
            let state = old_token_state_at(&old_client).await;
            if revoke_old && matches!(state, OldTokenState::Active | OldTokenState::Unknown) {
                match old_client.revoke_self().await {
                    Ok(()) => old_token_revoked = true,
                    Err(e) => {
                        revoke_error = Some(format!(
                            "The old token could not be revoked: {e}. Revoke it in GitLab (Preferences → Access Tokens)."
                        ))
                    }
                }
            }
            if !old_token_revoked {
                old_token_state = Some(state);
            }
        }
        Ok(Updated {
            workspace: workspace.to_owned(),
            token: token_summary(&new),
            previous_token_id: old.token_id,
            old_token_revoked,
            revoke_error,
            old_token_state,
            adopted,
            warnings,
        })
    }
}

/// The old token as GitLab sees it now, through a client holding it.
async fn old_token_state_at(client: &GitlabClient) -> OldTokenState {
    match client.token_self().await {
        Ok(info) if info.revoked => OldTokenState::Revoked,
        Ok(info) if !info.active => OldTokenState::Expired,
        Ok(_) => OldTokenState::Active,
        Err(e) => match e.root() {
            GitlabError::TokenRevoked => OldTokenState::Revoked,
            GitlabError::TokenExpired => OldTokenState::Expired,
            GitlabError::TokenUnknown => OldTokenState::Rejected,
            _ => OldTokenState::Unknown,
        },
    }
}
