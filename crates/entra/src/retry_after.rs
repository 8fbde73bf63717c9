//! `Retry-After` (RFC 9110 §10.2.3) as a wait from now: delta-seconds (what Graph and Entra
//! send) or an HTTP-date (what gateways in front of them may send). The caller gives "now" from
//! its injected clock, so a date is resolved without reading the system time.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use time::{OffsetDateTime, PrimitiveDateTime, macros::format_description};

/// The wait `headers` ask for, from `now`. A date in the past means "now" (zero); an unreadable
/// value means no advice at all.
pub fn retry_after_from(headers: &HeaderMap, now: OffsetDateTime) -> Option<Duration> {
    parse_retry_after(headers.get(RETRY_AFTER)?.to_str().ok()?, now)
}

/// [`retry_after_from`] for the header's text.
pub fn parse_retry_after(value: &str, now: OffsetDateTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    Some(Duration::try_from(at - now).unwrap_or(Duration::ZERO))
}

/// IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the only HTTP-date form senders may
/// generate; the obsolete RFC 850 and asctime forms are not accepted.
fn http_date(value: &str) -> Option<OffsetDateTime> {
    let format = format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    PrimitiveDateTime::parse(value, &format)
        .ok()
        .map(PrimitiveDateTime::assume_utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-12-01 08:00:00 UTC);

    #[test]
    fn seconds_are_a_wait_as_they_stand() {
        assert_eq!(
            parse_retry_after(" 120 ", NOW),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", NOW), Some(Duration::ZERO));
    }

    #[test]
    fn a_date_is_a_wait_from_the_injected_now() {
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 08:01:30 GMT", NOW),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 07:59:00 GMT", NOW),
            Some(Duration::ZERO),
            "a date already past means: now"
        );
    }

    #[test]
    fn anything_else_is_no_advice() {
        for value in ["soon", "-5", "1.5", "", "Tuesday, 01-Dec-26 08:01:30 GMT"] {
            assert_eq!(parse_retry_after(value, NOW), None, "{value:?}");
        }
    }

    #[test]
    fn the_header_is_read_from_a_header_map() {
        let mut headers = HeaderMap::new();
        assert_eq!(retry_after_from(&headers, NOW), None);
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(
            retry_after_from(&headers, NOW),
            Some(Duration::from_secs(7))
        );
    }
}
