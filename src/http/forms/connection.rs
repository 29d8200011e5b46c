//! The connection's forms: connect (`/workspaces/{ws}/connect`), update
//! token (`…/token`), rotate now (`…/rotate`) and disconnect with a
//! confirmation (`…/disconnect`). Each calls the same action as the admin
//! API, so the refusals carry the same codes and remediation; they are
//! shown next to the field they concern.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use secrecy::SecretString;

use super::markup::{self, Field, FormError};
use super::request::{Posted, SignedIn};
use crate::actions::{ActionError, Trigger};
use crate::http::AppState;
use crate::http::admin::detached;
use crate::http::extract::Path;
use crate::http::page::html::esc;
use crate::wire::ConnectBody;

const CONNECT_FIELDS: &[&str] = &["instance_url", "token"];

/// `GET /workspaces/{ws}/connect`.
pub async fn connect_form(s: SignedIn, State(state): State<AppState>, Path(ws): Path<String>) -> Response {
    let Some((instance_url, _)) = s.admin.actions.page_facts(&ws) else {
        return unknown(&ws);
    };
    connect_page(&s, &state, &ws, &instance_url, false, &[], StatusCode::OK)
}

/// `POST /workspaces/{ws}/connect`: connected, on to choosing repositories.
pub async fn connect(Path(ws): Path<String>, State(state): State<AppState>, p: Posted) -> Response {
    let s = &p.signed_in;
    let instance_url = p.fields.get("instance_url").trim().to_owned();
    let replace = p.fields.ticked("replace");
    let force = p.fields.ticked("force");
    let token = p.fields.get("token").trim();
    if token.is_empty() {
        let e = required("token", "Paste a personal access token (it starts with `glpat-`).");
        return connect_page(
            s,
            &state,
            &ws,
            &instance_url,
            replace,
            &[e],
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let body = ConnectBody {
        instance_url: (!instance_url.is_empty()).then(|| instance_url.clone()),
        token: SecretString::from(token.to_owned()),
        repositories: None,
        replace,
        force,
    };
    let actions = s.admin.actions.clone();
    let name = ws.clone();
    match detached(async move { actions.connect(&name, body).await }).await {
        Ok(_) => Redirect::to(&format!("/workspaces/{ws}/repositories?done=connected")).into_response(),
        Err(e) => {
            let status = status_of(&e);
            let errors = [FormError::from_action(e, CONNECT_FIELDS)];
            let replace = replace || errors[0].code == "account-mismatch";
            connect_page(s, &state, &ws, &instance_url, replace, &errors, status)
        }
    }
}

fn connect_page(
    s: &SignedIn,
    state: &AppState,
    ws: &str,
    instance_url: &str,
    offer_replace: bool,
    errors: &[FormError],
    status: StatusCode,
) -> Response {
    let conn = state.connections.connection(ws);
    let mut body = String::new();
    if conn.connected {
        let user = conn.username.as_deref().unwrap_or("an account");
        body.push_str(&format!(
            "<p>Workspace <strong>{}</strong> is connected as <strong>{}</strong>. To use another token of the same account, \
             <a href=\"/workspaces/{}/token\">update the token</a> instead.</p>\n",
            esc(ws),
            esc(user),
            esc(ws)
        ));
    } else {
        body.push_str(&format!(
            "<p>Connect workspace <strong>{}</strong> to a GitLab account with a personal access token.</p>\n",
            esc(ws)
        ));
    }
    body.push_str(&format!(
        r#"<form method="post" action="/workspaces/{}/connect" class="form">"#,
        esc(ws)
    ));
    body.push_str(&markup::csrf_field(&s.csrf));
    markup::form_errors(&mut body, errors);
    markup::instance_url_field(&mut body, instance_url, errors);
    token_field(&mut body, errors);
    force_box(&mut body, errors);
    if offer_replace || conn.connected {
        markup::checkbox(
            &mut body,
            "replace",
            "Replace the current connection if this token belongs to another account or instance",
            false,
        );
    }
    body.push_str(&markup::form_end("Connect", false, "Cancel", Some(ws)));
    markup::page(status, &format!("Connect {ws}"), Some(&s.csrf), &body)
}

/// After a `token-shared` refusal: the way to take the token anyway.
fn force_box(body: &mut String, errors: &[FormError]) {
    if errors.iter().any(|e| e.code == "token-shared") {
        markup::checkbox(
            body,
            "force",
            "Use this token anyway (rotating it in one workspace revokes the other workspace's copy)",
            false,
        );
    }
}

fn token_field(body: &mut String, errors: &[FormError]) {
    markup::field(
        body,
        &Field {
            name: "token",
            label: "Personal access token",
            kind: "password",
            value: "",
            hint: Some(
                "Create one in GitLab under Preferences → Access tokens with the scopes `read_api` and `read_repository` (`api` to let labwatch rotate it).",
            ),
            autocomplete: "off",
            required: true,
        },
        FormError::on(errors, "token").as_ref(),
    );
}

/// `GET /workspaces/{ws}/token`.
pub async fn token_form(s: SignedIn, Path(ws): Path<String>) -> Response {
    if s.admin.actions.page_facts(&ws).is_none() {
        return unknown(&ws);
    }
    token_page(&s, &ws, false, &[], StatusCode::OK)
}

/// `PUT /api/v1/workspaces/{ws}/token` as a form.
pub async fn update_token(Path(ws): Path<String>, p: Posted) -> Response {
    let s = &p.signed_in;
    let revoke_old = p.fields.ticked("revoke_old");
    let force = p.fields.ticked("force");
    let token = p.fields.get("token").trim();
    if token.is_empty() {
        let e = required("token", "Paste the new personal access token.");
        return token_page(s, &ws, revoke_old, &[e], StatusCode::UNPROCESSABLE_ENTITY);
    }
    let token = SecretString::from(token.to_owned());
    let actions = s.admin.actions.clone();
    let name = ws.clone();
    match detached(async move { actions.update_token_with(&name, token, revoke_old, force).await }).await {
        Ok(_) => done("token-updated", &ws),
        Err(e) => {
            let status = status_of(&e);
            token_page(s, &ws, revoke_old, &[FormError::from_action(e, &["token"])], status)
        }
    }
}

fn token_page(s: &SignedIn, ws: &str, revoke_old: bool, errors: &[FormError], status: StatusCode) -> Response {
    let mut body = format!(
        r#"<p>Give workspace <strong>{0}</strong> a new token of the same account.</p>
<form method="post" action="/workspaces/{0}/token" class="form">"#,
        esc(ws)
    );
    body.push_str(&markup::csrf_field(&s.csrf));
    markup::form_errors(&mut body, errors);
    token_field(&mut body, errors);
    force_box(&mut body, errors);
    markup::checkbox(
        &mut body,
        "revoke_old",
        "Revoke the old token at GitLab once the new one is saved",
        revoke_old,
    );
    body.push_str(&markup::form_end("Update token", false, "Cancel", Some(ws)));
    markup::page(status, &format!("Update the token of {ws}"), Some(&s.csrf), &body)
}

/// `POST /workspaces/{ws}/rotate`: the button on the status page.
pub async fn rotate(Path(ws): Path<String>, p: Posted) -> Response {
    let actions = p.signed_in.admin.actions.clone();
    let name = ws.clone();
    match detached(async move { actions.rotate(&name, None, Trigger::Manual).await }).await {
        Ok(_) => done("rotated", &ws),
        Err(e) => refused(&p.signed_in, &ws, "Rotate", e),
    }
}

/// `GET /workspaces/{ws}/disconnect`: the confirmation.
pub async fn disconnect_form(s: SignedIn, State(state): State<AppState>, Path(ws): Path<String>) -> Response {
    if s.admin.actions.page_facts(&ws).is_none() {
        return unknown(&ws);
    }
    let conn = state.connections.connection(&ws);
    let account = conn
        .username
        .as_deref()
        .map_or_else(String::new, |u| format!(" from <strong>{}</strong>", esc(u)));
    let mut body = format!(
        r#"<p>Disconnect workspace <strong>{0}</strong>{account}? labwatch forgets its token and its chosen repositories, and stops checking it until it is connected again.</p>
<form method="post" action="/workspaces/{0}/disconnect" class="form">"#,
        esc(&ws)
    );
    body.push_str(&markup::csrf_field(&s.csrf));
    markup::checkbox(
        &mut body,
        "revoke",
        "Also revoke the token at GitLab, so that it stops working everywhere",
        false,
    );
    body.push_str(&markup::form_end("Disconnect", true, "Cancel", Some(&ws)));
    markup::page(StatusCode::OK, &format!("Disconnect {ws}"), Some(&s.csrf), &body)
}

/// `POST /workspaces/{ws}/disconnect`.
pub async fn disconnect(Path(ws): Path<String>, p: Posted) -> Response {
    let revoke = p.fields.ticked("revoke");
    let actions = p.signed_in.admin.actions.clone();
    let name = ws.clone();
    match detached(async move { actions.disconnect(&name, revoke).await }).await {
        Ok(d) if d.token_revoked => done("disconnected-revoked", &ws),
        Ok(_) => done("disconnected", &ws),
        Err(e) => refused(&p.signed_in, &ws, "Disconnect", e),
    }
}

/// Back to the workspace on the status page, which says what was done.
pub fn done(what: &str, ws: &str) -> Response {
    Redirect::to(&format!(
        "/?done={what}&ws={ws}#ws-{}",
        crate::http::page::html::id_part(ws)
    ))
    .into_response()
}

/// An action without a form of its own was refused: its code, message
/// and steps, and the way back.
pub fn refused(s: &SignedIn, ws: &str, what: &str, e: ActionError) -> Response {
    let status = status_of(&e);
    let mut body = String::new();
    markup::form_errors(&mut body, &[FormError::from_action(e, &[])]);
    body.push_str(&format!(
        r#"<p><a href="/#ws-{}">Back to the status page</a></p>"#,
        crate::http::page::html::id_part(ws)
    ));
    markup::page(status, &format!("{what} {ws}: not done"), Some(&s.csrf), &body)
}

pub fn unknown(ws: &str) -> Response {
    markup::problem(
        StatusCode::NOT_FOUND,
        "unknown-workspace",
        &format!("There is no workspace `{ws}` (or its settings do not validate: see `/status`)."),
    )
}

pub fn required(field: &str, message: &str) -> FormError {
    FormError {
        field: Some(field.to_owned()),
        code: "field-required".to_owned(),
        message: message.to_owned(),
        remediation: Vec::new(),
    }
}

pub fn status_of(e: &ActionError) -> StatusCode {
    StatusCode::from_u16(e.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
