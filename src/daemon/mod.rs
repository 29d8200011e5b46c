//! The daemon's wiring: opens the connection store, starts the
//! [`Runtime`], the [`Actions`] and the HTTP server, settles rotations a
//! crash interrupted, reloads the config on SIGHUP (keeping the old one when
//! the new one is invalid) and stops gracefully on SIGTERM or SIGINT
//! ([`signals`]).

pub mod preflight;
pub mod replicas;
mod signals;

pub use signals::{NoReload, ReloadSignal, Sighup, termination};

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use tokio::net::TcpListener;

use crate::actions::{Actions, run_after_rounds};
use crate::config::{Config, ConfigErrors, StoreBackend};
use crate::http::{self, AppState, admin::AdminState};
use crate::runtime::Runtime;
use crate::store::{ConnectionStore, Schema};

/// Loads the config at `path` and applies it; on error the runtime keeps
/// running the old one and the errors are returned for the log.
pub fn reload(runtime: &Runtime, path: &Path) -> Result<(), ConfigErrors> {
    let config = Config::load(path)?;
    if config.server != runtime.config().server {
        tracing::warn!(file = %path.display(), "Server settings changed; they take effect after a restart");
    }
    if config.store != runtime.config().store {
        tracing::warn!(file = %path.display(), "Store settings changed; they take effect after a restart");
    }
    // A reload re-reads every workspace's connection: with the database
    // away, each would show its store error instead of its token. Keep
    // what runs, and say why.
    if let Some(Err(e)) = runtime.store().map(|s| s.ping()) {
        return Err(ConfigErrors(vec![crate::config::ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!(
                "not reloaded, because the store is unavailable ({e}); the running configuration stays. \
                 Send SIGHUP again once /readyz answers 200"
            ),
        }]));
    }
    runtime.apply(config);
    Ok(())
}

/// Opens the store `config` names: the file store (the default), or
/// PostgreSQL, which connects and, with [`Schema::Migrate`], migrates its
/// schema first.
pub fn open_store(config: &Config, schema: Schema) -> Result<ConnectionStore, String> {
    let opened = match (&config.store.backend, &config.store.postgres) {
        (StoreBackend::Postgres, Some(options)) => {
            ConnectionStore::open_postgres(options, &config.store.key_file, schema)
        }
        _ => ConnectionStore::open(&config.store.dir, &config.store.key_file),
    };
    opened.map_err(|e| match config.store.backend {
        // PostgreSQL's errors name their own fix.
        StoreBackend::Postgres => format!("cannot open the connection store: {e}"),
        StoreBackend::File => {
            format!("cannot open the connection store: {e}; fix its permissions or change [store] in the config")
        }
    })
}

/// [`reload`] on tokio's blocking pool: it reads the config file and the
/// store, and the async workers serve the probes meanwhile. `None` when the
/// runtime is shutting down and the reload never ran; a panic goes on as if
/// `reload` had run here.
async fn reload_off_worker(runtime: &Arc<Runtime>, path: &Path) -> Option<Result<(), ConfigErrors>> {
    let (runtime, path) = (runtime.clone(), path.to_path_buf());
    match tokio::task::spawn_blocking(move || reload(&runtime, &path)).await {
        Ok(result) => Some(result),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(_) => None,
        },
    }
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
    // What `config check` reports too: refuse on refusals, log the warnings.
    let findings = preflight::preflight(&config);
    // The store's warnings are logged by `ConnectionStore::open` below.
    for warning in findings
        .iter()
        .filter(|f| !f.is_refusal() && f.code != preflight::STORE_WARNING)
    {
        tracing::warn!(code = warning.code, "{}", warning.message);
    }
    let refusals: Vec<String> = findings
        .iter()
        .filter(|f| f.is_refusal())
        .map(|f| f.message.clone())
        .collect();
    if !refusals.is_empty() {
        return Err(std::io::Error::other(refusals.join("\n")));
    }
    let admin_token = match &config.server.admin_token_file {
        Some(file) => Some(preflight::admin_token(file).map_err(|f| std::io::Error::other(f.message))?),
        None => None,
    };
    // Off the async workers: opening reads files, or connects to and
    // migrates PostgreSQL; starting the runtime reads every workspace's
    // connection.
    // On PostgreSQL this daemon is a replica: it runs the workspaces whose
    // leases it holds (`replicas`), and none before its first lease round.
    let postgres = config.store.postgres.clone();
    let lease = postgres.as_ref().map(|p| p.lease);
    let sharing = (config.store.backend == StoreBackend::Postgres).then(replicas::ownership);
    let ownership = sharing.clone();
    let started = tokio::task::spawn_blocking(move || {
        let store = Arc::new(open_store(&config, Schema::Migrate)?);
        let runtime = Arc::new(Runtime::start_sharing(config, Some(store.clone()), ownership));
        Ok::<_, String>((store, runtime))
    });
    let (store, runtime) = started
        .await
        .map_err(|e| std::io::Error::other(format!("the store could not be opened: {e}")))?
        .map_err(std::io::Error::other)?;
    let notices = match (&sharing, &postgres) {
        (Some(_), Some(options)) => store
            .listen(options)
            .map_err(|e| std::io::Error::other(format!("cannot listen for the other replicas' changes: {e}")))?
            .map(|rx| tokio::spawn(replicas::follow_notices(rx, runtime.clone()))),
        _ => None,
    };
    let verdicts = sharing
        .as_ref()
        .map(|_| tokio::spawn(replicas::write_verdicts(runtime.clone(), store.clone())));
    let leases = if let (Some(ownership), Some(lease)) = (&sharing, lease) {
        let first = replicas::round(&runtime, &store, lease)
            .await
            .map_err(|e| std::io::Error::other(format!("cannot take the first workspace leases: {e}")))?;
        tracing::info!(
            replica = ownership.replica(),
            owned = first.owned.len(),
            replicas = first.replicas,
            lease_seconds = lease.as_secs_f64(),
            "Sharing the fleet with the other replicas on the database"
        );
        Some(tokio::spawn(replicas::keep_leases(
            runtime.clone(),
            store.clone(),
            lease,
            runtime.catalogue_changed(),
        )))
    } else {
        None
    };
    // The config file's and those created at run time.
    let workspaces = runtime.len();
    let actions = Arc::new(Actions::new(runtime.clone(), store));
    // Before serving: whoever reads the log or calls the API after
    // "Serving" finds the rotations a crash interrupted settled.
    actions.settle_interrupted_rotations().await;
    let mut state = AppState::new(&runtime);
    state.admin = admin_token.map(|token| Arc::new(AdminState::new(token, actions.clone())));
    let admin_on = state.admin.is_some();
    let config_status = state.config.clone();
    let metrics = state.metrics.clone();
    let follower = tokio::spawn(run_after_rounds(actions));
    let addr = listener.local_addr()?;
    tracing::info!(listen = %addr, workspaces, admin_api = admin_on, "Serving");
    let server = tokio::spawn(http::serve(listener, state, shutdown));
    tokio::pin!(server);
    loop {
        tokio::select! {
            result = &mut server => {
                follower.abort();
                for task in leases.iter().chain(&notices).chain(&verdicts) {
                    task.abort();
                }
                tracing::info!("Shut down");
                return result.unwrap_or_else(|e| Err(std::io::Error::other(e)));
            }
            () = reloads.next() => match reload_off_worker(&runtime, &path).await {
                None => {}
                Some(Ok(())) => {
                    config_status.reloaded();
                    metrics.configure(runtime.config().metrics);
                    tracing::info!(file = %path.display(), "Configuration reloaded");
                }
                Some(Err(errors)) => {
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
