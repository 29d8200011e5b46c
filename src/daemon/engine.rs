//! [`Engine`]: the scheduled workspaces of a running daemon. Each workspace
//! has its own scheduler task and GitLab context; actions (connect, rotate,
//! …) swap a workspace's token or re-plan it without touching the others.

use std::collections::BTreeMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::checks::{self, Shared, TokenSource, WorkspaceGitlab};
use crate::config::{Config, RepositoryRef, WorkspaceConfig, instance_url};
use crate::engine::{Plan, Scheduler, StatusStore};
use crate::http::AppState;
use crate::metrics::Metrics;
use crate::store::Store;

/// One scheduled workspace.
struct Running {
    task: JoinHandle<()>,
    trigger: Arc<Notify>,
    gitlab: Arc<WorkspaceGitlab>,
    plan: Arc<Plan>,
}

/// Scheduled workspaces over one status store. Dropping it stops them.
pub struct Engine {
    store: Arc<StatusStore>,
    /// Lives across reloads: metrics counters and connection views persist.
    shared: Shared,
    /// The encrypted connection store; `None` runs on `token_file` only.
    connections: Option<Arc<Store>>,
    scheduler: Scheduler,
    running: BTreeMap<String, Running>,
    config: Config,
}

impl Engine {
    /// Starts scheduling `config`'s workspaces with tokens from `token_file`.
    /// Needs a tokio runtime.
    pub fn start(config: Config) -> Engine {
        Engine::start_with_store(config, None)
    }

    /// Starts scheduling with connections from `store` when given.
    pub fn start_with_store(config: Config, store: Option<Arc<Store>>) -> Engine {
        let status = Arc::new(StatusStore::new());
        let mut engine = Engine {
            scheduler: Scheduler::new(status.clone(), config.engine.concurrency),
            store: status,
            shared: Shared::default(),
            connections: store,
            running: BTreeMap::new(),
            config: config.clone(),
        };
        engine.apply(config);
        engine
    }

    /// Replaces the running schedule with `config`'s. Results of checks that
    /// still exist are kept; all checks run again at once.
    pub fn apply(&mut self, config: Config) {
        self.stop();
        self.scheduler = Scheduler::new(self.store.clone(), config.engine.concurrency);
        self.config = config;
        let names: Vec<String> = self.config.workspaces.iter().map(|w| w.name.clone()).collect();
        let built: Vec<_> = names.iter().filter_map(|n| self.build(n)).collect();
        self.start_all(built);
    }

    /// Rebuilds one workspace from the config and its stored connection
    /// (after connect, disconnect or a new repository list) and runs its
    /// checks at once. False for an unknown workspace.
    pub fn replan(&mut self, workspace: &str) -> bool {
        if self.config.workspace(workspace).is_none() {
            return false;
        }
        if let Some(old) = self.running.remove(workspace) {
            old.task.abort();
        }
        let built: Vec<_> = self.build(workspace).into_iter().collect();
        self.start_all(built);
        true
    }

    /// The workspace's settings with its stored connection applied (see
    /// [`effective`]).
    pub fn effective(&self, ws: &WorkspaceConfig) -> (WorkspaceConfig, TokenSource) {
        effective(ws, self.connections.as_ref())
    }

    /// Starts built workspaces. The status layout is published first: a task
    /// that finished its first round before its checks were laid out would
    /// have its results dropped.
    fn start_all(&mut self, built: Vec<(Arc<Plan>, Arc<WorkspaceGitlab>)>) {
        let planned: Vec<_> = built.iter().map(|(plan, _)| plan.clone()).collect();
        self.publish_layout(&planned);
        for (plan, gitlab) in built {
            let trigger = Arc::new(Notify::new());
            let task = tokio::spawn(self.scheduler.clone().run_workspace(plan.clone(), trigger.clone()));
            self.running.insert(
                plan.workspace.clone(),
                Running {
                    task,
                    trigger,
                    gitlab,
                    plan,
                },
            );
        }
    }

    /// The plan and GitLab context of a workspace, from config and store.
    fn build(&self, name: &str) -> Option<(Arc<Plan>, Arc<WorkspaceGitlab>)> {
        let ws = self.config.workspace(name).cloned()?;
        let (effective, source) = self.effective(&ws);
        let gitlab = Arc::new(WorkspaceGitlab::with_source(&effective, &self.shared, source));
        let checks = checks::planned(&self.config, &effective, gitlab.clone());
        let plan = Arc::new(Plan::new(
            name.to_owned(),
            instance_url::display(&effective.instance_url),
            checks,
        ));
        Some((plan, gitlab))
    }

    /// Tells the status store which checks exist, in config order: the
    /// running workspaces' plans, with `new` ones in place of theirs.
    fn publish_layout(&self, new: &[Arc<Plan>]) {
        let layout = self
            .config
            .workspaces
            .iter()
            .filter_map(|w| {
                new.iter()
                    .find(|p| p.workspace == w.name)
                    .or_else(|| self.running.get(&w.name).map(|r| &r.plan))
            })
            .map(|p| p.layout())
            .collect();
        self.store.set_layout(layout);
    }

    /// Makes every check of `workspace` (or of all workspaces) due now.
    /// Returns false for an unknown workspace.
    pub fn run_now(&self, workspace: Option<&str>) -> bool {
        let mut found = false;
        for (name, r) in &self.running {
            if workspace.is_none_or(|w| w == name) {
                r.trigger.notify_one();
                found = true;
            }
        }
        found
    }

    /// The GitLab context (client, caches) of a workspace.
    pub fn gitlab(&self, workspace: &str) -> Option<Arc<WorkspaceGitlab>> {
        self.running.get(workspace).map(|r| r.gitlab.clone())
    }

    pub fn store(&self) -> Arc<StatusStore> {
        self.store.clone()
    }

    pub fn connection_store(&self) -> Option<Arc<Store>> {
        self.connections.clone()
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The HTTP layer's view of this engine (read-only endpoints).
    pub fn app_state(&self) -> AppState {
        AppState {
            store: self.store.clone(),
            metrics: Arc::new(Metrics::new(self.store.clone(), &self.shared.gitlab_metrics)),
            connections: self.shared.connections.clone(),
            admin: None,
        }
    }

    fn stop(&mut self) {
        for (_, r) in std::mem::take(&mut self.running) {
            r.task.abort();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The workspace's settings with its stored connection applied: the
/// connected instance and the chosen repositories win over the config's.
pub fn effective(ws: &WorkspaceConfig, store: Option<&Arc<Store>>) -> (WorkspaceConfig, TokenSource) {
    let Some(store) = store else {
        return (ws.clone(), TokenSource::ConfigFile);
    };
    let mut effective = ws.clone();
    let mut disconnected = None;
    let token = match store.load(&ws.name) {
        Ok(Some(conn)) => {
            if let Ok(url) = instance_url::normalize(&conn.instance_url) {
                effective.instance_url = url;
            }
            if let Some(repos) = &conn.repositories {
                let host = RepositoryRef::host_of(&effective.instance_url);
                effective.repositories = repos
                    .iter()
                    .filter_map(|r| RepositoryRef::parse(r).ok())
                    .map(|r| r.relative_to(&host))
                    .collect();
            }
            Ok(Some(conn.token))
        }
        Ok(None) => match store.read_disconnected(&ws.name) {
            Ok(record) => {
                disconnected = record;
                Ok(None)
            }
            Err(e) => {
                tracing::error!(workspace = %ws.name, error = %e, "Cannot read the disconnect record");
                Err(e.to_string())
            }
        },
        Err(e) => {
            tracing::error!(workspace = %ws.name, error = %e, "Cannot read the stored connection");
            Err(e.to_string())
        }
    };
    (
        effective,
        TokenSource::Store {
            store: store.clone(),
            token,
            disconnected,
        },
    )
}
