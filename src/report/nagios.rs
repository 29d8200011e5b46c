//! The Nagios plugin format (first line: `LABWATCH STATUS - summary | perfdata`,
//! then one line per check), so `labwatch check --output nagios` drops into
//! Nagios, Icinga or Sensu as a plugin.

use std::fmt::Write;

use crate::engine::{Status, WorkspaceView};

pub fn nagios(views: &[WorkspaceView]) -> String {
    let overall = super::overall(views);
    let mut problems = Vec::new();
    let mut details = String::new();
    let mut perf = Vec::new();
    for ws in views {
        for c in &ws.checks {
            let o = super::shown_outcome(c);
            let label = format!("{}/{}", ws.name, super::check_label(c));
            let blocked = c.state.as_ref().is_some_and(|s| s.is_blocked());
            if o.status != Status::Ok && !blocked {
                problems.push(format!("{label}: {}", o.summary));
            }
            let _ = writeln!(
                details,
                "[{}] {label} {} - {}",
                o.status.as_str().to_uppercase(),
                o.reason,
                o.summary
            );
            for (name, value) in &o.measurements {
                let unit = if name.ends_with("_seconds") && !name.contains("timestamp") {
                    "s"
                } else {
                    ""
                };
                perf.push(format!("'{label}/{name}'={value}{unit}"));
            }
        }
    }
    let summary = if problems.is_empty() {
        "all checks pass".to_owned()
    } else {
        problems.join("; ")
    };
    // `|` separates perfdata in the Nagios format; it must not occur in text.
    let summary = summary.replace('|', "/");
    let details = details.replace('|', "/");
    let mut out = format!("LABWATCH {} - {summary}", overall.as_str().to_uppercase());
    if !perf.is_empty() {
        let _ = write!(out, " | {}", perf.join(" "));
    }
    out.push('\n');
    out.push_str(&details);
    out
}
