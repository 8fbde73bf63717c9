//! A policy's schedule: blank (no schedule: runs only on demand), an interval (`every 6h`,
//! `30m`, `1d12h`), or a cron expression (`0 2 * * *`, evaluated in UTC). Parsing is strict so
//! that a typo is reported when the policy is saved, not silently never run.
//!
//! [`next_due`] is pure: the scheduler and the UI ("next run at …") use the same answer.

use std::fmt;
use std::str::FromStr;

use croner::Cron;
use time::{Duration, OffsetDateTime};

/// Shortest interval accepted: a backup of a whole organization more often than this would
/// only collide with itself.
pub const MIN_INTERVAL: Duration = Duration::minutes(5);

/// A parsed schedule.
#[derive(Clone, PartialEq, Eq)]
pub enum Schedule {
    /// Blank: the policy runs only when someone presses Run now.
    Manual,
    Interval(Duration),
    Cron(Box<CronSchedule>),
}

/// A cron expression with its source text (for display and storage).
#[derive(Clone, PartialEq, Eq)]
pub struct CronSchedule {
    text: String,
    cron: Cron,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error(
        "interval {text:?} is shorter than the minimum of {} minutes; use e.g. \"every 6h\"",
        MIN_INTERVAL.whole_minutes()
    )]
    IntervalTooShort { text: String },
    #[error(
        "{text:?} is not an interval: write a number with a unit (m, h, d), e.g. \"every 30m\", \"12h\" or \"1d12h\""
    )]
    BadInterval { text: String },
    #[error(
        "{text:?} is not a valid cron expression ({detail}); use five fields (minute hour day month weekday), e.g. \"0 2 * * *\""
    )]
    BadCron { text: String, detail: String },
}

impl Schedule {
    /// Parses a schedule as an administrator types it. Whitespace around it is ignored.
    pub fn parse(text: &str) -> Result<Self, ScheduleError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(Self::Manual);
        }
        if looks_like_interval(text) {
            return parse_interval(text).map(Self::Interval);
        }
        let cron = Cron::from_str(text).map_err(|e| ScheduleError::BadCron {
            text: text.to_owned(),
            detail: e.to_string(),
        })?;
        Ok(Self::Cron(Box::new(CronSchedule {
            text: text.to_owned(),
            cron,
        })))
    }

    pub fn is_manual(&self) -> bool {
        matches!(self, Self::Manual)
    }
}

impl fmt::Debug for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Manual => f.write_str("Manual"),
            Self::Interval(d) => write!(f, "Interval({d})"),
            Self::Cron(c) => write!(f, "Cron({:?})", c.text),
        }
    }
}

impl fmt::Display for Schedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Manual => f.write_str(""),
            Self::Interval(d) => write!(f, "every {}", format_interval(*d)),
            Self::Cron(c) => f.write_str(&c.text),
        }
    }
}

impl fmt::Debug for CronSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("CronSchedule").field(&self.text).finish()
    }
}

impl CronSchedule {
    /// The first occurrence strictly after `after`; `None` if the expression never fires again
    /// (e.g. a year in the past).
    fn next_after(&self, after: OffsetDateTime) -> Option<OffsetDateTime> {
        let start = to_chrono(after)?;
        let next = self.cron.find_next_occurrence(&start, false).ok()?;
        from_chrono(next)
    }
}

/// When a policy is next due.
///
/// - `Manual` → `None`: never scheduled.
/// - Never ran (`last_run` is `None`): an interval is due at once, a cron expression at its
///   next occurrence after `now`.
/// - Ran before: the first occurrence after the last run. That time may lie in the past (the
///   service was down): the policy is then overdue and runs once; the scheduler computes the
///   following due time from the moment it started that run, so missed occurrences collapse
///   into one catch-up run instead of a burst.
pub fn next_due(
    schedule: &Schedule,
    last_run: Option<OffsetDateTime>,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    match (schedule, last_run) {
        (Schedule::Manual, _) => None,
        (Schedule::Interval(_), None) => Some(now),
        (Schedule::Interval(every), Some(last)) => Some(last + *every),
        (Schedule::Cron(cron), None) => cron.next_after(now),
        (Schedule::Cron(cron), Some(last)) => cron.next_after(last),
    }
}

fn looks_like_interval(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let body = lower.strip_prefix("every").unwrap_or(&lower).trim_start();
    // A cron expression has spaces between fields; an interval is one token of digits and units.
    !body.is_empty()
        && !body.contains(char::is_whitespace)
        && body.starts_with(|c: char| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || "smhdw".contains(c))
        && body.ends_with(|c: char| c.is_ascii_alphabetic())
}

fn parse_interval(text: &str) -> Result<Duration, ScheduleError> {
    let bad = || ScheduleError::BadInterval {
        text: text.to_owned(),
    };
    let lower = text.to_ascii_lowercase();
    let body = lower.strip_prefix("every").unwrap_or(&lower).trim();
    let mut total = Duration::ZERO;
    let mut digits = String::new();
    for c in body.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let amount: i64 = digits.parse().map_err(|_| bad())?;
        digits.clear();
        let unit = match c {
            's' => Duration::SECOND,
            'm' => Duration::MINUTE,
            'h' => Duration::HOUR,
            'd' => Duration::DAY,
            'w' => Duration::WEEK,
            _ => return Err(bad()),
        };
        total = unit
            .checked_mul(i32::try_from(amount).map_err(|_| bad())?)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(bad)?;
    }
    if !digits.is_empty() {
        return Err(bad());
    }
    if total < MIN_INTERVAL {
        return Err(ScheduleError::IntervalTooShort {
            text: text.to_owned(),
        });
    }
    Ok(total)
}

fn format_interval(d: Duration) -> String {
    let mut rest = d.whole_minutes();
    let mut out = String::new();
    for (unit, minutes) in [("d", 1440), ("h", 60), ("m", 1)] {
        if rest >= minutes {
            out.push_str(&format!("{}{unit}", rest / minutes));
            rest %= minutes;
        }
    }
    out
}

fn to_chrono(t: OffsetDateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    let nanos = i64::try_from(t.unix_timestamp_nanos()).ok()?;
    Some(chrono::DateTime::from_timestamp_nanos(nanos))
}

fn from_chrono(t: chrono::DateTime<chrono::Utc>) -> Option<OffsetDateTime> {
    let nanos = t.timestamp_nanos_opt()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(nanos)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn blank_means_manual_and_is_never_due() {
        let s = Schedule::parse("   ").unwrap();
        assert!(s.is_manual());
        assert_eq!(next_due(&s, None, datetime!(2026-01-01 0:00 UTC)), None);
        assert_eq!(
            next_due(
                &s,
                Some(datetime!(2025-01-01 0:00 UTC)),
                datetime!(2026-01-01 0:00 UTC)
            ),
            None
        );
    }

    #[test]
    fn intervals_parse_with_units_and_optional_every() {
        assert_eq!(
            Schedule::parse("every 6h").unwrap(),
            Schedule::Interval(Duration::hours(6))
        );
        assert_eq!(
            Schedule::parse("1d12h").unwrap(),
            Schedule::Interval(Duration::hours(36))
        );
        assert_eq!(
            Schedule::parse("30M").unwrap(),
            Schedule::Interval(Duration::minutes(30))
        );
        assert_eq!(
            Schedule::parse("every 90m").unwrap().to_string(),
            "every 1h30m"
        );
    }

    #[test]
    fn bad_schedules_are_refused_with_a_hint() {
        assert!(matches!(
            Schedule::parse("1m"),
            Err(ScheduleError::IntervalTooShort { .. })
        ));
        assert!(matches!(
            Schedule::parse("every 5x"),
            Err(ScheduleError::BadCron { .. }) | Err(ScheduleError::BadInterval { .. })
        ));
        let err = Schedule::parse("61 * * * *").unwrap_err();
        assert!(matches!(err, ScheduleError::BadCron { .. }), "{err:?}");
        assert!(err.to_string().contains("five fields"));
        assert!(Schedule::parse("every day at noon").is_err());
    }

    #[test]
    fn interval_due_times_follow_the_last_run() {
        let s = Schedule::parse("every 6h").unwrap();
        let now = datetime!(2026-03-01 10:00 UTC);
        assert_eq!(
            next_due(&s, None, now),
            Some(now),
            "a new policy runs at once"
        );
        assert_eq!(
            next_due(&s, Some(datetime!(2026-03-01 08:00 UTC)), now),
            Some(datetime!(2026-03-01 14:00 UTC))
        );
        // After three days of downtime the policy is overdue, not due three times.
        assert_eq!(
            next_due(&s, Some(datetime!(2026-02-26 08:00 UTC)), now),
            Some(datetime!(2026-02-26 14:00 UTC))
        );
    }

    #[test]
    fn cron_due_times_are_the_next_occurrence_in_utc() {
        let s = Schedule::parse("0 2 * * *").unwrap();
        assert_eq!(s.to_string(), "0 2 * * *");
        let now = datetime!(2026-03-01 10:00 UTC);
        assert_eq!(
            next_due(&s, None, now),
            Some(datetime!(2026-03-02 02:00 UTC))
        );
        assert_eq!(
            next_due(&s, Some(datetime!(2026-03-01 02:00 UTC)), now),
            Some(datetime!(2026-03-02 02:00 UTC)),
            "strictly after the last run"
        );
        assert_eq!(
            next_due(&s, Some(datetime!(2026-02-20 02:00 UTC)), now),
            Some(datetime!(2026-02-21 02:00 UTC)),
            "overdue after downtime"
        );
        let weekdays = Schedule::parse("30 23 * * MON-FRI").unwrap();
        // 2026-03-06 is a Friday; the next weekday evening after it is Monday the 9th.
        assert_eq!(
            next_due(&weekdays, Some(datetime!(2026-03-06 23:30 UTC)), now),
            Some(datetime!(2026-03-09 23:30 UTC))
        );
    }
}
