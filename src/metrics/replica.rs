//! The replica's own families, when replicas share a fleet on PostgreSQL:
//! how many workspaces it owns, how many leases it took over from replicas
//! that died, and what its calls to the store cost. The workspaces' series
//! are the owned ones only, so Prometheus scraping every replica sees each
//! once; these say which replica is which.

use super::text::{Family, Text};
use crate::runtime::Ownership;
use crate::store::StoreStats;

pub fn write(ownership: &Ownership, stats: Option<StoreStats>, out: &mut Text) {
    let replica = [("replica", ownership.replica())];
    let mut owned = Family::gauge(
        "labwatch_replica_owned_workspaces",
        "Workspaces whose lease this replica holds: the ones it checks and reports in /metrics.".to_owned(),
        0,
    );
    owned.sample(&replica, ownership.owned() as f64);
    owned.finish(out);
    let mut taken = Family::counter(
        "labwatch_replica_leases_taken_over_total",
        "Leases this replica took over from replicas that stopped renewing them.".to_owned(),
    );
    taken.sample(&replica, ownership.taken_over() as f64);
    taken.finish(out);
    let Some(stats) = stats else {
        return;
    };
    let mut calls = Family::counter(
        "labwatch_store_calls_total",
        "Calls to the PostgreSQL store, by result.".to_owned(),
    );
    calls.sample(&[("result", "ok")], stats.calls.saturating_sub(stats.failures) as f64);
    calls.sample(&[("result", "failed")], stats.failures as f64);
    calls.finish(out);
    let mut seconds = Family::counter(
        "labwatch_store_call_seconds_total",
        "Time spent in calls to the PostgreSQL store, waiting for a connection included; divide by labwatch_store_calls_total for the mean latency.".to_owned(),
    );
    seconds.sample(&[], stats.seconds);
    seconds.finish(out);
}
