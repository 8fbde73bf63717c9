//! What a notice looks like in each channel: the webhook body (Standard Webhooks JSON), and an
//! e-mail (subject, plain text, HTML) that names the organization, what happens, when, what to
//! do and the link. Pure: the dispatcher sends what these return.

use super::event::{EventType, Notice, NoticeData, WebhookBody};
use super::payload::{days_text, moment_text};
use maud::{Markup, html};

/// The JSON body of a webhook delivery: `{"type", "timestamp", "data"}`, the timestamp being the
/// notice's (the same on every retry; the attempt's time is the `webhook-timestamp` header).
pub fn webhook_body(notice: &Notice) -> Result<String, serde_json::Error> {
    serde_json::to_string(&WebhookBody {
        event_type: notice.event_type,
        timestamp: notice.occurred_at,
        data: &notice.data,
    })
}

/// An e-mail's content; the dispatcher adds the recipients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedEmail {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// What happened, in one line (the subject of a single notice, a heading of a digest).
pub fn headline(notice: &Notice) -> String {
    let data = &notice.data;
    let org = data
        .organization
        .as_ref()
        .map_or("an organization", |o| o.name.as_str());
    match notice.event_type {
        EventType::CertificateExpiring => match data.days_left {
            Some(days) => format!("The certificate of {org} ends {}", days_text(days)),
            None => format!("The certificate of {org} ends soon"),
        },
        EventType::CertificateExpired => format!("The certificate of {org} has expired"),
        EventType::CertificateNotAttached => {
            format!("The certificate of {org} is no longer attached to its application")
        }
        EventType::RotationSucceeded => format!("The certificate of {org} was rotated"),
        EventType::RotationFailed => {
            format!("Rotating the certificate of {org} failed; tenantlink tries again")
        }
        EventType::RotationNeedsAdministrator => {
            format!("Renewing the certificate of {org} needs an administrator")
        }
        EventType::ConnectionBroken => format!("The connection to {org} is broken"),
        EventType::ConnectionRestored => format!("The connection to {org} works again"),
        EventType::BackupCredentialFailed => {
            format!("A backup of {org} failed: Microsoft Entra ID refused the credential")
        }
        EventType::Test => "Test notice from tenantlink".to_owned(),
    }
}

/// A subject line: no line breaks or other control characters, whatever an organization's
/// name holds (a header must stay one header).
fn subject(text: &str) -> String {
    let cleaned: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("[tenantlink] {cleaned}")
}

/// One notice as one e-mail.
pub fn email(notice: &Notice) -> RenderedEmail {
    let headline = headline(notice);
    RenderedEmail {
        subject: subject(&headline),
        text: format!("{headline}\n\n{}\n{}", text_block(notice), text_footer()),
        html: page(&headline, html! { (html_block(notice)) }),
    }
}

/// Several notices for the same recipients as one e-mail, oldest first.
pub fn digest(notices: &[Notice]) -> RenderedEmail {
    let mut notices: Vec<&Notice> = notices.iter().collect();
    notices.sort_by_key(|n| (n.occurred_at, n.id));
    let mut organizations: Vec<_> = notices
        .iter()
        .filter_map(|n| n.data.organization.as_ref().map(|o| o.id))
        .collect();
    organizations.sort();
    organizations.dedup();
    let title = format!(
        "Daily digest: {} {} for {} {}",
        notices.len(),
        plural(notices.len(), "notice", "notices"),
        organizations.len(),
        plural(organizations.len(), "organization", "organizations"),
    );
    let mut text = format!("{title}\n");
    for notice in &notices {
        text.push_str(&format!(
            "\n---\n{}\n\n{}",
            headline(notice),
            text_block(notice)
        ));
    }
    text.push('\n');
    text.push_str(&text_footer());
    let body = html! {
        @for notice in &notices {
            hr;
            h2 { (headline(notice)) }
            (html_block(notice))
        }
    };
    RenderedEmail {
        subject: subject(&title),
        text,
        html: page(&title, body),
    }
}

fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}

/// The facts of a notice, one per line.
fn facts(notice: &Notice) -> Vec<(&'static str, String)> {
    let data: &NoticeData = &notice.data;
    let mut facts = Vec::new();
    if let Some(org) = &data.organization {
        facts.push(("Organization", format!("{} ({})", org.name, org.tenant)));
    }
    facts.push(("What happened", data.reason.clone()));
    facts.push(("When", moment_text(notice.occurred_at)));
    if let Some(cert) = &data.certificate {
        let left = data
            .days_left
            .map(|d| format!(", ends {}", days_text(d)))
            .unwrap_or_default();
        facts.push((
            "Certificate",
            format!(
                "{}, valid from {} until {}{left}",
                cert.sha1_thumbprint,
                moment_text(cert.not_before),
                moment_text(cert.not_after)
            ),
        ));
    }
    facts.push((
        "What to do",
        data.what_to_do
            .clone()
            .unwrap_or_else(|| "Nothing to do.".to_owned()),
    ));
    facts
}

fn text_block(notice: &Notice) -> String {
    let mut text = String::new();
    for (label, value) in facts(notice) {
        text.push_str(&format!("{label}: {value}\n"));
    }
    text.push_str(&format!("Open: {}\n", notice.data.link));
    text.push_str(&format!(
        "(event {}, notice {})\n",
        notice.event_type, notice.id
    ));
    text
}

fn text_footer() -> String {
    "--\nSent by tenantlink. Change who gets these e-mails under Notices in the portal.\n"
        .to_owned()
}

fn html_block(notice: &Notice) -> Markup {
    html! {
        table {
            @for (label, value) in facts(notice) {
                tr { th style="text-align:left;vertical-align:top;padding-right:1em" { (label) } td { (value) } }
            }
        }
        p { a href=(notice.data.link) { "Open in tenantlink" } }
        p style="color:#666;font-size:small" { "event " (notice.event_type.as_str()) ", notice " (notice.id.to_string()) }
    }
}

fn page(title: &str, body: Markup) -> String {
    html! {
        (maud::DOCTYPE)
        html lang="en" {
            head { meta charset="utf-8"; title { (title) } }
            body style="font-family:sans-serif" {
                h1 style="font-size:1.3em" { (title) }
                (body)
                p style="color:#666;font-size:small" { "Sent by tenantlink. Change who gets these e-mails under Notices in the portal." }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
#[path = "render_tests.rs"]
mod tests;
