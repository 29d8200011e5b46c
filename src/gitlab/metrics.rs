//! [`GitlabMetrics`]: the GitLab client's counters, per workspace — requests
//! by answer status, GitLab's last `RateLimit-Remaining`, and token
//! rotations by trigger. Plain counters under one lock, copied out and
//! written by `metrics` at scrape time: a fleet has tens of thousands of these series,
//! and a client library's registry copies, sorts and encodes every one of
//! them on every scrape (most of a 10,000-workspace scrape's time).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// What triggers a rotation, in the order the series are written.
pub const TRIGGERS: [&str; 3] = ["alert", "manual", "schedule"];

/// The client's counters; cheap to clone, shared by every workspace's
/// client and the actions.
#[derive(Clone, Default)]
pub struct GitlabMetrics {
    workspaces: Arc<Mutex<BTreeMap<String, WorkspaceCounters>>>,
}

/// One workspace's counters.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WorkspaceCounters {
    /// Requests by answer status code (`"200"`, …, `"error"`), in code order.
    pub requests: BTreeMap<String, u64>,
    /// GitLab's `RateLimit-Remaining` from its last answer that had one.
    pub ratelimit_remaining: Option<i64>,
    /// Rotations that succeeded and failed, by [`TRIGGERS`] index.
    pub renewals: [u64; 3],
    pub renewal_failures: [u64; 3],
}

impl GitlabMetrics {
    pub fn new() -> GitlabMetrics {
        GitlabMetrics::default()
    }

    /// Creates the workspace's renewal series at 0, so `increase()` in alert
    /// rules sees the first rotation or failure too.
    pub fn init_workspace(&self, workspace: &str) {
        self.with(workspace, |_| {});
    }

    /// Removes every series of a deleted workspace.
    pub fn forget_workspace(&self, workspace: &str) {
        self.lock().remove(workspace);
    }

    pub fn renewal(&self, workspace: &str, trigger: &str) {
        if let Some(i) = trigger_index(trigger) {
            self.with(workspace, |c| c.renewals[i] += 1);
        }
    }

    pub fn renewal_failure(&self, workspace: &str, trigger: &str) {
        if let Some(i) = trigger_index(trigger) {
            self.with(workspace, |c| c.renewal_failures[i] += 1);
        }
    }

    pub(super) fn request(&self, workspace: &str, code: &str) {
        self.with(workspace, |c| match c.requests.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                c.requests.insert(code.to_owned(), 1);
            }
        });
    }

    pub(super) fn ratelimit_remaining(&self, workspace: &str, remaining: i64) {
        self.with(workspace, |c| c.ratelimit_remaining = Some(remaining));
    }

    /// Every workspace's counters, in name order: copied under the lock
    /// and written out after, so a scrape of ten thousand workspaces does
    /// not hold up every request's count while it writes.
    pub fn snapshot(&self) -> Vec<(String, WorkspaceCounters)> {
        self.lock().iter().map(|(name, c)| (name.clone(), c.clone())).collect()
    }

    fn with(&self, workspace: &str, f: impl FnOnce(&mut WorkspaceCounters)) {
        let mut map = self.lock();
        match map.get_mut(workspace) {
            Some(c) => f(c),
            None => f(map.entry(workspace.to_owned()).or_default()),
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, WorkspaceCounters>> {
        self.workspaces.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn trigger_index(trigger: &str) -> Option<usize> {
    TRIGGERS.iter().position(|t| *t == trigger)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_start_at_zero_count_and_go_with_their_workspace() {
        let m = GitlabMetrics::new();
        m.init_workspace("acme");
        m.request("acme", "200");
        m.request("acme", "200");
        m.request("acme", "error");
        m.renewal("acme", "manual");
        m.renewal_failure("acme", "schedule");
        m.renewal("acme", "no-such-trigger");
        let seen = m.snapshot();
        assert_eq!(seen.len(), 1);
        let c = &seen[0].1;
        assert_eq!(c.requests.get("200"), Some(&2));
        assert_eq!(c.requests.get("error"), Some(&1));
        assert_eq!(c.renewals, [0, 1, 0]);
        assert_eq!(c.renewal_failures, [0, 0, 1]);
        m.forget_workspace("acme");
        assert!(m.snapshot().is_empty());
    }
}
