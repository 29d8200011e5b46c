//! [`InstanceView`]: what `/status` and `/metrics` show of each GitLab
//! instance the fleet uses — how many workspaces share it, its request
//! budget, the requests a round of the fleet needs, and whether the budget
//! fits them into the interval (`docs/http.md`, `docs/metrics-and-alerting.md`).

use serde::Serialize;

use crate::engine::Status;

#[derive(Debug, Clone, Serialize)]
pub struct InstanceView {
    /// The instance URL as shown everywhere else.
    pub url: String,
    pub workspaces: usize,
    /// The instance budget: requests a minute for all its workspaces
    /// together, and of those without a token; `None` is no limit.
    pub requests_per_minute: Option<u32>,
    pub unauthenticated_per_minute: Option<u32>,
    /// GitLab requests one round of every workspace on the instance needs
    /// (each workspace's average over its rounds, plus the instance probe).
    pub requests_per_round: f64,
    /// The shortest interval of its workspaces.
    pub interval_seconds: f64,
    /// How long the budget takes to let a whole round through; `None`
    /// without a budget.
    pub full_round_seconds: Option<f64>,
    /// How much longer than the interval that is: rounds fall behind by
    /// this much each (0 when the budget fits the fleet).
    pub behind_seconds: f64,
    /// The latest shared instance probe, if one ran.
    pub probe: Option<ProbeView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeView {
    pub status: Status,
    pub reason: String,
    pub summary: String,
    /// Seconds since the probe began.
    pub age_seconds: f64,
}

impl InstanceView {
    /// Fills in the round time and lag from the requests a round needs.
    pub fn with_round_estimate(mut self) -> InstanceView {
        self.full_round_seconds = self
            .requests_per_minute
            .map(|per_minute| self.requests_per_round * 60.0 / f64::from(per_minute.max(1)));
        self.behind_seconds = self
            .full_round_seconds
            .map_or(0.0, |full| (full - self.interval_seconds).max(0.0));
        self
    }
}

/// Where the status document and `/metrics` find the instances: the
/// running workspaces in the daemon; none in `labwatch check`.
pub trait Fleet: Send + Sync {
    fn instances(&self) -> Vec<InstanceView>;
}

/// No instances: for `/status` over a fixed set of results (tests,
/// benchmarks) where no workspace runs.
pub struct NoInstances;

impl Fleet for NoInstances {
    fn instances(&self) -> Vec<InstanceView> {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn view(requests_per_minute: Option<u32>, requests_per_round: f64) -> InstanceView {
        InstanceView {
            url: "https://gitlab.com".into(),
            workspaces: 10_000,
            requests_per_minute,
            unauthenticated_per_minute: None,
            requests_per_round,
            interval_seconds: 300.0,
            full_round_seconds: None,
            behind_seconds: 0.0,
            probe: None,
        }
        .with_round_estimate()
    }

    #[test]
    fn a_fleet_larger_than_the_budget_is_behind_by_the_difference() {
        // 20,001 requests at 2,000 a minute: ten minutes and change, five
        // minutes more than the interval.
        let v = view(Some(2_000), 20_001.0);
        assert_eq!(v.full_round_seconds, Some(600.03));
        assert!((v.behind_seconds - 300.03).abs() < 1e-9, "{}", v.behind_seconds);
        let fits = view(Some(2_000), 5_000.0);
        assert_eq!(fits.full_round_seconds, Some(150.0));
        assert_eq!(fits.behind_seconds, 0.0);
        let unlimited = view(None, 20_001.0);
        assert_eq!(unlimited.full_round_seconds, None);
        assert_eq!(unlimited.behind_seconds, 0.0);
    }
}
