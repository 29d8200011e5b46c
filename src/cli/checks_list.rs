//! `labwatch checks list`: every check of every workspace, with its kind,
//! schedule, dependencies and what it runs, as a table or JSON.
//!
//! The workspaces are those a daemon on the same config and store runs, as
//! it runs them: like `labwatch check`, it reads the store when this host
//! has one (never creating or migrating it), so the run-time workspaces and
//! the repositories chosen through the admin API are listed too.

use super::args::{ChecksListArgs, ListOutput};
use super::{CommandError, load, unknown_workspace};
use crate::config;

pub fn checks_list(args: &ChecksListArgs) -> Result<u8, CommandError> {
    let config = load(&args.config)?;
    let known = crate::runtime::known_settings(&config, super::check::existing_store(&config).as_ref());
    let workspaces: Vec<_> = known
        .iter()
        .filter(|w| args.workspace.as_ref().is_none_or(|n| *n == w.name))
        .collect();
    if let (Some(name), true) = (&args.workspace, workspaces.is_empty()) {
        return Err(unknown_workspace(&config, name));
    }
    let shared = crate::checks::Shared::default();
    let listed: Vec<_> = workspaces
        .iter()
        .map(|ws| (*ws, crate::checks::list(&config, ws, &shared)))
        .collect();
    let rendered = match args.output {
        ListOutput::Text => checks_text(&listed),
        ListOutput::Json => {
            let doc: Vec<_> = listed
                .iter()
                .map(|(ws, checks)| {
                    serde_json::json!({
                        "workspace": ws.name,
                        "instance_url": config::instance_url::display(&ws.instance_url),
                        "checks": checks,
                    })
                })
                .collect();
            let mut s = serde_json::to_string_pretty(&doc).map_err(|e| CommandError::Io(e.to_string()))?;
            s.push('\n');
            s
        }
    };
    print!("{rendered}");
    Ok(0)
}

/// One table per workspace: check, kind, schedule, dependencies, what it runs.
fn checks_text(listed: &[(&config::WorkspaceConfig, Vec<crate::checks::ListedCheck>)]) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for (ws, checks) in listed {
        let _ = writeln!(out, "{} ({})", ws.name, config::instance_url::display(&ws.instance_url));
        let rows: Vec<[String; 6]> = checks
            .iter()
            .map(|c| {
                let label = match &c.target {
                    Some(t) => format!("{}[{t}]", c.check),
                    None => c.check.clone(),
                };
                let deps = if c.depends_on.is_empty() {
                    "-".to_owned()
                } else {
                    c.depends_on.join(",")
                };
                let runs = match (&c.runs, c.token && c.kind != crate::checks::CheckKind::BuiltIn) {
                    (Some(r), true) => format!("{r} (token)"),
                    (Some(r), false) => r.clone(),
                    (None, _) => String::new(),
                };
                [
                    label,
                    c.kind.as_str().to_owned(),
                    humantime::format_duration(c.interval).to_string(),
                    humantime::format_duration(c.timeout).to_string(),
                    deps,
                    runs,
                ]
            })
            .collect();
        let header = ["CHECK", "KIND", "INTERVAL", "TIMEOUT", "DEPENDS ON", "RUNS"].map(str::to_owned);
        let mut widths = [0usize; 6];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate() {
                let _ = write!(line, "  {cell:<width$}", width = if i == 5 { 0 } else { widths[i] });
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    out
}
