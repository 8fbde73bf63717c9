//! What the certificate page and the certificate resource show about renewal beyond the
//! service's `RenewalStatus`: the previous key while it overlaps the new one (a certificate a
//! rotation retired whose key tenantlink has not removed from the application yet) with its
//! planned removal, and what to do about the last failure. Both rules are the service's
//! (`planned_key_removal`, the failure catalogue); this file only gathers what they need.

use crate::AppState;
use tenantlink_service::renewal::{AdministratorReason, RenewalFailure, what_to_do_for_recorded};
use tenantlink_service::{
    CertificateState, OrganizationId, ServiceResult, StoredCertificate, planned_key_removal,
};
use time::OffsetDateTime;

/// The previous key of an organization, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousKey {
    pub sha1_thumbprint: String,
    pub retired_at: OffsetDateTime,
    /// When tenantlink plans to take the key off the application; `None` when not known.
    pub planned_removal: Option<OffsetDateTime>,
}

/// The organization's most recently retired key that a rotation left on the application.
/// Which keys those are is the repository's answer (`organization_keys_to_remove`); the
/// organization's own certificates are read first so that it is only asked when one of them can
/// be in it.
pub async fn previous_key(
    state: &AppState,
    organization: OrganizationId,
) -> ServiceResult<Option<PreviousKey>> {
    let repository = state.workflows.repository();
    let own = repository.certificates(organization).await?;
    let may_overlap = own
        .iter()
        .any(|c| c.state == CertificateState::Retired && c.key_removed_at.is_none());
    if !may_overlap {
        return Ok(None);
    }
    let active = own.iter().find(|c| c.state == CertificateState::Active);
    let grace = state.workflows.overlap_grace();
    let retired = repository.organization_keys_to_remove(organization).await?;
    Ok(retired
        .into_iter()
        .filter_map(|c| shown(&c, active, grace))
        .max_by_key(|k| k.retired_at))
}

fn shown(
    certificate: &StoredCertificate,
    active: Option<&StoredCertificate>,
    grace: std::time::Duration,
) -> Option<PreviousKey> {
    Some(PreviousKey {
        sha1_thumbprint: certificate.sha1_thumbprint.clone(),
        retired_at: certificate.retired_at?,
        planned_removal: planned_key_removal(certificate, active, grace),
    })
}

/// The reason's name, as the API spells it (`active_expired`): its serde name.
pub fn reason_name(reason: AdministratorReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// What an administrator should do about the last failed renewal: the catalogue's advice for
/// its recorded code; for a code the catalogue does not know, whether a retry can help.
pub fn what_to_do(failure: &RenewalFailure) -> &'static str {
    match what_to_do_for_recorded(&failure.code) {
        Some(advice) => advice,
        None if failure.retryable => {
            "Trying again can help: with automatic renewal on, tenantlink retries by itself at the planned time, and an administrator's Rotate now tries at once."
        }
        None => AdministratorReason::RefusedByDirectory.explanation(),
    }
}
