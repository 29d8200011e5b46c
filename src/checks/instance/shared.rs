//! [`SharedProbe`]: one probe of an instance per interval, whose verdict
//! every workspace on that instance shows. A thousand workspaces on
//! gitlab.com asking `GET /api/v4/version` each would spend the address's
//! whole unauthenticated budget (500 a minute, docs/gitlab.md §10) on
//! learning the same thing a thousand times.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::{Outcome, Reason, Status};
use crate::gitlab::InstanceBudget;

impl std::fmt::Debug for SharedProbe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedProbe").finish_non_exhaustive()
    }
}

/// The last probe of one instance (with one set of probe settings).
#[derive(Default)]
pub struct SharedProbe {
    /// The instance's budget: the probe is a request without a token like
    /// any other (`None`: no budget, as for `connect`'s own probe).
    budget: Option<Arc<InstanceBudget>>,
    /// Held while a probe runs, so workspaces that come due meanwhile wait
    /// for its verdict instead of probing too.
    last: tokio::sync::Mutex<Option<Probed>>,
}

#[derive(Debug)]
struct Probed {
    began: Instant,
    /// When the verdict came in.
    finished: Instant,
    /// Before the per-workspace placeholders are filled in.
    outcome: Outcome,
}

impl SharedProbe {
    /// A probe whose requests count against `budget`.
    pub fn within(budget: Arc<InstanceBudget>) -> SharedProbe {
        SharedProbe {
            budget: Some(budget),
            last: tokio::sync::Mutex::default(),
        }
    }

    pub fn budget(&self) -> Option<&Arc<InstanceBudget>> {
        self.budget.as_ref()
    }

    /// The verdict of a probe begun less than `fresh_for` ago, else
    /// `probe`'s, which is kept for the others.
    pub async fn run_or_reuse(&self, fresh_for: Duration, probe: impl Future<Output = Outcome>) -> Outcome {
        let mut last = self.last.lock().await;
        if let Some(p) = last.as_ref().filter(|p| p.began.elapsed() < fresh_for) {
            return p.outcome.clone();
        }
        self.probe(&mut last, probe).await
    }

    /// `probe`'s verdict, for a run someone asked for: only a verdict that
    /// came in after the asking is reused — the probe in flight when many
    /// workspaces are asked to run at once serves them all — never an
    /// older one.
    pub async fn run_now(&self, probe: impl Future<Output = Outcome>) -> Outcome {
        let asked = Instant::now();
        let mut last = self.last.lock().await;
        if let Some(p) = last.as_ref().filter(|p| p.finished > asked) {
            return p.outcome.clone();
        }
        self.probe(&mut last, probe).await
    }

    async fn probe(&self, last: &mut Option<Probed>, probe: impl Future<Output = Outcome>) -> Outcome {
        let began = Instant::now();
        let outcome = match self.within_budget().await {
            Ok(()) => probe.await,
            Err(outcome) => outcome,
        };
        // GitLab throttled the address's anonymous requests: the next
        // probe, whichever workspace is due, waits as long as it asked.
        if let (Some(budget), Some(wait)) = (&self.budget, outcome.measurements.get(super::http::RETRY_AFTER)) {
            budget.pause_unauthenticated(Duration::from_secs_f64(
                wait.clamp(0.0, crate::gitlab::MAX_PAUSE.as_secs_f64()),
            ));
        }
        *last = Some(Probed {
            began,
            finished: Instant::now(),
            outcome: outcome.clone(),
        });
        outcome
    }

    /// Takes the probe's request from the instance budget; the outcome when
    /// the budget would hold it back longer than a check waits.
    async fn within_budget(&self) -> Result<(), Outcome> {
        let Some(budget) = &self.budget else { return Ok(()) };
        budget.acquire(false).await.map_err(|wait| {
            Outcome::new(
                Status::Warning,
                Reason::RateLimited,
                if budget.paused() {
                    format!(
                        "Not probed: GitLab throttled requests without a token from this address; it asked to wait {} s more.",
                        wait.as_secs()
                    )
                } else {
                    format!(
                        "Not probed: labwatch's request budget for this instance ([[instance]]) is spent for the next {} s.",
                        wait.as_secs()
                    )
                },
            )
            .with_remediation([
                "Nothing to do if this passes: the next round probes again.".to_owned(),
                "If it persists, the fleet needs more than the budget allows: raise `requests_per_minute`/`unauthenticated_per_minute` in the [[instance]] table of {url} if GitLab allows more, or lengthen `interval`.".to_owned(),
            ])
        })
    }

    /// The latest verdict and how long ago it came in, for `/status`.
    pub fn latest(&self) -> Option<(Outcome, Duration)> {
        let last = self.last.try_lock().ok()?;
        last.as_ref().map(|p| (p.outcome.clone(), p.finished.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::engine::Status;

    #[tokio::test(start_paused = true)]
    async fn one_probe_serves_every_caller_within_the_interval() {
        let shared = Arc::new(SharedProbe::default());
        let probes = Arc::new(AtomicU32::new(0));
        let interval = Duration::from_secs(60);
        let ask = |shared: Arc<SharedProbe>, probes: Arc<AtomicU32>| async move {
            shared
                .run_or_reuse(interval, async {
                    probes.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Outcome::ok("GitLab answers.")
                })
                .await
        };
        let callers: Vec<_> = (0..10)
            .map(|_| tokio::spawn(ask(shared.clone(), probes.clone())))
            .collect();
        for c in callers {
            assert_eq!(c.await.unwrap().status, Status::Ok);
        }
        assert_eq!(probes.load(Ordering::SeqCst), 1, "callers during the probe wait for it");
        tokio::time::advance(Duration::from_secs(30)).await;
        ask(shared.clone(), probes.clone()).await;
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        tokio::time::advance(Duration::from_secs(30)).await;
        ask(shared.clone(), probes.clone()).await;
        assert_eq!(probes.load(Ordering::SeqCst), 2, "a new interval, a new probe");
    }

    #[tokio::test(start_paused = true)]
    async fn runs_asked_for_together_share_the_probe_in_flight_but_never_an_older_one() {
        let shared = Arc::new(SharedProbe::default());
        let probes = Arc::new(AtomicU32::new(0));
        let ask = |shared: Arc<SharedProbe>, probes: Arc<AtomicU32>| async move {
            shared
                .run_now(async {
                    probes.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Outcome::ok("GitLab answers.")
                })
                .await
        };
        ask(shared.clone(), probes.clone()).await;
        assert_eq!(probes.load(Ordering::SeqCst), 1);
        let callers: Vec<_> = (0..10)
            .map(|_| tokio::spawn(ask(shared.clone(), probes.clone())))
            .collect();
        for c in callers {
            c.await.unwrap();
        }
        assert_eq!(
            probes.load(Ordering::SeqCst),
            2,
            "one new probe for the ten who asked together"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_429_to_the_probe_holds_the_next_probe_of_any_workspace_back() {
        let budget = Arc::new(InstanceBudget::new(crate::gitlab::InstanceLimits::default()));
        let shared = SharedProbe::within(budget);
        let probes = AtomicU32::new(0);
        let interval = Duration::from_secs(60);
        let throttled = || async {
            probes.fetch_add(1, Ordering::SeqCst);
            Outcome::new(Status::Warning, Reason::RateLimited, "GitLab answered 429.")
                .with_measurement(super::super::http::RETRY_AFTER, 600.0)
        };
        assert_eq!(shared.run_or_reuse(interval, throttled()).await.reason, "rate-limited");
        tokio::time::advance(interval).await;
        let held = shared.run_or_reuse(interval, throttled()).await;
        assert_eq!(probes.load(Ordering::SeqCst), 1, "the next probe was not sent");
        assert_eq!(held.reason, "rate-limited");
        assert!(
            held.summary.contains("GitLab throttled requests without a token"),
            "{}",
            held.summary
        );
        tokio::time::advance(Duration::from_secs(600)).await;
        shared.run_or_reuse(interval, throttled()).await;
        assert_eq!(probes.load(Ordering::SeqCst), 2, "probed again once the pause is over");
    }
}
