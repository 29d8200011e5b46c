//! The [`StatusStore`]: what every check last found, per workspace (by
//! name), in the order the checks were planned. Endpoints, metrics and
//! reports read snapshots of it; only the scheduler writes. Every change of
//! a check's status or reason also goes to the store's [`History`] of
//! transitions.
//!
//! Workspaces are keyed by name in a B-tree: a fleet has tens of thousands,
//! each check's result is recorded under its workspace, and one workspace
//! is added, re-laid-out or removed without touching the others
//! ([`StatusStore::set_workspace`], [`StatusStore::remove_workspace`]).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::watch;

use super::history::{History, Transition};
use super::{Outcome, Status};

/// Identifies one check of one workspace (and its target, for per-repository
/// checks).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CheckKey {
    pub workspace: String,
    pub check: String,
    pub target: Option<String>,
}

/// What the store keeps per check.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckState {
    pub outcome: Outcome,
    /// The root-cause check when this one was not run because of it.
    pub blocked_by: Option<String>,
    /// How long the last run took (zero when blocked).
    pub duration: Duration,
    pub last_run: OffsetDateTime,
    /// Last time the check passed (ok or warning: the thing worked).
    pub last_success: Option<OffsetDateTime>,
    /// Critical or unknown runs in a row; blocked rounds do not count, since
    /// the check did not run.
    pub consecutive_failures: u32,
}

impl CheckState {
    pub fn is_blocked(&self) -> bool {
        self.blocked_by.is_some()
    }
}

/// A read-only copy of one workspace's results.
#[derive(Debug, Clone)]
pub struct WorkspaceView {
    pub name: String,
    pub instance_url: String,
    pub checks: Vec<CheckView>,
    /// Completed scheduler passes; 0 until the first round finished.
    pub passes: u64,
}

/// One check in a [`WorkspaceView`]. Everything is shared with the store, so
/// a snapshot of ten thousand checks costs reference counts, not copies.
#[derive(Debug, Clone)]
pub struct CheckView {
    pub check: Arc<str>,
    pub target: Option<Arc<str>>,
    /// `None` until the check first ran.
    pub state: Option<Arc<CheckState>>,
}

impl WorkspaceView {
    /// The worst status among checks that ran; blocked checks are left out so
    /// one outage counts once (its root cause carries the status). `Unknown`
    /// before anything ran.
    pub fn status(&self) -> Status {
        aggregate(self.checks.iter().filter_map(|c| c.state.as_deref()))
    }
}

/// Worst status of non-blocked states; `Unknown` when there is none.
pub fn aggregate<'a>(states: impl Iterator<Item = &'a CheckState>) -> Status {
    let mut worst = None;
    for s in states.filter(|s| !s.is_blocked()) {
        worst = Some(worst.map_or(s.outcome.status, |w: Status| w.max(s.outcome.status)));
    }
    worst.unwrap_or(Status::Unknown)
}

struct Slot {
    check: Arc<str>,
    target: Option<Arc<str>>,
    state: Option<Arc<CheckState>>,
}

struct WorkspaceEntry {
    name: String,
    instance_url: String,
    slots: Vec<Slot>,
    /// Slot index by [`slot_key`], for a workspace with more than
    /// [`INDEXED_FROM`] checks: it may watch thousands of repositories, and
    /// every run records and reads its slot. A fleet's workspaces have a
    /// handful, found faster by a look at each than by building a key.
    index: Option<HashMap<String, usize>>,
    passes: u64,
    /// How many of its checks fail `/health` ([`Health::of`]), kept as
    /// results are recorded, so `/health` over ten thousand workspaces looks
    /// at the few in trouble instead of every check.
    failing: u32,
    /// How many warn (failing `/health?strict`).
    warning: u32,
}

/// Checks from which a workspace's slots are indexed.
const INDEXED_FROM: usize = 16;

impl WorkspaceEntry {
    fn position(&self, check: &str, target: Option<&str>) -> Option<usize> {
        match &self.index {
            Some(index) => index.get(&slot_key(check, target)).copied(),
            None => self
                .slots
                .iter()
                .position(|s| &*s.check == check && s.target.as_deref() == target),
        }
    }

    fn slot(&self, check: &str, target: Option<&str>) -> Option<&Slot> {
        self.position(check, target).map(|i| &self.slots[i])
    }

    /// Counts `state` in or out of the health tallies.
    fn tally(&mut self, state: Option<&CheckState>, sign: i32) {
        let health = Health::of(state);
        let add = |n: &mut u32| *n = n.saturating_add_signed(sign);
        if health == Health::Failing {
            add(&mut self.failing);
        }
        if health == Health::Warning {
            add(&mut self.warning);
        }
    }

    /// Whether `/health` (or `/health?strict`) would list one of its checks.
    fn troubled(&self, strict: bool) -> bool {
        self.failing > 0 || (strict && self.warning > 0)
    }
}

/// What a check's last result means to `/health` (`http::probes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    Fine,
    /// Fails only `/health?strict`.
    Warning,
    /// Fails `/health`: critical, or unknown and not blocked (a blocked
    /// check's root cause already fails), or not run yet.
    Failing,
}

impl Health {
    pub fn of(state: Option<&CheckState>) -> Health {
        let Some(state) = state else { return Health::Failing };
        match state.outcome.status {
            Status::Ok => Health::Fine,
            Status::Warning => Health::Warning,
            Status::Critical => Health::Failing,
            Status::Unknown if state.is_blocked() => Health::Fine,
            Status::Unknown => Health::Failing,
        }
    }
}

/// What `/health` needs: whether every workspace asked about finished its
/// first round, and the views of those with a check that fails it.
pub struct Troubled {
    pub first_round_done: bool,
    pub views: Vec<WorkspaceView>,
}

/// The index key of a check: its name, and its target after a NUL (which
/// neither check names nor repository paths can contain).
fn slot_key(check: &str, target: Option<&str>) -> String {
    match target {
        Some(t) => format!("{check}\0{t}"),
        None => check.to_owned(),
    }
}

/// Shared between the scheduler (writer) and the endpoints (readers).
pub struct StatusStore {
    workspaces: RwLock<BTreeMap<String, WorkspaceEntry>>,
    /// Bumped after every scheduler pass, so tests and `/readyz` can wait for
    /// rounds instead of sleeping.
    passes: watch::Sender<u64>,
    /// Recent status transitions, for the status page.
    history: History,
}

impl Default for StatusStore {
    fn default() -> Self {
        StatusStore::new()
    }
}

/// The planned checks of one workspace: `(name, instance_url, [(check, target)])`.
pub type Layout = (String, String, Vec<(String, Option<String>)>);

impl StatusStore {
    pub fn new() -> Self {
        StatusStore {
            workspaces: RwLock::new(BTreeMap::new()),
            passes: watch::Sender::new(0),
            history: History::default(),
        }
    }

    /// Sets which workspaces and checks exist, keeping the results of checks
    /// that survive (a config reload must not forget what is known).
    /// Workspaces left out are removed, with their history.
    pub fn set_layout(&self, layout: Vec<Layout>) {
        let mut guard = self.write();
        let mut old = std::mem::take(&mut *guard);
        for (name, instance_url, checks) in layout {
            let prev = old.remove(&name);
            guard.insert(name.clone(), entry(name, instance_url, checks, prev));
        }
        drop(guard);
        for name in old.keys() {
            self.history.forget(name);
        }
    }

    /// Adds one workspace, or lays out its checks anew, keeping the results
    /// of checks that survive; the other workspaces are not touched.
    pub fn set_workspace(&self, layout: Layout) {
        let (name, instance_url, checks) = layout;
        let mut guard = self.write();
        let prev = guard.remove(&name);
        guard.insert(name.clone(), entry(name, instance_url, checks, prev));
    }

    /// Forgets a workspace: its results and its transitions in the history.
    /// False when there was none.
    pub fn remove_workspace(&self, name: &str) -> bool {
        let removed = self.write().remove(name).is_some();
        self.history.forget(name);
        removed
    }

    /// Stores a check's new outcome and updates its history.
    pub fn record(
        &self,
        key: &CheckKey,
        outcome: Outcome,
        blocked_by: Option<String>,
        duration: Duration,
        ran_at: OffsetDateTime,
    ) {
        let mut guard = self.write();
        let Some(ws) = guard.get_mut(&key.workspace) else {
            return;
        };
        let Some(i) = ws.position(&key.check, key.target.as_deref()) else {
            // The layout changed under a running check (reload): drop the result.
            return;
        };
        let prev = ws.slots[i].state.take();
        ws.tally(prev.as_deref(), -1);
        let prev_outcome = prev.as_ref().map(|p| &p.outcome);
        if let Some(t) = Transition::between(key, prev_outcome, &outcome, blocked_by.as_deref(), ran_at) {
            self.history.push(t);
        }
        let success = blocked_by.is_none() && outcome.status.is_usable();
        let last_success = if success {
            Some(ran_at)
        } else {
            prev.as_ref().and_then(|p| p.last_success)
        };
        let prev_failures = prev.as_ref().map_or(0, |p| p.consecutive_failures);
        let consecutive_failures = match (&blocked_by, success) {
            (Some(_), _) => prev_failures,
            (None, true) => 0,
            (None, false) => prev_failures.saturating_add(1),
        };
        let state = Arc::new(CheckState {
            outcome,
            blocked_by,
            duration,
            last_run: ran_at,
            last_success,
            consecutive_failures,
        });
        ws.tally(Some(&state), 1);
        ws.slots[i].state = Some(state);
    }

    /// For `/health`: the workspaces (all, or `only`) with a check that
    /// fails it (or warns, with `strict`), and whether they all finished a
    /// round; `None` for an unknown `only`. Looks at every workspace's
    /// tallies, and at the checks of the troubled ones alone.
    pub fn troubled(&self, only: Option<&str>, strict: bool) -> Option<Troubled> {
        let guard = self.read();
        let pick = |w: &&WorkspaceEntry| w.troubled(strict);
        match only {
            Some(name) => {
                let w = guard.get(name)?;
                Some(Troubled {
                    first_round_done: w.passes > 0,
                    views: Some(w).filter(pick).map(view).into_iter().collect(),
                })
            }
            None => Some(Troubled {
                first_round_done: guard.values().all(|w| w.passes > 0),
                views: guard.values().filter(pick).map(view).collect(),
            }),
        }
    }

    pub fn get(&self, key: &CheckKey) -> Option<Arc<CheckState>> {
        let guard = self.read();
        let ws = guard.get(&key.workspace)?;
        ws.slot(&key.check, key.target.as_deref())?.state.clone()
    }

    /// Marks one scheduler pass over a workspace as finished.
    pub fn finish_pass(&self, workspace: &str) {
        if let Some(ws) = self.write().get_mut(workspace) {
            ws.passes += 1;
        }
        self.passes.send_modify(|n| *n += 1);
    }

    /// True once every workspace finished its first round (at once when
    /// there is none: a fleet daemon may start before its first workspace
    /// is created).
    pub fn first_round_done(&self) -> bool {
        let guard = self.read();
        guard.values().all(|w| w.passes > 0)
    }

    /// The recent transitions of every check, newest first (see [`History`]).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// A receiver that changes after every pass of any workspace.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.passes.subscribe()
    }

    pub fn snapshot(&self) -> Vec<WorkspaceView> {
        self.read().values().map(view).collect()
    }

    /// The views of the workspaces that finished a pass since `seen` (their
    /// number of passes then, by name) was taken: what a replica writes as
    /// verdicts, found without copying the others.
    pub fn passed_since(&self, seen: &std::collections::HashMap<String, u64>) -> Vec<WorkspaceView> {
        self.read()
            .iter()
            .filter(|(name, w)| w.passes > 0 && seen.get(*name) != Some(&w.passes))
            .map(|(_, w)| view(w))
            .collect()
    }

    pub fn workspace(&self, name: &str) -> Option<WorkspaceView> {
        self.read().get(name).map(view)
    }

    pub fn workspace_names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Whether workspace `name` is laid out.
    pub fn contains(&self, name: &str) -> bool {
        self.read().contains_key(name)
    }

    /// How many workspaces are laid out.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    // A poisoned lock means a panic while holding it; the data is plain
    // values that are consistent after every assignment, so keep serving.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, WorkspaceEntry>> {
        self.workspaces.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, WorkspaceEntry>> {
        self.workspaces.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// A workspace's entry for `checks`, with the results of `prev`'s checks
/// that survive when its instance is the same.
fn entry(
    name: String,
    instance_url: String,
    checks: Vec<(String, Option<String>)>,
    prev: Option<WorkspaceEntry>,
) -> WorkspaceEntry {
    let prev = prev.filter(|p| p.instance_url == instance_url);
    let mut slots = Vec::with_capacity(checks.len());
    let mut index = (checks.len() > INDEXED_FROM).then(|| HashMap::with_capacity(checks.len()));
    for (check, target) in checks {
        let state = prev
            .as_ref()
            .and_then(|p| p.slot(&check, target.as_deref()))
            .and_then(|s| s.state.clone());
        if let Some(index) = &mut index {
            index.insert(slot_key(&check, target.as_deref()), slots.len());
        }
        slots.push(Slot {
            check: check.into(),
            target: target.map(Into::into),
            state,
        });
    }
    let mut entry = WorkspaceEntry {
        name,
        instance_url,
        slots,
        index,
        passes: prev.map_or(0, |p| p.passes),
        failing: 0,
        warning: 0,
    };
    for i in 0..entry.slots.len() {
        let state = entry.slots[i].state.clone();
        entry.tally(state.as_deref(), 1);
    }
    entry
}

fn view(w: &WorkspaceEntry) -> WorkspaceView {
    WorkspaceView {
        name: w.name.clone(),
        instance_url: w.instance_url.clone(),
        checks: w
            .slots
            .iter()
            .map(|s| CheckView {
                check: s.check.clone(),
                target: s.target.clone(),
                state: s.state.clone(),
            })
            .collect(),
        passes: w.passes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(name: &str, instance: &str) -> Layout {
        (name.into(), instance.into(), vec![("instance".into(), None)])
    }

    fn key(ws: &str) -> CheckKey {
        CheckKey {
            workspace: ws.into(),
            check: "instance".into(),
            target: None,
        }
    }

    fn record(store: &StatusStore, ws: &str) {
        let at = OffsetDateTime::UNIX_EPOCH;
        store.record(&key(ws), Outcome::ok("up"), None, Duration::ZERO, at);
    }

    #[test]
    fn one_workspace_comes_and_goes_without_touching_the_others() {
        let store = StatusStore::new();
        store.set_layout(vec![layout("b", "https://x"), layout("a", "https://x")]);
        record(&store, "a");
        record(&store, "b");
        store.set_workspace(layout("c", "https://x"));
        // Re-laid-out on the same instance: its result stays.
        store.set_workspace(layout("b", "https://x"));
        assert!(store.get(&key("b")).is_some());
        assert_eq!(store.workspace_names(), ["a", "b", "c"]);
        assert!(store.remove_workspace("a"));
        assert!(!store.remove_workspace("a"));
        assert_eq!(store.workspace_names(), ["b", "c"]);
        let left: Vec<String> = store
            .history()
            .newest_first()
            .into_iter()
            .map(|t| t.workspace)
            .collect();
        assert_eq!(left, ["b"]);
        // On another instance nothing of the old results is kept.
        store.set_workspace(layout("b", "https://y"));
        assert!(store.get(&key("b")).is_none());
    }

    #[test]
    fn health_looks_only_at_the_workspaces_whose_tallies_say_they_are_in_trouble() {
        let store = StatusStore::new();
        store.set_layout(vec![layout("a", "https://x"), layout("b", "https://x")]);
        let troubled = |strict| {
            let t = store.troubled(None, strict).unwrap();
            let names: Vec<String> = t.views.iter().map(|v| v.name.clone()).collect();
            (t.first_round_done, names)
        };
        assert_eq!(troubled(false), (false, vec!["a".into(), "b".into()]), "not run yet");
        record(&store, "a");
        record(&store, "b");
        store.finish_pass("a");
        store.finish_pass("b");
        assert_eq!(troubled(false), (true, vec![]));
        let at = OffsetDateTime::UNIX_EPOCH;
        store.record(
            &key("b"),
            Outcome::new(Status::Warning, crate::engine::Reason::RateLimited, "slow"),
            None,
            Duration::ZERO,
            at,
        );
        assert_eq!(troubled(false), (true, vec![]));
        assert_eq!(troubled(true), (true, vec!["b".into()]), "strict counts warnings");
        store.record(
            &key("b"),
            Outcome::new(Status::Unknown, crate::engine::Reason::Blocked, "blocked"),
            Some("instance".into()),
            Duration::ZERO,
            at,
        );
        assert_eq!(troubled(true), (true, vec![]), "a blocked check is its root cause's");
        store.record(
            &key("a"),
            Outcome::new(Status::Critical, crate::engine::Reason::TcpRefused, "down"),
            None,
            Duration::ZERO,
            at,
        );
        assert_eq!(troubled(false), (true, vec!["a".into()]));
        assert_eq!(store.troubled(Some("b"), false).unwrap().views.len(), 0);
        assert!(store.troubled(Some("zz"), false).is_none());
        // Laid out again, the tallies follow the results it keeps.
        store.set_workspace(layout("a", "https://x"));
        assert_eq!(troubled(false), (true, vec!["a".into()]));
        record(&store, "a");
        assert_eq!(troubled(false), (true, vec![]));
    }
}
