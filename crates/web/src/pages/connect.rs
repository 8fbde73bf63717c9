//! **Connect an organization** (the form: tenant, cloud, optional name, and which roles the
//! account that signs in needs) and **Reconnect** (the organization page's button). Both start
//! a `connect` operation, whose page shows the device sign-in and then the connect steps.

use super::certificate::{CsrfForm, operation_page};
use super::layout::{Page, csrf_field, csrf_rejected, render};
use super::organizations::{checked_cloud, cloud_select, tenant_field};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tenantlink_service::{Caller, ConnectRequest, OrganizationId, Permission};

/// Connect and Reconnect register an application and change the active certificate: the
/// service asks for both permissions, so the buttons are shown only to callers holding both.
pub(super) fn may_connect(caller: &Caller) -> bool {
    caller.may(Permission::ManageOrganizations) && caller.may(Permission::ManageCertificates)
}

/// The directory roles the signing-in account needs, as the operation page also shows them.
pub(super) fn required_roles() -> Markup {
    html! {
        div #required-roles .notice {
            p { "Sign in with an account of that tenant that holds:" }
            ul {
                li { strong { "Application Administrator" } " or " strong { "Cloud Application Administrator" }
                    " — to create the backup application and its service principal;" }
                li { strong { "Privileged Role Administrator" } " or " strong { "Global Administrator" }
                    " — to grant admin consent to its Microsoft Graph application permissions." }
            }
            p { "A Global Administrator holds both. Nothing is created until the sign-in is complete." }
        }
    }
}

/// `GET /organizations/connect`.
pub async fn form(PageCaller(caller): PageCaller) -> Response {
    let body = html! {
        p.breadcrumb { a href="/organizations" { "Organizations" } " › Connect an organization" }
        h1 { "Connect an organization" }
        p { "tenantlink signs in once to the tenant, registers its backup application there (or reuses the one it registered before), creates its service principal, grants admin consent to the Microsoft Graph permissions the backups need, lets the application roll its own keys, and gives it its first certificate." }
        (required_roles())
        @if may_connect(&caller) {
            form.stack #connect method="post" action="/organizations/connect" {
                (csrf_field(&caller))
                (tenant_field())
                (cloud_select())
                label for="name" { "Display name (optional)" }
                input #name type="text" name="name" aria-describedby="name-hint";
                p.hint #name-hint { "The organization's name in tenantlink; the tenant when left empty." }
                button type="submit" { "Connect" }
            }
        } @else {
            p { "Only Administrators may connect an organization." }
        }
    };
    render(
        Page {
            title: "Connect an organization",
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

#[derive(Debug, Deserialize)]
pub struct ConnectForm {
    #[serde(default)]
    csrf: String,
    tenant: String,
    cloud: String,
    #[serde(default)]
    name: String,
}

/// `POST /organizations/connect`: the operation page, with the device sign-in.
pub async fn start(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(form): Form<ConnectForm>,
) -> Response {
    let cloud = match checked_cloud(&caller, &form.csrf, &form.cloud) {
        Ok(cloud) => cloud,
        Err(refused) => return *refused,
    };
    let request = ConnectRequest {
        tenant: form.tenant,
        cloud,
        name: Some(form.name),
    };
    operation_page(
        &caller,
        state.workflows.start_connect(&caller, request).await,
    )
}

/// `POST /organizations/{id}/reconnect`: the same steps for an organization tenantlink has.
pub async fn reconnect(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(form): Form<CsrfForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    operation_page(&caller, state.workflows.start_reconnect(&caller, id).await)
}

/// The organization page's section: Reconnect, for callers who may.
pub(super) fn reconnect_section(caller: &Caller, id: OrganizationId) -> Markup {
    html! {
        @if may_connect(caller) {
            section #reconnect aria-labelledby="reconnect-heading" {
                h2 #reconnect-heading { "Reconnect" }
                p { "When the backup application was deleted in Entra ID or its admin consent revoked: sign in again as for Connect; tenantlink reuses the application if it still exists (or registers a new one), grants the missing consent and gives it a new certificate." }
                form method="post" action={ "/organizations/" (id) "/reconnect" } {
                    (csrf_field(caller))
                    button type="submit" { "Reconnect" }
                }
            }
        }
    }
}
