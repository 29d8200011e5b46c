//! The `instance` check: does GitLab answer at the workspace's instance URL?
//!
//! It probes in phases, the way blackbox_exporter does — URL, DNS, TCP
//! connect, TLS (https only), HTTP — and the first phase that fails becomes
//! the outcome, with a reason code and the steps users know from GitLab's
//! troubleshooting guides. Each phase that ran reports its duration
//! (`dns_seconds`, `connect_seconds`, `tls_seconds`, `http_seconds`), so a
//! slow instance shows *where* it is slow.
//!
//! The probe asks `GET /api/v4/version` without a token: a 401 from it still
//! proves the Rails app answers (docs/gitlab.md §5), and sending no token means this
//! check can never contribute to an authentication ban.

mod connect;
mod dns;
mod http;
mod shared;
mod target;
mod tls;

pub use shared::SharedProbe;

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncWrite};
use url::Url;

use crate::config::WorkspaceConfig;
use crate::engine::{Check, CheckFuture, Outcome, RunContext};

use target::{Host, Scheme, Target};

/// Probes one workspace's GitLab instance.
#[derive(Debug, Clone)]
pub struct InstanceCheck {
    /// The instance as configured. It is turned into a probe [`Target`] at
    /// run time, so a URL that cannot be probed is reported as an outcome
    /// instead of failing construction.
    url: Url,
    /// Extra CA certificates; loaded on every run so a replaced CA file is
    /// picked up without a reload, and a broken one is reported, not fatal.
    ca_file: Option<PathBuf>,
    /// DNS servers to ask instead of the system's (empty: the system's).
    nameservers: Vec<SocketAddr>,
    /// A certificate expiring sooner than this is a warning.
    tls_expiry_warning: Duration,
    /// The probe every workspace on the instance shares, when scheduled in
    /// a fleet; `None` probes on every run (`connect` checks the instance
    /// it is given right now).
    shared: Option<Arc<SharedProbe>>,
    /// How long a shared verdict serves: the workspace's interval.
    interval: Duration,
}

impl InstanceCheck {
    /// Never fails: every setup problem (unusable URL, unreadable CA file)
    /// surfaces as the outcome of a run.
    pub fn new(ws: &WorkspaceConfig) -> InstanceCheck {
        InstanceCheck {
            url: ws.instance_url.clone(),
            ca_file: ws.ca_file.clone(),
            nameservers: ws.nameservers.clone(),
            tls_expiry_warning: ws.tls_expiry_warning,
            shared: None,
            interval: ws.interval,
        }
    }

    /// The check of a scheduled workspace: one probe per interval for all
    /// the workspaces that share `shared`.
    pub fn shared(ws: &WorkspaceConfig, shared: Arc<SharedProbe>) -> InstanceCheck {
        InstanceCheck {
            shared: Some(shared),
            ..InstanceCheck::new(ws)
        }
    }

    async fn probe(&self, ctx: &RunContext) -> Outcome {
        let target = match Target::parse(&self.url) {
            Ok(target) => target,
            Err(outcome) => return target::fill_unparsed(outcome, &self.url, &ctx.workspace),
        };
        let outcome = match &self.shared {
            Some(shared) if !ctx.requested => shared.run_or_reuse(self.interval, self.probe_now(&target, ctx)).await,
            Some(shared) => shared.run_now(self.probe_now(&target, ctx)).await,
            None => self.probe_now(&target, ctx).await,
        };
        target.fill(outcome, &ctx.workspace)
    }

    /// The phases, with their timings; before the workspace's placeholders
    /// are filled, so the verdict can serve every workspace.
    async fn probe_now(&self, target: &Target, ctx: &RunContext) -> Outcome {
        let mut timings = Timings::default();
        let outcome = match self.phases(target, ctx, &mut timings).await {
            Ok(outcome) | Err(outcome) => outcome,
        };
        timings.apply(outcome)
    }

    /// The phases in order; `Err` is the outcome of the phase that failed.
    async fn phases(&self, target: &Target, ctx: &RunContext, timings: &mut Timings) -> Result<Outcome, Outcome> {
        // Loaded first: a broken `ca_file` is a local, certain problem,
        // worth reporting even while the network is down.
        let tls_config = match target.scheme {
            Scheme::Https => Some(tls::client_config(self.ca_file.clone(), target).await?),
            Scheme::Http => None,
        };
        let addrs = self.resolve(target, ctx, timings).await?;
        let budget = ctx.budget();
        let stream = timings
            .time("connect_seconds", connect::connect(&addrs, target, budget))
            .await?;
        match tls_config {
            None => exchange(stream, target, ctx, timings).await,
            Some(config) => self.over_tls(stream, config, target, ctx, timings).await,
        }
    }

    /// DNS, unless the URL names an IP address (then there is nothing to
    /// resolve and no `dns_seconds`).
    async fn resolve(&self, target: &Target, ctx: &RunContext, timings: &mut Timings) -> Result<Vec<IpAddr>, Outcome> {
        match &target.host {
            Host::Ip(ip) => Ok(vec![*ip]),
            Host::Name(name) => {
                let budget = ctx.budget();
                let lookup = dns::resolve(name, &self.nameservers, budget);
                timings.time("dns_seconds", lookup).await
            }
        }
    }

    async fn over_tls(
        &self,
        stream: tokio::net::TcpStream,
        config: Arc<rustls::ClientConfig>,
        target: &Target,
        ctx: &RunContext,
        timings: &mut Timings,
    ) -> Result<Outcome, Outcome> {
        let budget = ctx.budget();
        let handshake = tls::handshake(stream, config, target, budget);
        let (stream, not_after) = timings.time("tls_seconds", handshake).await?;
        if let Some(ts) = not_after {
            timings.measure("tls_cert_expiry_timestamp_seconds", ts as f64);
        }
        // An HTTP failure is the real problem; the certificate warning only
        // matters once the instance otherwise works.
        let answered = exchange(stream, target, ctx, timings).await?;
        Ok(tls::expiry_verdict(
            answered,
            not_after,
            ctx.now,
            self.tls_expiry_warning,
            target,
        ))
    }
}

impl Check for InstanceCheck {
    fn name(&self) -> &str {
        "instance"
    }

    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(self.probe(ctx))
    }
}

/// The HTTP phase over whatever stream the earlier phases produced.
async fn exchange<S>(stream: S, target: &Target, ctx: &RunContext, timings: &mut Timings) -> Result<Outcome, Outcome>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let budget = ctx.budget();
    timings.time("http_seconds", http::probe(stream, target, budget)).await
}

/// Phase durations and other numbers, attached to whatever outcome the run
/// ends with, so a failure still shows how long the phases before it took.
#[derive(Debug, Default)]
struct Timings {
    values: BTreeMap<&'static str, f64>,
}

impl Timings {
    /// Runs one phase and records its duration, whether it succeeded or not.
    async fn time<T>(&mut self, name: &'static str, phase: impl Future<Output = T>) -> T {
        let started = Instant::now();
        let result = phase.await;
        self.measure(name, started.elapsed().as_secs_f64());
        result
    }

    fn measure(&mut self, name: &'static str, value: f64) {
        self.values.insert(name, value);
    }

    fn apply(self, outcome: Outcome) -> Outcome {
        self.values
            .into_iter()
            .fold(outcome, |outcome, (name, value)| outcome.with_measurement(name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Status;

    fn context() -> RunContext {
        RunContext {
            workspace: "acme".into(),
            deadline: tokio::time::Instant::now() + Duration::from_secs(5),
            now: time::OffsetDateTime::now_utc(),
            round: 0,
            requested: true,
        }
    }

    fn check_for(url: &str) -> InstanceCheck {
        InstanceCheck {
            url: Url::parse(url).unwrap(),
            ca_file: None,
            nameservers: vec![],
            tls_expiry_warning: Duration::from_secs(14 * 86_400),
            shared: None,
            interval: Duration::from_secs(60),
        }
    }

    #[tokio::test]
    async fn a_url_that_cannot_be_probed_is_instance_url_invalid() {
        for url in [
            "ftp://gitlab.example.com",
            "unix:/run/gitlab.socket",
            "mailto:alice@example.com",
        ] {
            let outcome = check_for(url).run(&context()).await;
            assert_eq!(outcome.status, Status::Critical, "{url}");
            assert_eq!(outcome.reason, "instance-url-invalid", "{url}");
            assert!(
                outcome.summary.contains(url.trim_end_matches('/')),
                "{url}: {}",
                outcome.summary
            );
            assert!(
                outcome.remediation[0].contains("workspace `acme`"),
                "{:?}",
                outcome.remediation
            );
            assert!(outcome.measurements.is_empty());
        }
    }

    #[test]
    fn the_check_is_named_instance_and_depends_on_nothing() {
        let check = check_for("https://gitlab.com");
        assert_eq!(check.name(), "instance");
        assert!(check.depends_on().is_empty());
        assert_eq!(check.target(), None);
    }
}
