//! What happened so far in renewing an organization's certificate: stored per organization,
//! beside its [`RenewalPolicy`].

use super::policy::RenewalPolicy;
use time::OffsetDateTime;

/// The policy and the state of one organization, as the repository keeps them. An
/// organization nobody configured has the default policy and an empty state.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenewalRecord {
    pub policy: RenewalPolicy,
    pub state: RenewalState,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RenewalState {
    /// Failed attempts since the last success; 0 after a success.
    pub failed_attempts: u32,
    pub last_attempt_at: Option<OffsetDateTime>,
    pub last_failure: Option<RenewalFailure>,
    /// When the scheduler planned the next renewal, written when it plans; the API and page show
    /// what [`super::renewal_decision`] computes now, not this.
    pub next_renewal_at: Option<OffsetDateTime>,
    /// Graph or Entra asked to wait (`Retry-After`) until then before the next attempt.
    pub retry_not_before: Option<OffsetDateTime>,
}

/// The last failed attempt: Entra's or Graph's code and message, verbatim (never a secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewalFailure {
    pub at: OffsetDateTime,
    /// Graph's error code (`Directory_ResourceSizeExceeded`) or the AADSTS code.
    pub code: String,
    pub message: String,
    /// Whether trying again can help (throttling, an outage); when not (a tenant policy refuses
    /// self-signed certificates, a missing permission), an administrator must act.
    pub retryable: bool,
}
