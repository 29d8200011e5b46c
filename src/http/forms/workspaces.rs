//! Run-time workspaces on the page: create one (`/workspaces/new`), then
//! connect it; delete one with a confirmation (`/workspaces/{ws}/delete`).
//! The same actions as `PUT` and `DELETE /api/v1/workspaces/{ws}`; a
//! workspace of the config file is changed in the file, not here.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};

use super::connection::{done, refused, status_of, unknown};
use super::markup::{self, Field, FormError};
use super::request::{Posted, SignedIn};
use crate::http::admin::detached;
use crate::http::extract::Path;
use crate::http::page::html::esc;

/// `GET /workspaces/new`.
pub async fn new_form(s: SignedIn) -> Response {
    new_page(&s, "", "https://gitlab.com", &[], StatusCode::OK)
}

/// `POST /workspaces/new`: created, on to connecting it.
pub async fn create(p: Posted) -> Response {
    let s = &p.signed_in;
    let name = p.fields.get("name").trim().to_owned();
    let instance_url = p.fields.get("instance_url").trim().to_owned();
    if name.is_empty() {
        let e = super::connection::required("name", "Name the workspace: lowercase letters, digits and `-`.");
        return new_page(s, &name, &instance_url, &[e], StatusCode::UNPROCESSABLE_ENTITY);
    }
    // `PUT` replaces a workspace that exists; creating must not.
    if s.admin.actions.get_workspace(&name).is_ok() {
        let e = FormError {
            field: Some("name".to_owned()),
            code: "workspace-exists".to_owned(),
            message: format!("There is already a workspace `{name}`; choose another name."),
            remediation: Vec::new(),
        };
        return new_page(s, &name, &instance_url, &[e], StatusCode::CONFLICT);
    }
    let mut body = Map::new();
    if !instance_url.is_empty() {
        body.insert("instance_url".to_owned(), Value::String(instance_url.clone()));
    }
    let actions = s.admin.actions.clone();
    let ws = name.clone();
    match detached(async move { actions.put_workspace(&ws, Value::Object(body)).await }).await {
        Ok(_) => Redirect::to(&format!("/workspaces/{name}/connect")).into_response(),
        Err(e) => {
            let status = status_of(&e);
            let mut errors: Vec<FormError> = e
                .errors
                .iter()
                .map(|f| FormError {
                    // `name` is checked as the URL's last segment.
                    field: Some(if f.field.is_empty() { "name" } else { f.field.as_str() }.to_owned())
                        .filter(|f| f == "name" || f == "instance_url"),
                    code: e.code.clone(),
                    message: f.message.clone(),
                    remediation: Vec::new(),
                })
                .collect();
            if errors.is_empty() {
                errors.push(FormError::from_action(e, &["name", "instance_url"]));
            }
            new_page(s, &name, &instance_url, &errors, status)
        }
    }
}

fn new_page(s: &SignedIn, name: &str, instance_url: &str, errors: &[FormError], status: StatusCode) -> Response {
    let mut body = String::from(
        r#"<p>A workspace created here is kept in labwatch's store and checked like one of the config file. Connect it next.</p>
<form method="post" action="/workspaces/new" class="form">"#,
    );
    body.push_str(&markup::csrf_field(&s.csrf));
    markup::form_errors(&mut body, errors);
    markup::field(
        &mut body,
        &Field {
            name: "name",
            label: "Name",
            kind: "text",
            value: name,
            hint: Some("Lowercase letters, digits and `-`, starting with a letter or digit; at most 63."),
            autocomplete: "off",
            required: true,
        },
        FormError::on(errors, "name").as_ref(),
    );
    markup::instance_url_field(&mut body, instance_url, errors);
    body.push_str(&markup::form_end("Create", false, "Cancel", None));
    markup::page(status, "New workspace", Some(&s.csrf), &body)
}

/// `GET /workspaces/{ws}/delete`: the confirmation.
pub async fn delete_form(s: SignedIn, Path(ws): Path<String>) -> Response {
    match s.admin.actions.page_facts(&ws) {
        None => unknown(&ws),
        Some((_, false)) => markup::problem(
            StatusCode::CONFLICT,
            "workspace-in-config",
            &format!(
                "Workspace `{ws}` comes from the config file: remove its `[[workspace]]` table there and reload labwatch."
            ),
        ),
        Some((_, true)) => {
            let mut body = format!(
                r#"<p>Delete workspace <strong>{0}</strong>? labwatch stops checking it and forgets its settings, its connection and its history.</p>
<form method="post" action="/workspaces/{0}/delete" class="form">"#,
                esc(&ws)
            );
            body.push_str(&markup::csrf_field(&s.csrf));
            markup::checkbox(&mut body, "revoke", "Also revoke its token at GitLab", false);
            body.push_str(&markup::form_end("Delete", true, "Cancel", Some(&ws)));
            markup::page(StatusCode::OK, &format!("Delete {ws}"), Some(&s.csrf), &body)
        }
    }
}

/// `POST /workspaces/{ws}/delete`.
pub async fn delete(Path(ws): Path<String>, p: Posted) -> Response {
    let revoke = p.fields.ticked("revoke");
    let actions = p.signed_in.admin.actions.clone();
    let name = ws.clone();
    match detached(async move { actions.delete_workspace(&name, revoke).await }).await {
        Ok(_) => done("deleted", &ws),
        Err(e) => refused(&p.signed_in, &ws, "Delete", e),
    }
}
