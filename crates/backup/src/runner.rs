//! One run of a backup policy: app-only token with the organization's certificate (through the
//! shared token cache) → the users in scope → each mailbox read incrementally → the job log.
//!
//! Incremental reads: a mailbox is read with Graph's delta query. The first run reads the whole
//! inbox page by page; its last page carries a delta link, which is saved only once every page
//! of that mailbox is indexed. The next run starts from that link and receives only what
//! changed. Each page is indexed in one transaction. A run that fails midway has indexed the
//! pages it read (the store's upsert cannot duplicate a message) and saved no new link, so the next run starts again from the previous
//! link and re-reads, without duplicates, what the failed run saw.

use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tenantlink_clock::SharedClock;
use tenantlink_entra::{
    AppToken, AppTokenRequest, AssertionOptions, AssertionProfile, Error as EntraClientError,
    SigningCertificate, TenantId, TokenClient,
};
use tenantlink_service::{
    BackupPolicy, BackupRepository, BackupRun, BackupScope, CertificateId, Organization,
    Repository, RepositoryError, RunStatus, RunSummary, RunTrigger, UpsertOutcome,
    connection_after_proof, record_proof,
};

use crate::graph::{Continuation, GraphReader, GraphUser};
use crate::item::{DeltaEntry, delta_entry};
use crate::report::{FailureStage, RunFailure, RunReport};
use crate::verdict::{Verdict, verdict};

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Graph's resource in every Microsoft cloud's token requests (and the sandbox's).
pub const GRAPH_DEFAULT_SCOPE: &str = "https://graph.microsoft.com/.default";

#[derive(Debug, Clone)]
pub struct RunnerConfig {
    /// The scope of app-only tokens: `https://graph.microsoft.com/.default` for the global cloud
    /// and the sandbox; a national cloud uses its own Graph host
    /// (`Endpoints::graph_default_scope`).
    pub graph_scope: String,
    /// Send the certificate chain (`x5c`) in client assertions. The header profile is each
    /// organization's own (`Organization::assertion_profile`).
    pub include_x5c: bool,
}

impl Default for RunnerConfig {
    fn default() -> Self {
        Self {
            graph_scope: GRAPH_DEFAULT_SCOPE.to_owned(),
            include_x5c: false,
        }
    }
}

/// Progress of a run, for a live status display (and for tests that act in the middle of a run).
#[derive(Debug, Clone)]
pub struct PageIndexed {
    pub run: BackupRun,
    pub user_id: String,
    /// 1-based page number within this mailbox's read.
    pub page: u32,
    pub messages: usize,
}

pub trait RunObserver: Send + Sync + Debug {
    /// Called after each page of a mailbox is indexed, before the next one is requested.
    fn page_indexed<'a>(&'a self, progress: &'a PageIndexed) -> BoxFuture<'a, ()>;
}

/// Why a run could not even start or be recorded (a started run always ends in a report).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("policy {policy} is already running; wait for that run to finish")]
    AlreadyRunning { policy: String },
    #[error("cannot record the backup run: {0}")]
    Repository(#[from] RepositoryError),
    /// The task running it ended without a report (a bug: the service log has the panic).
    #[error("the run of policy {policy} stopped unexpectedly; the service log has the cause")]
    Aborted { policy: String },
}

/// Runs policies. Cheap to clone; share one per process so that every run uses the same token
/// cache.
#[derive(Debug, Clone)]
pub struct BackupRunner {
    backups: Arc<dyn BackupRepository>,
    /// Organizations and certificates: where the run's proof and connection state go.
    pub(crate) repository: Arc<dyn Repository>,
    tokens: TokenClient,
    graph: GraphReader,
    clock: SharedClock,
    config: RunnerConfig,
    observer: Option<Arc<dyn RunObserver>>,
    /// This instance's id, recorded on the runs it starts (see [`BackupRunner::with_instance_id`]).
    instance: Option<Arc<str>>,
    /// Where notices of a broken credential go (see [`BackupRunner::with_notices`]).
    pub(crate) notices: Option<tenantlink_service::notices::NoticeRecorder>,
}

/// Counts of one run so far.
#[derive(Debug, Default)]
struct Tally {
    users: u32,
    mailboxes_completed: u32,
    items_new: u64,
    items_changed: u64,
    items_unchanged: u64,
    authenticated: bool,
    problems: Vec<RunFailure>,
}

impl BackupRunner {
    pub fn new(
        backups: Arc<dyn BackupRepository>,
        repository: Arc<dyn Repository>,
        tokens: TokenClient,
        graph: GraphReader,
        clock: SharedClock,
        config: RunnerConfig,
    ) -> Self {
        Self {
            backups,
            repository,
            tokens,
            graph,
            clock,
            config,
            observer: None,
            instance: None,
            notices: None,
        }
    }

    /// Records `id` as the holder of the runs this runner starts, so that another instance's
    /// start-up recovery leaves them alone while this one's heartbeat is fresh.
    pub fn with_instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance = Some(Arc::from(id.into()));
        self
    }

    pub fn with_observer(mut self, observer: Arc<dyn RunObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn token_client(&self) -> &TokenClient {
        &self.tokens
    }

    /// Runs `policy` of `organization`, signing with `credential`: its active certificate, or
    /// why there is none to use (e.g. [`RunFailure::no_certificate`]), which fails the run with
    /// that explanation in the job log.
    pub async fn run(
        &self,
        policy: &BackupPolicy,
        organization: &Organization,
        credential: Result<&SigningCertificate, RunFailure>,
        trigger: RunTrigger,
    ) -> Result<RunReport, RunError> {
        let run = self.start(policy, trigger).await?;
        self.run_started(run, policy, organization, credential)
            .await
    }

    /// Records the start of a run (the job log's `running` entry), refusing a second run of a
    /// policy that is still running. [`BackupRunner::run_started`] carries it to its end.
    pub async fn start(
        &self,
        policy: &BackupPolicy,
        trigger: RunTrigger,
    ) -> Result<BackupRun, RunError> {
        // The port's one conflict on starting a run: the policy has one in progress.
        self.backups
            .start_run(
                policy.id,
                trigger,
                self.instance.as_deref(),
                self.clock.now(),
            )
            .await
            .map_err(|e| match e {
                RepositoryError::Conflict { .. } => RunError::AlreadyRunning {
                    policy: policy.id.to_string(),
                },
                other => RunError::Repository(other),
            })
    }

    /// Runs a run recorded by [`BackupRunner::start`] to its end.
    pub async fn run_started(
        &self,
        run: BackupRun,
        policy: &BackupPolicy,
        organization: &Organization,
        credential: Result<&SigningCertificate, RunFailure>,
    ) -> Result<RunReport, RunError> {
        let mut tally = Tally::default();
        let thumbprint = credential.as_ref().ok().map(|c| c.sha1_hex());
        let outcome = self
            .back_up(policy, organization, credential, &run, &mut tally)
            .await;
        self.finish(run, organization, thumbprint, tally, outcome)
            .await
    }

    /// The authentication phase alone: an app-only token for the organization, from the cache
    /// when a fresh one is there.
    pub async fn authenticate(
        &self,
        organization: &Organization,
        credential: &SigningCertificate,
    ) -> Result<Arc<AppToken>, RunFailure> {
        let tenant = TenantId::parse(&organization.tenant).map_err(|e| {
            RunFailure::from_client_error(
                FailureStage::Authentication,
                organization.id,
                &EntraClientError::Endpoint(e),
            )
        })?;
        self.tokens
            .app_token(
                AppTokenRequest {
                    tenant: &tenant,
                    client_id: &organization.app_id,
                    scope: &self.config.graph_scope,
                    assertion: AssertionOptions {
                        profile: assertion_profile(organization.assertion_profile),
                        include_x5c: self.config.include_x5c,
                    },
                },
                credential,
            )
            .await
            .map_err(|e| {
                RunFailure::from_client_error(FailureStage::Authentication, organization.id, &e)
            })
    }

    async fn back_up(
        &self,
        policy: &BackupPolicy,
        organization: &Organization,
        credential: Result<&SigningCertificate, RunFailure>,
        run: &BackupRun,
        tally: &mut Tally,
    ) -> Result<(), RunFailure> {
        let credential = credential?;
        let token = self.authenticate(organization, credential).await?;
        tally.authenticated = true;
        let users = self
            .users_in_scope(&policy.scope, organization, &token, tally)
            .await?;
        tally.users = u32::try_from(users.len()).unwrap_or(u32::MAX);
        for user in &users {
            // The cache hands back the same token until it is due for refresh, so a long run
            // never uses an expired one.
            let token = self.authenticate(organization, credential).await?;
            match self
                .back_up_mailbox(policy, organization, run, user, &token, tally)
                .await
            {
                Ok(()) => tally.mailboxes_completed += 1,
                Err(failure) if failure.credential_problem => {
                    self.forget_token(organization);
                    return Err(failure);
                }
                Err(failure) if failure.stage == FailureStage::Storage => return Err(failure),
                Err(failure) => tally.problems.push(failure),
            }
        }
        Ok(())
    }

    async fn users_in_scope(
        &self,
        scope: &BackupScope,
        organization: &Organization,
        token: &AppToken,
        tally: &mut Tally,
    ) -> Result<Vec<GraphUser>, RunFailure> {
        let token = token.access_token.expose();
        let listing_failure = |e: &EntraClientError| {
            RunFailure::from_client_error(FailureStage::ListingUsers, organization.id, e)
        };
        match scope {
            BackupScope::AllUsers => self
                .graph
                .all_users(token)
                .await
                .map_err(|e| listing_failure(&e)),
            BackupScope::Users(references) => {
                let mut users = Vec::with_capacity(references.len());
                for reference in references {
                    match self.graph.user(token, reference).await {
                        Ok(Some(user)) => users.push(user),
                        Ok(None) => tally.problems.push(user_not_found(reference)),
                        Err(e) => {
                            let failure = listing_failure(&e);
                            if failure.credential_problem {
                                return Err(failure);
                            }
                            tally.problems.push(failure);
                        }
                    }
                }
                Ok(users)
            }
        }
    }

    async fn back_up_mailbox(
        &self,
        policy: &BackupPolicy,
        organization: &Organization,
        run: &BackupRun,
        user: &GraphUser,
        token: &AppToken,
        tally: &mut Tally,
    ) -> Result<(), RunFailure> {
        let stage = || FailureStage::Mailbox {
            user: user
                .user_principal_name
                .clone()
                .unwrap_or_else(|| user.id.clone()),
        };
        let graph_failure =
            |e: &EntraClientError| RunFailure::from_client_error(stage(), organization.id, e);
        let token = token.access_token.expose();
        let stored = self
            .backups
            .delta_link(policy.id, &user.id)
            .await
            .map_err(|e| RunFailure::storage("read the mailbox's delta link", &e))?;
        let resumed = stored.is_some();
        let mut url = match &stored {
            Some(link) => self.graph.resume_from(&link.delta_link),
            None => self.graph.inbox_delta_start(&user.id),
        }
        .map_err(|e| graph_failure(&e))?;
        let mut page_number = 0u32;
        loop {
            let page = match self.graph.delta_page(token, url.clone()).await {
                Ok(page) => page,
                // Graph forgets delta state after a while (410 Gone, "resync required"):
                // start a full read again; the upsert keeps it free of duplicates.
                Err(EntraClientError::Graph(e))
                    if e.http_status == 410 && resumed && page_number == 0 =>
                {
                    tracing::info!(user = %user.id, "delta link expired; reading the mailbox in full");
                    url = self
                        .graph
                        .inbox_delta_start(&user.id)
                        .map_err(|e| graph_failure(&e))?;
                    page_number = 1;
                    continue;
                }
                Err(e) => return Err(graph_failure(&e)),
            };
            page_number += 1;
            let mut items = Vec::with_capacity(page.messages.len());
            for message in &page.messages {
                match delta_entry(organization.id, &user.id, message) {
                    Ok(DeltaEntry::Message(item)) => items.push(*item),
                    // A backup keeps what was deleted at the source.
                    Ok(DeltaEntry::Removed { .. }) => {}
                    Err(e) => tally.problems.push(unreadable_message(stage(), &e)),
                }
            }
            // One transaction per page (one commit, not one per message): the page is indexed
            // entirely or not at all, and a failed page is re-read by the next run.
            if !items.is_empty() {
                let outcomes = self
                    .backups
                    .upsert_mailbox_items(&items, run.id)
                    .await
                    .map_err(|e| RunFailure::storage("index a page of messages", &e))?;
                for outcome in outcomes {
                    match outcome {
                        UpsertOutcome::Inserted => tally.items_new += 1,
                        UpsertOutcome::Changed => tally.items_changed += 1,
                        UpsertOutcome::Unchanged => tally.items_unchanged += 1,
                    }
                }
            }
            if let Some(observer) = &self.observer {
                observer
                    .page_indexed(&PageIndexed {
                        run: run.clone(),
                        user_id: user.id.clone(),
                        page: page_number,
                        messages: page.messages.len(),
                    })
                    .await;
            }
            match page.continuation {
                Continuation::NextPage(next) => url = next,
                Continuation::Complete(delta_link) => {
                    self.backups
                        .save_delta_link(policy.id, &user.id, &delta_link, run.id, self.clock.now())
                        .await
                        .map_err(|e| RunFailure::storage("save the mailbox's delta link", &e))?;
                    return Ok(());
                }
            }
        }
    }

    fn forget_token(&self, organization: &Organization) {
        self.tokens
            .cache()
            .invalidate(&organization.tenant, &organization.app_id);
    }

    async fn finish(
        &self,
        run: BackupRun,
        organization: &Organization,
        certificate_thumbprint: Option<String>,
        mut tally: Tally,
        outcome: Result<(), RunFailure>,
    ) -> Result<RunReport, RunError> {
        let mut failure = outcome.err();
        let status = match (&failure, tally.problems.is_empty()) {
            (Some(_), _) => RunStatus::Failed,
            (None, true) => RunStatus::Success,
            // Nothing could be backed up at all: that is a failure, not a warning.
            (None, false) if tally.mailboxes_completed == 0 => {
                failure = Some(tally.problems.remove(0));
                RunStatus::Failed
            }
            (None, false) => RunStatus::Warning,
        };
        let finished_at = self.clock.now();
        let report = RunReport {
            run_id: run.id,
            policy_id: run.policy_id,
            organization_id: run.organization_id,
            trigger: run.trigger,
            started_at: run.started_at,
            finished_at,
            users: tally.users,
            mailboxes_completed: tally.mailboxes_completed,
            items_new: tally.items_new,
            items_changed: tally.items_changed,
            items_unchanged: tally.items_unchanged,
            status,
            certificate_thumbprint,
            failure,
            problems: tally.problems,
        };
        self.record_connection(organization, &report, tally.authenticated)
            .await;
        let summary = RunSummary {
            status,
            users: i64::from(report.users),
            items_new: i64::try_from(report.items_new).unwrap_or(i64::MAX),
            items_changed: i64::try_from(report.items_changed).unwrap_or(i64::MAX),
            error_text: report.job_log_text(),
        };
        self.backups
            .finish_run(run.id, &summary, finished_at)
            .await?;
        tracing::info!(
            run = %report.run_id,
            policy = %report.policy_id,
            organization = %report.organization_id,
            status = status.as_str(),
            users = report.users,
            items_new = report.items_new,
            items_changed = report.items_changed,
            "backup run finished"
        );
        Ok(report)
    }

    /// What the run says about the organization's credential, applied with the service's rule
    /// ([`connection_after_proof`], [`record_proof`]) like Check connection's: a run that
    /// authenticated proves that Entra accepts the certificate (connected); a credential
    /// failure is a refusal (broken, with its message). The active certificate keeps the proof
    /// as its latest when the run signed with it; only the authentication stage speaks about the
    /// certificate (a cached token was issued with the same key), so a credential failure after
    /// authenticating (e.g. mail access refused) breaks the connection while the certificate's
    /// proof says accepted.
    async fn record_connection(
        &self,
        organization: &Organization,
        report: &RunReport,
        authenticated: bool,
    ) {
        let now = self.clock.now();
        let before = self.before_verdict(organization.id).await;
        let Verdict {
            connection,
            certificate: certificate_proof,
        } = verdict(report.failure.as_ref(), authenticated, now);
        let certificate = match (&certificate_proof, &report.certificate_thumbprint) {
            (Some(_), Some(thumbprint)) => {
                self.active_certificate_with(organization, thumbprint).await
            }
            _ => None,
        };
        let mut connection_applied = false;
        if let (Some(certificate), Some(proof)) = (certificate, &certificate_proof) {
            let recorded = if certificate_proof == connection {
                connection_applied = true;
                record_proof(self.repository.as_ref(), certificate, proof).await
            } else {
                self.repository.record_proof(certificate, proof).await
            };
            if let Err(e) = recorded {
                tracing::error!(organization = %organization.id, error = %e,
                    "could not record the certificate's proof");
            }
        }
        if let Some(connection) = connection.filter(|_| !connection_applied) {
            let (state, last_error) = connection_after_proof(&connection);
            if let Err(e) = self
                .repository
                .set_connection_state(organization.id, state, last_error.as_deref(), now)
                .await
            {
                tracing::error!(organization = %organization.id, error = %e,
                    "could not record the organization's connection state");
            }
        }
        self.notice_verdict(before, report, now).await;
    }

    /// The organization's active certificate, if it is the one with `thumbprint` (the run
    /// signed with it, and no other became active meanwhile).
    async fn active_certificate_with(
        &self,
        organization: &Organization,
        thumbprint: &str,
    ) -> Option<CertificateId> {
        let current = match self.repository.organization(organization.id).await {
            Ok(current) => current,
            Err(e) => {
                tracing::error!(organization = %organization.id, error = %e,
                    "could not read the organization's active certificate");
                return None;
            }
        };
        let active = current.active_certificate?;
        match self.repository.certificate(active).await {
            Ok(stored) if stored.sha1_thumbprint.eq_ignore_ascii_case(thumbprint) => Some(active),
            Ok(_) => None,
            Err(e) => {
                tracing::error!(organization = %organization.id, error = %e,
                    "could not read the organization's active certificate");
                None
            }
        }
    }
}

fn user_not_found(reference: &str) -> RunFailure {
    RunFailure {
        stage: FailureStage::ListingUsers,
        service: "Microsoft Graph",
        code: Some("Request_ResourceNotFound".to_owned()),
        message: format!("No user {reference} in the tenant."),
        explanation: "A user in the policy's scope does not exist (any more) in the organization."
            .to_owned(),
        remediation: "Remove the user from the policy's scope, or correct the name.".to_owned(),
        remediation_link: None,
        client_thumbprint: None,
        credential_problem: false,
    }
}

fn unreadable_message(stage: FailureStage, error: &crate::item::ItemError) -> RunFailure {
    RunFailure {
        stage,
        service: "Microsoft Graph",
        code: None,
        message: error.to_string(),
        explanation: "Graph returned a message tenantlink cannot index; it was skipped.".to_owned(),
        remediation: "Send the job log to support; the rest of the mailbox was backed up."
            .to_owned(),
        remediation_link: None,
        client_thumbprint: None,
        credential_problem: false,
    }
}

impl RunReport {
    /// Seconds the run took.
    pub fn duration(&self) -> time::Duration {
        self.finished_at - self.started_at
    }
}

/// The organization's assertion profile in the entra client's terms.
fn assertion_profile(profile: tenantlink_service::AssertionProfile) -> AssertionProfile {
    profile.into()
}
