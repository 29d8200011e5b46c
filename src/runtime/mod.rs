//! [`Runtime`]: the workspaces a daemon runs. Each has its own scheduler
//! task and GitLab context, built from the config and the stored connection
//! ([`build`]). A reload applies a new config to all of them; an action that
//! changed a connection re-plans that one workspace without touching the
//! others.
//!
//! The runtime is shared (`Arc<Runtime>`) by the daemon's wiring, the
//! actions and the HTTP layer, and locks its own state: callers never hold
//! a lock across an `await`.

mod build;

pub use build::{Built, build, build_all, plans};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::checks::Shared;
use crate::config::Config;
use crate::engine::{Scheduler, StatusStore};
use crate::gitlab::GitlabMetrics;
use crate::report::{ConnectionView, Connections, Fleet, InstanceView, ProbeView};
use crate::store::ConnectionStore;

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
}

struct State {
    config: Arc<Config>,
    scheduler: Scheduler,
    running: BTreeMap<String, Running>,
}

/// One scheduled workspace.
struct Running {
    task: JoinHandle<()>,
    /// Wakes the scheduler task to run every check now.
    trigger: Arc<Notify>,
    built: Built,
}

impl Runtime {
    /// Starts scheduling `config`'s workspaces, with connections from
    /// `store` when given. Needs a tokio runtime.
    pub fn start(config: Config, store: Option<Arc<ConnectionStore>>) -> Runtime {
        let status = Arc::new(StatusStore::new());
        let runtime = Runtime {
            state: Mutex::new(State {
                scheduler: Scheduler::new(status.clone(), config.engine.concurrency),
                config: Arc::new(config.clone()),
                running: BTreeMap::new(),
            }),
            status,
            store,
            shared: Shared::default(),
        };
        runtime.apply(config);
        runtime
    }

    /// Replaces the running schedule with `config`'s. Results of checks that
    /// still exist are kept; all checks run again at once.
    pub fn apply(&self, config: Config) {
        let mut state = self.lock();
        stop(&mut state.running);
        state.scheduler = Scheduler::new(self.status.clone(), config.engine.concurrency);
        self.shared.instances.configure(&config.instances);
        state.config = Arc::new(config);
        let config = state.config.clone();
        let built = build_all(&config, self.store.as_ref(), &self.shared);
        // Spread over the interval by name (`engine::phase`): no herd at
        // start or after a reload.
        let fleet = built.len();
        self.start_all(&mut state, built, |b: &Built| {
            crate::engine::phase(&b.plan.workspace, fleet, b.gitlab.config.interval)
        });
    }

    /// Rebuilds one workspace from the config and its stored connection
    /// (after connect, disconnect, a rotation or a new repository list) and
    /// runs its checks at once. False for an unknown workspace.
    pub fn replan(&self, workspace: &str) -> bool {
        let mut state = self.lock();
        let Some(built) = build(&state.config, workspace, self.store.as_ref(), &self.shared) else {
            return false;
        };
        if let Some(old) = state.running.remove(workspace) {
            old.task.abort();
        }
        // Changed by an action: its checks run at once.
        self.start_all(&mut state, vec![built], |_: &Built| std::time::Duration::ZERO);
        true
    }

    /// Makes every check of `workspace` (or of all workspaces) due now.
    /// False for an unknown workspace.
    pub fn run_now(&self, workspace: Option<&str>) -> bool {
        let mut found = false;
        for (name, r) in &self.lock().running {
            if workspace.is_none_or(|w| w == name) {
                r.trigger.notify_one();
                found = true;
            }
        }
        found
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

    /// Starts built workspaces. The status layout is published first: a task
    /// that finished its first round before its checks were laid out would
    /// have its results dropped.
    fn start_all(&self, state: &mut State, built: Vec<Built>, phase: impl Fn(&Built) -> std::time::Duration) {
        let layout = state
            .config
            .workspaces
            .iter()
            .filter_map(|w| {
                built
                    .iter()
                    .find(|b| b.plan.workspace == w.name)
                    .or_else(|| state.running.get(&w.name).map(|r| &r.built))
            })
            .map(|b| b.plan.layout())
            .collect();
        self.status.set_layout(layout);
        for built in built {
            let trigger = Arc::new(Notify::new());
            let task = tokio::spawn(state.scheduler.clone().run_workspace(
                built.plan.clone(),
                trigger.clone(),
                phase(&built),
            ));
            state
                .running
                .insert(built.plan.workspace.clone(), Running { task, trigger, built });
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
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
