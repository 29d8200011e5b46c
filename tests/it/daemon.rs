//! The daemon in-process: scheduled checks behind the real HTTP server on
//! port 0, with rounds triggered and awaited instead of slept for.

use std::sync::Arc;

use labwatch::http::AppState;
use labwatch::http::serve;
use labwatch::runtime::Runtime;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::support::client::get;
use crate::support::config::{ConfigFile, single};
use crate::support::stub::{Answer, Stub};

struct Running {
    runtime: Arc<Runtime>,
    addr: std::net::SocketAddr,
    passes: tokio::sync::watch::Receiver<u64>,
    _stop: oneshot::Sender<()>,
}

async fn start(config: labwatch::config::Config) -> Running {
    let runtime = Arc::new(Runtime::start(config, None));
    let passes = runtime.status().subscribe();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let state = AppState::new(&runtime);
    tokio::spawn(serve(listener, state, async move {
        let _ = stopped.await;
    }));
    Running {
        runtime,
        addr,
        passes,
        _stop: stop,
    }
}

impl Running {
    /// Runs every check now and waits for the round to finish.
    async fn round(&mut self) {
        self.passes.borrow_and_update();
        assert!(self.runtime.run_now(None));
        self.passes.changed().await.unwrap();
    }

    async fn first_round(&mut self) {
        while !self.runtime.status().first_round_done() {
            self.passes.changed().await.unwrap();
        }
    }
}

#[tokio::test]
async fn health_follows_the_instance_down_and_back_up() {
    let mut gitlab = Stub::start(Answer::Gitlab).await;
    let file = ConfigFile::new(&single(&gitlab.url(), ""));
    let mut d = start(file.load()).await;
    d.first_round().await;
    assert_eq!(get(d.addr, "/health").await, (200, "ok\n".into()));

    gitlab.stop().await;
    d.round().await;
    let (code, body) = get(d.addr, "/health").await;
    assert_eq!(code, 503);
    assert!(body.starts_with("acme/instance critical tcp-refused: "), "{body}");
    let (_, metrics) = get(d.addr, "/metrics").await;
    assert!(
        metrics.contains(r#"labwatch_check_status{check="instance",target="",workspace="acme"} 2"#),
        "{metrics}"
    );

    gitlab.restart().await;
    d.round().await;
    assert_eq!(get(d.addr, "/health").await, (200, "ok\n".into()));
    let (_, status) = get(d.addr, "/status/acme").await;
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(v["checks"][0]["status"], "ok");
    assert_eq!(v["checks"][0]["consecutive_failures"], 0);
}

#[tokio::test]
async fn a_gitlab_answering_errors_is_critical_until_it_recovers() {
    let gitlab = Stub::start(Answer::Raw {
        status: 502,
        content_type: "text/html",
        body: "<h1>Bad Gateway</h1>",
    })
    .await;
    let file = ConfigFile::new(&single(&gitlab.url(), ""));
    let mut d = start(file.load()).await;
    d.first_round().await;
    let (code, body) = get(d.addr, "/health").await;
    assert_eq!(code, 503);
    assert!(body.contains("http-server-error"), "{body}");
    gitlab.set(Answer::Gitlab);
    d.round().await;
    assert_eq!(get(d.addr, "/health").await.0, 200);
}

#[tokio::test]
async fn a_reload_applies_the_new_workspaces() {
    let gitlab = Stub::start(Answer::Gitlab).await;
    let file = ConfigFile::new(&single(&gitlab.url(), ""));
    let mut d = start(file.load()).await;
    d.first_round().await;
    file.rewrite(&single(&gitlab.url(), "").replace("name = \"acme\"", "name = \"renamed\""));
    labwatch::daemon::reload(&d.runtime, &file.path).unwrap();
    assert_eq!(get(d.addr, "/status/acme").await.0, 404);
    d.first_round().await;
    assert_eq!(get(d.addr, "/health?workspace=renamed").await.0, 200);

    file.rewrite("[[workspace]]\nname = \"x\"\nbogus = 1\n");
    let err = labwatch::daemon::reload(&d.runtime, &file.path)
        .unwrap_err()
        .to_string();
    assert!(err.contains(":3:1: unknown field `bogus`"), "{err}");
    assert_eq!(
        get(d.addr, "/health?workspace=renamed").await.0,
        200,
        "the old config keeps running"
    );
}
