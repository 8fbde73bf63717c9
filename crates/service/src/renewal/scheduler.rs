//! The renewal scheduler: every `check_every` it looks at every organization, records when its
//! next renewal is planned, and starts the rotations that are due — each claimed in the
//! database first, so that of several instances sharing one repository exactly one rotates an
//! organization; at most `max_in_flight` at a time per instance; and none while Graph has asked
//! this instance to slow down (429 with `Retry-After`). Each pass also runs the sweep that takes
//! retired keys off the applications.
//!
//! A pass never waits for a rotation: the rotation runs on the workflow's own background task,
//! and a small task of the scheduler waits for it to settle, then gives back the claim and the
//! slot. So 10,000 due organizations are worked through `max_in_flight` at a time, most urgent
//! (earliest expiry) first, a few more at every pass as slots free.

use super::{RenewalDecision, RenewalState, active_certificate, status_at};
use crate::error::{ServiceError, ServiceResult};
use crate::model::OrganizationId;
use crate::operation::{Operation, OperationId};
use crate::ports::{BoxFuture, Repository};
use crate::workflows::{KeyRemovalReport, Workflows};
use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;
use tenantlink_clock::{SharedSleeper, TokioSleeper};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

#[cfg(test)]
#[path = "scheduler_tests.rs"]
mod tests;

/// How often the scheduler looks at every organization unless configured otherwise.
pub const DEFAULT_CHECK_EVERY: StdDuration = StdDuration::from_secs(300);
/// Rotations in flight at once per instance unless configured otherwise: each costs a key
/// generation and three Graph writes, so a few keep the directory's write quotas far away.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4;
/// How long a claim on an organization's renewal lasts unless configured otherwise.
pub const DEFAULT_LEASE_FOR: StdDuration = StdDuration::from_secs(600);
/// The longest this instance pauses new starts for one `Retry-After`: a value of days (a
/// misbehaving proxy, a clock jump) must not silently stop every renewal. The organization that
/// was told to wait still waits its full `retry_not_before`.
pub const MAX_PAUSE: time::Duration = time::Duration::hours(1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenewalSchedulerConfig {
    /// Time between two passes (at least one second).
    pub check_every: StdDuration,
    /// Rotations this instance runs at once (at least one).
    pub max_in_flight: usize,
    /// How long the database claim on an organization lasts (at least one second). It only has
    /// to cover the moment between the claim and the operation's creation: from then on the
    /// repository refuses a second unfinished operation for the organization, and an instance
    /// that dies mid-rotation leaves a journal that another one resumes.
    pub lease_for: StdDuration,
}

impl Default for RenewalSchedulerConfig {
    fn default() -> Self {
        Self {
            check_every: DEFAULT_CHECK_EVERY,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            lease_for: DEFAULT_LEASE_FOR,
        }
    }
}

impl RenewalSchedulerConfig {
    /// Raises values that cannot work to the least that does: no slot would never rotate, a
    /// zero interval would spin, a zero lease would expire as it is taken.
    fn at_least_workable(self) -> Self {
        let second = StdDuration::from_secs(1);
        Self {
            check_every: self.check_every.max(second),
            max_in_flight: self.max_in_flight.max(1),
            lease_for: self.lease_for.max(second),
        }
    }
}

/// What the scheduler asks of the rotation workflow. [`Workflows`] is the real one; tests of the
/// scheduler substitute one that counts starts and holds rotations open, which the scheduler's
/// rules (the slot limit, the pause) need and which a real rotation against a fake directory
/// cannot do on demand.
pub trait ScheduledRotations: Send + Sync + Debug + 'static {
    /// Starts a rotation of a due organization on a background task; returns its operation at
    /// once. `Conflict` while another operation of the organization runs.
    fn start(&self, organization: OrganizationId) -> BoxFuture<'_, ServiceResult<Operation>>;
    /// Resolves once no task of this instance carries the operation any more.
    fn settled(&self, operation: OperationId) -> BoxFuture<'_, ServiceResult<Operation>>;
    /// The sweep that takes keys off the applications once their overlap ended.
    fn remove_retired_keys(&self) -> BoxFuture<'_, ServiceResult<KeyRemovalReport>>;
}

impl ScheduledRotations for Workflows {
    fn start(&self, organization: OrganizationId) -> BoxFuture<'_, ServiceResult<Operation>> {
        Box::pin(self.start_scheduled_rotation(organization))
    }

    fn settled(&self, operation: OperationId) -> BoxFuture<'_, ServiceResult<Operation>> {
        Box::pin(self.operation_settled(operation))
    }

    fn remove_retired_keys(&self) -> BoxFuture<'_, ServiceResult<KeyRemovalReport>> {
        Box::pin(Workflows::remove_retired_keys(self))
    }
}

/// What one pass did. Counts are of organizations.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    /// Organizations looked at.
    pub organizations: usize,
    /// Organizations whose `next_renewal_at` changed and was written.
    pub planned: usize,
    /// Organizations whose renewal is due (started or not).
    pub due: usize,
    /// Rotations started in this pass.
    pub started: usize,
    /// Due, and this instance's rotation of it is still running.
    pub in_flight: usize,
    /// Due, but every slot was taken; a later pass starts them.
    pub waiting_for_slot: usize,
    /// Due, but another instance holds the claim.
    pub skipped_claimed: usize,
    /// Due, but another operation of the organization runs.
    pub skipped_busy: usize,
    /// Due when planned, no longer when re-read after the claim (another instance rotated it).
    pub no_longer_due: usize,
    /// Due, but Graph asked to wait before the next attempt on this organization.
    pub waiting_retry_after: usize,
    pub needs_administrator: usize,
    pub failed_to_start: usize,
    /// Organizations (or the list of them) that could not be read or written.
    pub failed_to_read: usize,
    /// While set, this instance starts no rotation (Graph answered 429 with `Retry-After`).
    pub paused_until: Option<OffsetDateTime>,
    /// The key-removal sweep's report, when it ran.
    pub keys: Option<KeyRemovalReport>,
}

#[derive(Debug, Clone)]
pub struct RenewalScheduler {
    shared: Arc<Shared>,
    sleeper: SharedSleeper,
    config: RenewalSchedulerConfig,
}

/// What the scheduler and its waiting tasks share.
#[derive(Debug)]
struct Shared {
    workflows: Workflows,
    rotations: Arc<dyn ScheduledRotations>,
    /// The claim's holder name in the database.
    instance: Arc<str>,
    lease_for: time::Duration,
    max_in_flight: usize,
    /// One permit per rotation slot, held from the start until the rotation settled.
    slots: Arc<Semaphore>,
    /// Organizations whose rotation from this instance has not settled yet.
    in_flight: Mutex<HashSet<OrganizationId>>,
    paused_until: Mutex<Option<OffsetDateTime>>,
}

impl RenewalScheduler {
    /// Claims are held as `workflows.instance_id()`. Without one (a single instance) the
    /// scheduler names itself `renewal-<random>` for this process: a fixed name would be shared
    /// by every unnamed instance on one database and make the claim meaningless; the cost is
    /// that a claim left by a crashed previous process blocks for at most `lease_for`.
    pub fn new(workflows: Workflows, config: RenewalSchedulerConfig) -> Self {
        let config = config.at_least_workable();
        let instance: Arc<str> = match workflows.instance_id() {
            Some(id) => Arc::from(id),
            None => Arc::from(format!("renewal-{}", uuid::Uuid::new_v4())),
        };
        let rotations = Arc::new(workflows.clone());
        Self {
            shared: Arc::new(Shared::new(workflows, rotations, instance, config)),
            sleeper: Arc::new(TokioSleeper),
            config,
        }
    }

    /// Starts rotations through `rotations` instead of the workflows (tests). Call before the
    /// first pass: the slots and the pause start afresh.
    pub fn with_rotations(mut self, rotations: Arc<dyn ScheduledRotations>) -> Self {
        let workflows = self.shared.workflows.clone();
        let instance = self.shared.instance.clone();
        self.shared = Arc::new(Shared::new(workflows, rotations, instance, self.config));
        self
    }

    /// Waits between passes with `sleeper` instead of the tokio timer (pass the one the
    /// workflows were built with).
    pub fn with_sleeper(mut self, sleeper: SharedSleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// The name this instance's claims carry.
    pub fn instance(&self) -> &str {
        &self.shared.instance
    }

    pub fn config(&self) -> RenewalSchedulerConfig {
        self.config
    }

    /// Passes forever, one per `check_every` on the injected sleeper, until `stop` resolves.
    /// Nothing stops the loop but `stop`: a pass logs what failed and the next one tries again.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let report = self.tick().await;
            tracing::debug!(?report, "renewal pass");
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = self.sleeper.sleep(self.config.check_every) => {}
            }
        }
    }

    /// [`RenewalScheduler::run`] for as long as the process lives.
    pub async fn keep_renewing(self) {
        self.run(std::future::pending()).await;
    }

    /// Resolves once no rotation this scheduler started is in flight (tests; an orderly stop).
    pub async fn idle(&self) {
        let all = u32::try_from(self.shared.max_in_flight).unwrap_or(u32::MAX);
        // The semaphore is never closed, so acquiring only waits.
        let _every_slot = self.shared.slots.acquire_many(all).await;
    }

    /// One pass: plan every organization, start the due ones there are slots for, run the
    /// key-removal sweep; while paused, only plan. Never fails: what failed is counted and logged.
    pub async fn tick(&self) -> TickReport {
        let shared = &self.shared;
        let now = shared.workflows.now();
        let mut report = TickReport::default();
        let due = shared.plan_every_organization(now, &mut report).await;
        report.paused_until = pause_in_force(*lock(&shared.paused_until), now);
        let candidates = start_order(due, report.paused_until.is_some());
        shared.start_due(candidates, &mut report).await;
        // removeKey is a directory write too: while Graph asks to slow down, it waits as well.
        if report.paused_until.is_none() {
            report.keys = shared.remove_retired_keys().await;
        }
        if report.started > 0 || report.failed_to_start > 0 || report.paused_until.is_some() {
            tracing::info!(
                started = report.started,
                due = report.due,
                waiting_for_slot = report.waiting_for_slot,
                failed_to_start = report.failed_to_start,
                paused_until = ?report.paused_until,
                "renewal pass"
            );
        }
        report
    }
}

/// A due organization, as far as the order of starts cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct DueOrganization {
    id: OrganizationId,
    /// The active certificate's end.
    expires: OffsetDateTime,
}

/// How trying to start one due organization ended.
enum Start {
    Started,
    NoSlot,
    ClaimedElsewhere,
    Busy,
    NoLongerDue,
    Failed,
}

impl Shared {
    fn new(
        workflows: Workflows,
        rotations: Arc<dyn ScheduledRotations>,
        instance: Arc<str>,
        config: RenewalSchedulerConfig,
    ) -> Self {
        Self {
            workflows,
            rotations,
            instance,
            lease_for: time::Duration::try_from(config.lease_for).unwrap_or(time::Duration::MAX),
            max_in_flight: config.max_in_flight,
            slots: Arc::new(Semaphore::new(config.max_in_flight)),
            in_flight: Mutex::default(),
            paused_until: Mutex::default(),
        }
    }

    /// Writes every organization's plan when it changed; returns the due ones that this
    /// instance is not rotating already and that Graph has not asked to wait.
    async fn plan_every_organization(
        &self,
        now: OffsetDateTime,
        report: &mut TickReport,
    ) -> Vec<DueOrganization> {
        let organizations = match self.repository().organizations().await {
            Ok(organizations) => organizations,
            Err(error) => {
                tracing::error!(%error, "renewal could not list the organizations; will try again");
                report.failed_to_read += 1;
                return Vec::new();
            }
        };
        report.organizations = organizations.len();
        let mut due = Vec::new();
        for organization in organizations {
            match self.plan(organization.id, now, report).await {
                Ok(Some(found)) => due.push(found),
                Ok(None) => {}
                Err(error) => {
                    tracing::warn!(organization = %organization.id, %error, "renewal could not plan an organization; will try again");
                    report.failed_to_read += 1;
                }
            }
        }
        due
    }

    async fn plan(
        &self,
        id: OrganizationId,
        now: OffsetDateTime,
        report: &mut TickReport,
    ) -> ServiceResult<Option<DueOrganization>> {
        let repository = self.repository();
        let record = repository.renewal(id).await?;
        let certificates = repository.certificates(id).await?;
        let decision = status_at(id, &record, &certificates, now).decision;
        let plan = planned_renewal_at(&decision, record.state.next_renewal_at);
        if plan != record.state.next_renewal_at {
            // Read-modify-write without a version: the plan changes only once an attempt has
            // ended and written its outcome, so no attempt is writing this state meanwhile.
            let state = RenewalState {
                next_renewal_at: plan,
                ..record.state.clone()
            };
            repository.set_renewal_state(id, &state, now).await?;
            report.planned += 1;
        }
        match decision {
            RenewalDecision::NeedsAdministrator { .. } => report.needs_administrator += 1,
            RenewalDecision::Due => {
                report.due += 1;
                if lock(&self.in_flight).contains(&id) {
                    report.in_flight += 1;
                } else if retry_wait(&record.state, now).is_some() {
                    report.waiting_retry_after += 1;
                } else if let Some(active) = active_certificate(&certificates) {
                    return Ok(Some(DueOrganization {
                        id,
                        expires: active.not_after,
                    }));
                }
            }
            RenewalDecision::NotDue { .. }
            | RenewalDecision::BackingOff { .. }
            | RenewalDecision::Disabled => {}
        }
        Ok(None)
    }

    async fn start_due(
        self: &Arc<Self>,
        candidates: Vec<DueOrganization>,
        report: &mut TickReport,
    ) {
        let mut remaining = candidates.len();
        for candidate in candidates {
            remaining -= 1;
            match self.start(candidate.id).await {
                Start::Started => report.started += 1,
                Start::NoSlot => {
                    report.waiting_for_slot += remaining + 1;
                    break;
                }
                Start::ClaimedElsewhere => report.skipped_claimed += 1,
                Start::Busy => report.skipped_busy += 1,
                Start::NoLongerDue => report.no_longer_due += 1,
                Start::Failed => report.failed_to_start += 1,
            }
        }
    }

    /// Takes a slot, claims the organization, re-decides on what is stored now (another
    /// instance may have rotated it since it was planned), starts the rotation, and leaves a
    /// task waiting for it to settle.
    async fn start(self: &Arc<Self>, id: OrganizationId) -> Start {
        let Ok(slot) = self.slots.clone().try_acquire_owned() else {
            return Start::NoSlot;
        };
        let now = self.workflows.now();
        let until = now.saturating_add(self.lease_for);
        match self
            .repository()
            .claim_renewal(id, &self.instance, now, until)
            .await
        {
            Ok(true) => {}
            Ok(false) => return Start::ClaimedElsewhere,
            Err(error) => {
                tracing::warn!(organization = %id, %error, "could not claim an organization's renewal");
                return Start::Failed;
            }
        }
        let outcome = match self.still_due(id).await {
            Ok(true) => self.rotations.start(id).await,
            Ok(false) => {
                self.release(id).await;
                return Start::NoLongerDue;
            }
            Err(error) => Err(error),
        };
        match outcome {
            Ok(operation) => {
                self.wait_for(id, operation.id, slot);
                Start::Started
            }
            Err(ServiceError::Conflict { .. }) => {
                self.release(id).await;
                Start::Busy
            }
            Err(error) => {
                tracing::warn!(organization = %id, %error, "could not start a scheduled rotation; will try again");
                self.release(id).await;
                Start::Failed
            }
        }
    }

    async fn still_due(&self, id: OrganizationId) -> ServiceResult<bool> {
        let repository = self.repository();
        let record = repository.renewal(id).await?;
        let certificates = repository.certificates(id).await?;
        let now = self.workflows.now();
        let decision = status_at(id, &record, &certificates, now).decision;
        Ok(decision == RenewalDecision::Due && retry_wait(&record.state, now).is_none())
    }

    /// Holds `slot` and the claim until the rotation settled, on a task of its own so that the
    /// pass goes on; then learns whether Graph asked to slow down.
    fn wait_for(self: &Arc<Self>, id: OrganizationId, operation: OperationId, slot: Slot) {
        lock(&self.in_flight).insert(id);
        let held = InFlight {
            shared: self.clone(),
            organization: id,
            _slot: slot,
        };
        tokio::spawn(async move {
            let shared = &held.shared;
            if let Err(error) = shared.rotations.settled(operation).await {
                tracing::warn!(organization = %id, %operation, %error, "could not follow a scheduled rotation");
            }
            shared.learn_pause(id).await;
            shared.release(id).await;
            drop(held);
        });
    }

    /// After a rotation settled: a `retry_not_before` still ahead was set by this attempt (one
    /// that was ahead before kept the organization from starting), so Graph answered 429.
    ///
    /// The pause is for the whole instance, not only that organization: Graph's write quota is
    /// counted per tenant and application, but a 429 in the middle of a fleet's rotations is
    /// the directory telling this client to slow down, and renewal has weeks of slack, so
    /// stopping every start for a `Retry-After` (seconds to minutes) costs nothing and keeps
    /// one burst from tripping quotas across tenants. The organization's own
    /// `retry_not_before` keeps it waiting for the full time.
    async fn learn_pause(&self, id: OrganizationId) {
        match self.repository().renewal(id).await {
            Ok(record) => {
                let now = self.workflows.now();
                let mut paused = lock(&self.paused_until);
                let before = *paused;
                *paused = pause_after(before, record.state.retry_not_before, now);
                if *paused != before {
                    tracing::warn!(organization = %id, until = ?*paused, "Graph asked to slow down; pausing new rotations");
                }
            }
            Err(error) => {
                tracing::warn!(organization = %id, %error, "could not read the renewal state after a rotation");
            }
        }
    }

    /// Gives up the claim; when that fails the claim stays until it expires (`lease_for`),
    /// which only delays the organization's next attempt.
    async fn release(&self, id: OrganizationId) {
        if let Err(error) = self.repository().release_renewal(id, &self.instance).await {
            tracing::warn!(organization = %id, %error, "could not release a renewal claim; it expires by itself");
        }
    }

    async fn remove_retired_keys(&self) -> Option<KeyRemovalReport> {
        match self.rotations.remove_retired_keys().await {
            Ok(keys) => {
                if keys.removed > 0 || keys.failed > 0 {
                    tracing::info!(
                        removed = keys.removed,
                        waiting = keys.waiting,
                        failed = keys.failed,
                        "key-removal sweep"
                    );
                }
                Some(keys)
            }
            Err(error) => {
                tracing::warn!(%error, "the key-removal sweep failed; will try again");
                None
            }
        }
    }

    fn repository(&self) -> &Arc<dyn Repository> {
        self.workflows.repository()
    }
}

type Slot = OwnedSemaphorePermit;

/// A rotation in flight: while it lives, the organization is not started again and its slot
/// is taken. Dropped (even by a panicking task) it frees both, the organization first.
struct InFlight {
    shared: Arc<Shared>,
    organization: OrganizationId,
    _slot: Slot,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        lock(&self.shared.in_flight).remove(&self.organization);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// ---------------------------------------------------------------------------------------------
// The pure rules
// ---------------------------------------------------------------------------------------------

/// The `next_renewal_at` to record for `decision`, given the recorded one: the planned time
/// while not due or backing off; once due, the plan that came is kept as recorded (the attempt
/// writes its own outcome); nothing when no renewal is planned (an administrator must act, or
/// automatic renewal is off), so no stale date is shown.
fn planned_renewal_at(
    decision: &RenewalDecision,
    recorded: Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    match decision {
        RenewalDecision::NotDue { at } => Some(*at),
        RenewalDecision::BackingOff { until } => Some(*until),
        RenewalDecision::Due => recorded,
        RenewalDecision::NeedsAdministrator { .. } | RenewalDecision::Disabled => None,
    }
}

/// Until when Graph asked to wait before the organization's next attempt, if that is ahead.
fn retry_wait(state: &RenewalState, now: OffsetDateTime) -> Option<OffsetDateTime> {
    state.retry_not_before.filter(|until| *until > now)
}

/// The instance's pause still in force at `now`.
fn pause_in_force(
    paused_until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    paused_until.filter(|until| *until > now)
}

/// The pause after a rotation settled with `retry_not_before` in its state: the later of the
/// current pause and the one asked, at most [`MAX_PAUSE`] from `now`; one that has passed is
/// none.
fn pause_after(
    current: Option<OffsetDateTime>,
    retry_not_before: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let asked = retry_not_before.map(|until| until.min(now.saturating_add(MAX_PAUSE)));
    pause_in_force(current.max(asked), now)
}

/// The due organizations a pass tries to start, in order: none while paused; otherwise the one
/// whose certificate ends first goes first (ties by id, so every instance agrees), and the pass
/// stops at the first that finds no free slot.
fn start_order(mut due: Vec<DueOrganization>, paused: bool) -> Vec<DueOrganization> {
    if paused {
        return Vec::new();
    }
    due.sort_by_key(|d| (d.expires, d.id.0));
    due
}
