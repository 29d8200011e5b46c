//! A workspace as data: the JSON body of `PUT /api/v1/workspaces/{ws}`
//! (the keys of a `[[workspace]]` table) turned into a [`WorkspaceConfig`]
//! by the file's own validator, and a workspace's settings turned back
//! into such a body for `GET`.
//!
//! There is one validator (`validate.rs`). The body is rendered as the TOML
//! text of one `[[workspace]]` table, one key (and one array element) per
//! line, and validated as the file is, with the config's `[defaults]`; each
//! error's line then names the key it sits on (`interval`,
//! `repositories[1]`, `renewal.mode`), and its message is the file's, without
//! `FILE:LINE:COL`. What only JSON can get wrong (JSON `null`, a key the
//! table does not have, a name that differs from the URL's) and what the API
//! refuses on top of the file (`token_file`, an instance outside
//! `allowed_instances`) is checked here, before and after.

use std::path::Path;
use std::time::Duration;

use serde_json::{Map, Value};

use super::error::suggest;
use super::{Config, RenewBefore, RenewalMode, WorkspaceConfig, instance_url, validate};

/// The keys a body may set, in the order they are rendered. `renewal` is a
/// table of its own and comes last.
pub const KEYS: &[&str] = &[
    "instance_url",
    "repositories",
    "required_scopes",
    "interval",
    "timeout",
    "requests_per_second",
    "min_access_level",
    "clone_probe",
    "capabilities",
    "nameservers",
    "ca_file",
    "tls_expiry_warning",
    "token_expiry_critical",
    "renewal",
];

/// The keys of `renewal`.
pub const RENEWAL_KEYS: &[&str] = &["mode", "renew_before", "lifetime", "renew_on"];

/// Where `[[workspace]]` errors seem to come from in messages; never shown,
/// since only the message is kept.
const SOURCE: &str = "<admin API>";

/// One problem with a body: the key it concerns (`""` for the body as a
/// whole, `renewal.mode`, `repositories[2]`) and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for FieldError {
    /// `interval: …`, or the message alone for the body as a whole.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// `interval: …; repositories[1]: …`, for messages and logs.
pub fn summary(errors: &[FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

impl FieldError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> FieldError {
        FieldError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Validates `body` as workspace `name` of `config`: the file's rules, the
/// file's `[defaults]`, and `allowed_instances`. Every problem is returned,
/// not only the first (a wrong JSON type stops the file's parser, as it
/// does for the file: that one comes alone).
pub fn validate(config: &Config, name: &str, body: &Value) -> Result<WorkspaceConfig, Vec<FieldError>> {
    let Some(body) = body.as_object() else {
        return Err(vec![FieldError::new(
            "",
            "the body must be a JSON object with the keys of a [[workspace]] table, for example {\"instance_url\": \"https://gitlab.com\", \"repositories\": [\"group/project\"]}",
        )]);
    };
    let mut errors = Vec::new();
    let mut doc = Rendered::new(name);
    for (key, value) in body {
        if let Some(e) = refused_key(name, key, value) {
            errors.push(e);
        }
    }
    for key in KEYS.iter().filter(|k| **k != "renewal") {
        if let Some(value) = body.get(*key).filter(|v| !v.is_null()) {
            doc.key(key, key, value, &mut errors);
        }
    }
    match body.get("renewal") {
        Some(Value::Object(renewal)) => {
            doc.table("renewal");
            for (key, value) in renewal {
                let field = format!("renewal.{key}");
                if value.is_null() {
                    errors.push(null_error(&field));
                } else if !RENEWAL_KEYS.contains(&key.as_str()) {
                    errors.push(unknown_key(&field, key, RENEWAL_KEYS));
                } else {
                    doc.key(key, &field, value, &mut errors);
                }
            }
        }
        Some(Value::Null) | None => {}
        // Rendered as a plain key, so the file's parser names the type.
        Some(other) => doc.key("renewal", "renewal", other, &mut errors),
    }
    match validate::one_workspace(Path::new(SOURCE), &doc.text, &config.defaults) {
        Ok(ws) if errors.is_empty() => {
            if config.instance_allowed(&ws.instance_url) {
                return Ok(ws);
            }
            errors.push(FieldError::new(
                "instance_url",
                format!(
                    "{} is not in `allowed_instances`; ask the operator to add it to the config.",
                    instance_url::display(&ws.instance_url)
                ),
            ));
        }
        Ok(_) => {}
        Err(found) => errors.extend(
            found
                .into_iter()
                .map(|e| FieldError::new(doc.field_at(e.line), e.message)),
        ),
    }
    Err(errors)
}

/// The settings keys of `body` alone (what the store keeps of it).
pub fn settings(body: &Value) -> Map<String, Value> {
    body.as_object()
        .map(|m| {
            m.iter()
                .filter(|(k, v)| KEYS.contains(&k.as_str()) && !v.is_null())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        })
        .unwrap_or_default()
}

/// What `GET` answers beside the settings and a `PUT` ignores, so an
/// answer can be edited and sent back as it is.
pub const READ_ONLY: &[&str] = &["valid", "created_at", "updated_at", "errors"];

/// A key the API does not take, or takes only with one value. `name` (it
/// must be the URL's) and `origin` (only `api` can be written) are taken,
/// and [`READ_ONLY`] keys ignored, so a `GET` answer can be sent back.
fn refused_key(name: &str, key: &str, value: &Value) -> Option<FieldError> {
    match key {
        _ if READ_ONLY.contains(&key) => None,
        "name" => match value.as_str() {
            Some(n) if n == name => None,
            _ => Some(FieldError::new(
                "name",
                format!(
                    "the body names workspace {value}, the URL `{name}`; leave `name` out or make it the URL's (a workspace is renamed by creating the new one and deleting the old)"
                ),
            )),
        },
        "origin" => (value != "api").then(|| {
            FieldError::new(
                "origin",
                format!("`origin` is {value}, but a workspace written through the API is \"api\"; leave `origin` out"),
            )
        }),
        "token_file" => Some(FieldError::new(
            "token_file",
            "`token_file` cannot be set through the admin API: it would make labwatch read a file of the caller's choosing and send it to an instance of the caller's choosing as a token. Leave it out and connect the workspace with its token instead (`labwatch connect`, or POST /api/v1/workspaces/{ws}/connect)",
        )),
        _ if value.is_null() => Some(null_error(key)),
        _ if KEYS.contains(&key) => None,
        _ => Some(unknown_key(key, key, KEYS)),
    }
}

fn null_error(field: &str) -> FieldError {
    FieldError::new(
        field,
        format!("`{field}` is null, which a [[workspace]] table cannot hold; leave the key out for its default"),
    )
}

/// The file's "unknown field" message, with its suggestion.
fn unknown_key(field: &str, key: &str, known: &[&str]) -> FieldError {
    let hint = match suggest(key, known) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("remove `{key}` or use one of: {}", known.join(", ")),
    };
    FieldError::new(field, format!("unknown field `{key}`; {hint}"))
}

/// The TOML text being built, and the field each of its lines stands for.
struct Rendered {
    text: String,
    /// `fields[i]`: the field of line `i + 1`.
    fields: Vec<String>,
}

impl Rendered {
    fn new(name: &str) -> Rendered {
        let mut r = Rendered {
            text: String::new(),
            fields: Vec::new(),
        };
        r.line("", "[[workspace]]".to_owned());
        r.line("name", format!("name = {}", string(name)));
        r
    }

    fn line(&mut self, field: &str, text: String) {
        self.text.push_str(&text);
        self.text.push('\n');
        self.fields.push(field.to_owned());
    }

    fn table(&mut self, key: &str) {
        self.line(key, format!("[workspace.{key}]"));
    }

    /// `key = value`; an array with one element per line, so an error in
    /// one element names it.
    fn key(&mut self, key: &str, field: &str, value: &Value, errors: &mut Vec<FieldError>) {
        match value {
            Value::Array(items) => {
                let mut lines = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    let at = format!("{field}[{i}]");
                    match inline(item, &at) {
                        Ok(text) => lines.push((at, format!("  {text},"))),
                        Err(e) => errors.push(e),
                    }
                }
                self.line(field, format!("{key} = ["));
                for (at, text) in lines {
                    self.line(&at, text);
                }
                self.line(field, "]".to_owned());
            }
            _ => match inline(value, field) {
                Ok(text) => self.line(field, format!("{key} = {text}")),
                Err(e) => errors.push(e),
            },
        }
    }

    /// The field of a 1-based line (the body as a whole when unknown).
    fn field_at(&self, line: usize) -> String {
        line.checked_sub(1)
            .and_then(|i| self.fields.get(i))
            .cloned()
            .unwrap_or_default()
    }
}

/// A JSON value as one line of TOML. JSON's `null` has no TOML form, and an
/// integer beyond i64 none either: both are errors naming `field`.
fn inline(value: &Value, field: &str) -> Result<String, FieldError> {
    Ok(match value {
        Value::Null => return Err(null_error(field)),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            // Debug prints a form TOML reads as a float ("5.0", "1e300").
            (None, Some(f)) if !n.is_u64() => format!("{f:?}"),
            _ => {
                return Err(FieldError::new(
                    field,
                    format!("{n} is too large a number for `{field}`"),
                ));
            }
        },
        Value::String(s) => string(s),
        Value::Array(items) => {
            let parts: Result<Vec<String>, FieldError> = items
                .iter()
                .enumerate()
                .map(|(i, v)| inline(v, &format!("{field}[{i}]")))
                .collect();
            format!("[{}]", parts?.join(", "))
        }
        Value::Object(map) => {
            let parts: Result<Vec<String>, FieldError> = map
                .iter()
                .map(|(k, v)| Ok(format!("{} = {}", string(k), inline(v, &format!("{field}.{k}"))?)))
                .collect();
            format!("{{ {} }}", parts?.join(", "))
        }
    })
}

/// A TOML basic string, on one line whatever it holds.
fn string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A workspace's settings as a body with the same keys: what `GET` shows,
/// every value explicit (defaults included), and what `PUT` takes back.
/// A config workspace's `token_file` is left out: it is not the API's.
pub fn to_body(ws: &WorkspaceConfig) -> Map<String, Value> {
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_owned(), v);
    };
    put("instance_url", instance_url::display(&ws.instance_url).into());
    // A repository with capabilities of its own as the table form the
    // file takes, `{"path": …, "capabilities": […]}`.
    let repository = |r: &super::RepositoryRef| match &r.capabilities {
        None => Value::from(r.key()),
        Some(c) => serde_json::json!({"path": r.key(), "capabilities": c}),
    };
    put("repositories", ws.repositories.iter().map(repository).collect());
    put("required_scopes", ws.required_scopes.clone().into());
    put("interval", duration(ws.interval));
    put("timeout", duration(ws.timeout));
    put("requests_per_second", ws.requests_per_second.into());
    put(
        "min_access_level",
        validate::access_level_name(ws.min_access_level).into(),
    );
    put("clone_probe", ws.clone_probe.into());
    // Left out when not set, like `ca_file`: an explicit `["clone"]` also
    // judges clone's verdict, which the default does not.
    if let Some(capabilities) = &ws.capabilities {
        put("capabilities", capabilities.clone().into());
    }
    put(
        "nameservers",
        ws.nameservers.iter().map(|n| Value::from(n.to_string())).collect(),
    );
    if let Some(ca) = &ws.ca_file {
        put("ca_file", ca.display().to_string().into());
    }
    put("tls_expiry_warning", duration(ws.tls_expiry_warning));
    put("token_expiry_critical", duration(ws.token_expiry_critical));
    let r = &ws.renewal;
    let mut renewal = Map::new();
    let mode = match r.mode {
        RenewalMode::Auto => "auto",
        RenewalMode::Alert => "alert",
        RenewalMode::Manual => "manual",
    };
    renewal.insert("mode".into(), mode.into());
    let before = match r.renew_before {
        RenewBefore::Duration(d) => duration(d),
        RenewBefore::Fraction(f) => format!("{f}").into(),
    };
    renewal.insert("renew_before".into(), before);
    renewal.insert("lifetime".into(), duration(r.lifetime));
    renewal.insert("renew_on".into(), r.renew_on.clone().into());
    put("renewal", Value::Object(renewal));
    m
}

/// "5m", "14days": what the file takes.
fn duration(d: Duration) -> Value {
    humantime::format_duration(d).to_string().into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn config(extra: &str) -> Config {
        let text = format!(
            "{extra}\n[server]\nadmin_token_file = \"/dev/null\"\n[defaults]\ninterval = \"10m\"\ntimeout = \"20s\"\n"
        );
        Config::parse(Path::new("lw.toml"), &text).unwrap()
    }

    fn fields(r: Result<WorkspaceConfig, Vec<FieldError>>) -> Vec<(String, String)> {
        r.unwrap_err().into_iter().map(|e| (e.field, e.message)).collect()
    }

    #[test]
    fn a_body_inherits_the_defaults_and_gitlab_com() {
        let ws = validate(&config(""), "acme", &json!({"repositories": ["g/p"]})).unwrap();
        assert_eq!(ws.name, "acme");
        assert_eq!(instance_url::display(&ws.instance_url), "https://gitlab.com");
        assert_eq!(
            (ws.interval, ws.timeout),
            (Duration::from_secs(600), Duration::from_secs(20))
        );
        assert_eq!(ws.repositories[0].key(), "g/p");
        assert_eq!(ws.token_file, None);
    }

    #[test]
    fn errors_name_the_key_and_keep_the_files_message() {
        let body = json!({
            "interval": "soon",
            "repositories": ["g/p", "g/p"],
            "renewal": {"mode": "sometimes"},
            "required_scopes": ["apii"],
        });
        let got = fields(validate(&config(""), "acme", &body));
        let at = |f: &str| got.iter().find(|(field, _)| field == f).map(|(_, m)| m.as_str());
        assert!(
            at("interval").unwrap().starts_with("`soon` is not a duration"),
            "{got:?}"
        );
        assert_eq!(at("repositories[1]"), Some("repository `g/p` is listed twice"));
        assert!(
            at("renewal.mode")
                .unwrap()
                .contains("renewal mode `sometimes` is unknown"),
            "{got:?}"
        );
        assert!(
            at("required_scopes[0]").unwrap().contains("did you mean `api`?"),
            "{got:?}"
        );
        assert_eq!(got.len(), 4, "{got:?}");
    }

    #[test]
    fn json_only_mistakes_are_clear() {
        let got = fields(validate(
            &config(""),
            "acme",
            &json!({"name": "other", "intervall": "5m", "timeout": null, "token_file": "/etc/shadow"}),
        ));
        let names: Vec<&str> = got.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(names, ["intervall", "name", "timeout", "token_file"], "{got:?}");
        assert!(got[0].1.contains("did you mean `interval`?"), "{got:?}");
        assert!(got[3].1.contains("labwatch connect"), "{got:?}");
        let got = fields(validate(&config(""), "acme", &json!({"interval": 5})));
        assert_eq!(got[0].0, "interval");
        assert!(
            got[0].1.contains("invalid type: integer `5`, expected a string"),
            "{got:?}"
        );
        let got = fields(validate(&config(""), "acme", &json!(["not", "an", "object"])));
        assert_eq!(got[0].0, "");
    }

    #[test]
    fn allowed_instances_hold_and_odd_strings_stay_on_their_line() {
        let config = config("allowed_instances = [\"https://gitlab.example.com\"]");
        let got = fields(validate(&config, "acme", &json!({})));
        assert_eq!(got[0].0, "instance_url");
        assert!(got[0].1.contains("not in `allowed_instances`"), "{got:?}");
        let got = fields(validate(
            &config,
            "acme",
            &json!({"instance_url": "https://gitlab.example.com", "repositories": ["a\"\n\\b = 1"]}),
        ));
        assert_eq!(got[0].0, "repositories[0]", "{got:?}");
    }

    #[test]
    fn a_shown_body_validates_back_to_the_same_workspace() {
        let config = config("");
        let body = json!({"repositories": ["g/p"], "requests_per_second": 2, "renewal": {"mode": "auto", "renew_before": "25%"}});
        let ws = validate(&config, "acme", &body).unwrap();
        let mut shown = to_body(&ws);
        shown.insert("name".into(), "acme".into());
        shown.insert("origin".into(), "api".into());
        assert_eq!(validate(&config, "acme", &Value::Object(shown)).unwrap(), ws);
    }
}
