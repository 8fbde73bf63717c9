//! The pieces every notice's payload is made of, from the service's records.

use super::event::{NoticeCertificate, NoticeOrganization};
use crate::model::{Organization, StoredCertificate};
use time::{Duration, OffsetDateTime};

pub(crate) fn organization(organization: &Organization) -> NoticeOrganization {
    NoticeOrganization {
        id: organization.id,
        name: organization.name.clone(),
        tenant: organization.tenant.clone(),
    }
}

pub(crate) fn certificate(certificate: &StoredCertificate) -> NoticeCertificate {
    NoticeCertificate {
        sha1_thumbprint: certificate.sha1_thumbprint.clone(),
        not_before: certificate.not_before,
        not_after: certificate.not_after,
    }
}

/// Whole days from `now` to `end`, rounded down: 13 while 13 days and some hours are left,
/// -1 as soon as the end has passed (so "negative" means expired, and 0 means "under a day").
pub fn days_left(end: OffsetDateTime, now: OffsetDateTime) -> i64 {
    let seconds = (end - now).whole_seconds();
    seconds.div_euclid(Duration::DAY.whole_seconds())
}

/// A moment as people read it in a message: `2026-12-31 14:05 UTC`.
pub fn moment_text(at: OffsetDateTime) -> String {
    let at = at.to_offset(time::UtcOffset::UTC);
    let format = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute] UTC");
    at.format(&format).unwrap_or_else(|_| at.to_string())
}

/// "in 14 days", "in 1 day", "within a day", "less than a day ago", "2 days ago" — for headlines
/// and reasons. 0 is any time under 24 hours before the end, which is often tomorrow's date:
/// "today" would be wrong for the 1-day threshold, sent a day before the end, most of the time.
pub fn days_text(days: i64) -> String {
    match days {
        0 => "within a day".to_owned(),
        1 => "in 1 day".to_owned(),
        -1 => "less than a day ago".to_owned(),
        d if d > 1 => format!("in {d} days"),
        d => format!("{} days ago", -d),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn days_left_rounds_down_and_turns_negative_once_expired() {
        let end = datetime!(2026-12-31 12:00 UTC);
        assert_eq!(days_left(end, end - Duration::days(14)), 14);
        assert_eq!(days_left(end, end - Duration::hours(14 * 24 - 1)), 13);
        assert_eq!(days_left(end, end - Duration::minutes(1)), 0);
        assert_eq!(days_left(end, end), 0);
        assert_eq!(days_left(end, end + Duration::minutes(1)), -1);
        assert_eq!(days_left(end, end + Duration::days(3)), -3);
    }

    #[test]
    fn moments_read_as_utc_minutes() {
        assert_eq!(
            moment_text(datetime!(2026-12-31 14:05:59 +02:00)),
            "2026-12-31 12:05 UTC"
        );
        assert_eq!(days_text(14), "in 14 days");
        assert_eq!(days_text(-2), "2 days ago");
    }

    #[test]
    fn under_a_day_is_not_called_today() {
        // The 1-day threshold is crossed 24 hours before the end: with 23 hours left at 07:00
        // the end is tomorrow at 06:00, not "today"; 5 minutes after the end is not "1 day ago".
        let end = datetime!(2027-02-01 06:00 UTC);
        assert_eq!(
            days_text(days_left(end, datetime!(2027-01-31 07:00 UTC))),
            "within a day"
        );
        assert_eq!(
            days_text(days_left(end, end + Duration::minutes(5))),
            "less than a day ago"
        );
        assert_eq!(
            days_text(days_left(end, end - Duration::hours(25))),
            "in 1 day"
        );
    }
}
