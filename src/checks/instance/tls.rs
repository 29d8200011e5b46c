//! The TLS phase (https only): the handshake with the workspace's trust roots,
//! the certificate errors people meet (expired, wrong host, unknown CA) told
//! apart, and the leaf certificate's expiry, which becomes a measurement and,
//! when close, a warning.

use std::error::Error as StdError;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::target::{Host, Target};
use crate::engine::{Outcome, Reason, Status};

/// The encrypted stream and the leaf certificate's notAfter (Unix seconds),
/// when it could be read.
pub(super) async fn handshake(
    stream: TcpStream,
    config: Arc<ClientConfig>,
    target: &Target,
    budget: Duration,
) -> Result<(TlsStream<TcpStream>, Option<i64>), Outcome> {
    let name = server_name(target)?;
    let connecting = TlsConnector::from(config).connect(name, stream);
    match tokio::time::timeout(budget, connecting).await {
        Err(_elapsed) => Err(timed_out(target, budget)),
        Ok(Err(error)) => Err(classify(&error, target)),
        Ok(Ok(stream)) => {
            let not_after = stream
                .get_ref()
                .1
                .peer_certificates()
                .and_then(<[_]>::first)
                .and_then(leaf_not_after);
            Ok((stream, not_after))
        }
    }
}

/// The workspace's trust roots. Reading the system's certificate store is
/// blocking file I/O, so it runs off the async workers.
pub(super) async fn client_config(ca_file: Option<PathBuf>, target: &Target) -> Result<Arc<ClientConfig>, Outcome> {
    tokio::task::spawn_blocking(move || crate::tls::client_config(ca_file.as_deref()))
        .await
        .unwrap_or_else(|e| Err(format!("loading the trusted certificates failed ({e})")))
        .map_err(|problem| setup_failure(target, &problem))
}

/// A `ca_file` that cannot be loaded: no handshake can be trusted, so the
/// check cannot tell whether the instance works.
fn setup_failure(target: &Target, problem: &str) -> Outcome {
    Outcome::new(
        Status::Critical,
        Reason::TlsFailure,
        format!("Cannot set up TLS for {}: {problem}.", target.display),
    )
    .with_remediation([
        "Fix `ca_file` for workspace `{workspace}`: it must be a readable PEM file with your CA's certificate.",
        "Then run the check again (`labwatch check --workspace {workspace}`).",
    ])
}

/// The ok outcome, downgraded to `tls-cert-expiring` when the certificate
/// expires within `warning`.
pub(super) fn expiry_verdict(
    answered: Outcome,
    not_after: Option<i64>,
    now: OffsetDateTime,
    warning: Duration,
    target: &Target,
) -> Outcome {
    let Some(not_after) = not_after else { return answered };
    let left = not_after - now.unix_timestamp();
    let warning = i64::try_from(warning.as_secs()).unwrap_or(i64::MAX);
    if left >= warning {
        return answered;
    }
    let summary = format!(
        "{}, but the TLS certificate of {} expires on {} (in {}).",
        answered.summary.trim_end_matches('.'),
        target.host_text,
        date(not_after),
        in_days(left)
    );
    let mut outcome = Outcome::new(Status::Warning, Reason::TlsCertExpiring, summary);
    outcome.measurements = answered.measurements;
    outcome
}

fn server_name(target: &Target) -> Result<ServerName<'static>, Outcome> {
    let name = match &target.host {
        Host::Ip(ip) => return Ok(ServerName::IpAddress((*ip).into())),
        Host::Name(name) => name.clone(),
    };
    ServerName::try_from(name).map_err(|e| {
        Outcome::new(
            Status::Critical,
            Reason::TlsFailure,
            format!("{} is not a host name TLS can verify ({e}).", target.host_text),
        )
    })
}

fn timed_out(target: &Target, budget: Duration) -> Outcome {
    // A hung handshake is a TLS-level failure (the port may not speak TLS,
    // or a middlebox holds it), not a missing HTTP answer.
    Outcome::new(
        Status::Critical,
        Reason::TlsFailure,
        format!(
            "{} port {} accepted the connection but did not complete the TLS handshake within {:.1}s: is it overloaded, or does the port not speak TLS?",
            target.host_text,
            target.port,
            budget.as_secs_f64()
        ),
    )
}

/// Turns a handshake error into the reason a person acts on.
fn classify(error: &io::Error, target: &Target) -> Outcome {
    match find_rustls_error(error) {
        Some(rustls::Error::InvalidCertificate(cert)) => certificate(cert, target),
        Some(other) => plain_failure(target, &other.to_string()),
        None => plain_failure(target, &error.to_string()),
    }
}

/// The certificate problems, told apart.
fn certificate(error: &CertificateError, target: &Target) -> Outcome {
    let host = &target.host_text;
    match error {
        CertificateError::Expired => expired(host, None),
        CertificateError::ExpiredContext { not_after, .. } => expired(host, Some(*not_after)),
        CertificateError::NotValidForName => mismatch(host, None),
        CertificateError::NotValidForNameContext { presented, .. } => mismatch(host, Some(presented)),
        CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => Outcome::new(
            Status::Critical,
            Reason::TlsCertUntrusted,
            format!("The TLS certificate of {host} is not valid yet."),
        )
        .with_first_step("Check this machine's clock: a clock in the past makes new certificates look not yet valid."),
        CertificateError::UnknownIssuer => {
            untrusted(host, "is not signed by a certificate authority this machine trusts")
        }
        CertificateError::BadSignature => untrusted(host, "has a signature that does not verify"),
        other => untrusted(host, &format!("was rejected ({other})")),
    }
}

fn expired(host: &str, not_after: Option<UnixTime>) -> Outcome {
    let when = not_after
        .and_then(|t| i64::try_from(t.as_secs()).ok())
        .map(|t| format!(" on {}", date(t)))
        .unwrap_or_default();
    Outcome::new(
        Status::Critical,
        Reason::TlsCertExpired,
        format!("The TLS certificate of {host} expired{when}."),
    )
}

fn mismatch(host: &str, presented: Option<&Vec<String>>) -> Outcome {
    let names = match presented {
        Some(names) if !names.is_empty() => {
            let names: Vec<&str> = names.iter().map(|n| unquote(n)).collect();
            format!(" (it names {})", names.join(", "))
        }
        _ => String::new(),
    };
    Outcome::new(
        Status::Critical,
        Reason::TlsHostnameMismatch,
        format!("The TLS certificate presented by {host} is not valid for {host}{names}."),
    )
}

/// rustls presents names in their Debug form (`DnsName("other.test")`);
/// people want the name.
fn unquote(presented: &str) -> &str {
    match (presented.find('"'), presented.rfind('"')) {
        (Some(start), Some(end)) if start < end => &presented[start + 1..end],
        _ => presented,
    }
}

fn untrusted(host: &str, problem: &str) -> Outcome {
    Outcome::new(
        Status::Critical,
        Reason::TlsCertUntrusted,
        format!("The TLS certificate of {host} {problem}."),
    )
}

/// Anything else: most often the port speaks plain HTTP (or something else
/// entirely), so the summary says what to try.
fn plain_failure(target: &Target, detail: &str) -> Outcome {
    Outcome::new(
        Status::Critical,
        Reason::TlsFailure,
        format!(
            "The TLS handshake with {} port {} failed: {detail}. Does the port speak TLS? If it serves plain HTTP, try http://.",
            target.host_text, target.port
        ),
    )
}

/// tokio-rustls wraps the `rustls::Error` in an `io::Error`, and
/// `io::Error::source` skips the wrapped error itself, so `get_ref` has to
/// be tried at every level of the chain.
fn find_rustls_error(error: &io::Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn StdError + 'static)> = Some(error);
    while let Some(err) = current {
        if let Some(found) = err.downcast_ref::<rustls::Error>() {
            return Some(found);
        }
        if let Some(inner) = err.downcast_ref::<io::Error>().and_then(io::Error::get_ref) {
            if let Some(found) = inner.downcast_ref::<rustls::Error>() {
                return Some(found);
            }
        }
        current = err.source();
    }
    None
}

/// notAfter of a DER certificate; `None` when it cannot be parsed, which
/// only costs the measurement (rustls has already verified it).
fn leaf_not_after(der: &CertificateDer<'_>) -> Option<i64> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    Some(cert.validity().not_after.timestamp())
}

fn date(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix).map_or_else(|_| format!("@{unix}"), |t| t.date().to_string())
}

/// "3 days", "1 day", "less than a day".
fn in_days(seconds: i64) -> String {
    match seconds / 86_400 {
        days if days <= 0 => "less than a day".to_owned(),
        1 => "1 day".to_owned(),
        days => format!("{days} days"),
    }
}
