//! The certificate workflows: Generate a new certificate, Upload a custom certificate, and the
//! resumption of interrupted operations after a restart.

use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::certificate_page::CertificatePage;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{
    CertificateId, CertificateSource, NewOrganization, Organization, OrganizationId,
    StoredCertificate,
};
use crate::operation::{Operation, OperationFailure, OperationId, OperationKind, OperationStep};
use crate::ports::{
    DelegatedToken, DeviceCode, Directory, DirectoryError, DirectoryErrorKind, Repository,
    RepositoryError, SignInPoll,
};
use crate::secret::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;
use tenantlink_certificate::{
    Certificate, Credential, GenerateOptions, RsaKeySize, generate, import_pkcs12,
};
use tenantlink_clock::{SharedClock, SharedSleeper};
use time::{Duration, OffsetDateTime};

mod connection;
mod running;

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

impl ProofPolicy {
    fn delay_before(&self, attempt: u32) -> StdDuration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
        self.first_delay.saturating_mul(factor).min(self.max_delay)
    }
}

#[derive(Debug, Clone)]
pub struct WorkflowsConfig {
    pub key_size: RsaKeySize,
    pub validity_days: u32,
    /// Warning window: certificates ending within this many days are shown as expiring soon.
    pub expiring_soon_days: u32,
    pub proof: ProofPolicy,
}

impl Default for WorkflowsConfig {
    fn default() -> Self {
        Self {
            key_size: RsaKeySize::default(),
            validity_days: 365,
            expiring_soon_days: crate::certificate_page::EXPIRING_SOON_DAYS,
            proof: ProofPolicy::default(),
        }
    }
}

/// Device sign-in secrets of running operations. Kept in memory only: a delegated token must not
/// outlive the operation, so a restart ends operations still waiting for sign-in.
#[derive(Debug)]
struct SignInSecrets {
    device_code: DeviceCode,
    interval: StdDuration,
    next_poll_at: OffsetDateTime,
    token: Option<DelegatedToken>,
}

enum DuePoll {
    Due(DeviceCode),
    NotYet,
    Lost,
}

#[derive(Debug, Clone)]
pub struct Workflows {
    repository: Arc<dyn Repository>,
    directory: Arc<dyn Directory>,
    clock: SharedClock,
    sleeper: SharedSleeper,
    config: WorkflowsConfig,
    sign_ins: Arc<Mutex<HashMap<OperationId, SignInSecrets>>>,
    /// This process's stable identity among the instances sharing the repository (see
    /// [`Workflows::with_instance_id`]); `None` keeps the single-instance behaviour.
    instance: Option<Arc<str>>,
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
            instance: None,
        }
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

    pub fn repository(&self) -> &Arc<dyn Repository> {
        &self.repository
    }

    // -----------------------------------------------------------------------------------------
    // Organizations and the certificate page
    // -----------------------------------------------------------------------------------------

    pub async fn organizations(&self, caller: &Caller) -> ServiceResult<Vec<Organization>> {
        caller.require(Permission::View)?;
        Ok(self.repository.organizations().await?)
    }

    pub async fn organization(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<Organization> {
        caller.require(Permission::View)?;
        Ok(self.repository.organization(id).await?)
    }

    pub async fn add_organization(
        &self,
        caller: &Caller,
        new: NewOrganization,
    ) -> ServiceResult<Organization> {
        caller.require(Permission::ManageOrganizations)?;
        let new = validate_new_organization(new)?;
        let organization = self.repository.add_organization(new, self.now()).await?;
        self.audit(
            &caller.name,
            AuditAction::OrganizationAdded,
            Some(organization.id),
            Vec::new(),
            AuditOutcome::Success,
            Some(format!("{} ({})", organization.name, organization.tenant)),
        )
        .await;
        Ok(organization)
    }

    pub async fn certificate_page(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<CertificatePage> {
        caller.require(Permission::View)?;
        let organization = self.repository.organization(id).await?;
        let certificates = self.repository.certificates(id).await?;
        Ok(CertificatePage::build(
            organization,
            &certificates,
            self.now(),
            time::Duration::days(i64::from(self.config.expiring_soon_days)),
        ))
    }

    pub async fn certificate(
        &self,
        caller: &Caller,
        id: CertificateId,
    ) -> ServiceResult<StoredCertificate> {
        caller.require(Permission::View)?;
        Ok(self.repository.certificate(id).await?)
    }

    // -----------------------------------------------------------------------------------------
    // Operations
    // -----------------------------------------------------------------------------------------

    /// Starts "Generate a new certificate" or "Upload a custom certificate": begins the device
    /// sign-in against the organization's tenant.
    pub async fn start(
        &self,
        caller: &Caller,
        organization: OrganizationId,
        kind: OperationKind,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let org = self.repository.organization(organization).await?;
        // Refuse before asking Entra for a device code that could never be used.
        self.refuse_while_running(&org).await?;
        let sign_in = self.directory.start_device_sign_in(&org).await?;
        let now = self.now();
        let operation = Operation {
            id: OperationId::new(),
            organization,
            kind,
            step: OperationStep::AwaitingSignIn,
            started_by: caller.name.clone(),
            started_at: now,
            updated_at: now,
            version: 1,
            sign_in: Some(sign_in.prompt),
            signed_in_as: None,
            certificate: None,
            thumbprint_sha1: None,
            replaces: org.active_certificate,
            failure: None,
            sign_in_holder: self.instance.as_deref().map(str::to_owned),
        };
        // The store's unique index still decides between two starts that both passed the check
        // above (e.g. on two instances): the loser gets its Conflict here.
        let operation = self.repository.create_operation(&operation).await?;
        self.lock_sign_ins().insert(
            operation.id,
            SignInSecrets {
                device_code: sign_in.device_code,
                interval: sign_in.interval,
                next_poll_at: now,
                token: None,
            },
        );
        self.audit_operation(
            &operation,
            AuditAction::OperationStarted,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok(operation)
    }

    /// The operation as it stands; while waiting for the device sign-in, asks the token endpoint
    /// (no more often than it allows) whether the person has signed in.
    pub async fn operation(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::View)?;
        let operation = self.repository.operation(id).await?;
        if operation.is_finished() {
            // It may have ended on another instance (cancel, expiry): drop our copy of its secrets.
            self.forget_sign_in(id);
        }
        if operation.step != OperationStep::AwaitingSignIn {
            return Ok(operation);
        }
        self.poll_sign_in(operation).await
    }

    pub async fn operations(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Vec<Operation>> {
        caller.require(Permission::View)?;
        Ok(self.repository.operations(organization).await?)
    }

    /// "Generate": create the key and certificate, attach, prove, activate.
    pub async fn generate(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let operation = self
            .signed_in_operation(id, OperationKind::Generate, "generate")
            .await?;
        let Some(token) = self.delegated_token(id) else {
            return self.fail_lost_sign_in(operation).await;
        };
        let organization = self.repository.organization(operation.organization).await?;
        if superseded(&operation, &organization) {
            return self
                .fail_superseded(
                    operation,
                    "so this operation stopped before creating or attaching a certificate",
                )
                .await;
        }
        let options = GenerateOptions {
            subject_cn: format!("tenantlink {}", organization.name),
            validity_days: self.config.validity_days,
            key_size: self.config.key_size,
        };
        let credential = match generate(&options, self.now()) {
            Ok(credential) => credential,
            Err(err) => {
                return self
                    .fail(
                        operation,
                        failure(
                            "generate_failed",
                            err.to_string(),
                            "Check the certificate settings (key size, validity) and try again.",
                        ),
                    )
                    .await;
            }
        };
        let stored = self
            .repository
            .save_certificate(
                organization.id,
                &credential,
                CertificateSource::Generated,
                self.now(),
            )
            .await?;
        let mut operation = operation;
        operation.step = OperationStep::CertificateStored;
        operation.certificate = Some(stored.id);
        operation.thumbprint_sha1 = Some(stored.sha1_hex.clone());
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::CertificateGenerated,
            AuditOutcome::Success,
            None,
        )
        .await;

        if let Err(err) = self
            .directory
            .attach_certificate(&organization, &token, credential.certificate())
            .await
        {
            return self.fail(operation, directory_failure(&err)).await;
        }
        self.forget_sign_in(id);
        let mut operation = operation;
        operation.step = OperationStep::Attached;
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::CertificateAttached,
            AuditOutcome::Success,
            None,
        )
        .await;
        self.prove_and_activate(operation).await
    }

    /// "Import": validate the file, confirm through Graph that it is attached, prove, activate.
    /// The password is used for this call only.
    pub async fn import(
        &self,
        caller: &Caller,
        id: OperationId,
        pfx: &[u8],
        password: Option<SecretString>,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let operation = self
            .signed_in_operation(id, OperationKind::Upload, "import")
            .await?;
        let Some(token) = self.delegated_token(id) else {
            return self.fail_lost_sign_in(operation).await;
        };
        let organization = self.repository.organization(operation.organization).await?;
        if superseded(&operation, &organization) {
            return self
                .fail_superseded(
                    operation,
                    "so this operation stopped before reading the file or asking Graph",
                )
                .await;
        }
        let password = password.filter(|p| !p.is_empty());
        let credential = match import_pkcs12(pfx, password.as_ref(), self.now()) {
            Ok(credential) => credential,
            Err(err) => {
                return self
                    .fail(operation, failure(&format!("bad_file:{}", err.kind()), err.to_string(), "Choose the .pfx file exported from Entra ID together with its private key, and type its password if it has one."))
                    .await;
            }
        };
        drop(password);
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        let application = match self.directory.application(&organization, &token).await {
            Ok(application) => application,
            Err(err) => return self.fail(operation, directory_failure(&err)).await,
        };
        if !application
            .keys
            .iter()
            .any(|key| key.thumbprint_sha1.eq_ignore_ascii_case(&thumbprint))
        {
            return self
                .fail(
                    operation,
                    not_attached_failure(
                        &application.display_name,
                        &application.app_id,
                        &thumbprint,
                    ),
                )
                .await;
        }
        self.forget_sign_in(id);
        let stored = self
            .repository
            .save_certificate(
                organization.id,
                &credential,
                CertificateSource::Uploaded,
                self.now(),
            )
            .await?;
        let mut operation = operation;
        operation.step = OperationStep::Attached;
        operation.certificate = Some(stored.id);
        operation.thumbprint_sha1 = Some(stored.sha1_hex.clone());
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::CertificateUploaded,
            AuditOutcome::Success,
            None,
        )
        .await;
        self.prove_and_activate(operation).await
    }

    pub async fn cancel(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let mut operation = self.repository.operation(id).await?;
        if !matches!(
            operation.step,
            OperationStep::AwaitingSignIn | OperationStep::SignedIn
        ) {
            return Err(ServiceError::wrong_step(id, operation.step, "be cancelled"));
        }
        self.forget_sign_in(id);
        operation.step = OperationStep::Cancelled;
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::OperationCancelled,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok(operation)
    }

    /// After a restart: operations that had their certificate on the application are proven and
    /// activated (or failed cleanly); those still needing the lost delegated token end.
    /// Only this instance's own operations (its previous incarnation's) and those started before
    /// holders were recorded are touched: another live instance's operation is still being
    /// carried there, sign-in secrets and all.
    pub async fn resume_unfinished(&self) -> ServiceResult<Vec<Operation>> {
        let mut resumed = Vec::new();
        for operation in self.repository.unfinished_operations().await? {
            let id = operation.id;
            if let Some(holder) = self.held_elsewhere(&operation) {
                tracing::info!(operation = %id, holder, "left an operation of another tenantlink instance alone");
                continue;
            }
            let outcome = match operation.step {
                OperationStep::AwaitingSignIn | OperationStep::SignedIn => {
                    self.fail(operation, failure("interrupted", "The service restarted while this operation waited for the device sign-in; the sign-in is not kept across restarts.", "Start the operation again.")).await
                }
                // The attach may or may not have reached Graph: a successful token proof shows it
                // did; a refused one fails the operation and keeps the previous certificate.
                OperationStep::CertificateStored | OperationStep::Attached => {
                    self.prove_and_activate(operation).await
                }
                _ => continue,
            };
            match outcome {
                Ok(operation) => resumed.push(operation),
                Err(err) => {
                    tracing::error!(operation = %id, error = %err, "could not resume an operation")
                }
            }
        }
        Ok(resumed)
    }

    // -----------------------------------------------------------------------------------------
    // Steps
    // -----------------------------------------------------------------------------------------

    async fn poll_sign_in(&self, operation: Operation) -> ServiceResult<Operation> {
        let now = self.now();
        if running::sign_in_expired(&operation, now) {
            return self.expire_sign_in(operation).await;
        }
        // The secrets are in another live instance's memory, not lost: show it as stored.
        if self.held_elsewhere(&operation).is_some() {
            return Ok(operation);
        }
        let device_code = match self.due_device_code(operation.id, now) {
            DuePoll::Due(device_code) => device_code,
            DuePoll::NotYet => return Ok(operation),
            DuePoll::Lost => return self.fail_lost_sign_in(operation).await,
        };
        let organization = self.repository.organization(operation.organization).await?;
        match self
            .directory
            .poll_device_sign_in(&organization, &device_code)
            .await
        {
            Ok(SignInPoll::Pending) => Ok(operation),
            Ok(SignInPoll::SignedIn { token, account }) => {
                if let Some(secrets) = self.lock_sign_ins().get_mut(&operation.id) {
                    secrets.token = Some(token.clone());
                }
                if organization.app_object_id.is_none()
                    && let Ok(app) = self.directory.application(&organization, &token).await
                {
                    self.repository
                        .set_app_object_id(organization.id, &app.object_id, self.now())
                        .await?;
                }
                let mut operation = operation;
                operation.step = OperationStep::SignedIn;
                operation.signed_in_as = account;
                let operation = self.save(operation).await?;
                self.audit_operation(
                    &operation,
                    AuditAction::DeviceSignInCompleted,
                    AuditOutcome::Success,
                    operation.signed_in_as.clone(),
                )
                .await;
                Ok(operation)
            }
            Err(err) if err.kind == DirectoryErrorKind::Unavailable => {
                tracing::warn!(operation = %operation.id, error = %err, "device sign-in poll failed; will ask again");
                Ok(operation)
            }
            Err(err) => {
                self.forget_sign_in(operation.id);
                self.fail(operation, directory_failure(&err)).await
            }
        }
    }

    async fn prove_and_activate(&self, operation: Operation) -> ServiceResult<Operation> {
        let Some(certificate_id) = operation.certificate else {
            return self
                .fail(
                    operation,
                    failure(
                        "internal",
                        "The operation has no certificate to activate.",
                        "Start the operation again.",
                    ),
                )
                .await;
        };
        let organization = self.repository.organization(operation.organization).await?;
        // The activation below is a compare-and-swap from `replaces`; when that has already
        // changed it cannot succeed, so do not spend up to 7 token requests proving the key.
        if superseded(&operation, &organization) {
            return self
                .fail_superseded(operation, "so this certificate was not activated")
                .await;
        }
        let stored = self.repository.certificate(certificate_id).await?;
        let key = self.repository.private_key(certificate_id).await?;
        let credential = Certificate::from_der(stored.der.clone())
            .map_err(|e| e.to_string())
            .and_then(|certificate| {
                Credential::new(certificate, key, Vec::new()).map_err(|e| e.to_string())
            });
        let credential = match credential {
            Ok(credential) => credential,
            Err(detail) => {
                return self
                    .fail(
                        operation,
                        failure(
                            "stored_certificate_unreadable",
                            detail,
                            "Start the operation again.",
                        ),
                    )
                    .await;
            }
        };

        let policy = self.config.proof;
        let mut attempt = 1;
        let proof = loop {
            match self
                .directory
                .prove_app_only(&organization, &credential)
                .await
            {
                Ok(()) => break Ok(()),
                Err(err) if err.is_retryable_proof_failure() && attempt < policy.attempts => {
                    tracing::info!(operation = %operation.id, attempt, code = ?err.code, "app-only token refused; the new key may still be propagating");
                    self.sleeper.sleep(policy.delay_before(attempt)).await;
                    attempt += 1;
                }
                Err(err) => break Err(err),
            }
        };
        if let Err(err) = proof {
            let mut explained = directory_failure(&err);
            explained.code = format!("token_refused:{}", explained.code);
            explained.message = format!(
                "Entra ID still refused an app-only token with the new certificate after {attempt} attempts: {}",
                explained.message
            );
            return self.fail(operation, explained).await;
        }

        let operation = match self.repository.activate(&operation, self.now()).await {
            Ok(operation) => operation,
            Err(RepositoryError::Conflict { .. }) => {
                return self
                    .fail_superseded(operation, "so this certificate was not activated")
                    .await;
            }
            Err(err) => return Err(err.into()),
        };
        let proved = crate::proof::CredentialProof::accepted(
            crate::proof::ProofSource::Activation,
            self.now(),
        );
        self.note_proof(certificate_id, proved).await;
        let mut thumbprints = vec![stored.sha1_hex.clone()];
        if let Some(previous) = operation.replaces
            && let Ok(previous) = self.repository.certificate(previous).await
        {
            thumbprints.push(previous.sha1_hex);
        }
        self.audit(
            &operation.started_by,
            AuditAction::CertificateActivated,
            Some(operation.organization),
            thumbprints,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok(operation)
    }

    // -----------------------------------------------------------------------------------------
    // Helpers
    // -----------------------------------------------------------------------------------------

    async fn signed_in_operation(
        &self,
        id: OperationId,
        kind: OperationKind,
        action: &'static str,
    ) -> ServiceResult<Operation> {
        let operation = self.repository.operation(id).await?;
        // The kind is known locally: refuse a mismatch before asking Entra about the sign-in.
        if operation.kind != kind {
            return Err(ServiceError::Invalid {
                field: "operation".into(),
                message: format!(
                    "operation {id} is a {} operation and cannot {action}",
                    operation.kind.as_str()
                ),
            });
        }
        let operation = if operation.step == OperationStep::AwaitingSignIn {
            self.poll_sign_in(operation).await?
        } else {
            operation
        };
        if matches!(
            operation.step,
            OperationStep::AwaitingSignIn | OperationStep::SignedIn
        ) && let Some(holder) = self.held_elsewhere(&operation)
        {
            return Err(held_elsewhere_conflict(&operation, holder, action));
        }
        if operation.step != OperationStep::SignedIn {
            return Err(ServiceError::wrong_step(id, operation.step, action));
        }
        Ok(operation)
    }

    /// The device code if the token endpoint may be asked now; records the next allowed time.
    fn due_device_code(&self, id: OperationId, now: OffsetDateTime) -> DuePoll {
        let mut sign_ins = self.lock_sign_ins();
        let Some(secrets) = sign_ins.get_mut(&id) else {
            return DuePoll::Lost;
        };
        if secrets.next_poll_at > now {
            return DuePoll::NotYet;
        }
        secrets.next_poll_at =
            now + Duration::try_from(secrets.interval).unwrap_or(Duration::seconds(5));
        DuePoll::Due(secrets.device_code.clone())
    }

    /// The other instance holding `operation`'s sign-in secrets, if it is not this one.
    /// Operations without a recorded holder are treated as this instance's (the behaviour
    /// before holders were recorded).
    fn held_elsewhere<'a>(&self, operation: &'a Operation) -> Option<&'a str> {
        let holder = operation.sign_in_holder.as_deref()?;
        (self.instance.as_deref() != Some(holder)).then_some(holder)
    }

    fn delegated_token(&self, id: OperationId) -> Option<DelegatedToken> {
        self.lock_sign_ins().get(&id).and_then(|s| s.token.clone())
    }

    fn forget_sign_in(&self, id: OperationId) {
        self.lock_sign_ins().remove(&id);
    }

    fn lock_sign_ins(&self) -> std::sync::MutexGuard<'_, HashMap<OperationId, SignInSecrets>> {
        // A poisoned map only means another request panicked mid-update; its entries are still
        // whole values, so keep using it.
        self.sign_ins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends an operation whose organization's active certificate changed since it started.
    /// Re-reads first: the change may be this very operation having been finished elsewhere
    /// (another instance resuming it), which is then returned as it is.
    async fn fail_superseded(
        &self,
        operation: Operation,
        consequence: &str,
    ) -> ServiceResult<Operation> {
        let current = self.repository.operation(operation.id).await?;
        if current.is_finished() {
            return Ok(current);
        }
        self.fail(
            current,
            failure(
                "concurrent_change",
                format!("Another operation changed the active certificate of this organization while this one ran, {consequence}."),
                "Open the SSL Certificate page to see the active certificate; start again if you still want to replace it.",
            ),
        )
        .await
    }

    async fn fail_lost_sign_in(&self, operation: Operation) -> ServiceResult<Operation> {
        self.fail(operation, failure("sign_in_lost", "The device sign-in of this operation is no longer available (the service restarted).", "Start the operation again."))
            .await
    }

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
        self.audit_operation(
            &operation,
            AuditAction::OperationFailed,
            AuditOutcome::Failure,
            Some(detail),
        )
        .await;
        Ok(operation)
    }

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
        let thumbprints = operation.thumbprint_sha1.iter().cloned().collect();
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
        };
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

/// Refusal of a step needing the device code or delegated token that another instance holds.
/// Nothing is changed: the operation stays usable on that instance.
fn held_elsewhere_conflict(operation: &Operation, holder: &str, action: &str) -> ServiceError {
    ServiceError::Conflict {
        detail: format!(
            "Operation {} cannot {action} here: its sign-in is held by tenantlink instance {holder}, and the sign-in is kept only in that instance's memory. Continue on that instance (use sticky sessions for the portal) or cancel it and start again here.",
            operation.id
        ),
    }
}

fn directory_failure(err: &DirectoryError) -> OperationFailure {
    let kind = match err.kind {
        DirectoryErrorKind::SignInDeclined => "sign_in_declined",
        DirectoryErrorKind::SignInExpired => "sign_in_expired",
        DirectoryErrorKind::InsufficientPrivileges => "insufficient_privileges",
        DirectoryErrorKind::PolicyRejected => "policy_rejected",
        DirectoryErrorKind::CredentialRejected => "credential_rejected",
        DirectoryErrorKind::ApplicationNotFound => "application_not_found",
        DirectoryErrorKind::Unavailable => "directory_unavailable",
        DirectoryErrorKind::Other => "directory_error",
    };
    let code = match &err.code {
        Some(code) => format!("{kind}:{code}"),
        None => kind.to_owned(),
    };
    failure(&code, err.message.clone(), err.remediation.clone())
}

/// Whether the organization's active certificate is no longer the one `operation` started from,
/// so its activation (a compare-and-swap from that one) cannot succeed.
fn superseded(operation: &Operation, organization: &Organization) -> bool {
    organization.active_certificate != operation.replaces
}

fn not_attached_failure(app_name: &str, app_id: &str, thumbprint: &str) -> OperationFailure {
    failure(
        "not_attached",
        format!(
            "The certificate with thumbprint {thumbprint} is not attached to the application \"{app_name}\" (application id {app_id})."
        ),
        format!(
            "In the Microsoft Entra admin center open App registrations → \"{app_name}\" → Certificates & secrets → Certificates, upload this certificate's public part (.cer), then import the .pfx again."
        ),
    )
}

fn validate_new_organization(new: NewOrganization) -> ServiceResult<NewOrganization> {
    let invalid = |field: &str, message: &str| ServiceError::Invalid {
        field: field.to_owned(),
        message: message.to_owned(),
    };
    let tenant = new.tenant.trim().to_owned();
    let is_guid = uuid::Uuid::parse_str(&tenant).is_ok();
    let is_domain = tenant.contains('.')
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    if !is_guid && !is_domain {
        return Err(invalid(
            "tenant",
            "the tenant is its GUID (directory id) or a domain such as contoso.onmicrosoft.com",
        ));
    }
    let app_id = new.app_id.trim().to_owned();
    if uuid::Uuid::parse_str(&app_id).is_err() {
        return Err(invalid(
            "app_id",
            "the application (client) id is a GUID, shown on the app registration's overview page",
        ));
    }
    let cloud = new.cloud.trim().to_ascii_lowercase();
    if !["global", "usgov", "china", "sandbox"].contains(&cloud.as_str()) {
        return Err(invalid(
            "cloud",
            "the cloud is one of global, usgov, china or sandbox",
        ));
    }
    let name = if new.name.trim().is_empty() {
        tenant.clone()
    } else {
        new.name.trim().to_owned()
    };
    Ok(NewOrganization {
        name,
        tenant,
        cloud,
        app_id,
    })
}
