//! [`AdminClient`]: HTTP calls to a running daemon's admin API, with every
//! failure turned into a [`AdminError`] that says what to do: no daemon
//! (69), refused admin token or admin API off (77), refused request (65),
//! daemon or GitLab failing (75), not a labwatch answer (76), no HTTP
//! client (70).

use std::time::Duration;

use reqwest::{Method, Response, StatusCode, header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::error::{AdminError, Kind};
use crate::wire::ErrorBody;

/// Connect and rotate verify against GitLab before answering; a slow
/// GitLab takes several request timeouts.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(180);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

pub struct AdminClient {
    http: reqwest::Client,
    /// The daemon's base URL, as given to `--daemon` (a path prefix is kept).
    base: Url,
    /// Sent as `Authorization: Bearer`, a header reqwest marks sensitive.
    token: SecretString,
}

/// `--daemon`: http(s), no credentials (they would end up in messages).
pub fn daemon_url(text: &str) -> Result<Url, AdminError> {
    let url = Url::parse(text).map_err(|e| {
        AdminError::usage(format!("--daemon `{text}` is not a URL: {e}"))
            .step("Write it like http://127.0.0.1:9471 (the daemon's `listen` in [server]).")
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(AdminError::usage(format!(
            "--daemon `{text}` must start with http:// or https://"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        return Err(AdminError::usage(
            "--daemon must hold no user, password or query; the admin token goes in --admin-token-file",
        ));
    }
    Ok(url)
}

impl AdminClient {
    pub fn new(base: Url, token: SecretString) -> Result<AdminClient, AdminError> {
        // reqwest is built without a default TLS provider: hand it ours,
        // which trusts the system roots (needed even for plain http).
        let tls = crate::tls::client_config(None).map_err(|e| AdminError::new(Kind::Internal, e))?;
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("labwatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AdminError::new(Kind::Internal, format!("cannot build the HTTP client: {e}")))?;
        Ok(AdminClient { http, base, token })
    }

    /// `{base}/api/v1/{segments…}`, each segment percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(["api", "v1"]).extend(segments);
        }
        url
    }

    /// One admin call; the answer's JSON as `T`, or what went wrong.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        segments: &[&str],
        query: &[(&str, String)],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<T, AdminError> {
        let mut req = self
            .http
            .request(method, self.url(segments))
            .query(query)
            .bearer_auth(self.token.expose_secret());
        if let Some(body) = body {
            req = req.json(body);
        }
        let response = req.send().await.map_err(|e| self.send_failed(&e))?;
        let status = response.status();
        if status.is_success() {
            let bytes = response.bytes().await.map_err(|e| self.send_failed(&e))?;
            return serde_json::from_slice(&bytes)
                .map_err(|e| self.not_labwatch(&format!("its answer is not JSON we know: {e}")));
        }
        Err(self.refused(status, response).await)
    }

    fn send_failed(&self, e: &reqwest::Error) -> AdminError {
        let cause = root_cause(e);
        if e.is_connect() {
            return AdminError::new(
                Kind::Unreachable,
                format!("cannot reach the daemon at {}: {cause}", self.base),
            )
            .step(format!(
                "Is `labwatch run` running at {}? Start it, or check its `listen` in [server].",
                self.base
            ))
            .step("Point this command at it with --daemon URL (or LABWATCH_DAEMON).");
        }
        if e.is_timeout() {
            return AdminError::new(
                Kind::Temporary,
                format!(
                    "the daemon at {} did not answer within {} s",
                    self.base,
                    REQUEST_TIMEOUT.as_secs()
                ),
            )
            .step("GitLab may be slow; see `labwatch check` or the daemon's log, then retry.");
        }
        AdminError::new(
            Kind::Temporary,
            format!("the request to the daemon at {} failed: {cause}", self.base),
        )
        .step("Retry; if it keeps failing, look at the daemon's log.")
    }

    fn not_labwatch(&self, why: &str) -> AdminError {
        AdminError::new(
            Kind::Protocol,
            format!("the server at {} is not a labwatch daemon: {why}", self.base),
        )
        .step("Point --daemon (or LABWATCH_DAEMON) at `labwatch run`'s address (its `listen` in [server]).")
    }

    /// A non-2xx answer: the daemon's `{error, message, remediation}` with
    /// an exit code chosen by status, plus fixes for the admin-token cases.
    async fn refused(&self, status: StatusCode, response: Response) -> AdminError {
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = response.bytes().await.unwrap_or_default();
        let Ok(api) = serde_json::from_slice::<ErrorBody>(&body) else {
            return self.not_labwatch(&format!("it answered HTTP {status} without a labwatch error"));
        };
        let mut e = AdminError::new(kind_of(status, &api.error), api.message);
        e.code = Some(api.error.clone());
        e.remediation = api.remediation;
        e.fields = api.errors;
        match (status, api.error.as_str()) {
            (StatusCode::UNAUTHORIZED, _) => {
                e.message = format!("the daemon at {} refused the admin token", self.base);
                e.step("Use the daemon's admin token: the content of the file its `admin_token_file` ([server]) names.")
                    .step("Pass that file with --admin-token-file FILE, or the token in LABWATCH_ADMIN_TOKEN.")
            }
            (_, "admin-api-off") => e
                .step("Write a long random token to a file, mode 0600: `openssl rand -hex 32 > admin.token`.")
                .step("Set `admin_token_file` to that file in [server] of the daemon's config and restart `labwatch run`.")
                .step("Run this command again with --admin-token-file admin.token."),
            (StatusCode::TOO_MANY_REQUESTS, _) => match retry_after {
                Some(secs) => e.step(format!("Wait {secs} s (Retry-After), then retry.")),
                None => e.step("Wait a little, then retry."),
            },
            _ => e,
        }
    }
}

/// 401 and admin-api-off: 77; other 4xx: 65; 429 and 5xx: 75.
fn kind_of(status: StatusCode, code: &str) -> Kind {
    match status {
        StatusCode::UNAUTHORIZED => Kind::Denied,
        StatusCode::NOT_FOUND if code == "admin-api-off" => Kind::Denied,
        StatusCode::TOO_MANY_REQUESTS => Kind::Temporary,
        s if s.is_server_error() => Kind::Temporary,
        s if s.is_client_error() => Kind::Rejected,
        _ => Kind::Protocol,
    }
}

/// The innermost cause, which names the problem ("Connection refused")
/// where reqwest's own message only says a request failed.
fn root_cause(e: &reqwest::Error) -> String {
    let mut cause: &dyn std::error::Error = e;
    while let Some(next) = cause.source() {
        cause = next;
    }
    cause.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_exit_kinds() {
        assert_eq!(kind_of(StatusCode::UNAUTHORIZED, "unauthorized"), Kind::Denied);
        assert_eq!(kind_of(StatusCode::NOT_FOUND, "admin-api-off"), Kind::Denied);
        assert_eq!(kind_of(StatusCode::NOT_FOUND, "unknown-workspace"), Kind::Rejected);
        assert_eq!(kind_of(StatusCode::CONFLICT, "conflict"), Kind::Rejected);
        assert_eq!(
            kind_of(StatusCode::UNPROCESSABLE_ENTITY, "token-expired"),
            Kind::Rejected
        );
        assert_eq!(
            kind_of(StatusCode::TOO_MANY_REQUESTS, "too-many-requests"),
            Kind::Temporary
        );
        assert_eq!(kind_of(StatusCode::BAD_GATEWAY, "tcp-timeout"), Kind::Temporary);
        assert_eq!(kind_of(StatusCode::FOUND, ""), Kind::Protocol);
    }

    #[test]
    fn urls_keep_a_path_prefix_and_encode_segments() {
        let base = daemon_url("https://ops.example.com/labwatch/").unwrap();
        let c = AdminClient::new(base, SecretString::from("t")).unwrap();
        assert_eq!(
            c.url(&["workspaces", "a b/c", "connect"]).as_str(),
            "https://ops.example.com/labwatch/api/v1/workspaces/a%20b%2Fc/connect"
        );
    }

    #[test]
    fn daemon_urls_must_be_plain_http_or_https() {
        assert!(daemon_url("http://127.0.0.1:9471").is_ok());
        for bad in ["127.0.0.1:9471", "ftp://x", "http://user:pw@x", "http://x/?a=1"] {
            assert_eq!(daemon_url(bad).unwrap_err().exit_code(), 64, "{bad}");
        }
    }
}
