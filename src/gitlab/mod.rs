//! The GitLab client: typed calls for the endpoints labwatch uses, an error
//! taxonomy ([`GitlabError`]), pagination, a per-workspace request budget and
//! an auth breaker (see [`client`]); the bounds every answer is held to
//! ([`bounds`]).

pub mod api;
pub mod bounds;
mod budget;
pub mod client;
mod error;
mod instance;
pub mod types;

pub use budget::{MAX_PAUSE, retry_after};
pub use client::{Auth, ClientOptions, GitlabClient};
pub use error::{BudgetKind, GitlabError, is_local_shortage};
pub use instance::{Instance, InstanceBudget, InstanceLimits, per_address_throttle};

use prometheus::{IntCounterVec, IntGaugeVec, Opts};

/// The client's own metrics; cheap to clone, shared by every workspace's
/// client and registered once on the daemon's registry.
#[derive(Clone)]
pub struct GitlabMetrics {
    requests: IntCounterVec,
    ratelimit_remaining: IntGaugeVec,
    /// Token rotations and failed attempts, by trigger; they are GitLab calls
    /// too, and live here so one registration covers every counter.
    renewals: IntCounterVec,
    renewal_failures: IntCounterVec,
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
            renewals: IntCounterVec::new(
                Opts::new(
                    "labwatch_token_renewals_total",
                    "Token rotations that succeeded, by trigger (schedule, alert, manual).",
                ),
                &["workspace", "trigger"],
            )
            .expect("constant metric definition is valid"),
            renewal_failures: IntCounterVec::new(
                Opts::new(
                    "labwatch_token_renewal_failures_total",
                    "Token rotations that failed, by trigger (schedule, alert, manual).",
                ),
                &["workspace", "trigger"],
            )
            .expect("constant metric definition is valid"),
        }
    }

    pub fn register(&self, registry: &prometheus::Registry) -> prometheus::Result<()> {
        registry.register(Box::new(self.requests.clone()))?;
        registry.register(Box::new(self.renewals.clone()))?;
        registry.register(Box::new(self.renewal_failures.clone()))?;
        registry.register(Box::new(self.ratelimit_remaining.clone()))
    }

    /// Creates the workspace's renewal series at 0, so `increase()` in alert
    /// rules sees the first rotation or failure too.
    pub fn init_workspace(&self, workspace: &str) {
        for trigger in ["schedule", "alert", "manual"] {
            self.renewals.with_label_values(&[workspace, trigger]);
            self.renewal_failures.with_label_values(&[workspace, trigger]);
        }
    }

    /// Removes every series of a workspace that was deleted, so `/metrics`
    /// does not keep a label set per workspace that ever existed. Request
    /// codes are `error` or an HTTP status (see `client.rs`): each possible
    /// one is a hash lookup, and the cost does not grow with the fleet.
    pub fn forget_workspace(&self, workspace: &str) {
        let _ = self.requests.remove_label_values(&[workspace, "error"]);
        for code in 100..600u16 {
            let _ = self.requests.remove_label_values(&[workspace, &code.to_string()]);
        }
        let _ = self.ratelimit_remaining.remove_label_values(&[workspace]);
        for trigger in ["schedule", "alert", "manual"] {
            let _ = self.renewals.remove_label_values(&[workspace, trigger]);
            let _ = self.renewal_failures.remove_label_values(&[workspace, trigger]);
        }
    }

    pub fn renewal(&self, workspace: &str, trigger: &str) {
        self.renewals.with_label_values(&[workspace, trigger]).inc();
    }

    pub fn renewal_failure(&self, workspace: &str, trigger: &str) {
        self.renewal_failures.with_label_values(&[workspace, trigger]).inc();
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
