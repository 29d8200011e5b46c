//! The scheduler and status store, driven with fake checks: dependencies,
//! timeouts, the concurrency limit, crashes, history and intervals.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use labwatch::engine::{
    Check, CheckFuture, CheckKey, Outcome, Plan, PlannedCheck, Reason, RunContext, Scheduler, Status, StatusStore,
    run_once,
};
use tokio::sync::Notify;

/// What a fake check does when run.
#[derive(Clone)]
enum Act {
    Answer(Status),
    Hang,
    Panic,
    /// Takes a while (virtual time) while counting how many run at once.
    Busy(Arc<Gauge>),
}

#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

struct Fake {
    name: &'static str,
    deps: Vec<Cow<'static, str>>,
    act: Mutex<Act>,
    runs: AtomicUsize,
}

impl Fake {
    fn new(name: &'static str, deps: &[&'static str], act: Act) -> Arc<Fake> {
        Arc::new(Fake {
            name,
            deps: deps.iter().map(|d| Cow::Borrowed(*d)).collect(),
            act: Mutex::new(act),
            runs: AtomicUsize::new(0),
        })
    }
    fn set(&self, act: Act) {
        *self.act.lock().unwrap() = act;
    }
    fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

impl Check for Fake {
    fn name(&self) -> &str {
        self.name
    }
    fn depends_on(&self) -> &[Cow<'static, str>] {
        &self.deps
    }
    fn run<'a>(&'a self, _ctx: &'a RunContext) -> CheckFuture<'a> {
        self.runs.fetch_add(1, Ordering::SeqCst);
        let act = self.act.lock().unwrap().clone();
        Box::pin(async move {
            match act {
                Act::Answer(Status::Ok) => Outcome::ok("fine"),
                Act::Answer(status) => Outcome::new(status, Reason::TcpRefused, format!("{} broke", self.name)),
                Act::Hang => std::future::pending().await,
                Act::Panic => panic!("fake check panics"),
                Act::Busy(g) => {
                    let n = g.now.fetch_add(1, Ordering::SeqCst) + 1;
                    g.max.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    g.now.fetch_sub(1, Ordering::SeqCst);
                    Outcome::ok("done")
                }
            }
        })
    }
}

fn plan(checks: &[Arc<Fake>], interval: Duration, timeout: Duration) -> Arc<Plan> {
    let planned = checks
        .iter()
        .map(|c| PlannedCheck {
            check: c.clone() as Arc<dyn Check>,
            interval,
            timeout,
        })
        .collect();
    Arc::new(Plan::new("acme".into(), "https://gitlab.example.com".into(), planned))
}

fn key(check: &str) -> CheckKey {
    CheckKey {
        workspace: "acme".into(),
        check: check.into(),
        target: None,
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const TEN_S: Duration = Duration::from_secs(10);

#[tokio::test]
async fn a_failing_check_blocks_its_dependents_and_names_the_root_cause() {
    let instance = Fake::new("instance", &[], Act::Answer(Status::Critical));
    let token = Fake::new("token", &["instance"], Act::Answer(Status::Ok));
    let scopes = Fake::new("scopes", &["token"], Act::Answer(Status::Ok));
    // Listed dependents-first on purpose: the plan orders them.
    let store = Arc::new(StatusStore::new());
    run_once(
        vec![plan(&[scopes.clone(), token.clone(), instance.clone()], HOUR, TEN_S)],
        store.clone(),
        4,
    )
    .await;

    assert_eq!((token.runs(), scopes.runs()), (0, 0), "blocked checks must not run");
    for name in ["token", "scopes"] {
        let s = store.get(&key(name)).unwrap();
        assert_eq!(
            (s.outcome.status, s.outcome.reason.as_str()),
            (Status::Unknown, "blocked")
        );
        assert_eq!(
            s.blocked_by.as_deref(),
            Some("instance"),
            "{name} must name the root cause"
        );
        assert!(
            s.outcome.remediation[0].contains("Fix `instance` first"),
            "{:?}",
            s.outcome.remediation
        );
    }
    assert!(
        store
            .get(&key("token"))
            .unwrap()
            .outcome
            .summary
            .contains("`instance` is critical (tcp-refused)")
    );
    assert!(
        store
            .get(&key("scopes"))
            .unwrap()
            .outcome
            .summary
            .contains("blocked by `instance`")
    );
    // One outage, one status: the workspace is critical, not unknown.
    assert_eq!(store.workspace("acme").unwrap().status(), Status::Critical);
}

#[tokio::test]
async fn a_warning_does_not_block_dependents() {
    let instance = Fake::new("instance", &[], Act::Answer(Status::Warning));
    let token = Fake::new("token", &["instance"], Act::Answer(Status::Ok));
    let store = Arc::new(StatusStore::new());
    run_once(vec![plan(&[instance, token.clone()], HOUR, TEN_S)], store.clone(), 4).await;
    assert_eq!(token.runs(), 1);
    assert_eq!(store.workspace("acme").unwrap().status(), Status::Warning);
}

#[tokio::test]
async fn blocked_checks_run_as_soon_as_the_root_cause_recovers() {
    let instance = Fake::new("instance", &[], Act::Answer(Status::Critical));
    let token = Fake::new("token", &["instance"], Act::Answer(Status::Ok));
    let store = Arc::new(StatusStore::new());
    let p = plan(&[instance.clone(), token.clone()], HOUR, TEN_S);
    store.set_layout(vec![p.layout()]);
    let trigger = Arc::new(Notify::new());
    let mut passes = store.subscribe();
    let task = tokio::spawn(Scheduler::new(store.clone(), 4).run_workspace(p, trigger.clone(), Duration::ZERO));

    passes.changed().await.unwrap();
    assert!(store.get(&key("token")).unwrap().is_blocked());

    instance.set(Act::Answer(Status::Ok));
    trigger.notify_one();
    passes.changed().await.unwrap();
    let token_state = store.get(&key("token")).unwrap();
    assert_eq!(
        (token_state.outcome.status, token_state.blocked_by.clone()),
        (Status::Ok, None)
    );
    assert_eq!(token.runs(), 1);
    task.abort();
}

/// A blocked check's record was written once, when the outage began, and
/// then kept its `last_run` for as long as the outage lasted: whoever judged
/// freshness by it saw a stale check. It is recorded again each round its
/// root cause runs (and stays one transition in the history).
#[tokio::test]
async fn a_blocked_check_is_recorded_again_each_round_its_root_cause_runs() {
    let instance = Fake::new("instance", &[], Act::Answer(Status::Critical));
    let token = Fake::new("token", &["instance"], Act::Answer(Status::Ok));
    let scopes = Fake::new("scopes", &["token"], Act::Answer(Status::Ok));
    let store = Arc::new(StatusStore::new());
    let p = plan(&[instance.clone(), token.clone(), scopes.clone()], HOUR, TEN_S);
    for round in 1..=3 {
        run_once(vec![p.clone()], store.clone(), 4).await;
        let root = store.get(&key("instance")).unwrap();
        for name in ["token", "scopes"] {
            let s = store.get(&key(name)).unwrap();
            assert_eq!(s.blocked_by.as_deref(), Some("instance"), "round {round}: {name}");
            assert!(
                s.last_run >= root.last_run,
                "round {round}: {name} last recorded at {}, before its root cause ran at {}",
                s.last_run,
                root.last_run
            );
        }
    }
    assert_eq!(instance.runs(), 3);
    assert_eq!((token.runs(), scopes.runs()), (0, 0), "blocked checks must not run");
    let blocked: Vec<_> = store
        .history()
        .newest_first()
        .into_iter()
        .filter(|t| t.check == "token")
        .collect();
    assert_eq!(blocked.len(), 1, "one outage, one transition: {blocked:?}");
}

/// A check's own deadline (what plugins are killed at) is 90% of the time
/// it has left, so its precise timeout fires before the engine's blunt one.
#[tokio::test(start_paused = true)]
async fn a_check_s_budget_is_ninety_percent_of_the_time_left() {
    let ctx = RunContext {
        workspace: "acme".into(),
        deadline: tokio::time::Instant::now() + Duration::from_secs(2),
        now: time::OffsetDateTime::now_utc(),
        round: 1,
        requested: true,
    };
    assert_eq!(ctx.budget(), Duration::from_millis(1800));
    tokio::time::advance(Duration::from_secs(1)).await;
    assert_eq!(ctx.budget(), Duration::from_millis(900));
    tokio::time::advance(Duration::from_secs(5)).await;
    assert_eq!(ctx.budget(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn the_engine_cancels_a_check_at_its_timeout() {
    let slow = Fake::new("instance", &[], Act::Hang);
    let store = Arc::new(StatusStore::new());
    run_once(vec![plan(&[slow], HOUR, Duration::from_secs(7))], store.clone(), 4).await;
    let s = store.get(&key("instance")).unwrap();
    assert_eq!(
        (s.outcome.status, s.outcome.reason.as_str()),
        (Status::Unknown, "check-timeout")
    );
    assert!(s.outcome.summary.contains("timeout of 7s"), "{}", s.outcome.summary);
    assert!(
        s.outcome
            .remediation
            .iter()
            .any(|r| r.contains("https://gitlab.example.com")),
        "{:?}",
        s.outcome.remediation
    );
    assert!(
        s.outcome.remediation.iter().any(|r| r.contains("workspace `acme`")),
        "{:?}",
        s.outcome.remediation
    );
}

#[tokio::test(start_paused = true)]
async fn no_more_checks_run_at_once_than_the_concurrency_limit() {
    let gauge = Arc::new(Gauge::default());
    let names = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
    let checks: Vec<_> = names
        .iter()
        .map(|n| Fake::new(n, &[], Act::Busy(gauge.clone())))
        .collect();
    let store = Arc::new(StatusStore::new());
    run_once(vec![plan(&checks, HOUR, TEN_S)], store.clone(), 3).await;
    assert_eq!(gauge.max.load(Ordering::SeqCst), 3);
    assert!(checks.iter().all(|c| c.runs() == 1));
    assert!(
        names
            .iter()
            .all(|n| store.get(&key(n)).unwrap().outcome.status == Status::Ok)
    );
}

#[tokio::test]
async fn a_crashing_check_is_reported_and_the_others_still_run() {
    let bad = Fake::new("bad", &[], Act::Panic);
    let good = Fake::new("good", &[], Act::Answer(Status::Ok));
    let store = Arc::new(StatusStore::new());
    run_once(vec![plan(&[bad, good], HOUR, TEN_S)], store.clone(), 4).await;
    let s = store.get(&key("bad")).unwrap();
    assert_eq!(
        (s.outcome.status, s.outcome.reason.as_str()),
        (Status::Unknown, "check-crashed")
    );
    assert_eq!(store.get(&key("good")).unwrap().outcome.status, Status::Ok);
}

#[tokio::test]
async fn the_store_keeps_last_success_and_counts_failures_in_a_row() {
    let check = Fake::new("instance", &[], Act::Answer(Status::Ok));
    let store = Arc::new(StatusStore::new());
    let p = plan(std::slice::from_ref(&check), HOUR, TEN_S);
    store.set_layout(vec![p.layout()]);
    let trigger = Arc::new(Notify::new());
    let mut passes = store.subscribe();
    let task = tokio::spawn(Scheduler::new(store.clone(), 4).run_workspace(p, trigger.clone(), Duration::ZERO));
    passes.changed().await.unwrap();
    let first = store.get(&key("instance")).unwrap();
    assert_eq!(
        (first.consecutive_failures, first.last_success),
        (0, Some(first.last_run))
    );

    check.set(Act::Answer(Status::Critical));
    for expected in 1..=2 {
        trigger.notify_one();
        passes.changed().await.unwrap();
        let s = store.get(&key("instance")).unwrap();
        assert_eq!(s.consecutive_failures, expected);
        assert_eq!(s.last_success, first.last_success, "a failure keeps the last success");
    }
    check.set(Act::Answer(Status::Ok));
    trigger.notify_one();
    passes.changed().await.unwrap();
    assert_eq!(store.get(&key("instance")).unwrap().consecutive_failures, 0);
    task.abort();
}

#[tokio::test(start_paused = true)]
async fn checks_repeat_on_their_interval_within_the_jitter() {
    let check = Fake::new("instance", &[], Act::Answer(Status::Ok));
    let store = Arc::new(StatusStore::new());
    let p = plan(std::slice::from_ref(&check), Duration::from_secs(100), TEN_S);
    store.set_layout(vec![p.layout()]);
    let mut passes = store.subscribe();
    let task = tokio::spawn(Scheduler::new(store.clone(), 4).run_workspace(p, Arc::new(Notify::new()), Duration::ZERO));
    passes.changed().await.unwrap();
    assert_eq!(check.runs(), 1, "first run is immediate");

    // The next run is due 90–110 s later: not before 89 s, certainly by 111 s.
    tokio::time::advance(Duration::from_secs(89)).await;
    tokio::task::yield_now().await;
    assert_eq!(check.runs(), 1);
    tokio::time::advance(Duration::from_secs(22)).await;
    passes.changed().await.unwrap();
    assert_eq!(check.runs(), 2);
    task.abort();
}

#[tokio::test]
async fn a_reload_keeps_results_of_checks_that_still_exist() {
    let store = StatusStore::new();
    let layout = |checks: &[&str]| {
        (
            "acme".to_owned(),
            "https://x".to_owned(),
            checks.iter().map(|c| ((*c).to_owned(), None)).collect(),
        )
    };
    store.set_layout(vec![layout(&["instance", "old"])]);
    let now = time::OffsetDateTime::now_utc();
    store.record(&key("instance"), Outcome::ok("fine"), None, Duration::ZERO, now);
    store.record(&key("old"), Outcome::ok("fine"), None, Duration::ZERO, now);
    store.set_layout(vec![layout(&["instance", "new"])]);
    assert!(store.get(&key("instance")).is_some());
    assert!(store.get(&key("old")).is_none());
    assert!(store.get(&key("new")).is_none());
}

/// Records when it runs, in (paused) tokio time.
struct Stamp(Arc<Mutex<Vec<(String, tokio::time::Instant)>>>);

impl Check for Stamp {
    fn name(&self) -> &str {
        "instance"
    }
    fn run<'a>(&'a self, ctx: &'a RunContext) -> CheckFuture<'a> {
        Box::pin(async move {
            self.0
                .lock()
                .unwrap()
                .push((ctx.workspace.clone(), tokio::time::Instant::now()));
            Outcome::ok("ok")
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_fleet_starts_spread_over_the_interval_and_keeps_each_workspaces_phase() {
    let fleet = 2_000;
    let interval = Duration::from_secs(60);
    let starts = Arc::new(Mutex::new(Vec::new()));
    let store = Arc::new(StatusStore::new());
    let scheduler = Scheduler::new(store.clone(), 16);
    let began = tokio::time::Instant::now();
    let mut tasks = Vec::new();
    for i in 0..fleet {
        let name = format!("ws-{i}");
        let check = PlannedCheck {
            check: Arc::new(Stamp(starts.clone())),
            interval,
            timeout: TEN_S,
        };
        let p = Arc::new(Plan::new(name.clone(), "http://gitlab".into(), vec![check]));
        let phase = labwatch::engine::phase(&name, fleet, interval);
        tasks.push(tokio::spawn(scheduler.clone().run_workspace(
            p,
            Arc::new(Notify::new()),
            phase,
        )));
    }
    // Two intervals: the first round, and the one after it.
    tokio::time::sleep(2 * interval - Duration::from_millis(1)).await;
    for t in &tasks {
        t.abort();
    }
    let starts = starts.lock().unwrap();
    assert_eq!(starts.len(), 2 * fleet, "every workspace ran once per interval");
    let mut per_second = vec![0usize; 60];
    let mut first: std::collections::HashMap<&str, Duration> = std::collections::HashMap::new();
    for (ws, at) in starts.iter() {
        let since = *at - began;
        match first.get(ws.as_str()) {
            None => {
                per_second[since.as_secs() as usize] += 1;
                first.insert(ws, since);
            }
            Some(earlier) => assert_eq!(since - *earlier, interval, "{ws} keeps its phase"),
        }
    }
    let average = fleet / 60;
    let busiest = per_second.iter().max().unwrap();
    assert!(
        *busiest <= 2 * average,
        "{busiest} workspaces started in one second of the first round; the average is {average}"
    );
}

#[tokio::test(start_paused = true)]
async fn checks_in_a_lane_leave_the_other_permits_to_other_plans() {
    // Four permits; a throttled instance's lane holds two. Its ten checks,
    // each busy a second, never run more than two at once, and the other
    // instance's checks run beside them instead of queueing behind.
    let throttled = Arc::new(Gauge::default());
    let other = Arc::new(Gauge::default());
    let names = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"];
    let lane = Arc::new(tokio::sync::Semaphore::new(2));
    let laned: Vec<_> = names
        .iter()
        .map(|n| Fake::new(n, &[], Act::Busy(throttled.clone())))
        .collect();
    let free: Vec<_> = names
        .iter()
        .map(|n| Fake::new(n, &[], Act::Busy(other.clone())))
        .collect();
    let in_lane = Arc::new(
        Arc::into_inner(plan(&laned, HOUR, TEN_S))
            .unwrap()
            .with_lane(Some(lane)),
    );
    let elsewhere = {
        let planned = free
            .iter()
            .map(|c| PlannedCheck {
                check: c.clone() as Arc<dyn Check>,
                interval: HOUR,
                timeout: TEN_S,
            })
            .collect();
        Arc::new(Plan::new("other".into(), "https://gitlab.example.com".into(), planned))
    };
    let store = Arc::new(StatusStore::new());
    run_once(vec![in_lane, elsewhere], store.clone(), 4).await;
    assert_eq!(throttled.max.load(Ordering::SeqCst), 2, "the lane's limit");
    assert!(
        other.max.load(Ordering::SeqCst) >= 2,
        "the other instance ran beside the lane, on the permits it left"
    );
    assert!(laned.iter().chain(&free).all(|c| c.runs() == 1));
}
