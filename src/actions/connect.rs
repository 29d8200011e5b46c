//! connect: validate a token against an instance and store the connection.
//! On a workspace that does not exist, connect creates it (the seed
//! product's flow: instance URL, default gitlab.com; token; Connect): its
//! settings are the body's instance and repositories, validated as a `PUT
//! /api/v1/workspaces/{ws}` body is, and it is stored, run and audited only
//! once the token has been verified, so a failed connect leaves nothing.

use time::OffsetDateTime;

use super::adopt::{InUse, Source, account, no_longer_works};
use super::{ActionError, Actions, token_summary, verify};
use crate::config::{WorkspaceConfig, instance_url};
use crate::engine::Reason;
use crate::store::{Actor, AuditAction, StoredConnection};
use crate::wire::{Account, ConnectBody, Connected, UserSummary};

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
        let configured_ws = ws.clone();
        ws.instance_url = url.clone();
        verify::reachable(&ws).await?;
        let client = self.client(&ws, &url, req.token.clone())?;
        let (info, user) = verify::identify(&client, &ws).await?;
        let shared_warning = self.token_shared(workspace, &instance_url::display(&url), info.id, req.force)?;
        // One GitLab account per workspace, whether the store or its
        // token_file connects it now.
        let current = match creating {
            Some(_) => None,
            None => self.current(&configured_ws, req.replace).await?,
        };
        let same = current
            .as_ref()
            .is_some_and(|c| c.conn.user_id == user.id && c.conn.instance_url == instance_url::display(&url));
        let replaced = match &current {
            Some(c) if !same => {
                if !req.replace {
                    let offered = format!("@{} on {}", user.username, instance_url::display(&url));
                    return Err(ActionError::account_mismatch(
                        workspace,
                        &account(&c.conn, c.from_file),
                        &offered,
                    ));
                }
                Some(Account {
                    instance_url: c.conn.instance_url.clone(),
                    user: UserSummary {
                        id: c.conn.user_id,
                        username: c.conn.username.clone(),
                    },
                })
            }
            _ => None,
        };
        verify::scopes(&info, &ws)?;
        // Chosen here as with `PUT …/repositories`: an archived or
        // repository-disabled project is watched, and said so.
        let (watched, mut warnings) = match &req.repositories {
            Some(list) => {
                let projects = verify::projects(&client, &ws, list).await?;
                let shown = instance_url::display(&url);
                let warnings = projects
                    .iter()
                    .filter_map(|p| super::repositories::selection_warning(p, workspace, &shown))
                    .collect();
                (
                    Some(projects.into_iter().map(|p| p.path_with_namespace).collect()),
                    warnings,
                )
            }
            None => (None, Vec::new()),
        };
        warnings.extend(shared_warning);
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
            repositories: watched.or_else(|| current.as_ref().and_then(|c| c.conn.repositories.clone())),
        };
        if let Some((new, settings)) = creating {
            // The workspace's record before its connection: a crash in
            // between leaves a workspace to connect again, never a
            // connection without its workspace.
            let lock = self.rotation_lock(workspace);
            let _guard = lock.lock().await;
            self.create_for_connect(new, settings).await?;
        }
        // The same account through token_file: its token goes into the
        // store first (and is audited), as for any action that needs the
        // store's copy; the new token then replaces it there.
        let adopted = match current.as_ref().filter(|_| same) {
            Some(c) => self.adopt(c, Actor::AdminApi).await?,
            None => false,
        };
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
            accessible: page
                .iter()
                .map(|p| super::repositories::judged(p, Some(&conn.scopes), &ws))
                .collect(),
            accessible_next_page: next,
            adopted,
            replaced,
            warnings,
        })
    }
}

impl Actions {
    /// The connection `ws` has now, for connect's one-account rule: the
    /// store's, or its token_file's token as GitLab identifies it. `None`
    /// when there is neither, or when the file's token no longer works (no
    /// account is left to protect); with `replace`, also when GitLab could
    /// not say whose the file's token is.
    async fn current(&self, ws: &WorkspaceConfig, replace: bool) -> Result<Option<InUse>, ActionError> {
        let token = match self.source(ws).await {
            Ok(Source::Stored(conn)) => return Ok(Some(InUse { conn, from_file: false })),
            Ok(Source::File(token)) => token,
            Err(e) if e.code == Reason::NotConnected.code() => return Ok(None),
            Err(e) => return Err(e),
        };
        match self.file_connection(ws, token).await {
            Ok(conn) => Ok(Some(InUse { conn, from_file: true })),
            Err(e) if replace || no_longer_works(&e) => Ok(None),
            Err(mut e) => {
                e.message = format!(
                    "Cannot tell whose token the token_file of workspace `{}` holds, so the new connection could be another account's: {}",
                    ws.name, e.message
                );
                Err(e)
            }
        }
    }
}
