//! **Check connection**, and recording what each app-only token request says about the
//! certificate it was signed with.

use super::Workflows;
use super::activation::rebuild_credential;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::certificate_page::CertificatePage;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{CertificateId, OrganizationId, StoredCertificate};
use crate::ports::RepoResult;
use crate::proof::{CredentialProof, ProofOutcome, ProofSource};
use tenantlink_certificate::Credential;

impl Workflows {
    /// **Check connection** (Operators and Administrators): requests one app-only token with
    /// the organization's active certificate, records Entra's answer as the certificate's latest
    /// proof, and returns the certificate page, which then shows it (e.g. "not attached" when
    /// the application no longer lists the key). When Entra cannot be reached nothing is
    /// recorded and the error is returned.
    pub async fn check_connection(
        &self,
        caller: &Caller,
        id: OrganizationId,
    ) -> ServiceResult<CertificatePage> {
        caller.require(Permission::CheckConnection)?;
        let organization = self.repository.organization(id).await?;
        let Some(active) = organization.active_certificate else {
            return Err(ServiceError::Conflict {
                detail: format!(
                    "{} has no active certificate to check; use Generate a new certificate or Upload a custom certificate first",
                    organization.name
                ),
            });
        };
        let stored = self.repository.certificate(active).await?;
        let credential = self.credential_of(&stored).await?;
        let answer = self
            .directory
            .prove_app_only(&organization, &credential)
            .await;
        let now = self.now();
        let proof = match &answer {
            Ok(_) => CredentialProof::accepted(ProofSource::ConnectionCheck, now),
            Err(err) => match CredentialProof::from_refusal(err, ProofSource::ConnectionCheck, now)
            {
                Some(proof) => proof,
                None => {
                    self.audit_check(caller, &stored, AuditOutcome::Failure, &err.to_string())
                        .await;
                    return Err(err.clone().into());
                }
            },
        };
        self.record_proof(active, &proof).await?;
        let outcome = if proof.outcome == ProofOutcome::Accepted {
            AuditOutcome::Success
        } else {
            AuditOutcome::Failure
        };
        self.audit_check(caller, &stored, outcome, proof.outcome.as_str())
            .await;
        self.certificate_page(caller, id).await
    }

    /// Records a proof made on the way (activation); a failure to record is logged, not fatal:
    /// the proof only informs the page.
    pub(super) async fn note_proof(&self, certificate: CertificateId, proof: CredentialProof) {
        if let Err(err) = self.record_proof(certificate, &proof).await {
            tracing::warn!(%certificate, error = %err, "could not record the certificate's proof");
        }
    }

    /// The one place the workflows record a proof: the service's rule
    /// ([`crate::record_proof`] with [`crate::connection_after_proof`]), shared with backup
    /// runs, also sets the organization's connection state from it (and, with a notice
    /// recorder, tells of a connection it broke or restored).
    async fn record_proof(
        &self,
        certificate: CertificateId,
        proof: &CredentialProof,
    ) -> RepoResult<bool> {
        self.record_proof_noticing(certificate, proof).await
    }

    /// The stored certificate with its decrypted private key, ready to sign an assertion.
    async fn credential_of(&self, stored: &StoredCertificate) -> ServiceResult<Credential> {
        let key = self.repository.private_key(stored.id).await?;
        rebuild_credential(stored, key)
            .map_err(|detail| ServiceError::Conflict {
                detail: format!(
                    "the active certificate {} cannot sign ({detail}); use Generate a new certificate or Upload a custom certificate",
                    stored.sha1_thumbprint
                ),
            })
    }

    async fn audit_check(
        &self,
        caller: &Caller,
        certificate: &StoredCertificate,
        outcome: AuditOutcome,
        detail: &str,
    ) {
        self.audit(
            &caller.name,
            AuditAction::ConnectionChecked,
            Some(certificate.organization),
            vec![certificate.sha1_thumbprint.clone()],
            outcome,
            Some(detail.to_owned()),
        )
        .await;
    }
}
