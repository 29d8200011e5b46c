//! The daemon's wiring: opens the connection store, starts the
//! [`Runtime`], the [`Actions`] and the HTTP server, settles rotations a
//! crash interrupted, reloads the config on SIGHUP (keeping the old one when
//! the new one is invalid) and stops gracefully on SIGTERM or SIGINT
//! ([`signals`]).

mod signals;

pub use signals::{NoReload, ReloadSignal, Sighup, termination};

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use secrecy::SecretString;
use tokio::net::TcpListener;

use crate::actions::{Actions, run_after_rounds};
use crate::config::{Config, ConfigErrors};
use crate::http::{self, AppState, admin::AdminState};
use crate::runtime::Runtime;
use crate::store::ConnectionStore;

/// Loads the config at `path` and applies it; on error the runtime keeps
/// running the old one and the errors are returned for the log.
pub fn reload(runtime: &Runtime, path: &Path) -> Result<(), ConfigErrors> {
    let config = Config::load(path)?;
    if config.server != runtime.config().server {
        tracing::warn!(file = %path.display(), "Server settings changed; they take effect after a restart");
    }
    runtime.apply(config);
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
    let store = Arc::new(
        ConnectionStore::open(&config.store.dir, &config.store.key_file).map_err(|e| {
            std::io::Error::other(format!(
                "cannot open the connection store: {e}; fix its permissions or change [store] in the config"
            ))
        })?,
    );
    let admin_token = match &config.server.admin_token_file {
        Some(file) => Some(read_admin_token(file)?),
        None => None,
    };
    let workspaces = config.workspaces.len();
    let runtime = Arc::new(Runtime::start(config, Some(store.clone())));
    let actions = Arc::new(Actions::new(runtime.clone(), store));
    // Before serving: whoever reads the log or calls the API after
    // "Serving" finds the rotations a crash interrupted settled.
    actions.settle_interrupted_rotations().await;
    let mut state = AppState::new(&runtime);
    state.admin = admin_token.map(|token| {
        Arc::new(AdminState {
            token,
            actions: actions.clone(),
        })
    });
    let admin_on = state.admin.is_some();
    let config_status = state.config.clone();
    let follower = tokio::spawn(run_after_rounds(actions));
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, workspaces, admin_api = admin_on, "Serving");
    let server = tokio::spawn(http::serve(listener, state, shutdown));
    tokio::pin!(server);
    loop {
        tokio::select! {
            result = &mut server => {
                follower.abort();
                tracing::info!("Shut down");
                return result.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            }
            () = reloads.next() => match reload(&runtime, &path) {
                Ok(()) => {
                    config_status.reloaded();
                    tracing::info!(file = %path.display(), "Configuration reloaded");
                }
                Err(errors) => {
                    // Shown on /readyz?verbose and /status until a reload succeeds.
                    config_status.reload_failed(&errors, time::OffsetDateTime::now_utc());
                    tracing::error!(
                        file = %path.display(), errors = %errors,
                        "Configuration reload failed; keeping the running configuration"
                    );
                }
            },
        }
    }
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
