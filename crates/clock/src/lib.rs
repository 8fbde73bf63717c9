//! Time for tenantlink. Nothing else in the workspace reads the system clock or waits on a timer:
//! every component takes a [`Clock`] and a [`Sleeper`], so expiry, renewal, retries and the
//! sandbox's "advance time" are testable without sleeping.

use std::fmt::Debug;
use std::sync::Arc;
use std::sync::Mutex;
use time::{Duration, OffsetDateTime};

mod sleep;
#[cfg(feature = "test-util")]
mod test_util;

pub use sleep::{SharedSleeper, Sleep, Sleeper, TokioSleeper};
#[cfg(feature = "test-util")]
pub use test_util::RecordingSleeper;

/// A source of the current time.
pub trait Clock: Send + Sync + Debug + 'static {
    fn now(&self) -> OffsetDateTime;
}

/// The clock every component shares.
pub type SharedClock = Arc<dyn Clock>;

/// Wall-clock time.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// Wall-clock time plus an adjustable offset: the sandbox tenant's clock, which tests and
/// demonstrations move forward to reach a certificate's expiry while time keeps flowing.
#[derive(Debug)]
pub struct OffsetClock<C: Clock = SystemClock> {
    base: C,
    offset: Mutex<Duration>,
}

impl OffsetClock<SystemClock> {
    pub fn system() -> Self {
        Self::over(SystemClock)
    }
}

impl<C: Clock> OffsetClock<C> {
    pub fn over(base: C) -> Self {
        Self {
            base,
            offset: Mutex::new(Duration::ZERO),
        }
    }

    pub fn offset(&self) -> Duration {
        *self.offset.lock().expect("clock lock poisoned")
    }

    /// Moves the clock by `by` (negative values move it back).
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().expect("clock lock poisoned") += by;
    }

    /// Makes `now()` return `at` at this instant; time keeps flowing from there.
    pub fn set(&self, at: OffsetDateTime) {
        let base_now = self.base.now();
        *self.offset.lock().expect("clock lock poisoned") = at - base_now;
    }

    /// [`advance`](Self::advance) for a value from outside (the sandbox's control API): refused,
    /// changing nothing, when the offset would leave ±[`MAX_CLOCK_OFFSET`], so `now()` can never
    /// overflow and no panic can poison the lock every reader of the clock shares.
    pub fn try_advance(&self, by: Duration) -> Result<(), ClockOffsetOutOfRange> {
        let mut offset = self.offset.lock().expect("clock lock poisoned");
        let moved = offset
            .checked_add(by)
            .filter(|moved| moved.abs() <= MAX_CLOCK_OFFSET)
            .ok_or(ClockOffsetOutOfRange)?;
        *offset = moved;
        Ok(())
    }

    /// [`set`](Self::set) for a value from outside, with the same bound as
    /// [`try_advance`](Self::try_advance).
    pub fn try_set(&self, at: OffsetDateTime) -> Result<(), ClockOffsetOutOfRange> {
        let offset = at - self.base.now();
        if offset.abs() > MAX_CLOCK_OFFSET {
            return Err(ClockOffsetOutOfRange);
        }
        *self.offset.lock().expect("clock lock poisoned") = offset;
        Ok(())
    }
}

/// How far an [`OffsetClock`] may be moved from real time: a century either way, far more than
/// any certificate lifetime a test or demonstration needs to reach.
pub const MAX_CLOCK_OFFSET: Duration = Duration::days(36_525);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClockOffsetOutOfRange;

impl std::fmt::Display for ClockOffsetOutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the clock may be moved at most {} days from real time",
            MAX_CLOCK_OFFSET.whole_days()
        )
    }
}

impl std::error::Error for ClockOffsetOutOfRange {}

impl<C: Clock> Clock for OffsetClock<C> {
    fn now(&self) -> OffsetDateTime {
        self.base.now() + self.offset()
    }
}

/// A clock that only moves when told to: for unit tests of time-dependent logic.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<OffsetDateTime>,
}

impl ManualClock {
    pub fn at(now: OffsetDateTime) -> Self {
        Self {
            now: Mutex::new(now),
        }
    }

    pub fn advance(&self, by: Duration) {
        *self.now.lock().expect("clock lock poisoned") += by;
    }

    pub fn set(&self, at: OffsetDateTime) {
        *self.now.lock().expect("clock lock poisoned") = at;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        *self.now.lock().expect("clock lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::at(datetime!(2026-01-01 0:00 UTC));
        assert_eq!(clock.now(), datetime!(2026-01-01 0:00 UTC));
        clock.advance(Duration::days(400));
        assert_eq!(clock.now(), datetime!(2027-02-05 0:00 UTC));
    }

    #[test]
    fn offset_clock_set_then_advance_follows_its_base() {
        let base = ManualClockHandle(Arc::new(ManualClock::at(datetime!(2026-01-01 0:00 UTC))));
        let clock = OffsetClock::over(base.clone());
        clock.set(datetime!(2030-06-01 12:00 UTC));
        assert_eq!(clock.now(), datetime!(2030-06-01 12:00 UTC));
        base.0.advance(Duration::seconds(90));
        assert_eq!(clock.now(), datetime!(2030-06-01 12:01:30 UTC));
        clock.advance(Duration::days(-1));
        assert_eq!(clock.now(), datetime!(2030-05-31 12:01:30 UTC));
        assert_eq!(
            clock.offset(),
            datetime!(2030-05-31 12:00 UTC) - datetime!(2026-01-01 0:00 UTC)
        );
    }

    #[derive(Debug, Clone)]
    struct ManualClockHandle(Arc<ManualClock>);
    impl Clock for ManualClockHandle {
        fn now(&self) -> OffsetDateTime {
            self.0.now()
        }
    }
}
