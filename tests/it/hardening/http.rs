//! The HTTP server under clients that misbehave: slow headers, idle
//! keep-alive connections, more connections than the cap, a half-sent
//! request at shutdown; error answers that are JSON whatever went wrong;
//! the Bearer scheme in any case; a failed reload shown on `/readyz` and
//! `/status` (issue "Hardening", items 1, 6, 7 and 12).
//!
//! Most tests run the real server in-process on loopback with short
//! limits, and speak raw HTTP/1.1 so they can stop halfway. Closes are
//! observed, not timed: each wait is bounded only so that a regression
//! fails instead of hanging.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use labwatch::actions::Actions;
use labwatch::http::admin::AdminState;
use labwatch::http::{AppState, Limits, serve_with};
use labwatch::runtime::Runtime;
use labwatch::store::ConnectionStore;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

use crate::support::config::{ConfigFile, single};
use crate::support::net::closed_port;
use crate::support::process::Daemon;
use crate::support::stub::{self, Stub};

const ADMIN: &str = "admin-secret-for-hardening-tests";

/// A bound on waits for something that must happen; reaching it fails.
const BOUND: Duration = Duration::from_secs(30);

/// Limits for tests: the defaults, with a header timeout short enough to
/// wait for.
fn limits() -> Limits {
    Limits {
        header_timeout: Duration::from_millis(300),
        request_timeout: Duration::from_secs(30),
        max_connections: 64,
        shutdown_grace: Duration::from_secs(5),
    }
}

/// The real server with the admin API on, over a workspace whose GitLab
/// does not listen (no check here needs it to).
struct Served {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
    _config: ConfigFile,
}

async fn serve(limits: Limits) -> Served {
    let gitlab = closed_port().await;
    let file = ConfigFile::new(&single(&format!("http://{gitlab}"), ""));
    let config = file.load();
    let store = Arc::new(ConnectionStore::open(&config.store.dir, &config.store.key_file).unwrap());
    let runtime = Arc::new(Runtime::start(config, Some(store.clone())));
    let actions = Arc::new(Actions::new(runtime.clone(), store));
    let mut state = AppState::new(&runtime);
    state.admin = Some(Arc::new(AdminState::new(SecretString::from(ADMIN), actions)));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(serve_with(listener, state, limits, async move {
        let _ = stopped.await;
    }));
    Served {
        addr,
        _stop: stop,
        _config: file,
    }
}

/// An answer: status, the header block (lowercased) and the body.
struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn json(&self) -> serde_json::Value {
        assert!(
            self.head.contains("content-type: application/json"),
            "not JSON:\n{}\n\n{}",
            self.head,
            self.body
        );
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The JSON error body's code, after checking the body has the shape.
    fn error_code(&self) -> String {
        let json = self.json();
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{json}");
        json["error"].as_str().expect("`error` is a string").to_owned()
    }
}

/// Reads one answer (whose length is given by `content-length`) without
/// waiting for the connection to close.
async fn read_answer(sock: &mut TcpStream) -> Answer {
    let read = async {
        let mut raw = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let n = sock.read(&mut buf).await.expect("read the answer");
            assert!(
                n > 0,
                "closed before a whole answer: {:?}",
                String::from_utf8_lossy(&raw)
            );
            raw.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&raw).into_owned();
            let Some((head, body)) = text.split_once("\r\n\r\n") else {
                continue;
            };
            let head = head.to_ascii_lowercase();
            let length = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
            if body.len() >= length {
                let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
                return Answer {
                    status,
                    head,
                    body: body.to_owned(),
                };
            }
        }
    };
    tokio::time::timeout(BOUND, read).await.expect("an answer in time")
}

/// Sends `request` on a new connection and reads the answer.
async fn exchange(addr: SocketAddr, request: &str) -> Answer {
    let mut sock = TcpStream::connect(addr).await.unwrap();
    sock.write_all(request.as_bytes()).await.unwrap();
    read_answer(&mut sock).await
}

/// Whether the server closes `sock` (EOF or reset) before [`BOUND`].
async fn closed_by_server(sock: &mut TcpStream) -> bool {
    let until_closed = async {
        let mut buf = [0u8; 1024];
        loop {
            match sock.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(BOUND, until_closed).await.is_ok()
}

/// Whether the server had already closed `sock`: its EOF is waiting.
fn already_closed(sock: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    match sock.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
        Err(_) => true,
    }
}

// ------------------------------------------------------------ item 1

#[tokio::test]
async fn a_client_that_never_finishes_its_header_is_disconnected() {
    let lab = serve(limits()).await;
    let mut slow = TcpStream::connect(lab.addr).await.unwrap();
    slow.write_all(b"GET /livez HTTP/1.1\r\nhost: labwatch\r\nx-slow: 1")
        .await
        .unwrap();
    assert!(
        closed_by_server(&mut slow).await,
        "a half-sent header kept its connection open"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let lab = serve(limits()).await;
    let mut idle = TcpStream::connect(lab.addr).await.unwrap();
    idle.write_all(b"GET /livez HTTP/1.1\r\nhost: labwatch\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut idle).await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok\n"));
    assert!(!answer.head.contains("connection: close"), "{}", answer.head);
    assert!(
        closed_by_server(&mut idle).await,
        "an idle keep-alive connection stayed open"
    );
}

#[tokio::test]
async fn past_the_cap_a_new_client_waits_until_an_idle_connection_is_shed() {
    let lab = serve(Limits {
        max_connections: 2,
        ..limits()
    })
    .await;
    let mut hogs = Vec::new();
    for _ in 0..2 {
        hogs.push(TcpStream::connect(lab.addr).await.unwrap());
    }
    // A third client is served, but only once a hog was closed: the cap
    // held it in the listen queue until then.
    let answer = exchange(
        lab.addr,
        "GET /livez HTTP/1.1\r\nhost: labwatch\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((answer.status, answer.body.as_str()), (200, "ok\n"));
    assert!(
        hogs.iter().any(already_closed),
        "the third connection was served while two others held the cap of 2"
    );
}

#[tokio::test]
async fn a_request_body_that_trickles_in_gets_a_json_503() {
    let lab = serve(Limits {
        header_timeout: Duration::from_secs(30),
        request_timeout: Duration::from_millis(300),
        ..limits()
    })
    .await;
    let answer = exchange(
        lab.addr,
        &format!(
            "PUT /api/v1/workspaces/acme/token HTTP/1.1\r\nhost: labwatch\r\nauthorization: Bearer {ADMIN}\r\n\
             content-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"tok"
        ),
    )
    .await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.error_code(), "request-timeout");
}

/// The binary stops within its shutdown grace although a client sent half
/// a request and waits.
#[tokio::test]
async fn sigterm_stops_the_daemon_despite_a_half_sent_request() {
    let gitlab = closed_port().await;
    let file = ConfigFile::new(&single(&format!("http://{gitlab}"), ""));
    let mut daemon = Daemon::start(&file.path);
    let mut half = TcpStream::connect(daemon.addr).await.unwrap();
    half.write_all(b"POST /api/v1/checks/run HTTP/1.1\r\nhost: labwatch\r\n")
        .await
        .unwrap();
    // Served after the half-sent one was accepted (the listen queue is FIFO).
    let (code, _) = crate::support::client::get(daemon.addr, "/livez").await;
    assert_eq!(code, 200);
    daemon.signal("TERM");
    daemon.wait_for("Shut down");
    assert_eq!(daemon.wait_exit(), Some(0));
}

/// The next log event `message` about the instance check, logged after
/// `after` (log timestamps are RFC 3339 in UTC, so they sort as text).
fn next_instance_event(daemon: &mut Daemon, message: &str, after: &str) -> serde_json::Value {
    // Bounded: events of other checks or rounds must not keep it waiting forever.
    for _ in 0..1000 {
        let event = daemon.wait_for(message);
        if event["check"] == "instance" && event["timestamp"].as_str().is_some_and(|t| t > after) {
            return event;
        }
    }
    panic!("no `{message}` of the instance check after {after}");
}

/// Under a 64-descriptor limit, 100 idle clients hold the cap (32) and
/// wait in the listen queue beyond it; the checks, every second, keep the
/// descriptors they need and keep passing.
// Multi-threaded: the stub GitLab answers while the test blocks on the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_clients_past_the_cap_leave_the_checks_their_descriptors() {
    let gitlab = Stub::start(stub::Answer::Gitlab).await;
    let file = ConfigFile::new(&single(&gitlab.url(), "interval = \"1s\"\ntimeout = \"1s\""));
    let mut daemon = Daemon::start_with_open_files_limit(&file.path, 64);
    let mut hogs = Vec::new();
    for _ in 0..100 {
        hogs.push(TcpStream::connect(daemon.addr).await.unwrap());
    }
    let reached = daemon.wait_for("Connection limit reached; new connections wait until one closes");
    assert_eq!(reached["max_connections"], 32, "{reached}");
    let after = reached["timestamp"].as_str().unwrap().to_owned();
    let mut rounds = 0;
    while rounds < 2 {
        let round = daemon.wait_for("Round finished");
        rounds += usize::from(round["timestamp"].as_str().is_some_and(|t| t > after.as_str()));
    }
    let instance_after: Vec<serde_json::Value> = daemon
        .seen
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["check"] == "instance" && e["timestamp"].as_str().is_some_and(|t| t > after.as_str()))
        .collect();
    assert!(!instance_after.is_empty(), "no instance check ran under the cap");
    // What the descriptors decide; a busy machine may still time out a
    // 1-second check, which is not this test's question.
    for event in instance_after.iter().filter(|e| e["message"] == "Check failed") {
        assert!(
            !matches!(
                event["reason"].as_str(),
                Some("local-resource-exhausted" | "tcp-refused")
            ),
            "{event}"
        );
        assert!(!event.to_string().contains("Too many open files"), "{event}");
    }
    drop(hogs);
    let (code, _) = crate::support::client::get(daemon.addr, "/livez").await;
    assert_eq!(code, 200);
}

/// When labwatch itself has no descriptor left, the instance check says so
/// instead of calling GitLab down.
// Multi-threaded: the stub GitLab answers while the test blocks on the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_descriptor_shortage_is_reported_as_labwatchs_not_gitlabs() {
    let gitlab = Stub::start(stub::Answer::Gitlab).await;
    let file = ConfigFile::new(&single(&gitlab.url(), "interval = \"1s\"\ntimeout = \"1s\""));
    let mut daemon = Daemon::start(&file.path);
    let first = daemon.wait_for("First round finished");
    let after = first["timestamp"].as_str().unwrap().to_owned();
    // Lower the limit below what the daemon holds: every new descriptor fails.
    let open = std::fs::read_dir(format!("/proc/{}/fd", daemon.pid())).unwrap().count();
    let limit = (open - 3).to_string();
    let status = std::process::Command::new("prlimit")
        .args(["--pid", &daemon.pid().to_string(), &format!("--nofile={limit}:{limit}")])
        .status()
        .expect("prlimit (util-linux) runs");
    assert!(status.success());
    let failed = next_instance_event(&mut daemon, "Check failed", &after);
    assert_eq!(failed["reason"], "local-resource-exhausted", "{failed}");
    assert_eq!(failed["status"], "unknown", "{failed}");
    let summary = failed["summary"].as_str().unwrap();
    assert!(summary.contains("Too many open files"), "{summary}");
}

// ------------------------------------------------------------ item 6

#[tokio::test]
async fn the_bearer_scheme_is_read_in_any_case() {
    let lab = serve(limits()).await;
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let answer = exchange(
            lab.addr,
            &format!(
                "POST /api/v1/checks/run?workspace=acme HTTP/1.1\r\nhost: labwatch\r\n\
                 authorization: {scheme} {ADMIN}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            ),
        )
        .await;
        // 202 the first time, 429 (checks just ran) after: both authorized.
        assert!(
            matches!(answer.status, 202 | 429),
            "{scheme}: {} {}",
            answer.status,
            answer.body
        );
    }
    let wrong = exchange(
        lab.addr,
        "POST /api/v1/checks/run HTTP/1.1\r\nhost: labwatch\r\nauthorization: bearer nope\r\n\
         content-length: 0\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!((wrong.status, wrong.error_code().as_str()), (401, "unauthorized"));
}

// ------------------------------------------------------------ item 7

#[tokio::test]
async fn a_method_an_endpoint_does_not_take_gets_a_json_405() {
    let lab = serve(limits()).await;
    let answer = exchange(
        lab.addr,
        "DELETE /livez HTTP/1.1\r\nhost: labwatch\r\nconnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.error_code(), "method-not-allowed");
    assert!(answer.head.contains("allow: get"), "{}", answer.head);
}

#[tokio::test]
async fn a_rotate_body_over_the_limit_gets_a_json_413() {
    let lab = serve(limits()).await;
    // One byte over: the server reads all of it before refusing, so it
    // closes with nothing unread (which would reset the connection).
    let body = " ".repeat(labwatch::http::BODY_LIMIT + 1);
    let answer = exchange(
        lab.addr,
        &format!(
            "POST /api/v1/workspaces/acme/rotate HTTP/1.1\r\nhost: labwatch\r\nauthorization: Bearer {ADMIN}\r\n\
             content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.error_code(), "body-too-large");
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_gets_a_json_415_saying_so() {
    let lab = serve(limits()).await;
    let body = r#"{"token": "glpat-x"}"#;
    let answer = exchange(
        lab.addr,
        &format!(
            "PUT /api/v1/workspaces/acme/token HTTP/1.1\r\nhost: labwatch\r\nauthorization: Bearer {ADMIN}\r\n\
             content-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        ),
    )
    .await;
    assert_eq!(answer.status, 415);
    assert_eq!(answer.error_code(), "unsupported-media-type");
    assert!(answer.json()["message"].as_str().unwrap().contains("application/json"));
}

#[tokio::test]
async fn paths_that_are_not_utf8_get_json_400s() {
    let lab = serve(limits()).await;
    let cases = [
        ("GET /status/%FF HTTP/1.1", "invalid-path"),
        ("POST /api/v1/workspaces/%FF%FE/rotate HTTP/1.1", "invalid-path"),
    ];
    for (line, code) in cases {
        let answer = exchange(
            lab.addr,
            &format!(
                "{line}\r\nhost: labwatch\r\nauthorization: Bearer {ADMIN}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            ),
        )
        .await;
        assert_eq!(answer.status, 400, "{line}: {}", answer.body);
        assert_eq!(answer.error_code(), code, "{line}");
    }
}

// ------------------------------------------------------------ item 12

/// Reloads when the test says so, like SIGHUP.
struct Reloads(tokio::sync::mpsc::UnboundedReceiver<()>);

impl labwatch::daemon::ReloadSignal for Reloads {
    async fn next(&mut self) {
        if self.0.recv().await.is_none() {
            std::future::pending::<()>().await;
        }
    }
}

/// `GET /status`'s `config` object once `done` holds for it, retried
/// while the daemon has not yet handled the reload.
async fn config_once(addr: SocketAddr, done: impl Fn(&serde_json::Value) -> bool) -> serde_json::Value {
    let deadline = tokio::time::Instant::now() + BOUND;
    loop {
        let (code, body) = crate::support::client::get(addr, "/status").await;
        assert_eq!(code, 200, "{body}");
        let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
        if done(&doc["config"]) {
            return doc["config"].clone();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never reached: {}",
            doc["config"]
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_failed_reload_shows_on_readyz_and_status_until_a_good_one() {
    let gitlab = closed_port().await;
    let good = single(&format!("http://{gitlab}"), "");
    let file = ConfigFile::new(&good);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (reload, reloads) = tokio::sync::mpsc::unbounded_channel();
    let (_stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(labwatch::daemon::run(
        file.load(),
        listener,
        Reloads(reloads),
        async move {
            let _ = stopped.await;
        },
    ));

    let config = config_once(addr, |_| true).await;
    assert_eq!(
        config,
        serde_json::json!({"stale": false, "stale_since": null, "reload_errors": []})
    );

    file.rewrite(&format!("{good}\n[[workspace]]\nname = \"acme\"\n"));
    reload.send(()).unwrap();
    let config = config_once(addr, |c| c["stale"] == true).await;
    let since = config["stale_since"]
        .as_str()
        .expect("stale_since is a time")
        .to_owned();
    time::OffsetDateTime::parse(&since, &time::format_description::well_known::Rfc3339).expect("RFC 3339");
    let location = config["reload_errors"][0].as_str().expect("an error location");
    let file_name = file.path.display().to_string();
    assert!(location.starts_with(&format!("{file_name}:")), "{location}");

    let (code, body) = crate::support::client::get(addr, "/readyz?verbose").await;
    assert!(
        body.starts_with(&format!("[-] config stale since {since}: reload failed ({location})")),
        "{code} {body}"
    );

    file.rewrite(&good);
    reload.send(()).unwrap();
    config_once(addr, |c| c["stale"] == false).await;
    let (_, body) = crate::support::client::get(addr, "/readyz?verbose").await;
    assert!(body.starts_with("[+] config ok\n"), "{body}");
}
