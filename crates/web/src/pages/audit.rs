use super::layout::{Page, error_page, render, time_text};
use crate::AppState;
use crate::auth::PageCaller;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;
use tenantlink_service::Permission;

pub async fn page(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    if let Err(err) = caller.require(Permission::View) {
        return error_page(Some(&caller), &err);
    }
    let entries = match state.workflows.repository().audit(200).await {
        Ok(entries) => entries,
        Err(err) => return error_page(Some(&caller), &err.into()),
    };
    let body = html! {
        h1 { "Audit log" }
        table #audit-log {
            thead { tr { th { "Time" } th { "Actor" } th { "Action" } th { "Organization" } th { "Thumbprints" } th { "Outcome" } th { "Detail" } } }
            tbody {
                @for e in &entries {
                    tr {
                        td { (time_text(e.at)) }
                        td { (e.actor) }
                        td { (e.action) }
                        td { @if let Some(org) = e.organization { a href={ "/organizations/" (org) "/settings/system" } { (org) } } }
                        td { @for t in &e.thumbprints { code { (t) } " " } }
                        td { (e.outcome) }
                        td { (e.detail.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    };
    render(
        Page {
            title: "Audit log",
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}
