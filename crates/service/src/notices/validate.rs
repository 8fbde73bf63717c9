//! What the administrator may set, checked before anything is stored: each refusal names the
//! field (as the API spells it) and says what would be accepted.

use super::event::EventType;
use super::ports::NoticeSettings;
use crate::error::{ServiceError, ServiceResult};
use url::{Host, Url};

/// The most thresholds, recipients and characters accepted.
pub const MAX_THRESHOLDS: usize = 10;
pub const MAX_THRESHOLD_DAYS: u32 = 365;
pub const MAX_RECIPIENTS: usize = 50;
pub const MAX_URL_BYTES: usize = 2048;
pub const MAX_DESCRIPTION_CHARS: usize = 200;
/// RFC 5321's limit on a forward path.
const MAX_ADDRESS_BYTES: usize = 254;

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}

/// A webhook URL: HTTPS, or HTTP to a loopback host only (a receiver on the same machine, as in
/// tests); no user name or password in it (the URL is shown in the portal and logs — the
/// signature authenticates tenantlink). Returns it normalized.
pub fn webhook_url(text: &str) -> ServiceResult<String> {
    let text = text.trim();
    if text.is_empty() {
        return Err(invalid(
            "url",
            "url is required: the receiver's https:// address",
        ));
    }
    if text.len() > MAX_URL_BYTES {
        return Err(invalid(
            "url",
            format!("url is longer than {MAX_URL_BYTES} bytes"),
        ));
    }
    let url = Url::parse(text).map_err(|err| {
        invalid(
            "url",
            format!("url {text:?} is not an absolute URL ({err}); give e.g. https://hooks.example.com/tenantlink"),
        )
    })?;
    let loopback = match url.host() {
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        None => {
            return Err(invalid("url", format!("url {text:?} names no host")));
        }
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(invalid(
                "url",
                "url must use https:// (plain http:// is accepted only for a loopback receiver such as http://127.0.0.1:8080/): notices carry tenant details",
            ));
        }
        other => {
            return Err(invalid(
                "url",
                format!("url must use https://, not {other}:"),
            ));
        }
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(invalid(
            "url",
            "url must not contain a user name or password: it is shown in the portal and the logs; the receiver authenticates tenantlink by the webhook signature",
        ));
    }
    if url.fragment().is_some() {
        return Err(invalid(
            "url",
            "url must not contain a #fragment: it is never sent to the receiver",
        ));
    }
    Ok(url.to_string())
}

/// The event types an endpoint (or e-mail) receives: `None` is refused (say which, or `[]` for
/// none explicitly — a webhook with no type receives only test events); duplicates are dropped;
/// `tenantlink.test` is not a subscription (test events are sent whatever is chosen).
pub fn event_types(field: &str, types: Option<&[EventType]>) -> ServiceResult<Vec<EventType>> {
    let Some(types) = types else {
        return Err(invalid(
            field,
            format!(
                "{field} is required: list the event types to receive (e.g. [\"certificate.expiring\", \"rotation.failed\"]), or [] for none"
            ),
        ));
    };
    if types.contains(&EventType::Test) {
        return Err(invalid(
            field,
            format!(
                "{field} must not list tenantlink.test: test events are sent by Send test event whatever is chosen"
            ),
        ));
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

/// A description: trimmed, one line, at most [`MAX_DESCRIPTION_CHARS`] characters.
pub fn description(text: &str) -> ServiceResult<String> {
    let text = text.trim();
    if text.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid(
            "description",
            format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(invalid(
            "description",
            "description must be one line without control characters",
        ));
    }
    Ok(text.to_owned())
}

/// Whether `text` looks like an e-mail address (`local@domain.example`): one `@`, a local part,
/// a domain of non-empty dot-separated labels, no spaces, quotes, brackets or separators — enough
/// to catch a typo or a pasted list; the SMTP server has the last word.
pub fn looks_like_address(text: &str) -> bool {
    if text.is_empty() || text.len() > MAX_ADDRESS_BYTES {
        return false;
    }
    if text
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "<>()[]\\,;:\"".contains(c))
    {
        return false;
    }
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && domain
            .split('.')
            .all(|label| !label.is_empty() && !label.starts_with('-') && !label.ends_with('-'))
}

/// A recipient list: trimmed, each an address, duplicates (ignoring case) dropped, at most
/// [`MAX_RECIPIENTS`].
pub fn recipients(field: &str, list: &[String]) -> ServiceResult<Vec<String>> {
    let mut kept: Vec<String> = Vec::new();
    for address in list {
        let address = address.trim();
        if !looks_like_address(address) {
            return Err(invalid(
                field,
                format!(
                    "{field}: {address:?} is not an e-mail address (give one address per entry, e.g. ops@example.com)"
                ),
            ));
        }
        if !kept.iter().any(|k| k.eq_ignore_ascii_case(address)) {
            kept.push(address.to_owned());
        }
    }
    if kept.len() > MAX_RECIPIENTS {
        return Err(invalid(
            field,
            format!("{field} lists more than {MAX_RECIPIENTS} addresses; use a distribution list"),
        ));
    }
    Ok(kept)
}

/// The settings as stored: thresholds within 1..=365 days, distinct, at most ten, sorted
/// descending; the digest hour within 0..=23; recipients addresses; e-mail event types valid.
pub fn settings(settings: &NoticeSettings) -> ServiceResult<NoticeSettings> {
    let field = "expiry_thresholds_days";
    let mut thresholds = settings.expiry_thresholds_days.clone();
    if thresholds.is_empty() {
        return Err(invalid(
            field,
            format!(
                "{field} needs at least one threshold (days before a certificate's end), e.g. [30, 14, 7, 1]"
            ),
        ));
    }
    if thresholds.len() > MAX_THRESHOLDS {
        return Err(invalid(
            field,
            format!(
                "{field} may list at most {MAX_THRESHOLDS} thresholds, not {}",
                thresholds.len()
            ),
        ));
    }
    if let Some(bad) = thresholds
        .iter()
        .find(|d| !(1..=MAX_THRESHOLD_DAYS).contains(*d))
    {
        return Err(invalid(
            field,
            format!(
                "{field}: each threshold must be between 1 and {MAX_THRESHOLD_DAYS} days, not {bad}"
            ),
        ));
    }
    thresholds.sort_unstable_by(|a, b| b.cmp(a));
    if let Some(pair) = thresholds.windows(2).find(|pair| pair[0] == pair[1]) {
        return Err(invalid(
            field,
            format!("{field} lists {} twice; each threshold once", pair[0]),
        ));
    }
    if settings.digest_hour_utc > 23 {
        return Err(invalid(
            "digest_hour_utc",
            format!(
                "digest_hour_utc must be an hour between 0 and 23 (UTC), not {}",
                settings.digest_hour_utc
            ),
        ));
    }
    Ok(NoticeSettings {
        expiry_thresholds_days: thresholds,
        default_recipients: recipients("default_recipients", &settings.default_recipients)?,
        email_mode: settings.email_mode,
        digest_hour_utc: settings.digest_hour_utc,
        email_event_types: event_types("email_event_types", Some(&settings.email_event_types))?,
    })
}

#[cfg(test)]
#[path = "validate_tests.rs"]
mod tests;
