//! The scheduler's rules as pure functions of what is stored and `now`: what to record as the
//! plan, whether Graph asked to wait, the instance's pause, and the order of starts.

use super::MAX_PAUSE;
use crate::model::OrganizationId;
use crate::renewal::{RenewalDecision, RenewalState};
use time::OffsetDateTime;

#[cfg(test)]
#[path = "rules_tests.rs"]
mod tests;

/// A due organization, as far as the order of starts cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DueOrganization {
    pub(super) id: OrganizationId,
    /// The active certificate's end.
    pub(super) expires: OffsetDateTime,
}

/// The `next_renewal_at` to record for `decision`, given the recorded one: the planned time
/// while not due or backing off; once due, the plan that came is kept as recorded (the attempt
/// writes its own outcome); nothing when no renewal is planned (an administrator must act, or
/// automatic renewal is off), so no stale date is shown.
pub(super) fn planned_renewal_at(
    decision: &RenewalDecision,
    recorded: Option<OffsetDateTime>,
) -> Option<OffsetDateTime> {
    match decision {
        RenewalDecision::NotDue { at } => Some(*at),
        RenewalDecision::BackingOff { until } => Some(*until),
        RenewalDecision::Due => recorded,
        RenewalDecision::NeedsAdministrator { .. } | RenewalDecision::Disabled => None,
    }
}

/// Until when Graph asked to wait before the organization's next attempt, if that is ahead.
pub(super) fn retry_wait(state: &RenewalState, now: OffsetDateTime) -> Option<OffsetDateTime> {
    state.retry_not_before.filter(|until| *until > now)
}

/// The instance's pause still in force at `now`.
pub(super) fn pause_in_force(
    paused_until: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    paused_until.filter(|until| *until > now)
}

/// The pause after a rotation settled with `retry_not_before` in its state: the later of the
/// current pause and the one asked, at most [`MAX_PAUSE`] from `now`; one that has passed is
/// none.
pub(super) fn pause_after(
    current: Option<OffsetDateTime>,
    retry_not_before: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    let asked = retry_not_before.map(|until| until.min(now.saturating_add(MAX_PAUSE)));
    pause_in_force(current.max(asked), now)
}

/// The due organizations a pass tries to start, in order: none while paused; otherwise the one
/// whose certificate ends first goes first (ties by id, so every instance agrees), and the pass
/// stops at the first that finds no free slot.
pub(super) fn start_order(mut due: Vec<DueOrganization>, paused: bool) -> Vec<DueOrganization> {
    if paused {
        return Vec::new();
    }
    due.sort_by_key(|d| (d.expires, d.id.0));
    due
}
