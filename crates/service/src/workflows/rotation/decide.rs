//! The small decisions of a rotation, as pure functions: whether it may start, how long to wait
//! for an added key to show up, and what the renewal state becomes after an attempt.

use super::super::ProofPolicy;
use crate::ports::DirectoryError;
use crate::renewal::{
    AdministratorReason, RenewalDecision, RenewalFailure, RenewalState, catalogue_entry,
};
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

/// Why a rotation does not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// addKey is impossible: only Generate or Upload (with a sign-in) can help.
    CannotHelp(AdministratorReason),
    /// The scheduler's start of a rotation that is not due (or that an administrator must
    /// decide on): the decision's state word.
    NotDue(&'static str),
    /// Graph asked to wait (`Retry-After`) until then.
    RetryNotBefore(OffsetDateTime),
}

/// Whether an administrator's "Rotate now" may start. Only what makes addKey impossible stops
/// it: they may rotate before renewal is due, after a refusal, with automatic renewal off, and
/// an uploaded certificate too (clicking the button is the consent `warn_only` waits for).
pub(super) fn manual_refusal(decision: &RenewalDecision) -> Option<Refusal> {
    match decision {
        RenewalDecision::NeedsAdministrator { reason } if cannot_add_key(*reason) => {
            Some(Refusal::CannotHelp(*reason))
        }
        _ => None,
    }
}

/// Whether the scheduler may start a rotation: only a `Due` decision, and not before the time
/// Graph last asked to wait until.
pub(super) fn scheduled_refusal(
    decision: &RenewalDecision,
    state: &RenewalState,
    now: OffsetDateTime,
) -> Option<Refusal> {
    match decision {
        RenewalDecision::NeedsAdministrator { reason } if cannot_add_key(*reason) => {
            Some(Refusal::CannotHelp(*reason))
        }
        RenewalDecision::Due => state
            .retry_not_before
            .filter(|until| now < *until)
            .map(Refusal::RetryNotBefore),
        other => Some(Refusal::NotDue(other.as_str())),
    }
}

/// The reasons that make addKey itself impossible (it needs a valid key of the application to
/// sign its proof), as opposed to reasons that only ask for an administrator's consent.
fn cannot_add_key(reason: AdministratorReason) -> bool {
    matches!(
        reason,
        AdministratorReason::NoActiveCertificate
            | AdministratorReason::ActiveExpired
            | AdministratorReason::NotAttached
    )
}

/// How long to wait before reading the application again to find an added key, after `attempt`
/// reads did not list it; `None` when the reads are used up. Graph's reads follow its writes
/// with a delay like Entra's token endpoint does, so the proof's backoff serves here too.
pub(super) fn listing_retry_delay(policy: &ProofPolicy, attempt: u32) -> Option<StdDuration> {
    if attempt >= policy.attempts {
        return None;
    }
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    Some(
        policy
            .first_delay
            .saturating_mul(factor)
            .min(policy.max_delay),
    )
}

/// The renewal state after a rotation activated its certificate at `now`.
pub(super) fn state_after_success(state: &RenewalState, now: OffsetDateTime) -> RenewalState {
    RenewalState {
        failed_attempts: 0,
        last_attempt_at: Some(now),
        last_failure: None,
        retry_not_before: None,
        ..state.clone()
    }
}

/// A failed attempt as the renewal state records it: the operation's code and message when the
/// failure was tenantlink's own, Graph's or Entra's (code, verbatim message) when it answered.
#[derive(Debug, Clone, Copy)]
pub(super) struct AttemptFailure<'a> {
    pub code: &'a str,
    pub message: &'a str,
    pub cause: Option<&'a DirectoryError>,
}

/// The renewal state after a failed attempt at `now`: one more failure, the catalogue's word on
/// whether a retry can help (a failure of tenantlink's own is retried), and Graph's
/// `Retry-After` as the earliest next attempt.
pub(super) fn state_after_failure(
    state: &RenewalState,
    failed: AttemptFailure<'_>,
    now: OffsetDateTime,
) -> RenewalState {
    let failed_attempts = state.failed_attempts.saturating_add(1);
    let (code, message, retryable, retry_after) = match failed.cause {
        Some(err) => (
            err.code
                .clone()
                .unwrap_or_else(|| crate::renewal::kind_word(err.kind).to_owned()),
            err.message.clone(),
            catalogue_entry(err).retryable_after(failed_attempts),
            err.retry_after,
        ),
        None => (
            failed.code.to_owned(),
            failed.message.to_owned(),
            true,
            None,
        ),
    };
    RenewalState {
        failed_attempts,
        last_attempt_at: Some(now),
        last_failure: Some(RenewalFailure {
            at: now,
            code,
            message,
            retryable,
        }),
        retry_not_before: retry_after
            .map(|wait| now.saturating_add(Duration::try_from(wait).unwrap_or(Duration::MAX))),
        ..state.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::DirectoryErrorKind;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-06-01 10:00 UTC);

    fn needs(reason: AdministratorReason) -> RenewalDecision {
        RenewalDecision::NeedsAdministrator { reason }
    }

    #[test]
    fn an_administrator_may_rotate_unless_add_key_is_impossible() {
        for reason in [
            AdministratorReason::NoActiveCertificate,
            AdministratorReason::ActiveExpired,
            AdministratorReason::NotAttached,
        ] {
            assert_eq!(
                manual_refusal(&needs(reason)),
                Some(Refusal::CannotHelp(reason))
            );
        }
        for decision in [
            RenewalDecision::Due,
            RenewalDecision::Disabled,
            RenewalDecision::NotDue { at: NOW },
            RenewalDecision::BackingOff { until: NOW },
            needs(AdministratorReason::UploadedWarnOnly),
            needs(AdministratorReason::RefusedByDirectory),
        ] {
            assert_eq!(manual_refusal(&decision), None, "{decision:?}");
        }
    }

    #[test]
    fn the_scheduler_rotates_only_what_is_due_and_after_retry_after() {
        let state = RenewalState::default();
        assert_eq!(scheduled_refusal(&RenewalDecision::Due, &state, NOW), None);
        for decision in [
            RenewalDecision::Disabled,
            RenewalDecision::NotDue { at: NOW },
            RenewalDecision::BackingOff { until: NOW },
            needs(AdministratorReason::UploadedWarnOnly),
            needs(AdministratorReason::RefusedByDirectory),
        ] {
            assert_eq!(
                scheduled_refusal(&decision, &state, NOW),
                Some(Refusal::NotDue(decision.as_str()))
            );
        }
        assert_eq!(
            scheduled_refusal(&needs(AdministratorReason::ActiveExpired), &state, NOW),
            Some(Refusal::CannotHelp(AdministratorReason::ActiveExpired))
        );
        let asked_to_wait = RenewalState {
            retry_not_before: Some(NOW + Duration::seconds(30)),
            ..RenewalState::default()
        };
        assert_eq!(
            scheduled_refusal(&RenewalDecision::Due, &asked_to_wait, NOW),
            Some(Refusal::RetryNotBefore(NOW + Duration::seconds(30)))
        );
        assert_eq!(
            scheduled_refusal(
                &RenewalDecision::Due,
                &asked_to_wait,
                NOW + Duration::seconds(30)
            ),
            None
        );
    }

    #[test]
    fn listing_waits_back_off_and_end() {
        let policy = ProofPolicy::default();
        assert_eq!(
            listing_retry_delay(&policy, 1),
            Some(StdDuration::from_secs(2))
        );
        assert_eq!(
            listing_retry_delay(&policy, 2),
            Some(StdDuration::from_secs(4))
        );
        assert_eq!(
            listing_retry_delay(&policy, 6),
            Some(StdDuration::from_secs(20))
        );
        assert_eq!(listing_retry_delay(&policy, policy.attempts), None);
    }

    #[test]
    fn a_success_clears_the_failures_and_keeps_the_plan() {
        let failing = RenewalState {
            failed_attempts: 3,
            last_attempt_at: Some(NOW - Duration::hours(1)),
            last_failure: Some(RenewalFailure {
                at: NOW - Duration::hours(1),
                code: "directory_unavailable".into(),
                message: "down".into(),
                retryable: true,
            }),
            next_renewal_at: Some(NOW),
            retry_not_before: Some(NOW + Duration::minutes(1)),
        };
        assert_eq!(
            state_after_success(&failing, NOW),
            RenewalState {
                failed_attempts: 0,
                last_attempt_at: Some(NOW),
                last_failure: None,
                next_renewal_at: Some(NOW),
                retry_not_before: None,
            }
        );
    }

    #[test]
    fn a_throttled_attempt_records_graphs_code_message_and_retry_after() {
        let err = DirectoryError::new(
            DirectoryErrorKind::Throttled,
            Some("TooManyRequests".into()),
            "Too many requests.",
            "wait",
        )
        .with_retry_after(StdDuration::from_secs(120));
        let after = state_after_failure(
            &RenewalState::default(),
            AttemptFailure {
                code: "directory_throttled:TooManyRequests",
                message: "Graph refused addKey: Too many requests.",
                cause: Some(&err),
            },
            NOW,
        );
        assert_eq!(after.failed_attempts, 1);
        assert_eq!(after.retry_not_before, Some(NOW + Duration::minutes(2)));
        assert_eq!(
            after.last_failure,
            Some(RenewalFailure {
                at: NOW,
                code: "TooManyRequests".into(),
                message: "Too many requests.".into(),
                retryable: true,
            })
        );
    }

    #[test]
    fn a_policy_refusal_is_recorded_as_not_retryable_under_its_kind_word() {
        let err = DirectoryError::new(
            DirectoryErrorKind::PolicyRejected,
            None,
            "Key lifetime exceeds the policy.",
            "",
        );
        let before = RenewalState {
            failed_attempts: 1,
            retry_not_before: Some(NOW),
            ..RenewalState::default()
        };
        let after = state_after_failure(
            &before,
            AttemptFailure {
                code: "policy_rejected",
                message: "ignored",
                cause: Some(&err),
            },
            NOW,
        );
        let failure = after.last_failure.unwrap();
        assert_eq!(after.failed_attempts, 2);
        assert_eq!(
            (failure.code.as_str(), failure.retryable),
            ("policy_rejected", false)
        );
        assert_eq!(after.retry_not_before, None);
    }

    #[test]
    fn a_refused_new_key_stops_being_retryable_after_a_few_attempts() {
        let err = DirectoryError::new(
            DirectoryErrorKind::CredentialRejected,
            Some("AADSTS700027".into()),
            "Key not found.",
            "",
        );
        let mut state = RenewalState::default();
        let mut retryable = Vec::new();
        for _ in 0..crate::renewal::CREDENTIAL_REJECTED_ATTEMPTS {
            let failed = AttemptFailure {
                code: "token_refused",
                message: "",
                cause: Some(&err),
            };
            state = state_after_failure(&state, failed, NOW);
            retryable.push(state.last_failure.as_ref().unwrap().retryable);
        }
        assert_eq!(retryable, [true, true, false]);
    }

    #[test]
    fn a_failure_of_tenantlinks_own_is_retried_with_its_own_code() {
        let after = state_after_failure(
            &RenewalState::default(),
            AttemptFailure {
                code: "key_not_listed",
                message: "The application did not list the new key.",
                cause: None,
            },
            NOW,
        );
        let failure = after.last_failure.unwrap();
        assert_eq!(failure.code, "key_not_listed");
        assert!(failure.retryable);
    }
}
