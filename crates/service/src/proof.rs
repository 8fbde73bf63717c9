//! The evidence behind "not attached": what Entra answered the last time an app-only token was
//! requested with a certificate — when it was activated, by **Check connection**, or by a backup
//! run. Recorded per certificate, so the certificate page reads it with the certificate itself
//! instead of asking Graph on every view, and says when the answer was given.

use crate::model::{CertificateId, CertificateState, ConnectionState, parse_as_str};
use crate::ports::{CredentialRefusal, DirectoryError, DirectoryErrorKind, RepoResult, Repository};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofOutcome {
    /// A token was issued.
    Accepted,
    /// AADSTS700027, key not found: the application does not list this certificate.
    KeyNotRegistered,
    /// AADSTS700027, key expired: the application lists it, outside its validity.
    KeyExpired,
    /// Refused for another reason; the proof's detail has Entra's text.
    Refused,
}

impl ProofOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::KeyNotRegistered => "key_not_registered",
            Self::KeyExpired => "key_expired",
            Self::Refused => "refused",
        }
    }
}

parse_as_str!(ProofOutcome {
    Accepted,
    KeyNotRegistered,
    KeyExpired,
    Refused
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProofSource {
    Activation,
    ConnectionCheck,
    BackupRun,
}

impl ProofSource {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Activation => "activation",
            Self::ConnectionCheck => "connection_check",
            Self::BackupRun => "backup_run",
        }
    }

    /// How the page names it: "checked … by {label}".
    pub fn label(self) -> &'static str {
        match self {
            Self::Activation => "its activation",
            Self::ConnectionCheck => "Check connection",
            Self::BackupRun => "a backup run",
        }
    }
}

parse_as_str!(ProofSource {
    Activation,
    ConnectionCheck,
    BackupRun
});

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialProof {
    pub outcome: ProofOutcome,
    pub source: ProofSource,
    pub checked_at: OffsetDateTime,
    /// Entra's message for a refusal, verbatim; never a secret.
    pub detail: Option<String>,
}

impl CredentialProof {
    pub fn accepted(source: ProofSource, checked_at: OffsetDateTime) -> Self {
        Self {
            outcome: ProofOutcome::Accepted,
            source,
            checked_at,
            detail: None,
        }
    }

    /// What a refused token request says about the certificate; `None` when it says nothing
    /// (Entra unreachable, throttled), so that nothing is recorded.
    pub fn from_refusal(
        err: &DirectoryError,
        source: ProofSource,
        checked_at: OffsetDateTime,
    ) -> Option<Self> {
        if matches!(
            err.kind,
            DirectoryErrorKind::Unavailable | DirectoryErrorKind::Throttled
        ) {
            return None;
        }
        let outcome = match err.refusal {
            Some(CredentialRefusal::KeyNotRegistered) => ProofOutcome::KeyNotRegistered,
            Some(CredentialRefusal::KeyExpired) => ProofOutcome::KeyExpired,
            Some(CredentialRefusal::Other) | None => ProofOutcome::Refused,
        };
        Some(Self {
            outcome,
            source,
            checked_at,
            detail: Some(err.message.clone()),
        })
    }
}

/// What a proof of the organization's active certificate says about its connection: a token
/// issued means connected; any refusal means broken, with Entra's message.
pub fn connection_after_proof(proof: &CredentialProof) -> (ConnectionState, Option<String>) {
    match proof.outcome {
        ProofOutcome::Accepted => (ConnectionState::Connected, None),
        ProofOutcome::KeyNotRegistered | ProofOutcome::KeyExpired | ProofOutcome::Refused => {
            (ConnectionState::Broken, proof.detail.clone())
        }
    }
}

/// Records `proof` as the certificate's latest and, when the certificate is its organization's
/// active one, sets the organization's connection state from it ([`connection_after_proof`]).
/// Returns `false`, changing nothing, when a later proof was already recorded: an older answer
/// must not overwrite a newer one, for the certificate or for the connection.
pub async fn record_proof(
    repository: &dyn Repository,
    certificate: CertificateId,
    proof: &CredentialProof,
) -> RepoResult<bool> {
    if !repository.record_proof(certificate, proof).await? {
        return Ok(false);
    }
    let stored = repository.certificate(certificate).await?;
    if stored.state == CertificateState::Active {
        let (state, last_error) = connection_after_proof(proof);
        repository
            .set_connection_state(
                stored.organization,
                state,
                last_error.as_deref(),
                proof.checked_at,
            )
            .await?;
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn proof(outcome: ProofOutcome, detail: Option<&str>) -> CredentialProof {
        CredentialProof {
            outcome,
            source: ProofSource::BackupRun,
            checked_at: datetime!(2026-12-01 09:00 UTC),
            detail: detail.map(str::to_owned),
        }
    }

    #[test]
    fn an_issued_token_means_connected_without_an_error() {
        assert_eq!(
            connection_after_proof(&proof(ProofOutcome::Accepted, None)),
            (ConnectionState::Connected, None)
        );
    }

    #[test]
    fn every_refusal_means_broken_with_entras_message() {
        for outcome in [
            ProofOutcome::KeyNotRegistered,
            ProofOutcome::KeyExpired,
            ProofOutcome::Refused,
        ] {
            assert_eq!(
                connection_after_proof(&proof(outcome, Some("AADSTS700027: key not found"))),
                (
                    ConnectionState::Broken,
                    Some("AADSTS700027: key not found".to_owned())
                ),
                "{outcome:?}"
            );
        }
    }

    #[test]
    fn stored_words_parse_back_and_nothing_else_does() {
        for outcome in ProofOutcome::ALL {
            assert_eq!(outcome.as_str().parse::<ProofOutcome>(), Ok(*outcome));
        }
        for source in ProofSource::ALL {
            assert_eq!(source.as_str().parse::<ProofSource>(), Ok(*source));
        }
        assert!("Accepted".parse::<ProofOutcome>().is_err());
        assert!("".parse::<ProofSource>().is_err());
    }
}
