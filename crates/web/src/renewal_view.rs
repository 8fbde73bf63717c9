//! What the certificate page and the certificate resource show about renewal beyond the
//! service's `RenewalStatus`: the previous key while it overlaps the new one (a certificate a
//! rotation retired whose key tenantlink has not removed from the application yet) with its
//! planned removal, and what to do about the last failure.
//!
//! INTERIM: [`planned_key_removal`] and [`what_to_do`] stand in for the service's key-removal
//! rule and failure catalogue until those are exposed; they are the only renewal rules in the
//! web layer, and switching over means replacing these two functions.

use crate::AppState;
use tenantlink_service::renewal::{AdministratorReason, RenewalFailure};
use tenantlink_service::{CertificateState, OrganizationId, ServiceResult, StoredCertificate};
use time::{Duration, OffsetDateTime};

/// The overlap grace when the configuration does not set one (`[renewal] overlap_grace_hours`).
pub const DEFAULT_OVERLAP_GRACE: Duration = Duration::hours(72);

/// The previous key of an organization, as shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousKey {
    pub sha1_thumbprint: String,
    pub retired_at: OffsetDateTime,
    /// When tenantlink plans to take the key off the application; `None` when not known.
    pub planned_removal: Option<OffsetDateTime>,
}

/// The organization's most recently retired key that a rotation left on the application.
/// Which keys those are is the repository's answer (`keys_to_remove`); the organization's own
/// certificates are read first so that the fleet-wide list is only read when one of them can
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
    let retired = repository.keys_to_remove().await?;
    let grace = state.settings.overlap_grace;
    Ok(retired
        .into_iter()
        .filter(|c| c.organization == organization)
        .filter_map(|c| shown(&c, grace))
        .max_by_key(|k| k.retired_at))
}

fn shown(certificate: &StoredCertificate, grace: Duration) -> Option<PreviousKey> {
    let retired_at = certificate.retired_at?;
    Some(PreviousKey {
        sha1_thumbprint: certificate.sha1_thumbprint.clone(),
        retired_at,
        planned_removal: Some(planned_key_removal(
            retired_at,
            certificate.not_after,
            grace,
        )),
    })
}

/// INTERIM: when the previous key is due for removal — the overlap grace after it was retired,
/// never later than its own end. The service's rule also waits for the new key's first
/// successful token; its pure function replaces this one.
pub fn planned_key_removal(
    retired_at: OffsetDateTime,
    not_after: OffsetDateTime,
    grace: Duration,
) -> OffsetDateTime {
    retired_at.saturating_add(grace).min(not_after)
}

/// The reason's name, as the API spells it (`active_expired`): its serde name.
pub fn reason_name(reason: AdministratorReason) -> String {
    serde_json::to_value(reason)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// INTERIM: what an administrator should do about the last failed renewal. A failure a retry can
/// help is retried by tenantlink (the renewal state says when); one it cannot help is what
/// `needs_administrator` / `refused_by_directory` explains. The service's failure catalogue
/// (a remediation per Graph code) replaces this function.
pub fn what_to_do(failure: &RenewalFailure) -> &'static str {
    if failure.retryable {
        "Trying again can help: with automatic renewal on, tenantlink retries by itself at the planned time, and an administrator's Rotate now tries at once. If the failures go on, check that this server reaches Microsoft Entra ID and Graph."
    } else {
        AdministratorReason::RefusedByDirectory.explanation()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn removal_is_planned_after_the_grace_but_never_after_the_old_key_ends() {
        let retired = datetime!(2027-01-01 00:00 UTC);
        assert_eq!(
            planned_key_removal(
                retired,
                datetime!(2027-06-01 00:00 UTC),
                DEFAULT_OVERLAP_GRACE
            ),
            datetime!(2027-01-04 00:00 UTC)
        );
        assert_eq!(
            planned_key_removal(
                retired,
                datetime!(2027-01-02 12:00 UTC),
                DEFAULT_OVERLAP_GRACE
            ),
            datetime!(2027-01-02 12:00 UTC),
            "the old key's end comes first"
        );
    }
}
