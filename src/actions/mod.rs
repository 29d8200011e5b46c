//! The actions: the only code that changes a connection. Connect, update
//! token, rotate, disconnect, choose repositories, run checks now, settle a
//! rotation a crash interrupted. Each validates against GitLab first, writes
//! the encrypted store before anything else, appends an audit line
//! ([`audit`]), and re-plans the workspace so its checks run again at once.
//! They work alike on a workspace connected through the store and one
//! connected by its config's `token_file`; the first action that needs the
//! store's copy of a `token_file` token adopts it into the store ([`adopt`]).
//!
//! The rules that protect a working token (`docs/admin-api.md`, and
//! `docs/gitlab.md` §2 for why): one rotation at a time per workspace; a
//! pending-rotation marker before the call; the new token persisted (fsync)
//! before anything else, and kept in memory until it is when the store
//! refuses it; never a retry with the old token.
//!
//! The store does blocking file I/O (reads, fsyncs): every call to it goes
//! through [`Actions::on_store`], which runs it on tokio's blocking pool, so
//! a slow disk or a planted file never stalls the async workers that serve
//! the probes. (A wrapper here rather than an async store: the store stays a
//! plain synchronous API that `labwatch check` and tests call directly.)

mod adopt;
mod alerts;
mod audit;
mod connect;
mod disconnect;
mod error;
mod renewal;
mod repositories;
mod rotate;
mod settle;
mod sharing;
mod update;
mod verify;
mod workspaces;

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use secrecy::SecretString;
use tokio::time::Instant;

pub use error::ActionError;
pub use renewal::run_after_rounds;
pub use rotate::Trigger;
pub use workspaces::{DEFAULT_PER_PAGE, MAX_PER_PAGE};

use crate::config::WorkspaceConfig;
use crate::engine::Reason;
use crate::gitlab::{ClientOptions, GitlabClient};
use crate::runtime::Runtime;
use crate::store::{ConnectionStore, Notice, StoreError, StoredConnection};
use crate::wire::TokenSummary;

/// Least time between two "run checks now" requests for the same scope, so
/// the admin API cannot be used to hammer GitLab.
const RUN_NOW_SPACING: Duration = Duration::from_secs(5);

/// Env var naming a point in an action at which the daemon stops and waits
/// forever, so the crash-safety test can SIGKILL it exactly there.
///
/// Compiled only with the `test-hooks` feature (`scripts/test` enables it):
/// in a daemon that honoured it, `LABWATCH_PAUSE_AT=rotate-after-answer` in
/// its environment made every rotation revoke the old token at GitLab and
/// then hang holding the rotation lock, so every later rotation got 409.
#[cfg(feature = "test-hooks")]
pub const PAUSE_AT_ENV: &str = "LABWATCH_PAUSE_AT";

/// Everything the actions need; shared by the admin API and the task that
/// follows the rounds ([`run_after_rounds`]).
pub struct Actions {
    /// The running workspaces: their config, and the re-plan after a change.
    runtime: Arc<Runtime>,
    store: Arc<ConnectionStore>,
    /// Single flight per workspace for rotation.
    rotations: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Last "run now" per workspace (`None`: all).
    last_run: Mutex<HashMap<Option<String>, Instant>>,
    /// Alert firings already handled (idempotency of the webhook).
    firings: Mutex<alerts::Firings>,
    /// Workspaces whose rotation marker could not be settled yet (GitLab
    /// unreachable when it was tried); retried after their next round.
    unsettled: Mutex<BTreeSet<String>>,
    /// Rotated connections GitLab issued but the store refused to save: the
    /// only copy of the new token. Saved after each round until the store
    /// accepts them (`settle`).
    kept: Mutex<HashMap<String, StoredConnection>>,
    /// Replicas: the ownership's gain count when the markers of gained
    /// workspaces were last looked for (`settle`).
    gains_seen: std::sync::atomic::AtomicU64,
    /// Replicas: when those markers were last looked for.
    looked_for_markers_at: Mutex<Option<tokio::time::Instant>>,
}

/// The token metadata actions report; never the token itself.
fn token_summary(conn: &StoredConnection) -> TokenSummary {
    TokenSummary {
        id: conn.token_id,
        name: conn.token_name.clone(),
        scopes: conn.scopes.clone(),
        expires_at: conn.expires_at.map(crate::gitlab::types::format_date),
    }
}

impl Actions {
    pub fn new(runtime: Arc<Runtime>, store: Arc<ConnectionStore>) -> Actions {
        Actions {
            runtime,
            store,
            rotations: Mutex::default(),
            last_run: Mutex::default(),
            firings: Mutex::default(),
            unsettled: Mutex::default(),
            kept: Mutex::default(),
            gains_seen: std::sync::atomic::AtomicU64::new(0),
            looked_for_markers_at: Mutex::default(),
        }
    }

    /// The settings of a running workspace, from the config file or
    /// created at run time; 404 for an unknown one, 409 for a run-time
    /// one whose record does not validate (it does not run).
    fn workspace(&self, name: &str) -> Result<WorkspaceConfig, ActionError> {
        match self.runtime.workspace(name) {
            None => Err(ActionError::unknown_workspace(name)),
            Some(listed) => match listed.config {
                Some(ws) => Ok((*ws).clone()),
                None => Err(ActionError::workspace_invalid(name, &listed.errors)),
            },
        }
    }

    /// The stored connection, or 409 not connected. Only the store's: the
    /// actions that act on a workspace whatever connects it look through
    /// [`Actions::in_use`] (`adopt`).
    async fn connection(&self, name: &str) -> Result<StoredConnection, ActionError> {
        let owned = name.to_owned();
        match self.on_store(move |s| s.load(&owned)).await {
            Ok(Some(c)) => Ok(c),
            Ok(None) => Err(ActionError::not_connected(name)),
            Err(e) => Err(store_failed(name, e)),
        }
    }

    /// Runs `call` on the store on tokio's blocking pool: the store reads,
    /// writes and fsyncs files, and on an async worker a slow disk would
    /// stall every task that worker runs, the probes included.
    async fn on_store<T, F>(&self, call: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ConnectionStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || call(&store))
            .await
            .unwrap_or_else(|e| Err(StoreError::Interrupted { problem: e.to_string() }))
    }

    /// The rotated connections kept in memory because the store refused them.
    fn kept(&self) -> std::sync::MutexGuard<'_, HashMap<String, StoredConnection>> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Saves a connection that replaces whatever `workspace` had (connect,
    /// update), then forgets a rotated token kept for it. Under the rotation
    /// lock: saving a kept token after a round takes it too, so it can never
    /// write an older token over this one.
    async fn save_replacing(&self, conn: StoredConnection) -> Result<(), StoreError> {
        let workspace = conn.workspace.clone();
        let lock = self.rotation_lock(&workspace);
        let _guard = lock.lock().await;
        self.on_store(move |s| s.save(&conn)).await?;
        self.forget_kept(&workspace).await;
        Ok(())
    }

    /// A new connection for `workspace` was stored, or it was disconnected: a
    /// rotated token kept for it (in memory and `.rotated`) is superseded.
    /// Said in the log, since its token still exists at GitLab. The caller
    /// holds the rotation lock.
    async fn forget_kept(&self, workspace: &str) {
        if let Some(conn) = self.kept().remove(workspace) {
            tracing::warn!(
                workspace,
                token_id = conn.token_id,
                "A rotated token that could not be saved is superseded by the new connection; revoke it in GitLab"
            );
        }
        let name = workspace.to_owned();
        if let Err(e) = self.on_store(move |s| s.clear_rotated(&name)).await {
            tracing::warn!(workspace, error = %e, "Cannot remove the superseded rotated connection file");
        }
    }

    /// A client for `base` with `token`, trusting what the workspace trusts.
    fn client(&self, ws: &WorkspaceConfig, base: &url::Url, token: SecretString) -> Result<GitlabClient, ActionError> {
        // The pool and budget of the instance the action talks to (which
        // for `connect` may not be the workspace's yet).
        let mut target = ws.clone();
        target.instance_url = base.clone();
        let instance = self
            .runtime
            .instances()
            .pool(&target)
            .map_err(|e| ActionError::new(500, "tls-failure", format!("Cannot set up TLS: {e}")))?;
        let metrics = self.runtime.gitlab_metrics().clone();
        Ok(GitlabClient::new(ClientOptions {
            workspace: &ws.name,
            base,
            instance,
            requests_per_second: ws.requests_per_second,
            timeout: ws.timeout,
            token: Some(token),
            metrics,
        }))
    }

    /// Re-plans the workspace: its checks pick up the stored connection and
    /// run at once. On the blocking pool: re-planning reads the store.
    async fn replan(&self, name: &str) {
        let (runtime, owned) = (self.runtime.clone(), name.to_owned());
        if let Err(e) = tokio::task::spawn_blocking(move || runtime.replan(&owned)).await {
            tracing::error!(error = %e, "Re-planning a workspace failed");
        }
        self.tell_replicas(Notice::CONNECTION, name).await;
    }

    /// When replicas share the fleet, tells them that `workspace` changed
    /// (its owner may be another one). A notice that cannot be sent is
    /// logged: the owner then sees the change at its next restart or
    /// reload, and the lease rounds catch up on created and deleted
    /// workspaces.
    async fn tell_replicas(&self, kind: &'static str, workspace: &str) {
        let Some(ownership) = self.runtime.ownership() else {
            return;
        };
        let (replica, name) = (ownership.replica().to_owned(), workspace.to_owned());
        if let Err(e) = self.on_store(move |s| s.notify(&replica, kind, &name)).await {
            tracing::warn!(workspace, error = %e, "Cannot tell the other replicas about a change");
        }
    }

    /// Makes the checks of one workspace (or all) run now, at most once per
    /// [`RUN_NOW_SPACING`]; `Err(retry_after)` when asked too soon.
    pub fn run_now(&self, workspace: Option<&str>) -> Result<(), Result<Duration, ActionError>> {
        let key = workspace.map(str::to_owned);
        let mut last = self.last_run.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = last.get(&key) {
            let since = at.elapsed();
            if since < RUN_NOW_SPACING {
                return Err(Ok(RUN_NOW_SPACING - since));
            }
        }
        if !self.runtime.run_now(workspace) {
            // Known, and run by another replica: its owner is told.
            match workspace {
                Some(name) if self.runtime.workspace_config(name).is_some() => {
                    let Some(ownership) = self.runtime.ownership() else {
                        return Err(Err(ActionError::unknown_workspace(name)));
                    };
                    let (store, replica, name) = (self.store.clone(), ownership.replica().to_owned(), name.to_owned());
                    tokio::task::spawn_blocking(move || {
                        if let Err(e) = store.notify(&replica, Notice::RUN, &name) {
                            tracing::warn!(workspace = %name, error = %e, "Cannot ask the workspace's owner to run its checks");
                        }
                    });
                }
                _ => return Err(Err(ActionError::unknown_workspace(workspace.unwrap_or("")))),
            }
        }
        last.insert(key, Instant::now());
        Ok(())
    }

    /// The single-flight lock of a workspace's rotation.
    fn rotation_lock(&self, workspace: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.rotations.lock().unwrap_or_else(|e| e.into_inner());
        locks.entry(workspace.to_owned()).or_default().clone()
    }
}

fn store_error(e: StoreError) -> ActionError {
    if e.is_unavailable() {
        return store_unavailable(e);
    }
    ActionError::new(500, "store-error", e.to_string())
}

/// 503 `store-unavailable`: the database is out of reach. Nothing was
/// written (each write is one transaction), so the same call can simply be
/// sent again; the checks go on with the tokens already loaded meanwhile.
fn store_unavailable(e: StoreError) -> ActionError {
    ActionError::new(503, "store-unavailable", e.to_string()).with_steps(vec![
        "Nothing was changed. Send the same request again once the store is back: `/readyz` answers 200 again then."
            .to_owned(),
        "If it lasts, look at the database: is it running and reachable from labwatch, and does [store.postgres] `url` name it?"
            .to_owned(),
    ])
}

/// A store error met while acting on `workspace`, with the steps that fix it:
/// a connection file that can never be read as it is (409
/// `store-unreadable`: restore the key, or disconnect, which sets the file
/// aside), something the store refuses to write (422 `store-refused`,
/// nothing changed), a database out of reach (503 `store-unavailable`,
/// retry), else 500 `store-error`.
fn store_failed(workspace: &str, e: StoreError) -> ActionError {
    if e.is_unavailable() {
        return store_unavailable(e);
    }
    if e.is_unreadable_file() {
        return ActionError::new(409, Reason::StoreUnreadable.code(), e.to_string()).with_steps(vec![
            "If the store key changed, restore the key that wrote the file (`key_file` or LABWATCH_STORE_KEY); labwatch never overwrites it.".to_owned(),
            format!(
                "Otherwise disconnect the workspace (`labwatch disconnect --workspace {workspace}`): it sets the unreadable file aside, deletes nothing, and the workspace can be connected again."
            ),
        ]);
    }
    if matches!(e, StoreError::TooLarge { .. }) {
        return ActionError::new(422, "store-refused", e.to_string()).with_steps(vec![
            "Nothing was changed. Look at the token in GitLab (Preferences → Access Tokens): its scopes or name are far larger than a real token's.".to_owned(),
            format!("Use a token with the usual scopes for workspace `{workspace}`."),
        ]);
    }
    store_error(e)
}

/// Stops here forever when the crash-safety test asked for it (see
/// [`PAUSE_AT_ENV`]); the test then kills the process.
#[cfg(feature = "test-hooks")]
async fn pause_point(point: &str) {
    if std::env::var(PAUSE_AT_ENV).is_ok_and(|p| p == point) {
        tracing::warn!(point, "Paused at a test pause point");
        std::future::pending::<()>().await;
    }
}

/// Without the `test-hooks` feature a pause point is nothing at all.
#[cfg(not(feature = "test-hooks"))]
async fn pause_point(_point: &str) {}
