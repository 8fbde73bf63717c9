//! The notices said at the point of change, as pure functions of what changed: a rotation's
//! end, a connection that broke or came back, a backup run that Entra refused. The hooks in the
//! workflows and the backup runner call [`super::NoticeRecorder`], which builds them here.

use super::event::{EventType, NewNotice, NoticeData};
use super::links::PortalLinks;
use super::payload::{self, days_left, moment_text};
use crate::backup::RunId;
use crate::model::{ConnectionState, Organization, StoredCertificate};
use crate::operation::{Operation, OperationStep};
use crate::renewal::{AdministratorReason, RenewalRecord, next_attempt_after_failure};
use time::OffsetDateTime;

/// Why a backup run failed on the organization's credential, as the runner's report says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupCredentialFailure {
    pub run: RunId,
    /// Entra's or Graph's message, verbatim (with its code).
    pub message: String,
    /// What the failure means, in a sentence.
    pub explanation: String,
    /// What to do about it.
    pub remediation: String,
}

fn data(
    organization: &Organization,
    certificate: Option<&StoredCertificate>,
    at: OffsetDateTime,
    reason: String,
    what_to_do: Option<String>,
    link: String,
) -> NoticeData {
    NoticeData {
        organization: Some(payload::organization(organization)),
        certificate: certificate.map(payload::certificate),
        threshold_days: None,
        days_left: certificate.map(|c| days_left(c.not_after, at)),
        reason,
        what_to_do,
        link,
    }
}

fn notice(
    event_type: EventType,
    occurrence: String,
    organization: &Organization,
    at: OffsetDateTime,
    data: NoticeData,
) -> NewNotice {
    NewNotice {
        occurrence,
        event_type,
        organization: Some(organization.id),
        occurred_at: at,
        data,
        only_webhook: None,
    }
}

/// What a rotation's end says: `rotation.succeeded`, or `rotation.failed` while the renewal
/// state still retries it, or `rotation.needs_administrator` once a retry cannot help.
/// `record` is the renewal state written after the attempt; `active` the organization's active
/// certificate after it (the new one after a success, the one still expiring after a failure).
/// Nothing for an operation still running, or one that lost to a concurrent change (not a
/// failure of renewal: another operation replaced the certificate).
pub fn rotation_notice(
    links: &PortalLinks,
    organization: &Organization,
    operation: &Operation,
    active: Option<&StoredCertificate>,
    record: &RenewalRecord,
    at: OffsetDateTime,
) -> Option<NewNotice> {
    let link = links.certificate(organization.id);
    let name = &organization.name;
    match (operation.step, &operation.failure) {
        (OperationStep::Succeeded, _) => {
            let reason = match active {
                Some(new) => format!(
                    "tenantlink rotated the certificate of {name}: the new certificate {} is active until {}. The old key stays on the application for the overlap, then tenantlink removes it.",
                    new.sha1_thumbprint,
                    moment_text(new.not_after)
                ),
                None => format!("tenantlink rotated the certificate of {name}."),
            };
            let data = data(organization, active, at, reason, None, link);
            Some(notice(
                EventType::RotationSucceeded,
                format!("rotation.succeeded:{}", operation.id),
                organization,
                at,
                data,
            ))
        }
        (OperationStep::Failed, Some(why)) if why.code != "concurrent_change" => {
            let state = &record.state;
            let retryable = state.last_failure.as_ref().is_none_or(|f| f.retryable);
            let reason = format!(
                "Rotation of the certificate of {name} failed: {}: {}",
                why.code, why.message
            );
            let remediation = Some(why.remediation.trim())
                .filter(|r| !r.is_empty())
                .map(str::to_owned);
            let (event_type, what_to_do) = if retryable {
                let backoff = next_attempt_after_failure(state.failed_attempts, at, &record.policy);
                let next = state
                    .retry_not_before
                    .map_or(backoff, |asked| asked.max(backoff));
                let then = remediation
                    .map(|r| format!(" If it keeps failing: {r}"))
                    .unwrap_or_default();
                (
                    EventType::RotationFailed,
                    format!(
                        "Nothing yet: tenantlink tries again at {} (attempt {} failed).{then}",
                        moment_text(next),
                        state.failed_attempts
                    ),
                )
            } else {
                (
                    EventType::RotationNeedsAdministrator,
                    remediation.unwrap_or_else(|| {
                        AdministratorReason::RefusedByDirectory
                            .explanation()
                            .to_owned()
                    }),
                )
            };
            let data = data(organization, active, at, reason, Some(what_to_do), link);
            Some(notice(
                event_type,
                format!("{}:{}", event_type.as_str(), operation.id),
                organization,
                at,
                data,
            ))
        }
        _ => None,
    }
}

/// What a change of the organization's connection state says: `connection.broken` when it
/// became broken (from connected or unknown: a first use that fails is a break too),
/// `connection.restored` when a broken one works again; nothing otherwise.
pub fn connection_notice(
    links: &PortalLinks,
    before: &Organization,
    after: &Organization,
    certificate: Option<&StoredCertificate>,
    at: OffsetDateTime,
) -> Option<NewNotice> {
    let name = &after.name;
    let stamp = at.unix_timestamp_nanos();
    match (before.connection, after.connection) {
        (ConnectionState::Connected | ConnectionState::Unknown, ConnectionState::Broken) => {
            let said = after
                .last_error
                .as_deref()
                .map(|e| format!(": {e}"))
                .unwrap_or_else(|| ".".to_owned());
            let reason = format!("Microsoft Entra ID refused the credential of {name}{said}");
            let what_to_do = "Open the certificate page: when the certificate is expired or no longer attached to the application, generate or upload a certificate while signed in as an administrator of the tenant; when the tenant or application changed, fix it in the Microsoft Entra admin center. Then use Check connection.".to_owned();
            let link = links.certificate(after.id);
            let data = data(after, certificate, at, reason, Some(what_to_do), link);
            Some(notice(
                EventType::ConnectionBroken,
                format!("connection.broken:{}:{stamp}", after.id),
                after,
                at,
                data,
            ))
        }
        (ConnectionState::Broken, ConnectionState::Connected) => {
            let reason = format!(
                "Microsoft Entra ID accepts the credential of {name} again: its backups can run."
            );
            let link = links.organization(after.id);
            let data = data(after, certificate, at, reason, None, link);
            Some(notice(
                EventType::ConnectionRestored,
                format!("connection.restored:{}:{stamp}", after.id),
                after,
                at,
                data,
            ))
        }
        _ => None,
    }
}

/// `backup.credential_failed`, once per failed run.
pub fn backup_notice(
    links: &PortalLinks,
    organization: &Organization,
    certificate: Option<&StoredCertificate>,
    failure: &BackupCredentialFailure,
    at: OffsetDateTime,
) -> NewNotice {
    let reason = format!(
        "A backup run of {} failed because Microsoft Entra ID refused its credential: {} {}",
        organization.name, failure.message, failure.explanation
    );
    let what_to_do = Some(failure.remediation.clone()).filter(|r| !r.trim().is_empty());
    let link = links.organization(organization.id);
    let data = data(
        organization,
        certificate,
        at,
        reason.trim_end().to_owned(),
        what_to_do,
        link,
    );
    notice(
        EventType::BackupCredentialFailed,
        format!("backup.credential_failed:{}", failure.run),
        organization,
        at,
        data,
    )
}

#[cfg(test)]
#[path = "emit_tests.rs"]
mod tests;
