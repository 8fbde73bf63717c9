//! The one handle the points of change (workflows, backup runner) record notices through. A
//! notice that cannot be written is logged and dropped: the change it tells of has happened and
//! must not be reported as failed because the outbox was unreachable.

use super::emit::{self, BackupCredentialFailure};
use super::event::NewNotice;
use super::links::PortalLinks;
use super::ports::NoticeRepository;
use crate::model::{Organization, StoredCertificate};
use crate::operation::Operation;
use crate::renewal::RenewalRecord;
use std::sync::Arc;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct NoticeRecorder {
    repository: Arc<dyn NoticeRepository>,
    links: PortalLinks,
}

impl NoticeRecorder {
    pub fn new(repository: Arc<dyn NoticeRepository>, links: PortalLinks) -> Self {
        Self { repository, links }
    }

    pub fn links(&self) -> &PortalLinks {
        &self.links
    }

    /// Records `notice` once per occurrence; `true` when it was new. A failure is logged.
    pub async fn record(&self, notice: &NewNotice) -> bool {
        match self.repository.record_notice(notice).await {
            Ok(recorded) => recorded.is_some(),
            Err(err) => {
                tracing::error!(error = %err, event = notice.event_type.as_str(), occurrence = %notice.occurrence, "could not record a notice");
                false
            }
        }
    }

    /// See [`emit::rotation_notice`].
    pub async fn rotation_ended(
        &self,
        organization: &Organization,
        operation: &Operation,
        active: Option<&StoredCertificate>,
        record: &RenewalRecord,
        at: OffsetDateTime,
    ) {
        let notice =
            emit::rotation_notice(&self.links, organization, operation, active, record, at);
        if let Some(notice) = notice {
            self.record(&notice).await;
        }
    }

    /// See [`emit::connection_notice`].
    pub async fn connection_changed(
        &self,
        before: &Organization,
        after: &Organization,
        certificate: Option<&StoredCertificate>,
        at: OffsetDateTime,
    ) {
        if let Some(notice) = emit::connection_notice(&self.links, before, after, certificate, at) {
            self.record(&notice).await;
        }
    }

    /// See [`emit::backup_notice`].
    pub async fn backup_credential_failed(
        &self,
        organization: &Organization,
        certificate: Option<&StoredCertificate>,
        failure: &BackupCredentialFailure,
        at: OffsetDateTime,
    ) {
        let notice = emit::backup_notice(&self.links, organization, certificate, failure, at);
        self.record(&notice).await;
    }
}
