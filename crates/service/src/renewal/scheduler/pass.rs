//! One pass's work over the repository, and the tasks that wait for the rotations it started:
//! planning each organization, claiming and starting the due ones, giving back the claim and
//! the slot once a rotation settled, and learning from it whether Graph asked to slow down.

use super::rules::{DueOrganization, pause_after, planned_renewal_at, retry_wait};
use super::{RenewalSchedulerConfig, ScheduledRotations, TickReport};
use crate::error::{ServiceError, ServiceResult};
use crate::model::OrganizationId;
use crate::operation::OperationId;
use crate::ports::Repository;
use crate::renewal::{RenewalDecision, RenewalState, active_certificate, status_at};
use crate::workflows::{KeyRemovalReport, Workflows};
use std::collections::HashSet;
use std::sync::{Arc, Mutex, MutexGuard};
use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// What the scheduler and its waiting tasks share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) workflows: Workflows,
    pub(super) rotations: Arc<dyn ScheduledRotations>,
    /// The claim's holder name in the database.
    pub(super) instance: Arc<str>,
    pub(super) lease_for: time::Duration,
    /// How long one call of [`Shared::start_due`] keeps starting: the pass interval.
    pass_for: time::Duration,
    pub(super) max_in_flight: usize,
    /// One permit per rotation slot, held from the start until the rotation settled.
    pub(super) slots: Arc<Semaphore>,
    /// Organizations whose rotation from this instance has not settled yet.
    pub(super) in_flight: Mutex<HashSet<OrganizationId>>,
    pub(super) paused_until: Mutex<Option<OffsetDateTime>>,
    /// Due organizations the last pass found no slot for, most urgent first.
    pub(super) waiting: Mutex<Vec<DueOrganization>>,
}

/// What the starting loop of [`Shared::start_due`] woke up for.
enum Event {
    Ended(Result<Start, tokio::task::JoinError>),
    SlotFreed(Slot),
}

/// How trying to start one due organization ended.
enum Start {
    Started,
    ClaimedElsewhere,
    Busy,
    NoLongerDue,
    Failed,
}

impl Shared {
    pub(super) fn new(
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
            pass_for: time::Duration::try_from(config.check_every).unwrap_or(time::Duration::MAX),
            max_in_flight: config.max_in_flight,
            slots: Arc::new(Semaphore::new(config.max_in_flight)),
            in_flight: Mutex::default(),
            paused_until: Mutex::default(),
            waiting: Mutex::default(),
        }
    }

    /// Writes every organization's plan when it changed; returns the due ones that this
    /// instance is not rotating already and that Graph has not asked to wait.
    pub(super) async fn plan_every_organization(
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

    /// Starts `candidates` in order, as many at once as there are free slots: their key
    /// generations run side by side on the heavy-work pool instead of one after another. Each
    /// time one start ends, the slots freed meanwhile (by rotations that settled) go to the
    /// next candidates at once: waiting for a whole batch of starts before the next left a core
    /// idle behind the batch's slowest key generation (docs/PERFORMANCE.md, "Rotation of a
    /// fleet"). New starts stop once Graph asked to slow down, or `pass_for` after this call
    /// began so that the next pass plans again; those left wait in `waiting` for
    /// [`Shared::start_waiting`].
    pub(super) async fn start_due(
        self: &Arc<Self>,
        candidates: Vec<DueOrganization>,
        report: &mut TickReport,
    ) {
        let stop_starting_at = self.workflows.now().saturating_add(self.pass_for);
        let mut queue = std::collections::VecDeque::from(candidates);
        let mut starts = tokio::task::JoinSet::new();
        let start = |starts: &mut tokio::task::JoinSet<Start>, id: OrganizationId, slot: Slot| {
            let shared = self.clone();
            starts.spawn(async move { shared.start(id, slot).await });
        };
        loop {
            let may_start = !queue.is_empty() && self.may_start_more(stop_starting_at);
            if may_start {
                while let Some(candidate) = queue.front().copied() {
                    let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                        break;
                    };
                    queue.pop_front();
                    start(&mut starts, candidate.id, slot);
                }
            }
            // While starts run, a rotation that settles frees a slot: take it at once. With
            // no start running and no slot free, the rest wait for `start_waiting`.
            let event = if may_start && !queue.is_empty() {
                tokio::select! {
                    ended = starts.join_next() => ended.map(Event::Ended),
                    slot = self.slots.clone().acquire_owned() => slot.ok().map(Event::SlotFreed),
                }
            } else {
                starts.join_next().await.map(Event::Ended)
            };
            match event {
                None => break,
                Some(Event::SlotFreed(slot)) => {
                    if let (true, Some(candidate)) =
                        (self.may_start_more(stop_starting_at), queue.pop_front())
                    {
                        start(&mut starts, candidate.id, slot);
                    }
                }
                Some(Event::Ended(Ok(Start::Started))) => report.started += 1,
                Some(Event::Ended(Ok(Start::ClaimedElsewhere))) => report.skipped_claimed += 1,
                Some(Event::Ended(Ok(Start::Busy))) => report.skipped_busy += 1,
                Some(Event::Ended(Ok(Start::NoLongerDue))) => report.no_longer_due += 1,
                Some(Event::Ended(Ok(Start::Failed) | Err(_))) => report.failed_to_start += 1,
            }
        }
        report.waiting_for_slot += queue.len();
        *lock(&self.waiting) = queue.into();
    }

    /// Whether a start may begin now: Graph has not asked to slow down (a rotation that
    /// settled meanwhile may have learnt it) and the pass's time for starting is not over.
    fn may_start_more(&self, stop_starting_at: OffsetDateTime) -> bool {
        let now = self.workflows.now();
        now < stop_starting_at
            && super::rules::pause_in_force(*lock(&self.paused_until), now).is_none()
    }

    /// Starts the organizations the last pass left waiting for a slot (without
    /// planning every organization again: each is re-decided after its claim anyway). Nothing
    /// while Graph asked to slow down.
    pub(super) async fn start_waiting(self: &Arc<Self>, report: &mut TickReport) {
        if lock(&self.waiting).is_empty() {
            return;
        }
        let now = self.workflows.now();
        report.paused_until = super::rules::pause_in_force(*lock(&self.paused_until), now);
        if report.paused_until.is_some() {
            report.waiting_for_slot = lock(&self.waiting).len();
            return;
        }
        let waiting = std::mem::take(&mut *lock(&self.waiting));
        self.start_due(waiting, report).await;
    }

    /// Resolves once a rotation slot is free.
    pub(super) async fn slot_free(&self) {
        // The semaphore is never closed, so acquiring only waits.
        drop(self.slots.acquire().await);
    }

    pub(super) fn has_waiting(&self) -> bool {
        !lock(&self.waiting).is_empty()
    }

    /// With a `slot` taken, claims the organization, re-decides on what is stored now (another
    /// instance may have rotated it since it was planned), starts the rotation, and leaves a
    /// task waiting for it to settle (which holds the slot until then).
    async fn start(self: &Arc<Self>, id: OrganizationId, slot: Slot) -> Start {
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

    /// Runs the key-removal sweep; a 429 it met pauses this instance's directory writes as a
    /// rotation's would (same cap, [`super::MAX_PAUSE`]).
    pub(super) async fn remove_retired_keys(&self) -> Option<KeyRemovalReport> {
        match self.rotations.remove_retired_keys().await {
            Ok(keys) => {
                if let Some(wait) = keys.retry_after {
                    let now = self.workflows.now();
                    let asked = now.saturating_add(
                        time::Duration::try_from(wait).unwrap_or(time::Duration::MAX),
                    );
                    let mut paused = lock(&self.paused_until);
                    *paused = pause_after(*paused, Some(asked), now);
                    tracing::warn!(until = ?*paused, "Graph asked the key-removal sweep to slow down; pausing directory writes");
                }
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

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
