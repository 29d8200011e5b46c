//! The DNS phase: resolve the instance host with hickory-resolver, asking the
//! workspace's `nameservers` or the system's, and turn NXDOMAIN, timeouts and
//! server errors into outcomes that name the host and the servers asked.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::config::{LookupIpStrategy, NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::{Resolver, TokioResolver};

use crate::engine::{Outcome, Reason, Status};

/// The addresses of `host`, in the order they should be tried.
pub(super) async fn resolve(host: &str, nameservers: &[SocketAddr], budget: Duration) -> Result<Vec<IpAddr>, Outcome> {
    let (resolver, asked) = build(nameservers, budget).map_err(|e| {
        Outcome::new(
            Status::Critical,
            Reason::DnsFailure,
            format!("Cannot resolve {host}: the DNS resolver could not be set up ({e})."),
        )
        .with_first_step("Check /etc/resolv.conf, or set `nameservers` for workspace `{workspace}`.")
    })?;
    let query = Query {
        host,
        asked: &asked,
        budget,
    };
    // The resolver has its own timeout; this one also bounds whatever it does
    // around the request (connection setup, retries over TCP).
    match tokio::time::timeout(budget, resolver.lookup_ip(host)).await {
        Err(_elapsed) => Err(query.timed_out()),
        Ok(Err(error)) => Err(query.failed(&error)),
        Ok(Ok(lookup)) => {
            let addrs: Vec<IpAddr> = lookup.iter().collect();
            if addrs.is_empty() {
                Err(query.no_address())
            } else {
                Ok(addrs)
            }
        }
    }
}

/// A fresh resolver for one run, without a cache, so every run really asks
/// DNS (a cached answer would hide a DNS outage for a whole TTL). Returns it
/// with a description of the servers asked, for summaries.
fn build(nameservers: &[SocketAddr], budget: Duration) -> Result<(TokioResolver, String), NetError> {
    let (config, mut options, asked) = if nameservers.is_empty() {
        let (config, options) = hickory_resolver::system_conf::read_system_conf()?;
        let asked = describe_system(config.name_servers());
        (config, options, asked)
    } else {
        let servers = nameservers.iter().map(|addr| name_server(*addr)).collect();
        let config = ResolverConfig::from_parts(None, vec![], servers);
        (config, ResolverOpts::default(), describe_addrs(nameservers))
    };
    // One attempt within the budget: a retry would only push the answer past
    // the point where the engine gives up on the whole check. Within that
    // attempt hickory still re-sends an unanswered UDP question (up to three
    // packets per server, as stub resolvers do against packet loss), so a
    // dead server sees a few small questions per run, not one.
    options.timeout = budget;
    options.attempts = 1;
    options.cache_size = 0;
    // A and AAAA asked at once, IPv4 addresses listed first: IPv4 is the
    // path that works almost everywhere, and the connect phase still falls
    // back to the IPv6 addresses.
    options.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    let mut builder = Resolver::builder_with_config(config, TokioRuntimeProvider::default());
    *builder.options_mut() = options;
    Ok((builder.build()?, asked))
}

/// UDP with TCP fallback (for truncated answers), on the configured port.
fn name_server(addr: SocketAddr) -> NameServerConfig {
    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
    for connection in &mut server.connections {
        connection.port = addr.port();
    }
    server
}

fn describe_system(servers: &[NameServerConfig]) -> String {
    let addrs: Vec<SocketAddr> = servers
        .iter()
        .map(|s| SocketAddr::new(s.ip, s.connections.first().map_or(53, |c| c.port)))
        .collect();
    match addrs.len() {
        0 => "the system's DNS servers (none configured)".to_owned(),
        1 => format!("the system's DNS server {}", describe_addrs(&addrs)),
        _ => format!("the system's DNS servers {}", describe_addrs(&addrs)),
    }
}

fn describe_addrs(addrs: &[SocketAddr]) -> String {
    addrs.iter().map(SocketAddr::to_string).collect::<Vec<_>>().join(", ")
}

/// One lookup, for the sentences that describe its failure.
struct Query<'a> {
    host: &'a str,
    asked: &'a str,
    budget: Duration,
}

impl Query<'_> {
    fn timed_out(&self) -> Outcome {
        Outcome::new(
            Status::Critical,
            Reason::DnsTimeout,
            format!(
                "No DNS answer for {} within {:.1}s (asked {}).",
                self.host,
                self.budget.as_secs_f64(),
                self.asked
            ),
        )
    }

    fn no_address(&self) -> Outcome {
        Outcome::new(
            Status::Critical,
            Reason::DnsFailure,
            format!(
                "{} exists in DNS but has no A or AAAA record (asked {}).",
                self.host, self.asked
            ),
        )
    }

    fn failed(&self, error: &NetError) -> Outcome {
        match error {
            NetError::Timeout => self.timed_out(),
            NetError::Dns(DnsError::NoRecordsFound(none)) if none.response_code == ResponseCode::NXDomain => {
                self.nxdomain()
            }
            NetError::Dns(DnsError::NoRecordsFound(_)) => self.no_address(),
            NetError::Dns(DnsError::ResponseCode(code)) => self.server_error(*code),
            NetError::Io(io) => self.unreachable(&io.to_string()),
            NetError::NoConnections => self.unreachable("no connection could be opened"),
            other => self.other(&other.to_string()),
        }
    }

    fn nxdomain(&self) -> Outcome {
        Outcome::new(
            Status::Critical,
            Reason::DnsNxdomain,
            format!("{} does not exist in DNS (NXDOMAIN from {}).", self.host, self.asked),
        )
    }

    fn server_error(&self, code: ResponseCode) -> Outcome {
        Outcome::new(
            Status::Critical,
            Reason::DnsFailure,
            format!(
                "DNS answered {} for {} (asked {}).",
                rcode_name(code),
                self.host,
                self.asked
            ),
        )
    }

    /// The DNS server itself could not be reached (say, ICMP port
    /// unreachable): the same fix as a DNS server that is failing.
    fn unreachable(&self, detail: &str) -> Outcome {
        Outcome::new(
            Status::Critical,
            Reason::DnsFailure,
            format!(
                "Could not ask DNS about {}: {} unreachable ({detail}).",
                self.host, self.asked
            ),
        )
        .with_first_step(format!(
            "Check that the DNS server(s) {} are running and reachable from this machine.",
            self.asked
        ))
    }

    fn other(&self, detail: &str) -> Outcome {
        Outcome::new(
            Status::Critical,
            Reason::DnsFailure,
            format!("DNS lookup of {} failed: {detail} (asked {}).", self.host, self.asked),
        )
    }
}

/// The names `dig` prints, which people search for.
fn rcode_name(code: ResponseCode) -> String {
    match code {
        ResponseCode::ServFail => "SERVFAIL".to_owned(),
        ResponseCode::Refused => "REFUSED".to_owned(),
        ResponseCode::FormErr => "FORMERR".to_owned(),
        ResponseCode::NotImp => "NOTIMP".to_owned(),
        ResponseCode::NXDomain => "NXDOMAIN".to_owned(),
        other => other.to_string(),
    }
}
