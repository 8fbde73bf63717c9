//! The chain of small pure functions that decides, from the policy, the stored state and the
//! time, when an organization's certificate is renewed and whether to act now.

use super::policy::{RenewalPolicy, UploadedCertificates};
use super::state::RenewalState;
use crate::model::{CertificateSource, OrganizationId};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

/// When the certificate that runs from `not_before` to `not_after` is due for renewal: at the
/// policy's share of its lifetime, moved earlier by a jitter in `0..=policy.jitter` drawn from
/// `seed` (see [`jitter_seed`]), never before `not_before`. Jitter only moves renewal earlier, so
/// it can never push it past the certificate's end.
pub fn renewal_due_at(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    policy: &RenewalPolicy,
    seed: u64,
) -> OffsetDateTime {
    let lifetime = (not_after - not_before).max(Duration::ZERO);
    let planned = not_before.saturating_add(policy.renew_at.of(lifetime));
    let spread = u64::try_from(policy.jitter.whole_seconds()).unwrap_or(0);
    let offset = match spread.checked_add(1) {
        Some(choices) => seed % choices,
        None => seed,
    };
    let offset = Duration::seconds(i64::try_from(offset).unwrap_or(i64::MAX));
    planned.saturating_sub(offset).max(not_before)
}

/// A stable number from the organization and the certificate's SHA-1 thumbprint: every instance
/// (and every release) computes the same renewal time, while organizations spread out. SHA-256
/// rather than `std`'s hasher, whose output may change between Rust releases.
pub fn jitter_seed(organization: OrganizationId, sha1_thumbprint: &str) -> u64 {
    let mut input = Vec::with_capacity(16 + sha1_thumbprint.len());
    input.extend_from_slice(organization.0.as_bytes());
    input.extend_from_slice(sha1_thumbprint.to_ascii_uppercase().as_bytes());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest.as_ref()[..8]);
    u64::from_be_bytes(first)
}

/// When the next attempt may start after `attempts` failures in a row, the last at
/// `last_failure_at`: `backoff_base` after the first, doubling after each further one, never
/// longer than `backoff_cap`. Overflow of the doubling is the cap, not a panic.
pub fn next_attempt_after_failure(
    attempts: u32,
    last_failure_at: OffsetDateTime,
    policy: &RenewalPolicy,
) -> OffsetDateTime {
    let wait = backoff(attempts, policy);
    last_failure_at.saturating_add(wait)
}

fn backoff(attempts: u32, policy: &RenewalPolicy) -> Duration {
    if attempts == 0 {
        return Duration::ZERO;
    }
    let doublings = attempts - 1;
    let base = policy.backoff_base.whole_seconds();
    let wait = 1i64
        .checked_shl(doublings)
        .filter(|factor| *factor > 0)
        .and_then(|factor| base.checked_mul(factor))
        .map(Duration::seconds);
    match wait {
        Some(wait) if wait <= policy.backoff_cap => wait,
        _ => policy.backoff_cap,
    }
}

/// The organization's active certificate, as far as renewal cares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveCertificate {
    pub source: CertificateSource,
    pub sha1_thumbprint: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// Entra refused it at its latest app-only proof because the application does not list it.
    pub not_attached: bool,
    /// Entra refused it at its latest proof as expired on the application (its key may end
    /// before the certificate does).
    pub refused_as_expired: bool,
}

/// Everything [`renewal_decision`] looks at.
#[derive(Debug, Clone, Copy)]
pub struct RenewalSituation<'a> {
    pub organization: OrganizationId,
    pub policy: &'a RenewalPolicy,
    pub state: &'a RenewalState,
    pub active: Option<&'a ActiveCertificate>,
}

/// What renewal does about an organization now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RenewalDecision {
    /// Nothing to do until `at`.
    NotDue {
        #[serde(with = "time::serde::rfc3339")]
        at: OffsetDateTime,
    },
    /// Renew now.
    Due,
    /// The last attempt failed; the next may start at `until`.
    BackingOff {
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
    },
    /// Automatic renewal cannot help; an administrator must act.
    NeedsAdministrator { reason: AdministratorReason },
    /// The policy turned automatic renewal off.
    Disabled,
}

impl RenewalDecision {
    /// The state's name in the API.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotDue { .. } => "not_due",
            Self::Due => "due",
            Self::BackingOff { .. } => "backing_off",
            Self::NeedsAdministrator { .. } => "needs_administrator",
            Self::Disabled => "disabled",
        }
    }

    /// When the next renewal (or attempt) is planned, if one is.
    pub fn next_renewal_at(&self) -> Option<OffsetDateTime> {
        match self {
            Self::NotDue { at } => Some(*at),
            Self::BackingOff { until } => Some(*until),
            Self::Due | Self::NeedsAdministrator { .. } | Self::Disabled => None,
        }
    }
}

/// Why automatic renewal cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdministratorReason {
    /// No certificate is active: the organization was never connected, or its operation failed.
    NoActiveCertificate,
    /// The active certificate has expired: Graph's addKey needs a valid one to prove possession.
    ActiveExpired,
    /// The application no longer lists the active certificate, so it cannot prove addKey.
    NotAttached,
    /// Renewal is due, and the active certificate was uploaded: the policy says not to replace
    /// a CA-issued certificate with a self-signed one.
    UploadedWarnOnly,
    /// The last attempt was refused for a reason a retry cannot change (its code is in the state).
    RefusedByDirectory,
}

impl AdministratorReason {
    /// What the administrator should do, in a sentence.
    pub fn explanation(self) -> &'static str {
        match self {
            Self::NoActiveCertificate => {
                "No certificate is active. Generate or upload one to connect the organization."
            }
            Self::ActiveExpired => {
                "The active certificate has expired, so tenantlink can no longer add a new key by itself. Generate or upload a certificate while signed in as an administrator of the tenant."
            }
            Self::NotAttached => {
                "The application no longer lists the active certificate, so tenantlink cannot add a new key by itself. Generate or upload a certificate while signed in as an administrator of the tenant."
            }
            Self::UploadedWarnOnly => {
                "The active certificate was uploaded and renewal is due. Upload its CA-issued successor, or let tenantlink replace it with a generated certificate (renewal policy: uploaded = rotate)."
            }
            Self::RefusedByDirectory => {
                "Microsoft refused the last renewal for a reason that trying again will not change; see the last failure. Fix its cause, then generate or upload a certificate."
            }
        }
    }
}

/// Decides, in this order: an organization without a usable active certificate needs an
/// administrator (no active one, expired, not attached) — even with automatic renewal off,
/// because that is what the administrator must hear; then automatic off is `Disabled`; a
/// last failure that a retry cannot help needs one; before the due time `NotDue`; a due uploaded
/// certificate under `warn_only` needs an administrator; after a failure, `BackingOff` until
/// the backoff and any `Retry-After` have passed; else `Due`.
pub fn renewal_decision(situation: RenewalSituation<'_>, now: OffsetDateTime) -> RenewalDecision {
    let needs = |reason| RenewalDecision::NeedsAdministrator { reason };
    let Some(active) = situation.active else {
        return needs(AdministratorReason::NoActiveCertificate);
    };
    if active.not_after <= now || active.refused_as_expired {
        return needs(AdministratorReason::ActiveExpired);
    }
    if active.not_attached {
        return needs(AdministratorReason::NotAttached);
    }
    let policy = situation.policy;
    if !policy.automatic {
        return RenewalDecision::Disabled;
    }
    let state = situation.state;
    let last_failure = state
        .last_failure
        .as_ref()
        .filter(|_| state.failed_attempts > 0);
    // A refusal a retry cannot change is the administrator's to hear at once, also when it
    // answered a Rotate now before renewal was due.
    if last_failure.is_some_and(|failure| !failure.retryable) {
        return needs(AdministratorReason::RefusedByDirectory);
    }
    let seed = jitter_seed(situation.organization, &active.sha1_thumbprint);
    let due_at = renewal_due_at(active.not_before, active.not_after, policy, seed);
    if now < due_at {
        return RenewalDecision::NotDue { at: due_at };
    }
    if active.source == CertificateSource::Uploaded
        && policy.uploaded == UploadedCertificates::WarnOnly
    {
        return needs(AdministratorReason::UploadedWarnOnly);
    }
    if let Some(failure) = last_failure {
        let backoff = next_attempt_after_failure(state.failed_attempts, failure.at, policy);
        // Graph's `Retry-After` may ask for longer than the backoff; the later of both holds.
        let until = state
            .retry_not_before
            .map_or(backoff, |asked| asked.max(backoff));
        if now < until {
            return RenewalDecision::BackingOff { until };
        }
    }
    RenewalDecision::Due
}
