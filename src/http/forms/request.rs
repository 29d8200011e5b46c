//! What a form request carries, checked before any handler runs: the
//! session cookie ([`SignedIn`]), and for a POST also its fields and their
//! CSRF token ([`Posted`]). A request that fails gets an HTML answer a
//! person can act on: a redirect to the sign-in form, or a page naming the
//! problem (`csrf-invalid`, `admin-api-off`).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use time::OffsetDateTime;

use super::limiter::Client;
use super::markup;
use super::session::{SESSION_COOKIE, Session, cookie};
use crate::http::AppState;
use crate::http::admin::AdminState;

/// A request from a signed-in operator.
pub struct SignedIn {
    pub admin: Arc<AdminState>,
    pub session: Session,
    /// The CSRF token the forms on the answer carry.
    pub csrf: String,
    /// Whether the page is served over TLS (cookies get `Secure`).
    pub secure: bool,
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<SignedIn, Response> {
        let admin = admin_on(state)?;
        let now = OffsetDateTime::now_utc();
        let session = session_cookie(&parts.headers).and_then(|c| admin.sessions.check(c, now));
        let Some(session) = session else {
            // A GET lands on the sign-in form; a POST whose session ended
            // must not be replayed after signing in, so it lands there too
            // and the person submits again.
            return Err(Redirect::to("/sign-in?expired=1").into_response());
        };
        let csrf = admin.sessions.csrf(&session);
        Ok(SignedIn {
            admin,
            session,
            csrf,
            secure: served_over_tls(&parts.headers),
        })
    }
}

/// The session of a request, if it has a valid one (the status page shows
/// its actions only then).
pub fn viewer(state: &AppState, headers: &HeaderMap) -> Option<(Arc<AdminState>, String)> {
    let admin = state.admin.clone()?;
    let session = admin
        .sessions
        .check(session_cookie(headers)?, OffsetDateTime::now_utc())?;
    let csrf = admin.sessions.csrf(&session);
    Some((admin, csrf))
}

fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, SESSION_COOKIE))
}

/// The admin state, or the `admin-api-off` page.
pub fn admin_on(state: &AppState) -> Result<Arc<AdminState>, Response> {
    state.admin.clone().ok_or_else(|| {
        markup::problem(
            StatusCode::NOT_FOUND,
            "admin-api-off",
            "The page's actions need the admin API, which is off: set `admin_token_file` in [server] to turn it on.",
        )
    })
}

/// A POSTed form from a signed-in operator, with a valid CSRF token.
pub struct Posted {
    pub signed_in: SignedIn,
    pub fields: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Posted, Response> {
        let (mut parts, body) = req.into_parts();
        cross_site(&parts.headers)?;
        let signed_in = SignedIn::from_request_parts(&mut parts, state).await?;
        let fields = Fields::from_request(Request::from_parts(parts, body), state).await?;
        if !signed_in
            .admin
            .sessions
            .csrf_matches(&signed_in.session, fields.get("csrf"))
        {
            return Err(csrf_refused());
        }
        Ok(Posted { signed_in, fields })
    }
}

/// 403 `csrf-invalid`.
pub fn csrf_refused() -> Response {
    markup::problem(
        StatusCode::FORBIDDEN,
        "csrf-invalid",
        "This form did not come from this labwatch page (its CSRF token is missing or belongs to another session). \
         Nothing was changed: open the page again and submit the form from there.",
    )
}

/// Browsers say where a request comes from (`Sec-Fetch-Site`); a form
/// posted from another site is refused whatever else it carries. With
/// `SameSite=Strict` it would arrive without the session anyway, and the
/// CSRF token is the check that does not depend on the browser.
pub fn cross_site(headers: &HeaderMap) -> Result<(), Response> {
    match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        Some("cross-site" | "same-site") => Err(csrf_refused()),
        _ => Ok(()),
    }
}

/// Whether the browser reached labwatch over TLS: labwatch serves plain
/// HTTP, so only a TLS-terminating proxy in front can say so, with
/// `X-Forwarded-Proto: https` or `Forwarded: proto=https`. Believing a
/// client that claims it only makes its own cookie `Secure`.
pub fn served_over_tls(headers: &HeaderMap) -> bool {
    let forwarded_proto = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .next()
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
        });
    let forwarded = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split([';', ',']).any(|pair| {
                pair.trim().split_once('=').is_some_and(|(k, val)| {
                    k.eq_ignore_ascii_case("proto") && val.trim_matches('"').eq_ignore_ascii_case("https")
                })
            })
        });
    forwarded_proto || forwarded
}

/// The client's address, as the server recorded it.
pub fn client(parts_extensions: &axum::http::Extensions) -> Client {
    parts_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// The fields of an `application/x-www-form-urlencoded` body, in order; a
/// name may repeat (one `repository` per ticked box). `url`'s parser
/// takes repeated names as they come, which serde's form decoding into a
/// struct does not.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    pub fn parse(body: &[u8]) -> Fields {
        Fields(url::form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, `""` when absent.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(k, _)| k == name).map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A checkbox: ticked when sent with any value.
    pub fn ticked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, _)| k == name)
    }
}

impl FromRequest<AppState> for Fields {
    type Rejection = Response;

    async fn from_request(req: Request, state: &AppState) -> Result<Fields, Response> {
        let form_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        if !form_type {
            return Err(markup::problem(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Send the form as `application/x-www-form-urlencoded`, as a browser does.",
            ));
        }
        match axum::body::Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Fields::parse(&bytes)),
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => Err(markup::problem(
                StatusCode::PAYLOAD_TOO_LARGE,
                "body-too-large",
                &format!("The form is larger than {} KiB.", crate::http::BODY_LIMIT / 1024),
            )),
            Err(rejection) => Err(markup::problem(
                StatusCode::BAD_REQUEST,
                "bad-request",
                &format!("The form could not be read: {}.", rejection.body_text()),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_fields_are_kept_in_order() {
        let f = Fields::parse(b"csrf=x&repository=a%2Fb&repository=c+d&replace=on");
        assert_eq!(f.get("csrf"), "x");
        assert_eq!(f.all("repository"), ["a/b", "c d"]);
        assert!(f.ticked("replace"));
        assert!(!f.ticked("revoke"));
        assert_eq!(f.get("missing"), "");
    }

    #[test]
    fn tls_is_what_the_proxy_says() {
        let mut h = HeaderMap::new();
        assert!(!served_over_tls(&h));
        h.insert("x-forwarded-proto", "https".parse().unwrap());
        assert!(served_over_tls(&h));
        let mut h = HeaderMap::new();
        h.insert(header::FORWARDED, "for=192.0.2.1;proto=https;by=x".parse().unwrap());
        assert!(served_over_tls(&h));
        h.insert(header::FORWARDED, "proto=http".parse().unwrap());
        assert!(!served_over_tls(&h));
    }
}
