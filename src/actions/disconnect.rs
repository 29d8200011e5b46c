//! disconnect: forget the connection, optionally revoking the token first.

use serde::Serialize;

use super::{ActionError, Actions, Actor};
use crate::config::instance_url;
use crate::connections::ConnectionView;
use crate::gitlab::GitlabError;

#[derive(Debug, Serialize)]
pub struct Disconnected {
    pub workspace: String,
    pub token_revoked: bool,
}

impl Actions {
    pub async fn disconnect(&self, workspace: &str, revoke: bool) -> Result<Disconnected, ActionError> {
        let result = self.try_disconnect(workspace, revoke).await;
        match &result {
            Ok(d) => self.audit(
                workspace,
                Actor::AdminApi,
                "disconnect",
                "ok",
                None,
                Some(format!("token revoked: {}", d.token_revoked)),
            ),
            Err(e) => self.audit(
                workspace,
                Actor::AdminApi,
                "disconnect",
                &e.code,
                None,
                Some(e.message.clone()),
            ),
        }
        result
    }

    async fn try_disconnect(&self, workspace: &str, revoke: bool) -> Result<Disconnected, ActionError> {
        let mut ws = self.workspace(workspace)?;
        let conn = self.connection(workspace)?;
        let mut token_revoked = false;
        if revoke {
            ws.instance_url =
                instance_url::normalize(&conn.instance_url).map_err(|m| ActionError::new(500, "store-error", m))?;
            let client = self.client(&ws, &ws.instance_url.clone(), conn.token.clone())?;
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
        self.store.remove(workspace).map_err(super::store_error)?;
        self.engine()
            .shared()
            .connections
            .set(workspace, ConnectionView::default());
        self.replan(workspace);
        Ok(Disconnected {
            workspace: workspace.to_owned(),
            token_revoked,
        })
    }
}
