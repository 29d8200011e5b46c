//! Choosing the watched repositories (`/workspaces/{ws}/repositories`):
//! the ones watched now, ticked, then the account's projects or a search
//! over what the token can see, and a field for a path or clone URL. The
//! whole choice is posted at once, as `PUT …/repositories` takes it.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::http::StatusCode;
use axum::response::Response;

use super::connection::{done, status_of, unknown};
use super::markup::{self, Field, FormError};
use super::request::{Posted, SignedIn};
use crate::http::admin::detached;
use crate::http::extract::{Path, Query};
use crate::http::page::html::{Inline, esc};
use crate::wire::{RepoPage, RepoWarning};

/// `GET /workspaces/{ws}/repositories?search=&page=`.
pub async fn form(s: SignedIn, Path(ws): Path<String>, Query(q): Query<HashMap<String, String>>) -> Response {
    if s.admin.actions.page_facts(&ws).is_none() {
        return unknown(&ws);
    }
    let search = q.get("search").map_or("", |v| v.trim()).to_owned();
    let page = q.get("page").and_then(|p| p.parse::<u32>().ok()).unwrap_or(1).max(1);
    let notice = (q.get("done").map(String::as_str) == Some("connected"))
        .then_some("Connected. Now choose the repositories labwatch watches for this workspace.");
    render(&s, &ws, &search, page, notice, &[], &[], StatusCode::OK).await
}

/// `POST /workspaces/{ws}/repositories`: the ticked ones plus the one typed.
pub async fn save(Path(ws): Path<String>, p: Posted) -> Response {
    let s = &p.signed_in;
    let mut wanted = p.fields.all("repository");
    let added = p.fields.get("add").trim().to_owned();
    if !added.is_empty() && !wanted.contains(&added) {
        wanted.push(added);
    }
    let search = p.fields.get("search").to_owned();
    let actions = s.admin.actions.clone();
    let name = ws.clone();
    match detached(async move { actions.set_repositories(&name, wanted).await }).await {
        Ok(saved) if saved.warnings.is_empty() => done("repositories-saved", &ws),
        Ok(saved) => {
            let notice = "Saved. Look at the warnings below: labwatch watches these repositories, but they may not be what you meant.";
            render(s, &ws, &search, 1, Some(notice), &saved.warnings, &[], StatusCode::OK).await
        }
        Err(e) => {
            let status = status_of(&e);
            let errors = [FormError::from_action(e, &["repositories"])];
            render(s, &ws, &search, 1, None, &[], &errors, status).await
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn render(
    s: &SignedIn,
    ws: &str,
    search: &str,
    page: u32,
    notice: Option<&str>,
    warnings: &[RepoWarning],
    errors: &[FormError],
    status: StatusCode,
) -> Response {
    let watched = s.admin.actions.watched(ws).await.unwrap_or_default();
    let listed = s
        .admin
        .actions
        .repositories(ws, (!search.is_empty()).then_some(search), page)
        .await;
    let mut body = String::new();
    if let Some(notice) = notice {
        let _ = write!(body, r#"<p class="notice" role="status">{}</p>"#, esc(notice));
    }
    for w in warnings {
        let _ = write!(
            body,
            r#"<div class="form-warning" data-code="{code}"><p><code>{code}</code> {msg}</p></div>"#,
            code = esc(&w.code),
            msg = Inline(&w.message)
        );
    }
    // The search is a GET form of its own, so a search never saves.
    let _ = write!(
        body,
        r#"<form method="get" action="/workspaces/{ws}/repositories" class="search" role="search">
<label for="f-search">Search by name, path or URL</label>
<div class="row"><input id="f-search" name="search" type="search" value="{q}"><button type="submit">Search</button></div>
</form>
<form method="post" action="/workspaces/{ws}/repositories" class="form">
"#,
        ws = esc(ws),
        q = esc(search),
    );
    body.push_str(&markup::csrf_field(&s.csrf));
    let _ = write!(body, r#"<input type="hidden" name="search" value="{}">"#, esc(search));
    let field_error = FormError::on(errors, "repositories");
    markup::form_errors(&mut body, errors);
    body.push_str(r#"<fieldset><legend>Watched now</legend>"#);
    if watched.is_empty() {
        body.push_str(r#"<p class="note">None yet.</p>"#);
    }
    for (i, path) in watched.iter().enumerate() {
        repo_box(&mut body, &format!("w{i}"), path, None, true);
    }
    body.push_str("</fieldset>\n");
    let legend = if search.is_empty() {
        "Your projects".to_owned()
    } else {
        format!("Found for “{}”", esc(search))
    };
    let _ = write!(body, "<fieldset><legend>{legend}</legend>");
    match &listed {
        Ok(RepoPage {
            repositories,
            next_page,
            ..
        }) => {
            let fresh: Vec<_> = repositories.iter().filter(|r| !watched.contains(&r.path)).collect();
            if fresh.is_empty() {
                body.push_str(r#"<p class="note">Nothing more to choose here.</p>"#);
            }
            for (i, r) in fresh.iter().enumerate() {
                let mut about = Vec::new();
                if let Some(access) = &r.access {
                    about.push(format!("you are {access}"));
                }
                if let Some(v) = &r.visibility {
                    about.push(v.clone());
                }
                if r.archived {
                    about.push("archived".to_owned());
                }
                // What the workspace could do with it, in words: the
                // capabilities GitLab allows, then those it refuses, why.
                let (yes, no): (Vec<_>, Vec<_>) = r.capabilities.iter().partition(|c| c.verdict == "yes");
                if !yes.is_empty() {
                    let names: Vec<&str> = yes.iter().map(|c| c.name.as_str()).collect();
                    about.push(format!("can: {}", names.join(" ")));
                }
                if !no.is_empty() {
                    let why: Vec<String> = no
                        .iter()
                        .map(|c| format!("{} ({})", c.name, c.reason.as_deref().unwrap_or("refused")))
                        .collect();
                    about.push(format!("cannot: {}", why.join(" ")));
                }
                repo_box(&mut body, &format!("r{i}"), &r.path, Some(&about.join(", ")), false);
            }
            if let Some(next) = next_page {
                let _ = write!(
                    body,
                    r#"<p><a href="/workspaces/{}/repositories?search={}&amp;page={next}">More</a></p>"#,
                    esc(ws),
                    esc(&url::form_urlencoded::byte_serialize(search.as_bytes()).collect::<String>()),
                );
            }
        }
        Err(e) => {
            let listing = FormError::from_action(e.clone(), &[]);
            markup::form_errors(&mut body, &[listing]);
        }
    }
    body.push_str("</fieldset>\n");
    markup::field(
        &mut body,
        &Field {
            name: "add",
            label: "Add by path or clone URL",
            kind: "text",
            value: "",
            hint: Some(
                "`group/project`, `https://gitlab.com/group/project.git` or `git@gitlab.com:group/project.git`.",
            ),
            autocomplete: "off",
            required: false,
        },
        field_error.as_ref(),
    );
    body.push_str(&markup::form_end(
        "Save the choice",
        false,
        "Back to the status page",
        Some(ws),
    ));
    markup::page(status, &format!("Repositories of {ws}"), Some(&s.csrf), &body)
}

fn repo_box(out: &mut String, id: &str, path: &str, about: Option<&str>, checked: bool) {
    let _ = write!(
        out,
        r#"<div class="check-field"><input type="checkbox" id="repo-{id}" name="repository" value="{p}"{c}><label for="repo-{id}"><code>{p}</code>{about}</label></div>"#,
        p = esc(path),
        c = if checked { " checked" } else { "" },
        about = about
            .filter(|a| !a.is_empty())
            .map_or_else(String::new, |a| format!(r#" <span class="note">{}</span>"#, esc(a))),
    );
}
