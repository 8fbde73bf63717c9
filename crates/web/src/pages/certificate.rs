//! Settings → System → SSL Certificate of one organization.

use super::layout::{Page, csrf_field, csrf_rejected, error_page, render, thumbprint, time_text};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tenantlink_service::{
    CertificateId, CertificateView, LastCheck, OperationKind, OrganizationId, Permission,
};

/// `?checked=1`: the page is the answer to Check connection, so the result takes the focus.
#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    #[serde(default)]
    checked: Option<String>,
}

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Query(query): Query<PageQuery>,
) -> Response {
    let just_checked = query.checked.is_some();
    let page = match state.workflows.certificate_page(&caller, id).await {
        Ok(page) => page,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let operations = state
        .workflows
        .operations(&caller, id)
        .await
        .unwrap_or_default();
    let running = operations.iter().find(|o| !o.is_finished());
    let renewal = state.workflows.renewal_status(&caller, id).await.ok();
    let previous_key = match crate::renewal_view::previous_key(&state, id).await {
        Ok(key) => key,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let body = html! {
        p.breadcrumb {
            a href="/organizations" { "Organizations" } " › "
            a href={ "/organizations/" (id) } { (page.organization.name) } " › Settings › System"
        }
        h1 { (page.organization.name) }
        section aria-labelledby="ssl-heading" {
            h2 #ssl-heading { "SSL Certificate" }
            @match &page.active {
                Some(active) => { (certificate_details(active)) }
                None => {
                    p #certificate-state data-state="none" { "State: " strong { "None" } " — no certificate is active for this organization yet." }
                }
            }
            @if let Some(check) = &page.last_check {
                (last_check(check, just_checked))
            }
            @if page.active.is_some() && caller.may(Permission::CheckConnection) {
                form method="post" action={ "/organizations/" (id) "/check" } {
                    (csrf_field(&caller))
                    button type="submit" { "Check connection" }
                }
            }
            @if caller.may(Permission::ManageCertificates) {
                @if let Some(op) = running {
                    p.notice { "An operation is in progress: " a href={ "/operations/" (op.id) } { "continue it" } "." }
                } @else {
                    div.actions {
                        form method="post" action={ "/organizations/" (id) "/certificate/generate" } {
                            (csrf_field(&caller))
                            button type="submit" { "Generate a new certificate" }
                        }
                        form method="post" action={ "/organizations/" (id) "/certificate/upload" } {
                            (csrf_field(&caller))
                            button type="submit" { "Upload a custom certificate" }
                        }
                        @if page.active.is_some() {
                            form method="post" action={ "/organizations/" (id) "/certificate/rotate" } {
                                (csrf_field(&caller))
                                button type="submit" { "Rotate now" }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(renewal) = &renewal {
            (super::renewal::renewal_section(renewal, previous_key.as_ref()))
        }
        @if !page.previous.is_empty() {
            section aria-labelledby="previous-heading" {
                h2 #previous-heading { "Previous certificates" }
                table {
                    thead { tr { th { "Subject" } th { "SHA-1 thumbprint" } th { "Valid to" } th { "Source" } th { "State" } th { "Public part" } } }
                    tbody {
                        @for c in &page.previous {
                            tr {
                                td { (c.subject) }
                                td { (thumbprint(&c.sha1_thumbprint)) }
                                td { (time_text(c.valid_to)) }
                                td { (c.source.as_str()) }
                                td { (c.status.label()) }
                                td { a href={ "/certificates/" (c.id) "/cer" } { "Download .cer" } }
                            }
                        }
                    }
                }
            }
        }
        @if !operations.is_empty() {
            section aria-labelledby="operations-heading" {
                h2 #operations-heading { "Recent operations" }
                ul {
                    @for op in operations.iter().take(5) {
                        li {
                            a href={ "/operations/" (op.id) } { (op.kind.as_str()) }
                            " by " (op.started_by) " at " (time_text(op.started_at)) ": " (op.step.as_str())
                        }
                    }
                }
            }
        }
    };
    render(
        Page {
            title: "SSL Certificate",
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

fn certificate_details(c: &CertificateView) -> Markup {
    html! {
        dl.certificate #active-certificate data-state=(c.status.as_str()) {
            dt { "State" } dd { strong.state { (c.status.label()) } }
            dt { "Subject" } dd { (c.subject) }
            dt { "SHA-1 thumbprint" } dd #sha1-thumbprint { (thumbprint(&c.sha1_thumbprint)) }
            dt { "SHA-256 thumbprint" } dd { (thumbprint(&c.sha256_thumbprint)) }
            dt { "Valid from" } dd { (time_text(c.valid_from)) }
            dt { "Valid to" } dd { (time_text(c.valid_to)) }
            dt { "Days left" } dd { (c.days_left) }
            dt { "Source" } dd { (c.source.as_str()) }
        }
        p { a href={ "/certificates/" (c.id) "/cer" } { "Download .cer (public part)" } }
    }
}

/// What Entra said at the active certificate's latest app-only proof, and when.
///
/// Check connection answers with a new load of this page; without moving the focus to the result
/// a screen reader would start again at the top, so that load focuses it (`autofocus` on a
/// `tabindex="-1"` region works without JavaScript).
fn last_check(check: &LastCheck, just_checked: bool) -> Markup {
    html! {
        div #last-check data-outcome=(check.outcome.as_str()) role="region"
            aria-label="Connection check" tabindex="-1" autofocus[just_checked] {
            p {
                "Last checked " (time_text(check.checked_at)) " by " (check.source.label()) ": "
                (check.explanation)
            }
            @if let Some(remediation) = &check.remediation {
                p { strong { "What to do: " } (remediation) }
            }
            @if let Some(detail) = &check.detail {
                details {
                    summary { "Entra ID's message" }
                    pre { (detail) }
                }
            }
        }
    }
}

/// **Check connection**: one app-only token request with the active certificate; the page then
/// shows what Entra said.
pub async fn check_connection(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    match state.workflows.check_connection(&caller, id).await {
        Ok(_) => {
            Redirect::to(&format!("/organizations/{id}/settings/system?checked=1")).into_response()
        }
        Err(err) => error_page(Some(&caller), &err),
    }
}

/// A form with nothing but its CSRF token (a button); also Reconnect's.
#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    pub(super) csrf: String,
}

pub async fn start_generate(
    state: State<AppState>,
    caller: PageCaller,
    id: Path<OrganizationId>,
    form: Form<CsrfForm>,
) -> Response {
    start(state, caller, id, form, OperationKind::Generate).await
}

pub async fn start_upload(
    state: State<AppState>,
    caller: PageCaller,
    id: Path<OrganizationId>,
    form: Form<CsrfForm>,
) -> Response {
    start(state, caller, id, form, OperationKind::Upload).await
}

/// **Rotate now** (Administrators; refused by the service for anyone else): starts a rotation
/// without a sign-in and shows its operation page, which follows the steps.
pub async fn rotate_now(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    operation_page(&caller, state.workflows.rotate_now(&caller, id).await)
}

/// The started operation's page, or the explained refusal.
pub(super) fn operation_page(
    caller: &tenantlink_service::Caller,
    started: tenantlink_service::ServiceResult<tenantlink_service::Operation>,
) -> Response {
    match started {
        Ok(operation) => Redirect::to(&format!("/operations/{}", operation.id)).into_response(),
        Err(err) => error_page(Some(caller), &err),
    }
}

async fn start(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(form): Form<CsrfForm>,
    kind: OperationKind,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    operation_page(&caller, state.workflows.start(&caller, id, kind).await)
}

/// The public part only, DER-encoded, as Entra ID's "Upload certificate" accepts it.
pub async fn download_cer(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<CertificateId>,
) -> Response {
    cer_response(&state, &caller, id).await
}

pub(crate) async fn cer_response(
    state: &AppState,
    caller: &tenantlink_service::Caller,
    id: CertificateId,
) -> Response {
    match state.workflows.certificate(caller, id).await {
        Ok(certificate) => (
            [
                (header::CONTENT_TYPE, "application/pkix-cert".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!(
                        "attachment; filename=\"{}.cer\"",
                        certificate.sha1_thumbprint
                    ),
                ),
            ],
            certificate.der,
        )
            .into_response(),
        Err(err) => error_page(Some(caller), &err),
    }
}
