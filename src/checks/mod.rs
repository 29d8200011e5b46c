//! Built-in checks, one file (or folder) each, the configured ones
//! ([`plugin`]: external executables, [`http_check`]: declarative HTTP
//! checks), and the explicit registry that lists which checks a workspace
//! gets. No link-time magic: adding a check means adding it to
//! [`with_gitlab`] (built-in) or to the config (plugins).
//!
//! The dependency graph: `instance` → `token` → `scopes` → `repository`
//! (one per watched repository); plugins and HTTP checks hang off it
//! wherever their `depends_on` says.

mod context;
pub(crate) mod gitlab_errors;
mod handover;
pub mod http_check;
pub mod instance;
mod instances;
mod listing;
pub mod plugin;
mod repository;
mod scopes;
mod token;
mod verdicts;

use std::sync::Arc;
use std::time::Duration;

pub(crate) use context::read_token;
pub use context::{Shared, TokenSource, WorkspaceGitlab, connection_view};
pub use instances::{InstanceBudgetView, Instances, limits as instance_limits};
pub use repository::RepositoryCheck;
pub use scopes::ScopesCheck;
pub use token::TokenCheck;
pub use verdicts::views as capability_views;

use crate::config::{Config, WorkspaceConfig, runs_in};
use crate::engine::{Check, PlannedCheck};
use http_check::HttpCheck;
use plugin::PluginCheck;

/// Whether `name` is a built-in check (`instance`, `token`, …) rather than
/// a configured one.
pub fn is_builtin(name: &str) -> bool {
    crate::config::BUILTIN_CHECKS.contains(&name)
}

/// The built-in checks of one workspace over an existing GitLab context;
/// `admin_api`: whether the admin API is on, so the token check's steps
/// can name `labwatch connect`, `renew` and `rotate`.
pub fn with_gitlab(ws: &WorkspaceConfig, gitlab: Arc<WorkspaceGitlab>, admin_api: bool) -> Vec<Arc<dyn Check>> {
    let mut checks: Vec<Arc<dyn Check>> = vec![
        Arc::new(instance::InstanceCheck::shared(ws, gitlab.instance_probe.clone())),
        Arc::new(TokenCheck::new(gitlab.clone(), admin_api)),
        Arc::new(ScopesCheck::new(gitlab.clone(), admin_api)),
    ];
    for repo in &ws.repositories {
        checks.push(Arc::new(RepositoryCheck::new(gitlab.clone(), repo.clone())));
    }
    checks
}

/// Every check of workspace `ws` (its effective settings) with its
/// schedule: the built-ins on the workspace's interval and timeout, then the
/// `[[plugin]]`s and `[[http_check]]`s of `config` that run in it, each on
/// its own.
pub fn planned(config: &Config, ws: &WorkspaceConfig, gitlab: Arc<WorkspaceGitlab>) -> Vec<PlannedCheck> {
    let admin_api = config.server.admin_token_file.is_some();
    let mut planned: Vec<PlannedCheck> = with_gitlab(ws, gitlab.clone(), admin_api)
        .into_iter()
        .map(|check| PlannedCheck {
            check,
            interval: ws.interval,
            timeout: ws.timeout,
        })
        .collect();
    for p in config
        .plugins
        .iter()
        .filter(|p| runs_in(p.workspaces.as_deref(), &ws.name))
    {
        planned.push(PlannedCheck {
            check: Arc::new(PluginCheck::new(p.clone(), gitlab.clone())),
            interval: p.interval,
            timeout: p.timeout,
        });
    }
    for h in config
        .http_checks
        .iter()
        .filter(|h| runs_in(h.workspaces.as_deref(), &ws.name))
    {
        planned.push(PlannedCheck {
            check: Arc::new(HttpCheck::new(h.clone(), gitlab.clone())),
            interval: h.interval,
            timeout: h.timeout,
        });
    }
    planned
}

/// What kind of check a listed check is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckKind {
    BuiltIn,
    Plugin,
    HttpCheck,
}

impl CheckKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckKind::BuiltIn => "built-in",
            CheckKind::Plugin => "plugin",
            CheckKind::HttpCheck => "http_check",
        }
    }
}

/// One check of one workspace, as `labwatch checks list` shows it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ListedCheck {
    pub check: String,
    pub target: Option<String>,
    pub kind: CheckKind,
    /// Effective dependencies (a check given the token also waits for `token`).
    pub depends_on: Vec<String>,
    #[serde(rename = "interval_seconds", serialize_with = "as_seconds")]
    pub interval: Duration,
    #[serde(rename = "timeout_seconds", serialize_with = "as_seconds")]
    pub timeout: Duration,
    /// What it runs: a plugin's command line, an HTTP check's request.
    pub runs: Option<String>,
    /// Whether the check is handed the workspace token.
    pub token: bool,
}

fn as_seconds<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// The checks of workspace `ws` as configured in `config`, for listing;
/// built from the same registry the scheduler uses.
pub fn list(config: &Config, ws: &WorkspaceConfig, shared: &Shared) -> Vec<ListedCheck> {
    let gitlab = Arc::new(WorkspaceGitlab::new(ws, shared));
    planned(config, ws, gitlab)
        .into_iter()
        .map(|pc| {
            let name = pc.check.name().to_owned();
            let plugin = config.plugins.iter().find(|p| p.name == name);
            let http = config.http_checks.iter().find(|h| h.name == name);
            let (kind, runs, token) = match (plugin, http) {
                (Some(p), _) => (CheckKind::Plugin, Some(PluginCheck::command_line(p)), p.token),
                (None, Some(h)) => (
                    CheckKind::HttpCheck,
                    Some(format!("{} {}", h.method, h.url.resolve(&ws.instance_url))),
                    HttpCheck::sends_token(h, &ws.instance_url),
                ),
                (None, None) => (CheckKind::BuiltIn, None, name != "instance"),
            };
            ListedCheck {
                target: pc.check.target().map(str::to_owned),
                depends_on: pc.check.depends_on().iter().map(|d| d.to_string()).collect(),
                interval: pc.interval,
                timeout: pc.timeout,
                check: name,
                kind,
                runs,
                token,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The names config reserves for built-ins are exactly the checks the
    /// registry builds, and the ones others may depend on are the
    /// workspace-level ones.
    #[test]
    fn the_registry_builds_the_builtins_config_reserves() {
        let text = "[[workspace]]\nname = \"acme\"\nrepositories = [\"acme/app\"]\n";
        let config = Config::parse(std::path::Path::new("t.toml"), text).unwrap();
        let ws = &config.workspaces[0];
        let checks = with_gitlab(ws, Arc::new(WorkspaceGitlab::new(ws, &Shared::default())), false);
        let names: Vec<&str> = checks.iter().map(|c| c.name()).collect();
        assert_eq!(names, crate::config::BUILTIN_CHECKS);
        let workspace_level: Vec<&str> = checks
            .iter()
            .filter(|c| c.target().is_none())
            .map(|c| c.name())
            .collect();
        assert_eq!(workspace_level, crate::config::DEPENDABLE_BUILTINS);
    }
}
