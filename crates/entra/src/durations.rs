//! Durations that Entra ID sends (`expires_in`, `refresh_in`, `interval`), turned into times
//! with checked arithmetic and sanity limits. A value from the network is never trusted to fit:
//! an absurd one (a token valid for a thousand years, a poll interval of a day) is refused with
//! [`Error::UnexpectedResponse`] naming the field, instead of overflowing a time computation
//! (a panic) or parking a poll loop forever.

use std::time::Duration as StdDuration;

use time::{Duration, OffsetDateTime};

use crate::error::Error;

/// Longest access token lifetime accepted. Entra issues 60–90 minutes, up to 28 hours with
/// continuous access evaluation; anything beyond two days is not a real token lifetime.
pub const MAX_TOKEN_LIFETIME: StdDuration = StdDuration::from_secs(2 * 24 * 3600);

/// Longest device code lifetime accepted (Entra: 15 minutes).
pub const MAX_DEVICE_CODE_LIFETIME: StdDuration = StdDuration::from_secs(24 * 3600);

/// Longest device-flow polling interval accepted at the start (Entra: 5 s), and the ceiling that
/// repeated `slow_down` answers raise it to.
pub const MAX_POLL_INTERVAL: StdDuration = StdDuration::from_secs(5 * 60);

/// `now + seconds`, refused when `seconds` exceeds `max` or the sum leaves the time range.
/// Negative values count as zero (already expired), as before.
pub(crate) fn checked_after(
    now: OffsetDateTime,
    seconds: i64,
    max: StdDuration,
    field: &'static str,
    context: &'static str,
) -> Result<OffsetDateTime, Error> {
    let seconds = within(seconds.max(0).unsigned_abs(), max, field, context)?;
    let out_of_range = || refused(field, context, &seconds.as_secs().to_string(), max);
    let delta = Duration::try_from(seconds).map_err(|_| out_of_range())?;
    now.checked_add(delta).ok_or_else(out_of_range)
}

/// A count of seconds as a duration, refused when above `max`.
pub(crate) fn within(
    seconds: u64,
    max: StdDuration,
    field: &'static str,
    context: &'static str,
) -> Result<StdDuration, Error> {
    let duration = StdDuration::from_secs(seconds);
    if duration > max {
        return Err(refused(field, context, &seconds.to_string(), max));
    }
    Ok(duration)
}

/// The polling interval after a `slow_down`: longer, never past [`MAX_POLL_INTERVAL`].
pub(crate) fn slowed_down(interval: StdDuration, step: StdDuration) -> StdDuration {
    interval.saturating_add(step).min(MAX_POLL_INTERVAL)
}

fn refused(field: &'static str, context: &'static str, value: &str, max: StdDuration) -> Error {
    Error::UnexpectedResponse {
        service: "Entra ID",
        context,
        detail: format!(
            "`{field}` of {value} seconds is beyond the {} seconds this client accepts",
            max.as_secs()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-02 12:00 UTC);

    #[test]
    fn a_sane_lifetime_is_added_and_an_absurd_one_refused() {
        let at = checked_after(
            NOW,
            3600,
            MAX_TOKEN_LIFETIME,
            "expires_in",
            "token response",
        );
        assert_eq!(at.unwrap(), NOW + Duration::hours(1));
        assert_eq!(
            checked_after(NOW, -5, MAX_TOKEN_LIFETIME, "expires_in", "t").unwrap(),
            NOW
        );
        for absurd in [i64::MAX, 1_000_000_000_000, 172_801] {
            let err = checked_after(NOW, absurd, MAX_TOKEN_LIFETIME, "expires_in", "t")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains("`expires_in`") && err.contains("172800"),
                "{err}"
            );
        }
    }

    #[test]
    fn slow_down_never_passes_the_ceiling() {
        let mut interval = StdDuration::from_secs(5);
        for _ in 0..1000 {
            interval = slowed_down(interval, StdDuration::MAX);
        }
        assert_eq!(interval, MAX_POLL_INTERVAL);
    }
}
