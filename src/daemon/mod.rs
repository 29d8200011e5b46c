//! The running daemon: turns a [`Config`] into scheduled workspaces
//! ([`Engine`]) and an HTTP server, reloads the config on SIGHUP (keeping the
//! old one when the new one is invalid) and stops gracefully on SIGTERM or
//! SIGINT.

mod engine;

pub use engine::Engine;

use std::future::Future;
use std::path::Path;
use std::sync::{Arc, Mutex};

use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::actions::{Actions, run_auto_renewal};
use crate::checks::{self, Shared};
use crate::config::{Config, ConfigErrors, instance_url};
use crate::engine::Plan;
use crate::http::{self, admin::AdminState};
use crate::store::Store;

/// The checks of every workspace: the built-ins on the workspace's schedule,
/// plugins and HTTP checks on their own.
pub fn plans(config: &Config, shared: &Shared) -> Vec<Arc<Plan>> {
    plans_with_store(config, shared, None)
}

/// [`plans`] with connections from `store` (for `labwatch check` on a host
/// where the daemon keeps its connections).
pub fn plans_with_store(config: &Config, shared: &Shared, store: Option<Arc<Store>>) -> Vec<Arc<Plan>> {
    config
        .workspaces
        .iter()
        .map(|ws| {
            let (effective, source) = engine::effective(ws, store.as_ref());
            let gitlab = Arc::new(checks::WorkspaceGitlab::with_source(&effective, shared, source));
            let checks = checks::planned(config, &effective, gitlab);
            Arc::new(Plan::new(
                ws.name.clone(),
                instance_url::display(&effective.instance_url),
                checks,
            ))
        })
        .collect()
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
    let store = Arc::new(Store::open(&config.store.dir, &config.store.key_file).map_err(|e| {
        std::io::Error::other(format!(
            "cannot open the connection store: {e}; fix its permissions or change [store] in the config"
        ))
    })?);
    let admin_token = match &config.server.admin_token_file {
        Some(file) => Some(read_admin_token(file)?),
        None => None,
    };
    let engine = Arc::new(Mutex::new(Engine::start_with_store(config, Some(store.clone()))));
    let actions = Arc::new(Actions::new(engine.clone(), store));
    let mut state = lock(&engine).app_state();
    state.admin = admin_token.map(|token| {
        Arc::new(AdminState {
            token,
            actions: actions.clone(),
        })
    });
    let admin_on = state.admin.is_some();
    let renewal = tokio::spawn(run_auto_renewal(actions));
    let addr = listener.local_addr()?;
    let workspaces = lock(&engine).config().workspaces.len();
    tracing::info!(listen = %addr, workspaces, admin_api = admin_on, "Serving");
    let server = tokio::spawn(http::serve(listener, state, shutdown));
    tokio::pin!(server);
    loop {
        tokio::select! {
            result = &mut server => {
                renewal.abort();
                tracing::info!("Shut down");
                return result.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            }
            () = reloads.next() => match reload(&mut lock(&engine), &path) {
                Ok(()) => tracing::info!(file = %path.display(), "Configuration reloaded"),
                Err(errors) => tracing::error!(
                    file = %path.display(), errors = %errors,
                    "Configuration reload failed; keeping the running configuration"
                ),
            },
        }
    }
}

fn lock(engine: &Mutex<Engine>) -> std::sync::MutexGuard<'_, Engine> {
    engine.lock().unwrap_or_else(|e| e.into_inner())
}

/// The admin bearer token: the file's content, trimmed; it must not be empty.
fn read_admin_token(file: &Path) -> std::io::Result<SecretString> {
    let text = crate::files::read_text_capped(file, crate::files::MAX_TOKEN_FILE)
        .map(zeroize::Zeroizing::new)
        .map_err(|e| std::io::Error::other(format!("cannot read admin_token_file {}: {e}", file.display())))?;
    let token = text.trim();
    if token.is_empty() {
        return Err(std::io::Error::other(format!(
            "admin_token_file {} is empty; put a long random token in it (for example `openssl rand -hex 32`)",
            file.display()
        )));
    }
    Ok(SecretString::from(token.to_owned()))
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
///
/// The handlers are installed when this is called, not when the future is
/// first polled: a signal arriving in between would otherwise kill the
/// process by the default action instead of stopping it gracefully.
/// Must be called inside the tokio runtime.
pub fn termination() -> impl Future<Output = ()> + Send + 'static {
    use tokio::signal::unix::{SignalKind, signal};
    let signals = (signal(SignalKind::terminate()), signal(SignalKind::interrupt()));
    async move {
        let (Ok(mut term), Ok(mut int)) = signals else {
            tracing::error!("Cannot install SIGTERM/SIGINT handlers; stop labwatch with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!(signal = "SIGTERM", "Shutting down"),
            _ = int.recv() => tracing::info!(signal = "SIGINT", "Shutting down"),
        }
    }
}
