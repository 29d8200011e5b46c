//! The URL phase: what to probe (scheme, host, port, base path) derived from
//! the instance URL, and the `{url}`/`{host}`/`{port}`/`{workspace}` values
//! every outcome's remediation is filled with.

use std::net::IpAddr;

use url::Url;

use crate::config::instance_url;
use crate::engine::{Outcome, Reason, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Scheme {
    Http,
    Https,
}

/// Whether DNS is needed: an IP literal is probed as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Host {
    Name(String),
    Ip(IpAddr),
}

/// Everything the phases need to know about the instance.
#[derive(Debug, Clone)]
pub(super) struct Target {
    pub scheme: Scheme,
    pub host: Host,
    /// The host as written in URLs and `Host` headers (IPv6 in brackets).
    pub host_text: String,
    pub port: u16,
    /// Set when the URL names a port, so the `Host` header carries it too.
    explicit_port: bool,
    /// GitLab under a sub-path (`https://example.com/gitlab`): "" or "/gitlab".
    base_path: String,
    /// The URL as users wrote it, for summaries.
    pub display: String,
}

impl Target {
    /// The probe target, or `instance-url-invalid`. Config validation
    /// already rejects such URLs; this guards a `WorkspaceConfig` built in
    /// code (the connect action, tests).
    pub fn parse(url: &Url) -> Result<Target, Outcome> {
        let display = instance_url::display(url);
        let scheme = match url.scheme() {
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            other => return Err(invalid(&display, &format!("it uses {other}://, not http(s)://"))),
        };
        let (host, host_text) = match url.host() {
            Some(url::Host::Domain(name)) if !name.is_empty() => (Host::Name(name.to_owned()), name.to_owned()),
            Some(url::Host::Ipv4(ip)) => (Host::Ip(ip.into()), ip.to_string()),
            Some(url::Host::Ipv6(ip)) => (Host::Ip(ip.into()), format!("[{ip}]")),
            _ => return Err(invalid(&display, "it has no host name")),
        };
        // Both schemes have a known default, so this only fails for URLs the
        // match above already rejected.
        let Some(port) = url.port_or_known_default() else {
            return Err(invalid(&display, "it has no port"));
        };
        Ok(Target {
            scheme,
            host,
            host_text,
            port,
            explicit_port: url.port().is_some(),
            base_path: url.path().trim_end_matches('/').to_owned(),
            display,
        })
    }

    /// The path of the probe request, below GitLab's root.
    pub fn version_path(&self) -> String {
        format!("{}/api/v4/version", self.base_path)
    }

    /// The `Host` header: the port only when the URL names one, like
    /// browsers, so virtual hosts match.
    pub fn host_header(&self) -> String {
        if self.explicit_port {
            format!("{}:{}", self.host_text, self.port)
        } else {
            self.host_text.clone()
        }
    }

    /// The full URL of the probe request (to resolve relative redirects).
    pub fn version_url(&self) -> String {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        format!("{scheme}://{}{}", self.host_header(), self.version_path())
    }

    /// Fills the remediation placeholders with this target's values.
    pub fn fill(&self, outcome: Outcome, workspace: &str) -> Outcome {
        let port = self.port.to_string();
        outcome.fill(&[
            ("url", &self.display),
            ("host", &self.host_text),
            ("port", &port),
            ("workspace", workspace),
        ])
    }
}

/// Fills an outcome for a URL that could not become a [`Target`]: the parts
/// it lacks are filled with what the URL has, or left empty.
pub(super) fn fill_unparsed(outcome: Outcome, url: &Url, workspace: &str) -> Outcome {
    let display = instance_url::display(url);
    let host = url.host_str().unwrap_or_default().to_owned();
    let port = url.port_or_known_default().map(|p| p.to_string()).unwrap_or_default();
    outcome.fill(&[
        ("url", &display),
        ("host", &host),
        ("port", &port),
        ("workspace", workspace),
    ])
}

fn invalid(display: &str, problem: &str) -> Outcome {
    Outcome::new(
        Status::Critical,
        Reason::InstanceUrlInvalid,
        format!("The instance URL {display} cannot be probed: {problem}."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(&Url::parse(url).unwrap()).unwrap()
    }

    #[test]
    fn derives_host_port_and_path() {
        let t = target("https://gitlab.example.com");
        assert_eq!(
            (t.scheme, t.port, t.host_header()),
            (Scheme::Https, 443, "gitlab.example.com".into())
        );
        assert_eq!(t.host, Host::Name("gitlab.example.com".into()));
        assert_eq!(t.version_path(), "/api/v4/version");
        assert_eq!(t.version_url(), "https://gitlab.example.com/api/v4/version");

        let t = target("http://127.0.0.1:8080/gitlab");
        assert_eq!(
            (t.scheme, t.port, t.host_header()),
            (Scheme::Http, 8080, "127.0.0.1:8080".into())
        );
        assert_eq!(t.host, Host::Ip("127.0.0.1".parse().unwrap()));
        assert_eq!(t.version_path(), "/gitlab/api/v4/version");
        assert_eq!(t.version_url(), "http://127.0.0.1:8080/gitlab/api/v4/version");

        let t = target("http://[::1]:8080");
        assert_eq!(t.host_header(), "[::1]:8080");
        assert_eq!(t.host, Host::Ip("::1".parse().unwrap()));
    }

    #[test]
    fn rejects_what_cannot_be_probed() {
        for url in ["ftp://gitlab.com", "file:///srv/gitlab", "data:text/plain,hi"] {
            let outcome = Target::parse(&Url::parse(url).unwrap()).unwrap_err();
            assert_eq!(outcome.reason, "instance-url-invalid", "{url}");
        }
    }
}
