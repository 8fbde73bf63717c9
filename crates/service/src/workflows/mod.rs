//! The certificate workflows, one file each: organizations and what is read about them,
//! the device sign-in, Generate a new certificate, Upload a custom certificate, and the shared
//! activation (attach, token proof, compare-and-swap) that both end in; plus one unfinished
//! operation per organization and resuming after a restart (`running`), and Check connection;
//! and the organization a service is started with (`configured_organization`).
//! The small decisions they take are pure functions in `decisions`.
//!
//! Operations run on background tasks the service owns (`tasks`): a request starts a step and
//! returns; the step ends on its own even if the request is gone. The holder of an operation
//! proves it is alive by heartbeats; another instance takes over or an administrator abandons
//! the operations of a holder that went silent (`holding`).
//!
//! This file holds what every workflow shares: the [`Workflows`] handle, its configuration,
//! and failing, saving and auditing an operation.

use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::error::ServiceResult;
use crate::heavy::HeavyWork;
use crate::model::OrganizationId;
use crate::operation::{Operation, OperationFailure, OperationId, OperationStep};
use crate::ports::{Directory, DirectoryError, Repository};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use tenantlink_certificate::RsaKeySize;
use tenantlink_clock::{SharedClock, SharedSleeper};
use time::OffsetDateTime;

mod activation;
mod assertion_profile;
mod background;
mod browser_sign_in;
mod configured_organization;
mod connect;
mod connect_steps;
mod connection;
mod decisions;
mod generate;
mod holding;
mod import;
mod key_removal;
mod notices;
mod organizations;
mod rotation;
mod running;
mod sign_in;
mod tasks;

pub use configured_organization::is_configured_organization;
pub use connect::{ConnectRequest, ConnectSettings};
pub use key_removal::{DEFAULT_OVERLAP_GRACE, KeyRemoval, key_removal, planned_key_removal};
pub use organizations::is_tenant_reference;
pub use rotation::{KeyRemovalReport, RENEWAL_ACTOR};
use sign_in::SignInSecrets;

/// How long the token proof keeps trying while Entra propagates a new key: bounded exponential
/// backoff, so a key that never works ends the operation instead of hanging it.
#[derive(Debug, Clone, Copy)]
pub struct ProofPolicy {
    pub attempts: u32,
    pub first_delay: StdDuration,
    pub max_delay: StdDuration,
}

impl Default for ProofPolicy {
    fn default() -> Self {
        Self {
            attempts: 7,
            first_delay: StdDuration::from_secs(2),
            max_delay: StdDuration::from_secs(20),
        }
    }
}

#[derive(Debug, Clone)]
pub struct WorkflowsConfig {
    pub key_size: RsaKeySize,
    pub validity_days: u32,
    /// Warning window: certificates ending within this many days are shown as expiring soon.
    pub expiring_soon_days: u32,
    pub proof: ProofPolicy,
    pub holding: HoldingPolicy,
    /// How long a rotated-out key stays on the application after its successor became active
    /// (and carried a token request), so instances and caches still using it finish first;
    /// never longer than the old key's own end ([`planned_key_removal`]).
    pub overlap_grace: StdDuration,
    /// What "Connect an organization" registers in a tenant.
    pub connect: ConnectSettings,
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        Self {
            key_size: RsaKeySize::default(),
            validity_days: 365,
            expiring_soon_days: crate::certificate_page::EXPIRING_SOON_DAYS,
            proof: ProofPolicy::default(),
            holding: HoldingPolicy::default(),
            overlap_grace: DEFAULT_OVERLAP_GRACE,
            connect: ConnectSettings::default(),
        }
    }
}

/// How an instance shows that it still carries its operations, and when the others stop
/// believing it.
#[derive(Debug, Clone, Copy)]
pub struct HoldingPolicy {
    /// How often the holding instance refreshes the heartbeat of the operations it carries.
    pub heartbeat_every: StdDuration,
    /// A holder silent for this long is gone: its operations may be taken over by another
    /// instance or abandoned by an administrator. Several heartbeats long, so one slow
    /// database write does not make a live instance look dead.
    pub stale_after: StdDuration,
    /// How long a signed-in operation keeps its delegated token waiting for Generate or the
    /// upload; then it ends and the token is dropped (Entra's delegated tokens last about an
    /// hour).
    pub signed_in_lifetime: StdDuration,
}

impl Default for HoldingPolicy {
    fn default() -> Self {
        Self {
            heartbeat_every: StdDuration::from_secs(20),
            stale_after: StdDuration::from_secs(120),
            signed_in_lifetime: StdDuration::from_secs(3600),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Workflows {
    repository: Arc<dyn Repository>,
    directory: Arc<dyn Directory>,
    clock: SharedClock,
    sleeper: SharedSleeper,
    config: WorkflowsConfig,
    sign_ins: Arc<Mutex<HashMap<OperationId, SignInSecrets>>>,
    /// The background tasks carrying this instance's operations.
    tasks: tasks::OperationTasks,
    /// This process's stable identity among the instances sharing the repository (see
    /// [`Workflows::with_instance_id`]); `None` keeps the single-instance behaviour.
    instance: Option<Arc<str>>,
    /// RSA key generation and PKCS#12 key derivation run here, off the async threads.
    heavy: HeavyWork,
    /// Where notices of what changed are recorded ([`Workflows::with_notices`]); `None`: none.
    notices: Option<crate::notices::NoticeRecorder>,
    /// Told of each renewal attempt's outcome (metrics).
    observer: crate::observe::SharedObserver,
    /// tenantlink's `/oauth/callback` as the browser reaches it; `None`: no browser sign-in.
    redirect_uri: Option<Arc<str>>,
    /// Registers backup applications for Connect ([`Workflows::with_registrar`]); `None`:
    /// Connect and Reconnect are refused, explaining why.
    registrar: Option<Arc<dyn crate::registrar::Registrar>>,
}

impl Workflows {
    pub fn new(
        repository: Arc<dyn Repository>,
        directory: Arc<dyn Directory>,
        clock: SharedClock,
        sleeper: SharedSleeper,
        config: WorkflowsConfig,
    ) -> Self {
        Self {
            repository,
            directory,
            clock,
            sleeper,
            config,
            sign_ins: Arc::default(),
            tasks: tasks::OperationTasks::default(),
            instance: None,
            heavy: HeavyWork::default(),
            notices: None,
            observer: Arc::new(crate::observe::NoObserver),
            redirect_uri: None,
            registrar: None,
        }
    }

    /// Offers "Connect an organization" and Reconnect, registering applications through
    /// `registrar` (serve passes the same cloud directories as the `Directory`).
    pub fn with_registrar(mut self, registrar: Arc<dyn crate::registrar::Registrar>) -> Self {
        self.registrar = Some(registrar);
        self
    }

    /// Offers the browser sign-in, which returns to `redirect_uri` (`<public URL>/oauth/callback`,
    /// registered on the sign-in application as a redirect URI).
    pub fn with_browser_redirect_uri(mut self, redirect_uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(Arc::from(redirect_uri.into()));
        self
    }

    /// Reports each renewal attempt's outcome to `observer` (serve passes its metrics).
    pub fn with_observer(mut self, observer: crate::observe::SharedObserver) -> Self {
        self.observer = observer;
        self
    }

    /// Shares one bounded pool for key generation and PKCS#12 derivation with the rest of the
    /// service (serve passes the pool sign-in's Argon2 uses).
    pub fn with_heavy_work(mut self, heavy: HeavyWork) -> Self {
        self.heavy = heavy;
        self
    }

    /// Names this instance among several sharing one repository. The id must be stable across
    /// restarts of the same instance (serve keeps it in its data directory) and differ between
    /// instances: operations started here record it as their sign-in holder, so other instances
    /// never end them as lost, and only this instance's next incarnation ends the ones whose
    /// secrets died with this process.
    pub fn with_instance_id(mut self, id: impl Into<String>) -> Self {
        self.instance = Some(Arc::from(id.into()));
        self
    }

    /// The id given to [`Workflows::with_instance_id`], if any.
    pub fn instance_id(&self) -> Option<&str> {
        self.instance.as_deref()
    }

    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// How long a key a rotation retired stays on the application (see `key_removal`).
    pub fn overlap_grace(&self) -> StdDuration {
        self.config.overlap_grace
    }

    pub fn repository(&self) -> &Arc<dyn Repository> {
        &self.repository
    }

    // -----------------------------------------------------------------------------------------
    // Shared by every workflow: ending, saving and auditing an operation
    // -----------------------------------------------------------------------------------------

    /// Ends `operation` as failed with `why`, and discards the certificate it held (which never
    /// became active). The sign-in secrets go too: nothing can continue a failed operation.
    async fn fail(
        &self,
        mut operation: Operation,
        why: OperationFailure,
    ) -> ServiceResult<Operation> {
        self.forget_sign_in(operation.id);
        tracing::warn!(operation = %operation.id, code = %why.code, "certificate operation failed");
        let detail = format!("{}: {}", why.code, why.message);
        operation.step = OperationStep::Failed;
        operation.failure = Some(why);
        let operation = self.save(operation).await?;
        if let Some(certificate) = decisions::certificate_to_discard(&operation)
            && let Err(err) = self.repository.discard_certificate(certificate).await
        {
            // The operation has failed either way; a certificate left pending is only untidy
            // (its thumbprint stays taken until discarded), so this is logged, not returned.
            tracing::warn!(operation = %operation.id, %certificate, error = %err, "could not discard the failed operation's certificate");
        }
        self.audit_operation(
            &operation,
            AuditAction::OperationFailed,
            AuditOutcome::Failure,
            Some(detail),
        )
        .await;
        Ok(operation)
    }

    /// Persists the next version of `operation` (compare-and-swap on its version).
    async fn save(&self, mut operation: Operation) -> ServiceResult<Operation> {
        operation.version += 1;
        operation.updated_at = self.now();
        self.repository.update_operation(&operation).await?;
        Ok(operation)
    }

    async fn audit_operation(
        &self,
        operation: &Operation,
        action: AuditAction,
        outcome: AuditOutcome,
        detail: Option<String>,
    ) {
        let thumbprints = operation.sha1_thumbprint.iter().cloned().collect();
        let detail = detail.or_else(|| Some(operation.kind.as_str().to_owned()));
        self.audit(
            &operation.started_by,
            action,
            Some(operation.organization),
            thumbprints,
            outcome,
            detail,
        )
        .await;
    }

    /// Appends to the audit log. A failure to write is logged, not returned: the change it
    /// describes has already happened and must not be reported as failed.
    async fn audit(
        &self,
        actor: &str,
        action: AuditAction,
        organization: Option<OrganizationId>,
        thumbprints: Vec<String>,
        outcome: AuditOutcome,
        detail: Option<String>,
    ) {
        let entry = NewAuditEntry {
            at: self.now(),
            actor: actor.to_owned(),
            action,
            organization,
            thumbprints,
            outcome,
            detail,
        }
        .capped();
        if let Err(err) = self.repository.append_audit(entry).await {
            tracing::error!(error = %err, action = action.as_str(), "could not write the audit log");
        }
    }
}

fn failure(
    code: &str,
    message: impl Into<String>,
    remediation: impl Into<String>,
) -> OperationFailure {
    OperationFailure {
        code: code.to_owned(),
        message: message.into(),
        remediation: remediation.into(),
    }
}

/// An Entra or Graph failure as the operation records it: the kind (and Entra's code) as the
/// stable code, Entra's text and what to do.
fn directory_failure(err: &DirectoryError) -> OperationFailure {
    let kind = crate::renewal::kind_word(err.kind);
    let code = match &err.code {
        Some(code) => format!("{kind}:{code}"),
        None => kind.to_owned(),
    };
    failure(&code, err.message.clone(), err.remediation.clone())
}
