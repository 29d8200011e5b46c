//! [`GitlabClient`]: one per workspace, over its instance's shared pool and
//! budget ([`Instance`]). It adds the workspace's own request budget and an
//! auth breaker: after a 401
//! for a token, no authenticated call goes out until the token changes, so a
//! dead token cannot get the host banned for failed logins (docs/gitlab.md §1, §10).
//!
//! Redirects are never followed automatically: the token must only ever go
//! to its own instance (`docs/checks.md`, "How labwatch treats GitLab"). The one redirect labwatch cares about,
//! a moved project's 301, is returned as [`GitlabError::Moved`].

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, LOCATION};
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use url::Url;

use super::bounds;
use super::budget::{self, Budget};
use super::error::BudgetKind;
use super::instance::{self, Instance};
use super::{GitlabError, GitlabMetrics};

/// Longest a call waits for the request budget before giving up with
/// [`GitlabError::RateLimited`]; the engine's check timeout bounds it too.
const MAX_BUDGET_WAIT: Duration = Duration::from_secs(30);
/// GitLab error bodies are small; anything larger is not worth reading.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// An HTTP answer labwatch accepted (2xx or a status the caller handles).
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GitlabError> {
        serde_json::from_slice(&self.body).map_err(|e| GitlabError::Decode { message: e.to_string() })
    }
}

struct Token {
    /// Bumped on every change, so the breaker knows whether the token it
    /// tripped on is still the one in use.
    generation: u64,
    secret: Option<SecretString>,
}

pub struct GitlabClient {
    /// The pool and budget every workspace on this instance shares.
    instance: Arc<Instance>,
    /// Per-request timeout (connect + answer).
    timeout: Duration,
    /// Instance root without trailing slash, e.g. `https://gitlab.example.com`.
    base: Url,
    workspace: String,
    token: RwLock<Token>,
    /// The 401 that paused authenticated calls, and for which token generation.
    breaker: Mutex<Option<(u64, GitlabError)>>,
    budget: Budget,
    metrics: GitlabMetrics,
    /// Requests asked for, sent or held back by a budget: what rounds
    /// need, for the instance's round estimate.
    asked: std::sync::atomic::AtomicU64,
}

/// Options for building a client.
pub struct ClientOptions<'a> {
    pub workspace: &'a str,
    pub base: &'a Url,
    /// The instance's shared pool and budget.
    pub instance: Arc<Instance>,
    pub requests_per_second: f64,
    /// Per-request timeout (connect + answer).
    pub timeout: Duration,
    pub token: Option<SecretString>,
    pub metrics: GitlabMetrics,
}

impl GitlabClient {
    pub fn new(opts: ClientOptions<'_>) -> GitlabClient {
        opts.metrics.init_workspace(opts.workspace);
        let mut base = opts.base.clone();
        let trimmed = base.path().trim_end_matches('/').to_owned();
        base.set_path(&trimmed);
        GitlabClient {
            instance: opts.instance,
            timeout: opts.timeout,
            base,
            workspace: opts.workspace.to_owned(),
            token: RwLock::new(Token {
                generation: 0,
                secret: opts.token,
            }),
            breaker: Mutex::new(None),
            budget: Budget::new(opts.requests_per_second),
            metrics: opts.metrics,
            asked: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Requests this client was asked to send, including those a budget
    /// held back.
    pub fn asked(&self) -> u64 {
        self.asked.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The instance this client shares a pool and budget with.
    pub fn instance(&self) -> &Arc<Instance> {
        &self.instance
    }

    pub fn base(&self) -> &Url {
        &self.base
    }

    pub fn has_token(&self) -> bool {
        self.read_token().secret.is_some()
    }

    /// Lends the current token to `f`, for the plugin checks that send it
    /// themselves: a plugin granted `token = true` (on its stdin) and an
    /// HTTP check on the instance's own origin. The secret never leaves `f`
    /// except as the caller copies it.
    pub fn with_token<R>(&self, f: impl FnOnce(Option<&SecretString>) -> R) -> R {
        f(self.read_token().secret.as_ref())
    }

    /// The token generation, for callers that cache per token.
    pub fn token_generation(&self) -> u64 {
        self.read_token().generation
    }

    /// The 401 that paused authenticated calls, if any.
    pub fn paused_by(&self) -> Option<GitlabError> {
        let generation = self.token_generation();
        let b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        b.as_ref().filter(|(g, _)| *g == generation).map(|(_, e)| e.clone())
    }

    /// `{base}/api/v4{path}`.
    pub fn api_url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}/api/v4{path}", url.path().trim_end_matches('/'));
        url.set_path(&joined);
        url
    }

    /// `{base}/{path}` for non-API routes (Git smart HTTP).
    pub fn web_url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!("{}/{}", url.path().trim_end_matches('/'), path.trim_start_matches('/'));
        url.set_path(&joined);
        url
    }

    /// An authenticated GET of an API path, decoded.
    pub async fn get_json<T: DeserializeOwned>(&self, path: &str, query: &[(&str, &str)]) -> Result<T, GitlabError> {
        let mut url = self.api_url(path);
        url.query_pairs_mut().extend_pairs(query);
        self.send(Method::GET, url, Auth::Token).await?.json()
    }

    /// Sends one request under the budget and the breaker, and maps GitLab's
    /// error answers to [`GitlabError`]. 2xx comes back as an [`Answer`].
    pub async fn send(&self, method: Method, url: Url, auth: Auth) -> Result<Answer, GitlabError> {
        if !same_origin(&url, &self.base) {
            // Never reached through labwatch's own URLs; guards Link headers.
            return Err(GitlabError::Decode {
                message: format!("refusing to send the token to {}", url.origin().ascii_serialization()),
            });
        }
        let (generation, header) = self.auth_header(auth)?;
        let authenticated = header.is_some();
        self.asked.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.budget.acquire(MAX_BUDGET_WAIT).await.map_err(|wait| {
            if self.budget.pause_left().is_some() {
                GitlabError::RateLimited { retry_after: wait }
            } else {
                GitlabError::OverBudget {
                    budget: BudgetKind::Workspace,
                    wait,
                }
            }
        })?;
        let instance = self.instance.budget();
        instance.acquire(authenticated).await.map_err(|wait| {
            if instance.paused() {
                GitlabError::RateLimited { retry_after: wait }
            } else {
                GitlabError::OverBudget {
                    budget: BudgetKind::Instance,
                    wait,
                }
            }
        })?;
        let mut request = self.instance.http().request(method, url).timeout(self.timeout);
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                self.metrics.request(&self.workspace, "error");
                return Err(GitlabError::transport(&e));
            }
        };
        let status = response.status();
        let headers = response.headers().clone();
        if let Some(remaining) = self.budget.observe(&headers) {
            self.metrics.ratelimit_remaining(&self.workspace, remaining);
        }
        // Counted once the body is in: an answer that broke off is an error,
        // not the 200 its headers promised.
        let body = match read_body(response).await {
            Ok(body) => {
                self.metrics.request(&self.workspace, status.as_str());
                body
            }
            Err(e) => {
                self.metrics.request(&self.workspace, "error");
                return Err(e);
            }
        };
        if status.is_success() {
            return Ok(Answer { status, headers, body });
        }
        let error = classify(status, &headers, &body);
        if let GitlabError::RateLimited { retry_after } = &error {
            self.budget.pause_for(*retry_after);
            let name = headers
                .get("ratelimit-name")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            if instance::per_address_throttle(name) {
                self.instance.budget().pause_unauthenticated(*retry_after);
            }
        }
        // Only API 401s trip the breaker; a clone probe's 401 is reported as
        // clone denied, and happens at most once per token change.
        if error.is_auth_failure() && auth == Auth::Token {
            self.trip(generation, &error);
        }
        Err(error)
    }

    fn auth_header(&self, auth: Auth) -> Result<(u64, Option<AuthHeader>), GitlabError> {
        let t = self.read_token();
        if auth == Auth::None {
            return Ok((t.generation, None));
        }
        if let Some(cause) = self.paused_by() {
            return Err(GitlabError::AuthPaused { cause: Box::new(cause) });
        }
        let Some(secret) = &t.secret else {
            return Err(GitlabError::TokenUnknown);
        };
        let value = match auth {
            Auth::Basic => {
                use base64::Engine as _;
                let pair = format!("oauth2:{}", secret.expose_secret());
                format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair))
            }
            _ => secret.expose_secret().to_owned(),
        };
        // A token with a newline or another control character cannot be
        // sent: say so here, without a request GitLab would answer with a
        // 401 that blames the token's validity (and counts as a failed login).
        let mut value = HeaderValue::from_str(&value).map_err(|_| GitlabError::TokenMalformed)?;
        value.set_sensitive(true);
        let name = if auth == Auth::Basic {
            AUTHORIZATION.as_str()
        } else {
            "private-token"
        };
        Ok((t.generation, Some((name, value))))
    }

    fn trip(&self, generation: u64, error: &GitlabError) {
        let mut b = self.breaker.lock().unwrap_or_else(|e| e.into_inner());
        if b.is_none() {
            tracing::warn!(workspace = %self.workspace, error = %error, "Pausing authenticated GitLab calls until the token changes");
        }
        *b = Some((generation, error.clone()));
    }

    fn read_token(&self) -> std::sync::RwLockReadGuard<'_, Token> {
        self.token.read().unwrap_or_else(|e| e.into_inner())
    }
}

/// Header name and (sensitive) value carrying the token.
type AuthHeader = (&'static str, HeaderValue);

/// How a request authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    None,
    /// `PRIVATE-TOKEN` header (API).
    Token,
    /// HTTP Basic `oauth2:<token>` (Git smart HTTP).
    Basic,
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

async fn read_body(mut response: reqwest::Response) -> Result<Vec<u8>, GitlabError> {
    // Sized from Content-Length when GitLab sends one (capped: it is only a
    // claim), so a page of projects is not copied on every doubling.
    let expected = response.content_length().unwrap_or(0).min(MAX_BODY as u64);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(0));
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > MAX_BODY {
                    return Err(GitlabError::Decode {
                        message: "the answer is larger than 16 MiB".into(),
                    });
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => return Ok(body),
            Err(e) => return Err(GitlabError::broken_body(&e, body.len())),
        }
    }
}

/// GitLab's error answers, by status and body (docs/gitlab.md §1, §3, §10, §12).
pub fn classify(status: StatusCode, headers: &HeaderMap, body: &[u8]) -> GitlabError {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    let text = |key: &str| json.get(key).and_then(|v| v.as_str()).unwrap_or("").to_owned();
    match status.as_u16() {
        301 => GitlabError::Moved {
            location: location(headers),
        },
        s @ (302 | 303 | 307 | 308) => GitlabError::Redirected {
            status: s,
            location: location(headers),
        },
        400 if text("message").contains("requires token type to be a personal access token") => {
            GitlabError::NotPersonalAccessToken
        }
        400 => GitlabError::BadRequest {
            message: message_of(&json, body),
        },
        401 => {
            let description = text("error_description").to_ascii_lowercase();
            if text("error") == "invalid_token" && description.contains("expired") {
                GitlabError::TokenExpired
            } else if text("error") == "invalid_token" && description.contains("revoked") {
                GitlabError::TokenRevoked
            } else {
                GitlabError::TokenUnknown
            }
        }
        403 if text("error") == "insufficient_scope" => GitlabError::InsufficientScope { scope: text("scope") },
        403 => GitlabError::Forbidden {
            message: message_of(&json, body),
        },
        404 => GitlabError::NotFound,
        429 => GitlabError::RateLimited {
            retry_after: budget::retry_after(headers).unwrap_or(Duration::from_secs(60)),
        },
        s @ 500..=599 => GitlabError::Server { status: s },
        s => GitlabError::Unexpected { status: s },
    }
}

/// The `Location` of a redirect, capped: it is only shown, never followed
/// except for a moved project on the same instance.
fn location(headers: &HeaderMap) -> String {
    let l = headers.get(LOCATION).and_then(|v| v.to_str().ok()).unwrap_or("");
    if l.len() > bounds::MAX_URL_LEN {
        return "(a Location too long to show)".to_owned();
    }
    l.to_owned()
}

/// GitLab's `message` (a string, or a map of field errors), else the text.
fn message_of(json: &serde_json::Value, body: &[u8]) -> String {
    let m = match json.get("message").or_else(|| json.get("error")) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::from_utf8_lossy(body).trim().to_owned(),
    };
    m.chars().take(300).collect()
}
