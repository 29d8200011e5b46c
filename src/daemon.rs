//! The running daemon: turns a [`Config`] into scheduled workspaces and an
//! HTTP server, reloads the config on SIGHUP (keeping the old one when the new
//! one is invalid) and stops gracefully on SIGTERM or SIGINT.

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::checks::{self, Shared};
use crate::config::{Config, ConfigErrors, instance_url};
use crate::engine::{Plan, PlannedCheck, Scheduler, StatusStore};
use crate::http::{self, AppState};
use crate::metrics::Metrics;

/// The checks of every workspace, scheduled with the workspace's settings.
pub fn plans(config: &Config, shared: &Shared) -> Vec<Arc<Plan>> {
    config
        .workspaces
        .iter()
        .map(|ws| {
            let checks = checks::for_workspace(ws, shared)
                .into_iter()
                .map(|check| PlannedCheck {
                    check,
                    interval: ws.interval,
                    timeout: ws.timeout,
                })
                .collect();
            Arc::new(Plan::new(
                ws.name.clone(),
                instance_url::display(&ws.instance_url),
                checks,
            ))
        })
        .collect()
}

/// A workspace's scheduler task and the handle that makes it run now.
struct Running {
    workspace: String,
    task: JoinHandle<()>,
    trigger: Arc<Notify>,
}

/// Scheduled workspaces over one status store. Dropping it stops them.
pub struct Engine {
    store: Arc<StatusStore>,
    /// Lives across reloads: metrics counters and connection views persist.
    shared: Shared,
    running: Vec<Running>,
    config: Config,
}

impl Engine {
    /// Starts scheduling `config`'s workspaces. Needs a tokio runtime.
    pub fn start(config: Config) -> Engine {
        let mut engine = Engine {
            store: Arc::new(StatusStore::new()),
            shared: Shared::default(),
            running: Vec::new(),
            config: config.clone(),
        };
        engine.apply(config);
        engine
    }

    /// Replaces the running schedule with `config`'s. Results of checks that
    /// still exist are kept; all checks run again at once.
    pub fn apply(&mut self, config: Config) {
        self.stop();
        let plans = plans(&config, &self.shared);
        self.store.set_layout(plans.iter().map(|p| p.layout()).collect());
        let scheduler = Scheduler::new(self.store.clone(), config.engine.concurrency);
        for plan in plans {
            let trigger = Arc::new(Notify::new());
            let workspace = plan.workspace.clone();
            let task = tokio::spawn(scheduler.clone().run_workspace(plan, trigger.clone()));
            self.running.push(Running {
                workspace,
                task,
                trigger,
            });
        }
        self.config = config;
    }

    /// Makes every check of `workspace` (or of all workspaces) due now.
    /// Returns false for an unknown workspace.
    pub fn run_now(&self, workspace: Option<&str>) -> bool {
        let mut found = false;
        for r in &self.running {
            if workspace.is_none_or(|w| w == r.workspace) {
                r.trigger.notify_one();
                found = true;
            }
        }
        found
    }

    pub fn store(&self) -> Arc<StatusStore> {
        self.store.clone()
    }

    pub fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The HTTP layer's view of this engine.
    pub fn app_state(&self) -> AppState {
        AppState {
            store: self.store.clone(),
            metrics: Arc::new(Metrics::new(self.store.clone(), &self.shared.gitlab_metrics)),
            connections: self.shared.connections.clone(),
        }
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    fn stop(&mut self) {
        for r in self.running.drain(..) {
            r.task.abort();
        }
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Loads the config at `path` and applies it; on error the engine keeps
/// running the old one and the errors are returned for the log.
pub fn reload(engine: &mut Engine, path: &Path) -> Result<(), ConfigErrors> {
    let config = Config::load(path)?;
    if config.server != engine.config().server {
        tracing::warn!(file = %path.display(), "Server settings changed; they take effect after a restart");
    }
    engine.apply(config);
    Ok(())
}

/// Runs the daemon on `listener` until `shutdown` completes: schedules the
/// checks, serves HTTP, and reloads the config whenever `reloads` yields.
pub async fn run(
    config: Config,
    listener: TcpListener,
    mut reloads: impl ReloadSignal,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let path = config.source.clone();
    let mut engine = Engine::start(config);
    let state = engine.app_state();
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, workspaces = engine.config().workspaces.len(), "Serving");
    let server = tokio::spawn(http::serve(listener, state, shutdown));
    tokio::pin!(server);
    loop {
        tokio::select! {
            result = &mut server => {
                tracing::info!("Shut down");
                return result.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            }
            () = reloads.next() => match reload(&mut engine, &path) {
                Ok(()) => tracing::info!(file = %path.display(), "Configuration reloaded"),
                Err(errors) => tracing::error!(
                    file = %path.display(), errors = %errors,
                    "Configuration reload failed; keeping the running configuration"
                ),
            },
        }
    }
}

/// Something that says "reload the config now" (SIGHUP in production).
pub trait ReloadSignal {
    fn next(&mut self) -> impl Future<Output = ()> + Send;
}

/// SIGHUP as a reload signal.
pub struct Sighup(tokio::signal::unix::Signal);

impl Sighup {
    pub fn install() -> std::io::Result<Sighup> {
        Ok(Sighup(tokio::signal::unix::signal(
            tokio::signal::unix::SignalKind::hangup(),
        )?))
    }
}

impl ReloadSignal for Sighup {
    async fn next(&mut self) {
        if self.0.recv().await.is_none() {
            // The signal stream ended (runtime shutting down): never reload again.
            std::future::pending::<()>().await;
        }
    }
}

/// Never reloads; for embedding and tests.
pub struct NoReload;

impl ReloadSignal for NoReload {
    async fn next(&mut self) {
        std::future::pending::<()>().await;
    }
}

/// Completes on SIGTERM or SIGINT.
pub async fn termination() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
        tracing::error!("Cannot install SIGTERM/SIGINT handlers; stop labwatch with SIGKILL");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => tracing::info!(signal = "SIGTERM", "Shutting down"),
        _ = int.recv() => tracing::info!(signal = "SIGINT", "Shutting down"),
    }
}
