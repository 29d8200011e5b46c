//! The daemon wired in this process as `labwatch run` wires it (store,
//! runtime, actions, the task that follows the rounds, the admin API when a
//! token is given), served on loopback; and a client for its admin API.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use labwatch::actions::Actions;
use labwatch::config::Config;
use labwatch::http::AppState;
use labwatch::http::admin::AdminState;
use labwatch::runtime::Runtime;
use labwatch::store::ConnectionStore;
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::{oneshot, watch};

/// A served daemon. Dropping it stops the server.
pub struct InProcess {
    pub addr: SocketAddr,
    pub store: Arc<ConnectionStore>,
    /// Schedules the checks for as long as the test holds it.
    pub runtime: Arc<Runtime>,
    /// Changes after every pass of any workspace.
    pub passes: watch::Receiver<u64>,
    _stop: oneshot::Sender<()>,
}

/// Serves `config` with its store; the admin API is on when `admin_token` is given.
pub async fn serve(config: Config, admin_token: Option<&str>) -> InProcess {
    let store = Arc::new(ConnectionStore::open(&config.store.dir, &config.store.key_file).unwrap());
    let runtime = Arc::new(Runtime::start(config, Some(store.clone())));
    let actions = Arc::new(Actions::new(runtime.clone(), store.clone()));
    let (mut state, passes) = (AppState::new(&runtime), runtime.status().subscribe());
    tokio::spawn(labwatch::actions::run_after_rounds(actions.clone()));
    state.admin = admin_token.map(|token| Arc::new(AdminState::new(SecretString::from(token.to_owned()), actions)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    tokio::spawn(labwatch::http::serve(listener, state, async move {
        let _ = stopped.await;
    }));
    InProcess {
        addr,
        store,
        runtime,
        passes,
        _stop: stop,
    }
}

/// A client whose every call is bounded: an answer that never comes fails
/// the test instead of hanging it.
pub fn http_client() -> reqwest::Client {
    let tls = labwatch::tls::client_config(None).unwrap();
    reqwest::Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The simulator's request counters, read as a person would: `GET
/// /-/sim/counters`, as JSON or into a type of the test's.
pub async fn sim_counters<T: serde::de::DeserializeOwned>(sim: &labwatch::sim::SimHandle) -> T {
    http_client()
        .get(format!("{}/-/sim/counters", sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `method path` with the admin token and an optional JSON body: the status
/// and the answer as JSON (or as a JSON string when it is not JSON).
pub async fn call(
    http: &reqwest::Client,
    addr: SocketAddr,
    admin_token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = http
        .request(method, format!("http://{addr}{path}"))
        .bearer_auth(admin_token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.expect("the daemon answers");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}
