//! One webhook endpoint's page: its delivery log (status, attempts, last response code, last
//! error; never a body or a secret), and the endpoint's buttons from the Notices page: send a
//! test event, enable, disable, delete.

use super::layout::{Page, csrf_rejected, error_page, render, time_text};
use super::notices::webhook_state;
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use tenantlink_service::notices::{Delivery, MAX_LOG_ENTRIES, WebhookId};

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<WebhookId>,
) -> Response {
    let (webhook, deliveries) = match (
        state.notices.webhook(&caller, id).await,
        state
            .notices
            .deliveries(&caller, Some(id), MAX_LOG_ENTRIES)
            .await,
    ) {
        (Ok(webhook), Ok(deliveries)) => (webhook, deliveries),
        (Err(err), _) | (_, Err(err)) => return error_page(Some(&caller), &err),
    };
    let body = html! {
        p.breadcrumb { a href="/notices" { "Notices" } " › " (webhook.url) }
        h1 { "Webhook " (webhook.url) }
        p #webhook-state data-state=(webhook_state(&webhook)) {
            "State: " strong { (webhook_state(&webhook)) }
            @if let Some(since) = webhook.failing_since {
                " since " (time_text(since)) ": no new deliveries until it is enabled again or a test event succeeds"
            }
            "."
        }
        h2 { "Delivery log" }
        @if deliveries.is_empty() {
            p #no-deliveries { "Nothing delivered yet." }
        } @else {
            table #deliveries {
                thead { tr { th { "Event" } th { "Organization" } th { "Status" } th { "Attempts" } th { "Last response" } th { "Last attempt" } th { "Next attempt" } } }
                tbody {
                    @for delivery in &deliveries { (row(delivery)) }
                }
            }
        }
    };
    render(
        Page {
            title: "Webhook",
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

fn row(delivery: &Delivery) -> maud::Markup {
    let notice = &delivery.notice;
    let pending = delivery.status == tenantlink_service::notices::DeliveryStatus::Pending;
    html! {
        tr data-event=(notice.event_type.as_str()) data-status=(delivery.status.as_str()) data-attempts=(delivery.attempts) {
            td { code { (notice.event_type.as_str()) } }
            td { (notice.data.organization.as_ref().map_or("—", |o| o.name.as_str())) }
            td { (delivery.status.as_str()) }
            td { (delivery.attempts) }
            td {
                @if let Some(code) = delivery.last_status_code { "HTTP " (code) }
                @if let Some(error) = &delivery.last_error { " " span.error { (error) } }
            }
            td { (delivery.last_attempt_at.map_or_else(|| "—".to_owned(), time_text)) }
            td { @if pending { (time_text(delivery.next_attempt_at)) } @else { "—" } }
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// The endpoint's buttons; the test event's outcome shows in the delivery log it leads to.
#[derive(Clone, Copy)]
pub enum Action {
    Test,
    Enable,
    Disable,
    Delete,
}

async fn act(
    state: AppState,
    caller: tenantlink_service::Caller,
    id: WebhookId,
    form: CsrfForm,
    action: Action,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let notices = &state.notices;
    let done = match action {
        Action::Test => notices.send_test_event(&caller, id).await.map(|_| ()),
        Action::Enable => notices
            .set_webhook_enabled(&caller, id, true)
            .await
            .map(|_| ()),
        Action::Disable => notices
            .set_webhook_enabled(&caller, id, false)
            .await
            .map(|_| ()),
        Action::Delete => notices.delete_webhook(&caller, id).await,
    };
    match (done, action) {
        (Ok(()), Action::Test) => Redirect::to(&format!("/notices/webhooks/{id}")).into_response(),
        (Ok(()), _) => Redirect::to("/notices").into_response(),
        (Err(err), _) => error_page(Some(&caller), &err),
    }
}

macro_rules! action_handler {
    ($name:ident, $action:expr) => {
        pub async fn $name(
            State(state): State<AppState>,
            PageCaller(caller): PageCaller,
            Path(id): Path<WebhookId>,
            Form(form): Form<CsrfForm>,
        ) -> Response {
            act(state, caller, id, form, $action).await
        }
    };
}

action_handler!(test_event, Action::Test);
action_handler!(enable, Action::Enable);
action_handler!(disable, Action::Disable);
action_handler!(delete, Action::Delete);
