//! The scheduler: on each tick (driven by the injected clock), start the policies whose due
//! time has come.
//!
//! - Never two runs of one policy at once: a policy with a run in flight in this process is
//!   skipped, and the store refuses a second `running` row per policy (which also covers several
//!   instances sharing one database).
//! - Catch-up after downtime is one run, not a burst: when a policy is dispatched, its next due
//!   time is computed from the dispatch time, so every occurrence missed while the service was
//!   down collapses into the run being started.
//! - A due time that arrives while the previous run is still going is skipped, not queued.
//! - Run now starts a run immediately (trigger `manual`) and leaves the schedule alone.
//! - At most [`Scheduler::max_concurrent_runs`] runs at once in this process (default
//!   [`DEFAULT_MAX_CONCURRENT_RUNS`]), so 10,000 policies due together do not become 10,000
//!   runs in memory all calling Graph at once. A tick reads only as many due policies as it
//!   has free slots, oldest due time first (then id), so the longest waiting start first and
//!   none starves; the others are not read, stay due with their due time untouched and start
//!   at a later tick once a slot frees; catch-up is still one run per policy. Run now takes a
//!   free slot like a scheduled run, but is never refused or queued for lack of one (an
//!   administrator asked for it, and at most one run per policy exists): when every slot is
//!   taken it runs in addition, and scheduled runs wait until the total is back under the
//!   limit.

use std::collections::HashSet;
use std::fmt::Debug;
use std::future::Future;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task::JoinHandle;

use tenantlink_clock::{SharedClock, SharedSleeper, TokioSleeper};
use tenantlink_service::{
    BackupPolicy, BackupRepository, Cloud, Organization, PolicyId, Repository, RepositoryError,
    RunId, RunTrigger,
};

use crate::credentials::CredentialSource;
use crate::report::{RunFailure, RunReport};
use crate::runner::{BackupRunner, BoxFuture, RunError};
use crate::schedule::{Schedule, ScheduleError, next_due};

/// Runs one policy to the end. [`RunnerExecutor`] is the real one; tests of the scheduler
/// substitute their own.
pub trait PolicyExecutor: Send + Sync + Debug {
    fn execute(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
    ) -> BoxFuture<'_, Result<RunReport, RunError>>;

    /// [`PolicyExecutor::execute`], announcing the run's id on `started` as soon as the run is
    /// recorded, so that Run now can answer before the run ends. The default announces it only
    /// when the run has ended; [`RunnerExecutor`] announces it at the start.
    fn execute_announced(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: oneshot::Sender<RunId>,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(async move {
            let outcome = self.execute(policy, trigger).await;
            if let Ok(report) = &outcome {
                let _ = started.send(report.run_id);
            }
            outcome
        })
    }
}

/// Loads the organization and its active certificate, then runs the policy with the runner of
/// the organization's cloud.
#[derive(Debug, Clone)]
pub struct RunnerExecutor {
    /// Organizations (and, through the credential source, their certificates).
    repository: Arc<dyn Repository>,
    runners: Runners,
    credentials: Arc<dyn CredentialSource>,
}

/// Which runner (endpoints, token cache) backs up an organization.
#[derive(Debug, Clone)]
enum Runners {
    /// One runner for every organization, whatever its cloud.
    One(Box<BackupRunner>),
    /// One per cloud; never empty.
    ByCloud(Vec<(Cloud, BackupRunner)>),
}

impl RunnerExecutor {
    pub fn new(
        repository: Arc<dyn Repository>,
        runner: BackupRunner,
        credentials: Arc<dyn CredentialSource>,
    ) -> Self {
        Self {
            repository,
            runners: Runners::One(Box::new(runner)),
            credentials,
        }
    }

    /// Each organization is backed up by the runner of its cloud; a policy of an organization whose cloud has none fails with
    /// [`RunFailure::cloud_unavailable`] in its job log.
    ///
    /// # Panics
    /// When `runners` is empty: there would be nothing to record even that failure with.
    pub fn by_cloud(
        repository: Arc<dyn Repository>,
        runners: Vec<(Cloud, BackupRunner)>,
        credentials: Arc<dyn CredentialSource>,
    ) -> Self {
        assert!(
            !runners.is_empty(),
            "RunnerExecutor::by_cloud needs a runner"
        );
        Self {
            repository,
            runners: Runners::ByCloud(runners),
            credentials,
        }
    }

    /// The organization's runner, or a runner to record the run with and why it cannot go on.
    fn runner_for(&self, organization: &Organization) -> (&BackupRunner, Option<RunFailure>) {
        match &self.runners {
            Runners::One(runner) => (runner, None),
            Runners::ByCloud(runners) => {
                match runners
                    .iter()
                    .find(|(cloud, _)| *cloud == organization.cloud)
                {
                    Some((_, runner)) => (runner, None),
                    None => (
                        &runners[0].1,
                        Some(RunFailure::cloud_unavailable(organization.cloud)),
                    ),
                }
            }
        }
    }

    async fn execute_policy(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: Option<oneshot::Sender<RunId>>,
    ) -> Result<RunReport, RunError> {
        let organization = self.repository.organization(policy.organization_id).await?;
        let (runner, unavailable) = self.runner_for(&organization);
        let credential = match unavailable {
            Some(failure) => Err(failure),
            None => self
                .credentials
                .active_credential(&organization)
                .await
                .map_err(|e| e.to_failure(&organization)),
        };
        let credential = match &credential {
            Ok(Some(signer)) => Ok(signer.as_ref()),
            Ok(None) => Err(RunFailure::no_certificate(organization.id)),
            Err(failure) => Err(failure.clone()),
        };
        let run = runner.start(&policy, trigger).await?;
        if let Some(started) = started {
            let _ = started.send(run.id);
        }
        runner
            .run_started(run, &policy, &organization, credential)
            .await
    }
}

impl PolicyExecutor for RunnerExecutor {
    fn execute(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(self.execute_policy(policy, trigger, None))
    }

    fn execute_announced(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: oneshot::Sender<RunId>,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(self.execute_policy(policy, trigger, Some(started)))
    }
}

/// A run started by [`Scheduler::start_now`]: its id at once, its report when it ends.
#[derive(Debug)]
pub struct StartedRun {
    pub run: RunId,
    pub report: JoinHandle<Result<RunReport, RunError>>,
}

/// What a tick did with one due policy.
#[derive(Debug)]
pub enum Dispatch {
    /// A run was started; `run` resolves to its report.
    Started {
        policy: PolicyId,
        next_due: Option<OffsetDateTime>,
        run: JoinHandle<Result<RunReport, RunError>>,
    },
    /// The policy's previous run is still going; this due time is skipped.
    AlreadyRunning {
        policy: PolicyId,
        next_due: Option<OffsetDateTime>,
    },
    /// The stored schedule does not parse (edited outside tenantlink); the policy is
    /// unscheduled until someone fixes it.
    InvalidSchedule {
        policy: PolicyId,
        error: ScheduleError,
    },
}

impl Dispatch {
    pub fn policy(&self) -> PolicyId {
        match self {
            Self::Started { policy, .. }
            | Self::AlreadyRunning { policy, .. }
            | Self::InvalidSchedule { policy, .. } => *policy,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Scheduler {
    backups: Arc<dyn BackupRepository>,
    clock: SharedClock,
    /// Waits between ticks of [`Scheduler::serve`]; tests inject one they drive themselves.
    sleeper: SharedSleeper,
    executor: Arc<dyn PolicyExecutor>,
    running: Arc<Mutex<HashSet<PolicyId>>>,
    /// One permit per run slot; a run holds one for as long as it is in flight.
    slots: Arc<Semaphore>,
    max_concurrent_runs: NonZeroUsize,
    /// This instance's id and how long another instance's silence means it is gone.
    instance: Option<Arc<str>>,
    stale_after: time::Duration,
}

/// A holder whose runs' heartbeat is older than this is gone (its runs may be recovered by
/// another instance), unless [`Scheduler::with_instance_id`] is given another time.
pub const DEFAULT_RUN_STALE_AFTER: time::Duration = time::Duration::minutes(2);

/// Runs in flight at once in one process unless [`Scheduler::with_max_concurrent_runs`] says
/// otherwise: enough to keep Graph busy, few enough that memory stays flat with 10,000 policies.
pub const DEFAULT_MAX_CONCURRENT_RUNS: NonZeroUsize = NonZeroUsize::new(32).unwrap();

impl Scheduler {
    pub fn new(
        backups: Arc<dyn BackupRepository>,
        clock: SharedClock,
        executor: Arc<dyn PolicyExecutor>,
    ) -> Self {
        Self {
            backups,
            clock,
            sleeper: Arc::new(TokioSleeper),
            executor,
            running: Arc::default(),
            slots: Arc::new(Semaphore::new(DEFAULT_MAX_CONCURRENT_RUNS.get())),
            max_concurrent_runs: DEFAULT_MAX_CONCURRENT_RUNS,
            instance: None,
            stale_after: DEFAULT_RUN_STALE_AFTER,
        }
    }

    /// Names this instance among those sharing the database: its runs carry a heartbeat
    /// refreshed by every tick, and [`Scheduler::recover_interrupted_runs`] fails only its own
    /// runs and those of instances silent for longer than `stale_after` (the executor's
    /// runner must record the same id, [`BackupRunner::with_instance_id`]).
    pub fn with_instance_id(mut self, id: impl Into<String>, stale_after: time::Duration) -> Self {
        self.instance = Some(Arc::from(id.into()));
        self.stale_after = stale_after;
        self
    }

    /// Sets how many runs may be in flight at once in this process. Call before the first
    /// tick: runs already started keep the slots of the previous limit.
    pub fn with_max_concurrent_runs(mut self, limit: NonZeroUsize) -> Self {
        self.slots = Arc::new(Semaphore::new(limit.get()));
        self.max_concurrent_runs = limit;
        self
    }

    /// Waits between the ticks of [`Scheduler::serve`] with `sleeper` instead of the tokio timer.
    pub fn with_sleeper(mut self, sleeper: SharedSleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    pub fn max_concurrent_runs(&self) -> NonZeroUsize {
        self.max_concurrent_runs
    }

    /// The due time to store when a policy is created or its schedule edited.
    pub fn initial_due(&self, schedule: &str) -> Result<Option<OffsetDateTime>, ScheduleError> {
        Ok(next_due(
            &Schedule::parse(schedule)?,
            None,
            self.clock.now(),
        ))
    }

    /// Marks runs left `running` by a process that died as failed, so that their policies can
    /// run again. Call once at start-up. With an instance id, only this instance's own runs
    /// (its previous process's), runs without a holder and runs of instances silent for longer
    /// than `stale_after` are failed: another live instance's run is still being carried.
    pub async fn recover_interrupted_runs(&self) -> Result<u64, RepositoryError> {
        let now = self.clock.now();
        let silent_since = now.checked_sub(self.stale_after).unwrap_or(now);
        self.backups
            .fail_interrupted_runs(
                self.instance.as_deref(),
                silent_since,
                "The service stopped while this run was in progress. The next run resumes from the last completed mailbox read.",
                now,
            )
            .await
    }

    /// Starts the policies that are due now, as many as there are free run slots, longest
    /// waiting first; the rest stay due, untouched, for a later tick. Reads from the store only
    /// what it can act on, so a saturated tick over 10,000 due policies costs a few rows:
    ///
    /// 1. The policies with a run in flight in this process (at most the runs in flight) whose
    ///    due time came: that due time is skipped and the next one stored
    ///    ([`Dispatch::AlreadyRunning`]). Asked by id, so a busy policy is never left behind a
    ///    queue of others nor takes the place of one that could start; and once advanced it is
    ///    no longer due when step 2 reads.
    /// 2. The free run slots are taken first, then exactly that many due policies are read
    ///    (oldest due time first, then id) and started. With no free slot nothing is read.
    ///
    /// Every policy read yields one [`Dispatch`]; none is returned for a policy left due.
    pub async fn tick(&self) -> Result<Vec<Dispatch>, RepositoryError> {
        let now = self.clock.now();
        let mut dispatched = Vec::new();

        let running: Vec<PolicyId> = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if !running.is_empty()
            && let Some(me) = self.instance.as_deref()
        {
            // This instance still carries its runs: other instances' recovery leaves them alone.
            self.backups.heartbeat_runs(me, now).await?;
        }
        if !running.is_empty() {
            for policy in self.backups.due_policies_among(now, &running).await? {
                let Some(next) = self
                    .parse_or_unschedule(&policy, now, &mut dispatched)
                    .await?
                else {
                    continue;
                };
                self.backups
                    .set_policy_next_due(policy.id, next, now)
                    .await?;
                tracing::info!(policy = %policy.id, "skipping a due time: the previous run is still going");
                dispatched.push(Dispatch::AlreadyRunning {
                    policy: policy.id,
                    next_due: next,
                });
            }
        }

        // Slots before reading: a policy read is one this tick can start, so none is read only
        // to be left due (a Run now arriving meanwhile runs in addition, as when all are taken).
        let mut slots: Vec<OwnedSemaphorePermit> =
            std::iter::from_fn(|| self.slots.clone().try_acquire_owned().ok()).collect();
        if slots.is_empty() {
            return Ok(dispatched);
        }
        for policy in self.backups.due_policies(now, slots.len()).await? {
            let Some(next) = self
                .parse_or_unschedule(&policy, now, &mut dispatched)
                .await?
            else {
                continue;
            };
            let Some(claim) = self.claim(policy.id) else {
                // Run now claimed it after step 1: this due time is skipped like any other
                // that finds a run going.
                self.backups
                    .set_policy_next_due(policy.id, next, now)
                    .await?;
                dispatched.push(Dispatch::AlreadyRunning {
                    policy: policy.id,
                    next_due: next,
                });
                continue;
            };
            let slot = slots.pop().expect("no more policies read than slots taken");
            self.backups
                .set_policy_next_due(policy.id, next, now)
                .await?;
            let executor = self.executor.clone();
            let id = policy.id;
            let run = tokio::spawn(async move {
                let _held = (claim, slot);
                let outcome = executor.execute(policy, RunTrigger::Scheduled).await;
                // `serve` drops the handles; a run that could not even be recorded must not
                // vanish silently.
                if let Err(error) = &outcome {
                    tracing::error!(policy = %id, %error, "scheduled backup run could not run");
                }
                outcome
            });
            dispatched.push(Dispatch::Started {
                policy: id,
                next_due: next,
                run,
            });
        }
        // Slots not used (a policy unscheduled or found running) go back here.
        drop(slots);
        Ok(dispatched)
    }

    /// The policy's next due time counted from `now`, or `None` after unscheduling a policy
    /// whose stored schedule does not parse (reported as [`Dispatch::InvalidSchedule`]).
    async fn parse_or_unschedule(
        &self,
        policy: &BackupPolicy,
        now: OffsetDateTime,
        dispatched: &mut Vec<Dispatch>,
    ) -> Result<Option<Option<OffsetDateTime>>, RepositoryError> {
        match Schedule::parse(&policy.schedule) {
            Ok(schedule) => Ok(Some(next_due(&schedule, Some(now), now))),
            Err(error) => {
                tracing::warn!(policy = %policy.id, %error, "unscheduling a policy whose schedule does not parse");
                self.backups
                    .set_policy_next_due(policy.id, None, now)
                    .await?;
                dispatched.push(Dispatch::InvalidSchedule {
                    policy: policy.id,
                    error,
                });
                Ok(None)
            }
        }
    }

    /// Runs a policy now, whatever its schedule, and waits for the report.
    pub async fn run_now(&self, policy: PolicyId) -> Result<RunReport, RunError> {
        let _claim = self.claim(policy).ok_or_else(|| RunError::AlreadyRunning {
            policy: policy.to_string(),
        })?;
        let _slot = self.manual_slot();
        let policy = self.backups.policy(policy).await?;
        self.executor.execute(policy, RunTrigger::Manual).await
    }

    /// Runs a policy now in the background (trigger `manual`) and returns as soon as the run is
    /// recorded, so a caller can show its job log entry while it runs.
    pub async fn start_now(&self, policy: PolicyId) -> Result<StartedRun, RunError> {
        let claim = self.claim(policy).ok_or_else(|| RunError::AlreadyRunning {
            policy: policy.to_string(),
        })?;
        let slot = self.manual_slot();
        let policy = self.backups.policy(policy).await?;
        let id = policy.id;
        let (started, announced) = oneshot::channel();
        let executor = self.executor.clone();
        let report = tokio::spawn(async move {
            let _held = (claim, slot);
            let outcome = executor
                .execute_announced(policy, RunTrigger::Manual, started)
                .await;
            if let Err(error) = &outcome {
                tracing::error!(policy = %id, %error, "backup run (Run now) could not run");
            }
            outcome
        });
        if let Ok(run) = announced.await {
            return Ok(StartedRun { run, report });
        }
        // The executor dropped the announcement: the run could not start, or (an executor that
        // announces only at the end) it has already ended. Its outcome says which.
        match report.await {
            Ok(Ok(done)) => Ok(StartedRun {
                run: done.run_id,
                report: tokio::spawn(async move { Ok(done) }),
            }),
            Ok(Err(error)) => Err(error),
            Err(_) => Err(RunError::Aborted {
                policy: id.to_string(),
            }),
        }
    }

    /// Whether this process has a run of `policy` in flight.
    pub fn is_running(&self, policy: PolicyId) -> bool {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&policy)
    }

    /// Ticks every `poll_every` (waited through the injected sleeper, real time by default) until
    /// `shutdown` resolves. Due times come from the injected clock, so moving that clock (the
    /// sandbox's) makes policies due at the next tick.
    pub async fn serve(&self, poll_every: std::time::Duration, shutdown: impl Future<Output = ()>) {
        tokio::pin!(shutdown);
        loop {
            if let Err(error) = self.tick().await {
                tracing::error!(%error, "the backup scheduler could not read due policies");
            }
            tokio::select! {
                () = &mut shutdown => break,
                () = self.sleeper.sleep(poll_every) => {}
            }
        }
    }

    /// Run now's slot: a free one if there is one (so scheduled runs wait for it), none when
    /// all are taken (Run now then runs in addition to the limit rather than being refused).
    fn manual_slot(&self) -> Option<OwnedSemaphorePermit> {
        self.slots.clone().try_acquire_owned().ok()
    }

    /// Runs in flight in this process (scheduled and Run now).
    pub fn runs_in_flight(&self) -> usize {
        self.running.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    fn claim(&self, policy: PolicyId) -> Option<Claim> {
        let mut running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.insert(policy).then(|| Claim {
            running: self.running.clone(),
            policy,
        })
    }
}

/// This process's hold on a policy while its run is in flight; released when dropped, even if
/// the run panics.
#[derive(Debug)]
struct Claim {
    running: Arc<Mutex<HashSet<PolicyId>>>,
    policy: PolicyId,
}

impl Drop for Claim {
    fn drop(&mut self) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.policy);
    }
}
