//! `[[plugin]]` (external executables) and `[[http_check]]` (declarative
//! HTTP checks): their validated types, and the validation that turns the raw
//! tables into them — names, commands, URLs, conditions, and the dependency
//! graph they form with the built-in checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use toml::Spanned;
use url::Url;

use super::condition::Condition;
use super::error::suggest;
use super::raw::{RawHttpCheck, RawPlugin};
use super::validate::{Inherited, Validator};
use super::{BUILTIN_CHECKS, DEPENDABLE_BUILTINS};
use crate::engine::Status;

/// An external check: an executable run with an argv vector (never a
/// shell), a cleared environment and a timeout (see `checks::plugin`).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    /// Unique among all checks; the `check` label and the name others depend on.
    pub name: String,
    /// The executable, absolute (a relative `command[0]` is resolved against
    /// the config file's directory when the config loads).
    pub program: PathBuf,
    /// `command[1..]`, passed as they are.
    pub args: Vec<String>,
    pub interval: Duration,
    pub timeout: Duration,
    /// The workspaces it runs in; `None` means all of them.
    pub workspaces: Option<Vec<String>>,
    /// Checks that must be usable before it runs, as configured (a plugin
    /// given the token also waits for `token`, see `checks::plugin`).
    pub depends_on: Vec<String>,
    /// Whether the workspace token is written to the plugin's stdin.
    pub token: bool,
}

/// A declarative HTTP check: one request, conditions on the answer.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpCheckConfig {
    pub name: String,
    /// Upper case: GET, HEAD, POST, PUT, PATCH, DELETE or OPTIONS.
    pub method: String,
    pub url: HttpCheckUrl,
    /// Extra request headers, in file order.
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
    /// All must hold for the check to pass.
    pub conditions: Vec<Condition>,
    /// What a failed condition means: critical (default) or warning.
    pub severity: Status,
    pub interval: Duration,
    pub timeout: Duration,
    pub workspaces: Option<Vec<String>>,
    pub depends_on: Vec<String>,
    /// Send the workspace token (`PRIVATE-TOKEN`) when the URL is on the
    /// workspace's instance; never to another origin.
    pub token: bool,
}

/// Where an HTTP check sends its request.
#[derive(Debug, Clone, PartialEq)]
pub enum HttpCheckUrl {
    /// A path (and query) under the workspace's instance URL, e.g.
    /// `api/v4/version`: the same check works for every workspace.
    Relative(String),
    Absolute(Url),
}

impl HttpCheckUrl {
    /// The URL for a workspace whose instance is `instance` (sub-paths kept:
    /// `https://example.com/gitlab` + `api/v4/version`).
    pub fn resolve(&self, instance: &Url) -> Url {
        match self {
            HttpCheckUrl::Absolute(url) => url.clone(),
            HttpCheckUrl::Relative(path) => {
                let base = super::instance_url::display(instance);
                // Validated at load against a base of the same shape.
                Url::parse(&format!("{base}/{}", path.trim_start_matches('/'))).unwrap_or_else(|_| instance.clone())
            }
        }
    }
}

/// Whether a plugin or HTTP check with this scope runs in `workspace`.
pub fn runs_in(workspaces: Option<&[String]>, workspace: &str) -> bool {
    workspaces.is_none_or(|list| list.iter().any(|w| w == workspace))
}

const METHODS: &[&str] = &["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];

/// What the dependency validation needs to know about one configured check.
struct Node {
    name: String,
    workspaces: Option<Vec<String>>,
    depends_on: Vec<Spanned<String>>,
}

impl Validator<'_> {
    /// Validates every `[[plugin]]` and `[[http_check]]`, then the
    /// dependency graph they form.
    pub(super) fn plugin_checks(
        &mut self,
        config_path: &Path,
        plugins: Vec<Spanned<RawPlugin>>,
        http_checks: Vec<Spanned<RawHttpCheck>>,
        workspaces: &[&str],
        base: &Inherited,
    ) -> (Vec<PluginConfig>, Vec<HttpCheckConfig>) {
        let dir = config_dir(config_path);
        let mut taken = HashSet::new();
        let mut nodes = Vec::new();
        let mut out_plugins = Vec::new();
        for raw in plugins {
            let raw = raw.into_inner();
            self.check_name(&raw.name, "plugin", &mut taken);
            let scope = self.scope(raw.workspaces.as_ref(), workspaces);
            let timing = self.inherit(base, raw.interval.as_ref(), raw.timeout.as_ref(), None);
            let (program, args) = self.command(&raw.command, &dir);
            nodes.push(Node {
                name: raw.name.get_ref().clone(),
                workspaces: scope.clone(),
                depends_on: raw.depends_on.clone(),
            });
            out_plugins.push(PluginConfig {
                name: raw.name.into_inner(),
                program,
                args,
                interval: timing.interval,
                timeout: timing.timeout,
                workspaces: scope,
                depends_on: raw.depends_on.into_iter().map(Spanned::into_inner).collect(),
                token: raw.token.unwrap_or(false),
            });
        }
        let mut out_http = Vec::new();
        for raw in http_checks {
            let raw = raw.into_inner();
            self.check_name(&raw.name, "http_check", &mut taken);
            let scope = self.scope(raw.workspaces.as_ref(), workspaces);
            let timing = self.inherit(base, raw.interval.as_ref(), raw.timeout.as_ref(), None);
            nodes.push(Node {
                name: raw.name.get_ref().clone(),
                workspaces: scope.clone(),
                depends_on: raw.depends_on.clone(),
            });
            out_http.push(HttpCheckConfig {
                method: self.method(raw.method.as_ref()),
                url: self.http_url(&raw.url),
                headers: self.headers(&raw.headers),
                body: raw.body.map(Spanned::into_inner),
                conditions: self.conditions(&raw.conditions),
                severity: self.severity(raw.severity.as_ref()),
                interval: timing.interval,
                timeout: timing.timeout,
                workspaces: scope,
                depends_on: raw.depends_on.into_iter().map(Spanned::into_inner).collect(),
                token: raw.token.unwrap_or(true),
                name: raw.name.into_inner(),
            });
        }
        self.dependencies(&nodes, workspaces);
        (out_plugins, out_http)
    }

    /// Kebab case, unique among plugins and HTTP checks, and not a built-in
    /// check's name (the name is the `check` label and a dependency target).
    fn check_name(&mut self, raw: &Spanned<String>, table: &str, taken: &mut HashSet<String>) {
        let name = raw.get_ref();
        if !is_kebab(name) || name.len() > 63 {
            self.err(
                raw,
                format!("{table} name `{name}` must be 1-63 characters of a-z and 0-9 in words joined by single `-` (kebab case, like `disk-space`); it is the `check` label in metrics"),
            );
        } else if BUILTIN_CHECKS.contains(&name.as_str()) {
            self.err(
                raw,
                format!("`{name}` is the name of a built-in check; give the {table} another name"),
            );
        } else if !taken.insert(name.clone()) {
            self.err(
                raw,
                format!("a plugin or http_check named `{name}` is already defined; names must be unique"),
            );
        }
    }

    /// `workspaces = [...]`: known names, not empty. `None` is all.
    fn scope(&mut self, raw: Option<&Spanned<Vec<Spanned<String>>>>, workspaces: &[&str]) -> Option<Vec<String>> {
        let raw = raw?;
        if raw.get_ref().is_empty() {
            self.err(
                raw,
                "workspaces is empty, so this check would never run; list workspaces, or remove the key to run it in all of them",
            );
        }
        let mut out = Vec::new();
        for w in raw.get_ref() {
            let name = w.get_ref();
            if !workspaces.contains(&name.as_str()) {
                let hint = suggest(name, workspaces).map_or_else(
                    || format!("configured workspaces: {}", workspaces.join(", ")),
                    |s| format!("did you mean `{s}`?"),
                );
                self.err(w, format!("there is no workspace `{name}`; {hint}"));
            } else if !out.contains(name) {
                out.push(name.clone());
            }
        }
        Some(out)
    }

    /// `command = ["path", "arg", …]`: the program must exist and be
    /// executable now, not at its first run hours later.
    fn command(&mut self, raw: &Spanned<Vec<Spanned<String>>>, dir: &Path) -> (PathBuf, Vec<String>) {
        let argv = raw.get_ref();
        let Some(first) = argv.first() else {
            self.err(
                raw,
                "command is empty; give the program and its arguments, like [\"checks/disk-space.sh\", \"--min\", \"10%\"]",
            );
            return (PathBuf::new(), Vec::new());
        };
        for arg in argv {
            if arg.get_ref().contains('\0') {
                self.err(arg, "command arguments cannot contain NUL characters");
            }
        }
        let args = argv[1..].iter().map(|a| a.get_ref().clone()).collect();
        let written = first.get_ref();
        if written.trim().is_empty() {
            self.err(first, "the program (first element of command) is empty");
            return (PathBuf::new(), args);
        }
        let program = if Path::new(written).is_absolute() {
            PathBuf::from(written)
        } else {
            dir.join(written)
        };
        if let Err(problem) = executable(&program) {
            let shell_hint = if written.contains(' ') {
                "; command is an argv array, not a shell line: write [\"checks/x.sh\", \"--flag\"]"
            } else {
                ""
            };
            let base = if Path::new(written).is_absolute() {
                String::new()
            } else {
                format!(
                    " (relative paths start at the config file's directory, {})",
                    dir.display()
                )
            };
            self.err(first, format!("`{}`{base} {problem}{shell_hint}", program.display()));
        }
        (program, args)
    }

    fn method(&mut self, raw: Option<&Spanned<String>>) -> String {
        let Some(raw) = raw else { return "GET".to_owned() };
        let method = raw.get_ref().to_ascii_uppercase();
        if !METHODS.contains(&method.as_str()) {
            self.err(
                raw,
                format!(
                    "`{}` is not an HTTP method labwatch sends; use one of {}",
                    raw.get_ref(),
                    METHODS.join(", ")
                ),
            );
        }
        method
    }

    fn http_url(&mut self, raw: &Spanned<String>) -> HttpCheckUrl {
        let text = raw.get_ref().trim();
        if text.contains("://") {
            return match Url::parse(text) {
                Ok(url) if !matches!(url.scheme(), "http" | "https") => {
                    self.err(raw, format!("`{text}` is not an http(s) URL"));
                    HttpCheckUrl::Absolute(url)
                }
                Ok(url) if !url.username().is_empty() || url.password().is_some() => {
                    self.err(
                        raw,
                        format!("`{text}` contains credentials; they would show in /status and logs — remove them (the workspace token is sent to the instance by itself)"),
                    );
                    HttpCheckUrl::Absolute(url)
                }
                Ok(url) => HttpCheckUrl::Absolute(url),
                Err(e) => {
                    self.err(
                        raw,
                        format!("`{text}` is not a valid URL ({e}); write a full URL like https://status.example.com/health, or a path under the instance like api/v4/version"),
                    );
                    HttpCheckUrl::Relative(String::new())
                }
            };
        }
        if text.starts_with("//")
            || Url::parse(&format!("http://instance.invalid/{}", text.trim_start_matches('/'))).is_err()
        {
            self.err(
                raw,
                format!("`{text}` is neither a full http(s) URL nor a path under the instance like api/v4/version"),
            );
        }
        HttpCheckUrl::Relative(text.to_owned())
    }

    fn headers(&mut self, raw: &BTreeMap<String, Spanned<String>>) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (name, value) in raw {
            if reqwest::header::HeaderName::from_bytes(name.as_bytes()).is_err() {
                self.err(value, format!("`{name}` is not a valid header name"));
                continue;
            }
            if name.eq_ignore_ascii_case("private-token") {
                self.err(
                    value,
                    "remove the PRIVATE-TOKEN header: labwatch sends the workspace token itself when the URL is on the instance, and tokens never belong in the config",
                );
                continue;
            }
            if reqwest::header::HeaderValue::from_str(value.get_ref()).is_err() {
                self.err(
                    value,
                    format!("the value of header `{name}` holds characters HTTP does not allow"),
                );
                continue;
            }
            out.push((name.clone(), value.get_ref().clone()));
        }
        out
    }

    fn conditions(&mut self, raw: &Spanned<Vec<Spanned<String>>>) -> Vec<Condition> {
        if raw.get_ref().is_empty() {
            self.err(raw, "conditions is empty; add at least one, like \"[STATUS] == 200\"");
        }
        let mut out = Vec::new();
        for c in raw.get_ref() {
            match Condition::parse(c.get_ref()) {
                Ok(condition) => out.push(condition),
                Err(e) => {
                    let error = self.loc.error_in_string(c.span(), c.get_ref(), e.offset, e.message);
                    self.errors.push(error);
                }
            }
        }
        out
    }

    fn severity(&mut self, raw: Option<&Spanned<String>>) -> Status {
        match raw.map(|s| s.get_ref().as_str()) {
            None | Some("critical") => Status::Critical,
            Some("warning") => Status::Warning,
            Some(other) => {
                if let Some(raw) = raw {
                    self.err(
                        raw,
                        format!("severity `{other}` is unknown; use \"critical\" (default) or \"warning\""),
                    );
                }
                Status::Critical
            }
        }
    }

    /// Every dependency names a workspace-level built-in or another plugin
    /// check that runs wherever the dependent runs, and there is no cycle.
    fn dependencies(&mut self, nodes: &[Node], workspaces: &[&str]) {
        let by_name: HashMap<&str, &Node> = nodes.iter().map(|n| (n.name.as_str(), n)).collect();
        let mut candidates: Vec<&str> = DEPENDABLE_BUILTINS.to_vec();
        candidates.extend(nodes.iter().map(|n| n.name.as_str()));
        for node in nodes {
            for dep in &node.depends_on {
                let name = dep.get_ref().as_str();
                if name == node.name {
                    self.err(dep, format!("`{name}` cannot depend on itself"));
                } else if name == "repository" {
                    self.err(
                        dep,
                        "`repository` checks run once per repository, so nothing can wait for \"the\" repository check; depend on `scopes` (or `token`) instead",
                    );
                } else if DEPENDABLE_BUILTINS.contains(&name) {
                } else if let Some(target) = by_name.get(name) {
                    if let Some(missing) = uncovered(node, target, workspaces) {
                        self.err(
                            dep,
                            format!("`{name}` does not run in workspace `{missing}`, where `{}` runs; add `{missing}` to the workspaces of `{name}` or remove this dependency", node.name),
                        );
                    }
                } else {
                    let hint = suggest(name, &candidates).map_or_else(
                        || format!("checks to depend on: {}", candidates.join(", ")),
                        |s| format!("did you mean `{s}`?"),
                    );
                    self.err(dep, format!("there is no check `{name}` to depend on; {hint}"));
                }
            }
        }
        self.cycles(nodes, &by_name);
    }

    /// Reports each dependency that closes a cycle, with the cycle.
    fn cycles(&mut self, nodes: &[Node], by_name: &HashMap<&str, &Node>) {
        let mut done: HashSet<&str> = HashSet::new();
        for start in nodes {
            let mut path: Vec<&str> = Vec::new();
            self.visit(start, by_name, &mut path, &mut done);
        }
    }

    fn visit<'n>(
        &mut self,
        node: &'n Node,
        by_name: &HashMap<&str, &'n Node>,
        path: &mut Vec<&'n str>,
        done: &mut HashSet<&'n str>,
    ) {
        if done.contains(node.name.as_str()) {
            return;
        }
        path.push(&node.name);
        for dep in &node.depends_on {
            let Some(next) = by_name.get(dep.get_ref().as_str()) else {
                continue;
            };
            if next.name == node.name {
                continue;
            }
            if let Some(at) = path.iter().position(|n| *n == next.name) {
                let cycle: Vec<&str> = path[at..].iter().copied().chain([next.name.as_str()]).collect();
                self.err(
                    dep,
                    format!(
                        "dependency cycle: {}; remove one of these depends_on entries",
                        cycle.join(" → ")
                    ),
                );
                continue;
            }
            self.visit(next, by_name, path, done);
        }
        path.pop();
        done.insert(&node.name);
    }
}

/// A workspace where `node` runs and `target` does not.
fn uncovered<'a>(node: &'a Node, target: &Node, workspaces: &'a [&str]) -> Option<&'a str> {
    let mine: Vec<&str> = match &node.workspaces {
        Some(list) => list.iter().map(String::as_str).collect(),
        None => workspaces.to_vec(),
    };
    mine.into_iter().find(|w| !runs_in(target.workspaces.as_deref(), w))
}

fn is_kebab(name: &str) -> bool {
    !name.is_empty()
        && name
            .split('-')
            .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

/// The config file's directory, absolute, for relative plugin paths.
fn config_dir(config_path: &Path) -> PathBuf {
    let dir = match config_path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::path::absolute(&dir).unwrap_or(dir)
}

/// Why `path` cannot be run, if it cannot.
fn executable(path: &Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("does not exist".to_owned()),
        Err(e) => Err(format!("cannot be read ({e})")),
        Ok(m) if !m.is_file() => Err("is not a file".to_owned()),
        Ok(m) if m.permissions().mode() & 0o111 == 0 => Err(format!(
            "is not executable; make it so with `chmod +x {}`",
            path.display()
        )),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_names() {
        for ok in ["disk-space", "a", "git-clone-2"] {
            assert!(is_kebab(ok), "{ok}");
        }
        for bad in ["", "Disk", "a--b", "-a", "a-", "a_b", "a b"] {
            assert!(!is_kebab(bad), "{bad}");
        }
    }

    #[test]
    fn relative_urls_keep_the_instance_sub_path() {
        let instance = Url::parse("https://example.com/gitlab").unwrap();
        let url = HttpCheckUrl::Relative("/api/v4/version?x=1".into()).resolve(&instance);
        assert_eq!(url.as_str(), "https://example.com/gitlab/api/v4/version?x=1");
        let root = Url::parse("https://gitlab.com/").unwrap();
        assert_eq!(
            HttpCheckUrl::Relative("api/v4/version".into()).resolve(&root).as_str(),
            "https://gitlab.com/api/v4/version"
        );
    }
}
