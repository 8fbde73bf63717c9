//! [`Notices`]: the administrator's notice API (webhooks, settings, recipients — in
//! `webhooks.rs` and `settings.rs`), the watcher pass over the fleet and the dispatcher pass
//! over the outbox (`dispatch.rs`), and their loops on the injected sleeper.

use super::links::PortalLinks;
use super::ports::{NoticeRepository, NoticeSender};
use super::recorder::NoticeRecorder;
use super::watch::due_notices;
use crate::accounts::Caller;
use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::fleet::{FleetCache, FleetRepository};
use crate::model::OrganizationId;
use crate::observe::{NoObserver, SharedObserver};
use crate::ports::Repository;
use std::collections::HashSet;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use tenantlink_clock::{SharedClock, SharedSleeper, TokioSleeper};
use time::OffsetDateTime;

/// How often the watcher looks at the fleet unless configured otherwise: thresholds are days
/// apart, so minutes are plenty, and one pass is one snapshot (a few queries).
pub const DEFAULT_WATCH_EVERY: StdDuration = StdDuration::from_secs(300);
/// How often the dispatcher looks for due deliveries unless configured otherwise: a notice
/// should leave within seconds of being recorded.
pub const DEFAULT_DISPATCH_EVERY: StdDuration = StdDuration::from_secs(10);

#[derive(Debug, Clone)]
pub struct NoticesConfig {
    /// The portal's public URL (`https://tenantlink.example.com`), so links in notices are
    /// absolute; `None`: paths only.
    pub public_url: Option<String>,
    pub watch_every: StdDuration,
    pub dispatch_every: StdDuration,
    /// The name this instance's delivery claims carry (the workflows' instance id); `None`:
    /// `notices-<random>` for this process.
    pub instance: Option<String>,
}

impl Default for NoticesConfig {
    fn default() -> Self {
        Self {
            public_url: None,
            watch_every: DEFAULT_WATCH_EVERY,
            dispatch_every: DEFAULT_DISPATCH_EVERY,
            instance: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Notices {
    pub(super) notices: Arc<dyn NoticeRepository>,
    pub(super) fleet: FleetCache,
    /// Organizations (for recipients) and the audit log.
    pub(super) repository: Arc<dyn Repository>,
    pub(super) sender: Arc<dyn NoticeSender>,
    pub(super) clock: SharedClock,
    pub(super) sleeper: SharedSleeper,
    pub(super) config: NoticesConfig,
    pub(super) links: PortalLinks,
    pub(super) holder: Arc<str>,
    /// Told of every delivery attempt (metrics).
    pub(super) observer: SharedObserver,
    /// Occurrences this process has already recorded (or found recorded): the watcher skips
    /// them instead of asking the database again at every pass. Lost on restart, which costs one
    /// idempotent write per due notice at the first pass, never a second delivery.
    seen: Arc<Mutex<HashSet<String>>>,
}

/// What one watcher pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchReport {
    pub organizations: usize,
    /// Notices due (including the ones recorded before).
    pub due: usize,
    /// Newly recorded in this pass.
    pub recorded: usize,
    /// The snapshot, the settings, or a notice could not be read or written.
    pub failed: usize,
}

impl Notices {
    /// One repository that keeps everything (the store; the memory fake in tests).
    pub fn new<R>(
        repository: Arc<R>,
        sender: Arc<dyn NoticeSender>,
        clock: SharedClock,
        config: NoticesConfig,
    ) -> Self
    where
        R: Repository + NoticeRepository + FleetRepository,
    {
        Self::from_parts(
            repository.clone(),
            FleetCache::new(repository.clone()),
            repository,
            sender,
            clock,
            config,
        )
    }

    pub fn from_parts(
        notices: Arc<dyn NoticeRepository>,
        fleet: FleetCache,
        repository: Arc<dyn Repository>,
        sender: Arc<dyn NoticeSender>,
        clock: SharedClock,
        config: NoticesConfig,
    ) -> Self {
        let holder: Arc<str> = match &config.instance {
            Some(id) => Arc::from(id.as_str()),
            None => Arc::from(format!("notices-{}", uuid::Uuid::new_v4())),
        };
        Self {
            notices,
            fleet,
            repository,
            sender,
            clock,
            sleeper: Arc::new(TokioSleeper),
            links: PortalLinks::new(config.public_url.as_deref()),
            config,
            holder,
            observer: Arc::new(NoObserver),
            seen: Arc::default(),
        }
    }

    /// Waits between passes with `sleeper` instead of the tokio timer.
    pub fn with_sleeper(mut self, sleeper: SharedSleeper) -> Self {
        self.sleeper = sleeper;
        self
    }

    /// Reads the fleet through `fleet`, kept with the fleet view's and the scrape's, instead
    /// of a copy of its own.
    pub fn with_fleet(mut self, fleet: FleetCache) -> Self {
        self.fleet = fleet;
        self
    }

    /// Tells `observer` of every delivery attempt (metrics: `notice_delivery`).
    pub fn with_observer(mut self, observer: SharedObserver) -> Self {
        self.observer = observer;
        self
    }

    /// The handle the workflows and the backup runner record notices through
    /// (`Workflows::with_notices`, `BackupRunner::with_notices`).
    pub fn recorder(&self) -> NoticeRecorder {
        NoticeRecorder::new(self.notices.clone(), self.links.clone())
    }

    pub fn links(&self) -> &PortalLinks {
        &self.links
    }

    pub(super) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// One watcher pass: reads the fleet once and records every notice due ([`due_notices`]).
    /// Never fails: what failed is counted and logged, and the next pass tries again.
    pub async fn watch_once(&self) -> WatchReport {
        let mut report = WatchReport::default();
        let settings = match self.notices.notice_settings().await {
            Ok(settings) => settings,
            Err(err) => {
                tracing::error!(error = %err, "could not read the notice settings");
                report.failed += 1;
                return report;
            }
        };
        let fleet = match self.fleet.snapshot().await {
            Ok(fleet) => fleet,
            Err(err) => {
                tracing::error!(error = %err, "could not read the fleet for notices");
                report.failed += 1;
                return report;
            }
        };
        let now = self.now();
        report.organizations = fleet.len();
        for record in fleet.iter() {
            for notice in due_notices(record, &settings.expiry_thresholds_days, &self.links, now) {
                report.due += 1;
                if super::lock(&self.seen).contains(&notice.occurrence) {
                    continue;
                }
                match self.notices.record_notice(&notice).await {
                    Ok(recorded) => {
                        if recorded.is_some() {
                            report.recorded += 1;
                            tracing::info!(event = notice.event_type.as_str(), occurrence = %notice.occurrence, "notice recorded");
                        }
                        super::lock(&self.seen).insert(notice.occurrence);
                    }
                    Err(err) => {
                        report.failed += 1;
                        tracing::error!(error = %err, occurrence = %notice.occurrence, "could not record a notice");
                    }
                }
            }
        }
        report
    }

    /// Watcher passes, one per `watch_every` on the injected sleeper, until `stop` resolves.
    pub async fn run_watching(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let report = self.watch_once().await;
            tracing::debug!(?report, "notice watcher pass");
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = self.sleeper.sleep(self.config.watch_every) => {}
            }
        }
    }

    /// [`Notices::run_watching`] for as long as the process lives.
    pub async fn keep_watching(self) {
        self.run_watching(std::future::pending()).await;
    }

    /// Dispatcher passes, one per `dispatch_every` on the injected sleeper, until `stop`.
    pub async fn run_dispatching(self, stop: impl Future<Output = ()>) {
        tokio::pin!(stop);
        loop {
            let report = self.dispatch_once().await;
            tracing::debug!(?report, "notice dispatcher pass");
            tokio::select! {
                biased;
                () = &mut stop => break,
                () = self.sleeper.sleep(self.config.dispatch_every) => {}
            }
        }
    }

    /// [`Notices::run_dispatching`] for as long as the process lives.
    pub async fn keep_dispatching(self) {
        self.run_dispatching(std::future::pending()).await;
    }

    /// Appends to the audit log; a failure to write is logged, not returned (the change it
    /// describes has happened).
    pub(super) async fn audit(
        &self,
        caller: &Caller,
        action: AuditAction,
        organization: Option<OrganizationId>,
        outcome: AuditOutcome,
        detail: String,
    ) {
        let entry = NewAuditEntry {
            at: self.now(),
            actor: caller.name.clone(),
            action,
            organization,
            thumbprints: Vec::new(),
            outcome,
            detail: Some(detail),
        }
        .capped();
        if let Err(err) = self.repository.append_audit(entry).await {
            tracing::error!(error = %err, action = action.as_str(), "could not write the audit log");
        }
    }
}
