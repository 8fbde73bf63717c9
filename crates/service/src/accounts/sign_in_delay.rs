//! The wait a (user name, client address) pair owes after wrong passwords: a pure function of the
//! pair's failure count, its last failure and now, so it is tested without a database or a clock.
//!
//! Why per pair and not per user name: a lockout by name alone lets anyone keep `admin` locked by
//! guessing now and then. Keyed by the pair, a stranger's guesses slow down only that stranger;
//! the administrator signing in from their own address owes nothing.

use time::{Duration, OffsetDateTime};

/// The delay schedule of sign-ins: `free_failures` wrong passwords in a row cost nothing (typos);
/// after that the pair waits `first_delay`, doubling with each further failure up to `max_delay`.
/// A pair whose last failure is `forget_after` old starts again from nothing (and its record is
/// pruned).
#[derive(Debug, Clone, Copy)]
pub struct LoginThrottle {
    pub free_failures: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
    pub forget_after: Duration,
}

impl Default for LoginThrottle {
    /// 3 free tries, then 1 s, 2 s, 4 s … up to 15 minutes: about 100 guesses a day for one name
    /// from one address, while a person who mistypes three times waits one second.
    fn default() -> Self {
        Self {
            free_failures: 3,
            first_delay: Duration::seconds(1),
            max_delay: Duration::minutes(15),
            forget_after: Duration::hours(24),
        }
    }
}

impl LoginThrottle {
    /// The wait that follows the `failures`-th failure of a pair.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let Some(doublings) = failures.checked_sub(self.free_failures) else {
            return Duration::ZERO;
        };
        // 2^31 seconds is decades: past that every schedule is at its cap.
        let factor = 1i32.checked_shl(doublings).filter(|f| *f > 0);
        factor
            .and_then(|factor| self.first_delay.checked_mul(factor))
            .map_or(self.max_delay, |delay| delay.min(self.max_delay))
    }

    /// Whether the record of a pair is old enough to be forgotten.
    pub fn is_forgotten(&self, last_failure: OffsetDateTime, now: OffsetDateTime) -> bool {
        now - last_failure >= self.forget_after
    }

    /// How long the pair must still wait before its password is checked again; `None` when it
    /// may try now. A last failure in the future (another instance's clock runs ahead) never
    /// makes the wait longer than the schedule's own.
    pub fn wait(
        &self,
        failures: u32,
        last_failure: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Option<Duration> {
        if self.is_forgotten(last_failure, now) {
            return None;
        }
        let delay = self.delay_after(failures);
        let remaining = (last_failure + delay - now).min(delay);
        (remaining > Duration::ZERO).then_some(remaining)
    }

    /// The count to store for one more failure: a forgotten record starts over at 1.
    pub fn next_failure_count(
        &self,
        failures: u32,
        last_failure: OffsetDateTime,
        now: OffsetDateTime,
    ) -> u32 {
        if self.is_forgotten(last_failure, now) {
            1
        } else {
            failures.saturating_add(1)
        }
    }
}

/// Whole seconds, rounded up so a client that waits exactly this long is let in; at least 1.
pub fn retry_after_seconds(wait: Duration) -> u64 {
    let seconds = wait.whole_seconds() + i64::from(wait.subsec_nanoseconds() > 0);
    seconds.max(1).unsigned_abs()
}
