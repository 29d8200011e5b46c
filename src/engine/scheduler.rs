//! The scheduler: runs each workspace's checks on their intervals, in
//! dependency order, under one concurrency limit, each bounded by an
//! engine-owned timeout, and records what they found in the
//! [`StatusStore`].
//!
//! Workspaces do not hit GitLab in lockstep: each starts at its own
//! [`phase`] of the interval, a stable hash of its name, so a fleet's
//! rounds are spread evenly over the interval — at start, after a reload,
//! and ever after, since a workspace's checks then come due together once
//! per interval from that phase (no per-check jitter to drift them apart,
//! which also made one round several passes, each asking GitLab again).

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

/// Workspace starts per second below which spreading them out buys
/// nothing: a round begins with two or three requests, and ten workspaces
/// a second stay far below any GitLab limit (docs/gitlab.md §10), while a
/// handful of workspaces get their first verdicts at once instead of up to
/// an interval later.
pub const HERD_STARTS_PER_SECOND: u32 = 10;

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
    /// A limit this plan's runs share with others' on top of the
    /// scheduler's (the workspaces of one rate-limited GitLab instance), so
    /// runs waiting on one instance's budget cannot take every permit and
    /// starve the workspaces of other instances.
    lane: Option<Arc<Semaphore>>,
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
            lane: None,
        }
    }

    /// The plan with its runs also held to `lane` (see the field).
    pub fn with_lane(mut self, lane: Option<Arc<Semaphore>>) -> Plan {
        self.lane = lane;
        self
    }

    /// Rounds begun so far.
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
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
    ///
    /// The first round begins `phase` from now (see [`phase`]), or when
    /// `trigger` is notified if that is sooner.
    pub async fn run_workspace(self, plan: Arc<Plan>, trigger: Arc<Notify>, phase: Duration) {
        let mut at = Instant::now() + phase;
        if phase > Duration::ZERO {
            tokio::select! {
                () = tokio::time::sleep_until(at) => {}
                () = trigger.notified() => at = Instant::now(),
            }
        }
        let mut due = vec![at; plan.checks.len()];
        let mut first = true;
        // The first round of a workspace started at once was asked for (an
        // action changed it); so is every round a trigger starts.
        let mut requested = phase.is_zero();
        loop {
            let round = Round {
                at,
                number: plan.next_round(),
                requested,
            };
            self.pass(&plan, &mut due, round).await;
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
                at = Instant::now();
                due.fill(at);
                requested = true;
                continue;
            };
            tokio::select! {
                () = tokio::time::sleep_until(wake) => {
                    at = wake;
                    requested = false;
                }
                () = trigger.notified() => {
                    at = Instant::now();
                    due.fill(at);
                    requested = true;
                }
            }
        }
    }

    /// One pass: layer by layer, block what depends on a failing check, run
    /// what is due. A run is spawned only once it holds a permit of the
    /// concurrency limit, so a layer of ten thousand repositories keeps a
    /// handful of check futures alive at a time, not ten thousand.
    ///
    /// The checks it runs are next due an interval after the round was due,
    /// so a workspace keeps its phase however long its rounds take.
    pub async fn pass(&self, plan: &Arc<Plan>, due: &mut [Instant], round: Round) {
        let at = round.at;
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
                    due[idx] = next_due(at, plan.checks[idx].interval);
                    continue;
                }
                let was_blocked = prev.is_some_and(|p| p.is_blocked());
                if due[idx] <= now || was_blocked {
                    // The lane first: a run waiting for its instance's lane
                    // holds none of the permits the other instances need.
                    let lane = match &plan.lane {
                        Some(lane) => lane.clone().acquire_owned().await.ok(),
                        None => None,
                    };
                    let permit = self.limit.clone().acquire_owned().await.ok();
                    let id = runs
                        .spawn(run_one([permit, lane], plan.clone(), idx, round.clone()))
                        .id();
                    running.insert(id, idx);
                    while let Some(joined) = runs.try_join_next_with_id() {
                        self.finish(plan, &running, joined, due, at);
                    }
                }
            }
            while let Some(joined) = runs.join_next_with_id().await {
                self.finish(plan, &running, joined, due, at);
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
        at: Instant,
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
        due[idx] = next_due(at, pc.interval);
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

/// One pass of a workspace's checks.
#[derive(Debug, Clone)]
pub struct Round {
    /// When it was due.
    pub at: Instant,
    /// 1, 2, … (see [`Plan`]'s `rounds`).
    pub number: u64,
    /// Asked for, not scheduled (see [`RunContext::requested`]).
    pub requested: bool,
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

/// Runs one check under the engine's timeout, holding its permits of the
/// concurrency limit and its lane until it ends. The semaphores are never
/// closed, so a permit is only missing if one were; then running without it
/// is the safe choice.
async fn run_one(
    _permits: [Option<tokio::sync::OwnedSemaphorePermit>; 2],
    plan: Arc<Plan>,
    idx: usize,
    round: Round,
) -> RunResult {
    let pc = &plan.checks[idx];
    let started = Instant::now();
    let ran_at = OffsetDateTime::now_utc();
    let ctx = RunContext {
        workspace: plan.workspace.clone(),
        deadline: started + pc.timeout,
        now: ran_at,
        round: round.number,
        requested: round.requested,
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

/// `repository`, not `target`: the JSON log already has a `target` (the
/// module that logged), and two keys of one name lose the first to any
/// JSON reader.
fn log_outcome(workspace: &str, check: &dyn Check, outcome: &Outcome, took: Duration) {
    let repository = check.target().unwrap_or("");
    let secs = took.as_secs_f64();
    match outcome.status {
        Status::Ok => {
            tracing::debug!(workspace, check = check.name(), repository, reason = %outcome.reason, duration_seconds = secs, "Check passed")
        }
        Status::Warning => {
            tracing::warn!(workspace, check = check.name(), repository, reason = %outcome.reason, summary = %outcome.summary, "Check warns")
        }
        _ => {
            tracing::warn!(workspace, check = check.name(), repository, status = %outcome.status, reason = %outcome.reason, summary = %outcome.summary, "Check failed")
        }
    }
}

/// When a check that ran in the pass due at `at` is due again: an interval
/// after `at`, or now if that has passed already (a round that took longer
/// than the interval), so missed rounds are not run back to back.
fn next_due(at: Instant, interval: Duration) -> Instant {
    (at + interval).max(Instant::now())
}

/// The phase of workspace `name` in a fleet of `fleet` workspaces: where in
/// the interval its rounds begin. A stable hash of the name picks the
/// point, so a workspace keeps its place across restarts and reloads and
/// the fleet is spread evenly; the spread covers the whole interval once
/// the fleet is large enough to be a herd ([`HERD_STARTS_PER_SECOND`]),
/// less for a few workspaces, which then start at once.
pub fn phase(name: &str, fleet: usize, interval: Duration) -> Duration {
    let herd = Duration::from_secs_f64(fleet as f64 / f64::from(HERD_STARTS_PER_SECOND));
    let window = interval.min(herd);
    // The top 53 bits of the hash, as a fraction in [0, 1).
    window.mul_f64((stable_hash(name) >> 11) as f64 / (1u64 << 53) as f64)
}

/// FNV-1a over the name, then a SplitMix64 finaliser to spread similar
/// names (`ws-1`, `ws-2`, …) apart. Written out rather than taken from std,
/// whose hashers may change between Rust releases and would move every
/// workspace's phase with them.
fn stable_hash(name: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
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
            let at = Instant::now();
            let mut due = vec![at; plan.checks.len()];
            let round = Round {
                at,
                number: plan.next_round(),
                requested: true,
            };
            s.pass(&plan, &mut due, round).await;
            s.store.finish_pass(&plan.workspace);
        });
    }
    while set.join_next().await.is_some() {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_is_spread_evenly_over_the_interval() {
        let interval = Duration::from_secs(60);
        let fleet = 6_000;
        let mut per_second = [0u32; 60];
        for i in 0..fleet {
            let p = phase(&format!("ws-{i}"), fleet, interval);
            assert!(p < interval);
            per_second[p.as_secs() as usize] += 1;
        }
        let average = fleet as u32 / 60;
        let busiest = *per_second.iter().max().unwrap();
        let quietest = *per_second.iter().min().unwrap();
        assert!(
            busiest <= 2 * average,
            "{busiest} starts in one second, average {average}"
        );
        assert!(
            quietest >= average / 2,
            "{quietest} starts in one second, average {average}"
        );
    }

    #[test]
    fn a_phase_is_stable_and_a_few_workspaces_start_at_once() {
        let interval = Duration::from_secs(300);
        assert_eq!(phase("acme", 10_000, interval), phase("acme", 10_000, interval));
        assert!(phase("acme", 3, interval) < Duration::from_millis(300));
        assert!(phase("acme", 1, interval) < Duration::from_millis(100));
    }
}
