//! After a rotation's steps ended: a failed rotation's new key comes off the application again,
//! and the attempt is written into the organization's renewal state (and a failure audited, and
//! either told as a notice).

use super::decide::{self, AttemptFailure};
use super::steps::{Ended, Rotating};
use crate::audit::{AuditAction, AuditOutcome};
use crate::model::CertificateState;
use crate::operation::{Operation, OperationStep};
use crate::workflows::Workflows;

impl Workflows {
    /// Best effort: takes the failed rotation's new key off the application, proven by the
    /// still-active certificate, so failed attempts do not pile keys up against Graph's limit.
    /// Never a key that is active (the guard re-reads it); a failure is logged and left.
    pub(super) async fn take_new_key_off(&self, operation: &Operation, rotating: &Rotating) {
        let Some(new_id) = operation.certificate else {
            return;
        };
        match self.repository.certificate(new_id).await {
            Ok(stored) if stored.state != CertificateState::Active => {}
            Ok(_) => return,
            Err(err) => {
                tracing::warn!(operation = %operation.id, error = %err, "could not read the failed rotation's certificate; its key stays on the application");
                return;
            }
        }
        let organization = &rotating.organization;
        let listed = match self
            .directory
            .application_app_only(organization, &rotating.signer)
            .await
        {
            Ok(application) => application.keys.into_iter().find(|key| {
                key.sha1_thumbprint
                    .eq_ignore_ascii_case(&rotating.new_thumbprint)
            }),
            Err(err) => {
                tracing::warn!(operation = %operation.id, code = ?err.code, "could not read the application to remove the failed rotation's key; it may stay there");
                return;
            }
        };
        let Some(key) = listed else {
            return;
        };
        match self
            .directory
            .remove_key(organization, &rotating.signer, &key.key_id)
            .await
        {
            Ok(()) => {
                self.audit(
                    &operation.started_by,
                    AuditAction::KeyRemoved,
                    Some(organization.id),
                    vec![rotating.new_thumbprint.clone()],
                    AuditOutcome::Success,
                    Some(format!("the failed rotation's new key {}", key.key_id)),
                )
                .await;
            }
            Err(err) => {
                tracing::warn!(operation = %operation.id, code = ?err.code, key = %key.key_id, "could not remove the failed rotation's key; it stays on the application unused");
            }
        }
    }

    /// Writes the attempt into the organization's renewal state and audits a failure.
    pub(super) async fn record_attempt(&self, ended: &Ended) {
        let operation = &ended.operation;
        let now = self.now();
        let record = match self.repository.renewal(operation.organization).await {
            Ok(record) => record,
            Err(err) => {
                tracing::warn!(operation = %operation.id, error = %err, "could not read the renewal state to record the rotation");
                return;
            }
        };
        let state = match (operation.step, &operation.failure) {
            (OperationStep::Succeeded, _) => decide::state_after_success(&record.state, now),
            // Another operation replaced the certificate meanwhile: not a failure of renewal,
            // and the next decision is about that certificate anyway.
            (OperationStep::Failed, Some(why)) if why.code == "concurrent_change" => return,
            (OperationStep::Failed, Some(why)) => {
                self.audit_operation(
                    operation,
                    AuditAction::RotationFailed,
                    AuditOutcome::Failure,
                    Some(format!("{}: {}", why.code, why.message)),
                )
                .await;
                let failed = AttemptFailure {
                    code: &why.code,
                    message: &why.message,
                    cause: ended.cause.as_ref(),
                };
                decide::state_after_failure(&record.state, failed, now)
            }
            _ => return,
        };
        if let Err(err) = self
            .repository
            .set_renewal_state(operation.organization, &state, now)
            .await
        {
            tracing::warn!(operation = %operation.id, error = %err, "could not record the rotation in the renewal state");
        }
        let written = crate::renewal::RenewalRecord {
            policy: record.policy,
            state,
        };
        self.notice_rotation(operation, &written).await;
    }
}
