//! A minimal GitLab-like HTTP server on loopback whose answer the test
//! controls, and which can be stopped and restarted on the same port to make
//! the instance "go down" and "come back".

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// What the stub answers to every request.
#[derive(Clone)]
pub enum Answer {
    /// 200 with GitLab's /version body.
    Gitlab,
    /// Any status and body.
    Raw {
        status: u16,
        content_type: &'static str,
        body: &'static str,
    },
    /// Like `Gitlab`, but the token was revoked: API calls get GitLab's 401.
    Revoked,
    /// Hold every request until the latch turns true, then answer like GitLab.
    HoldThenGitlab(watch::Receiver<bool>),
}

pub struct Stub {
    pub addr: SocketAddr,
    answer: Arc<Mutex<Answer>>,
    task: Option<JoinHandle<()>>,
}

impl Stub {
    pub async fn start(answer: Answer) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind stub");
        let addr = listener.local_addr().expect("stub address");
        let answer = Arc::new(Mutex::new(answer));
        let task = Some(tokio::spawn(serve(listener, answer.clone())));
        Stub { addr, answer, task }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn set(&self, answer: Answer) {
        *self.answer.lock().expect("stub lock") = answer;
    }

    /// Closes the port: connections are refused from now on.
    pub async fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }

    /// Listens again on the same port.
    pub async fn restart(&mut self) {
        self.stop().await;
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("re-bind stub on the same port");
        self.task = Some(tokio::spawn(serve(listener, self.answer.clone())));
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

async fn serve(listener: TcpListener, answer: Arc<Mutex<Answer>>) {
    let mut conns = tokio::task::JoinSet::new();
    while let Ok((mut sock, _)) = listener.accept().await {
        let answer = answer.lock().expect("stub lock").clone();
        conns.spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut read = 0;
            while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf[read..]).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => read += n,
                }
                if read == buf.len() {
                    return;
                }
            }
            let path = String::from_utf8_lossy(&buf[..read])
                .split_whitespace()
                .nth(1)
                .unwrap_or("/")
                .to_owned();
            let (status, ctype, body) = match answer {
                Answer::Gitlab => gitlab(&path),
                Answer::Revoked if path.starts_with("/api/v4/version") => gitlab(&path),
                Answer::Revoked => (401, "application/json", REVOKED),
                Answer::Raw {
                    status,
                    content_type,
                    body,
                } => (status, content_type, body),
                Answer::HoldThenGitlab(mut latch) => {
                    let _ = latch.wait_for(|open| *open).await;
                    gitlab(&path)
                }
            };
            let response = format!(
                "HTTP/1.1 {status} X\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(response.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}

/// Just enough GitLab for the built-in checks with a valid `api` token that
/// expires in a year: version, token, user, an empty project list.
fn gitlab(path: &str) -> (u16, &'static str, &'static str) {
    let json = "application/json";
    let route = path.split('?').next().unwrap_or(path);
    match route {
        "/api/v4/version" => (200, json, r#"{"version":"17.5.0","revision":"abc123"}"#),
        "/api/v4/personal_access_tokens/self" => (200, json, TOKEN),
        "/api/v4/user" => (
            200,
            json,
            r#"{"id":3,"username":"alice","name":"Alice","state":"active"}"#,
        ),
        "/api/v4/projects" => (200, json, "[]"),
        _ => (404, json, r#"{"error":"404 Not Found"}"#),
    }
}

const TOKEN: &str = r#"{"id":4,"name":"workspace","revoked":false,"active":true,"scopes":["api"],"user_id":3,"created_at":"2026-01-01T00:00:00.000Z","expires_at":"2099-01-01"}"#;

const REVOKED: &str =
    r#"{"error":"invalid_token","error_description":"Token was revoked. You have to re-authorize from the user."}"#;
