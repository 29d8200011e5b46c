//! Which workspaces this daemon runs when replicas share a fleet: the
//! replica's name and the leases it holds, each with its epoch (see
//! `store::postgres::lease`). Kept up to date by the daemon's lease loop;
//! read by the runtime (what to schedule) and by the actions (the fence
//! before an owner-only write, such as a scheduled rotation).

use std::collections::BTreeMap;
use std::sync::Mutex;

/// This replica and the leases it holds.
#[derive(Debug)]
pub struct Ownership {
    replica: String,
    held: Mutex<BTreeMap<String, i64>>,
}

impl Ownership {
    pub fn new(replica: impl Into<String>) -> Ownership {
        Ownership {
            replica: replica.into(),
            held: Mutex::new(BTreeMap::new()),
        }
    }

    /// The replica's name, as the `replicas` table and the logs show it.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// The epoch of `workspace`'s lease, when this replica holds it.
    pub fn epoch(&self, workspace: &str) -> Option<i64> {
        self.lock().get(workspace).copied()
    }

    /// Every lease held, with its epoch.
    pub fn held(&self) -> BTreeMap<String, i64> {
        self.lock().clone()
    }

    pub(super) fn set(&self, held: BTreeMap<String, i64>) {
        *self.lock() = held;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, i64>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}
