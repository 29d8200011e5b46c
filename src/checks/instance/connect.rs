//! The TCP phase: connect to the resolved addresses in order, falling back to
//! the next on failure, and say whether the instance refused (`tcp-refused`)
//! or packets vanished (`tcp-timeout`).
//!
//! Code choice for other errors (no route to host, network unreachable, …):
//! they are reported as `tcp-refused`, with a sentence naming the real error.
//! Like a refusal, they are an *active* answer from the network (an ICMP
//! reject, often from a firewall or a disconnected VPN), unlike a timeout
//! where packets are silently dropped; and `tcp-refused`'s remediation
//! already ends with "check that your network allows connections to GitLab".
//!
//! An error of labwatch's own (out of file descriptors, memory or local
//! ports) says nothing about GitLab: it is `local-resource-exhausted`,
//! status unknown, never a GitLab outage. Under a descriptor shortage the
//! daemon used to report `tcp-refused … Too many open files`.

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::Instant;

use super::target::{Host, Target};
use crate::engine::{Outcome, Reason, Status};

/// A connected stream to the first address that accepts.
pub(super) async fn connect(addrs: &[IpAddr], target: &Target, budget: Duration) -> Result<TcpStream, Outcome> {
    let deadline = Instant::now() + budget;
    let mut failures = Vec::with_capacity(addrs.len());
    for (tried, ip) in addrs.iter().enumerate() {
        let addr = SocketAddr::new(*ip, target.port);
        let share = attempt_budget(deadline, addrs.len() - tried);
        match tokio::time::timeout(share, TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => failures.push((addr, Failure::from_io(&error))),
            Err(_elapsed) => failures.push((addr, Failure::TimedOut(share))),
        }
    }
    Err(outcome(target, &failures))
}

/// How long one address may take: the time left shared among the addresses
/// left (as Go's dialer does), so a black-holed first address cannot eat
/// the whole budget, but at least 2 s each when the budget allows, because
/// a handshake over a slow link needs that much.
fn attempt_budget(deadline: Instant, left: usize) -> Duration {
    let remaining = deadline.saturating_duration_since(Instant::now());
    let share = remaining / u32::try_from(left.max(1)).unwrap_or(u32::MAX);
    share.max(Duration::from_secs(2)).min(remaining)
}

#[derive(Debug, Clone, PartialEq)]
enum Failure {
    Refused,
    /// How long the attempt waited.
    TimedOut(Duration),
    Unreachable(String),
    /// labwatch's own shortage (EMFILE, ENFILE, ENOBUFS, ENOMEM,
    /// EADDRNOTAVAIL: no free local port): GitLab was never asked.
    Local(String),
    Other(String),
}

impl Failure {
    fn from_io(error: &io::Error) -> Failure {
        if crate::gitlab::is_local_shortage(error) {
            return Failure::Local(error.to_string());
        }
        match error.kind() {
            io::ErrorKind::ConnectionRefused => Failure::Refused,
            // The kernel gave up before our own timeout did; how long it
            // waited is not known here.
            io::ErrorKind::TimedOut => Failure::TimedOut(Duration::ZERO),
            io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => {
                Failure::Unreachable(error.to_string())
            }
            _ => Failure::Other(error.to_string()),
        }
    }

    fn sentence(&self) -> String {
        match self {
            Failure::Refused => "connection refused".to_owned(),
            Failure::TimedOut(waited) if waited.is_zero() => "timed out".to_owned(),
            Failure::TimedOut(waited) => format!("no answer within {:.1}s", waited.as_secs_f64()),
            Failure::Unreachable(detail) | Failure::Local(detail) | Failure::Other(detail) => detail.clone(),
        }
    }
}

/// One outcome for all attempts. A shortage of labwatch's own comes first:
/// it is what to fix, and the addresses it hit were never tried. Then a
/// refusal is the most telling answer (the host is there, nothing
/// listens), then a timeout; see the module docs for the rest.
fn outcome(target: &Target, failures: &[(SocketAddr, Failure)]) -> Outcome {
    if failures.iter().any(|(_, f)| matches!(f, Failure::Local(_))) {
        let summary = format!(
            "labwatch could not try {} port {}: {}. This is labwatch's own shortage, not GitLab's.",
            target.host_text,
            target.port,
            describe(target, failures)
        );
        return Outcome::new(Status::Unknown, Reason::LocalResourceExhausted, summary);
    }
    let reason = if failures.iter().any(|(_, f)| *f == Failure::Refused) {
        Reason::TcpRefused
    } else if failures.iter().any(|(_, f)| matches!(f, Failure::TimedOut(_))) {
        Reason::TcpTimeout
    } else {
        Reason::TcpRefused
    };
    let summary = format!(
        "Could not connect to {} port {}: {}.",
        target.host_text,
        target.port,
        describe(target, failures)
    );
    let outcome = Outcome::new(Status::Critical, reason, summary);
    if failures.iter().all(|(_, f)| matches!(f, Failure::Unreachable(_))) {
        outcome.with_first_step(
            "There is no route to `{host}`: check that your network allows connections to GitLab (VPN connected? firewall?).",
        )
    } else {
        outcome
    }
}

fn describe(target: &Target, failures: &[(SocketAddr, Failure)]) -> String {
    match (failures, &target.host) {
        ([], _) => return "no address to try".to_owned(),
        // The URL already names the one address.
        ([(_, failure)], Host::Ip(_)) => return failure.sentence(),
        _ => {}
    }
    failures
        .iter()
        .map(|(addr, failure)| format!("{}: {}", addr.ip(), failure.sentence()))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target() -> Target {
        Target::parse(&url::Url::parse("https://gitlab.test").unwrap()).unwrap()
    }

    fn addr(ip: &str) -> SocketAddr {
        SocketAddr::new(ip.parse().unwrap(), 443)
    }

    #[test]
    fn no_route_is_reported_as_refused_with_a_network_step() {
        let failures = [(
            addr("2001:db8::1"),
            Failure::Unreachable("No route to host (os error 113)".into()),
        )];
        let outcome = outcome(&target(), &failures);
        assert_eq!(outcome.reason, "tcp-refused");
        assert_eq!(
            outcome.summary,
            "Could not connect to gitlab.test port 443: 2001:db8::1: No route to host (os error 113)."
        );
        assert!(outcome.remediation[0].starts_with("There is no route to `{host}`"));
    }

    #[test]
    fn running_out_of_descriptors_is_labwatchs_problem_not_gitlabs() {
        for errno in [libc::EMFILE, libc::ENFILE] {
            let error = io::Error::from_raw_os_error(errno);
            let failures = [
                (addr("192.0.2.1"), Failure::from_io(&error)),
                (addr("192.0.2.2"), Failure::Refused),
            ];
            let outcome = outcome(&target(), &failures);
            assert_eq!(outcome.reason, "local-resource-exhausted");
            assert_eq!(outcome.status, Status::Unknown);
            assert!(outcome.summary.contains(&error.to_string()), "{}", outcome.summary);
            assert!(outcome.summary.contains("not GitLab's"), "{}", outcome.summary);
            assert!(
                outcome.remediation[0].contains("open-files limit"),
                "{:?}",
                outcome.remediation
            );
        }
    }

    #[test]
    fn the_most_telling_failure_picks_the_code() {
        let unreachable = (
            addr("2001:db8::1"),
            Failure::Unreachable("Network is unreachable".into()),
        );
        let timed_out = (addr("192.0.2.1"), Failure::TimedOut(Duration::from_secs(2)));
        let refused = (addr("192.0.2.2"), Failure::Refused);

        let outcome = outcome(&target(), &[unreachable.clone(), timed_out.clone()]);
        assert_eq!(outcome.reason, "tcp-timeout");
        assert!(
            outcome.summary.ends_with("192.0.2.1: no answer within 2.0s."),
            "{}",
            outcome.summary
        );

        let outcome = super::outcome(&target(), &[timed_out, refused, unreachable]);
        assert_eq!(outcome.reason, "tcp-refused");
    }
}
