//! Human-readable report for `labwatch check`: every check with its status,
//! and the numbered steps that fix whatever is not ok.

use std::fmt::Write;

use crate::engine::{Status, WorkspaceView};

pub fn text(views: &[WorkspaceView]) -> String {
    let mut out = String::new();
    for ws in views {
        let _ = writeln!(
            out,
            "{} ({}): {}",
            ws.name,
            ws.instance_url,
            ws.status().as_str().to_uppercase()
        );
        for c in &ws.checks {
            let o = super::shown_outcome(c);
            let _ = writeln!(
                out,
                "  [{}] {} {} - {}",
                o.status.as_str().to_uppercase(),
                super::check_label(c),
                o.reason,
                o.summary
            );
            if !o.capabilities.is_empty() {
                let _ = writeln!(out, "      can: {} (* needed)", super::capability_row(&o.capabilities));
            }
            for d in &o.details {
                let _ = writeln!(out, "      {d}");
            }
            if o.status != Status::Ok {
                for (i, step) in o.remediation.iter().enumerate() {
                    let _ = writeln!(out, "      {}. {step}", i + 1);
                }
            }
        }
    }
    out
}
