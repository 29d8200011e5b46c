//! A DNS server that never answers, under the daemon's scheduler: the
//! instance check reports `dns-timeout` before the engine gives up on it,
//! everything behind it is blocked, and each round asks a bounded number of
//! questions (one attempt per record type, with UDP resends capped) — a dead
//! DNS server gets no more questions from round to round.

use labwatch::engine::Status;

use super::{Daemon, lab, state};
use crate::support::net::SilentDns;

/// The questions a lookup of gitlab.test asks.
const RECORDS: [&str; 2] = ["gitlab.test A", "gitlab.test AAAA"];

#[tokio::test]
async fn a_silent_dns_server_is_dns_timeout_with_a_bounded_number_of_questions_per_round() {
    let dns = SilentDns::start().await;
    let lab = lab("1s").await;
    let config = lab.config_for("http://gitlab.test", &format!("nameservers = [\"{}\"]", dns.addr));

    let mut daemon = Daemon::start(config).await;
    let store = daemon.store();
    let mut asked = 0;
    for round in 1..=3 {
        if round > 1 {
            daemon.round().await;
        }
        let instance = state(&store, "instance", None).outcome;
        assert_eq!(
            (instance.status, instance.reason.as_str()),
            (Status::Critical, "dns-timeout"),
            "round {round}: {instance:#?}"
        );
        assert!(
            instance.summary.contains("No DNS answer for gitlab.test")
                && instance.summary.contains(&dns.addr.to_string()),
            "round {round}: {}",
            instance.summary
        );
        for (check, target) in [("token", None), ("scopes", None), ("repository", Some("acme/a"))] {
            assert_eq!(
                state(&store, check, target).blocked_by.as_deref(),
                Some("instance"),
                "round {round}: {check}"
            );
        }
        let queries = dns.queries();
        let this_round = &queries[asked..];
        for record in RECORDS {
            let sent = this_round.iter().filter(|q| *q == record).count();
            // labwatch makes one attempt; within it hickory resends an
            // unanswered UDP question at most twice (every 333 ms or more).
            assert!(
                (1..=3).contains(&sent),
                "round {round}: `{record}` asked {sent} times: {this_round:?}"
            );
        }
        assert!(
            this_round.iter().all(|q| RECORDS.contains(&q.as_str())),
            "round {round}: no other name, no fallback to TCP: {this_round:?}"
        );
        asked = queries.len();
    }
    assert_eq!(lab.sim.sim().counters().total, 0, "nothing reached GitLab");
}
