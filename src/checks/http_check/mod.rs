//! Declarative HTTP checks (`[[http_check]]`): one request — method, URL
//! (under the workspace's instance, or absolute), headers, body — and
//! [`condition`]s on the answer's status, JSON body, headers and response
//! time. Each failing condition is named in the summary with what it got.
//!
//! The workspace token goes along as `PRIVATE-TOKEN` only when the URL's
//! origin (scheme, host, port) is the instance's, and redirects are never
//! followed, so the token cannot travel to another host (`docs/checks.md`, "How labwatch treats GitLab"). A
//! check that sends the token waits for the `token` check (an implicit
//! dependency) and is not run while GitLab's rejection of the token has
//! paused authenticated calls.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use secrecy::ExposeSecret;
use tokio::time::Instant;
use url::Url;

use super::WorkspaceGitlab;
use crate::config::HttpCheckConfig;
use crate::config::condition::Answer;
use crate::engine::{Check, CheckFuture, Outcome, Reason, RunContext, Status};

/// Bodies are read up to this size; conditions on a larger body fail.
pub const BODY_CAP: usize = 1024 * 1024;

/// One `[[http_check]]` in one workspace.
pub struct HttpCheck {
    config: HttpCheckConfig,
    /// The URL resolved against this workspace's instance.
    url: Url,
    /// Whether this request carries the workspace token.
    send_token: bool,
    /// The configured dependencies, plus `token` when the request carries it.
    deps: Vec<Cow<'static, str>>,
    gitlab: Arc<WorkspaceGitlab>,
}

impl HttpCheck {
    pub fn new(config: HttpCheckConfig, gitlab: Arc<WorkspaceGitlab>) -> HttpCheck {
        let url = config.url.resolve(&gitlab.config.instance_url);
        let send_token = HttpCheck::sends_token(&config, &gitlab.config.instance_url);
        let mut deps: Vec<Cow<'static, str>> = config.depends_on.iter().cloned().map(Cow::Owned).collect();
        if send_token && !deps.iter().any(|d| d == "token") {
            deps.push(Cow::Borrowed("token"));
        }
        HttpCheck {
            config,
            url,
            send_token,
            deps,
            gitlab,
        }
    }

    /// Whether a check with this config sends the token in a workspace on
    /// `instance`: only to the instance's own origin.
    pub fn sends_token(config: &HttpCheckConfig, instance: &Url) -> bool {
        config.token && config.url.resolve(instance).origin() == instance.origin()
    }

    /// `GET https://…`, for messages.
    pub fn request_line(&self) -> String {
        format!("{} {}", self.config.method, self.url)
    }

    async fn execute(&self, ctx: &RunContext) -> Outcome {
        let outcome = match self.request() {
            Ok(request) => self.send(request, ctx.budget()).await,
            Err(outcome) => *outcome,
        };
        let url = crate::config::instance_url::display(&self.gitlab.config.instance_url);
        outcome.fill(&[
            ("request", &self.request_line()),
            ("url", &url),
            ("workspace", &ctx.workspace),
        ])
    }

    fn request(&self) -> Result<reqwest::RequestBuilder, Box<Outcome>> {
        let client = self.gitlab.http_check_client().map_err(|e| {
            Box::new(Outcome::new(
                Status::Unknown,
                Reason::HttpCheckUnreachable,
                format!("Not run: the HTTP client could not be set up ({e})."),
            ))
        })?;
        // Validated when the config loaded.
        let method = reqwest::Method::from_bytes(self.config.method.as_bytes()).unwrap_or(reqwest::Method::GET);
        let mut request = client.request(method, self.url.clone());
        for (name, value) in &self.config.headers {
            if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
                request = request.header(n, v);
            }
        }
        if let Some(body) = &self.config.body {
            request = request.body(body.clone());
        }
        if self.send_token {
            if let Some(header) = self.token_header()? {
                request = request.header("private-token", header);
            }
        }
        Ok(request)
    }

    /// The token as a sensitive header value; `Err` when it must not be
    /// sent (GitLab rejected it: another try counts as a failed sign-in).
    fn token_header(&self) -> Result<Option<HeaderValue>, Box<Outcome>> {
        let Ok(client) = &self.gitlab.client else {
            return Ok(None);
        };
        if let Some(cause) = client.paused_by() {
            return Err(Box::new(Outcome::new(
                Status::Unknown,
                Reason::AuthPaused,
                format!(
                    "Not run: GitLab rejected the workspace token ({cause}); this check sends it, so it waits until the token changes."
                ),
            )));
        }
        Ok(client.with_token(|t| {
            t.and_then(|s| HeaderValue::from_str(s.expose_secret()).ok())
                .map(|mut v| {
                    v.set_sensitive(true);
                    v
                })
        }))
    }

    async fn send(&self, request: reqwest::RequestBuilder, budget: Duration) -> Outcome {
        let started = Instant::now();
        let exchange = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_capped(response).await?;
            Ok::<_, reqwest::Error>((status, headers, body))
        };
        let (status, headers, body) = match tokio::time::timeout(budget, exchange).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => return self.unreachable(sentence(&e)),
            Err(_) => {
                return self.unreachable(format!("no answer within {:.1}s", budget.as_secs_f64()));
            }
        };
        let elapsed = started.elapsed();
        let body_len = body.as_ref().map_or(BODY_CAP, Vec::len);
        let answer = Answer::new(
            status,
            elapsed,
            &headers,
            body.as_deref().map_err(|_| {
                format!(
                    "the body is larger than {} MiB, so labwatch did not read it all",
                    BODY_CAP / (1024 * 1024)
                )
            }),
        );
        let failures: Vec<String> = self
            .config
            .conditions
            .iter()
            .filter_map(|c| c.evaluate(&answer).err().map(|got| format!("`{}` ({got})", c.text)))
            .collect();
        let ms = elapsed.as_millis();
        let outcome = if failures.is_empty() {
            Outcome::ok(format!(
                "All {} condition{} hold: {} answered {status} in {ms} ms.",
                self.config.conditions.len(),
                if self.config.conditions.len() == 1 { "" } else { "s" },
                self.request_line()
            ))
        } else {
            Outcome::new(
                self.config.severity,
                Reason::HttpCheckFailed,
                format!(
                    "{} of {} conditions failed for {} (answered {status} in {ms} ms): {}.",
                    failures.len(),
                    self.config.conditions.len(),
                    self.request_line(),
                    failures.join("; ")
                ),
            )
        };
        outcome
            .with_measurement("response_time_seconds", elapsed.as_secs_f64())
            .with_measurement("status_code", f64::from(status))
            .with_measurement("body_bytes", body_len as f64)
    }

    fn unreachable(&self, why: String) -> Outcome {
        Outcome::new(
            self.config.severity,
            Reason::HttpCheckUnreachable,
            format!("{} failed: {why}.", self.request_line()),
        )
    }
}

impl Check for HttpCheck {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn depends_on(&self) -> &[Cow<'static, str>] {
        &self.deps
    }

    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(self.execute(ctx))
    }
}

/// The body up to [`BODY_CAP`]; `Ok(Err(()))` when it is larger.
async fn read_capped(mut response: reqwest::Response) -> Result<Result<Vec<u8>, ()>, reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > BODY_CAP {
            return Ok(Err(()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Ok(body))
}

/// A reqwest error as a sentence: what failed, then the innermost cause
/// ("cannot connect: Connection refused (os error 111)").
fn sentence(e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "the request failed"
    };
    let mut source = std::error::Error::source(e);
    let mut last = None;
    while let Some(s) = source {
        last = Some(s.to_string());
        source = s.source();
    }
    match last {
        Some(cause) => format!("{what}: {cause}"),
        None => format!("{what}: {e}"),
    }
}
