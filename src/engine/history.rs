//! Recent status transitions: a bounded in-memory ring buffer that the
//! [`StatusStore`](super::StatusStore) feeds whenever a check's status or
//! reason changes, for the status page and `GET /status/history`. It is lost
//! on restart on purpose: Prometheus keeps the long history.

use std::collections::VecDeque;
use std::sync::Mutex;

use time::OffsetDateTime;

use super::{CheckKey, Outcome, Status};

/// How many transitions are kept; the oldest go first. 500 covers days of a
/// flapping instance while staying a few hundred KiB at most.
pub const HISTORY_CAPACITY: usize = 500;

/// One change of one check's status or reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// When the check produced the new result.
    pub at: OffsetDateTime,
    pub workspace: String,
    pub check: String,
    /// The repository (or other target) for per-target checks.
    pub target: Option<String>,
    /// Status and reason before; `None` for a check's first result.
    pub from: Option<(Status, String)>,
    pub to: Status,
    pub reason: String,
    /// The new result's one-line summary, so the list explains itself.
    pub summary: String,
    /// The root cause when the new result is "blocked".
    pub blocked_by: Option<String>,
}

impl Transition {
    /// The transition of check `key` from `prev` to `next`, or `None` when
    /// neither status nor reason changed (a new summary alone is no
    /// transition: "expires in 5 days" becoming "in 4 days" is not news).
    pub fn between(
        key: &CheckKey,
        prev: Option<&Outcome>,
        next: &Outcome,
        blocked_by: Option<&str>,
        at: OffsetDateTime,
    ) -> Option<Transition> {
        let from = prev.map(|p| (p.status, p.reason.clone()));
        if from
            .as_ref()
            .is_some_and(|(s, r)| *s == next.status && *r == next.reason)
        {
            return None;
        }
        Some(Transition {
            at,
            workspace: key.workspace.clone(),
            check: key.check.clone(),
            target: key.target.clone(),
            from,
            to: next.status,
            reason: next.reason.clone(),
            summary: next.summary.clone(),
            blocked_by: blocked_by.map(str::to_owned),
        })
    }
}

/// The ring buffer. Writers are the store's `record` (under its write
/// lock, so entries keep the order results were stored in); readers copy.
pub struct History {
    entries: Mutex<VecDeque<Transition>>,
    capacity: usize,
}

impl Default for History {
    fn default() -> Self {
        History::new(HISTORY_CAPACITY)
    }
}

impl History {
    /// A buffer of at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> History {
        let capacity = capacity.max(1);
        // Grown as transitions come rather than reserved: a full buffer is
        // about 100 KiB, and a healthy daemon may never record more than its
        // checks' first results.
        History {
            entries: Mutex::new(VecDeque::new()),
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    pub fn push(&self, transition: Transition) {
        let mut entries = self.lock();
        if entries.len() == self.capacity {
            entries.pop_front();
        }
        entries.push_back(transition);
    }

    /// Drops the transitions of a workspace that was removed (a bounded
    /// pass over at most `capacity` entries).
    pub fn forget(&self, workspace: &str) {
        self.lock().retain(|t| t.workspace != workspace);
    }

    /// Every kept transition, newest first.
    pub fn newest_first(&self) -> Vec<Transition> {
        self.lock().iter().rev().cloned().collect()
    }

    // Poisoning means a panic mid-push; the deque is still a valid deque.
    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Transition>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}
