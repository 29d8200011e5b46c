//! The GitLab client's families (requests, `RateLimit-Remaining`, token
//! rotations), written from its counters ([`GitlabMetrics`]).

use super::text::{Family, Text};
use crate::gitlab::{TRIGGERS, WorkspaceCounters};

/// Writes the families of `counters` (see [`crate::gitlab::GitlabMetrics::snapshot`]).
pub fn write(counters: &[(String, WorkspaceCounters)], out: &mut Text) {
    let mut requests = Family::counter(
        "labwatch_gitlab_requests_total",
        "Requests labwatch made to GitLab, by answer status code.".into(),
    );
    let mut remaining = Family::gauge(
        "labwatch_gitlab_ratelimit_remaining",
        "GitLab's RateLimit-Remaining from its last answer.".into(),
        0,
    );
    let mut renewals = Family::counter(
        "labwatch_token_renewals_total",
        "Token rotations that succeeded, by trigger (schedule, alert, manual).".into(),
    );
    let mut failures = Family::counter(
        "labwatch_token_renewal_failures_total",
        "Token rotations that failed, by trigger (schedule, alert, manual).".into(),
    );
    for (workspace, c) in counters {
        let workspace = workspace.as_str();
        for (code, n) in &c.requests {
            requests.sample(&[("code", code), ("workspace", workspace)], *n as f64);
        }
        if let Some(r) = c.ratelimit_remaining {
            remaining.sample(&[("workspace", workspace)], r as f64);
        }
        for (i, trigger) in TRIGGERS.iter().enumerate() {
            let labels = [("trigger", *trigger), ("workspace", workspace)];
            renewals.sample(&labels, c.renewals[i] as f64);
            failures.sample(&labels, c.renewal_failures[i] as f64);
        }
    }
    for family in [requests, remaining, failures, renewals] {
        family.finish(out);
    }
}
