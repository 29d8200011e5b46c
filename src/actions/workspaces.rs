//! Workspaces as data: create or update (`put`), show, list and delete the
//! workspaces created at run time. The config file's workspaces are shown
//! too, and are read-only here (409 `workspace-in-config`: they change by
//! editing the file). A body is validated by the config's own validator
//! (`config::workspace_body`), stored as `<name>.workspace` before the
//! runtime runs it, and every change leaves an audit line.
//!
//! Deleting follows `disconnect`: with `revoke`, the token is revoked at
//! GitLab first, and a revocation that fails keeps everything and says
//! why (delete without `revoke` to remove the workspace anyway). Then every
//! store file of the workspace goes (the audit log keeps its lines), and
//! its status, history and metric series with it.

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::{ActionError, Actions, audit::Audited};
use crate::config::{FieldError, WorkspaceConfig, workspace_body};
use crate::engine::Reason;
use crate::runtime::{Listed, Origin};
use crate::store::{Actor, AuditAction, WorkspaceRecord};
use crate::wire::{self, WorkspaceDeleted, WorkspaceDoc, WorkspacePage};

/// `per_page` when the caller gives none, and the most it may ask for.
pub const DEFAULT_PER_PAGE: usize = 100;
pub const MAX_PER_PAGE: usize = 1000;

impl Actions {
    /// Creates or replaces run-time workspace `name` with `body`'s settings;
    /// the answer says whether it was created. Only this workspace is
    /// (re)planned; its checks run at once.
    pub async fn put_workspace(&self, name: &str, body: Value) -> Result<(WorkspaceDoc, bool), ActionError> {
        let action = match self.runtime.workspace(name) {
            Some(_) => AuditAction::WorkspaceUpdated,
            None => AuditAction::WorkspaceCreated,
        };
        let put = self.audited(name, Actor::AdminApi, action, self.try_put(name, body));
        put.await.map(|doc| (doc, action == AuditAction::WorkspaceCreated))
    }

    async fn try_put(&self, name: &str, body: Value) -> Result<WorkspaceDoc, ActionError> {
        if let Some(listed) = self.runtime.workspace(name).filter(|w| w.origin == Origin::Config) {
            return Err(self.in_config(&listed));
        }
        let ws = self
            .runtime
            .validate(name, &body)
            .map_err(|errors| ActionError::invalid_workspace(name, errors))?;
        // One change of a workspace at a time, and never under a rotation.
        let lock = self.rotation_lock(name);
        let _guard = lock.lock().await;
        let existing = self.runtime.workspace(name).and_then(|w| w.record);
        self.store_workspace(ws, workspace_body::settings(&body), existing)
            .await
    }

    /// Writes the record, then runs the workspace. The caller holds the
    /// workspace's rotation lock.
    async fn store_workspace(
        &self,
        ws: WorkspaceConfig,
        settings: serde_json::Map<String, Value>,
        existing: Option<WorkspaceRecord>,
    ) -> Result<WorkspaceDoc, ActionError> {
        let now = OffsetDateTime::now_utc();
        let record = WorkspaceRecord {
            workspace: ws.name.clone(),
            settings,
            created_at: existing.map_or(now, |r| r.created_at),
            updated_at: now,
        };
        let name = ws.name.clone();
        let saved = record.clone();
        self.on_store(move |s| s.save_workspace(&saved))
            .await
            .map_err(|e| super::store_failed(&name, e))?;
        // Building reads the stored connection: on the blocking pool.
        let runtime = self.runtime.clone();
        let put = tokio::task::spawn_blocking(move || runtime.put_workspace(record, ws))
            .await
            .map_err(|e| ActionError::new(500, "internal-error", format!("Starting the workspace failed: {e}")))?;
        if put.is_ok() {
            self.tell_replicas(crate::store::Notice::WORKSPACE, &name).await;
        }
        match put {
            Ok(()) => self
                .runtime
                .workspace(&name)
                .map(|l| doc(&l))
                .ok_or_else(|| ActionError::unknown_workspace(&name)),
            // A reload added it to the config file in the meantime.
            Err(listed) => Err(self.in_config(&listed)),
        }
    }

    /// Workspace `name`, of either origin.
    pub fn get_workspace(&self, name: &str) -> Result<WorkspaceDoc, ActionError> {
        self.runtime
            .workspace(name)
            .map(|l| doc(&l))
            .ok_or_else(|| ActionError::unknown_workspace(name))
    }

    /// Workspace `name`'s instance URL and whether it was created at run
    /// time (and so may be deleted), for the page's forms; `None` when
    /// there is no such workspace or its settings do not validate.
    pub fn page_facts(&self, name: &str) -> Option<(String, bool)> {
        let origin = self.runtime.origin(name)?;
        let ws = self.runtime.workspace_config(name)?;
        Some((
            crate::config::instance_url::display(&ws.instance_url),
            origin == Origin::Api,
        ))
    }

    /// Page `page` (from 1) of every workspace, by name.
    pub fn list_workspaces(&self, page: usize, per_page: usize) -> WorkspacePage {
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let offset = page.saturating_sub(1).saturating_mul(per_page);
        let (total, listed) = self.runtime.list(offset, per_page);
        WorkspacePage {
            total,
            page,
            per_page,
            next_page: (offset.saturating_add(per_page) < total).then_some(page + 1),
            workspaces: listed.iter().map(doc).collect(),
        }
    }

    /// Deletes run-time workspace `name` and every trace of it, revoking its
    /// token first when asked.
    pub async fn delete_workspace(&self, name: &str, revoke: bool) -> Result<WorkspaceDeleted, ActionError> {
        let work = self.try_delete(name, revoke);
        self.audited(name, Actor::AdminApi, AuditAction::WorkspaceDeleted, work)
            .await
    }

    async fn try_delete(&self, name: &str, revoke: bool) -> Result<WorkspaceDeleted, ActionError> {
        let listed = self
            .runtime
            .workspace(name)
            .ok_or_else(|| ActionError::unknown_workspace(name))?;
        if listed.origin == Origin::Config {
            return Err(self.in_config(&listed));
        }
        let lock = self.rotation_lock(name);
        let guard = lock.lock().await;
        let owned = name.to_owned();
        let (token, lost) = match self.on_store(move |s| s.load(&owned)).await {
            Ok(conn) => (conn.map(|c| (c.instance_url, c.token)), None),
            Err(e) if e.is_unreadable_file() && revoke => {
                return Err(ActionError::new(409, Reason::StoreUnreadable.code(), e.to_string()).with_steps(vec![
                    "Its token cannot be revoked because its connection file cannot be read.".to_owned(),
                    format!("Delete without revoking (`labwatch workspaces delete {name}`), which removes the file, then revoke the token in GitLab (Preferences → Access Tokens)."),
                ]));
            }
            Err(e) if e.is_unreadable_file() => (
                None,
                Some(format!(
                    "The stored connection could not be read ({e}); it was removed with the workspace, and its token was not revoked: revoke it in GitLab (Preferences → Access Tokens) if it still works."
                )),
            ),
            Err(e) => return Err(super::store_failed(name, e)),
        };
        let mut token_revoked = false;
        if let (true, Some((instance, token))) = (revoke, token) {
            let Some(mut ws) = listed.config.as_deref().cloned() else {
                return Err(ActionError::workspace_invalid(name, &listed.errors).with_steps(vec![
                    format!("Delete without revoking (`labwatch workspaces delete {name}`), then revoke the token in GitLab (Preferences → Access Tokens)."),
                ]));
            };
            ws.instance_url = crate::config::instance_url::normalize(&instance)
                .map_err(|m| ActionError::new(500, "store-error", m))?;
            token_revoked = self.revoke(&ws, token, "the workspace is kept", "delete it").await?;
        }
        let owned = name.to_owned();
        let removed_files = self
            .on_store(move |s| s.remove_workspace(&owned))
            .await
            .map_err(super::store_error)?;
        self.forget_kept(name).await;
        drop(guard);
        drop(lock);
        self.runtime.remove_workspace(name);
        self.forget_workspace(name);
        self.tell_replicas(crate::store::Notice::WORKSPACE, name).await;
        Ok(WorkspaceDeleted {
            workspace: name.to_owned(),
            token_revoked,
            removed_files,
            lost,
        })
    }

    /// What `connect` on an unknown workspace creates: the connect body's
    /// instance (else gitlab.com) and repositories, validated as a `PUT`
    /// body is. Nothing is stored until the connection is.
    pub(super) fn new_workspace_for_connect(
        &self,
        name: &str,
        instance_url: Option<&str>,
        repositories: Option<&[String]>,
    ) -> Result<(WorkspaceConfig, serde_json::Map<String, Value>), ActionError> {
        let mut body = json!({});
        if let Some(url) = instance_url.filter(|u| !u.trim().is_empty()) {
            body["instance_url"] = url.into();
        }
        if let Some(repos) = repositories {
            body["repositories"] = repos.into();
        }
        let ws = self
            .runtime
            .validate(name, &body)
            .map_err(|errors| ActionError::invalid_workspace(name, errors))?;
        Ok((ws, workspace_body::settings(&body)))
    }

    /// Stores and runs a workspace `connect` created, with its audit line.
    /// The caller holds the workspace's rotation lock.
    pub(super) async fn create_for_connect(
        &self,
        ws: WorkspaceConfig,
        settings: serde_json::Map<String, Value>,
    ) -> Result<(), ActionError> {
        let name = ws.name.clone();
        let create = async { self.store_workspace(ws, settings, None).await.map(Created) };
        self.audited(&name, Actor::AdminApi, AuditAction::WorkspaceCreated, create)
            .await
            .map(|_| ())
    }

    /// Forgets what the actions keep per workspace, so a fleet that comes
    /// and goes does not grow them.
    fn forget_workspace(&self, name: &str) {
        let mut locks = self.rotations.lock().unwrap_or_else(|e| e.into_inner());
        // Only when no action still holds or waits on it: one that does
        // would otherwise hold a lock that a workspace created again under
        // the name no longer shares.
        if locks
            .get(name)
            .is_some_and(|lock| std::sync::Arc::strong_count(lock) == 1)
        {
            locks.remove(name);
        }
        drop(locks);
        self.last_run
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&Some(name.to_owned()));
        self.unsettled().remove(name);
    }

    /// 409 `workspace-in-config`: the file's workspaces change in the file.
    fn in_config(&self, listed: &Listed) -> ActionError {
        let file = self.runtime.config().source.display().to_string();
        ActionError::new(
            409,
            "workspace-in-config",
            format!(
                "Workspace `{}` is defined in the config file {file}; the admin API cannot change or delete it.",
                listed.name
            ),
        )
        .with_steps(vec![
            format!(
                "Edit its [[workspace]] table in {file}, then reload labwatch (SIGHUP, or `systemctl reload labwatch`)."
            ),
            "Or create a workspace of another name through the API.".to_owned(),
        ])
    }
}

/// The answer of a workspace `connect` created, for its audit line.
struct Created(WorkspaceDoc);

impl Audited for Created {
    fn detail(&self) -> String {
        format!("created by connect, origin {}", self.0.origin)
    }
}

impl Audited for WorkspaceDoc {
    fn detail(&self) -> String {
        let instance = self.settings.get("instance_url").and_then(Value::as_str).unwrap_or("");
        format!("origin {} on {instance}", self.origin)
    }
}

impl Audited for WorkspaceDeleted {
    fn detail(&self) -> String {
        let files = format!(
            "token revoked: {}; removed {}",
            self.token_revoked,
            self.removed_files.join(", ")
        );
        match &self.lost {
            Some(lost) => format!("{files}; {lost}"),
            None => files,
        }
    }
}

/// A workspace as the API shows it.
pub fn doc(listed: &Listed) -> WorkspaceDoc {
    let settings = match (&listed.config, &listed.record) {
        (Some(ws), _) => workspace_body::to_body(ws),
        (None, Some(r)) => r.settings.clone(),
        (None, None) => serde_json::Map::new(),
    };
    WorkspaceDoc {
        name: listed.name.clone(),
        origin: listed.origin.as_str().to_owned(),
        valid: listed.config.is_some(),
        created_at: listed.record.as_ref().map(|r| crate::report::rfc3339(r.created_at)),
        updated_at: listed.record.as_ref().map(|r| crate::report::rfc3339(r.updated_at)),
        errors: listed.errors.iter().cloned().map(field).collect(),
        settings,
    }
}

fn field(e: FieldError) -> wire::FieldError {
    wire::FieldError {
        field: e.field,
        message: e.message,
    }
}
