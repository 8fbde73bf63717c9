//! The Settings → System → SSL Certificate section, as data: pure functions of the stored
//! certificates (with the latest app-only proof of each), the organization and the time.

use crate::model::{CertificateId, CertificateSource, Organization, StoredCertificate};
use crate::proof::{CredentialProof, ProofOutcome, ProofSource};
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
    /// The service holds it, but the application no longer lists it: the latest app-only token
    /// request with it was refused because the key is not registered on the application.
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

    /// From the certificate's dates and what Entra said at its latest proof: "expired" also when
    /// Entra refused the key as expired on the application (its key may end before the
    /// certificate does), "not attached" when Entra said the key is not registered.
    /// `warning`: how long before its end a certificate counts as expiring soon.
    pub fn of(certificate: &StoredCertificate, now: OffsetDateTime, warning: Duration) -> Self {
        let said = certificate.last_proof.as_ref().map(|p| p.outcome);
        if certificate.not_after <= now || said == Some(ProofOutcome::KeyExpired) {
            Self::Expired
        } else if said == Some(ProofOutcome::KeyNotRegistered) {
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
        now: OffsetDateTime,
        warning: Duration,
    ) -> Self {
        Self {
            id: certificate.id,
            subject: certificate.subject.clone(),
            sha1_thumbprint: certificate.sha1_thumbprint.clone(),
            sha256_thumbprint: certificate.sha256_thumbprint.clone(),
            valid_from: certificate.not_before,
            valid_to: certificate.not_after,
            days_left: (certificate.not_after - now).whole_days(),
            source: certificate.source,
            status: CertificateStatus::of(certificate, now, warning),
            active,
        }
    }
}

/// The latest app-only proof of the active certificate, explained for the page.
#[derive(Debug, Clone, Serialize)]
pub struct LastCheck {
    pub outcome: ProofOutcome,
    pub source: ProofSource,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// What the answer means, in a sentence.
    pub explanation: String,
    /// What to do about it; `None` when the certificate works.
    pub remediation: Option<String>,
    /// Entra's message, verbatim, for a refusal.
    pub detail: Option<String>,
}

impl LastCheck {
    fn new(proof: &CredentialProof, certificate: &StoredCertificate, app_id: &str) -> Self {
        let thumbprint = &certificate.sha1_thumbprint;
        let (explanation, remediation) = match proof.outcome {
            ProofOutcome::Accepted => (
                "Entra ID issued an app-only token signed with this certificate.".to_owned(),
                None,
            ),
            ProofOutcome::KeyNotRegistered => (
                format!(
                    "Not attached: tenantlink holds this certificate (SHA-1 {thumbprint}), but the backup application (application id {app_id}) no longer lists it, so Entra ID refused a token with it (AADSTS700027, key not registered on the application). Backups cannot sign in with it."
                ),
                Some(
                    "Use Generate a new certificate (tenantlink attaches the new one to the application), or Upload a custom certificate whose public part is attached to the application in Entra ID. If someone re-attached this certificate in Entra ID, press Check connection again."
                        .to_owned(),
                ),
            ),
            ProofOutcome::KeyExpired => (
                format!(
                    "Entra ID refused a token because the key with thumbprint {thumbprint} is expired on the application."
                ),
                Some(
                    "Use Generate a new certificate, or Upload a custom certificate that is valid and attached to the application."
                        .to_owned(),
                ),
            ),
            ProofOutcome::Refused => (
                "Entra ID refused a token signed with this certificate; its message is below."
                    .to_owned(),
                Some(
                    "If the message is about the certificate, use Generate a new certificate or Upload a custom certificate; otherwise correct what it names and press Check connection again."
                        .to_owned(),
                ),
            ),
        };
        Self {
            outcome: proof.outcome,
            source: proof.source,
            checked_at: proof.checked_at,
            explanation,
            remediation,
            detail: proof.detail.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificatePage {
    pub organization: Organization,
    pub status: CertificateStatus,
    pub active: Option<CertificateView>,
    /// What Entra said at the active certificate's latest app-only proof, and when; `None`
    /// when none is recorded (e.g. activated before proofs were recorded).
    pub last_check: Option<LastCheck>,
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
        let active_certificate = organization
            .active_certificate
            .and_then(|id| certificates.iter().find(|c| c.id == id));
        let active = active_certificate.map(|c| CertificateView::new(c, true, now, warning));
        let last_check = active_certificate.and_then(|c| {
            c.last_proof
                .as_ref()
                .map(|proof| LastCheck::new(proof, c, &organization.app_id))
        });
        let previous = certificates
            .iter()
            .filter(|c| Some(c.id) != organization.active_certificate && c.activated_at.is_some())
            .map(|c| CertificateView::new(c, false, now, warning))
            .collect();
        Self {
            status: active
                .as_ref()
                .map_or(CertificateStatus::None, |a| a.status),
            organization,
            active,
            last_check,
            previous,
        }
    }
}
