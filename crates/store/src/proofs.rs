//! The latest app-only proof of each certificate: what Entra answered the last time a token was
//! requested with it (at activation, by "Check connection", or by a backup run).
//!
//! Kept on the certificate's row so the certificate page can tell "not attached" (Entra says the
//! key is not registered on the application) from one cheap read, without asking Graph on every
//! view; the page shows when the answer was given.

use tenantlink_service::{
    CertificateId, CredentialProof, OrganizationId, ProofOutcome, ProofSource,
};

use crate::Store;
use crate::db::{Columns, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};

impl Store {
    /// Records `proof` as the certificate's latest, unless a later one is already recorded (a
    /// slow request must not overwrite a newer answer). Returns whether it was recorded.
    pub async fn record_certificate_proof(
        &self,
        certificate: CertificateId,
        proof: &CredentialProof,
    ) -> StoreResult<bool> {
        let at = to_micros(proof.checked_at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE certificates SET proof_outcome = $2, proof_source = $3, \
                 proof_detail = $4, proof_at = $5 \
                 WHERE id = $1 AND (proof_at IS NULL OR proof_at <= $5)",
            )
            .bind(certificate.to_string())
            .bind(proof.outcome.as_str())
            .bind(proof.source.as_str())
            .bind(proof.detail.as_deref())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("record the certificate's proof"))?
            .rows_affected()
        });
        if affected == 0 {
            // Distinguish "no such certificate" from "a newer proof is already there".
            self.certificate(certificate).await?;
            return Ok(false);
        }
        Ok(true)
    }

    /// Records `proof` for the organization's active certificate named by its SHA-1 thumbprint
    /// (upper-case hex), which is what a backup run knows of the certificate it signed with.
    /// Returns `false`, recording nothing, when that certificate is no longer the active one
    /// or a later proof is already recorded.
    pub async fn record_active_certificate_proof(
        &self,
        organization: OrganizationId,
        sha1_thumbprint: &str,
        proof: &CredentialProof,
    ) -> StoreResult<bool> {
        let at = to_micros(proof.checked_at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE certificates SET proof_outcome = $3, proof_source = $4, \
                 proof_detail = $5, proof_at = $6 \
                 WHERE organization_id = $1 AND sha1_thumbprint = $2 AND state = 'active' \
                 AND (proof_at IS NULL OR proof_at <= $6)",
            )
            .bind(organization.to_string())
            .bind(sha1_thumbprint.to_ascii_uppercase())
            .bind(proof.outcome.as_str())
            .bind(proof.source.as_str())
            .bind(proof.detail.as_deref())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("record the active certificate's proof"))?
            .rows_affected()
        });
        Ok(affected > 0)
    }
}

pub(crate) fn decode(row: &impl Columns) -> StoreResult<Option<CredentialProof>> {
    let outcome: Option<ProofOutcome> = row.opt_parsed("proof_outcome")?;
    let source: Option<ProofSource> = row.opt_parsed("proof_source")?;
    let at = row.opt_time("proof_at")?;
    Ok(match (outcome, source, at) {
        (Some(outcome), Some(source), Some(checked_at)) => Some(CredentialProof {
            outcome,
            source,
            checked_at,
            detail: row.opt_text("proof_detail")?,
        }),
        _ => None,
    })
}
