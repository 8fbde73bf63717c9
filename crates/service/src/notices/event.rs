//! What happened, as a notice: the event types administrators subscribe to and the payload every
//! channel (webhook, e-mail) carries. The type names follow the dotted `noun.verb` style of the
//! Standard Webhooks examples; they are the stored and the API spelling.

use crate::model::{OrganizationId, parse_as_str};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

crate::model::model_id!(
    /// One recorded notice (an event occurrence): the Standard Webhooks `webhook-id` of every
    /// delivery of it, so a receiver can drop duplicates.
    NoticeId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EventType {
    /// The active certificate is within one of the thresholds (days before its end) and rotation
    /// has not replaced it yet.
    #[serde(rename = "certificate.expiring")]
    CertificateExpiring,
    #[serde(rename = "certificate.expired")]
    CertificateExpired,
    /// Entra refused the active certificate because the application no longer lists it.
    #[serde(rename = "certificate.not_attached")]
    CertificateNotAttached,
    #[serde(rename = "rotation.succeeded")]
    RotationSucceeded,
    /// A rotation attempt failed; it will be retried (see the payload's `reason`).
    #[serde(rename = "rotation.failed")]
    RotationFailed,
    /// Rotation cannot help any more: an administrator must act.
    #[serde(rename = "rotation.needs_administrator")]
    RotationNeedsAdministrator,
    #[serde(rename = "connection.broken")]
    ConnectionBroken,
    #[serde(rename = "connection.restored")]
    ConnectionRestored,
    /// A backup run failed because Entra refused the organization's credential.
    #[serde(rename = "backup.credential_failed")]
    BackupCredentialFailed,
    /// "Send a test event" from the portal or the API.
    #[serde(rename = "tenantlink.test")]
    Test,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CertificateExpiring => "certificate.expiring",
            Self::CertificateExpired => "certificate.expired",
            Self::CertificateNotAttached => "certificate.not_attached",
            Self::RotationSucceeded => "rotation.succeeded",
            Self::RotationFailed => "rotation.failed",
            Self::RotationNeedsAdministrator => "rotation.needs_administrator",
            Self::ConnectionBroken => "connection.broken",
            Self::ConnectionRestored => "connection.restored",
            Self::BackupCredentialFailed => "backup.credential_failed",
            Self::Test => "tenantlink.test",
        }
    }
}

parse_as_str!(EventType {
    CertificateExpiring,
    CertificateExpired,
    CertificateNotAttached,
    RotationSucceeded,
    RotationFailed,
    RotationNeedsAdministrator,
    ConnectionBroken,
    ConnectionRestored,
    BackupCredentialFailed,
    Test,
});

/// The organization a notice is about, as a receiver needs it to act.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeOrganization {
    pub id: OrganizationId,
    pub name: String,
    pub tenant: String,
}

/// The certificate a notice is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeCertificate {
    /// Upper-case hex SHA-1, as Entra shows it.
    pub sha1_thumbprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// The `data` of a notice: the same for every channel. Stored as JSON with the notice, so a
/// delivery after a restart sends exactly what was recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeData {
    /// `None` only for a test event.
    pub organization: Option<NoticeOrganization>,
    pub certificate: Option<NoticeCertificate>,
    /// For `certificate.expiring`: the threshold crossed (days before the end).
    pub threshold_days: Option<u32>,
    /// Whole days until the certificate's end at the moment of the event (negative once expired).
    pub days_left: Option<i64>,
    /// What happened, in a sentence (Entra's or Graph's code and message where there is one).
    pub reason: String,
    /// What to do about it; `None` when nothing is to be done (e.g. rotation succeeded).
    pub what_to_do: Option<String>,
    /// The portal page that fixes it (absolute when a public URL is configured).
    pub link: String,
}

/// A notice to record. `occurrence` names the occurrence: recording the same occurrence twice
/// records it once (e.g. `expiring:<certificate id>:14`), so a pass that runs again after a
/// crash or on another instance sends nothing twice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub occurrence: String,
    pub event_type: EventType,
    pub organization: Option<OrganizationId>,
    pub occurred_at: OffsetDateTime,
    pub data: NoticeData,
    /// Deliver to this webhook endpoint only (the test event); `None`: every subscribed channel.
    pub only_webhook: Option<super::WebhookId>,
}

/// A recorded notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub id: NoticeId,
    pub occurrence: String,
    pub event_type: EventType,
    pub organization: Option<OrganizationId>,
    pub occurred_at: OffsetDateTime,
    pub data: NoticeData,
}

/// The JSON body of a webhook delivery, in the Standard Webhooks shape
/// (`{"type": …, "timestamp": …, "data": …}`).
#[derive(Debug, Clone, Serialize)]
pub struct WebhookBody<'a> {
    #[serde(rename = "type")]
    pub event_type: EventType,
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub data: &'a NoticeData,
}
