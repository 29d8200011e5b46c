//! Replicas that share a fleet (`docs/store.md`, "Replicas"): on the
//! PostgreSQL store, every daemon is a replica. Its lease loop runs a lease
//! round (`store::postgres::lease`) every third of the lease, or at once
//! when woken (a workspace was created or deleted here), and hands the
//! runtime the workspaces it owns now.
//!
//! Before a round it reads the names of the run-time workspaces in the
//! database: one created or deleted on another replica changes the set to
//! share out. While the database is away, the replica keeps running what it
//! owned (checks only observe), and its owner-only writes are fenced by the
//! lease's epoch.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::report::WorkspaceDoc;
use crate::runtime::{Ownership, Runtime};
use crate::store::{ConnectionStore, LeaseRound, Notice, Slot, StoreError};

/// The environment variable that names this replica; by default the host
/// name and a random suffix, so that a restarted replica never takes its
/// predecessor's leases for its own.
pub const REPLICA_ENV: &str = "LABWATCH_REPLICA_ID";

/// This replica's name.
pub fn replica_id() -> String {
    if let Some(id) = std::env::var(REPLICA_ENV).ok().filter(|v| !v.trim().is_empty()) {
        return id.trim().to_owned();
    }
    format!("{}-{:08x}", hostname(), fastrand::u32(..))
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `buf.len()` bytes into the buffer
    // it is given, which lives for the call.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_owned(),
        _ => "labwatch".to_owned(),
    }
}

/// One round on the blocking pool: refresh the run-time records when the
/// database's set changed, share out, start and stop what changed hands.
pub async fn round(
    runtime: &Arc<Runtime>,
    store: &Arc<ConnectionStore>,
    lease: Duration,
) -> Result<LeaseRound, StoreError> {
    let (runtime, store) = (runtime.clone(), store.clone());
    tokio::task::spawn_blocking(move || {
        let Some(ownership) = runtime.ownership() else {
            return Ok(LeaseRound::default());
        };
        catch_up_records(&runtime, store.names(Slot::Workspace)?);
        let round = store.lease_round(ownership.replica(), lease, &runtime.runnable(), &ownership.held())?;
        runtime.set_owned(round.owned.clone(), &round.taken_over);
        Ok(round)
    })
    .await
    .unwrap_or_else(|e| Err(StoreError::Interrupted { problem: e.to_string() }))
}

/// Above this many differences between the database's run-time records
/// and this replica's, they are all read again in one go rather than one
/// at a time.
const REREAD_ONE_BY_ONE: usize = 32;

/// The run-time records created or deleted elsewhere whose notice this
/// replica missed (`stored`: the names in the database, sorted): each one
/// that differs is read again alone, so a round costs what changed, not
/// the fleet; many at once (a replica that was away long) are read in one
/// go.
fn catch_up_records(runtime: &Runtime, mut stored: Vec<String>) {
    // In byte order, as the runtime keeps them: the database sorts by its
    // collation, which may be another (en_US sorts "b" before "C").
    stored.sort_unstable();
    let known = runtime.record_names();
    if stored == known {
        return;
    }
    let differ = differences(&stored, &known);
    if differ.len() > REREAD_ONE_BY_ONE {
        runtime.reload_records();
    } else {
        for name in differ {
            runtime.reread_record(name);
        }
    }
}

/// The names in one sorted list and not the other, in order.
fn differences<'a>(a: &'a [String], b: &'a [String]) -> Vec<&'a String> {
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    let mut differ = Vec::new();
    loop {
        match (a.peek(), b.peek()) {
            (Some(x), Some(y)) if x == y => {
                a.next();
                b.next();
            }
            (Some(x), Some(y)) if x < y => differ.extend(a.next()),
            (Some(_), Some(_)) | (None, Some(_)) => differ.extend(b.next()),
            (Some(_), None) => differ.extend(a.next()),
            (None, None) => return differ,
        }
    }
}

/// Runs lease rounds until the daemon stops.
pub async fn keep_leases(runtime: Arc<Runtime>, store: Arc<ConnectionStore>, lease: Duration, wake: Arc<Notify>) {
    let mut before: BTreeMap<String, i64> = runtime.ownership().map(|o| o.held()).unwrap_or_default();
    let mut failing = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(lease / 3) => {}
            () = wake.notified() => {}
        }
        match round(&runtime, &store, lease).await {
            Ok(round) => {
                failing = false;
                log_changes(&before, &round);
                before = round.owned;
            }
            Err(e) => {
                // Logged once per outage; the store logs its own too.
                if !failing {
                    tracing::warn!(error = %e, "Cannot renew the workspace leases; running what this replica owned");
                }
                failing = true;
            }
        }
    }
}

/// A line when what this replica owns changed.
pub fn log_changes(before: &BTreeMap<String, i64>, round: &LeaseRound) {
    let gained = round.owned.keys().filter(|n| !before.contains_key(*n)).count();
    if gained == 0 && round.lost.is_empty() {
        return;
    }
    tracing::info!(
        owned = round.owned.len(),
        gained,
        lost = round.lost.len(),
        taken_over = round.taken_over.len(),
        replicas = round.replicas,
        "Workspace leases changed"
    );
}

/// The ownership a new replica starts with, named by [`replica_id`].
pub fn ownership() -> Arc<Ownership> {
    Arc::new(Ownership::new(replica_id()))
}

/// Acts on the other replicas' change notices: a workspace created,
/// updated or deleted elsewhere is read again (that record alone); a connection changed
/// elsewhere is re-planned here when this replica owns it; a run asked
/// elsewhere runs here when it owns the workspace. Its own notices are
/// skipped: it acted already.
pub async fn follow_notices(mut notices: UnboundedReceiver<Notice>, runtime: Arc<Runtime>) {
    let Some(me) = runtime.ownership().map(|o| o.replica().to_owned()) else {
        return;
    };
    while let Some(notice) = notices.recv().await {
        if notice.replica == me {
            continue;
        }
        let runtime = runtime.clone();
        let acted = tokio::task::spawn_blocking(move || match notice.kind.as_str() {
            Notice::RUN => {
                runtime.run_now(Some(&notice.workspace));
            }
            Notice::WORKSPACE => {
                runtime.reread_record(&notice.workspace);
                runtime.catalogue_changed().notify_one();
            }
            _ => {
                runtime.replan(&notice.workspace);
            }
        })
        .await;
        if let Err(e) = acted {
            tracing::error!(error = %e, "Acting on another replica's change notice failed");
        }
    }
}

/// How long the writer waits after a round finished for others to finish
/// too, so that a fleet's verdicts go to the database in batches.
const VERDICT_BATCH: Duration = Duration::from_secs(1);

/// Writes this replica's verdicts after its rounds: every owned workspace
/// whose number of finished rounds moved since its last write, in one
/// statement, fenced by each lease's epoch.
pub async fn write_verdicts(runtime: Arc<Runtime>, store: Arc<ConnectionStore>) {
    let mut passes = runtime.status().subscribe();
    let mut written: HashMap<String, u64> = HashMap::new();
    loop {
        if passes.changed().await.is_err() {
            return;
        }
        tokio::time::sleep(VERDICT_BATCH).await;
        let (rt, st) = (runtime.clone(), store.clone());
        let mut seen = std::mem::take(&mut written);
        let outcome = tokio::task::spawn_blocking(move || {
            let result = write_changed(&rt, &st, &mut seen);
            (seen, result)
        })
        .await;
        match outcome {
            Ok((seen, result)) => {
                written = seen;
                if let Err(e) = result {
                    tracing::debug!(error = %e, "Cannot write the verdicts; the next round tries again");
                }
            }
            Err(e) => tracing::error!(error = %e, "Writing the verdicts failed"),
        }
    }
}

fn write_changed(
    runtime: &Runtime,
    store: &ConnectionStore,
    written: &mut HashMap<String, u64>,
) -> Result<(), StoreError> {
    let Some(ownership) = runtime.ownership() else {
        return Ok(());
    };
    let views = runtime.status().passed_since(written);
    let mut batch = Vec::new();
    let mut done = Vec::new();
    for view in &views {
        let Some(epoch) = ownership.epoch(&view.name) else {
            continue;
        };
        let doc = WorkspaceDoc::new(view, runtime);
        if let Ok(json) = serde_json::to_string(&doc) {
            batch.push((view.name.clone(), epoch, json));
            done.push((view.name.clone(), view.passes));
        }
    }
    if batch.is_empty() {
        return Ok(());
    }
    let wanted = batch.len();
    let stored = store.write_verdicts(ownership.replica(), batch)?;
    if (stored as usize) < wanted {
        tracing::debug!(
            wanted,
            stored,
            "Verdicts of workspaces whose lease this replica lost were not written"
        );
    }
    written.retain(|name, _| ownership.epoch(name).is_some());
    written.extend(done);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::differences;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|n| (*n).to_owned()).collect()
    }

    #[test]
    fn differences_are_the_names_in_one_list_only() {
        let stored = names(&["a", "c", "d", "f"]);
        let known = names(&["b", "c", "e", "f", "g"]);
        let found: Vec<&str> = differences(&stored, &known).into_iter().map(String::as_str).collect();
        assert_eq!(found, ["a", "b", "d", "e", "g"]);
        assert!(differences(&stored, &stored).is_empty());
        assert_eq!(differences(&[], &known).len(), known.len());
        assert_eq!(differences(&stored, &[]).len(), stored.len());
    }
}
