//! Repeated faults leave the daemon's state at its bounds: fifty rounds of
//! a flapping 5xx storm, and fifty answers reset mid-body, against one
//! status store under the real scheduler, through the proxy of
//! `support::proxy`. What is asserted are the things
//! that would grow if something leaked per round: the transition history
//! (a ring buffer with a fixed capacity), the checks in the store, the
//! series in `/metrics`, and the connections labwatch opens. Bytes of
//! memory are measured in benchmarks, never asserted here.

use std::collections::BTreeSet;

use labwatch::engine::{HISTORY_CAPACITY, Status};

use super::{Daemon, fail, lab, lab_with, repo_names, state};
use crate::support::proxy::Proxy;

const ROUNDS: usize = 50;

/// The series `/metrics` shows: names with labels, without values.
fn series(metrics: &str) -> BTreeSet<String> {
    metrics
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| line.rsplit_once(' '))
        .map(|(series, _value)| series.to_owned())
        .collect()
}

fn checks_in_store(daemon: &Daemon) -> usize {
    daemon.store().workspace("acme").map_or(0, |w| w.checks.len())
}

#[tokio::test]
async fn fifty_flapping_rounds_keep_the_history_at_its_cap_and_the_metric_series_fixed() {
    let repos = repo_names(10);
    let lab = lab_with(&repos, "10s").await;
    let proxy = Proxy::start(lab.sim.addr()).await;
    let storm = || fail(1000, 503, "/api/v4/", None);
    lab.sim.sim().fail_next(storm());
    let mut daemon = Daemon::start(lab.config_for(&proxy.url(), "")).await;
    let store = daemon.store();
    let mut requests = lab.sim.sim().counters().total;
    let checks = 3 + repos.len();
    let mut seen = series(&daemon.metrics());

    for round in 1..ROUNDS {
        // Odd rounds recover, even rounds storm: every check changes status
        // every round, so each round adds a transition per check.
        let storming = round % 2 == 0;
        lab.sim.sim().clear_faults();
        if storming {
            lab.sim.sim().fail_next(storm());
        }
        lab.sim.sim().reset_counters();
        daemon.round().await;

        let expected = if storming { "http-server-error" } else { "ok" };
        assert_eq!(
            state(&store, "instance", None).outcome.reason,
            expected,
            "round {round}"
        );
        let c = lab.sim.sim().counters();
        let bound = if storming { 1 } else { 4 };
        assert!(c.total <= bound, "round {round} made {} requests: {c:#?}", c.total);
        requests += c.total;
        assert!(
            store.history().newest_first().len() <= HISTORY_CAPACITY,
            "round {round}"
        );
        assert_eq!(checks_in_store(&daemon), checks, "round {round}");
        let now = series(&daemon.metrics());
        if round == 1 {
            // The first storm and the first recovery show every series there is.
            seen.extend(now);
        } else {
            let new: Vec<_> = now.difference(&seen).collect();
            assert!(new.is_empty(), "round {round} added series: {new:#?}");
        }
    }

    assert!(
        proxy.connections() <= requests,
        "{} connections for {requests} requests",
        proxy.connections()
    );
    let history = store.history().newest_first();
    assert_eq!(
        history.len(),
        HISTORY_CAPACITY,
        "{ROUNDS} rounds of {checks} transitions fill the ring, and no more"
    );
    // The newest round is kept, the oldest dropped: the last round recovered.
    assert!(
        history[..checks].iter().all(|t| t.to == Status::Ok),
        "{:#?}",
        &history[..checks]
    );
    assert!(
        history[checks..2 * checks]
            .iter()
            .all(|t| t.reason == "http-server-error" || t.reason == "blocked"),
        "{:#?}",
        &history[checks..2 * checks]
    );
}

#[tokio::test]
async fn fifty_resets_mid_body_change_nothing_and_cost_at_most_a_connection_per_request() {
    let lab = lab("10s").await;
    let proxy = Proxy::start(lab.sim.addr()).await;
    let token_self = "/api/v4/personal_access_tokens/self";
    proxy.reset_mid_body(1, token_self, 20);
    let mut daemon = Daemon::start(lab.config_for(&proxy.url(), "")).await;
    let store = daemon.store();
    let history = store.history().newest_first().len();
    let checks = checks_in_store(&daemon);
    let first = series(&daemon.metrics());

    for round in 1..ROUNDS {
        proxy.reset_mid_body(1, token_self, 20);
        daemon.round().await;
        assert_eq!(
            state(&store, "token", None).outcome.reason,
            "request-failed",
            "round {round}"
        );
        assert_eq!(
            store.history().newest_first().len(),
            history,
            "round {round}: the same fault again is no transition"
        );
        assert_eq!(checks_in_store(&daemon), checks, "round {round}");
        assert_eq!(series(&daemon.metrics()), first, "round {round}");
    }

    let rounds = ROUNDS as u64;
    assert_eq!(proxy.resets(), rounds, "every round's token answer was cut");
    let c = lab.sim.sim().counters();
    assert_eq!(
        (
            c.route("GET /api/v4/version"),
            c.route("GET /api/v4/personal_access_tokens/self")
        ),
        (rounds, rounds),
        "the instance probe and one token call per round, never retried: {:#?}",
        c.by_route
    );
    assert_eq!(c.total, 2 * rounds, "{:#?}", c.by_route);
    assert!(
        proxy.connections() <= c.total,
        "{} connections for {} requests",
        proxy.connections(),
        c.total
    );
}
