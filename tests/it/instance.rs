//! The `instance` check against real servers on loopback: one test per
//! reason code it can report, plus the ok paths. Each asserts what a user
//! sees — status, reason, summary, a filled-in remediation step — and that
//! the phases that ran were timed.

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use labwatch::checks::instance::InstanceCheck;
use labwatch::config::{Config, WorkspaceConfig};
use labwatch::engine::{Check, Outcome, RunContext, Status};
use time::OffsetDateTime;

use crate::support::net::{
    Behaviour, BlackHole, DnsServer, HttpServer, Reply, SilentDns, TestCa, Zone, closed_port, days,
};

const LOCALHOST: Ipv4Addr = Ipv4Addr::LOCALHOST;

/// A workspace `acme` for `url`, through the real config parser; `extra`
/// adds TOML keys to the workspace table.
fn workspace(url: &str, extra: &str) -> WorkspaceConfig {
    let text = format!("[[workspace]]\nname = \"acme\"\ninstance_url = \"{url}\"\n{extra}\n");
    let config = Config::parse(Path::new("labwatch.toml"), &text).expect("test config is valid");
    config.workspaces.into_iter().next().expect("one workspace")
}

fn nameserver(dns: SocketAddr) -> String {
    format!("nameservers = [\"{dns}\"]")
}

fn with_ca(ca: &TestCa, dns: SocketAddr) -> String {
    format!("ca_file = \"{}\"\n{}", ca.pem_path.display(), nameserver(dns))
}

/// Runs the check once with `seconds` until the engine's deadline.
async fn run_within(ws: &WorkspaceConfig, seconds: u64) -> Outcome {
    let ctx = RunContext {
        workspace: "acme".into(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(seconds),
        now: OffsetDateTime::now_utc(),
        round: 0,
        requested: true,
    };
    InstanceCheck::new(ws).run(&ctx).await
}

async fn run(ws: &WorkspaceConfig) -> Outcome {
    run_within(ws, 10).await
}

/// Short enough for the timeout cases to be quick, long enough for loopback.
async fn run_briefly(ws: &WorkspaceConfig) -> Outcome {
    run_within(ws, 2).await
}

#[track_caller]
fn assert_outcome(outcome: &Outcome, status: Status, reason: &str, summary: &str) {
    assert_eq!(
        (outcome.status, outcome.reason.as_str()),
        (status, reason),
        "{outcome:#?}"
    );
    assert!(
        outcome.summary.contains(summary),
        "summary lacks {summary:?}: {outcome:#?}"
    );
}

/// Some remediation step says `fragment`, and none kept a placeholder.
#[track_caller]
fn assert_step(outcome: &Outcome, fragment: &str) {
    assert!(
        outcome.remediation.iter().any(|s| s.contains(fragment)),
        "no step says {fragment:?}: {outcome:#?}"
    );
    for step in &outcome.remediation {
        for placeholder in ["{url}", "{host}", "{port}", "{workspace}"] {
            assert!(!step.contains(placeholder), "unfilled {placeholder} in {step:?}");
        }
    }
}

/// Exactly these phases were timed.
#[track_caller]
fn assert_phases(outcome: &Outcome, phases: &[&str]) {
    let timed: Vec<&str> = outcome
        .measurements
        .iter()
        .map(|(name, _)| name)
        .filter(|k| k.ends_with("_seconds") && *k != "tls_cert_expiry_timestamp_seconds")
        .collect();
    let mut want: Vec<&str> = phases.to_vec();
    want.sort_unstable();
    assert_eq!(timed, want, "{outcome:#?}");
    for phase in phases {
        assert!(outcome.measurements.get(phase).is_some_and(|s| *s >= 0.0), "{phase}");
    }
}

// ---------------------------------------------------------------- ok

#[tokio::test]
async fn gitlab_answering_its_version_is_ok() {
    let server = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let url = format!("http://127.0.0.1:{}", server.port());
    let outcome = run(&workspace(&url, "")).await;

    assert_outcome(&outcome, Status::Ok, "ok", &format!("GitLab 16.11.0 answers at {url}"));
    assert!(outcome.remediation.is_empty());
    // An IP literal needs no DNS.
    assert_phases(&outcome, &["connect_seconds", "http_seconds"]);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let head = requests[0].to_ascii_lowercase();
    assert!(head.starts_with("get /api/v4/version http/1.1\r\n"), "{head}");
    assert!(
        head.contains(&format!("host: 127.0.0.1:{}\r\n", server.port())),
        "{head}"
    );
    assert!(head.contains("user-agent: labwatch/"), "{head}");
    assert!(head.contains("accept: application/json"), "{head}");
    assert!(
        !head.contains("private-token") && !head.contains("authorization"),
        "the probe sends no token: {head}"
    );
}

#[tokio::test]
async fn a_json_401_without_a_token_is_ok_and_dns_is_asked_every_run() {
    let server = HttpServer::start(Behaviour::Answer(Reply::gitlab_unauthorized())).await;
    let dns = DnsServer::start(Zone::new().a("gitlab.test", LOCALHOST)).await;
    let url = format!("http://gitlab.test:{}/gitlab", server.port());
    let ws = workspace(&url, &nameserver(dns.addr));

    let outcome = run(&ws).await;
    assert_outcome(&outcome, Status::Ok, "ok", "version hidden without a token");
    assert!(outcome.summary.contains(&url), "{}", outcome.summary);
    assert_phases(&outcome, &["dns_seconds", "connect_seconds", "http_seconds"]);
    let head = server.requests()[0].to_ascii_lowercase();
    assert!(head.starts_with("get /gitlab/api/v4/version "), "sub-path kept: {head}");
    assert!(
        head.contains(&format!("host: gitlab.test:{}\r\n", server.port())),
        "{head}"
    );

    // A fresh resolver per run: no cached answer hides a DNS outage.
    run(&ws).await;
    let a_queries = dns.queries().iter().filter(|q| *q == "gitlab.test A").count();
    assert_eq!(a_queries, 2, "{:?}", dns.queries());
}

#[tokio::test]
async fn a_trusted_certificate_is_ok_and_its_expiry_is_measured() {
    let ca = TestCa::new("labwatch test CA");
    let now = OffsetDateTime::now_utc();
    let not_after = now + days(200);
    let server = HttpServer::tls(&ca.leaf(&["gitlab.test"], now - days(1), not_after)).await;
    let dns = DnsServer::start(Zone::new().a("gitlab.test", LOCALHOST)).await;
    let url = format!("https://gitlab.test:{}", server.port());

    let outcome = run(&workspace(&url, &with_ca(&ca, dns.addr))).await;
    assert_outcome(&outcome, Status::Ok, "ok", &format!("GitLab 16.11.0 answers at {url}"));
    assert_phases(
        &outcome,
        &["dns_seconds", "connect_seconds", "tls_seconds", "http_seconds"],
    );
    let expiry = *outcome
        .measurements
        .get("tls_cert_expiry_timestamp_seconds")
        .expect("expiry measured");
    assert!((expiry - not_after.unix_timestamp() as f64).abs() <= 1.0, "{expiry}");
}

// ---------------------------------------------------------------- URL

#[tokio::test]
async fn a_url_that_is_not_http_is_instance_url_invalid() {
    let mut ws = workspace("https://gitlab.example.com", "");
    // Config validation rejects this; a WorkspaceConfig built in code may not.
    ws.instance_url = url::Url::parse("ftp://gitlab.example.com").unwrap();
    let outcome = run(&ws).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "instance-url-invalid",
        "ftp://gitlab.example.com",
    );
    assert_step(&outcome, "Set `instance_url` for workspace `acme`");
    assert_phases(&outcome, &[]);
}

// ---------------------------------------------------------------- DNS

#[tokio::test]
async fn an_unknown_host_is_dns_nxdomain() {
    let dns = DnsServer::start(Zone::new().a("gitlab.test", LOCALHOST)).await;
    let outcome = run(&workspace("https://gitlab.tset", &nameserver(dns.addr))).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "dns-nxdomain",
        "gitlab.tset does not exist in DNS",
    );
    assert!(
        outcome.summary.contains(&dns.addr.to_string()),
        "names the server asked: {}",
        outcome.summary
    );
    assert_step(
        &outcome,
        "Verify your instance URL https://gitlab.tset: is the host name `gitlab.tset` spelt correctly?",
    );
    assert_phases(&outcome, &["dns_seconds"]);
}

#[tokio::test]
async fn a_failing_dns_server_is_dns_failure() {
    let dns = DnsServer::start(Zone::new().servfail("gitlab.test")).await;
    let outcome = run(&workspace("https://gitlab.test", &nameserver(dns.addr))).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "dns-failure",
        "DNS answered SERVFAIL for gitlab.test",
    );
    assert!(outcome.summary.contains(&dns.addr.to_string()), "{}", outcome.summary);
    assert_step(
        &outcome,
        "Verify your instance URL https://gitlab.test: does `gitlab.test` have an A or AAAA record?",
    );
    assert_phases(&outcome, &["dns_seconds"]);
}

#[tokio::test]
async fn a_name_without_addresses_is_dns_failure() {
    let dns = DnsServer::start(Zone::new().empty("gitlab.test")).await;
    let outcome = run(&workspace("https://gitlab.test", &nameserver(dns.addr))).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "dns-failure",
        "gitlab.test exists in DNS but has no A or AAAA record",
    );
    assert_phases(&outcome, &["dns_seconds"]);
}

#[tokio::test]
async fn a_silent_dns_server_is_dns_timeout() {
    let dns = SilentDns::start().await;
    let outcome = run_briefly(&workspace("https://gitlab.test", &nameserver(dns.addr))).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "dns-timeout",
        "No DNS answer for gitlab.test",
    );
    assert!(outcome.summary.contains(&dns.addr.to_string()), "{}", outcome.summary);
    assert_step(&outcome, "workspace `acme`");
    assert_phases(&outcome, &["dns_seconds"]);
}

// ---------------------------------------------------------------- TCP

#[tokio::test]
async fn a_closed_port_is_tcp_refused() {
    let addr = closed_port().await;
    let url = format!("http://127.0.0.1:{}", addr.port());
    let outcome = run(&workspace(&url, "")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "tcp-refused",
        &format!(
            "Could not connect to 127.0.0.1 port {}: connection refused.",
            addr.port()
        ),
    );
    assert_step(
        &outcome,
        &format!(
            "Verify your instance URL {url}: are the host and port ({}) right?",
            addr.port()
        ),
    );
    assert_step(&outcome, &format!("listening on port {}", addr.port()));
    assert_phases(&outcome, &["connect_seconds"]);
}

#[tokio::test]
async fn dropped_syns_are_tcp_timeout() {
    let hole = BlackHole::start().await;
    let dns = DnsServer::start(Zone::new().a("gitlab.test", LOCALHOST)).await;
    let url = format!("https://gitlab.test:{}", hole.addr.port());
    let outcome = run_briefly(&workspace(&url, &nameserver(dns.addr))).await;
    assert_outcome(&outcome, Status::Critical, "tcp-timeout", "127.0.0.1: no answer within");
    assert_step(&outcome, &format!("GitLab at `gitlab.test` port {}", hole.addr.port()));
    assert_phases(&outcome, &["dns_seconds", "connect_seconds"]);
}

// ---------------------------------------------------------------- TLS

/// Serves `leaf` as gitlab.test and runs the check trusting `ca`.
async fn tls_outcome(ca: &TestCa, leaf: &crate::support::net::Identity) -> (Outcome, String) {
    let server = HttpServer::tls(leaf).await;
    let dns = DnsServer::start(Zone::new().a("gitlab.test", LOCALHOST)).await;
    let url = format!("https://gitlab.test:{}", server.port());
    (run(&workspace(&url, &with_ca(ca, dns.addr))).await, url)
}

#[tokio::test]
async fn an_expired_certificate_is_tls_cert_expired() {
    let ca = TestCa::new("labwatch test CA");
    let now = OffsetDateTime::now_utc();
    let expired_on = now - days(2);
    let (outcome, _) = tls_outcome(&ca, &ca.leaf(&["gitlab.test"], now - days(90), expired_on)).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "tls-cert-expired",
        &format!("The TLS certificate of gitlab.test expired on {}", expired_on.date()),
    );
    assert_step(&outcome, "the certificate of `gitlab.test` must be renewed");
    assert_phases(&outcome, &["dns_seconds", "connect_seconds", "tls_seconds"]);
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_tls_cert_untrusted() {
    let trusted = TestCa::new("labwatch test CA");
    let stranger = TestCa::new("somebody else's CA");
    let (outcome, _) = tls_outcome(&trusted, &stranger.valid_leaf("gitlab.test")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "tls-cert-untrusted",
        "The TLS certificate of gitlab.test is not signed by a certificate authority this machine trusts",
    );
    assert_step(
        &outcome,
        "If `gitlab.test` uses an internal CA, set `ca_file` for workspace `acme`",
    );
    assert_phases(&outcome, &["dns_seconds", "connect_seconds", "tls_seconds"]);
}

#[tokio::test]
async fn a_certificate_for_another_host_is_tls_hostname_mismatch() {
    let ca = TestCa::new("labwatch test CA");
    let (outcome, url) = tls_outcome(&ca, &ca.valid_leaf("other.test")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "tls-hostname-mismatch",
        "is not valid for gitlab.test (it names other.test)",
    );
    assert_step(&outcome, &format!("Verify your instance URL {url}: use the host name"));
    assert_step(&outcome, "a certificate that covers `gitlab.test`");
    assert_phases(&outcome, &["dns_seconds", "connect_seconds", "tls_seconds"]);
}

#[tokio::test]
async fn a_certificate_expiring_soon_is_tls_cert_expiring() {
    let ca = TestCa::new("labwatch test CA");
    let now = OffsetDateTime::now_utc();
    let not_after = now + days(3) + Duration::from_secs(3600);
    let (outcome, url) = tls_outcome(&ca, &ca.leaf(&["gitlab.test"], now - days(80), not_after)).await;
    assert_outcome(
        &outcome,
        Status::Warning,
        "tls-cert-expiring",
        &format!(
            "GitLab 16.11.0 answers at {url}, but the TLS certificate of gitlab.test expires on {} (in 3 days)",
            not_after.date()
        ),
    );
    assert_step(
        &outcome,
        "the certificate of `gitlab.test` must be renewed before it expires",
    );
    assert_phases(
        &outcome,
        &["dns_seconds", "connect_seconds", "tls_seconds", "http_seconds"],
    );
    assert!(outcome.measurements.contains_key("tls_cert_expiry_timestamp_seconds"));
}

#[tokio::test]
async fn a_real_failure_wins_over_an_expiring_certificate() {
    let ca = TestCa::new("labwatch test CA");
    let now = OffsetDateTime::now_utc();
    let leaf = ca.leaf(&["gitlab.test"], now - days(80), now + days(3));
    let server = HttpServer::tls_with(&leaf, Behaviour::Answer(Reply::bad_gateway())).await;
    let dns = DnsServer::start(Zone::new().a("gitlab.test", LOCALHOST)).await;
    let url = format!("https://gitlab.test:{}", server.port());
    let outcome = run(&workspace(&url, &with_ca(&ca, dns.addr))).await;
    assert_outcome(&outcome, Status::Critical, "http-server-error", "502 Bad Gateway");
    assert!(outcome.measurements.contains_key("tls_cert_expiry_timestamp_seconds"));
}

#[tokio::test]
async fn https_to_a_plain_http_port_is_tls_failure() {
    let server = HttpServer::start(Behaviour::Answer(Reply::gitlab_version())).await;
    let url = format!("https://127.0.0.1:{}", server.port());
    let outcome = run(&workspace(&url, "")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "tls-failure",
        "Does the port speak TLS? If it serves plain HTTP, try http://",
    );
    assert_step(
        &outcome,
        &format!(
            "Verify your instance URL {url}: if the server speaks plain HTTP on port {}",
            server.port()
        ),
    );
    assert_phases(&outcome, &["connect_seconds", "tls_seconds"]);
}

#[tokio::test]
async fn an_unreadable_ca_file_is_reported_not_fatal() {
    let ca = TestCa::new("labwatch test CA");
    let server = HttpServer::tls(&ca.valid_leaf("127.0.0.1")).await;
    let url = format!("https://127.0.0.1:{}", server.port());
    let mut ws = workspace(&url, &format!("ca_file = \"{}\"", ca.pem_path.display()));
    // The file was fine when the config was loaded and broke afterwards.
    ws.ca_file = Some(ca.pem_path.with_file_name("gone.pem"));
    let outcome = run(&ws).await;
    assert_outcome(&outcome, Status::Critical, "tls-failure", "cannot read ca_file");
    assert_step(&outcome, "Fix `ca_file` for workspace `acme`");
}

// ---------------------------------------------------------------- HTTP

#[tokio::test]
async fn a_server_that_never_answers_is_http_timeout() {
    let server = HttpServer::start(Behaviour::Silent).await;
    let url = format!("http://127.0.0.1:{}", server.port());
    let outcome = run_briefly(&workspace(&url, "")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "http-timeout",
        &format!("{url} accepted the connection but did not answer GET /api/v4/version within"),
    );
    assert_step(&outcome, &format!("Check whether GitLab at {url} is overloaded"));
    assert_step(&outcome, "raise `timeout` for workspace `acme`");
    assert_phases(&outcome, &["connect_seconds", "http_seconds"]);
}

#[tokio::test]
async fn a_502_is_http_server_error() {
    let server = HttpServer::start(Behaviour::Answer(Reply::bad_gateway())).await;
    let url = format!("http://127.0.0.1:{}", server.port());
    let outcome = run(&workspace(&url, "")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "http-server-error",
        &format!("{url} answered 502 Bad Gateway to GET /api/v4/version"),
    );
    assert_step(&outcome, "check that GitLab behind it is running");
    assert_phases(&outcome, &["connect_seconds", "http_seconds"]);
}

#[tokio::test]
async fn an_html_page_is_not_gitlab() {
    let server = HttpServer::start(Behaviour::Answer(Reply::html_page())).await;
    let url = format!("http://127.0.0.1:{}", server.port());
    let outcome = run(&workspace(&url, "")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "not-gitlab",
        "answered 200 OK (text/html; charset=utf-8)",
    );
    assert_step(
        &outcome,
        &format!("Verify your instance URL {url}: it must be the GitLab root"),
    );
    assert_phases(&outcome, &["connect_seconds", "http_seconds"]);
}

#[tokio::test]
async fn a_redirect_is_not_gitlab_and_names_where_to_point() {
    let server = HttpServer::start(Behaviour::Answer(Reply::redirect("https://gitlab.test/api/v4/version"))).await;
    let url = format!("http://127.0.0.1:{}", server.port());
    let outcome = run(&workspace(&url, "")).await;
    assert_outcome(
        &outcome,
        Status::Critical,
        "not-gitlab",
        "301 Moved Permanently) to https://gitlab.test/api/v4/version",
    );
    assert_eq!(
        outcome.remediation[0],
        "Set `instance_url` for workspace `acme` to https://gitlab.test: the instance redirects there."
    );
    assert_step(&outcome, &format!("Verify your instance URL {url}"));
    assert_phases(&outcome, &["connect_seconds", "http_seconds"]);
}
