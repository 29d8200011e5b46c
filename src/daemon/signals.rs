//! What stops and reloads the daemon: SIGTERM and SIGINT stop it, SIGHUP
//! reloads its config. Tests and embedders pass their own
//! [`ReloadSignal`] and shutdown future instead.

use std::future::Future;

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
