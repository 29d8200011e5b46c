//! [`SharedProbe`]: one probe of an instance per interval, whose verdict
//! every workspace on that instance shows. A thousand workspaces on
//! gitlab.com asking `GET /api/v4/version` each would spend the address's
//! whole unauthenticated budget (500 a minute, docs/gitlab.md §10) on
//! learning the same thing a thousand times.

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

use crate::engine::Outcome;

/// The last probe of one instance (with one set of probe settings).
#[derive(Debug, Default)]
pub struct SharedProbe {
    /// Held while a probe runs, so workspaces that come due meanwhile wait
    /// for its verdict instead of probing too.
    last: tokio::sync::Mutex<Option<Probed>>,
}

#[derive(Debug)]
struct Probed {
    at: Instant,
    /// Before the per-workspace placeholders are filled in.
    outcome: Outcome,
}

impl SharedProbe {
    /// The verdict of a probe younger than `fresh_for`, else `probe`'s,
    /// which is kept for the others.
    pub async fn run_or_reuse(&self, fresh_for: Duration, probe: impl Future<Output = Outcome>) -> Outcome {
        let now = Instant::now();
        self.reuse_since(now.checked_sub(fresh_for), probe).await
    }

    /// `probe`'s verdict, for a run someone asked for: only a probe that
    /// began after the asking is reused (many workspaces asked at once share
    /// one), never one from before.
    pub async fn run_now(&self, probe: impl Future<Output = Outcome>) -> Outcome {
        self.reuse_since(Some(Instant::now()), probe).await
    }

    /// Reuses a probe begun at or after `since` (`None`: any probe).
    async fn reuse_since(&self, since: Option<Instant>, probe: impl Future<Output = Outcome>) -> Outcome {
        let mut last = self.last.lock().await;
        if let Some(p) = last.as_ref().filter(|p| since.is_none_or(|s| p.at >= s)) {
            return p.outcome.clone();
        }
        let at = Instant::now();
        let outcome = probe.await;
        *last = Some(Probed {
            at,
            outcome: outcome.clone(),
        });
        outcome
    }

    /// The latest verdict and how long ago the probe began, for `/status`.
    pub fn latest(&self) -> Option<(Outcome, Duration)> {
        let last = self.last.try_lock().ok()?;
        last.as_ref().map(|p| (p.outcome.clone(), p.at.elapsed()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
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
}
