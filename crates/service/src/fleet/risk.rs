//! How risky one organization is: its [`FleetState`], from the certificate's status
//! ([`CertificateStatus::of`]), the renewal decision ([`crate::renewal::status_at`]) and the
//! connection state — the same rules the certificate page and the renewal scheduler use, so the
//! fleet view never says something the organization's own page does not.

use super::{FleetRecord, LastBackup};
use crate::certificate_page::CertificateStatus;
use crate::error::ServiceError;
use crate::model::{ConnectionState, Organization};
use crate::renewal::{RenewalDecision, RenewalStatus, status_at};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// The risk class of an organization, most urgent first: the declaration order is the order
/// of the fleet view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FleetState {
    /// The active certificate has ended, or Entra refused it as expired: backups have stopped.
    Expired,
    /// Entra said the application no longer lists the active certificate: backups have stopped.
    NotAttached,
    /// Automatic renewal cannot help and backups may not run: no certificate is active, the
    /// last renewal was refused for good, an uploaded certificate is due under `warn_only`, or
    /// Entra refused the credential for another reason (connection broken).
    NeedsAdministrator,
    /// Renewal attempts are failing and being retried; the certificate still works.
    RotationFailing,
    /// The certificate ends within the warning window and nothing above applies.
    Expiring,
    Healthy,
}

impl FleetState {
    /// Every state, in risk order.
    pub const ALL: [Self; 6] = [
        Self::Expired,
        Self::NotAttached,
        Self::NeedsAdministrator,
        Self::RotationFailing,
        Self::Expiring,
        Self::Healthy,
    ];

    /// The state's name in the API and in the page's query string.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotAttached => "not_attached",
            Self::NeedsAdministrator => "needs_administrator",
            Self::RotationFailing => "rotation_failing",
            Self::Expiring => "expiring",
            Self::Healthy => "healthy",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::Expired => "Expired",
            Self::NotAttached => "Not attached",
            Self::NeedsAdministrator => "Needs an administrator",
            Self::RotationFailing => "Rotation failing",
            Self::Expiring => "Expiring",
            Self::Healthy => "Healthy",
        }
    }

    /// Parses a state's API name; anything else is refused naming the field `state`.
    pub fn from_input(text: &str) -> Result<Self, ServiceError> {
        Self::ALL
            .into_iter()
            .find(|state| state.as_str() == text)
            .ok_or_else(|| ServiceError::Invalid {
                field: "state".to_owned(),
                message: format!(
                    "{text:?} is not a fleet state; one of {}",
                    Self::ALL.map(Self::as_str).join(", ")
                ),
            })
    }
}

/// What decides an organization's place in the fleet, without copying the organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assessment {
    pub state: FleetState,
    /// `None` when no certificate is active.
    pub certificate: CertificateStatus,
    pub renewal: RenewalStatus,
}

/// Classifies `record` at `now`; `warning` is the expiring-soon window of the certificate page.
///
/// An organization without an active certificate is [`FleetState::NeedsAdministrator`]: the
/// renewal decision says so (`no_active_certificate`), because only an administrator's Generate
/// or Upload can connect it. It is not "expired" or "not attached" — nothing it had has broken,
/// so it sorts after those that were working and stopped — and never "healthy": no backup can
/// run for it.
pub fn assess(record: &FleetRecord, now: OffsetDateTime, warning: Duration) -> Assessment {
    let certificate = record.active.as_ref().map_or(CertificateStatus::None, |c| {
        CertificateStatus::of(c, now, warning)
    });
    let renewal = status_at(
        record.organization.id,
        &record.renewal,
        record.active.as_slice(),
        now,
    );
    let state = match (certificate, &renewal.decision) {
        (CertificateStatus::Expired, _) => FleetState::Expired,
        (CertificateStatus::NotAttached, _) => FleetState::NotAttached,
        (_, RenewalDecision::NeedsAdministrator { .. }) => FleetState::NeedsAdministrator,
        _ if record.organization.connection == ConnectionState::Broken => {
            FleetState::NeedsAdministrator
        }
        // Failures since the last success, while renewal still runs (off: nothing is retried).
        (_, decision) if renewal.failed_attempts > 0 && *decision != RenewalDecision::Disabled => {
            FleetState::RotationFailing
        }
        (CertificateStatus::ExpiringSoon, _) => FleetState::Expiring,
        _ => FleetState::Healthy,
    };
    Assessment {
        state,
        certificate,
        renewal,
    }
}

/// One row of the fleet view: what an administrator needs to see about the organization.
#[derive(Debug, Clone)]
pub struct FleetRow {
    pub organization: Organization,
    pub state: FleetState,
    pub certificate: CertificateStatus,
    /// The active certificate's end.
    pub valid_to: Option<OffsetDateTime>,
    /// Whole days until the active certificate ends; negative once it has.
    pub days_left: Option<i64>,
    pub renewal: RenewalStatus,
    pub last_backup: Option<LastBackup>,
}

impl FleetRow {
    pub fn of(record: &FleetRecord, now: OffsetDateTime, warning: Duration) -> Self {
        Self::assessed(record, assess(record, now, warning), now)
    }

    pub(super) fn assessed(
        record: &FleetRecord,
        assessment: Assessment,
        now: OffsetDateTime,
    ) -> Self {
        let valid_to = record.active.as_ref().map(|c| c.not_after);
        Self {
            organization: record.organization.clone(),
            state: assessment.state,
            certificate: assessment.certificate,
            valid_to,
            days_left: valid_to.map(|end| (end - now).whole_days()),
            renewal: assessment.renewal,
            last_backup: record.last_backup.clone(),
        }
    }
}
