//! The workflows' notices at the point of change: a rotation's end, and a proof that broke or
//! restored the organization's connection. Only with a recorder ([`Workflows::with_notices`]);
//! a notice that cannot be read together or written is logged, and the workflow goes on.

use super::Workflows;
use crate::model::{CertificateId, Organization, StoredCertificate};
use crate::notices::NoticeRecorder;
use crate::operation::Operation;
use crate::ports::RepoResult;
use crate::proof::CredentialProof;
use crate::renewal::RenewalRecord;

impl Workflows {
    /// Records notices of what the workflows change (rotation succeeded/failed/needs an
    /// administrator, connection broken/restored) through `recorder`.
    pub fn with_notices(mut self, recorder: NoticeRecorder) -> Self {
        self.notices = Some(recorder);
        self
    }

    /// After a rotation's attempt was written into the renewal state (`record`, as written).
    pub(super) async fn notice_rotation(&self, operation: &Operation, record: &RenewalRecord) {
        let Some(notices) = &self.notices else {
            return;
        };
        let Some((organization, active)) =
            self.organization_and_active(operation.organization).await
        else {
            return;
        };
        notices
            .rotation_ended(
                &organization,
                operation,
                active.as_ref(),
                record,
                self.now(),
            )
            .await;
    }

    /// [`crate::record_proof`], telling of a connection it broke or restored.
    pub(super) async fn record_proof_noticing(
        &self,
        certificate: CertificateId,
        proof: &CredentialProof,
    ) -> RepoResult<bool> {
        let Some(notices) = &self.notices else {
            return crate::proof::record_proof(&*self.repository, certificate, proof).await;
        };
        let before = match self.repository.certificate(certificate).await {
            Ok(stored) => self.organization_and_active(stored.organization).await,
            Err(_) => None,
        };
        let recorded = crate::proof::record_proof(&*self.repository, certificate, proof).await?;
        if recorded
            && let Some((before, _)) = before
            && let Some((after, active)) = self.organization_and_active(before.id).await
        {
            notices
                .connection_changed(&before, &after, active.as_ref(), proof.checked_at)
                .await;
        }
        Ok(recorded)
    }

    /// The organization with its active certificate, for a notice; `None` (logged) when it
    /// cannot be read.
    async fn organization_and_active(
        &self,
        id: crate::model::OrganizationId,
    ) -> Option<(Organization, Option<StoredCertificate>)> {
        let organization = match self.repository.organization(id).await {
            Ok(organization) => organization,
            Err(err) => {
                tracing::warn!(organization = %id, error = %err, "could not read the organization for a notice");
                return None;
            }
        };
        let active = match organization.active_certificate {
            Some(certificate) => match self.repository.certificate(certificate).await {
                Ok(stored) => Some(stored),
                Err(err) => {
                    tracing::warn!(%certificate, error = %err, "could not read the active certificate for a notice");
                    None
                }
            },
            None => None,
        };
        Some((organization, active))
    }
}
