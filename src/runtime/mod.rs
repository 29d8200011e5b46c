//! [`Runtime`]: the workspaces a daemon runs. Each has its own scheduler
//! task and GitLab context, built from the config and the stored connection
//! ([`build`]). Workspaces come from the config file and from the store's
//! run-time records ([`workspaces`]). A reload applies a new config to all of
//! them (run-time ones included); an action that changed a connection
//! re-plans that one workspace, and one workspace is added or removed,
//! without touching the others.
//!
//! The runtime is shared (`Arc<Runtime>`) by the daemon's wiring, the
//! actions and the HTTP layer, and locks its own state: callers never hold
//! a lock across an `await`.

mod build;
mod ownership;
pub mod workspaces;

pub use build::{Built, build, build_all, build_workspace, plans};
pub use ownership::Ownership;
pub use workspaces::{Listed, Origin, Record};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::checks::Shared;
use crate::config::{Config, FieldError, WorkspaceConfig, workspace_body};
use crate::engine::{Scheduler, StatusStore};
use crate::gitlab::GitlabMetrics;
use crate::report::{ConnectionView, Connections, Fleet, InstanceView, ProbeView};
use crate::store::{ConnectionStore, WorkspaceRecord};

/// The scheduled workspaces over one status store. Dropping it stops them.
pub struct Runtime {
    /// What every check last found; kept across reloads and re-plans.
    status: Arc<StatusStore>,
    /// The encrypted connection store; `None` runs on `token_file` alone.
    store: Option<Arc<ConnectionStore>>,
    /// What every workspace's checks share; kept across reloads, so metric
    /// counters do not restart.
    shared: Shared,
    /// The config and the workspaces running it, changed by reloads and
    /// actions.
    state: Mutex<State>,
    /// Woken when a workspace is created or deleted here, so that a
    /// replica shares it out at once rather than at its next lease round.
    catalogue_changed: Arc<Notify>,
}

struct State {
    config: Arc<Config>,
    scheduler: Scheduler,
    /// The store's run-time records, shadowed or not, valid or not: kept
    /// so a reload validates them again without reading the store.
    records: BTreeMap<String, Record>,
    /// Every workspace by name, from the file and the records: lookups
    /// and the API's listing in O(log N).
    workspaces: BTreeMap<String, Listed>,
    running: BTreeMap<String, Running>,
    /// When replicas share the fleet: the leases this one holds, and only
    /// those workspaces run here. `None`: every workspace runs here.
    ownership: Option<Arc<Ownership>>,
}

impl State {
    /// Whether `workspace` runs here.
    fn owns(&self, workspace: &str) -> bool {
        self.ownership.as_ref().is_none_or(|o| o.epoch(workspace).is_some())
    }
}

/// One scheduled workspace.
struct Running {
    task: JoinHandle<()>,
    /// Wakes the scheduler task to run every check now.
    trigger: Arc<Notify>,
    built: Built,
}

impl Runtime {
    /// Starts scheduling `config`'s workspaces and the run-time workspaces
    /// recorded in `store`, with connections from `store` when given.
    /// Needs a tokio runtime.
    pub fn start(config: Config, store: Option<Arc<ConnectionStore>>) -> Runtime {
        Runtime::start_sharing(config, store, None)
    }

    /// [`Runtime::start`] for a replica that shares the fleet: nothing runs
    /// until [`Runtime::set_owned`] hands it its leases.
    pub fn start_sharing(
        config: Config,
        store: Option<Arc<ConnectionStore>>,
        ownership: Option<Arc<Ownership>>,
    ) -> Runtime {
        let records = store.as_deref().map(read_records).unwrap_or_default();
        let status = Arc::new(StatusStore::new());
        let runtime = Runtime {
            state: Mutex::new(State {
                scheduler: Scheduler::new(status.clone(), config.engine.concurrency),
                config: Arc::new(config.clone()),
                records,
                workspaces: BTreeMap::new(),
                running: BTreeMap::new(),
                ownership,
            }),
            status,
            store,
            shared: Shared::default(),
            catalogue_changed: Arc::new(Notify::new()),
        };
        runtime.apply(config);
        runtime
    }

    /// Replaces the running schedule with `config`'s and the run-time
    /// workspaces' (validated again under `config`). Results of checks that
    /// still exist are kept; all checks run again at once.
    pub fn apply(&self, config: Config) {
        let mut state = self.lock();
        stop(&mut state.running);
        state.scheduler = Scheduler::new(self.status.clone(), config.engine.concurrency);
        self.shared.instances.configure(&config.instances);
        state.config = Arc::new(config);
        let config = state.config.clone();
        state.workspaces = workspaces::catalogue(&config, &state.records);
        let built: Vec<Built> = state
            .workspaces
            .values()
            .filter_map(|w| w.config.as_deref())
            .filter(|ws| state.owns(&ws.name))
            .map(|ws| build_workspace(&config, ws, self.store.as_ref(), &self.shared))
            .collect();
        self.status.set_layout(built.iter().map(|b| b.plan.layout()).collect());
        // Spread over the interval by name (`engine::phase`): no herd at
        // start or after a reload.
        let fleet = built.len();
        for b in built {
            let phase = crate::engine::phase(&b.plan.workspace, fleet, b.gitlab.config.interval);
            start(&mut state, b, phase);
        }
    }

    /// Rebuilds one workspace from its settings and its stored connection
    /// (after connect, disconnect, a rotation or a new repository list) and
    /// runs its checks at once. False for an unknown workspace or one that
    /// does not run.
    pub fn replan(&self, workspace: &str) -> bool {
        let mut state = self.lock();
        let Some(ws) = state.workspaces.get(workspace).and_then(|w| w.config.clone()) else {
            return false;
        };
        if !state.owns(workspace) {
            // Its owner re-plans it (the store's change notice tells it).
            return true;
        }
        let built = build_workspace(&state.config, &ws, self.store.as_ref(), &self.shared);
        self.start_one(&mut state, built);
        true
    }

    /// The connection store, when there is one.
    pub fn store(&self) -> Option<Arc<ConnectionStore>> {
        self.store.clone()
    }

    /// One workspace as the runtime knows it: either origin, running or not.
    pub fn workspace(&self, name: &str) -> Option<Listed> {
        self.lock().workspaces.get(name).cloned()
    }

    /// The settings of a workspace that runs, of either origin.
    pub fn workspace_config(&self, name: &str) -> Option<Arc<WorkspaceConfig>> {
        self.lock().workspaces.get(name).and_then(|w| w.config.clone())
    }

    /// Where workspace `name` comes from, without copying its record.
    pub fn origin(&self, name: &str) -> Option<Origin> {
        self.lock().workspaces.get(name).map(|w| w.origin)
    }

    /// `limit` workspaces from the `offset`-th, by name, and how many there are.
    pub fn list(&self, offset: usize, limit: usize) -> (usize, Vec<Listed>) {
        let state = self.lock();
        let page = state.workspaces.values().skip(offset).take(limit).cloned().collect();
        (state.workspaces.len(), page)
    }

    /// The names of the workspaces running here whose settings satisfy `pick`.
    pub fn names_where(&self, pick: impl Fn(&WorkspaceConfig) -> bool) -> Vec<String> {
        let state = self.lock();
        state
            .workspaces
            .values()
            .filter_map(|w| w.config.as_deref())
            .filter(|ws| state.owns(&ws.name) && pick(ws))
            .map(|ws| ws.name.clone())
            .collect()
    }

    /// Every workspace that can run (valid settings), here or on another
    /// replica: what the lease loop shares out.
    pub fn runnable(&self) -> Vec<String> {
        self.lock()
            .workspaces
            .values()
            .filter(|w| w.config.is_some())
            .map(|w| w.name.clone())
            .collect()
    }

    /// The names of the run-time records the runtime holds.
    pub fn record_names(&self) -> Vec<String> {
        self.lock().records.keys().cloned().collect()
    }

    /// Reads one run-time record again (another replica created, updated
    /// or deleted it): the catalogue follows, a deleted workspace stops
    /// here, and an updated one that runs here is rebuilt with its new
    /// settings. A config-file workspace of that name wins, as at start.
    pub fn reread_record(&self, name: &str) {
        let Some(store) = self.store.as_deref() else {
            return;
        };
        let record = match store.load_workspace(name) {
            Ok(Some(r)) => Some(Record::Read(r)),
            Ok(None) => None,
            Err(e) if e.is_unavailable() => {
                // The lease rounds compare the record names again later.
                tracing::warn!(workspace = name, error = %e, "Cannot read a workspace another replica changed");
                return;
            }
            Err(e) => Some(Record::Unreadable(e.to_string())),
        };
        let mut state = self.lock();
        if state.workspaces.get(name).is_some_and(|w| w.origin == Origin::Config) {
            return;
        }
        let Some(record) = record else {
            state.records.remove(name);
            state.workspaces.remove(name);
            let stopped = state.running.remove(name);
            drop(state);
            if let Some(r) = stopped {
                r.task.abort();
                self.forget_results(name);
            }
            return;
        };
        let listed = workspaces::resolve(&state.config, name, &record);
        workspaces::log_invalid(&listed);
        state.records.insert(name.to_owned(), record);
        let config = listed.config.clone();
        state.workspaces.insert(name.to_owned(), listed);
        match config {
            Some(ws) if state.owns(name) && state.running.contains_key(name) => {
                let built = build_workspace(&state.config, &ws, self.store.as_ref(), &self.shared);
                self.start_one(&mut state, built);
            }
            // No longer valid here: it stops, and is listed with its errors.
            None => {
                if let Some(r) = state.running.remove(name) {
                    r.task.abort();
                }
            }
            // Not running here: its owner, or the next lease round, starts it.
            Some(_) => {}
        }
    }

    /// Reads the run-time records again (another replica created or
    /// deleted one) and rebuilds the catalogue; what runs here follows at
    /// the next [`Runtime::set_owned`].
    pub fn reload_records(&self) {
        let Some(store) = self.store.as_deref() else {
            return;
        };
        let records = read_records(store);
        let mut state = self.lock();
        state.workspaces = workspaces::catalogue(&state.config, &records);
        state.records = records;
        // Deleted elsewhere: it stops here too, with its results and series.
        let gone: Vec<String> = state
            .running
            .keys()
            .filter(|name| state.workspaces.get(*name).is_none_or(|w| w.config.is_none()))
            .cloned()
            .collect();
        for name in &gone {
            if let Some(r) = state.running.remove(name) {
                r.task.abort();
            }
        }
        drop(state);
        for name in gone {
            self.forget_results(&name);
        }
    }

    /// The leases this replica holds now: workspaces it lost stop (and
    /// their results and metric series go: their owner reports them),
    /// workspaces it gained start, those in `at_once` (taken over from a
    /// dead replica) at once, the others at their phase of the interval.
    pub fn set_owned(&self, held: BTreeMap<String, i64>, at_once: &[String]) {
        let mut state = self.lock();
        let Some(ownership) = state.ownership.clone() else {
            return;
        };
        ownership.set(held, at_once.len());
        let lost: Vec<String> = state.running.keys().filter(|name| !state.owns(name)).cloned().collect();
        for name in &lost {
            if let Some(r) = state.running.remove(name) {
                r.task.abort();
            }
        }
        let gained: Vec<Arc<WorkspaceConfig>> = state
            .workspaces
            .values()
            .filter(|w| state.owns(&w.name) && !state.running.contains_key(&w.name))
            .filter_map(|w| w.config.clone())
            .collect();
        let fleet = state.workspaces.len();
        let config = state.config.clone();
        drop(state);
        for name in lost {
            self.forget_results(&name);
        }
        // Built without the lock: each reads its connection from the
        // store, a round trip to the database that `/status`, the admin
        // API and the other workspaces must not wait behind.
        let built: Vec<(Arc<WorkspaceConfig>, Built)> = gained
            .into_iter()
            .map(|ws| {
                let built = build_workspace(&config, &ws, self.store.as_ref(), &self.shared);
                (ws, built)
            })
            .collect();
        let mut state = self.lock();
        for (ws, built) in built {
            // Meanwhile started by a change notice (that one stands), or its
            // settings changed again (the next lease round starts it with
            // them).
            let current = state.workspaces.get(&ws.name).and_then(|w| w.config.clone());
            if state.running.contains_key(&ws.name) || !current.is_some_and(|c| Arc::ptr_eq(&c, &ws)) {
                continue;
            }
            self.status.set_workspace(built.plan.layout());
            let phase = if at_once.contains(&ws.name) {
                std::time::Duration::ZERO
            } else {
                crate::engine::phase(&ws.name, fleet, ws.interval)
            };
            start(&mut state, built, phase);
        }
    }

    /// The replica's ownership, when it shares the fleet.
    pub fn ownership(&self) -> Option<Arc<Ownership>> {
        self.lock().ownership.clone()
    }

    /// Validates a run-time workspace's body under the running config.
    pub fn validate(&self, name: &str, body: &serde_json::Value) -> Result<WorkspaceConfig, Vec<FieldError>> {
        let config = self.config();
        workspace_body::validate(&config, name, body)
    }

    /// Runs a run-time workspace the store now records (created or
    /// updated): only this workspace is (re)built and (re)laid out. `Err`
    /// with the running definition when the config file has one of that name.
    pub fn put_workspace(&self, record: WorkspaceRecord, ws: WorkspaceConfig) -> Result<(), Listed> {
        let mut state = self.lock();
        let name = ws.name.clone();
        if let Some(existing) = state.workspaces.get(&name).filter(|w| w.origin == Origin::Config) {
            return Err(existing.clone());
        }
        state.records.insert(name.clone(), Record::Read(record.clone()));
        let ws = Arc::new(ws);
        state.workspaces.insert(
            name,
            Listed {
                name: ws.name.clone(),
                origin: Origin::Api,
                config: Some(ws.clone()),
                record: Some(record),
                errors: Vec::new(),
            },
        );
        // Another replica's: its owner starts it (the lease loop hands it
        // out, woken now).
        self.catalogue_changed.notify_one();
        if state.owns(&ws.name) {
            let built = build_workspace(&state.config, &ws, self.store.as_ref(), &self.shared);
            self.start_one(&mut state, built);
        }
        Ok(())
    }

    /// Stops and forgets a run-time workspace: its task, its results and
    /// history, its metric series. False (and nothing done) for a
    /// config-file or unknown workspace.
    pub fn remove_workspace(&self, name: &str) -> bool {
        let mut state = self.lock();
        if state.workspaces.get(name).is_none_or(|w| w.origin != Origin::Api) {
            return false;
        }
        state.workspaces.remove(name);
        state.records.remove(name);
        if let Some(r) = state.running.remove(name) {
            r.task.abort();
        }
        drop(state);
        self.forget_results(name);
        self.catalogue_changed.notify_one();
        true
    }

    /// Forgets what a workspace that no longer runs here left: its results
    /// and history, and its metric series (deleted, or now another
    /// replica's, which reports them).
    fn forget_results(&self, name: &str) {
        self.status.remove_workspace(name);
        self.shared.gitlab_metrics.forget_workspace(name);
    }

    /// Woken when a workspace is created or deleted here.
    pub fn catalogue_changed(&self) -> Arc<Notify> {
        self.catalogue_changed.clone()
    }

    /// Makes every check of `workspace` (or of all workspaces, of which
    /// there may be none yet) due now. False for an unknown workspace.
    pub fn run_now(&self, workspace: Option<&str>) -> bool {
        let state = self.lock();
        match workspace {
            Some(name) => state.running.get(name).inspect(|r| r.trigger.notify_one()).is_some(),
            None => {
                for r in state.running.values() {
                    r.trigger.notify_one();
                }
                true
            }
        }
    }

    /// How many workspaces there are, of either origin, running or not.
    pub fn len(&self) -> usize {
        self.lock().workspaces.len()
    }

    pub fn is_empty(&self) -> bool {
        self.lock().workspaces.is_empty()
    }

    /// The config being run.
    pub fn config(&self) -> Arc<Config> {
        self.lock().config.clone()
    }

    pub fn status(&self) -> Arc<StatusStore> {
        self.status.clone()
    }

    /// What the workspaces on one instance share; the actions' clients use
    /// the same pools and budgets.
    pub fn instances(&self) -> &crate::checks::Instances {
        &self.shared.instances
    }

    /// The GitLab clients' counters, for `/metrics` and for the clients the
    /// actions build.
    pub fn gitlab_metrics(&self) -> &GitlabMetrics {
        &self.shared.gitlab_metrics
    }

    /// (Re)starts one built workspace. Its status layout is published
    /// first (a task that finished its first round before its checks were
    /// laid out would have its results dropped), and only its own: the
    /// other workspaces' are not touched.
    fn start_one(&self, state: &mut State, built: Built) {
        if let Some(old) = state.running.remove(&built.plan.workspace) {
            old.task.abort();
        }
        self.status.set_workspace(built.plan.layout());
        // Added or changed at run time: its checks run at once.
        start(state, built, std::time::Duration::ZERO);
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Spawns the scheduler task of a workspace whose layout is published; its
/// first round begins `phase` from now.
fn start(state: &mut State, built: Built, phase: std::time::Duration) {
    let trigger = Arc::new(Notify::new());
    let task = tokio::spawn(
        state
            .scheduler
            .clone()
            .run_workspace(built.plan.clone(), trigger.clone(), phase),
    );
    state
        .running
        .insert(built.plan.workspace.clone(), Running { task, trigger, built });
}

/// Every workspace a daemon on `config` and `store` runs, built for one
/// round (`labwatch check`): the file's and, with a store, the run-time
/// ones that validate under `config`, by name.
pub fn build_known(config: &Config, store: Option<&Arc<ConnectionStore>>, shared: &Shared) -> Vec<Built> {
    let Some(store) = store else {
        return build::build_all(config, None, shared);
    };
    workspaces::catalogue(config, &read_records(store))
        .values()
        .filter_map(|listed| listed.config.as_deref())
        .map(|ws| build::build_workspace(config, ws, Some(store), shared))
        .collect()
}

/// The settings of every workspace a daemon on `config` and `store` runs,
/// as it runs them (the stored connection's instance and repositories
/// applied), by name: what `labwatch checks list` lists. Reads the store,
/// writes nothing.
pub fn known_settings(config: &Config, store: Option<&Arc<ConnectionStore>>) -> Vec<WorkspaceConfig> {
    let Some(store) = store else {
        return config.workspaces.clone();
    };
    workspaces::catalogue(config, &read_records(store))
        .values()
        .filter_map(|listed| listed.config.as_deref())
        .map(|ws| build::effective_settings(ws, Some(store)))
        .collect()
}

/// The store's run-time records at start. A file that cannot be read is
/// kept as its error, to be listed; a store that cannot be listed is logged
/// and runs the config's workspaces alone.
fn read_records(store: &ConnectionStore) -> BTreeMap<String, Record> {
    match store.list_workspaces() {
        Ok(list) => list
            .into_iter()
            .map(|(name, r)| {
                let record = match r {
                    Ok(r) => Record::Read(r),
                    Err(e) => {
                        tracing::error!(workspace = %name, error = %e, "Cannot read a run-time workspace's record");
                        Record::Unreadable(e.to_string())
                    }
                };
                (name, record)
            })
            .collect(),
        Err(e) => {
            tracing::error!(error = %e, "Cannot list the run-time workspaces in the store; running the config's alone");
            BTreeMap::new()
        }
    }
}

impl Runtime {
    /// The running workspaces other than `except` whose token is GitLab's
    /// token `token_id` on instance `instance_url` (display form), as the
    /// store or their last token check saw it; by name. A token's id is its
    /// identity at GitLab, so no secret is compared. In memory: O(running
    /// workspaces), and a replica sees only the workspaces it runs.
    pub fn sharing_token(&self, instance_url: &str, token_id: u64, except: &str) -> Vec<String> {
        self.lock()
            .running
            .iter()
            .filter(|(name, r)| {
                name.as_str() != except
                    && r.built.plan.instance_url == instance_url
                    && r.built.connection().token.is_some_and(|t| t.id == token_id)
            })
            .map(|(name, _)| name.clone())
            .collect()
    }
}

impl Connections for Runtime {
    fn connection(&self, workspace: &str) -> ConnectionView {
        self.lock()
            .running
            .get(workspace)
            .map(|r| r.built.connection())
            .unwrap_or_default()
    }
}

impl Fleet for Runtime {
    /// Each instance with its workspaces, budget and round estimate, from
    /// the running workspaces' clients: a workspace's requests per round is
    /// what its client was asked to send (sent, or held back by a budget)
    /// over the rounds its plan began (two, the usual cost, before its
    /// first).
    fn instances(&self) -> Vec<InstanceView> {
        let state = self.lock();
        let mut by_url: BTreeMap<String, InstanceView> = BTreeMap::new();
        for r in state.running.values() {
            let gitlab = &r.built.gitlab;
            let Ok(client) = &gitlab.client else { continue };
            let url = crate::config::instance_url::display(&gitlab.config.instance_url);
            let limits = client.instance().budget().limits();
            let rounds = r.built.plan.rounds();
            let per_round = if rounds == 0 {
                2.0
            } else {
                client.asked() as f64 / rounds as f64
            };
            let interval = gitlab.config.interval.as_secs_f64();
            let view = by_url.entry(url.clone()).or_insert_with(|| InstanceView {
                url,
                workspaces: 0,
                requests_per_minute: limits.requests_per_minute,
                unauthenticated_per_minute: limits.unauthenticated_per_minute,
                // The instance probe: one per interval for all of them.
                requests_per_round: 1.0,
                interval_seconds: interval,
                full_round_seconds: None,
                behind_seconds: 0.0,
                probe: gitlab.instance_probe.latest().map(|(outcome, age)| ProbeView {
                    status: outcome.status,
                    reason: outcome.reason.to_string(),
                    summary: outcome.summary,
                    age_seconds: age.as_secs_f64(),
                }),
            });
            view.workspaces += 1;
            view.requests_per_round += per_round;
            view.interval_seconds = view.interval_seconds.min(interval);
        }
        by_url.into_values().map(InstanceView::with_round_estimate).collect()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        stop(&mut self.lock().running);
    }
}

fn stop(running: &mut BTreeMap<String, Running>) {
    for (_, r) in std::mem::take(running) {
        r.task.abort();
    }
}
