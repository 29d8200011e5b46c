//! Which workspaces this daemon runs when replicas share a fleet: the
//! replica's name and the leases it holds, each with its epoch (see
//! `store::postgres::lease`). Kept up to date by the daemon's lease loop;
//! read by the runtime (what to schedule) and by the actions (the fence
//! before an owner-only write, such as a scheduled rotation).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// This replica and the leases it holds.
#[derive(Debug)]
pub struct Ownership {
    replica: String,
    held: Mutex<BTreeMap<String, i64>>,
    /// Leases taken over from replicas that stopped renewing them.
    taken_over: AtomicU64,
    /// How many lease rounds gained a workspace: the actions look for
    /// rotations to settle in what was gained when it moves.
    gains: AtomicU64,
}

impl Ownership {
    pub fn new(replica: impl Into<String>) -> Ownership {
        Ownership {
            replica: replica.into(),
            held: Mutex::new(BTreeMap::new()),
            taken_over: AtomicU64::new(0),
            gains: AtomicU64::new(0),
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

    /// How many workspaces it owns now.
    pub fn owned(&self) -> usize {
        self.lock().len()
    }

    /// Leases taken over since start.
    pub fn taken_over(&self) -> u64 {
        self.taken_over.load(Ordering::Relaxed)
    }

    /// Changes each time a lease round gains a workspace (a new lease, or
    /// one taken again at a new epoch).
    pub fn gains(&self) -> u64 {
        self.gains.load(Ordering::Relaxed)
    }

    pub(super) fn set(&self, held: BTreeMap<String, i64>, taken_over: usize) {
        let mut current = self.lock();
        if held.iter().any(|(ws, epoch)| current.get(ws) != Some(epoch)) {
            self.gains.fetch_add(1, Ordering::Relaxed);
        }
        *current = held;
        drop(current);
        self.taken_over.fetch_add(taken_over as u64, Ordering::Relaxed);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, i64>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }
}
