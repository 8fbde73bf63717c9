//! What a finished run says about the organization's credential, as proofs for the service's
//! rule (`tenantlink_service::connection_after_proof`, `record_proof`): a pure decision over the
//! run's failure, whether it authenticated, and the injected `now`.

use tenantlink_entra::{KeyRejectionReason, parse_key_rejection};
use tenantlink_service::{CredentialProof, ProofOutcome, ProofSource};

use crate::report::{FailureStage, RunFailure};

/// What a run says about the credential: the proof that decides the organization's connection
/// and the proof kept on the certificate it signed with (`None`: the run says nothing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub connection: Option<CredentialProof>,
    pub certificate: Option<CredentialProof>,
}

/// A credential failure is a refusal (any stage breaks the connection; only the authentication
/// stage's is about the certificate); a run that authenticated is an acceptance; any other
/// failure says nothing about the credential.
pub(crate) fn verdict(
    failure: Option<&RunFailure>,
    authenticated: bool,
    now: time::OffsetDateTime,
) -> Verdict {
    let accepted = || CredentialProof::accepted(ProofSource::BackupRun, now);
    let (connection, certificate) = match failure {
        Some(f) if f.credential_problem && f.stage == FailureStage::Authentication => {
            (Some(refusal(f, now)), Some(refusal(f, now)))
        }
        Some(f) if f.credential_problem => (Some(refusal(f, now)), authenticated.then(accepted)),
        _ if authenticated => (Some(accepted()), Some(accepted())),
        _ => (None, None),
    };
    Verdict {
        connection,
        certificate,
    }
}

/// A credential failure as a refused proof: AADSTS700027's reason when Entra gave one, and the
/// failure's message verbatim.
fn refusal(failure: &RunFailure, now: time::OffsetDateTime) -> CredentialProof {
    let outcome = if failure.stage == FailureStage::Authentication {
        proof_outcome(failure)
    } else {
        ProofOutcome::Refused
    };
    CredentialProof {
        outcome,
        source: ProofSource::BackupRun,
        checked_at: now,
        detail: Some(failure.message.clone()),
    }
}

/// AADSTS700027's reason, read by the entra crate's parser of Entra's text.
fn proof_outcome(failure: &RunFailure) -> ProofOutcome {
    if failure.code.as_deref() != Some("AADSTS700027") {
        return ProofOutcome::Refused;
    }
    match parse_key_rejection(&failure.message).reason {
        KeyRejectionReason::KeyNotFound => ProofOutcome::KeyNotRegistered,
        KeyRejectionReason::KeyExpired => ProofOutcome::KeyExpired,
        _ => ProofOutcome::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantlink_entra::{EntraError, Error as EntraClientError};
    use tenantlink_service::OrganizationId;
    use tenantlink_service::connection_after_proof;
    use time::macros::datetime;

    const NOW: time::OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

    fn org() -> OrganizationId {
        "00000000-0000-4000-8000-000000000003".parse().unwrap()
    }

    fn expired_key() -> RunFailure {
        let body = serde_json::json!({
            "error": "invalid_client",
            "error_description": "AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: 'ABC123']",
            "error_codes": [700027],
        });
        let error: EntraClientError = EntraError::parse(401, body.to_string().as_bytes())
            .unwrap()
            .into();
        RunFailure::from_client_error(FailureStage::Authentication, org(), &error)
    }

    fn accepted() -> Option<CredentialProof> {
        Some(CredentialProof::accepted(ProofSource::BackupRun, NOW))
    }

    #[test]
    fn a_run_that_authenticated_proves_the_certificate_and_mends_the_connection() {
        let both = Verdict {
            connection: accepted(),
            certificate: accepted(),
        };
        assert_eq!(verdict(None, true, NOW), both);
        // A storage failure after authenticating says nothing against the credential.
        let storage = RunFailure::storage("index a page of messages", &std::fmt::Error);
        assert_eq!(verdict(Some(&storage), true, NOW), both);
    }

    #[test]
    fn a_refused_token_request_is_the_certificates_refusal_with_entras_reason() {
        let failure = expired_key();
        let v = verdict(Some(&failure), false, NOW);
        let proof = v.connection.clone().expect("the connection breaks");
        assert_eq!(proof.outcome, ProofOutcome::KeyExpired);
        assert_eq!(proof.source, ProofSource::BackupRun);
        assert_eq!(proof.checked_at, NOW);
        assert_eq!(proof.detail.as_deref(), Some(failure.message.as_str()));
        assert_eq!(v.certificate, v.connection);
        let (state, last_error) = connection_after_proof(&proof);
        assert_eq!(state, tenantlink_service::ConnectionState::Broken);
        assert!(last_error.unwrap().contains("AADSTS700027"));
    }

    #[test]
    fn a_credential_failure_elsewhere_breaks_the_connection_but_not_the_certificates_proof() {
        // No certificate to sign with: broken, and no certificate to keep a proof on.
        let none = RunFailure::no_certificate(org());
        let v = verdict(Some(&none), false, NOW);
        assert_eq!(v.connection.unwrap().outcome, ProofOutcome::Refused);
        assert_eq!(v.certificate, None);
        // Refused after authenticating (e.g. mail access): the certificate was accepted.
        let refused_later = RunFailure {
            stage: FailureStage::ListingUsers,
            ..expired_key()
        };
        let v = verdict(Some(&refused_later), true, NOW);
        assert_eq!(v.connection.unwrap().outcome, ProofOutcome::Refused);
        assert_eq!(v.certificate, accepted());
    }

    #[test]
    fn a_configuration_gap_says_nothing_about_the_credential() {
        let gap = RunFailure::cloud_unavailable(tenantlink_service::Cloud::Sandbox);
        assert_eq!(
            verdict(Some(&gap), false, NOW),
            Verdict {
                connection: None,
                certificate: None
            }
        );
    }
}
