//! The Settings → System → SSL Certificate section, as data: pure functions of the stored
//! certificates, the application's keys (when known) and the time.

use crate::model::{CertificateId, CertificateSource, Organization, StoredCertificate};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// The default warning window: a certificate this close to its end is shown as expiring soon
/// (configurable through [`crate::WorkflowsConfig::expiring_soon_days`]).
pub const EXPIRING_SOON_DAYS: u32 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CertificateStatus {
    Valid,
    ExpiringSoon,
    Expired,
    /// The service holds it, but the application no longer lists it.
    NotAttached,
    None,
}

impl CertificateStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::ExpiringSoon => "expiring_soon",
            Self::Expired => "expired",
            Self::NotAttached => "not_attached",
            Self::None => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Valid => "Valid",
            Self::ExpiringSoon => "Expiring soon",
            Self::Expired => "Expired",
            Self::NotAttached => "Not attached",
            Self::None => "None",
        }
    }

    /// `attached`: whether the application lists the thumbprint; `None` when not checked.
    /// `warning`: how long before its end a certificate counts as expiring soon.
    pub fn of(
        certificate: &StoredCertificate,
        attached: Option<bool>,
        now: OffsetDateTime,
        warning: Duration,
    ) -> Self {
        if certificate.not_after <= now {
            Self::Expired
        } else if attached == Some(false) {
            Self::NotAttached
        } else if certificate.not_after - now <= warning {
            Self::ExpiringSoon
        } else {
            Self::Valid
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateView {
    pub id: CertificateId,
    pub subject: String,
    pub sha1_thumbprint: String,
    pub sha256_thumbprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: OffsetDateTime,
    /// Whole days until it expires; negative once expired.
    pub days_left: i64,
    pub source: CertificateSource,
    pub status: CertificateStatus,
    pub active: bool,
}

impl CertificateView {
    pub fn new(
        certificate: &StoredCertificate,
        active: bool,
        attached: Option<bool>,
        now: OffsetDateTime,
        warning: Duration,
    ) -> Self {
        Self {
            id: certificate.id,
            subject: certificate.subject.clone(),
            sha1_thumbprint: certificate.sha1_hex.clone(),
            sha256_thumbprint: certificate.sha256_hex.clone(),
            valid_from: certificate.not_before,
            valid_to: certificate.not_after,
            days_left: (certificate.not_after - now).whole_days(),
            source: certificate.source,
            status: CertificateStatus::of(certificate, attached, now, warning),
            active,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificatePage {
    pub organization: Organization,
    pub status: CertificateStatus,
    pub active: Option<CertificateView>,
    /// Earlier certificates, newest first (not including pending, never-activated ones).
    pub previous: Vec<CertificateView>,
}

impl CertificatePage {
    pub fn build(
        organization: Organization,
        certificates: &[StoredCertificate],
        now: OffsetDateTime,
        warning: Duration,
    ) -> Self {
        let active = organization.active_certificate.and_then(|id| {
            certificates
                .iter()
                .find(|c| c.id == id)
                .map(|c| CertificateView::new(c, true, None, now, warning))
        });
        let previous = certificates
            .iter()
            .filter(|c| Some(c.id) != organization.active_certificate && c.activated_at.is_some())
            .map(|c| CertificateView::new(c, false, None, now, warning))
            .collect();
        Self {
            status: active
                .as_ref()
                .map_or(CertificateStatus::None, |a| a.status),
            organization,
            active,
            previous,
        }
    }
}
