//! The scheduler: runs each workspace's checks on their intervals (with
//! jitter, so many workspaces do not hit GitLab in lockstep), in dependency
//! order, under one concurrency limit, each bounded by an engine-owned
//! timeout, and records what they found in the [`StatusStore`].

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::{Check, CheckKey, Outcome, Reason, RunContext, Status, StatusStore};

/// Share of the interval by which a run may be moved earlier or later.
const JITTER: f64 = 0.1;

/// A check with its schedule.
#[derive(Clone)]
pub struct PlannedCheck {
    pub check: Arc<dyn Check>,
    pub interval: Duration,
    pub timeout: Duration,
}

/// One workspace's checks, grouped into dependency layers.
pub struct Plan {
    pub workspace: String,
    /// Display form, for remediation text of engine-made outcomes.
    pub instance_url: String,
    pub checks: Vec<PlannedCheck>,
    /// Indexes into `checks`; every check's dependencies sit in earlier layers.
    layers: Vec<Vec<usize>>,
    /// The store key of each check, built once: a pass looks keys up for
    /// every check, and a workspace may watch thousands of repositories.
    keys: Vec<CheckKey>,
    /// Rounds begun over this plan. Round numbers key the work checks share
    /// within a round (one project listing for every repository), so each
    /// pass takes a new one, whoever runs it: the daemon's loop or
    /// [`run_once`], however many times.
    rounds: AtomicU64,
}

impl Plan {
    pub fn new(workspace: String, instance_url: String, checks: Vec<PlannedCheck>) -> Plan {
        let layers = layers(&checks);
        let keys = checks
            .iter()
            .map(|c| CheckKey {
                workspace: workspace.clone(),
                check: c.check.name().to_owned(),
                target: c.check.target().map(str::to_owned),
            })
            .collect();
        Plan {
            workspace,
            instance_url,
            checks,
            layers,
            keys,
            rounds: AtomicU64::new(0),
        }
    }

    /// The number of the round that begins now: 1, 2, …
    fn next_round(&self) -> u64 {
        self.rounds.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// The `(check, target)` list the status store lays out.
    pub fn layout(&self) -> super::Layout {
        let checks = self
            .checks
            .iter()
            .map(|c| (c.check.name().to_owned(), c.check.target().map(str::to_owned)))
            .collect();
        (self.workspace.clone(), self.instance_url.clone(), checks)
    }

    fn key(&self, idx: usize) -> &CheckKey {
        &self.keys[idx]
    }
}

/// Depth of each check in the dependency graph, grouped. A dependency on a
/// check the plan does not have is ignored (config validation rejects those);
/// a cycle is broken by treating the back edge as absent.
fn layers(checks: &[PlannedCheck]) -> Vec<Vec<usize>> {
    let index: HashMap<&str, usize> = checks
        .iter()
        .enumerate()
        .filter(|(_, c)| c.check.target().is_none())
        .map(|(i, c)| (c.check.name(), i))
        .collect();
    let mut depth: Vec<Option<usize>> = vec![None; checks.len()];
    fn visit(
        i: usize,
        checks: &[PlannedCheck],
        index: &HashMap<&str, usize>,
        depth: &mut [Option<usize>],
        stack: &mut Vec<usize>,
    ) -> usize {
        if let Some(d) = depth[i] {
            return d;
        }
        stack.push(i);
        let mut d = 0;
        for dep in checks[i].check.depends_on() {
            if let Some(&j) = index.get(dep.as_ref()) {
                if !stack.contains(&j) {
                    d = d.max(visit(j, checks, index, depth, stack) + 1);
                }
            }
        }
        stack.pop();
        depth[i] = Some(d);
        d
    }
    let mut stack = Vec::new();
    for i in 0..checks.len() {
        visit(i, checks, &index, &mut depth, &mut stack);
    }
    let max = depth.iter().flatten().copied().max().unwrap_or(0);
    let mut out = vec![Vec::new(); if checks.is_empty() { 0 } else { max + 1 }];
    for (i, d) in depth.iter().enumerate() {
        out[d.unwrap_or(0)].push(i);
    }
    out
}

/// Runs plans against one store under one concurrency limit.
#[derive(Clone)]
pub struct Scheduler {
    store: Arc<StatusStore>,
    limit: Arc<Semaphore>,
}

impl Scheduler {
    pub fn new(store: Arc<StatusStore>, concurrency: usize) -> Scheduler {
        Scheduler {
            store,
            limit: Arc::new(Semaphore::new(concurrency.max(1))),
        }
    }

    /// Runs a workspace forever: a pass whenever a check is due or `trigger`
    /// is notified (which makes every check due). Stop it by aborting the task.
    pub async fn run_workspace(self, plan: Arc<Plan>, trigger: Arc<Notify>) {
        let mut due = vec![Instant::now(); plan.checks.len()];
        let mut rng = fastrand::Rng::new();
        let mut first = true;
        loop {
            self.pass(&plan, &mut due, &mut rng, plan.next_round()).await;
            self.store.finish_pass(&plan.workspace);
            if first {
                tracing::info!(workspace = %plan.workspace, "First round finished");
                first = false;
            } else {
                // Its own target, so `RUST_LOG=info,labwatch::rounds=debug`
                // shows rounds without a line per passing check.
                tracing::debug!(target: "labwatch::rounds", workspace = %plan.workspace, "Round finished");
            }
            let Some(wake) = due.iter().min().copied() else {
                trigger.notified().await;
                continue;
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {}
                () = trigger.notified() => due.fill(Instant::now()),
            }
        }
    }

    /// One pass: layer by layer, block what depends on a failing check, run
    /// what is due. A run is spawned only once it holds a permit of the
    /// concurrency limit, so a layer of ten thousand repositories keeps a
    /// handful of check futures alive at a time, not ten thousand.
    pub async fn pass(&self, plan: &Arc<Plan>, due: &mut [Instant], rng: &mut fastrand::Rng, round: u64) {
        for layer in &plan.layers {
            let mut runs = JoinSet::new();
            let mut running = HashMap::new();
            // Dependencies sit in earlier layers, so what blocks a check is
            // fixed for the whole layer: work it out once per dependency list.
            let mut blockers: HashMap<&[Cow<'static, str>], Option<Blocker>> = HashMap::new();
            let now = Instant::now();
            for &idx in layer {
                let key = plan.key(idx);
                let prev = self.store.get(key);
                let deps = plan.checks[idx].check.depends_on();
                let blocker = blockers.entry(deps).or_insert_with(|| self.blocker(plan, deps));
                if let Some(b) = blocker {
                    // Recorded again whenever the dependency was (it ran, or
                    // was itself re-recorded as blocked, this round), not
                    // only when the root cause changes: the record's time
                    // says the verdict is current, and a blocked check whose
                    // time froze at the start of an outage looks stale to
                    // whoever judges freshness by it (/status `last_run`).
                    let current = prev
                        .as_ref()
                        .is_some_and(|p| p.blocked_by.as_deref() == Some(b.root.as_str()) && p.last_run >= b.dep_ran);
                    if !current {
                        self.store.record(
                            key,
                            b.outcome.clone(),
                            Some(b.root.clone()),
                            Duration::ZERO,
                            OffsetDateTime::now_utc().max(b.dep_ran),
                        );
                    }
                    // Not `now`: that would wake the loop at once, forever. A
                    // blocked check runs as soon as its dependency recovers
                    // anyway (see `was_blocked`), whenever that one is due.
                    due[idx] = now + plan.checks[idx].interval;
                    continue;
                }
                let was_blocked = prev.is_some_and(|p| p.is_blocked());
                if due[idx] <= now || was_blocked {
                    let permit = self.limit.clone().acquire_owned().await.ok();
                    let id = runs.spawn(run_one(permit, plan.clone(), idx, round)).id();
                    running.insert(id, idx);
                    while let Some(joined) = runs.try_join_next_with_id() {
                        self.finish(plan, &running, joined, due, rng);
                    }
                }
            }
            while let Some(joined) = runs.join_next_with_id().await {
                self.finish(plan, &running, joined, due, rng);
            }
        }
    }

    /// Records a finished run (or the crash of one) and schedules the next.
    fn finish(
        &self,
        plan: &Plan,
        running: &HashMap<tokio::task::Id, usize>,
        joined: Result<(tokio::task::Id, RunResult), tokio::task::JoinError>,
        due: &mut [Instant],
        rng: &mut fastrand::Rng,
    ) {
        let (idx, outcome, took, ran_at) = match joined {
            Ok((_, result)) => result,
            Err(e) => {
                let idx = running.get(&e.id()).copied().unwrap_or_default();
                tracing::error!(workspace = %plan.workspace, check = plan.checks[idx].check.name(), error = %e, "Check crashed");
                let outcome = engine_outcome(
                    plan,
                    Status::Unknown,
                    Reason::CheckCrashed,
                    format!("The check stopped unexpectedly: {e}."),
                );
                (idx, outcome, Duration::ZERO, OffsetDateTime::now_utc())
            }
        };
        let pc = &plan.checks[idx];
        log_outcome(&plan.workspace, pc.check.as_ref(), &outcome, took);
        self.store.record(plan.key(idx), outcome, None, took, ran_at);
        due[idx] = Instant::now() + jittered(pc.interval, rng);
    }

    /// The root cause and the blocked outcome when one of `deps` is not
    /// usable.
    fn blocker(&self, plan: &Plan, deps: &[Cow<'static, str>]) -> Option<Blocker> {
        for dep in deps {
            let key = CheckKey {
                workspace: plan.workspace.clone(),
                check: dep.to_string(),
                target: None,
            };
            let Some(state) = self.store.get(&key) else { continue };
            if !state.outcome.blocks_dependents() {
                continue;
            }
            let root = state.blocked_by.clone().unwrap_or_else(|| dep.to_string());
            let summary = match &state.blocked_by {
                Some(r) => format!("Not run: `{dep}` is blocked by `{r}`."),
                None => format!(
                    "Not run: `{dep}` is {} ({}).",
                    state.outcome.status, state.outcome.reason
                ),
            };
            let outcome = engine_outcome(plan, Status::Unknown, Reason::Blocked, summary).with_remediation([format!(
                "Fix `{root}` first (see its remediation); this check runs again as soon as `{root}` passes."
            )]);
            return Some(Blocker {
                root,
                outcome,
                dep_ran: state.last_run,
            });
        }
        None
    }
}

/// Why the checks depending on a failing one do not run.
struct Blocker {
    /// The check whose failure is the root cause.
    root: String,
    /// What the blocked checks record.
    outcome: Outcome,
    /// When the failing dependency was last recorded: a blocked record older
    /// than that is recorded again.
    dep_ran: OffsetDateTime,
}

/// What a run gives back: the check's index, its outcome, how long it took
/// and when it started.
type RunResult = (usize, Outcome, Duration, OffsetDateTime);

/// Runs one check under the engine's timeout, holding its permit of the
/// concurrency limit until it ends. The semaphore is never closed, so the
/// permit is only missing if it were; then running without one is the safe
/// choice.
async fn run_one(
    _permit: Option<tokio::sync::OwnedSemaphorePermit>,
    plan: Arc<Plan>,
    idx: usize,
    round: u64,
) -> RunResult {
    let pc = &plan.checks[idx];
    let started = Instant::now();
    let ran_at = OffsetDateTime::now_utc();
    let ctx = RunContext {
        workspace: plan.workspace.clone(),
        deadline: started + pc.timeout,
        now: ran_at,
        round,
    };
    let outcome = match tokio::time::timeout(pc.timeout, pc.check.run(&ctx)).await {
        Ok(outcome) => outcome,
        Err(_) => engine_outcome(
            &plan,
            Status::Unknown,
            Reason::CheckTimeout,
            format!(
                "The check did not finish within its timeout of {}.",
                humantime::format_duration(pc.timeout)
            ),
        ),
    };
    (idx, outcome, started.elapsed(), ran_at)
}

fn engine_outcome(plan: &Plan, status: Status, reason: Reason, summary: String) -> Outcome {
    Outcome::new(status, reason, summary).fill(&[("url", &plan.instance_url), ("workspace", &plan.workspace)])
}

fn log_outcome(workspace: &str, check: &dyn Check, outcome: &Outcome, took: Duration) {
    let target = check.target().unwrap_or("");
    let secs = took.as_secs_f64();
    match outcome.status {
        Status::Ok => {
            tracing::debug!(workspace, check = check.name(), target, reason = %outcome.reason, duration_seconds = secs, "Check passed")
        }
        Status::Warning => {
            tracing::warn!(workspace, check = check.name(), target, reason = %outcome.reason, summary = %outcome.summary, "Check warns")
        }
        _ => {
            tracing::warn!(workspace, check = check.name(), target, status = %outcome.status, reason = %outcome.reason, summary = %outcome.summary, "Check failed")
        }
    }
}

/// The interval moved by up to ±[`JITTER`] of itself.
pub fn jittered(interval: Duration, rng: &mut fastrand::Rng) -> Duration {
    let factor = 1.0 - JITTER + 2.0 * JITTER * rng.f64();
    interval.mul_f64(factor)
}

/// One round of every check of every plan, for `labwatch check`: all checks
/// are due, workspaces run side by side, the store holds the result.
pub async fn run_once(plans: Vec<Arc<Plan>>, store: Arc<StatusStore>, concurrency: usize) {
    store.set_layout(plans.iter().map(|p| p.layout()).collect());
    let scheduler = Scheduler::new(store.clone(), concurrency);
    let mut set = JoinSet::new();
    for plan in plans {
        let s = scheduler.clone();
        set.spawn(async move {
            let mut due = vec![Instant::now(); plan.checks.len()];
            s.pass(&plan, &mut due, &mut fastrand::Rng::new(), plan.next_round())
                .await;
            s.store.finish_pass(&plan.workspace);
        });
    }
    while set.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_ten_percent() {
        let mut rng = fastrand::Rng::with_seed(7);
        let base = Duration::from_secs(100);
        let mut seen_low = false;
        let mut seen_high = false;
        for _ in 0..1000 {
            let d = jittered(base, &mut rng);
            assert!(d >= Duration::from_secs(90) && d <= Duration::from_secs(110), "{d:?}");
            seen_low |= d < Duration::from_secs(95);
            seen_high |= d > Duration::from_secs(105);
        }
        assert!(seen_low && seen_high, "jitter should spread both ways");
    }
}
