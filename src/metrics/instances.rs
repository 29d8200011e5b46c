//! The per-instance families: how many workspaces share each GitLab
//! instance, its request budget, and whether a round of them fits it
//! (`docs/metrics-and-alerting.md`).

use super::text::{Family, Text};
use crate::report::InstanceView;

pub fn write(instances: &[InstanceView], out: &mut Text) {
    let g = |name, help: &str| Family::gauge(name, help.to_owned(), 0);
    let mut workspaces = g("labwatch_instance_workspaces", "Workspaces on the GitLab instance.");
    let mut per_round = g(
        "labwatch_instance_requests_per_round",
        "GitLab requests one round of every workspace on the instance needs.",
    );
    let mut budget = g(
        "labwatch_instance_budget_requests_per_minute",
        "The instance's request budget for all its workspaces together, by kind (all, unauthenticated); absent without a limit.",
    );
    let mut full_round = g(
        "labwatch_instance_full_round_seconds",
        "How long the instance budget takes to let one round of every workspace through; absent without a limit.",
    );
    let mut behind = g(
        "labwatch_instance_behind_seconds",
        "How much longer than the interval a full round takes under the budget (0: the budget fits).",
    );
    for i in instances {
        let instance = [("instance", i.url.as_str())];
        workspaces.sample(&instance, i.workspaces as f64);
        per_round.sample(&instance, i.requests_per_round);
        for (kind, limit) in [
            ("all", i.requests_per_minute),
            ("unauthenticated", i.unauthenticated_per_minute),
        ] {
            if let Some(limit) = limit {
                budget.sample(&[("instance", i.url.as_str()), ("kind", kind)], f64::from(limit));
            }
        }
        if let Some(full) = i.full_round_seconds {
            full_round.sample(&instance, full);
        }
        behind.sample(&instance, i.behind_seconds);
    }
    for family in [workspaces, per_round, budget, full_round, behind] {
        family.finish(out);
    }
}
