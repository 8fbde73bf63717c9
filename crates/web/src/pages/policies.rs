//! A backup policy's page (details, its job log, the certificate banner) and its buttons: Run
//! now, Enable / Disable, Delete. Buttons are shown by role; the facade refuses others anyway.

use super::banner::certificate_banner;
use super::layout::{Page, csrf_field, csrf_rejected, error_page, render, time_text};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tenantlink_backup::PolicyOverview;
use tenantlink_backup::policies::scope_text;
use tenantlink_service::{BackupRun, PolicyId, RunStatus, RunTrigger};
use tenantlink_service::{Caller, Permission};
use uuid::Uuid;

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
) -> Response {
    let id = PolicyId(id);
    let overview = match state.policies.policy(&caller, id).await {
        Ok(overview) => overview,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let organization = overview.policy.organization_id;
    let (certificate, runs) = match (
        state
            .workflows
            .certificate_page(&caller, organization)
            .await,
        state.policies.runs(&caller, id).await,
    ) {
        (Ok(certificate), Ok(runs)) => (certificate, runs),
        (Err(err), _) | (_, Err(err)) => return error_page(Some(&caller), &err),
    };
    let policy = &overview.policy;
    let body = html! {
        p.breadcrumb {
            a href="/organizations" { "Organizations" } " › "
            a href={ "/organizations/" (organization) } { (certificate.organization.name) } " › "
            "Backup policies"
        }
        h1 { (policy.name) }
        (certificate_banner(&certificate))
        dl.certificate #policy data-enabled=(policy.enabled) {
            dt { "Schedule" } dd { (schedule_text(&policy.schedule)) }
            dt { "Scope" } dd { (scope_text(&policy.scope)) }
            dt { "Enabled" } dd { (if policy.enabled { "Yes" } else { "No" }) }
            dt { "Next due" } dd { (next_due_text(&overview)) }
            dt { "Last run" } dd { (last_run_cell(overview.last_run.as_ref())) }
        }
        (policy_actions(&caller, &overview, true))
        section aria-labelledby="job-log-heading" {
            h2 #job-log-heading { "Job log" }
            @if runs.is_empty() {
                p { "This policy has not run yet." }
            } @else {
                table #job-log {
                    thead { tr { th { "Started" } th { "Ended" } th { "Trigger" } th { "Status" } th { "Users" } th { "Items new" } th { "Items changed" } } }
                    tbody {
                        @for run in &runs {
                            tr data-run-id=(run.id) data-status=(run.status.as_str()) {
                                td { a href={ "/runs/" (run.id) } { (time_text(run.started_at)) } }
                                td { (run.finished_at.map(time_text).unwrap_or_else(|| "—".to_owned())) }
                                td { (trigger_label(run)) }
                                td { (run_status(run.status)) }
                                td { (run.users) }
                                td { (run.items_new) }
                                td { (run.items_changed) }
                            }
                        }
                    }
                }
            }
        }
    };
    render(
        Page {
            title: &policy.name,
            caller: Some(&caller),
            refresh_without_js: overview.running().then_some(5),
        },
        body,
    )
    .into_response()
}

/// The buttons a caller may use on one policy. `with_edit`: also the Edit link.
pub fn policy_actions(caller: &Caller, overview: &PolicyOverview, with_edit: bool) -> Markup {
    let policy = &overview.policy;
    let id = policy.id;
    html! {
        div.actions.row-actions {
            @if caller.may(Permission::RunPolicies) {
                form method="post" action={ "/policies/" (id) "/run" } {
                    (csrf_field(caller))
                    button type="submit" disabled[overview.running()] { "Run now" }
                }
            }
            @if caller.may(Permission::ManagePolicies) {
                @if with_edit {
                    a.button href={ "/policies/" (id) "/edit" } { "Edit" }
                }
                @if policy.enabled {
                    form method="post" action={ "/policies/" (id) "/disable" } {
                        (csrf_field(caller))
                        button.secondary type="submit" { "Disable" }
                    }
                } @else {
                    form method="post" action={ "/policies/" (id) "/enable" } {
                        (csrf_field(caller))
                        button.secondary type="submit" { "Enable" }
                    }
                }
                form method="post" action={ "/policies/" (id) "/delete" } {
                    (csrf_field(caller))
                    button.secondary type="submit" { "Delete" }
                }
            }
        }
    }
}

pub fn schedule_text(schedule: &str) -> String {
    if schedule.is_empty() {
        "Run now only".to_owned()
    } else {
        format!("{schedule} (UTC)")
    }
}

pub fn next_due_text(overview: &PolicyOverview) -> String {
    match (overview.policy.enabled, overview.policy.next_due_at) {
        (false, _) => "Disabled".to_owned(),
        (true, Some(at)) => time_text(at),
        (true, None) => "Not scheduled".to_owned(),
    }
}

pub fn last_run_cell(run: Option<&BackupRun>) -> Markup {
    match run {
        Some(run) => html! {
            a href={ "/runs/" (run.id) } { (run_status(run.status)) }
            " " (time_text(run.started_at))
        },
        None => html! { "Never" },
    }
}

pub fn run_status(status: RunStatus) -> Markup {
    let label = match status {
        RunStatus::Running => "Running",
        RunStatus::Success => "Success",
        RunStatus::Warning => "Warning",
        RunStatus::Failed => "Failed",
    };
    html! { span.status data-status=(status.as_str()) { (label) } }
}

pub fn trigger_label(run: &BackupRun) -> &'static str {
    match run.trigger {
        RunTrigger::Scheduled => "Scheduled",
        RunTrigger::Manual => "Run now",
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn run_now(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    match state.policies.run_now(&caller, PolicyId(id)).await {
        Ok(run) => Redirect::to(&format!("/runs/{}", run.id)).into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}

pub async fn enable(
    state: State<AppState>,
    caller: PageCaller,
    id: Path<Uuid>,
    form: Form<CsrfForm>,
) -> Response {
    set_enabled(state, caller, id, form, true).await
}

pub async fn disable(
    state: State<AppState>,
    caller: PageCaller,
    id: Path<Uuid>,
    form: Form<CsrfForm>,
) -> Response {
    set_enabled(state, caller, id, form, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
    enabled: bool,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    match state
        .policies
        .set_enabled(&caller, PolicyId(id), enabled)
        .await
    {
        Ok(policy) => Redirect::to(&format!("/policies/{}", policy.id)).into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}

pub async fn delete(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<Uuid>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let id = PolicyId(id);
    let organization = match state.policies.policy(&caller, id).await {
        Ok(overview) => overview.policy.organization_id,
        Err(err) => return error_page(Some(&caller), &err),
    };
    match state.policies.delete(&caller, id).await {
        Ok(()) => Redirect::to(&format!("/organizations/{organization}")).into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}
