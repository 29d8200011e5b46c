//! Serving the simulator: [`start`] puts the router on a listener of
//! killable connections ([`super::connection`]) and returns a
//! [`SimHandle`].

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::connection::{ConnInfo, SimListener};
use super::error::SimError;
use super::routes;
use super::scenario::Scenario;
use super::shared::Sim;

/// A running simulator. Dereferences to [`Sim`] for its state operations;
/// dropping it stops the server.
pub struct SimHandle {
    sim: Sim,
    addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

impl SimHandle {
    pub fn sim(&self) -> &Sim {
        &self.sim
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> &str {
        self.sim.base_url()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets open requests finish, and waits for the server.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        match self.task.take() {
            Some(task) => task
                .await
                .map_err(|e| SimError::Io(io::Error::other(e.to_string())))?
                .map_err(SimError::Io),
            None => Ok(()),
        }
    }
}

impl Deref for SimHandle {
    type Target = Sim;

    fn deref(&self) -> &Sim {
        &self.sim
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Serves `scenario` on `listener`; URLs in answers use the listener's
/// address (`0.0.0.0` shown as `127.0.0.1`).
pub async fn start(scenario: Scenario, listener: TcpListener) -> Result<SimHandle, SimError> {
    let addr = listener.local_addr()?;
    let shown = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port()),
        IpAddr::V6(ip) if ip.is_unspecified() => SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port()),
        _ => addr,
    };
    start_with_url(scenario, listener, &format!("http://{shown}")).await
}

/// Like [`start`], with the URL GitLab would have configured (used in
/// `web_url`, `Link`, `Location`), e.g. behind a proxy.
pub async fn start_with_url(scenario: Scenario, listener: TcpListener, base_url: &str) -> Result<SimHandle, SimError> {
    url::Url::parse(base_url).map_err(|e| SimError::Invalid(format!("base URL '{base_url}': {e}")))?;
    let addr = listener.local_addr()?;
    let sim = Sim::new(scenario, base_url.to_owned());
    let app = routes::router(sim.clone()).into_make_service_with_connect_info::<ConnInfo>();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        axum::serve(SimListener::new(listener), app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await
    });
    Ok(SimHandle {
        sim,
        addr,
        shutdown: Some(tx),
        task: Some(task),
    })
}
