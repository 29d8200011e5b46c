//! The instance's TLS certificate changes to an expired one while the daemon
//! runs (a reverse proxy reloaded with a forgotten certificate): the next
//! round says `tls-cert-expired`, blocks everything behind the instance, and
//! sends GitLab nothing beyond the instance probe's handshake, which the
//! probe itself breaks off.

use labwatch::engine::Status;
use time::OffsetDateTime;

use super::{Daemon, lab, state};
use crate::support::net::{TestCa, TlsFront, days};

#[tokio::test]
async fn a_certificate_that_changes_to_expired_is_noticed_by_the_next_round() {
    let lab = lab("10s").await;
    let ca = TestCa::new("labwatch test CA");
    let now = OffsetDateTime::now_utc();
    // The GitLab client resolves names with the system's DNS, so the
    // certificate is for the address.
    let front = TlsFront::start(&ca.valid_leaf("127.0.0.1"), lab.sim.addr()).await;
    let url = format!("https://127.0.0.1:{}", front.port());
    let config = lab.config_for(&url, &format!("ca_file = \"{}\"", ca.pem_path.display()));

    let mut daemon = Daemon::start(config).await;
    let store = daemon.store();
    for (check, target) in [
        ("instance", None),
        ("token", None),
        ("scopes", None),
        ("repository", Some("acme/a")),
    ] {
        let s = state(&store, check, target).outcome;
        assert_eq!(s.status, Status::Ok, "before the change, {check}: {s:#?}");
    }

    let expired_on = now - days(2);
    front.serve(&ca.leaf(&["127.0.0.1"], now - days(90), expired_on));
    lab.sim.sim().reset_counters();
    let connections = front.connections();
    daemon.round().await;

    let instance = state(&store, "instance", None).outcome;
    assert_eq!(
        (instance.status, instance.reason.as_str()),
        (Status::Critical, "tls-cert-expired"),
        "{instance:#?}"
    );
    assert!(
        instance.summary.contains(&format!(
            "The TLS certificate of 127.0.0.1 expired on {}",
            expired_on.date()
        )),
        "{}",
        instance.summary
    );
    assert!(
        instance
            .remediation
            .iter()
            .any(|s| s.contains("the certificate of `127.0.0.1` must be renewed")),
        "{:?}",
        instance.remediation
    );
    for (check, target) in [("token", None), ("scopes", None), ("repository", Some("acme/a"))] {
        assert_eq!(
            state(&store, check, target).blocked_by.as_deref(),
            Some("instance"),
            "{check}"
        );
    }
    assert_eq!(
        front.connections() - connections,
        1,
        "only the instance probe connected"
    );
    let c = lab.sim.sim().counters();
    assert_eq!(c.total, 0, "no request got through to GitLab: {c:#?}");
}
