//! connect: validate a token against an instance and store the connection.
//! On a workspace that does not exist, connect creates it (the seed
//! product's flow: instance URL, default gitlab.com; token; Connect): its
//! settings are the body's instance and repositories, validated as a `PUT
//! /api/v1/workspaces/{ws}` body is, and it is stored, run and audited only
//! once the token has been verified, so a failed connect leaves nothing.

use time::OffsetDateTime;

use super::{ActionError, Actions, token_summary, verify};
use crate::config::instance_url;
use crate::store::{Actor, AuditAction, StoredConnection};
use crate::wire::{ConnectBody, Connected, RepoSummary, UserSummary};

impl Actions {
    pub async fn connect(&self, workspace: &str, req: ConnectBody) -> Result<Connected, ActionError> {
        self.audited(
            workspace,
            Actor::AdminApi,
            AuditAction::Connect,
            self.try_connect(workspace, req),
        )
        .await
    }

    async fn try_connect(&self, workspace: &str, req: ConnectBody) -> Result<Connected, ActionError> {
        let (mut ws, creating) = match self.workspace(workspace) {
            Ok(ws) => (ws, None),
            Err(e) if e.code == "unknown-workspace" => {
                let (ws, settings) = self.new_workspace_for_connect(
                    workspace,
                    req.instance_url.as_deref(),
                    req.repositories.as_deref(),
                )?;
                (ws.clone(), Some((ws, settings)))
            }
            Err(e) => return Err(e),
        };
        // The workspace's configured instance (itself https://gitlab.com
        // when the config names none) unless the request says otherwise.
        let configured = instance_url::display(&ws.instance_url);
        let raw = req
            .instance_url
            .as_deref()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or(&configured);
        let url = instance_url::normalize(raw).map_err(|m| ActionError::new(422, "instance-url-invalid", m))?;
        if !self.runtime.config().instance_allowed(&url) {
            return Err(ActionError::new(
                403,
                "instance-not-allowed",
                format!(
                    "{} is not in `allowed_instances`; ask the operator to add it to the config.",
                    instance_url::display(&url)
                ),
            ));
        }
        ws.instance_url = url.clone();
        verify::reachable(&ws).await?;
        let client = self.client(&ws, &url, req.token.clone())?;
        let (info, user) = verify::identify(&client, &ws).await?;
        let name = workspace.to_owned();
        let existing = self
            .on_store(move |s| s.load(&name))
            .await
            .map_err(|e| super::store_failed(workspace, e))?;
        if let Some(existing) = &existing {
            if existing.user_id != user.id || existing.instance_url != instance_url::display(&url) {
                return Err(ActionError::new(
                    409,
                    "conflict",
                    format!(
                        "Workspace `{workspace}` is connected to @{} on {}; one account per workspace: disconnect first (`labwatch disconnect --workspace {workspace}`).",
                        existing.username, existing.instance_url
                    ),
                ));
            }
        }
        verify::scopes(&info, &ws)?;
        let watched = match &req.repositories {
            Some(list) => Some(verify::repositories(&client, &ws, list).await?),
            None => None,
        };
        let (page, next) = client.member_projects_page(None, 1).await.unwrap_or_default();
        let conn = StoredConnection {
            workspace: workspace.to_owned(),
            instance_url: instance_url::display(&url),
            token: req.token,
            user_id: user.id,
            username: user.username.clone(),
            token_id: info.id,
            token_name: info.name.clone(),
            scopes: info.scopes.clone(),
            expires_at: info.expires_at,
            created_at: info.created_at,
            connected_at: OffsetDateTime::now_utc(),
            // Reconnecting keeps an earlier choice unless a new one is given.
            repositories: watched.or_else(|| existing.and_then(|e| e.repositories)),
        };
        if let Some((new, settings)) = creating {
            // The workspace's record before its connection: a crash in
            // between leaves a workspace to connect again, never a
            // connection without its workspace.
            let lock = self.rotation_lock(workspace);
            let _guard = lock.lock().await;
            self.create_for_connect(new, settings).await?;
        }
        // The store refuses what it could not read back (a huge scope
        // list): nothing is written and the earlier file stays as it was.
        self.save_replacing(conn.clone())
            .await
            .map_err(|e| super::store_failed(workspace, e))?;
        // The connection supersedes an earlier disconnect. A record left
        // behind changes nothing while the connection exists, and the next
        // disconnect writes a new one: worth a warning, not a failure.
        let name = workspace.to_owned();
        if let Err(e) = self.on_store(move |s| s.clear_disconnected(&name)).await {
            tracing::warn!(workspace, error = %e, "Cannot remove the disconnect record");
        }
        self.replan(workspace).await;
        Ok(Connected {
            workspace: workspace.to_owned(),
            instance_url: conn.instance_url.clone(),
            user: UserSummary {
                id: user.id,
                username: user.username,
            },
            token: token_summary(&conn),
            watched: conn
                .repositories
                .clone()
                .unwrap_or_else(|| ws.repositories.iter().map(|r| r.key()).collect()),
            accessible: page.iter().map(RepoSummary::from).collect(),
            accessible_next_page: next,
        })
    }
}
