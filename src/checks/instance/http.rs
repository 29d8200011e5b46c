//! The HTTP phase: one `GET /api/v4/version` without a token over the stream
//! the earlier phases opened (hyper's HTTP/1 client, no pool), and the
//! verdict on the answer: GitLab, a failing GitLab, a GitLab that rate
//! limits this address, or something else.

use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

use super::target::{Scheme, Target};
use crate::engine::{Outcome, Reason, Status};

/// GitLab's `/version` answer is a few dozen bytes; anything this large is
/// not it, and reading on would only let a misbehaving server hold the check.
const BODY_LIMIT: usize = 64 * 1024;

const USER_AGENT_VALUE: &str = concat!("labwatch/", env!("CARGO_PKG_VERSION"));

/// What came back, reduced to what the verdict needs.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    content_type: Option<String>,
    location: Option<String>,
    /// `Retry-After` (seconds or an HTTP-date), as long as labwatch heeds it.
    retry_after: Option<Duration>,
    /// At most [`BODY_LIMIT`] bytes.
    body: Vec<u8>,
}

/// `Ok` when GitLab answers, else the outcome that says what answered.
pub(super) async fn probe<S>(stream: S, target: &Target, budget: Duration) -> Result<Outcome, Outcome>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    match tokio::time::timeout(budget, exchange(stream, target)).await {
        Err(_elapsed) => Err(timed_out(target, budget)),
        Ok(Err(error)) => Err(transport_failure(target, &error)),
        Ok(Ok(answer)) => verdict(&answer, target),
    }
}

/// Sends the request and reads the answer, driving the connection in the
/// same task so nothing outlives the check when it is cancelled.
async fn exchange<S>(stream: S, target: &Target) -> Result<Answer, hyper::Error>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let request = request(target);
    let answer = async move {
        let response = sender.send_request(request).await?;
        read(response).await
    };
    tokio::pin!(connection, answer);
    tokio::select! {
        answer = &mut answer => answer,
        // The connection ends on its own only when the server closes it; an
        // answer that was complete by then is still in the pipe.
        ended = &mut connection => match ended {
            Ok(()) => answer.await,
            Err(error) => Err(error),
        },
    }
}

fn request(target: &Target) -> Request<Empty<Bytes>> {
    let mut request = Request::new(Empty::new());
    // A path is always a valid URI here: it is built from a parsed URL.
    *request.uri_mut() = target.version_path().parse().unwrap_or_default();
    let headers = request.headers_mut();
    if let Ok(host) = target.host_header().parse() {
        headers.insert(HOST, host);
    }
    headers.insert(USER_AGENT, hyper::header::HeaderValue::from_static(USER_AGENT_VALUE));
    headers.insert(ACCEPT, hyper::header::HeaderValue::from_static("application/json"));
    request
}

async fn read(response: Response<Incoming>) -> Result<Answer, hyper::Error> {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
            .map(str::to_owned)
    };
    let status = response.status();
    let content_type = header(CONTENT_TYPE);
    let location = header(LOCATION);
    let retry_after = crate::gitlab::retry_after(response.headers());
    let body = read_capped(response.into_body()).await?;
    Ok(Answer {
        status,
        content_type,
        location,
        retry_after,
        body,
    })
}

/// The body up to [`BODY_LIMIT`] bytes; the rest is never read.
async fn read_capped(mut body: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut bytes = Vec::new();
    while bytes.len() < BODY_LIMIT {
        let Some(frame) = body.frame().await else { break };
        if let Ok(data) = frame?.into_data() {
            let room = BODY_LIMIT - bytes.len();
            bytes.extend_from_slice(&data[..data.len().min(room)]);
        }
    }
    Ok(bytes)
}

/// Is it GitLab? The classification of the task brief, in order.
fn verdict(answer: &Answer, target: &Target) -> Result<Outcome, Outcome> {
    let json = serde_json::from_slice::<serde_json::Value>(&answer.body).ok();
    let object = json.as_ref().and_then(serde_json::Value::as_object);
    match answer.status.as_u16() {
        200 => match object
            .and_then(|o| o.get("version"))
            .and_then(serde_json::Value::as_str)
        {
            Some(version) => Ok(Outcome::ok(format!("GitLab {version} answers at {}.", target.display))),
            None => Err(not_gitlab(answer, target)),
        },
        // /version needs a token; a JSON 401/403 still proves the Rails app
        // answers (docs/gitlab.md §5), and this probe deliberately sends no token.
        401 | 403 if object.is_some_and(|o| o.contains_key("message") || o.contains_key("error")) => Ok(Outcome::ok(
            format!("GitLab answers at {} (version hidden without a token).", target.display),
        )),
        // GitLab's throttle of requests without a token (per address:
        // docs/gitlab.md §10). The instance answered, so it is not down, and
        // nothing is known about the token: a warning, as for the token check.
        429 => Err(rate_limited(answer, target)),
        500..=599 => Err(server_error(answer, target)),
        300..=399 => Err(redirect(answer, target)),
        _ => Err(not_gitlab(answer, target)),
    }
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

fn server_error(answer: &Answer, target: &Target) -> Outcome {
    Outcome::new(
        Status::Critical,
        Reason::HttpServerError,
        format!(
            "{} answered {} to GET {}.",
            target.display,
            status_text(answer.status),
            target.version_path()
        ),
    )
}

/// A 429: the summary says how long GitLab asked to wait and until when, as
/// the token check's does; the remediation is the code's own.
fn rate_limited(answer: &Answer, target: &Target) -> Outcome {
    let asked = match answer.retry_after {
        Some(wait) => format!(
            "retry in {}; GitLab asked to wait until {}",
            humantime::format_duration(wait),
            crate::checks::gitlab_errors::until(wait)
        ),
        None => "it sent no Retry-After".to_owned(),
    };
    let outcome = Outcome::new(
        Status::Warning,
        Reason::RateLimited,
        format!(
            "{} answered {} to GET {} (sent without a token): rate limited; {asked}.",
            target.display,
            status_text(answer.status),
            target.version_path()
        ),
    );
    // Read back by the shared probe, which holds the instance's anonymous
    // requests back for as long (`super::shared`).
    match answer.retry_after {
        Some(wait) => outcome.with_measurement(RETRY_AFTER, wait.as_secs_f64()),
        None => outcome,
    }
}

/// The measurement that carries a 429's `Retry-After`, in seconds.
pub const RETRY_AFTER: &str = "retry_after_seconds";

fn not_gitlab(answer: &Answer, target: &Target) -> Outcome {
    let content_type = answer.content_type.as_deref().unwrap_or("no content type");
    Outcome::new(
        Status::Critical,
        Reason::NotGitlab,
        format!(
            "{} answered {} ({content_type}) to GET {}, which is not GitLab's API.",
            target.display,
            status_text(answer.status),
            target.version_path()
        ),
    )
}

/// A redirect: the fix is usually the URL it points to (http → https, a
/// new host name), so the first step names it. The summary says what the
/// status says: 301 and 308 are permanent moves, 302, 303 and 307 are not.
fn redirect(answer: &Answer, target: &Target) -> Outcome {
    let location = answer.location.as_deref().map(|l| resolve_location(target, l));
    let permanent = matches!(answer.status.as_u16(), 301 | 308);
    let summary = format!(
        "{} {} GET {} ({}) to {}, instead of answering like GitLab's API.",
        target.display,
        if permanent { "moved permanently:" } else { "redirects" },
        target.version_path(),
        status_text(answer.status),
        location.as_deref().unwrap_or("nowhere (no Location header)")
    );
    let outcome = Outcome::new(Status::Critical, Reason::NotGitlab, summary);
    match location {
        Some(location) => outcome.with_first_step(redirect_step(&location, permanent)),
        None => outcome,
    }
}

/// A relative `Location` made absolute against the request URL.
fn resolve_location(target: &Target, location: &str) -> String {
    Url::parse(&target.version_url())
        .and_then(|base| base.join(location))
        .map_or_else(|_| location.to_owned(), String::from)
}

fn redirect_step(location: &str, permanent: bool) -> String {
    match location.strip_suffix("/api/v4/version") {
        Some(root) if (root.starts_with("http://") || root.starts_with("https://")) && permanent => {
            format!("Set `instance_url` for workspace `{{workspace}}` to {root}: the instance redirects there.")
        }
        Some(root) if root.starts_with("http://") || root.starts_with("https://") => format!(
            "Set `instance_url` for workspace `{{workspace}}` to {root} if that is the instance's address for good: the redirect is temporary."
        ),
        _ => format!(
            "The instance sends the API to {location} (a login page or another site?): set `instance_url` for workspace `{{workspace}}` to the address where GitLab itself answers."
        ),
    }
}

fn timed_out(target: &Target, budget: Duration) -> Outcome {
    Outcome::new(
        Status::Critical,
        Reason::HttpTimeout,
        format!(
            "{} accepted the connection but did not answer GET {} within {:.1}s.",
            target.display,
            target.version_path(),
            budget.as_secs_f64()
        ),
    )
}

/// No usable HTTP answer. Garbage means something other than an HTTP server
/// listens (not GitLab); a dropped connection means a failing server or
/// proxy. Over plain http, both are also what a TLS-only port does.
fn transport_failure(target: &Target, error: &hyper::Error) -> Outcome {
    let outcome = if error.is_parse() {
        Outcome::new(
            Status::Critical,
            Reason::NotGitlab,
            format!("{} answered with something that is not HTTP ({error}).", target.display),
        )
    } else {
        Outcome::new(
            Status::Critical,
            Reason::HttpServerError,
            format!(
                "{} closed the connection without answering GET {} ({error}).",
                target.display,
                target.version_path()
            ),
        )
    };
    match target.scheme {
        Scheme::Http => {
            outcome.with_first_step("If `{host}` serves HTTPS on port {port}, use https:// in the instance URL {url}.")
        }
        Scheme::Https => outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target::parse(&Url::parse("http://gitlab.test:8080/gitlab").unwrap()).unwrap()
    }

    fn answer(status: u16, content_type: &str, body: &str) -> Answer {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            content_type: Some(content_type.into()),
            location: None,
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn gitlab_answers_with_its_version_or_a_json_401() {
        let ok = verdict(
            &answer(200, "application/json", r#"{"version":"16.11.0","revision":"abc"}"#),
            &target(),
        );
        assert_eq!(
            ok.unwrap().summary,
            "GitLab 16.11.0 answers at http://gitlab.test:8080/gitlab."
        );
        for status in [401, 403] {
            let ok = verdict(
                &answer(status, "application/json", r#"{"message":"401 Unauthorized"}"#),
                &target(),
            );
            assert!(ok.unwrap().summary.contains("version hidden without a token"));
        }
        let ok = verdict(
            &answer(401, "application/json", r#"{"error":"invalid_token"}"#),
            &target(),
        );
        assert!(ok.is_ok());
    }

    #[test]
    fn other_answers_are_not_gitlab() {
        for (status, ct, body) in [
            (200, "text/html", "<html>hello</html>"),
            (200, "application/json", r#"{"name":"something"}"#),
            (200, "application/json", r#"["16.11.0"]"#),
            (401, "text/plain", "Unauthorized"),
            (404, "text/html", "not found"),
        ] {
            let outcome = verdict(&answer(status, ct, body), &target()).unwrap_err();
            assert_eq!(outcome.reason, "not-gitlab", "{status} {body}");
            assert!(outcome.summary.contains(&status.to_string()), "{}", outcome.summary);
            assert!(outcome.summary.contains(ct), "{}", outcome.summary);
        }
    }

    #[test]
    fn a_redirect_names_the_url_to_configure() {
        let mut moved = answer(301, "text/html", "");
        moved.location = Some("https://gitlab.test/gitlab/api/v4/version".into());
        let outcome = verdict(&moved, &target()).unwrap_err();
        assert_eq!(outcome.reason, "not-gitlab");
        assert!(
            outcome.remediation[0].contains("to https://gitlab.test/gitlab:"),
            "{:?}",
            outcome.remediation
        );

        moved.location = Some("/users/sign_in".into());
        let outcome = verdict(&moved, &target()).unwrap_err();
        assert!(
            outcome.summary.contains("http://gitlab.test:8080/users/sign_in"),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.remediation[0].contains("login page"),
            "{:?}",
            outcome.remediation
        );
    }

    #[test]
    fn only_301_and_308_are_called_permanent() {
        for (status, permanent) in [(301, true), (308, true), (302, false), (303, false), (307, false)] {
            let mut a = answer(status, "text/html", "");
            a.location = Some("https://gitlab.test/gitlab/api/v4/version".into());
            let outcome = verdict(&a, &target()).unwrap_err();
            assert_eq!(
                outcome.summary.contains("moved permanently"),
                permanent,
                "{}",
                outcome.summary
            );
            assert_eq!(
                outcome.remediation[0].contains("temporary"),
                !permanent,
                "{:?}",
                outcome.remediation
            );
        }
        let mut found = answer(302, "text/html", "");
        found.location = Some("https://sso.test/login".into());
        let outcome = verdict(&found, &target()).unwrap_err();
        assert!(
            outcome
                .summary
                .contains("redirects GET /gitlab/api/v4/version (302 Found)"),
            "{}",
            outcome.summary
        );
    }

    #[test]
    fn server_errors_carry_the_status() {
        let outcome = verdict(&answer(502, "text/html", "Bad Gateway"), &target()).unwrap_err();
        assert_eq!(outcome.reason, "http-server-error");
        assert!(outcome.summary.contains("502 Bad Gateway"), "{}", outcome.summary);
    }

    #[test]
    fn a_429_is_rate_limited_with_the_wait_not_not_gitlab() {
        let mut throttled = answer(429, "text/plain", "Retry later");
        throttled.retry_after = Some(Duration::from_secs(60));
        let outcome = verdict(&throttled, &target()).unwrap_err();
        assert_eq!(
            (outcome.status, outcome.reason.as_str()),
            (Status::Warning, "rate-limited")
        );
        assert!(
            outcome.summary.contains("429 Too Many Requests")
                && outcome.summary.contains("retry in 1m; GitLab asked to wait until "),
            "{}",
            outcome.summary
        );
        assert!(
            outcome.remediation[0].contains("`requests_per_second`"),
            "{:?}",
            outcome.remediation
        );

        let outcome = verdict(&answer(429, "text/html", "<h1>slow down</h1>"), &target()).unwrap_err();
        assert_eq!(outcome.reason, "rate-limited");
        assert!(outcome.summary.contains("no Retry-After"), "{}", outcome.summary);
    }
}
