//! The backup runner's notices: a run that broke or restored the organization's connection,
//! and a run that failed because Entra refused the credential (`backup.credential_failed`).
//! Only with a recorder ([`BackupRunner::with_notices`]); what cannot be read is logged and
//! the run's report stands.

use tenantlink_service::notices::{BackupCredentialFailure, NoticeRecorder};
use tenantlink_service::{Organization, OrganizationId, StoredCertificate};
use time::OffsetDateTime;

use crate::report::RunReport;
use crate::runner::BackupRunner;

impl BackupRunner {
    /// Records notices of what runs find about the credential through `recorder`.
    pub fn with_notices(mut self, recorder: NoticeRecorder) -> Self {
        self.notices = Some(recorder);
        self
    }

    /// The organization as it is before the run's verdict is applied; `None` without notices.
    pub(crate) async fn before_verdict(&self, id: OrganizationId) -> Option<Organization> {
        self.notices.as_ref()?;
        match self.repository.organization(id).await {
            Ok(organization) => Some(organization),
            Err(e) => {
                tracing::warn!(organization = %id, error = %e, "could not read the organization for a notice");
                None
            }
        }
    }

    /// After the verdict was applied: a changed connection, and a credential failure.
    pub(crate) async fn notice_verdict(
        &self,
        before: Option<Organization>,
        report: &RunReport,
        now: OffsetDateTime,
    ) {
        let (Some(notices), Some(before)) = (&self.notices, before) else {
            return;
        };
        let after = match self.repository.organization(before.id).await {
            Ok(after) => after,
            Err(e) => {
                tracing::warn!(organization = %before.id, error = %e, "could not read the organization for a notice");
                return;
            }
        };
        let active = self.active_for_notice(&after).await;
        notices
            .connection_changed(&before, &after, active.as_ref(), now)
            .await;
        if let Some(failure) = report.failure.as_ref().filter(|f| f.credential_problem) {
            let message = match &failure.code {
                Some(code) => format!("{} answered {code}: {}", failure.service, failure.message),
                None => format!("{}: {}", failure.service, failure.message),
            };
            let failed = BackupCredentialFailure {
                run: report.run_id,
                message,
                explanation: failure.explanation.clone(),
                remediation: failure.remediation.clone(),
            };
            notices
                .backup_credential_failed(&after, active.as_ref(), &failed, now)
                .await;
        }
    }

    async fn active_for_notice(&self, organization: &Organization) -> Option<StoredCertificate> {
        let id = organization.active_certificate?;
        match self.repository.certificate(id).await {
            Ok(stored) => Some(stored),
            Err(e) => {
                tracing::warn!(certificate = %id, error = %e, "could not read the active certificate for a notice");
                None
            }
        }
    }
}
