//! The HTML of the form pages: one document shell (the status page's
//! styles, no script), labelled fields that show their error next to
//! them, and the page of a problem that has no field (`csrf-invalid`).
//!
//! Nothing a person typed as a token is ever written back: password
//! fields are always rendered empty.

use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::actions::ActionError;
use crate::http::page::html::{Inline, esc, head, id_part};

/// What the form pages allow: no script at all, the inline styles, and
/// forms posted to this origin only.
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'none'; img-src data:; \
                   base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// A whole form page: `title`, then `body` (already HTML).
pub fn page(status: StatusCode, title: &str, csrf: Option<&str>, body: &str) -> Response {
    let mut out = String::with_capacity(8 * 1024);
    head(&mut out, title, "");
    let _ = write!(
        out,
        r#"<body class="form-page">
<header class="bar">
<p><a href="/">labwatch</a> <span class="sub">GitLab connection status</span></p>
{sign_out}
</header>
<main>
<h1>{title}</h1>
{body}
</main>
</body>
</html>
"#,
        title = esc(title),
        sign_out = csrf.map(sign_out_form).unwrap_or_default(),
    );
    html(status, out)
}

/// The sign-out button, on every page of a signed-in operator.
pub fn sign_out_form(csrf: &str) -> String {
    format!(
        r#"<form method="post" action="/sign-out" class="inline"><input type="hidden" name="csrf" value="{}"><button type="submit">Sign out</button></form>"#,
        esc(csrf)
    )
}

/// How a form ends: its submit button (`danger` for one that removes
/// something), the way back, and `</form>`. `workspace` is where "back"
/// lands on the status page; `None` is the page's top.
pub fn form_end(button: &str, danger: bool, back: &str, workspace: Option<&str>) -> String {
    let class = if danger { r#" class="danger""# } else { "" };
    let href = workspace.map_or_else(|| "/".to_owned(), |ws| format!("/#ws-{}", id_part(ws)));
    format!(
        r#"<p class="actions"><button type="submit"{class}>{}</button> <a href="{href}">{}</a></p></form>"#,
        esc(button),
        esc(back)
    )
}

/// The hidden CSRF field of a form.
pub fn csrf_field(csrf: &str) -> String {
    format!(r#"<input type="hidden" name="csrf" value="{}">"#, esc(csrf))
}

/// A problem with no field to show it next to: its code, what happened
/// and the way back.
pub fn problem(status: StatusCode, code: &str, message: &str) -> Response {
    let body = format!(
        r#"<div class="form-error" role="alert"><p><code>{}</code> {}</p></div>
<p><a href="/">Back to the status page</a></p>"#,
        esc(code),
        Inline(message)
    );
    page(status, "Not done", None, &body)
}

/// An answer with the page's security headers.
pub fn html(status: StatusCode, body: String) -> Response {
    let mut response = (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    crate::http::page::common_headers(headers);
    response
}

/// One input with its label; `error` is shown under it and linked to it.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    /// `text`, `url`, `password`.
    pub kind: &'a str,
    /// Always ignored for `password`.
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub autocomplete: &'a str,
    pub required: bool,
}

pub fn field(out: &mut String, f: &Field<'_>, error: Option<&FormError>) {
    let value = if f.kind == "password" { "" } else { f.value };
    let id = format!("f-{}", f.name);
    let mut described = Vec::new();
    if f.hint.is_some() {
        described.push(format!("{id}-hint"));
    }
    if error.is_some() {
        described.push(format!("{id}-error"));
    }
    let _ = write!(
        out,
        r#"<div class="field{invalid_class}"><label for="{id}">{label}</label>"#,
        invalid_class = if error.is_some() { " invalid" } else { "" },
        label = esc(f.label),
    );
    if let Some(hint) = f.hint {
        let _ = write!(out, r#"<p class="hint" id="{id}-hint">{}</p>"#, Inline(hint));
    }
    let _ = write!(
        out,
        r#"<input id="{id}" name="{name}" type="{kind}" value="{value}" autocomplete="{auto}"{required}{invalid}{described}>"#,
        name = esc(f.name),
        kind = esc(f.kind),
        value = esc(value),
        auto = esc(f.autocomplete),
        required = if f.required { " required" } else { "" },
        invalid = if error.is_some() { r#" aria-invalid="true""# } else { "" },
        described = if described.is_empty() {
            String::new()
        } else {
            format!(r#" aria-describedby="{}""#, described.join(" "))
        },
    );
    if let Some(e) = error {
        error_block(out, &format!("{id}-error"), e);
    }
    out.push_str("</div>\n");
}

/// The GitLab instance URL field of the connect and new-workspace forms.
pub fn instance_url_field(out: &mut String, value: &str, errors: &[FormError]) {
    field(
        out,
        &Field {
            name: "instance_url",
            label: "GitLab instance URL",
            kind: "url",
            value,
            hint: Some("`https://gitlab.com`, or your own GitLab's address."),
            autocomplete: "url",
            required: true,
        },
        FormError::on(errors, "instance_url").as_ref(),
    );
}

/// A checkbox with its label.
pub fn checkbox(out: &mut String, name: &str, label: &str, checked: bool) {
    let _ = writeln!(
        out,
        r#"<div class="check-field"><input type="checkbox" id="f-{n}" name="{n}" value="on"{c}><label for="f-{n}">{l}</label></div>"#,
        n = esc(name),
        c = if checked { " checked" } else { "" },
        l = Inline(label),
    );
}

/// Why an action was refused, as the admin API says it, and the field it
/// concerns (`None`: the form as a whole).
#[derive(Debug, Clone)]
pub struct FormError {
    pub field: Option<String>,
    pub code: String,
    pub message: String,
    pub remediation: Vec<String>,
}

impl FormError {
    /// `e`, shown next to the field [`field_of`] picks among `fields`.
    pub fn from_action(e: ActionError, fields: &[&str]) -> FormError {
        FormError {
            field: field_of(&e.code, fields).map(str::to_owned),
            code: e.code,
            message: e.message,
            remediation: e.remediation,
        }
    }

    /// The error of `name`, if it is this one's field.
    pub fn on(errors: &[FormError], name: &str) -> Option<FormError> {
        errors.iter().find(|e| e.field.as_deref() == Some(name)).cloned()
    }
}

/// The form field an error code is about: what the instance check reports
/// goes to `instance_url`, what the token and scope checks report to
/// `token`, a repository's problem to `repositories`, among the fields the
/// form has.
pub fn field_of<'a>(code: &str, fields: &[&'a str]) -> Option<&'a str> {
    let check = crate::engine::Reason::from_code(code).map(crate::engine::Reason::check);
    let wanted = match (code, check) {
        ("instance-not-allowed" | "instance-url-invalid", _) | (_, Some("instance")) => "instance_url",
        ("token-shared", _) | (_, Some("token" | "scopes")) => "token",
        ("repository-invalid", _) | (_, Some("repository")) => "repositories",
        ("unauthorized" | "too-many-sign-ins", _) => "admin_token",
        ("workspace-exists" | "workspace-in-config", _) => "name",
        _ => return None,
    };
    fields.iter().copied().find(|f| *f == wanted)
}

/// The errors of the form as a whole, at its top.
pub fn form_errors(out: &mut String, errors: &[FormError]) {
    for (i, e) in errors.iter().filter(|e| e.field.is_none()).enumerate() {
        error_block(out, &format!("form-error-{i}"), e);
    }
}

fn error_block(out: &mut String, id: &str, e: &FormError) {
    let _ = write!(
        out,
        r#"<div class="form-error" id="{id}" role="alert" data-code="{code}"><p><code>{code}</code> {message}</p>"#,
        code = esc(&e.code),
        message = Inline(&e.message),
    );
    if !e.remediation.is_empty() {
        out.push_str(r#"<ol class="remediation">"#);
        for step in &e.remediation {
            let _ = write!(out, "<li>{}</li>", Inline(step));
        }
        out.push_str("</ol>");
    }
    out.push_str("</div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_land_next_to_the_field_they_are_about() {
        let connect = ["instance_url", "token", "repositories"];
        assert_eq!(field_of("token-invalid", &connect), Some("token"));
        assert_eq!(field_of("scopes-missing", &connect), Some("token"));
        assert_eq!(field_of("dns-nxdomain", &connect), Some("instance_url"));
        assert_eq!(field_of("instance-not-allowed", &connect), Some("instance_url"));
        assert_eq!(field_of("repo-not-found-or-no-access", &connect), Some("repositories"));
        assert_eq!(field_of("account-mismatch", &connect), None);
        assert_eq!(
            field_of("token-invalid", &["instance_url"]),
            None,
            "not a field of this form"
        );
    }

    #[test]
    fn a_password_field_never_shows_a_value() {
        let mut out = String::new();
        let f = Field {
            name: "token",
            label: "Token",
            kind: "password",
            value: "glpat-secret",
            hint: None,
            autocomplete: "off",
            required: true,
        };
        field(&mut out, &f, None);
        assert!(!out.contains("glpat-secret"), "{out}");
        assert!(out.contains(r#"value="""#), "{out}");
    }
}
