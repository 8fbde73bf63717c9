//! The scheduler's pure rules (and its settings' floor) on fixed times. Its passes over a
//! repository are tested in `tests/renewal_scheduler.rs`.

use super::super::RenewalSchedulerConfig;
use super::*;
use crate::renewal::AdministratorReason;
use std::time::Duration as StdDuration;
use time::Duration;
use time::macros::datetime;

const NOW: OffsetDateTime = datetime!(2026-07-01 12:00 UTC);

fn due(id: u128, expires: OffsetDateTime) -> DueOrganization {
    DueOrganization {
        id: OrganizationId(uuid::Uuid::from_u128(id)),
        expires,
    }
}

#[test]
fn the_plan_is_the_decisions_time_while_not_due_or_backing_off() {
    let at = NOW + Duration::days(30);
    assert_eq!(
        planned_renewal_at(&RenewalDecision::NotDue { at }, None),
        Some(at)
    );
    let until = NOW + Duration::minutes(10);
    assert_eq!(
        planned_renewal_at(&RenewalDecision::BackingOff { until }, Some(at)),
        Some(until)
    );
}

#[test]
fn a_due_renewal_keeps_the_plan_it_reached() {
    let reached = NOW - Duration::hours(1);
    assert_eq!(
        planned_renewal_at(&RenewalDecision::Due, Some(reached)),
        Some(reached)
    );
    assert_eq!(planned_renewal_at(&RenewalDecision::Due, None), None);
}

#[test]
fn no_renewal_is_planned_when_an_administrator_must_act_or_renewal_is_off() {
    let stale = Some(NOW + Duration::days(3));
    let needs = RenewalDecision::NeedsAdministrator {
        reason: AdministratorReason::ActiveExpired,
    };
    assert_eq!(planned_renewal_at(&needs, stale), None);
    assert_eq!(planned_renewal_at(&RenewalDecision::Disabled, stale), None);
}

#[test]
fn graph_asked_to_wait_only_while_retry_not_before_is_ahead() {
    let ahead = RenewalState {
        retry_not_before: Some(NOW + Duration::seconds(30)),
        ..RenewalState::default()
    };
    assert_eq!(retry_wait(&ahead, NOW), Some(NOW + Duration::seconds(30)));
    assert_eq!(retry_wait(&ahead, NOW + Duration::seconds(30)), None);
    assert_eq!(retry_wait(&RenewalState::default(), NOW), None);
}

#[test]
fn a_pause_is_in_force_until_its_end() {
    let until = NOW + Duration::seconds(120);
    assert_eq!(pause_in_force(Some(until), NOW), Some(until));
    assert_eq!(pause_in_force(Some(until), until), None);
    assert_eq!(pause_in_force(None, NOW), None);
}

#[test]
fn a_retry_after_extends_the_pause_to_the_later_end() {
    let sooner = NOW + Duration::seconds(60);
    let later = NOW + Duration::seconds(300);
    assert_eq!(pause_after(None, Some(sooner), NOW), Some(sooner));
    assert_eq!(pause_after(Some(later), Some(sooner), NOW), Some(later));
    assert_eq!(pause_after(Some(sooner), Some(later), NOW), Some(later));
    assert_eq!(pause_after(Some(sooner), None, NOW), Some(sooner));
}

#[test]
fn a_retry_after_that_passed_does_not_pause() {
    let passed = NOW - Duration::seconds(1);
    assert_eq!(pause_after(None, Some(passed), NOW), None);
    assert_eq!(pause_after(Some(passed), None, NOW), None);
}

#[test]
fn one_retry_after_pauses_the_instance_for_at_most_an_hour() {
    let days = NOW + Duration::days(3);
    assert_eq!(pause_after(None, Some(days), NOW), Some(NOW + MAX_PAUSE));
}

#[test]
fn the_certificate_that_ends_first_starts_first() {
    let soon = due(9, NOW + Duration::days(1));
    let later = due(1, NOW + Duration::days(20));
    let tie_low = due(2, NOW + Duration::days(5));
    let tie_high = due(3, NOW + Duration::days(5));
    assert_eq!(
        start_order(vec![later, tie_high, soon, tie_low], false),
        vec![soon, tie_low, tie_high, later]
    );
}

#[test]
fn nothing_starts_while_paused() {
    let waiting = vec![due(1, NOW), due(2, NOW)];
    assert_eq!(start_order(waiting, true), Vec::new());
}

#[test]
fn unworkable_settings_are_raised_to_the_least_that_works() {
    let zero = RenewalSchedulerConfig {
        check_every: StdDuration::ZERO,
        max_in_flight: 0,
        lease_for: StdDuration::ZERO,
    };
    assert_eq!(
        zero.at_least_workable(),
        RenewalSchedulerConfig {
            check_every: StdDuration::from_secs(1),
            max_in_flight: 1,
            lease_for: StdDuration::from_secs(1),
        }
    );
    let defaults = RenewalSchedulerConfig::default();
    assert_eq!(defaults.at_least_workable(), defaults);
    assert_eq!(defaults.check_every, StdDuration::from_secs(300));
    assert_eq!(defaults.max_in_flight, 4);
    assert_eq!(defaults.lease_for, StdDuration::from_secs(600));
}
