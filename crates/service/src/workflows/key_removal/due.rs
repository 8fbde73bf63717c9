//! When a rotated-out key may come off the application: a pure function of the two certificates,
//! the overlap grace and `now`. The overlap protects whatever still signs with the old key (a
//! backup run that loaded it a moment ago, another instance) while the new one propagates and is
//! shown to work; it never outlasts the old key itself, which Entra stops accepting then anyway.

use crate::model::StoredCertificate;
use crate::proof::ProofOutcome;
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

/// Three days: long enough for every backup policy that runs daily to have run with the new key.
pub const DEFAULT_OVERLAP_GRACE: StdDuration = StdDuration::from_secs(72 * 3600);

/// What the sweep does with one retired key now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRemoval {
    /// Take it off the application now.
    Due,
    /// Leave it until `planned` (when known: an unproven successor gives only the old key's end).
    Waiting { planned: Option<OffsetDateTime> },
    /// Already taken off (or found gone); nothing to do.
    Removed,
}

/// When `retired`'s key is planned to come off the application: `overlap_grace` after it was
/// retired, once the `active` certificate has carried a successful token request; otherwise,
/// and never later than, the old certificate's own end. `None` once it was removed.
pub fn planned_key_removal(
    retired: &StoredCertificate,
    active: Option<&StoredCertificate>,
    overlap_grace: StdDuration,
) -> Option<OffsetDateTime> {
    if retired.key_removed_at.is_some() {
        return None;
    }
    let end = retired.not_after;
    let successor_proven = active.is_some_and(|active| {
        active.id != retired.id
            && active
                .last_proof
                .as_ref()
                .is_some_and(|proof| proof.outcome == ProofOutcome::Accepted)
    });
    let after_grace = retired
        .retired_at
        .filter(|_| successor_proven)
        .map(|at| at.saturating_add(Duration::try_from(overlap_grace).unwrap_or(Duration::MAX)));
    Some(after_grace.map_or(end, |at| at.min(end)))
}

/// Whether the sweep removes `retired`'s key at `now` ([`planned_key_removal`] reached).
pub fn key_removal(
    retired: &StoredCertificate,
    active: Option<&StoredCertificate>,
    overlap_grace: StdDuration,
    now: OffsetDateTime,
) -> KeyRemoval {
    match planned_key_removal(retired, active, overlap_grace) {
        None => KeyRemoval::Removed,
        Some(at) if at <= now => KeyRemoval::Due,
        Some(at) => KeyRemoval::Waiting { planned: Some(at) },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{CertificateId, CertificateSource, CertificateState, OrganizationId};
    use crate::proof::{CredentialProof, ProofSource};
    use time::macros::datetime;

    const ROTATED: OffsetDateTime = datetime!(2026-06-01 10:00 UTC);
    const OLD_END: OffsetDateTime = datetime!(2026-09-01 10:00 UTC);
    const GRACE: StdDuration = DEFAULT_OVERLAP_GRACE;

    fn certificate(state: CertificateState) -> StoredCertificate {
        StoredCertificate {
            id: CertificateId::new(),
            organization: OrganizationId::new(),
            source: CertificateSource::Generated,
            subject: "CN=tenantlink Contoso".into(),
            sha1_thumbprint: "AB".repeat(20),
            sha256_thumbprint: "CD".repeat(32),
            not_before: datetime!(2025-09-01 10:00 UTC),
            not_after: OLD_END,
            der: Vec::new(),
            state,
            created_at: datetime!(2025-09-01 10:00 UTC),
            activated_at: None,
            retired_at: None,
            key_removed_at: None,
            last_proof: None,
        }
    }

    fn retired() -> StoredCertificate {
        StoredCertificate {
            retired_at: Some(ROTATED),
            ..certificate(CertificateState::Retired)
        }
    }

    fn active(outcome: Option<ProofOutcome>) -> StoredCertificate {
        StoredCertificate {
            not_after: datetime!(2027-06-01 10:00 UTC),
            activated_at: Some(ROTATED),
            last_proof: outcome.map(|outcome| CredentialProof {
                outcome,
                source: ProofSource::Activation,
                checked_at: ROTATED,
                detail: None,
            }),
            ..certificate(CertificateState::Active)
        }
    }

    #[test]
    fn a_proven_successor_lets_the_old_key_go_once_the_grace_has_passed() {
        let (old, new) = (retired(), active(Some(ProofOutcome::Accepted)));
        let planned = ROTATED + Duration::hours(72);
        assert_eq!(planned_key_removal(&old, Some(&new), GRACE), Some(planned));
        assert_eq!(
            key_removal(&old, Some(&new), GRACE, planned - Duration::seconds(1)),
            KeyRemoval::Waiting {
                planned: Some(planned)
            }
        );
        assert_eq!(
            key_removal(&old, Some(&new), GRACE, planned),
            KeyRemoval::Due
        );
    }

    #[test]
    fn an_unproven_successor_keeps_the_old_key_until_its_own_end() {
        let old = retired();
        for new in [
            None,
            Some(active(None)),
            Some(active(Some(ProofOutcome::KeyNotRegistered))),
            Some(active(Some(ProofOutcome::Refused))),
        ] {
            let later = ROTATED + Duration::days(30);
            assert_eq!(
                key_removal(&old, new.as_ref(), GRACE, later),
                KeyRemoval::Waiting {
                    planned: Some(OLD_END)
                },
                "{:?}",
                new.map(|n| n.last_proof)
            );
            assert_eq!(
                key_removal(&old, new.as_ref(), GRACE, OLD_END),
                KeyRemoval::Due
            );
        }
    }

    #[test]
    fn the_grace_never_outlasts_the_old_key() {
        let old = StoredCertificate {
            not_after: ROTATED + Duration::hours(10),
            ..retired()
        };
        let new = active(Some(ProofOutcome::Accepted));
        assert_eq!(
            planned_key_removal(&old, Some(&new), GRACE),
            Some(ROTATED + Duration::hours(10))
        );
    }

    #[test]
    fn a_removed_key_is_never_due_again() {
        let old = StoredCertificate {
            key_removed_at: Some(ROTATED + Duration::days(3)),
            ..retired()
        };
        let new = active(Some(ProofOutcome::Accepted));
        assert_eq!(planned_key_removal(&old, Some(&new), GRACE), None);
        assert_eq!(
            key_removal(&old, Some(&new), GRACE, OLD_END + Duration::days(1)),
            KeyRemoval::Removed
        );
    }

    #[test]
    fn a_certificate_is_never_its_own_proven_successor() {
        let old = StoredCertificate {
            last_proof: active(Some(ProofOutcome::Accepted)).last_proof,
            ..retired()
        };
        assert_eq!(planned_key_removal(&old, Some(&old), GRACE), Some(OLD_END));
    }

    #[test]
    fn a_grace_too_long_to_represent_waits_for_the_old_keys_end() {
        let (old, new) = (retired(), active(Some(ProofOutcome::Accepted)));
        assert_eq!(
            planned_key_removal(&old, Some(&new), StdDuration::MAX),
            Some(OLD_END)
        );
    }
}
