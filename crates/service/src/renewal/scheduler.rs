//! The renewal scheduler: every `check_every` it looks at every organization, records when its
//! next renewal is planned, and starts the rotations that are due — each claimed in the
//! database first, so that of several instances sharing one repository exactly one rotates an
//! organization; at most `max_in_flight` at a time per instance; and none while Graph has asked
//! this instance to slow down (429 with `Retry-After`). Each pass also runs the sweep that takes
//! retired keys off the applications.
//!
//! A pass never waits for a rotation: the rotation runs on the workflow's own background task,
//! and a small task of the scheduler waits for it to settle, then gives back the claim and the
//! slot. The starts of one pass run side by side (their key generations overlap on the
//! heavy-work pool). So 10,000 due organizations are worked through `max_in_flight` at a time,
//! most urgent (earliest expiry) first: those a pass found no slot for wait, and start as soon
//! as a slot frees, without waiting for the next pass.

use crate::error::ServiceResult;
use crate::model::OrganizationId;
use crate::operation::{Operation, OperationId};
use crate::ports::BoxFuture;
use crate::workflows::{KeyRemovalReport, Workflows};
use std::fmt::Debug;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;
use tenantlink_clock::{SharedSleeper, TokioSleeper};
use time::OffsetDateTime;

mod pass;
mod rules;

use pass::{Shared, lock};
use rules::{pause_in_force, start_order};

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

    /// Passes forever, one per `check_every` on the injected sleeper, until `stop` resolves;
    /// between passes, the organizations a pass left waiting for a slot start as slots free.
    /// Nothing stops the loop but `stop`: a pass logs what failed and the next one tries again.
    pub async fn run(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let report = self.tick().await;
            tracing::debug!(?report, "renewal pass");
            let next_pass = self.sleeper.sleep(self.config.check_every);
            tokio::pin!(next_pass);
            let mut paused = report.paused_until.is_some();
            loop {
                if paused || !self.shared.has_waiting() {
                    tokio::select! {
                        biased;
                        () = &mut stop => return,
                        () = &mut next_pass => break,
                    }
                }
                tokio::select! {
                    biased;
                    () = &mut stop => return,
                    () = &mut next_pass => break,
                    () = self.shared.slot_free() => {}
                }
                // Not raced against the next pass: a start cut short would keep its claim
                // until the lease ends.
                let mut report = TickReport::default();
                self.shared.start_waiting(&mut report).await;
                paused = report.paused_until.is_some();
            }
        }
    }

    /// Waits for a free slot, then starts the organizations the last pass left waiting for
    /// one (each re-decided after its claim); returns what it did. Resolves at once when none
    /// wait; starts nothing while Graph asked to slow down (`paused_until` is set).
    pub async fn start_waiting(&self) -> TickReport {
        let mut report = TickReport::default();
        self.shared.slot_free().await;
        self.shared.start_waiting(&mut report).await;
        report
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
            report.paused_until = pause_in_force(*lock(&shared.paused_until), now);
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
