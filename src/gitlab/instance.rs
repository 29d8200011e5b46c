//! What the workspaces on one GitLab instance share: the instance's request
//! budget ([`InstanceBudget`], one per instance URL) and an HTTP connection
//! pool ([`Instance`], one per URL and trust settings), and the count of
//! requests that says whether the budget fits a round of the fleet.
//!
//! GitLab's limits that matter to a fleet are per address, not per user:
//! every workspace of a platform leaves through the same few egress IPs, so
//! on gitlab.com all of them together get 2,000 requests a minute, 500 of
//! them without a token (docs/gitlab.md §10). A per-workspace budget cannot
//! keep a thousand workspaces under that; one budget per instance can.
//! Self-managed instances have those throttles off by default (same
//! section), so they get no instance budget unless one is configured.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::budget::Budget;

/// Requests per minute an instance allows, all traffic and without a token;
/// `None` is no limit.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct InstanceLimits {
    pub requests_per_minute: Option<u32>,
    pub unauthenticated_per_minute: Option<u32>,
}

impl InstanceLimits {
    /// GitLab.com's published per-address limits (docs/gitlab.md §10):
    /// 2,000 requests a minute of all traffic, 500 without a token.
    pub const GITLAB_COM: InstanceLimits = InstanceLimits {
        requests_per_minute: Some(2_000),
        unauthenticated_per_minute: Some(500),
    };
}

/// Requests a second that stand for "no limit": a bucket this fast never
/// holds a request back, only GitLab's pauses do.
const UNLIMITED: f64 = 1e9;

/// Longest a request waits for the instance budget. The scheduler's
/// concurrency limit keeps the queue in front of the budget short (a
/// handful of waiting requests, not the fleet), so a wait this long means
/// GitLab asked for a pause: the request gives up as rate limited rather
/// than hold its check past its timeout.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// One GitLab instance's budget, shared by every workspace on it.
pub struct InstanceBudget {
    limits: InstanceLimits,
    all: Option<Budget>,
    /// Always there, limited or not: it also carries the pause GitLab asks
    /// for after it throttled requests without a token, which holds on a
    /// self-managed instance with no configured limit too.
    unauthenticated: Budget,
    /// Requests that went out under this budget, for the round estimate.
    sent: AtomicU64,
}

/// A connection pool to one instance, with one set of TLS trust, over the
/// instance's budget.
pub struct Instance {
    http: reqwest::Client,
    budget: Arc<InstanceBudget>,
}

impl Instance {
    /// One pool with the instance's TLS trust. Redirects are never followed
    /// (a token goes only to its own instance); timeouts are per request,
    /// since workspaces sharing the pool may set different ones.
    pub fn new(tls: Arc<rustls::ClientConfig>, budget: Arc<InstanceBudget>) -> Result<Instance, String> {
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured((*tls).clone())
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("labwatch/", env!("CARGO_PKG_VERSION")))
            // Idle connections kept for reuse: as many as checks may run at
            // once is enough (the engine's concurrency), and it bounds the
            // descriptors a pool keeps open however large the fleet.
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Instance { http, budget })
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    pub fn budget(&self) -> &Arc<InstanceBudget> {
        &self.budget
    }
}

impl InstanceBudget {
    pub fn new(limits: InstanceLimits) -> InstanceBudget {
        let per_second = |per_minute: Option<u32>| per_minute.map(|n| Budget::new(f64::from(n) / 60.0));
        InstanceBudget {
            all: per_second(limits.requests_per_minute),
            unauthenticated: per_second(limits.unauthenticated_per_minute).unwrap_or_else(|| Budget::new(UNLIMITED)),
            limits,
            sent: AtomicU64::new(0),
        }
    }

    pub fn limits(&self) -> InstanceLimits {
        self.limits
    }

    /// Requests sent through this instance so far.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Takes one request from the instance's budgets (the unauthenticated
    /// one too when the request carries no token); `Err` is how long it
    /// would have had to wait.
    pub async fn acquire(&self, authenticated: bool) -> Result<(), Duration> {
        if !authenticated {
            self.unauthenticated.acquire(MAX_WAIT).await?;
        }
        if let Some(b) = &self.all {
            b.acquire(MAX_WAIT).await?;
        }
        self.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// GitLab throttled requests without a token from this address (the
    /// probe's 429, or a `throttle_unauthenticated…` answer): every
    /// workspace's anonymous requests wait, not only the one that was told.
    pub fn pause_unauthenticated(&self, d: Duration) {
        self.unauthenticated.pause_for(d);
    }

    /// Whether a refusal by [`InstanceBudget::acquire`] was GitLab's pause
    /// rather than the budget itself.
    pub fn paused(&self) -> bool {
        self.unauthenticated.pause_left().is_some() || self.all.as_ref().is_some_and(|b| b.pause_left().is_some())
    }
}

/// Whether GitLab's throttle name (`RateLimit-Name`) is its per-address
/// throttle of requests without a token, which every workspace behind the
/// address shares (`throttle_unauthenticated_api`, `…_web`; docs/gitlab.md
/// §10). Any other throttle pauses only the workspace that was told.
pub fn per_address_throttle(name: &str) -> bool {
    name.starts_with("throttle_unauthenticated")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn workspaces_share_one_budget_per_instance() {
        let limits = InstanceLimits {
            requests_per_minute: Some(60),
            unauthenticated_per_minute: None,
        };
        let instance = InstanceBudget::new(limits);
        let start = tokio::time::Instant::now();
        // A burst of one, then one a second, whoever asks.
        for _ in 0..3 {
            instance.acquire(true).await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(instance.sent(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn anonymous_requests_also_take_from_the_unauthenticated_budget() {
        let limits = InstanceLimits {
            requests_per_minute: None,
            unauthenticated_per_minute: Some(30),
        };
        let instance = InstanceBudget::new(limits);
        let start = tokio::time::Instant::now();
        instance.acquire(false).await.unwrap();
        instance.acquire(false).await.unwrap();
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        instance.acquire(true).await.unwrap();
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(2),
            "a token request is not held back"
        );
    }

    #[test]
    fn only_address_throttles_are_shared() {
        assert!(per_address_throttle("throttle_unauthenticated_api"));
        assert!(!per_address_throttle("throttle_authenticated_api"));
    }
}
