//! The tail Generate and Import share (and a restart resumes): store the new certificate, put
//! it on the application (Generate) or rely on Graph having it already (Import), prove it with
//! an app-only token while Entra propagates the key, and activate it by compare-and-swap. Any failure ends the operation and keeps the previous certificate active.

use super::{Workflows, decisions, directory_failure, failure};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::ServiceResult;
use crate::model::{CertificateId, CertificateSource, Organization, StoredCertificate};
use crate::operation::{Operation, OperationKind, OperationStep};
use crate::ports::{DelegatedToken, DirectoryError, RepositoryError};
use crate::proof::{CredentialProof, ProofSource};
use tenantlink_certificate::{Certificate, Credential, PrivateKey};

/// Where a new certificate comes from, which decides how it reaches the application.
pub(super) enum Origin<'a> {
    /// Created here: still to be attached through Graph with the delegated token.
    Generated { token: &'a DelegatedToken },
    /// An uploaded file whose key Graph already lists (checked before it is stored).
    UploadedAndAttached,
}

impl Origin<'_> {
    fn source(&self) -> CertificateSource {
        match self {
            Self::Generated { .. } => CertificateSource::Generated,
            Self::UploadedAndAttached => CertificateSource::Uploaded,
        }
    }

    /// The step the operation is at once the certificate is stored.
    fn stored_step(&self) -> OperationStep {
        match self {
            Self::Generated { .. } => OperationStep::CertificateStored,
            Self::UploadedAndAttached => OperationStep::Attached,
        }
    }

    fn stored_action(&self) -> AuditAction {
        match self {
            Self::Generated { .. } => AuditAction::CertificateGenerated,
            Self::UploadedAndAttached => AuditAction::CertificateUploaded,
        }
    }
}

impl Workflows {
    /// Stores `credential` for the operation, gets it onto the application as `origin` says,
    /// then proves and activates it. Each step is persisted before the next begins, so a
    /// restart resumes from the last one ([`Workflows::resume_unfinished`]).
    pub(super) async fn store_attach_activate(
        &self,
        operation: Operation,
        organization: &Organization,
        credential: &Credential,
        origin: Origin<'_>,
    ) -> ServiceResult<Operation> {
        if matches!(origin, Origin::UploadedAndAttached) {
            // Graph has confirmed the key: the delegated token has done its last job.
            self.forget_sign_in(operation.id);
        }
        let stored = self
            .repository
            .save_certificate(organization.id, credential, origin.source(), self.now())
            .await?;
        let mut operation = operation;
        operation.step = origin.stored_step();
        operation.certificate = Some(stored.id);
        operation.sha1_thumbprint = Some(stored.sha1_thumbprint);
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            origin.stored_action(),
            AuditOutcome::Success,
            None,
        )
        .await;

        let operation = match origin {
            Origin::Generated { token } => {
                if let Err(err) = self
                    .directory
                    .attach_certificate(organization, token, credential.certificate())
                    .await
                {
                    return self.fail(operation, directory_failure(&err)).await;
                }
                self.forget_sign_in(operation.id);
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
                operation
            }
            Origin::UploadedAndAttached => operation,
        };
        self.prove_and_activate(operation).await
    }

    /// Proves the operation's stored certificate with app-only tokens (retrying while the key
    /// propagates) and activates it by compare-and-swap from the certificate it replaces.
    pub(super) async fn prove_and_activate(
        &self,
        operation: Operation,
    ) -> ServiceResult<Operation> {
        self.prove_and_activate_explained(operation)
            .await
            .map(|(operation, _)| operation)
    }

    /// [`Workflows::prove_and_activate`], also returning Entra's last refusal when the proof
    /// failed (rotation records its kind, code and `Retry-After` in the renewal state).
    pub(super) async fn prove_and_activate_explained(
        &self,
        operation: Operation,
    ) -> ServiceResult<(Operation, Option<DirectoryError>)> {
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
                .await
                .map(|op| (op, None));
        };
        let organization = self.repository.organization(operation.organization).await?;
        // The activation below is a compare-and-swap from `replaces`; when that has already
        // changed it cannot succeed, so do not spend up to 7 token requests proving the key.
        if decisions::superseded(&operation, &organization) {
            return self
                .fail_superseded(operation, "so this certificate was not activated")
                .await
                .map(|op| (op, None));
        }
        let stored = self.repository.certificate(certificate_id).await?;
        let key = self.repository.private_key(certificate_id).await?;
        let credential = match rebuild_credential(&stored, key) {
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
                    .await
                    .map(|op| (op, None));
            }
        };

        let (attempts, refused) = self.prove(&operation, &organization, &credential).await;
        if let Some(err) = refused {
            let mut explained = directory_failure(&err);
            explained.code = format!("token_refused:{}", explained.code);
            explained.message = format!(
                "Entra ID still refused an app-only token with the new certificate after {attempts} attempts: {}",
                explained.message
            );
            return self
                .fail(operation, explained)
                .await
                .map(|op| (op, Some(err)));
        }

        let operation = match self.repository.activate(&operation, self.now()).await {
            Ok(operation) => operation,
            Err(RepositoryError::Conflict { .. }) => {
                return self
                    .fail_superseded(operation, "so this certificate was not activated")
                    .await
                    .map(|op| (op, None));
            }
            Err(err) => return Err(err.into()),
        };
        let proved = CredentialProof::accepted(ProofSource::Activation, self.now());
        self.note_proof(certificate_id, proved).await;
        let mut thumbprints = vec![stored.sha1_thumbprint.clone()];
        if let Some(previous) = operation.replaces
            && let Ok(previous) = self.repository.certificate(previous).await
        {
            thumbprints.push(previous.sha1_thumbprint);
        }
        // A rotation's activation is audited once, as the rotation (new thumbprint, then old).
        let action = match operation.kind {
            OperationKind::Rotate => AuditAction::CertificateRotated,
            OperationKind::Generate | OperationKind::Upload | OperationKind::Connect => {
                AuditAction::CertificateActivated
            }
        };
        self.audit(
            &operation.started_by,
            action,
            Some(operation.organization),
            thumbprints,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok((operation, None))
    }

    /// Asks for app-only tokens with `credential` until one is issued or the proof policy says
    /// stop; returns the attempts made and the last refusal, if the proof failed. For Connect,
    /// a token must also carry every permission Connect consented (`decisions::consent_pending`).
    async fn prove(
        &self,
        operation: &Operation,
        organization: &Organization,
        credential: &Credential,
    ) -> (u32, Option<DirectoryError>) {
        let mut attempt = 1;
        loop {
            let answer = self
                .directory
                .prove_app_only(organization, credential)
                .await
                .and_then(|token| {
                    match decisions::consent_pending(operation.kind, &self.config.connect, &token) {
                        Some(pending) => Err(pending),
                        None => Ok(()),
                    }
                });
            let Err(err) = answer else {
                return (attempt, None);
            };
            let Some(delay) = decisions::proof_retry_delay(&self.config.proof, &err, attempt)
            else {
                return (attempt, Some(err));
            };
            tracing::info!(operation = %operation.id, attempt, code = ?err.code, "app-only token refused; the new key may still be propagating");
            self.sleeper.sleep(delay).await;
            attempt += 1;
        }
    }

    /// Ends an operation whose organization's active certificate changed since it started.
    /// Re-reads first: the change may be this very operation having been finished elsewhere
    /// (another instance resuming it), which is then returned as it is.
    pub(super) async fn fail_superseded(
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
}

impl Workflows {
    /// The stored certificate `id` with its decrypted private key, ready to sign; the inner
    /// error says why the pair cannot sign.
    pub(super) async fn signing_credential(
        &self,
        id: CertificateId,
    ) -> ServiceResult<Result<Credential, String>> {
        let stored = self.repository.certificate(id).await?;
        let key = self.repository.private_key(id).await?;
        Ok(rebuild_credential(&stored, key))
    }
}

/// The stored certificate with its decrypted private key, ready to sign a client assertion;
/// the error says why the pair cannot sign.
pub(super) fn rebuild_credential(
    stored: &StoredCertificate,
    key: PrivateKey,
) -> Result<Credential, String> {
    Certificate::from_der(stored.der.clone())
        .map_err(|e| e.to_string())
        .and_then(|certificate| {
            Credential::new(certificate, key, Vec::new()).map_err(|e| e.to_string())
        })
}
