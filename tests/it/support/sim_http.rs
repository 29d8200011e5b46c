//! Talking to the simulator over HTTP as a GitLab client does, for the
//! tests of the simulator itself (`sim`, `sim_api`): one client that
//! follows no redirects (a 301 is an answer to assert on), and answers
//! kept whole (status, headers, body).

use labwatch::sim::{self, Scenario, SimHandle};
use reqwest::header::HeaderMap;
use reqwest::{Client, Method, StatusCode};
use serde_json::Value;

pub fn client() -> Client {
    let tls = labwatch::tls::client_config(None).expect("TLS config");
    Client::builder()
        .tls_backend_preconfigured((*tls).clone())
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .expect("HTTP client")
}

/// The simulator on a free loopback port.
pub async fn serve(scenario: Scenario) -> SimHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    sim::start(scenario, listener).await.expect("simulator starts")
}

pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }

    /// The `id`s of a JSON array answer, in order.
    pub fn ids(&self) -> Vec<u64> {
        let body = self.json();
        let items = body.as_array().unwrap_or_else(|| panic!("not an array: {}", self.text));
        items.iter().map(|p| p["id"].as_u64().expect("id")).collect()
    }

    async fn of(response: reqwest::Response) -> Answer {
        Answer {
            status: response.status(),
            headers: response.headers().clone(),
            text: response.text().await.expect("body"),
        }
    }
}

/// `method path` with `token` as `PRIVATE-TOKEN` and `body` as JSON.
pub async fn call(gitlab: &SimHandle, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
    let mut request = client().request(method, format!("{}{path}", gitlab.base_url()));
    if let Some(token) = token {
        request = request.header("PRIVATE-TOKEN", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    Answer::of(request.send().await.expect("request answered")).await
}

pub async fn get(gitlab: &SimHandle, path: &str, token: Option<&str>) -> Answer {
    call(gitlab, Method::GET, path, token, None).await
}

pub async fn post(gitlab: &SimHandle, path: &str, token: Option<&str>) -> Answer {
    call(gitlab, Method::POST, path, token, None).await
}

pub async fn delete(gitlab: &SimHandle, path: &str, token: Option<&str>) -> Answer {
    call(gitlab, Method::DELETE, path, token, None).await
}

/// Git's first request of a clone, `info/refs` of `repo`, with `password`
/// as the Basic password of user `oauth2`.
pub async fn git(gitlab: &SimHandle, repo: &str, password: Option<&str>) -> Answer {
    let url = format!("{}/{repo}.git/info/refs?service=git-upload-pack", gitlab.base_url());
    let mut request = client().get(url);
    if let Some(password) = password {
        request = request.basic_auth("oauth2", Some(password));
    }
    Answer::of(request.send().await.expect("request answered")).await
}
