//! The organization page: the certificate and renewal banners, the connection state of its
//! backups, its assertion profile and renewal policy, and its backup policies with the buttons the caller's role allows.

use super::banner::{certificate_banner, certificate_settings_href, renewal_banner};
use super::layout::{Page, error_page, render};
use super::policies::{last_run_cell, next_due_text, policy_actions, schedule_text};
use crate::AppState;
use crate::auth::PageCaller;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use tenantlink_backup::Connection;
use tenantlink_backup::policies::scope_text;
use tenantlink_service::{ConnectionState, OrganizationId, Permission};

pub async fn page(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
) -> Response {
    let certificate = match state.workflows.certificate_page(&caller, id).await {
        Ok(page) => page,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let (policies, connection) = match (
        state.policies.list(&caller, id).await,
        state.policies.connection(&caller, id).await,
    ) {
        (Ok(policies), Ok(connection)) => (policies, connection),
        (Err(err), _) | (_, Err(err)) => return error_page(Some(&caller), &err),
    };
    let (renewal, renewal_policy) = match (
        state.workflows.renewal_status(&caller, id).await,
        state.workflows.renewal_policy(&caller, id).await,
    ) {
        (Ok(status), Ok(policy)) => (status, policy),
        (Err(err), _) | (_, Err(err)) => return error_page(Some(&caller), &err),
    };
    let recipients = match state.notices.organization_recipients(&caller, id).await {
        Ok(recipients) => recipients,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let organization = &certificate.organization;
    let body = html! {
        p.breadcrumb { a href="/organizations" { "Organizations" } " › " (organization.name) }
        h1 { (organization.name) }
        (certificate_banner(&certificate))
        (renewal_banner(id, &renewal))
        p {
            "Tenant " code { (organization.tenant) } " · certificate: "
            strong #certificate-state data-state=(certificate.status.as_str()) { (certificate.status.label()) }
            " · "
            a href=(certificate_settings_href(id)) { "Settings → System → SSL Certificate" }
        }
        (connection_section(&connection, id))
        (super::connect::reconnect_section(&caller, id))
        (super::assertion_profile::section(&caller, organization))
        (super::renewal_policy::section(&caller, id, &renewal_policy))
        (super::notice_recipients::section(&caller, id, &recipients))
        section aria-labelledby="policies-heading" {
            h2 #policies-heading { "Backup policies" }
            @if policies.is_empty() {
                p { "No backup policies yet." }
            } @else {
                table #policies {
                    thead { tr { th { "Name" } th { "Schedule" } th { "Scope" } th { "Enabled" } th { "Next due" } th { "Last run" } th { "Actions" } } }
                    tbody {
                        @for overview in &policies {
                            @let policy = &overview.policy;
                            tr data-policy-id=(policy.id) {
                                td { a href={ "/policies/" (policy.id) } { (policy.name) } }
                                td { (schedule_text(&policy.schedule)) }
                                td { (scope_text(&policy.scope)) }
                                td { (if policy.enabled { "Yes" } else { "No" }) }
                                td { (next_due_text(overview)) }
                                td { (last_run_cell(overview.last_run.as_ref())) }
                                td { (policy_actions(&caller, overview, true)) }
                            }
                        }
                    }
                }
            }
            @if caller.may(Permission::ManagePolicies) {
                p { a.button href={ "/organizations/" (id) "/policies/new" } { "New backup policy" } }
            }
        }
    };
    render(
        Page {
            title: &organization.name,
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

fn connection_section(connection: &Connection, id: OrganizationId) -> Markup {
    html! {
        section #connection aria-labelledby="connection-heading" data-state=(connection.state.as_str()) {
            h2 #connection-heading { "Connection" }
            @match connection.state {
                ConnectionState::Connected => {
                    p.success { "Connected: the last backup run signed in to Microsoft 365." }
                }
                ConnectionState::Unknown => {
                    p { "Not checked yet: no backup run has signed in to this organization." }
                }
                ConnectionState::Broken => {
                    div.error role="alert" {
                        p { strong { "Broken: " } "backup runs cannot sign in to this organization. The last failure:" }
                        @if let Some(error) = &connection.last_error {
                            pre #connection-error { (error) }
                        }
                        p {
                            "Generate a new certificate or upload one in "
                            a href=(certificate_settings_href(id)) { "Settings → System → SSL Certificate" }
                            "; the next successful run marks the connection as connected again."
                        }
                    }
                }
            }
        }
    }
}
