//! One run of a backup policy: counts, status, and on failure the service's message verbatim
//! with the explanation and the way to the organization's certificate page.

use super::banner::certificate_settings_href;
use super::layout::{Page, error_page, render, time_text};
use super::policies::{run_status, trigger_label};
use crate::AppState;
use crate::auth::PageCaller;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use tenantlink_service::{RunId, RunStatus};
use uuid::Uuid;

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
) -> Response {
    let detail = match state.policies.run(&caller, RunId(id)).await {
        Ok(detail) => detail,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let run = &detail.run;
    let organization = run.organization_id;
    let running = run.status == RunStatus::Running;
    let organization_name = state
        .workflows
        .organization(&caller, organization)
        .await
        .map_or_else(|_| "Organization".to_owned(), |o| o.name);
    let body = html! {
        p.breadcrumb {
            a href="/organizations" { "Organizations" } " › "
            a href={ "/organizations/" (organization) } { (organization_name) } " › "
            a href={ "/policies/" (run.policy_id) } { (detail.policy_name) } " › Run"
        }
        h1 { "Run of " (detail.policy_name) }
        dl.certificate #run data-run-id=(run.id) data-status=(run.status.as_str()) {
            dt { "Status" } dd #run-status { (run_status(run.status)) }
            dt { "Trigger" } dd { (trigger_label(run)) }
            dt { "Started" } dd { (time_text(run.started_at)) }
            dt { "Ended" } dd { (run.finished_at.map(time_text).unwrap_or_else(|| "still running".to_owned())) }
            dt { "Users" } dd #run-users { (run.users) }
            dt { "Items new" } dd #items-new { (run.items_new) }
            dt { "Items changed" } dd #items-changed { (run.items_changed) }
        }
        @if running {
            p.notice { "This run is in progress; the page updates when it ends." }
        }
        @if let Some(text) = &run.error_text {
            section #failure aria-labelledby="failure-heading" {
                h2 #failure-heading {
                    @if run.status == RunStatus::Failed { "Why the run failed" } @else { "Problems" }
                }
                // Verbatim: Entra's or Graph's message (code, reason, thumbprint), then the
                // explanation and what to do.
                pre.error #job-log-text role=(if run.status == RunStatus::Failed { "alert" } else { "status" }) { (text) }
            }
        }
        @if run.status == RunStatus::Failed {
            p #remediation {
                @if detail.credential_problem {
                    "The organization's certificate credential is the problem. Replace it in "
                } @else {
                    "If the organization's certificate is the cause, replace it in "
                }
                a #remediation-link href=(certificate_settings_href(organization)) {
                    "Settings → System → SSL Certificate"
                }
                "."
            }
        }
    };
    render(
        Page {
            title: "Backup run",
            caller: Some(&caller),
            refresh_without_js: running.then_some(3),
        },
        body,
    )
    .into_response()
}
