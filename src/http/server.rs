//! The HTTP server: an accept loop over hyper's HTTP/1 connections, bounded
//! in time and in number, so that no client, however slow or numerous, can
//! hold on to labwatch's memory and file descriptors (`docs/http.md`,
//! "Connections").
//!
//! `axum::serve` has neither a header timeout nor a connection cap, so
//! labwatch drives hyper itself, as axum's own docs suggest for low-level
//! control; the router is the same.
//!
//! - **Header timeout.** A connection that has not sent a whole request
//!   header within [`Limits::header_timeout`] is closed (slowloris). hyper
//!   restarts that timer whenever a keep-alive connection waits for its next
//!   request, so the same limit is the idle keep-alive timeout.
//! - **Request timeout.** A request whose answer is not ready within
//!   [`Limits::request_timeout`] (a body trickling in, say) gets 503
//!   `request-timeout` ([`deadline`]).
//! - **Connection cap.** At most [`Limits::max_connections`] at once, sized
//!   from the open-files limit so that the checks keep the descriptors they
//!   need. Past the cap labwatch stops accepting: new connections wait in
//!   the kernel's listen queue, where they cost labwatch no descriptor,
//!   until a connection closes, which the timeouts above make sure happens.
//! - **Accept errors** (out of descriptors, say) pause accepting briefly
//!   instead of spinning or ending the server, and are logged once.
//! - **Shutdown.** Stop accepting, let each connection finish the request it
//!   is answering, and after [`Limits::shutdown_grace`] close what is left.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::future::RouteFuture;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::ErrorResponse;

/// How long accepting pauses after an error such as "too many open files":
/// long enough not to spin on a descriptor shortage, short enough that
/// nobody notices once a descriptor is free again.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The most connections labwatch serves at once, whatever the open-files
/// limit: its clients are a few pollers, a Prometheus and a browser, and
/// every connection costs memory.
const MAX_CONNECTIONS: usize = 1024;

/// How the server bounds its clients. [`Limits::for_this_process`] is what
/// `labwatch run` uses; tests and embedders may set their own.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// To send a whole request header, and the most a keep-alive connection
    /// may stay idle between requests.
    pub header_timeout: Duration,
    /// To answer a request once its header is in, reading its body included.
    pub request_timeout: Duration,
    /// Connections served at once; more wait in the listen queue.
    pub max_connections: usize,
    /// After a shutdown is asked for, how long requests in progress may take
    /// before their connections are closed.
    pub shutdown_grace: Duration,
}

impl Limits {
    /// The defaults, with the connection cap taken from this process's
    /// open-files limit ([`connection_cap`]).
    pub fn for_this_process() -> Limits {
        Limits {
            header_timeout: Duration::from_secs(10),
            // An admin action calls GitLab several times, each bounded by
            // the workspace's timeout; the read-only endpoints answer in
            // milliseconds.
            request_timeout: Duration::from_secs(60),
            max_connections: connection_cap(open_files_limit()),
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Half of the open-files limit, between 4 and [`MAX_CONNECTIONS`]: the
/// other half stays for what the checks open (sockets to GitLab, DNS
/// queries, plugins' pipes, the store's files) and the process itself, so
/// that clients of the HTTP server can never starve the checks into false
/// alarms.
pub fn connection_cap(open_files_limit: u64) -> usize {
    let half = usize::try_from(open_files_limit / 2).unwrap_or(usize::MAX);
    half.clamp(4, MAX_CONNECTIONS)
}

/// The soft `RLIMIT_NOFILE` of this process (`u64::MAX` when unlimited or
/// unknown, which [`connection_cap`] turns into its maximum).
pub fn open_files_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a pointer to a live,
    // properly aligned value and has no other effect.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    if rc != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        return u64::MAX;
    }
    limit.rlim_cur
}

/// Serves `router` on `listener` within `limits` until `shutdown`
/// completes, then shuts down as described in the module docs.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let request_timeout = limits.request_timeout;
    let router = router.layer(axum::middleware::from_fn(move |req: Request, next: Next| {
        deadline(request_timeout, req, next)
    }));
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);

    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let (stop, stopping) = watch::channel(false);
    let mut connections = JoinSet::new();
    let mut at_cap_logged = false;
    let mut accept_error_logged = false;
    tokio::pin!(shutdown);
    loop {
        if slots.available_permits() == 0 && !at_cap_logged {
            tracing::warn!(
                max_connections = limits.max_connections,
                "Connection limit reached; new connections wait until one closes"
            );
            at_cap_logged = true;
        }
        let slot = tokio::select! {
            biased;
            () = &mut shutdown => break,
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next() => continue,
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
        };
        if slots.available_permits() > 0 {
            at_cap_logged = false;
        }
        let (stream, peer) = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    accept_error_logged = false;
                    (stream, peer)
                }
                // The client gave up before we accepted: nothing wrong here.
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    if !accept_error_logged {
                        tracing::error!(
                            error = %e,
                            "Cannot accept connections; retrying. If this says \"Too many open files\", \
                             raise labwatch's open-files limit (LimitNOFILE= in systemd, ulimit -n)"
                        );
                        accept_error_logged = true;
                    }
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => continue,
                    }
                }
            },
        };
        // Handlers that care where a request comes from (the page's
        // sign-in limit) find it as axum's `ConnectInfo`.
        let service = WithPeer {
            router: router.clone(),
            peer,
        };
        let connection = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(service));
        let stopping = stopping.clone();
        connections.spawn(async move {
            drive(connection, stopping).await;
            drop(slot);
        });
    }
    drop(listener);
    let _ = stop.send(true);
    let drained = tokio::time::timeout(limits.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            grace_seconds = limits.shutdown_grace.as_secs_f64(),
            "Closing connections still open after the shutdown grace period"
        );
        connections.shutdown().await;
    }
    Ok(())
}

/// The router, with the client's address put on each request as axum's
/// `ConnectInfo` (what `Router::into_make_service_with_connect_info` does
/// for `axum::serve`).
#[derive(Clone)]
struct WithPeer {
    router: Router,
    peer: SocketAddr,
}

impl tower_service::Service<Request<Incoming>> for WithPeer {
    type Response = Response;
    type Error = Infallible;
    type Future = RouteFuture<Infallible>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower_service::Service::<Request<Incoming>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, mut req: Request<Incoming>) -> Self::Future {
        req.extensions_mut().insert(ConnectInfo(self.peer));
        self.router.call(req)
    }
}

type Connection = http1::Connection<TokioIo<TcpStream>, TowerToHyperService<WithPeer>>;

/// Serves one connection; once `stopping` turns true, it closes after the
/// request in progress (at once when idle).
async fn drive(connection: Connection, mut stopping: watch::Receiver<bool>) {
    tokio::pin!(connection);
    let finished = tokio::select! {
        result = connection.as_mut() => Some(result),
        _ = stopping.wait_for(|stop| *stop) => None,
    };
    let result = match finished {
        Some(result) => result,
        None => {
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts and clients that hang up are routine; a flood of them
        // must not flood the log.
        tracing::debug!(error = %e, "Connection closed");
    }
}

/// Errors of one connection that accept(2) reports; the listener is fine.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionRefused
    )
}

/// Answers 503 `request-timeout` when the request takes longer than
/// `limit`. Admin actions run detached from the request
/// (`http::admin`), so a timeout cuts the answer, never an action.
async fn deadline(limit: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_elapsed) => ErrorResponse::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request-timeout",
            format!(
                "labwatch could not answer within {} s (a request body that arrived too slowly?). \
                 An admin action already started still finishes and is audited; \
                 look at `/status` before retrying it.",
                limit.as_secs()
            ),
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::connection_cap;

    #[test]
    fn half_the_descriptors_stay_for_the_checks() {
        assert_eq!(connection_cap(1024), 512);
        assert_eq!(connection_cap(64), 32);
        assert_eq!(connection_cap(5), 4);
        assert_eq!(connection_cap(1 << 20), 1024);
        assert_eq!(connection_cap(u64::MAX), 1024);
    }
}
