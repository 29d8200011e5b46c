//! A TCP proxy on loopback for fault injection between labwatch and a
//! server (the simulator): it relays bytes both ways and, when told to, cuts
//! an answer in the middle of its body with a TCP reset — a fault the
//! simulator cannot make itself (it can only drop a connection before
//! answering). It counts the connections it accepted, so tests can tell
//! connection reuse from a connection per request.
//!
//! Requests are parsed just enough to find each one's target; answers are
//! never parsed beyond the head of the one being cut. That is enough because
//! an HTTP/1.1 client waits for an answer before it sends the next request on
//! the same connection (reqwest and hyper do not pipeline): whatever the
//! upstream sends after a request belongs to that request's answer.
//!
//! Absolute URLs in answers (the simulator's `Link` headers) still name the
//! upstream, so keep listings through the proxy to one page.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use super::net::Task;

/// The proxy; it stops when dropped (open connections end with it).
pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
    _task: Task,
}

/// What the handle and the connections share.
#[derive(Default)]
struct State {
    /// Client connections accepted so far.
    connections: AtomicU64,
    /// Answers cut so far.
    resets: AtomicU64,
    /// Pending cuts, used up in order by matching requests.
    cuts: Mutex<Vec<Cut>>,
}

/// Cut the answers to the next `count` requests whose target starts with
/// `path_prefix`, after their head and at most `body_bytes` of their body.
#[derive(Debug, Clone)]
struct Cut {
    count: u32,
    path_prefix: String,
    body_bytes: usize,
}

impl State {
    /// Uses up one cut for a request to `target`, if one applies.
    fn take_cut(&self, target: &str) -> Option<usize> {
        let mut cuts = self.cuts.lock().unwrap();
        let i = cuts.iter().position(|c| target.starts_with(&c.path_prefix))?;
        let body_bytes = cuts[i].body_bytes;
        cuts[i].count -= 1;
        if cuts[i].count == 0 {
            cuts.remove(i);
        }
        Some(body_bytes)
    }
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and relays every connection to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let shared = state.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                shared.connections.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(relay(client, upstream, shared.clone()));
            }
        });
        Proxy {
            addr,
            state,
            _task: Task(task),
        }
    }

    /// `http://127.0.0.1:PORT`, the instance URL to give labwatch.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Resets the connection in the middle of the answers to the next
    /// `count` requests under `path_prefix`: the client gets the answer's
    /// head and `body_bytes` of its body (at least one byte short of a body
    /// whose `Content-Length` the head announces), then a TCP RST.
    pub fn reset_mid_body(&self, count: u32, path_prefix: &str, body_bytes: usize) {
        if count > 0 {
            self.state.cuts.lock().unwrap().push(Cut {
                count,
                path_prefix: path_prefix.to_owned(),
                body_bytes,
            });
        }
    }

    /// Client connections accepted so far.
    pub fn connections(&self) -> u64 {
        self.state.connections.load(Ordering::SeqCst)
    }

    /// Answers cut with a reset so far.
    pub fn resets(&self) -> u64 {
        self.state.resets.load(Ordering::SeqCst)
    }
}

/// One client connection and its own upstream connection.
async fn relay(client: TcpStream, upstream: SocketAddr, state: Arc<State>) {
    let Ok(upstream) = TcpStream::connect(upstream).await else {
        return;
    };
    // Without Nagle, the cut answer's bytes leave before the reset, which
    // would otherwise discard them from the send queue.
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    let mut conn = Connection {
        client,
        upstream,
        requests: RequestScanner::default(),
        cut: None,
    };
    if conn.run(&state).await == Ended::Cut {
        state.resets.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Debug, PartialEq)]
enum Ended {
    /// Either side closed or failed.
    Closed,
    /// The proxy cut an answer and reset the client connection.
    Cut,
}

struct Connection {
    client: TcpStream,
    upstream: TcpStream,
    requests: RequestScanner,
    /// Set while the answer in flight is to be cut: the answer's bytes so
    /// far and how much of its body to let through.
    cut: Option<(Vec<u8>, usize)>,
}

impl Connection {
    async fn run(&mut self, state: &State) -> Ended {
        let mut up = vec![0u8; 16 * 1024];
        let mut down = vec![0u8; 16 * 1024];
        loop {
            tokio::select! {
                read = self.client.read(&mut up) => {
                    let Ok(n @ 1..) = read else { return Ended::Closed };
                    // Decided before the request goes upstream, so the
                    // decision is in place when its answer arrives.
                    for target in self.requests.feed(&up[..n]) {
                        if let Some(body_bytes) = state.take_cut(&target) {
                            self.cut = Some((Vec::new(), body_bytes));
                        }
                    }
                    if self.upstream.write_all(&up[..n]).await.is_err() {
                        return Ended::Closed;
                    }
                }
                read = self.upstream.read(&mut down) => {
                    let Ok(n @ 1..) = read else { return Ended::Closed };
                    match &mut self.cut {
                        None => {
                            if self.client.write_all(&down[..n]).await.is_err() {
                                return Ended::Closed;
                            }
                        }
                        Some((answer, body_bytes)) => {
                            answer.extend_from_slice(&down[..n]);
                            if let Some(keep) = cut_point(answer, *body_bytes) {
                                let _ = self.client.write_all(&answer[..keep]).await;
                                return self.reset();
                            }
                        }
                    }
                }
            }
        }
    }

    /// Ends the client connection with RST instead of FIN.
    fn reset(&mut self) -> Ended {
        // Zero linger makes the kernel answer close() with a reset; the
        // stream is closed when the connection is dropped right after.
        let _ = self.client.set_zero_linger();
        Ended::Cut
    }
}

/// How many bytes of `answer` (so far) to forward before the reset, once
/// that is known: its head plus `body_bytes` of the body, but always at
/// least one byte short of a body whose length the head announces, so the
/// answer is really cut.
fn cut_point(answer: &[u8], body_bytes: usize) -> Option<usize> {
    let head_end = find(answer, b"\r\n\r\n")? + 4;
    let keep = match content_length(&answer[..head_end]) {
        Some(length) => body_bytes.min(length.saturating_sub(1)),
        None => body_bytes,
    };
    (answer.len() >= head_end + keep).then_some(head_end + keep)
}

/// Finds where each request starts in the client's byte stream and yields
/// the request targets (`/api/v4/projects?…`). Request bodies are skipped by
/// their `Content-Length`.
#[derive(Default)]
struct RequestScanner {
    pending: Vec<u8>,
    /// Body bytes of the current request still to come.
    body_left: usize,
}

impl RequestScanner {
    fn feed(&mut self, bytes: &[u8]) -> Vec<String> {
        self.pending.extend_from_slice(bytes);
        let mut targets = Vec::new();
        loop {
            if self.body_left > 0 {
                let skip = self.body_left.min(self.pending.len());
                self.pending.drain(..skip);
                self.body_left -= skip;
                if self.body_left > 0 {
                    return targets;
                }
            }
            let Some(end) = find(&self.pending, b"\r\n\r\n") else {
                return targets;
            };
            let head: Vec<u8> = self.pending.drain(..end + 4).collect();
            self.body_left = content_length(&head).unwrap_or(0);
            let line = String::from_utf8_lossy(&head);
            if let Some(target) = line.split_whitespace().nth(1) {
                targets.push(target.to_owned());
            }
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The `Content-Length` of a message head, if it has one.
fn content_length(head: &[u8]) -> Option<usize> {
    String::from_utf8_lossy(head).lines().skip(1).find_map(|line| {
        let (name, value) = line.split_once(':')?;
        name.trim()
            .eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}
