//! `GET /sign-in`, `POST /sign-in`, `POST /sign-out`: the admin token for
//! a session cookie and back.

use std::collections::HashMap;

use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use super::markup::{self, Field, FormError};
use super::request::{self, Fields, Posted};
use super::session::{SESSION_COOKIE, SESSION_SECONDS, SIGN_IN_COOKIE, SIGN_IN_SECONDS, cookie, set_cookie};
use crate::http::AppState;
use crate::http::admin::AdminState;
use crate::http::extract::Query;

/// `GET /sign-in`: the form, with a fresh sign-in cookie its CSRF token is
/// bound to.
pub async fn form(
    State(state): State<AppState>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> Response {
    let admin = match request::admin_on(&state) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let note = q
        .contains_key("expired")
        .then_some("Your session ended or you were not signed in; sign in to go on.");
    render(&admin, StatusCode::OK, &[], note, request::served_over_tls(&headers))
}

/// `POST /sign-in`.
pub async fn sign_in(State(state): State<AppState>, req: Request) -> Response {
    let admin = match request::admin_on(&state) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let secure = request::served_over_tls(req.headers());
    if let Err(r) = request::cross_site(req.headers()) {
        return r;
    }
    let client = request::client(req.extensions());
    let nonce = req
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|h| cookie(h, SIGN_IN_COOKIE))
        .unwrap_or("")
        .to_owned();
    let fields = match Fields::from_request(req, &state).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if !admin.sessions.sign_in_csrf_matches(&nonce, fields.get("csrf")) {
        return request::csrf_refused();
    }
    if let Err(wait) = admin.limiter.check(client) {
        let minutes = wait.as_secs().div_ceil(60).max(1);
        let e = FormError {
            field: Some("admin_token".to_owned()),
            code: "too-many-sign-ins".to_owned(),
            message: format!("Too many failed sign-ins from your address; try again in {minutes} min."),
            remediation: vec![
                "Copy the admin token from the file `admin_token_file` in [server] names, and paste it whole."
                    .to_owned(),
            ],
        };
        let mut r = render(&admin, StatusCode::TOO_MANY_REQUESTS, &[e], None, secure);
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return r;
    }
    let given = fields.get("admin_token").trim();
    if !crate::http::admin::constant_time_eq(given.as_bytes(), admin.token.expose_secret().as_bytes()) {
        let failures = admin.limiter.failed(client);
        tracing::warn!(
            client = %client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
            failures,
            "Sign-in to the page failed: wrong admin token"
        );
        let e = FormError {
            field: Some("admin_token".to_owned()),
            code: "unauthorized".to_owned(),
            message: "That is not the admin token.".to_owned(),
            remediation: vec!["Paste the content of the file `admin_token_file` in [server] names.".to_owned()],
        };
        return render(&admin, StatusCode::UNAUTHORIZED, &[e], None, secure);
    }
    admin.limiter.succeeded(client);
    let Some((value, _)) = admin.sessions.issue(OffsetDateTime::now_utc()) else {
        return markup::problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no-randomness",
            "The system gave no random bytes for a session; try again.",
        );
    };
    tracing::info!(
        client = %client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string()),
        "Signed in to the page"
    );
    let mut r = Redirect::to("/").into_response();
    add_cookie(&mut r, &set_cookie(SESSION_COOKIE, &value, SESSION_SECONDS, secure));
    add_cookie(&mut r, &set_cookie(SIGN_IN_COOKIE, "", 0, secure));
    r
}

/// `POST /sign-out`.
pub async fn sign_out(posted: Posted) -> Response {
    let s = posted.signed_in;
    s.admin.sessions.sign_out(&s.session, OffsetDateTime::now_utc());
    let mut r = Redirect::to("/?done=signed-out").into_response();
    add_cookie(&mut r, &set_cookie(SESSION_COOKIE, "", 0, s.secure));
    r
}

fn render(admin: &AdminState, status: StatusCode, errors: &[FormError], note: Option<&str>, secure: bool) -> Response {
    let Some((nonce, csrf)) = admin.sessions.sign_in_form() else {
        return markup::problem(
            StatusCode::INTERNAL_SERVER_ERROR,
            "no-randomness",
            "The system gave no random bytes for the form; try again.",
        );
    };
    let mut body = String::new();
    if let Some(note) = note {
        body.push_str(&format!(r#"<p class="note">{note}</p>"#));
    }
    body.push_str(
        r#"<p>Sign in with the admin token to connect, update, rotate and disconnect from this page. The status page itself needs no sign-in.</p>
<form method="post" action="/sign-in" class="form">
"#,
    );
    body.push_str(&markup::csrf_field(&csrf));
    markup::form_errors(&mut body, errors);
    markup::field(
        &mut body,
        &Field {
            name: "admin_token",
            label: "Admin token",
            kind: "password",
            value: "",
            hint: Some("The content of the file `admin_token_file` in [server] names."),
            autocomplete: "current-password",
            required: true,
        },
        FormError::on(errors, "admin_token").as_ref(),
    );
    body.push_str(&markup::form_end("Sign in", false, "Cancel", None));
    let mut r = markup::page(status, "Sign in", None, &body);
    add_cookie(&mut r, &set_cookie(SIGN_IN_COOKIE, &nonce, SIGN_IN_SECONDS, secure));
    r
}

pub fn add_cookie(r: &mut Response, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
}
