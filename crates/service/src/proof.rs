//! The evidence behind "not attached": what Entra answered the last time an app-only token was
//! requested with a certificate — when it was activated, by **Check connection**, or by a backup
//! run. Recorded per certificate, so the certificate page reads it with the certificate itself
//! instead of asking Graph on every view, and says when the answer was given.

use crate::model::{CertificateId, ConnectionState};
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
        if err.kind == DirectoryErrorKind::Unavailable {
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

/// What a proof says about the organization's connection: a token issued means connected, a
/// refusal broken with Entra's message.
pub fn connection_after_proof(proof: &CredentialProof) -> (ConnectionState, Option<String>) {
    match proof.outcome {
        ProofOutcome::Accepted => (ConnectionState::Connected, None),
        _ => (ConnectionState::Broken, proof.detail.clone()),
    }
}

/// Records `proof` as the certificate's latest and, when the certificate is its organization's
/// active one, applies [`connection_after_proof`] to the organization.
pub async fn record_proof(
    repository: &dyn Repository,
    certificate: CertificateId,
    proof: &CredentialProof,
) -> RepoResult<()> {
    repository.record_proof(certificate, proof).await?;
    let stored = repository.certificate(certificate).await?;
    let organization = repository.organization(stored.organization).await?;
    if organization.active_certificate == Some(certificate) {
        let (state, last_error) = connection_after_proof(proof);
        repository
            .set_connection_state(
                organization.id,
                state,
                last_error.as_deref(),
                proof.checked_at,
            )
            .await?;
    }
    Ok(())
}
