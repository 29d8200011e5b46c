//! The GitLab client: typed calls for the endpoints labwatch uses, an error
//! taxonomy ([`GitlabError`]), pagination, a per-workspace request budget and
//! an auth breaker (see [`client`]).

pub mod api;
mod budget;
pub mod client;
mod error;
pub mod types;

pub use client::{Auth, ClientOptions, GitlabClient};
pub use error::GitlabError;

use prometheus::{IntCounterVec, IntGaugeVec, Opts};

/// The client's own metrics; cheap to clone, shared by every workspace's
/// client and registered once on the daemon's registry.
#[derive(Clone)]
pub struct GitlabMetrics {
    requests: IntCounterVec,
    ratelimit_remaining: IntGaugeVec,
}

impl GitlabMetrics {
    pub fn new() -> GitlabMetrics {
        GitlabMetrics {
            requests: IntCounterVec::new(
                Opts::new(
                    "labwatch_gitlab_requests_total",
                    "Requests labwatch made to GitLab, by answer status code.",
                ),
                &["workspace", "code"],
            )
            .expect("constant metric definition is valid"),
            ratelimit_remaining: IntGaugeVec::new(
                Opts::new(
                    "labwatch_gitlab_ratelimit_remaining",
                    "GitLab's RateLimit-Remaining from its last answer.",
                ),
                &["workspace"],
            )
            .expect("constant metric definition is valid"),
        }
    }

    pub fn register(&self, registry: &prometheus::Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.requests.clone()))?;
        registry.register(Box::new(self.ratelimit_remaining.clone()))
    }

    fn request(&self, workspace: &str, code: &str) {
        self.requests.with_label_values(&[workspace, code]).inc();
    }

    fn ratelimit_remaining(&self, workspace: &str, remaining: i64) {
        self.ratelimit_remaining.with_label_values(&[workspace]).set(remaining);
    }
}

impl Default for GitlabMetrics {
    fn default() -> Self {
        GitlabMetrics::new()
    }
}
