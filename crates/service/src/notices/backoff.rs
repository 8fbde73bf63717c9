//! When a delivery that failed is tried again: a fixed schedule growing over hours, then the
//! dispatcher gives up. Fixed rather than a formula so the log, the docs and the tests name the
//! same moments: a receiver down for a deploy (minutes) or a night (hours) still gets it, and one
//! down for a day is not hammered for ever (a give-up counts toward marking it failing).

use super::ports::AttemptNext;
use time::{Duration, OffsetDateTime};

/// The waits after the 1st, 2nd, … failed attempt: 1 min, 5 min, 30 min, 2 h, 6 h, 12 h. Seven
/// attempts in all, the last about 20 h 36 min after the first; after the seventh fails the
/// delivery is given up.
pub const RETRY_SCHEDULE: [Duration; 6] = [
    Duration::minutes(1),
    Duration::minutes(5),
    Duration::minutes(30),
    Duration::hours(2),
    Duration::hours(6),
    Duration::hours(12),
];

/// Attempts a delivery gets before it is given up.
pub const MAX_ATTEMPTS: u32 = RETRY_SCHEDULE.len() as u32 + 1;

/// What follows a failed attempt at `now` of a delivery that had `attempts_before` attempts
/// before this one.
pub fn after_failure(attempts_before: u32, now: OffsetDateTime) -> AttemptNext {
    match RETRY_SCHEDULE.get(attempts_before as usize) {
        Some(wait) => AttemptNext::RetryAt(now + *wait),
        None => AttemptNext::GiveUp,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn retries_follow_the_schedule_then_give_up_after_the_seventh_attempt() {
        let now = datetime!(2026-12-01 10:00 UTC);
        let waits: Vec<AttemptNext> = (0..MAX_ATTEMPTS).map(|n| after_failure(n, now)).collect();
        assert_eq!(
            waits,
            [
                AttemptNext::RetryAt(now + Duration::minutes(1)),
                AttemptNext::RetryAt(now + Duration::minutes(5)),
                AttemptNext::RetryAt(now + Duration::minutes(30)),
                AttemptNext::RetryAt(now + Duration::hours(2)),
                AttemptNext::RetryAt(now + Duration::hours(6)),
                AttemptNext::RetryAt(now + Duration::hours(12)),
                AttemptNext::GiveUp,
            ]
        );
        assert_eq!(after_failure(u32::MAX, now), AttemptNext::GiveUp);
        let total: Duration = RETRY_SCHEDULE.iter().copied().sum();
        assert_eq!(total, Duration::minutes(20 * 60 + 36));
    }
}
