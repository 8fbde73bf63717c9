//! The renewal scheduler's passes over the in-memory repository, on a manual clock (no test
//! sleeps). Most tests start rotations through `HeldRotations`, which counts the starts and
//! keeps each rotation open until the test lets it settle: the slot limit and the Retry-After
//! pause are about rotations in flight, which a real rotation against the fake directory does
//! not hold open on demand. One test goes through the real rotation workflow and holds whether
//! that starts or refuses.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use tenantlink_certificate::{GenerateOptions, generate};
use tenantlink_clock::{Clock, ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{self, FakeDirectory, MemoryRepository};
use tenantlink_service::renewal::{
    RenewAtFraction, RenewalFailure, RenewalPolicyChange, RenewalScheduler, RenewalSchedulerConfig,
    RenewalState, RenewalStatus, ScheduledRotations,
};
use tenantlink_service::{
    BoxFuture, Caller, CallerVia, CertificateSource, KeyRemovalReport, NewOrganization, Operation,
    OperationId, OperationKind, OrganizationId, RENEWAL_ACTOR, Repository, Role, ServiceError,
    ServiceResult, Workflows, WorkflowsConfig,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use tokio::sync::Semaphore;

const START: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);
/// A 365-day certificate issued this long ago is past two thirds of its life (and the day of
/// jitter), so its renewal is due.
const DUE_AGE: Duration = Duration::days(300);

#[tokio::test]
async fn a_pass_records_when_each_organization_renews_and_leaves_an_unchanged_plan_alone() {
    let world = World::new().await;
    let org = world.connected("contoso", START).await;
    let rotations = HeldRotations::new(&world);
    let scheduler = world.scheduler(4, &rotations);

    let first = scheduler.tick().await;
    let planned = world.status(org).await.decision.next_renewal_at();
    assert!(planned.is_some_and(|at| at > START), "{planned:?}");
    assert_eq!(world.state(org).await.next_renewal_at, planned);
    assert_eq!((first.organizations, first.planned, first.due), (1, 1, 0));

    let second = scheduler.tick().await;
    assert_eq!(second.planned, 0, "an unchanged plan is not written again");
    assert!(rotations.started().is_empty(), "nothing was due");
}

#[tokio::test]
async fn organizations_that_are_not_due_are_not_started() {
    let world = World::new().await;
    world.connected("contoso", START).await;
    world
        .connected("fabrikam", START - Duration::days(100))
        .await;
    let rotations = HeldRotations::new(&world);

    let report = world.scheduler(4, &rotations).tick().await;

    assert_eq!((report.due, report.started), (0, 0));
    assert!(rotations.started().is_empty());
}

#[tokio::test]
async fn a_due_organization_whose_claim_another_instance_holds_is_skipped_until_it_expires() {
    let world = World::new().await;
    let org = world.connected("contoso", START - DUE_AGE).await;
    let claimed = world
        .repository
        .claim_renewal(org, "other-instance", START, START + Duration::minutes(10))
        .await
        .unwrap();
    assert!(claimed);
    let rotations = HeldRotations::new(&world);
    let scheduler = world.scheduler(4, &rotations);

    let held = scheduler.tick().await;
    assert_eq!((held.due, held.skipped_claimed, held.started), (1, 1, 0));
    assert!(rotations.started().is_empty());

    world.clock.advance(Duration::minutes(11));
    let expired = scheduler.tick().await;
    assert_eq!(expired.started, 1);
    assert_eq!(rotations.started(), vec![org]);
}

#[tokio::test]
async fn organizations_that_need_an_administrator_are_counted_and_not_started() {
    let world = World::new().await;
    let never_connected = world.organization("contoso").await;
    let expired = world
        .connected("fabrikam", START - Duration::days(400))
        .await;
    let rotations = HeldRotations::new(&world);

    let report = world.scheduler(4, &rotations).tick().await;

    assert_eq!((report.needs_administrator, report.started), (2, 0));
    assert!(rotations.started().is_empty());
    for org in [never_connected, expired] {
        assert_eq!(world.state(org).await.next_renewal_at, None);
    }
}

#[tokio::test]
async fn at_most_max_in_flight_rotations_run_at_once_and_every_due_one_gets_its_turn() {
    let world = World::new().await;
    let mut due = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        due.push(world.connected(name, START - DUE_AGE).await);
    }
    let rotations = HeldRotations::new(&world);
    let scheduler = world.scheduler(2, &rotations);

    let first = scheduler.tick().await;
    assert_eq!(
        (first.due, first.started, first.waiting_for_slot),
        (5, 2, 3)
    );
    let busy = scheduler.tick().await;
    assert_eq!(
        (busy.started, busy.in_flight, busy.waiting_for_slot),
        (0, 2, 3)
    );

    rotations.settle(2);
    scheduler.idle().await;
    let second = scheduler.tick().await;
    assert_eq!((second.started, second.waiting_for_slot), (2, 1));
    rotations.settle(2);
    scheduler.idle().await;
    let third = scheduler.tick().await;
    assert_eq!((third.started, third.waiting_for_slot), (1, 0));

    assert_eq!(rotations.most_open(), 2);
    let started: HashSet<OrganizationId> = rotations.started().into_iter().collect();
    assert_eq!(started, due.into_iter().collect());
}

#[tokio::test]
async fn a_settled_rotation_gives_its_claim_back() {
    let world = World::new().await;
    let org = world.connected("contoso", START - DUE_AGE).await;
    let rotations = HeldRotations::new(&world);
    let scheduler = world.scheduler(4, &rotations);

    assert_eq!(scheduler.tick().await.started, 1);
    assert!(
        !world.other_instance_claims(org).await,
        "held while in flight"
    );
    rotations.settle(1);
    scheduler.idle().await;
    assert!(world.other_instance_claims(org).await);
}

#[tokio::test]
async fn an_organization_with_another_operation_running_is_skipped_quietly_and_released() {
    let world = World::new().await;
    let org = world.connected("contoso", START - DUE_AGE).await;
    let rotations = HeldRotations::new(&world);
    rotations.busy(org);

    let report = world.scheduler(4, &rotations).tick().await;

    assert_eq!(
        (report.skipped_busy, report.started, report.failed_to_start),
        (1, 0, 0)
    );
    assert!(world.other_instance_claims(org).await);
}

#[tokio::test]
async fn a_retry_after_pauses_new_starts_of_the_instance_until_it_passes() {
    let world = World::new().await;
    for name in ["a", "b", "c"] {
        world.connected(name, START - DUE_AGE).await;
    }
    let quiet = world.connected("quiet", START).await;
    let rotations = HeldRotations::new(&world);
    rotations.answer_429_with_retry_after(Duration::seconds(120));
    let scheduler = world.scheduler(1, &rotations);

    assert_eq!(scheduler.tick().await.started, 1);
    rotations.settle(1);
    scheduler.idle().await;

    // The pass during the pause still plans (a policy change shows), but starts nothing and
    // leaves the key sweep (a directory write) for later.
    let before = world.state(quiet).await.next_renewal_at;
    world.change_renewal_point(quiet).await;
    let paused = scheduler.tick().await;
    assert_eq!(paused.paused_until, Some(START + Duration::seconds(120)));
    assert_eq!(paused.started, 0);
    let replanned = world.state(quiet).await.next_renewal_at;
    assert_ne!(replanned, before);
    assert_eq!(
        replanned,
        world.status(quiet).await.decision.next_renewal_at()
    );
    assert_eq!(paused.keys, None);
    assert_eq!(rotations.started().len(), 1);

    world.clock.advance(Duration::seconds(121));
    let resumed = scheduler.tick().await;
    assert_eq!((resumed.paused_until, resumed.started), (None, 1));
    assert!(resumed.keys.is_some());
    let started = rotations.started();
    assert_ne!(started[0], started[1], "the throttled one backs off");
}

#[tokio::test]
async fn a_retry_after_met_by_the_key_removal_sweep_pauses_new_starts_too() {
    let world = World::new().await;
    let rotations = HeldRotations::new(&world);
    *rotations.sweep_retry_after.lock().unwrap() = Some(StdDuration::from_secs(90));
    let scheduler = world.scheduler(2, &rotations);

    let swept = scheduler.tick().await;
    assert_eq!(
        swept.keys.map(|k| k.retry_after),
        Some(Some(StdDuration::from_secs(90)))
    );
    assert_eq!(swept.paused_until, Some(START + Duration::seconds(90)));

    // Due now, but the directory asked to wait: neither a start nor another sweep.
    let org = world.connected("due", START - DUE_AGE).await;
    let paused = scheduler.tick().await;
    assert_eq!((paused.started, paused.keys), (0, None));
    assert!(rotations.started().is_empty());

    world.clock.advance(Duration::seconds(91));
    let resumed = scheduler.tick().await;
    assert_eq!((resumed.paused_until, resumed.started), (None, 1));
    assert_eq!(rotations.started(), vec![org]);
}

#[tokio::test]
async fn run_passes_once_per_check_every_until_stopped_and_failures_do_not_stop_it() {
    let world = World::new().await;
    world.connected("contoso", START).await;
    let rotations = HeldRotations::new(&world);
    rotations.fail_sweeps();
    let scheduler = world
        .scheduler(4, &rotations)
        .with_sleeper(Arc::new(world.sleeper.clone()));

    let sleeper = world.sleeper.clone();
    let after_three_waits = std::future::poll_fn(move |cx| {
        if sleeper.waits().len() >= 3 {
            std::task::Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    });
    scheduler.run(after_three_waits).await;

    assert_eq!(rotations.sweeps(), 3, "one sweep per pass, each failing");
    assert_eq!(world.sleeper.waits(), vec![StdDuration::from_secs(300); 3]);
    assert_eq!(world.clock.now(), START + Duration::seconds(900));
}

#[tokio::test]
async fn a_due_organization_goes_to_the_rotation_workflow_and_is_released_when_it_settled() {
    let world = World::new().await;
    let org = world.connected("contoso", START - DUE_AGE).await;
    let scheduler = RenewalScheduler::new(world.workflows.clone(), config(4));

    let report = scheduler.tick().await;
    scheduler.idle().await;

    // Whether the rotation started or refused, it was asked exactly once and gave the claim
    // back; a started one is a rotate operation by the renewal actor.
    assert_eq!(report.started + report.failed_to_start, 1, "{report:?}");
    let rotations: Vec<Operation> = world
        .repository
        .operations(org)
        .await
        .unwrap()
        .into_iter()
        .filter(|o| o.kind == OperationKind::Rotate)
        .collect();
    assert_eq!(rotations.len(), report.started);
    assert!(rotations.iter().all(|o| o.started_by == RENEWAL_ACTOR));
    assert!(world.other_instance_claims(org).await);
}

// ---------------------------------------------------------------------------------------------
// The world
// ---------------------------------------------------------------------------------------------

struct World {
    clock: Arc<ManualClock>,
    sleeper: RecordingSleeper,
    repository: MemoryRepository,
    workflows: Workflows,
}

fn admin() -> Caller {
    Caller {
        name: "setup".into(),
        role: Role::Administrator,
        via: CallerVia::ApiToken,
        csrf_token: None,
        account: None,
    }
}

fn config(max_in_flight: usize) -> RenewalSchedulerConfig {
    RenewalSchedulerConfig {
        max_in_flight,
        ..RenewalSchedulerConfig::default()
    }
}

impl World {
    async fn new() -> Self {
        let clock = Arc::new(ManualClock::at(START));
        let sleeper = RecordingSleeper::advancing(clock.clone());
        let repository = MemoryRepository::new();
        let workflows = Workflows::new(
            Arc::new(repository.clone()),
            Arc::new(FakeDirectory::new(clock.clone())),
            clock.clone(),
            Arc::new(sleeper.clone()),
            WorkflowsConfig::default(),
        )
        .with_instance_id("this-instance");
        Self {
            clock,
            sleeper,
            repository,
            workflows,
        }
    }

    fn scheduler(&self, max_in_flight: usize, rotations: &Arc<HeldRotations>) -> RenewalScheduler {
        RenewalScheduler::new(self.workflows.clone(), config(max_in_flight))
            .with_rotations(rotations.clone())
    }

    async fn organization(&self, name: &str) -> OrganizationId {
        let new = NewOrganization {
            name: name.into(),
            tenant: format!("{name}.onmicrosoft.com"),
            ..fakes::new_organization()
        };
        self.workflows
            .add_organization(&admin(), new)
            .await
            .unwrap()
            .id
    }

    /// An organization whose active certificate (365 days) was issued at `issued`.
    async fn connected(&self, name: &str, issued: OffsetDateTime) -> OrganizationId {
        let org = self.organization(name).await;
        let credential = generate(&GenerateOptions::default(), issued).unwrap();
        let stored = self
            .repository
            .save_certificate(org, &credential, CertificateSource::Generated, issued)
            .await
            .unwrap();
        self.repository.force_activate(org, stored.id, issued);
        org
    }

    async fn state(&self, org: OrganizationId) -> RenewalState {
        self.repository.renewal(org).await.unwrap().state
    }

    async fn status(&self, org: OrganizationId) -> RenewalStatus {
        self.workflows.renewal_status(&admin(), org).await.unwrap()
    }

    async fn other_instance_claims(&self, org: OrganizationId) -> bool {
        let now = self.clock.now();
        self.repository
            .claim_renewal(org, "other-instance", now, now + Duration::minutes(10))
            .await
            .unwrap()
    }

    /// Renews the organization at half its certificate's life instead of two thirds.
    async fn change_renewal_point(&self, org: OrganizationId) {
        let change = RenewalPolicyChange {
            renew_at: Some(RenewAtFraction::new(1, 2).unwrap()),
            ..RenewalPolicyChange::default()
        };
        self.workflows
            .set_renewal_policy(&admin(), org, &change)
            .await
            .unwrap();
    }
}

/// Rotations that only count: each start is recorded and stays open until the test lets it
/// settle; settling records a failed attempt (so the organization backs off, as after a real
/// failure) and, when told, Graph's 429 with its Retry-After.
#[derive(Debug)]
struct HeldRotations {
    repository: MemoryRepository,
    clock: Arc<ManualClock>,
    /// One permit lets one open rotation settle.
    gate: Semaphore,
    started: Mutex<Vec<OrganizationId>>,
    operations: Mutex<HashMap<OperationId, OrganizationId>>,
    busy: Mutex<HashSet<OrganizationId>>,
    open: AtomicUsize,
    most_open: AtomicUsize,
    retry_after: Mutex<Option<Duration>>,
    sweeps: AtomicUsize,
    sweeps_fail: Mutex<bool>,
    /// The sweep's next report says Graph answered a removal with 429 and this `Retry-After`.
    sweep_retry_after: Mutex<Option<StdDuration>>,
    /// When set, the next start does not return before this gate gets a permit (a slow key
    /// generation).
    next_start_held: Mutex<Option<Arc<Semaphore>>>,
}

impl HeldRotations {
    fn new(world: &World) -> Arc<Self> {
        Arc::new(Self {
            repository: world.repository.clone(),
            clock: world.clock.clone(),
            gate: Semaphore::new(0),
            started: Mutex::default(),
            operations: Mutex::default(),
            busy: Mutex::default(),
            open: AtomicUsize::new(0),
            most_open: AtomicUsize::new(0),
            retry_after: Mutex::default(),
            sweeps: AtomicUsize::new(0),
            sweeps_fail: Mutex::new(false),
            sweep_retry_after: Mutex::default(),
            next_start_held: Mutex::default(),
        })
    }

    /// The next start returns only once the returned gate gets a permit.
    fn hold_next_start(&self) -> Arc<Semaphore> {
        let gate = Arc::new(Semaphore::new(0));
        *self.next_start_held.lock().unwrap() = Some(gate.clone());
        gate
    }

    fn settle(&self, count: usize) {
        self.gate.add_permits(count);
    }

    fn busy(&self, org: OrganizationId) {
        self.busy.lock().unwrap().insert(org);
    }

    fn answer_429_with_retry_after(&self, wait: Duration) {
        *self.retry_after.lock().unwrap() = Some(wait);
    }

    fn fail_sweeps(&self) {
        *self.sweeps_fail.lock().unwrap() = true;
    }

    fn started(&self) -> Vec<OrganizationId> {
        self.started.lock().unwrap().clone()
    }

    fn most_open(&self) -> usize {
        self.most_open.load(Ordering::SeqCst)
    }

    fn sweeps(&self) -> usize {
        self.sweeps.load(Ordering::SeqCst)
    }

    async fn settle_one(&self, id: OperationId) -> ServiceResult<Operation> {
        self.gate.acquire().await.expect("gate open").forget();
        let org = self.operations.lock().unwrap()[&id];
        let now = self.clock.now();
        let retry_after = *self.retry_after.lock().unwrap();
        let state = RenewalState {
            failed_attempts: 1,
            last_attempt_at: Some(now),
            last_failure: Some(RenewalFailure {
                at: now,
                code: "ServiceUnavailable".into(),
                message: "The service is temporarily unavailable.".into(),
                retryable: true,
            }),
            retry_not_before: retry_after.map(|wait| now + wait),
            ..self.repository.renewal(org).await?.state
        };
        self.repository.set_renewal_state(org, &state, now).await?;
        self.open.fetch_sub(1, Ordering::SeqCst);
        Ok(rotation(org, id, now))
    }
}

fn rotation(org: OrganizationId, id: OperationId, at: OffsetDateTime) -> Operation {
    Operation {
        id,
        kind: OperationKind::Rotate,
        started_by: RENEWAL_ACTOR.into(),
        ..fakes::operation(org, at)
    }
}

impl ScheduledRotations for HeldRotations {
    fn start(&self, organization: OrganizationId) -> BoxFuture<'_, ServiceResult<Operation>> {
        let outcome = if self.busy.lock().unwrap().contains(&organization) {
            Err(ServiceError::Conflict {
                detail: "another operation runs".into(),
            })
        } else {
            self.started.lock().unwrap().push(organization);
            let open = self.open.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_open.fetch_max(open, Ordering::SeqCst);
            let id = OperationId::new();
            self.operations.lock().unwrap().insert(id, organization);
            Ok(rotation(organization, id, self.clock.now()))
        };
        let held = self.next_start_held.lock().unwrap().take();
        Box::pin(async move {
            if let Some(gate) = held {
                gate.acquire().await.expect("gate open").forget();
            }
            outcome
        })
    }

    fn settled(&self, operation: OperationId) -> BoxFuture<'_, ServiceResult<Operation>> {
        Box::pin(self.settle_one(operation))
    }

    fn remove_retired_keys(&self) -> BoxFuture<'_, ServiceResult<KeyRemovalReport>> {
        self.sweeps.fetch_add(1, Ordering::SeqCst);
        let outcome = if *self.sweeps_fail.lock().unwrap() {
            Err(ServiceError::Internal("the sweep failed".into()))
        } else {
            let retry_after = self.sweep_retry_after.lock().unwrap().take();
            Ok(KeyRemovalReport {
                failed: u32::from(retry_after.is_some()),
                retry_after,
                ..KeyRemovalReport::default()
            })
        };
        Box::pin(std::future::ready(outcome))
    }
}

/// A slot freed while another start is still generating its key goes to the next due
/// organization at once, not after that start: waiting for a batch's slowest start left a core
/// idle in the 10,000-organization benchmark.
#[tokio::test]
async fn a_slot_freed_during_a_slow_start_is_taken_before_that_start_ends() {
    let world = World::new().await;
    for name in ["a", "b", "c"] {
        world.connected(name, START - DUE_AGE).await;
    }
    let rotations = HeldRotations::new(&world);
    let scheduler = world.scheduler(2, &rotations);
    let slow = rotations.hold_next_start();
    // The second start's rotation settles as soon as it is followed.
    rotations.settle(1);
    let release = async {
        let mut third_began_while_held = false;
        for _ in 0..10_000 {
            if rotations.started().len() == 3 {
                third_began_while_held = true;
                break;
            }
            tokio::task::yield_now().await;
        }
        slow.add_permits(1);
        third_began_while_held
    };
    let (report, third_began_while_held) = tokio::join!(scheduler.tick(), release);
    assert!(
        third_began_while_held,
        "the third start waited for the slow one: {:?}",
        rotations.started()
    );
    assert_eq!(
        (report.due, report.started, report.waiting_for_slot),
        (3, 3, 0)
    );
    assert_eq!(rotations.most_open(), 2, "never more than the slots");
}

#[tokio::test]
async fn organizations_left_waiting_for_a_slot_start_as_slots_free_without_a_new_pass() {
    let world = World::new().await;
    let mut due = Vec::new();
    for name in ["a", "b", "c", "d", "e"] {
        due.push(world.connected(name, START - DUE_AGE).await);
    }
    let rotations = HeldRotations::new(&world);
    let scheduler = world.scheduler(2, &rotations);

    let pass = scheduler.tick().await;
    assert_eq!((pass.started, pass.waiting_for_slot), (2, 3));

    rotations.settle(2);
    let freed = scheduler.start_waiting().await;
    assert_eq!((freed.started, freed.waiting_for_slot), (2, 1));
    rotations.settle(2);
    let last = scheduler.start_waiting().await;
    assert_eq!((last.started, last.waiting_for_slot), (1, 0));
    // Nothing waits any more: it resolves at once and starts nothing.
    let none = scheduler.start_waiting().await;
    assert_eq!((none.started, none.waiting_for_slot), (0, 0));

    assert_eq!(rotations.most_open(), 2);
    let started: HashSet<OrganizationId> = rotations.started().into_iter().collect();
    assert_eq!(started, due.into_iter().collect());
}
