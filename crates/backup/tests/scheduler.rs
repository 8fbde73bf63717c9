//! The scheduler with an injected manual clock and a real SQLite store; the policy executor is a
//! recording stand-in so that the tests can hold a run open. No sleeping anywhere.

mod fake_runs;

use fake_runs::success_report;
use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use tenantlink_backup::{
    BoxFuture, DEFAULT_MAX_CONCURRENT_RUNS, Dispatch, PolicyExecutor, RunError, RunReport,
    Scheduler,
};
use tenantlink_clock::{Clock, ManualClock, Sleep, Sleeper};
use tenantlink_service::NewOrganization;
use tenantlink_service::{
    BackupPolicy, BackupScope, NewBackupPolicy, OrganizationId, PolicyId, RunId, RunTrigger,
};
use tenantlink_store::Store;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

/// Records each execution; while `gate` has no permits, executions wait for one.
#[derive(Debug)]
struct RecordingExecutor {
    clock: Arc<ManualClock>,
    calls: Mutex<Vec<(PolicyId, RunTrigger, OffsetDateTime)>>,
    gate: Semaphore,
}

impl RecordingExecutor {
    fn open(clock: Arc<ManualClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            calls: Mutex::default(),
            gate: Semaphore::new(Semaphore::MAX_PERMITS),
        })
    }

    fn closed(clock: Arc<ManualClock>) -> Arc<Self> {
        Arc::new(Self {
            clock,
            calls: Mutex::default(),
            gate: Semaphore::new(0),
        })
    }

    fn calls(&self) -> Vec<(PolicyId, RunTrigger, OffsetDateTime)> {
        self.calls.lock().unwrap().clone()
    }
}

impl PolicyExecutor for RecordingExecutor {
    fn execute(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(async move {
            let started_at = self.clock.now();
            self.calls
                .lock()
                .unwrap()
                .push((policy.id, trigger, started_at));
            let _permit = self.gate.acquire().await.expect("gate open");
            Ok(success_report(
                &policy,
                trigger,
                RunId::new(),
                started_at,
                self.clock.now(),
                0,
                0,
            ))
        })
    }
}

struct Fixture {
    clock: Arc<ManualClock>,
    store: Store,
    organization: OrganizationId,
    _dir: tempfile::TempDir,
}

const T0: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite").display()
        );
        let store = Store::open(&url).await.unwrap();
        let clock = Arc::new(ManualClock::at(T0));
        let organization = store
            .create_organization(
                NewOrganization {
                    tenant: "contoso.onmicrosoft.com".into(),
                    cloud: tenantlink_service::Cloud::Global,
                    app_id: "11111111-1111-4111-8111-111111111111".into(),
                    name: "Contoso".into(),
                },
                T0,
            )
            .await
            .unwrap()
            .id;
        Self {
            clock,
            store,
            organization,
            _dir: dir,
        }
    }

    fn scheduler(&self, executor: Arc<RecordingExecutor>) -> Scheduler {
        Scheduler::new(Arc::new(self.store.clone()), self.clock.clone(), executor)
    }

    async fn policy(&self, scheduler: &Scheduler, name: &str, schedule: &str) -> PolicyId {
        self.store
            .create_policy(
                NewBackupPolicy {
                    organization_id: self.organization,
                    name: name.into(),
                    schedule: schedule.into(),
                    scope: BackupScope::AllUsers,
                    enabled: true,
                    next_due_at: scheduler.initial_due(schedule).unwrap(),
                },
                self.clock.now(),
            )
            .await
            .unwrap()
            .id
    }

    /// A policy with a given due time, whatever the clock says: the tests decide who waited
    /// longest independently of the order of creation (and so of the ids).
    async fn policy_due(&self, name: &str, schedule: &str, due: OffsetDateTime) -> PolicyId {
        self.store
            .create_policy(
                NewBackupPolicy {
                    organization_id: self.organization,
                    name: name.into(),
                    schedule: schedule.into(),
                    scope: BackupScope::AllUsers,
                    enabled: true,
                    next_due_at: Some(due),
                },
                self.clock.now(),
            )
            .await
            .unwrap()
            .id
    }

    async fn next_due(&self, policy: PolicyId) -> Option<OffsetDateTime> {
        self.store.policy(policy).await.unwrap().next_due_at
    }
}

/// Ticks and waits for every run it started.
async fn tick_and_finish(scheduler: &Scheduler) -> Vec<PolicyId> {
    let mut started = Vec::new();
    for dispatch in scheduler.tick().await.unwrap() {
        if let Dispatch::Started { policy, run, .. } = dispatch {
            run.await.unwrap().unwrap();
            started.push(policy);
        }
    }
    started
}

#[tokio::test]
async fn policies_run_at_their_due_times_and_blank_schedules_never() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::open(f.clock.clone());
    let scheduler = f.scheduler(executor.clone());
    let every_6h = f.policy(&scheduler, "interval", "every 6h").await;
    let nightly = f.policy(&scheduler, "nightly", "0 2 * * *").await;
    let manual = f.policy(&scheduler, "on demand", "").await;
    assert_eq!(f.next_due(manual).await, None);
    assert_eq!(
        f.next_due(nightly).await,
        Some(datetime!(2026-03-03 02:00 UTC))
    );

    assert_eq!(
        tick_and_finish(&scheduler).await,
        vec![every_6h],
        "a new interval policy runs at once"
    );
    assert_eq!(f.next_due(every_6h).await, Some(T0 + Duration::hours(6)));

    f.clock.advance(Duration::hours(5) + Duration::minutes(59));
    assert!(tick_and_finish(&scheduler).await.is_empty());
    f.clock.advance(Duration::minutes(1));
    assert_eq!(tick_and_finish(&scheduler).await, vec![every_6h]);

    // At 02:00 the nightly policy is due, and so is the interval one (due since 22:00).
    f.clock.set(datetime!(2026-03-03 02:00 UTC));
    let mut started = tick_and_finish(&scheduler).await;
    started.sort();
    let mut expected = vec![every_6h, nightly];
    expected.sort();
    assert_eq!(started, expected);
    assert_eq!(
        f.next_due(nightly).await,
        Some(datetime!(2026-03-04 02:00 UTC))
    );
    assert_eq!(
        f.next_due(every_6h).await,
        Some(datetime!(2026-03-03 08:00 UTC))
    );

    let calls = executor.calls();
    assert_eq!(calls.len(), 4);
    assert!(
        calls
            .iter()
            .all(|(p, trigger, _)| *p != manual && *trigger == RunTrigger::Scheduled)
    );
    assert_eq!(calls[1].2, T0 + Duration::hours(6), "ran at its due time");
}

#[tokio::test]
async fn never_two_runs_of_one_policy_at_once() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::closed(f.clock.clone());
    let scheduler = f.scheduler(executor.clone());
    let policy = f.policy(&scheduler, "slow", "every 1h").await;

    let mut first = scheduler.tick().await.unwrap();
    let Some(Dispatch::Started { run, .. }) = first.pop() else {
        panic!("the policy was due")
    };
    assert!(scheduler.is_running(policy));

    // Due again while the first run still holds the gate: skipped, not queued.
    f.clock.advance(Duration::hours(1));
    let second = scheduler.tick().await.unwrap();
    assert!(
        matches!(second.as_slice(), [Dispatch::AlreadyRunning { policy: p, .. }] if *p == policy)
    );
    assert_eq!(
        f.next_due(policy).await,
        Some(f.clock.now() + Duration::hours(1))
    );
    assert!(matches!(
        scheduler.run_now(policy).await,
        Err(RunError::AlreadyRunning { .. })
    ));

    executor.gate.add_permits(Semaphore::MAX_PERMITS);
    run.await.unwrap().unwrap();
    assert!(!scheduler.is_running(policy));
    let manual = scheduler.run_now(policy).await.unwrap();
    assert_eq!(manual.trigger, RunTrigger::Manual);
    assert_eq!(
        executor.calls().len(),
        2,
        "the skipped due time did not run later"
    );
    assert_eq!(
        f.next_due(policy).await,
        Some(f.clock.now() + Duration::hours(1)),
        "Run now leaves the schedule alone"
    );
}

#[tokio::test]
async fn catch_up_after_downtime_is_one_run_not_a_burst() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::open(f.clock.clone());
    let scheduler = f.scheduler(executor.clone());
    let hourly = f.policy(&scheduler, "hourly", "every 1h").await;
    let nightly = f.policy(&scheduler, "nightly", "0 2 * * *").await;
    assert_eq!(tick_and_finish(&scheduler).await, vec![hourly]);

    // The service is down for three days: 72 hourly and 3 nightly occurrences are missed.
    f.clock.advance(Duration::days(3));
    let mut started = tick_and_finish(&scheduler).await;
    started.sort();
    let mut expected = vec![hourly, nightly];
    expected.sort();
    assert_eq!(started, expected, "each overdue policy runs once");
    assert_eq!(
        f.next_due(hourly).await,
        Some(f.clock.now() + Duration::hours(1))
    );
    assert_eq!(
        f.next_due(nightly).await,
        Some(datetime!(2026-03-06 02:00 UTC))
    );
    assert!(
        tick_and_finish(&scheduler).await.is_empty(),
        "no burst follows"
    );
    assert_eq!(executor.calls().len(), 3);
}

#[tokio::test]
async fn a_schedule_that_no_longer_parses_is_unscheduled_with_its_error() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::open(f.clock.clone());
    let scheduler = f.scheduler(executor.clone());
    let policy = f
        .store
        .create_policy(
            NewBackupPolicy {
                organization_id: f.organization,
                name: "edited by hand".into(),
                schedule: "every tuesday".into(),
                scope: BackupScope::AllUsers,
                enabled: true,
                next_due_at: Some(T0),
            },
            T0,
        )
        .await
        .unwrap()
        .id;
    let dispatched = scheduler.tick().await.unwrap();
    assert!(
        matches!(dispatched.as_slice(), [Dispatch::InvalidSchedule { policy: p, .. }] if *p == policy)
    );
    assert_eq!(f.next_due(policy).await, None);
    assert!(executor.calls().is_empty());
    assert!(scheduler.initial_due("every tuesday").is_err());
}

#[tokio::test]
async fn start_now_with_an_executor_that_announces_only_at_the_end_returns_the_finished_run() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::open(f.clock.clone());
    let scheduler = f.scheduler(executor.clone());
    let policy = f.policy(&scheduler, "manual", "").await;

    let started = scheduler.start_now(policy).await.unwrap();
    let report = started.report.await.unwrap().unwrap();
    assert_eq!(report.run_id, started.run, "the id announced is the run's");
    assert_eq!(report.trigger, RunTrigger::Manual);
    assert!(!scheduler.is_running(policy), "the claim is released");
    assert_eq!(executor.calls().len(), 1);
}

#[tokio::test]
async fn start_now_refuses_a_policy_already_running_and_an_unknown_one() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::closed(f.clock.clone());
    let scheduler = f.scheduler(executor.clone());
    let policy = f.policy(&scheduler, "slow", "").await;

    let first = tokio::spawn({
        let scheduler = scheduler.clone();
        async move { scheduler.start_now(policy).await }
    });
    // The default announcement waits for the end, so the claim is visible while the gate holds.
    while !scheduler.is_running(policy) {
        tokio::task::yield_now().await;
    }
    assert!(matches!(
        scheduler.start_now(policy).await,
        Err(RunError::AlreadyRunning { .. })
    ));
    executor.gate.add_permits(1);
    first.await.unwrap().unwrap();
    assert!(matches!(
        scheduler.start_now(PolicyId::new()).await,
        Err(RunError::Repository(_))
    ));
}

/// Holds each run until the test releases that policy's run, and counts the runs in flight, so
/// that the tests decide exactly which runs end when. Announces the run at its start.
#[derive(Debug, Default)]
struct HeldExecutor {
    releases: Mutex<HashMap<PolicyId, Arc<Semaphore>>>,
    calls: Mutex<Vec<PolicyId>>,
    in_flight: Mutex<(usize, usize)>,
}

impl HeldExecutor {
    fn release_of(&self, policy: PolicyId) -> Arc<Semaphore> {
        self.releases
            .lock()
            .unwrap()
            .entry(policy)
            .or_insert_with(|| Arc::new(Semaphore::new(0)))
            .clone()
    }

    fn release(&self, policy: PolicyId) {
        self.release_of(policy).add_permits(1);
    }

    fn calls(&self) -> Vec<PolicyId> {
        self.calls.lock().unwrap().clone()
    }

    /// The most runs that were ever in flight at once.
    fn peak(&self) -> usize {
        self.in_flight.lock().unwrap().1
    }

    async fn held_run(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: Option<oneshot::Sender<RunId>>,
    ) -> Result<RunReport, RunError> {
        let run_id = RunId::new();
        self.calls.lock().unwrap().push(policy.id);
        {
            let mut in_flight = self.in_flight.lock().unwrap();
            in_flight.0 += 1;
            in_flight.1 = in_flight.1.max(in_flight.0);
        }
        if let Some(started) = started {
            let _ = started.send(run_id);
        }
        let release = self.release_of(policy.id);
        release.acquire().await.expect("never closed").forget();
        self.in_flight.lock().unwrap().0 -= 1;
        Ok(success_report(&policy, trigger, run_id, T0, T0, 0, 0))
    }
}

impl PolicyExecutor for HeldExecutor {
    fn execute(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(self.held_run(policy, trigger, None))
    }

    fn execute_announced(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: oneshot::Sender<RunId>,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(self.held_run(policy, trigger, Some(started)))
    }
}

fn limited(f: &Fixture, executor: Arc<HeldExecutor>, limit: usize) -> Scheduler {
    Scheduler::new(Arc::new(f.store.clone()), f.clock.clone(), executor)
        .with_max_concurrent_runs(NonZeroUsize::new(limit).unwrap())
}

#[tokio::test]
async fn the_default_limit_is_32_runs() {
    let f = Fixture::new().await;
    let scheduler = f.scheduler(RecordingExecutor::open(f.clock.clone()));
    assert_eq!(scheduler.max_concurrent_runs().get(), 32);
    assert_eq!(DEFAULT_MAX_CONCURRENT_RUNS.get(), 32);
}

/// Only the runs started by one tick, in dispatch order; fails on any other dispatch, since
/// with every policy idle and its schedule valid a tick reads only what it starts.
fn only_started(
    dispatched: Vec<Dispatch>,
) -> Vec<(PolicyId, JoinHandle<Result<RunReport, RunError>>)> {
    dispatched
        .into_iter()
        .map(|dispatch| match dispatch {
            Dispatch::Started { policy, run, .. } => (policy, run),
            other => panic!("a tick read a policy it did not start: {other:?}"),
        })
        .collect()
}

#[tokio::test]
async fn a_tick_reads_only_what_it_can_start_oldest_due_first_and_the_rest_start_later() {
    const LIMIT: usize = 3;
    // How long before T0 each policy fell due, in order of creation: the longest waiting
    // (8 minutes) is created fourth, so neither creation order nor id decides who starts first.
    const WAITING_MINUTES: [i64; 8] = [3, 7, 1, 8, 5, 2, 6, 4];
    let f = Fixture::new().await;
    let executor = Arc::new(HeldExecutor::default());
    let scheduler = limited(&f, executor.clone(), LIMIT);
    let mut due_at = HashMap::new();
    for (i, minutes) in WAITING_MINUTES.into_iter().enumerate() {
        let due = T0 - Duration::minutes(minutes);
        let policy = f.policy_due(&format!("hourly {i}"), "every 1h", due).await;
        due_at.insert(policy, due);
    }
    let mut oldest_first: Vec<PolicyId> = due_at.keys().copied().collect();
    oldest_first.sort_by_key(|p| due_at[p]);

    let mut started_order = Vec::new();
    let mut started_at: HashMap<PolicyId, OffsetDateTime> = HashMap::new();
    let mut in_flight: Vec<(PolicyId, JoinHandle<Result<RunReport, RunError>>)> = Vec::new();
    let mut rounds = 0;
    while started_at.len() < due_at.len() {
        rounds += 1;
        assert!(rounds <= due_at.len(), "every policy starts eventually");
        let free = LIMIT - in_flight.len();
        let started = only_started(scheduler.tick().await.unwrap());
        assert_eq!(
            started.len(),
            free.min(due_at.len() - started_at.len()),
            "a tick reads and starts as many as there are free slots"
        );
        for (policy, run) in started {
            assert!(
                started_at.insert(policy, f.clock.now()).is_none(),
                "{policy} started twice"
            );
            started_order.push(policy);
            in_flight.push((policy, run));
        }
        assert_eq!(scheduler.runs_in_flight(), in_flight.len());
        for (policy, due) in &due_at {
            if !started_at.contains_key(policy) {
                assert_eq!(
                    f.next_due(*policy).await,
                    Some(*due),
                    "a policy left waiting keeps its due time"
                );
            }
        }

        // Every slot taken: the tick reads nothing due (none of the running is due again).
        if in_flight.len() == LIMIT {
            assert!(scheduler.tick().await.unwrap().is_empty());
        }

        // The two oldest runs end; time passes before the next tick.
        for (policy, run) in in_flight.drain(..2.min(in_flight.len())) {
            executor.release(policy);
            run.await.unwrap().unwrap();
        }
        f.clock.advance(Duration::minutes(10));
    }
    for (policy, run) in in_flight.drain(..) {
        executor.release(policy);
        run.await.unwrap().unwrap();
    }

    assert_eq!(
        started_order, oldest_first,
        "the longest waiting start first"
    );
    // Runs record themselves when their task first runs, so compare as sets.
    let mut calls = executor.calls();
    calls.sort();
    let mut each_once: Vec<PolicyId> = due_at.keys().copied().collect();
    each_once.sort();
    assert_eq!(calls, each_once, "one run each, none twice");
    assert!(executor.peak() <= LIMIT, "at most {LIMIT} runs at once");
    assert!(
        started_at.values().any(|at| *at > T0),
        "some policies waited for a slot"
    );
    for (policy, at) in &started_at {
        assert_eq!(
            f.next_due(*policy).await,
            Some(*at + Duration::hours(1)),
            "the next due time counts from the run's start: catch-up is one run"
        );
    }
    assert!(
        scheduler.tick().await.unwrap().is_empty(),
        "nothing is due after the catch-up"
    );
}

#[tokio::test]
async fn policies_due_again_and_again_take_turns_and_none_starves() {
    let f = Fixture::new().await;
    let executor = Arc::new(HeldExecutor::default());
    let scheduler = limited(&f, executor.clone(), 1);
    let mut policies = Vec::new();
    for i in 0..4 {
        policies.push(f.policy_due(&format!("every 5m {i}"), "every 5m", T0).await);
    }
    // One due time for all: the id breaks the tie, in the order the store compares ids.
    policies.sort_by_key(|p| p.to_string());

    // One slot; each run lasts 10 minutes, longer than the interval, so every policy is due
    // again at every tick. Ordering by due time is a round robin; by id alone the first
    // policy would win every time.
    let mut order = Vec::new();
    for _ in 0..2 * policies.len() {
        let mut started = only_started(scheduler.tick().await.unwrap());
        assert_eq!(started.len(), 1);
        let (policy, run) = started.pop().unwrap();
        order.push(policy);
        f.clock.advance(Duration::minutes(10));
        executor.release(policy);
        run.await.unwrap().unwrap();
    }
    let twice: Vec<PolicyId> = policies.iter().chain(&policies).copied().collect();
    assert_eq!(order, twice);
}

#[tokio::test]
async fn a_running_policy_due_again_is_skipped_without_taking_a_slot() {
    let f = Fixture::new().await;
    let executor = Arc::new(HeldExecutor::default());
    let scheduler = limited(&f, executor.clone(), 2);
    let long = f
        .policy_due("long", "every 5m", T0 - Duration::minutes(1))
        .await;
    let first = f
        .policy_due("first", "every 1h", T0 + Duration::minutes(6))
        .await;
    let second = f
        .policy_due("second", "every 1h", T0 + Duration::minutes(7))
        .await;

    let mut started = only_started(scheduler.tick().await.unwrap());
    let (policy, long_run) = started.pop().unwrap();
    assert_eq!(policy, long);
    assert!(started.is_empty());

    // At +10 min `long` is due again (since +5 min, before the others) while still running:
    // its due time is skipped, and the one free slot goes to the oldest policy that can start.
    f.clock.advance(Duration::minutes(10));
    let dispatched = scheduler.tick().await.unwrap();
    let [
        Dispatch::AlreadyRunning {
            policy: skipped,
            next_due,
        },
        Dispatch::Started {
            policy: started,
            run: first_run,
            ..
        },
    ] = <[Dispatch; 2]>::try_from(dispatched).unwrap()
    else {
        panic!("expected the running policy skipped and one start")
    };
    assert_eq!((skipped, started), (long, first));
    assert_eq!(next_due, Some(f.clock.now() + Duration::minutes(5)));
    assert_eq!(f.next_due(long).await, next_due);

    // Every slot taken, and `long` due again: still skipped, never left due behind the
    // queue; `second` is not read and keeps its due time.
    f.clock.advance(Duration::minutes(6));
    let dispatched = scheduler.tick().await.unwrap();
    assert!(
        matches!(dispatched.as_slice(), [Dispatch::AlreadyRunning { policy, .. }] if *policy == long),
        "{dispatched:?}"
    );
    assert_eq!(f.next_due(second).await, Some(T0 + Duration::minutes(7)));

    executor.release(long);
    long_run.await.unwrap().unwrap();
    let mut started = only_started(scheduler.tick().await.unwrap());
    let (policy, second_run) = started.pop().unwrap();
    assert_eq!(policy, second, "the freed slot goes to the waiting policy");
    assert!(
        started.is_empty(),
        "`long` is not due: its due time moved on"
    );
    executor.release(first);
    executor.release(second);
    first_run.await.unwrap().unwrap();
    second_run.await.unwrap().unwrap();
    let mut calls = executor.calls();
    calls.sort();
    let mut expected = vec![long, first, second];
    expected.sort();
    assert_eq!(calls, expected, "one run each");
}

#[tokio::test]
async fn run_now_takes_a_free_slot_and_is_not_refused_when_none_is_free() {
    let f = Fixture::new().await;
    let executor = Arc::new(HeldExecutor::default());
    let scheduler = limited(&f, executor.clone(), 1);
    let on_demand = f.policy(&scheduler, "on demand", "").await;
    let other = f.policy(&scheduler, "other on demand", "").await;
    let hourly = f.policy(&scheduler, "hourly", "every 1h").await;

    // Run now holds the only slot: the scheduled policy waits, not even read, still due.
    let manual = scheduler.start_now(on_demand).await.unwrap();
    assert!(scheduler.tick().await.unwrap().is_empty());
    assert_eq!(f.next_due(hourly).await, Some(T0));

    executor.release(on_demand);
    manual.report.await.unwrap().unwrap();
    let mut dispatched = scheduler.tick().await.unwrap();
    let Some(Dispatch::Started { policy, run, .. }) = dispatched.pop() else {
        panic!("the slot is free again")
    };
    assert_eq!(policy, hourly);

    // Every slot taken by a scheduled run: Run now still starts, in addition to the limit.
    let extra = scheduler.start_now(other).await.unwrap();
    assert_eq!(scheduler.runs_in_flight(), 2);
    executor.release(other);
    let report = extra.report.await.unwrap().unwrap();
    assert_eq!(report.trigger, RunTrigger::Manual);
    executor.release(hourly);
    run.await.unwrap().unwrap();
    assert_eq!(executor.calls(), vec![on_demand, hourly, other]);
}

/// Each wait of [`Scheduler::serve`] announces itself and returns only when the test steps it,
/// moving the manual clock by the wait: the test drives `serve` tick by tick, without sleeping.
#[derive(Debug)]
struct SteppedSleeper {
    clock: Arc<ManualClock>,
    waits: mpsc::UnboundedSender<std::time::Duration>,
    steps: Semaphore,
}

impl Sleeper for SteppedSleeper {
    fn sleep(&self, duration: std::time::Duration) -> Sleep<'_> {
        let _ = self.waits.send(duration);
        Box::pin(async move {
            self.steps.acquire().await.expect("steps open").forget();
            self.clock.advance(Duration::try_from(duration).unwrap());
        })
    }
}

#[tokio::test]
async fn serve_waits_through_the_injected_sleeper_and_ticks_after_each_wait() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::open(f.clock.clone());
    let (announce, mut waits) = mpsc::unbounded_channel();
    let sleeper = Arc::new(SteppedSleeper {
        clock: f.clock.clone(),
        waits: announce,
        steps: Semaphore::new(0),
    });
    let scheduler = f.scheduler(executor).with_sleeper(sleeper.clone());
    let policy = f
        .policy_due("hourly", "every 1h", T0 + Duration::minutes(2))
        .await;
    let poll_every = std::time::Duration::from_secs(60);
    let (stop, stopped) = oneshot::channel::<()>();
    let serving = tokio::spawn({
        let scheduler = scheduler.clone();
        async move {
            scheduler
                .serve(poll_every, async {
                    let _ = stopped.await;
                })
                .await;
        }
    });

    // Ticks at T0 and T0+1m find nothing due; each is followed by one wait of `poll_every`.
    for _ in 0..2 {
        assert_eq!(waits.recv().await, Some(poll_every));
        assert_eq!(
            f.next_due(policy).await,
            Some(T0 + Duration::minutes(2)),
            "not dispatched before its due time"
        );
        sleeper.steps.add_permits(1);
    }
    // The tick at T0+2m dispatched it and stored the next due time counted from then.
    assert_eq!(waits.recv().await, Some(poll_every));
    assert_eq!(
        f.next_due(policy).await,
        Some(T0 + Duration::minutes(2) + Duration::hours(1))
    );

    stop.send(()).unwrap();
    serving.await.unwrap();
}

// --- start-up recovery with several instances on one database -------------------------------

#[tokio::test]
async fn recovery_fails_only_this_instances_runs_and_those_of_a_silent_instance() {
    let f = Fixture::new().await;
    let b = f
        .scheduler(RecordingExecutor::open(f.clock.clone()))
        .with_instance_id("instance-b", Duration::minutes(2));
    let live_a = f.policy(&b, "carried by A", "").await;
    let previous_b = f.policy(&b, "left by B's previous process", "").await;
    let unheld = f.policy(&b, "from before holders were recorded", "").await;
    let started = f.clock.now();
    let run_a = f
        .store
        .start_held_run(live_a, RunTrigger::Scheduled, Some("instance-a"), started)
        .await
        .unwrap();
    let run_b = f
        .store
        .start_held_run(previous_b, RunTrigger::Manual, Some("instance-b"), started)
        .await
        .unwrap();
    let run_old = f
        .store
        .start_run(unheld, RunTrigger::Manual, started)
        .await
        .unwrap();

    // B restarts 30 s later while A is alive (its heartbeat is fresh).
    f.clock.advance(Duration::seconds(30));
    f.store
        .heartbeat_runs("instance-a", f.clock.now())
        .await
        .unwrap();
    assert_eq!(b.recover_interrupted_runs().await.unwrap(), 2);
    let status = |run: RunId| {
        let store = f.store.clone();
        async move { store.run(run).await.unwrap().status.as_str().to_owned() }
    };
    assert_eq!(
        status(run_a.id).await,
        "running",
        "A's live run is left alone"
    );
    assert_eq!(status(run_b.id).await, "failed", "B's own previous run");
    assert_eq!(status(run_old.id).await, "failed", "a run nobody holds");

    // A goes silent for longer than stale_after: its run is recovered too.
    f.clock.advance(Duration::minutes(3));
    assert_eq!(b.recover_interrupted_runs().await.unwrap(), 1);
    assert_eq!(status(run_a.id).await, "failed");
}

#[tokio::test]
async fn a_tick_keeps_this_instances_runs_alive_for_the_others() {
    let f = Fixture::new().await;
    let executor = RecordingExecutor::closed(f.clock.clone());
    let a = f
        .scheduler(executor.clone())
        .with_instance_id("instance-a", Duration::minutes(2));
    let policy = f.policy_due("hourly", "every 1h", T0).await;
    // The executor stands in for the runner: the run row is A's, held open by the gate.
    let run = f
        .store
        .start_held_run(policy, RunTrigger::Scheduled, Some("instance-a"), T0)
        .await
        .unwrap();
    a.tick().await.unwrap();
    for _ in 0..5 {
        f.clock.advance(Duration::minutes(1));
        a.tick().await.unwrap();
    }
    let b = f
        .scheduler(RecordingExecutor::open(f.clock.clone()))
        .with_instance_id("instance-b", Duration::minutes(2));
    assert_eq!(b.recover_interrupted_runs().await.unwrap(), 0);
    assert_eq!(
        f.store.run(run.id).await.unwrap().status.as_str(),
        "running",
        "five minutes in, A's heartbeat still says it carries the run"
    );
    executor.gate.add_permits(1);
}
