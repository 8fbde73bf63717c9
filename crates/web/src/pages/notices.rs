//! The Notices page (issue #13): webhook endpoints (added with the event types they want; the
//! signing secret shown once, on the page that answers the form), and the e-mail settings —
//! thresholds, default recipients, immediate or daily digest, the event types e-mailed. Everyone
//! may look; changes need `ManageNotices`, which the service checks and audits.

use super::layout::{Page, csrf_field, csrf_rejected, error_page, render, time_text};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use std::str::FromStr;
use tenantlink_service::notices::{
    EmailMode, EventType, NewWebhook, NoticeSettings, WebhookCreated, WebhookEndpoint,
};
use tenantlink_service::{Caller, Permission, ServiceError};

/// A posted form as its name/value pairs: checkboxes of one name repeat, which a struct cannot
/// take.
pub type FormPairs = Vec<(String, String)>;

pub async fn page(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    list(&state, &caller, None).await
}

async fn list(state: &AppState, caller: &Caller, created: Option<&WebhookCreated>) -> Response {
    let (webhooks, settings) = match (
        state.notices.webhooks(caller).await,
        state.notices.notice_settings(caller).await,
    ) {
        (Ok(webhooks), Ok(settings)) => (webhooks, settings),
        (Err(err), _) | (_, Err(err)) => return error_page(Some(caller), &err),
    };
    let manage = caller.may(Permission::ManageNotices);
    let body = html! {
        h1 { "Notices" }
        p { "tenantlink tells you before a certificate runs out and whenever rotation needs you: by webhook (signed as Standard Webhooks) and by e-mail." }
        @if let Some(created) = created {
            section.notice #new-webhook role="status" {
                h2 { "Webhook to " (created.endpoint.url) " added" }
                p { "Its signing secret is shown only this once: copy it into the receiver now." }
                pre { code #new-webhook-secret { (created.secret.expose()) } }
            }
        }
        section aria-labelledby="webhooks-heading" {
            h2 #webhooks-heading { "Webhooks" }
            @if webhooks.is_empty() {
                p #no-webhooks { "No webhook endpoints yet." }
            } @else {
                table #webhooks {
                    thead { tr { th { "Endpoint" } th { "Events" } th { "State" } th { "Created" } th {} } }
                    tbody {
                        @for webhook in &webhooks { (webhook_row(caller, webhook, manage)) }
                    }
                }
            }
            @if manage { (add_webhook_form(caller)) }
        }
        (settings_section(caller, &settings, manage))
    };
    render(
        Page {
            title: "Notices",
            caller: Some(caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

/// `failing` wins over `enabled`: a failing endpoint gets no new deliveries until it is enabled
/// again or a test event succeeds.
pub fn webhook_state(webhook: &WebhookEndpoint) -> &'static str {
    match (webhook.enabled, webhook.failing_since.is_some()) {
        (false, _) => "disabled",
        (true, true) => "failing",
        (true, false) => "enabled",
    }
}

fn webhook_row(caller: &Caller, webhook: &WebhookEndpoint, manage: bool) -> Markup {
    let state = webhook_state(webhook);
    let action = |verb: &str| format!("/notices/webhooks/{}/{verb}", webhook.id);
    html! {
        tr data-url=(webhook.url) data-state=(state) {
            td {
                a href={ "/notices/webhooks/" (webhook.id) } { (webhook.url) }
                @if !webhook.description.is_empty() { br; small { (webhook.description) } }
            }
            td { (event_types_text(&webhook.event_types)) }
            td {
                (state)
                @if webhook.consecutive_failures > 0 {
                    " (" (webhook.consecutive_failures) " given up in a row)"
                }
            }
            td { (time_text(webhook.created_at)) " by " (webhook.created_by) }
            td.actions {
                @if manage {
                    form method="post" action=(action("test")) {
                        (csrf_field(caller)) button.secondary type="submit" { "Send a test event" }
                    }
                    @if webhook.enabled && webhook.failing_since.is_none() {
                        form method="post" action=(action("disable")) {
                            (csrf_field(caller)) button.secondary type="submit" { "Disable" }
                        }
                    } @else {
                        form method="post" action=(action("enable")) {
                            (csrf_field(caller)) button.secondary type="submit" { "Enable" }
                        }
                    }
                    form method="post" action=(action("delete")) {
                        (csrf_field(caller)) button.danger type="submit" { "Delete" }
                    }
                }
            }
        }
    }
}

fn event_types_text(types: &[EventType]) -> String {
    if types.is_empty() {
        return "test events only".to_owned();
    }
    types
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The event types an administrator subscribes to (the test event goes to an endpoint only when
/// asked for, whatever it subscribes to).
fn subscribable() -> impl Iterator<Item = EventType> {
    EventType::ALL
        .iter()
        .copied()
        .filter(|t| *t != EventType::Test)
}

fn event_type_boxes(name: &str, chosen: &[EventType]) -> Markup {
    html! {
        fieldset.event-types {
            legend { "Event types" }
            @for event_type in subscribable() {
                label {
                    input type="checkbox" name=(name) value=(event_type.as_str()) checked[chosen.contains(&event_type)];
                    " " code { (event_type.as_str()) }
                }
            }
        }
    }
}

fn add_webhook_form(caller: &Caller) -> Markup {
    let all: Vec<EventType> = subscribable().collect();
    html! {
        form.stack #add-webhook method="post" action="/notices/webhooks" {
            h3 { "Add a webhook" }
            (csrf_field(caller))
            label { "URL (HTTPS; plain HTTP only to this machine)" input type="url" name="url" required autocomplete="off"; }
            label { "Description" input type="text" name="description" maxlength="200" autocomplete="off"; }
            (event_type_boxes("event_types", &all))
            button type="submit" { "Add webhook" }
        }
    }
}

fn settings_section(caller: &Caller, settings: &NoticeSettings, manage: bool) -> Markup {
    let thresholds = settings
        .expiry_thresholds_days
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let recipients = settings.default_recipients.join("\n");
    html! {
        section #notice-settings-section aria-labelledby="notice-settings-heading"
            data-email-mode=(settings.email_mode.as_str()) data-thresholds=(thresholds) {
            h2 #notice-settings-heading { "E-mail and thresholds" }
            p {
                "Expiry warnings at " strong { (thresholds) } " days before a certificate's end. E-mail goes "
                (match settings.email_mode {
                    EmailMode::Immediate => "out at once".to_owned(),
                    EmailMode::DailyDigest => format!("out as one daily digest at {:02}:00 UTC", settings.digest_hour_utc),
                })
                " to an organization's own recipients, or else to the default recipients"
                @if settings.default_recipients.is_empty() { " (none yet)" }
                "."
            }
            @if manage {
                form.stack #notice-settings method="post" action="/notices/settings" {
                    (csrf_field(caller))
                    label { "Warn this many days before the end (comma-separated)" input type="text" name="expiry_thresholds_days" required value=(thresholds); }
                    label { "Default e-mail recipients (one per line)" textarea name="default_recipients" rows="3" { (recipients) } }
                    label for="notice-email-mode" { "E-mail" }
                    select #notice-email-mode name="email_mode" {
                        option value=(EmailMode::Immediate.as_str()) selected[settings.email_mode == EmailMode::Immediate] { "at once" }
                        option value=(EmailMode::DailyDigest.as_str()) selected[settings.email_mode == EmailMode::DailyDigest] { "as a daily digest" }
                    }
                    label { "Digest hour (UTC, 0–23)" input type="number" name="digest_hour_utc" min="0" max="23" value=(settings.digest_hour_utc); }
                    (event_type_boxes("email_event_types", &settings.email_event_types))
                    button type="submit" { "Save notice settings" }
                }
            }
        }
    }
}

/// The values posted under `name`, in order.
pub fn values<'a>(pairs: &'a FormPairs, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    pairs
        .iter()
        .filter(move |(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The one value posted under `name`, or "".
pub fn value<'a>(pairs: &'a FormPairs, name: &str) -> &'a str {
    pairs
        .iter()
        .find(|(key, _)| key == name)
        .map_or("", |(_, value)| value.as_str())
}

fn invalid(field: &str, message: String) -> ServiceError {
    ServiceError::Invalid {
        field: field.to_owned(),
        message,
    }
}

fn event_types(pairs: &FormPairs, field: &str) -> Result<Vec<EventType>, ServiceError> {
    values(pairs, field)
        .map(|text| {
            EventType::from_str(text)
                .map_err(|_| invalid(field, format!("{text:?} is not an event type")))
        })
        .collect()
}

/// A list typed into one box: items separated by commas, semicolons or line breaks.
pub fn list_items(text: &str) -> Vec<String> {
    text.split([',', ';', '\n', '\r'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn settings_from(pairs: &FormPairs) -> Result<NoticeSettings, ServiceError> {
    let field = "expiry_thresholds_days";
    let expiry_thresholds_days = list_items(value(pairs, field))
        .iter()
        .map(|days| {
            days.parse::<u32>().map_err(|_| {
                invalid(
                    field,
                    format!("{days:?} is not a whole number of days before the end"),
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mode = value(pairs, "email_mode");
    let email_mode = EmailMode::from_str(mode).map_err(|_| {
        invalid(
            "email_mode",
            format!("{mode:?} is not an e-mail mode: immediate or daily_digest"),
        )
    })?;
    let hour = value(pairs, "digest_hour_utc").trim();
    let digest_hour_utc = hour.parse::<u8>().map_err(|_| {
        invalid(
            "digest_hour_utc",
            format!("{hour:?} is not an hour from 0 to 23"),
        )
    })?;
    Ok(NoticeSettings {
        expiry_thresholds_days,
        default_recipients: list_items(value(pairs, "default_recipients")),
        email_mode,
        digest_hour_utc,
        email_event_types: event_types(pairs, "email_event_types")?,
    })
}

pub async fn add_webhook(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(pairs): Form<FormPairs>,
) -> Response {
    if !csrf_matches(&caller, value(&pairs, "csrf")) {
        return csrf_rejected(&caller);
    }
    let created = match event_types(&pairs, "event_types") {
        Ok(types) => {
            let new = NewWebhook {
                url: value(&pairs, "url").trim().to_owned(),
                description: value(&pairs, "description").trim().to_owned(),
                event_types: Some(types),
            };
            state.notices.create_webhook(&caller, &new).await
        }
        Err(err) => Err(err),
    };
    match created {
        Ok(created) => list(&state, &caller, Some(&created)).await,
        Err(err) => error_page(Some(&caller), &err),
    }
}

pub async fn save_settings(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(pairs): Form<FormPairs>,
) -> Response {
    if !csrf_matches(&caller, value(&pairs, "csrf")) {
        return csrf_rejected(&caller);
    }
    let saved = match settings_from(&pairs) {
        Ok(settings) => state.notices.set_notice_settings(&caller, &settings).await,
        Err(err) => Err(err),
    };
    match saved {
        Ok(_) => Redirect::to("/notices").into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> FormPairs {
        items
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_typed_list_splits_on_commas_semicolons_and_lines_and_drops_blanks() {
        assert_eq!(
            list_items(" a@x.test,b@x.test;\r\n c@x.test \n\n"),
            vec!["a@x.test", "b@x.test", "c@x.test"]
        );
    }

    #[test]
    fn the_settings_form_is_read_into_the_services_settings() {
        let settings = settings_from(&pairs(&[
            ("expiry_thresholds_days", "30, 7"),
            ("default_recipients", "ops@x.test\nsec@x.test"),
            ("email_mode", "daily_digest"),
            ("digest_hour_utc", "6"),
            ("email_event_types", "certificate.expiring"),
            ("email_event_types", "rotation.failed"),
        ]))
        .expect("valid form");
        assert_eq!(settings.expiry_thresholds_days, vec![30, 7]);
        assert_eq!(
            settings.default_recipients,
            vec!["ops@x.test", "sec@x.test"]
        );
        assert_eq!(settings.email_mode, EmailMode::DailyDigest);
        assert_eq!(settings.digest_hour_utc, 6);
        assert_eq!(
            settings.email_event_types,
            vec![EventType::CertificateExpiring, EventType::RotationFailed]
        );
    }

    #[test]
    fn each_bad_value_names_its_field() {
        let base = [
            ("expiry_thresholds_days", "30"),
            ("email_mode", "immediate"),
            ("digest_hour_utc", "7"),
        ];
        for (field, bad) in [
            ("expiry_thresholds_days", "thirty"),
            ("email_mode", "hourly"),
            ("digest_hour_utc", "noon"),
            ("email_event_types", "certificate.melted"),
        ] {
            let mut form: Vec<(&str, &str)> =
                base.iter().copied().filter(|(k, _)| *k != field).collect();
            form.push((field, bad));
            match settings_from(&pairs(&form)) {
                Err(ServiceError::Invalid {
                    field: named,
                    message,
                }) => {
                    assert_eq!(named, field);
                    assert!(message.contains(bad), "{message}");
                }
                other => panic!("{field}={bad}: {other:?}"),
            }
        }
    }
}
