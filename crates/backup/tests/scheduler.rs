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
use tenantlink_clock::{Clock, ManualClock};
use tenantlink_store::{
    BackupPolicy, BackupScope, NewBackupPolicy, NewOrganization, OrganizationId, PolicyId, RunId,
    RunTrigger, Store,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::{Semaphore, oneshot};
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
                    cloud: "global".into(),
                    backup_app_id: "11111111-1111-4111-8111-111111111111".into(),
                    app_object_id: None,
                    display_name: "Contoso".into(),
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
        Scheduler::new(self.store.clone(), self.clock.clone(), executor)
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
        Err(RunError::Store(_))
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
    Scheduler::new(f.store.clone(), f.clock.clone(), executor)
        .with_max_concurrent_runs(NonZeroUsize::new(limit).unwrap())
}

#[tokio::test]
async fn the_default_limit_is_32_runs() {
    let f = Fixture::new().await;
    let scheduler = f.scheduler(RecordingExecutor::open(f.clock.clone()));
    assert_eq!(scheduler.max_concurrent_runs().get(), 32);
    assert_eq!(DEFAULT_MAX_CONCURRENT_RUNS.get(), 32);
}

#[tokio::test]
async fn due_policies_beyond_the_limit_stay_due_and_start_when_a_slot_frees() {
    const POLICIES: usize = 8;
    const LIMIT: usize = 3;
    let f = Fixture::new().await;
    let executor = Arc::new(HeldExecutor::default());
    let scheduler = limited(&f, executor.clone(), LIMIT);
    let mut policies = Vec::new();
    for i in 0..POLICIES {
        policies.push(
            f.policy(&scheduler, &format!("hourly {i}"), "every 1h")
                .await,
        );
    }

    let mut in_flight: HashMap<PolicyId, JoinHandle<Result<RunReport, RunError>>> = HashMap::new();
    let mut started_at: HashMap<PolicyId, OffsetDateTime> = HashMap::new();
    let mut rounds = 0;
    while started_at.len() < POLICIES {
        rounds += 1;
        assert!(
            rounds <= POLICIES,
            "every policy starts within {POLICIES} rounds"
        );
        let dispatched = scheduler.tick().await.unwrap();
        let mut deferred = 0;
        for dispatch in dispatched {
            match dispatch {
                Dispatch::Started {
                    policy,
                    run,
                    next_due,
                } => {
                    assert_eq!(next_due, Some(f.clock.now() + Duration::hours(1)));
                    assert!(
                        started_at.insert(policy, f.clock.now()).is_none(),
                        "a policy started twice"
                    );
                    in_flight.insert(policy, run);
                }
                Dispatch::Deferred { policy } => {
                    deferred += 1;
                    assert!(!started_at.contains_key(&policy));
                    assert_eq!(
                        f.next_due(policy).await,
                        Some(T0),
                        "a deferred policy keeps its due time"
                    );
                }
                other => panic!("unexpected dispatch {other:?}"),
            }
        }
        assert_eq!(
            in_flight.len(),
            LIMIT.min(POLICIES - started_at.len() + in_flight.len())
        );
        assert_eq!(
            deferred,
            POLICIES - started_at.len(),
            "the rest are deferred, none lost"
        );
        assert_eq!(scheduler.runs_in_flight(), in_flight.len());

        // Ticking again with every slot taken starts nothing and advances nothing.
        let again = scheduler.tick().await.unwrap();
        assert!(again.iter().all(|d| matches!(d, Dispatch::Deferred { .. })));
        assert_eq!(again.len(), POLICIES - started_at.len());

        // Two runs end; time passes before the next tick.
        let ending: Vec<PolicyId> = in_flight.keys().copied().take(2).collect();
        for policy in ending {
            executor.release(policy);
            in_flight.remove(&policy).unwrap().await.unwrap().unwrap();
        }
        f.clock.advance(Duration::minutes(10));
    }
    for (policy, run) in in_flight.drain() {
        executor.release(policy);
        run.await.unwrap().unwrap();
    }

    let mut calls = executor.calls();
    assert_eq!(
        calls.len(),
        POLICIES,
        "one run per policy: catch-up is still one run"
    );
    calls.sort();
    calls.dedup();
    assert_eq!(calls.len(), POLICIES, "none ran twice");
    assert!(executor.peak() <= LIMIT, "at most {LIMIT} runs at once");
    assert!(
        started_at.values().any(|at| *at > T0),
        "some policies waited for a slot"
    );
    for policy in policies {
        assert_eq!(
            f.next_due(policy).await,
            Some(started_at[&policy] + Duration::hours(1)),
            "the next due time counts from the run's start"
        );
    }
    assert!(
        scheduler.tick().await.unwrap().is_empty(),
        "nothing is due after the catch-up"
    );
}

#[tokio::test]
async fn run_now_takes_a_free_slot_and_is_not_refused_when_none_is_free() {
    let f = Fixture::new().await;
    let executor = Arc::new(HeldExecutor::default());
    let scheduler = limited(&f, executor.clone(), 1);
    let on_demand = f.policy(&scheduler, "on demand", "").await;
    let other = f.policy(&scheduler, "other on demand", "").await;
    let hourly = f.policy(&scheduler, "hourly", "every 1h").await;

    // Run now holds the only slot: the scheduled policy waits, still due.
    let manual = scheduler.start_now(on_demand).await.unwrap();
    let dispatched = scheduler.tick().await.unwrap();
    assert!(matches!(dispatched.as_slice(), [Dispatch::Deferred { policy }] if *policy == hourly));
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
