use super::layout::{Page, csrf_field, csrf_rejected, error_page, render};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::html;
use serde::Deserialize;
use tenantlink_service::{CertificatePage, Cloud, ConnectionState, NewOrganization, Permission};

pub async fn list(State(state): State<AppState>, PageCaller(caller): PageCaller) -> Response {
    let organizations = match state.workflows.organizations(&caller).await {
        Ok(list) => list,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let mut rows = Vec::new();
    for organization in organizations {
        let page = state
            .workflows
            .certificate_page(&caller, organization.id)
            .await;
        let connection = state.policies.connection(&caller, organization.id).await;
        let renewal = state
            .workflows
            .renewal_status(&caller, organization.id)
            .await;
        rows.push((organization, page.ok(), connection.ok(), renewal.ok()));
    }
    let body = html! {
        h1 { "Organizations" }
        table {
            thead { tr { th { "Name" } th { "Tenant" } th { "Cloud" } th { "Application (client) id" } th { "Certificate" } th { "Connection" } } }
            tbody {
                @for (organization, page, connection, renewal) in &rows {
                    tr {
                        td { a href={ "/organizations/" (organization.id) } { (organization.name) } }
                        td { (organization.tenant) }
                        td { (organization.cloud) }
                        td { code { (organization.app_id) } }
                        td {
                            (page.as_ref().map(|p: &CertificatePage| p.status.label()).unwrap_or("Unknown"))
                            @if let Some(renewal) = renewal { " " (super::banner::renewal_marker(renewal)) }
                        }
                        td data-connection=(connection.as_ref().map_or("unknown", |c| c.state.as_str())) {
                            (connection.as_ref().map_or("Unknown", |c| connection_label(c.state)))
                        }
                    }
                }
            }
        }
        @if caller.may(Permission::ManageOrganizations) {
            h2 { "Add an organization" }
            form.stack method="post" action="/organizations" {
                (csrf_field(&caller))
                label for="name" { "Name" }
                input #name type="text" name="name";
                label for="tenant" { "Tenant id or domain" }
                input #tenant type="text" name="tenant" required placeholder="contoso.onmicrosoft.com";
                label for="cloud" { "Cloud" }
                select #cloud name="cloud" {
                    option value="global" { "Microsoft global cloud" }
                    option value="usgov" { "US Government" }
                    option value="china" { "China (21Vianet)" }
                    option value="sandbox" { "Sandbox tenant" }
                }
                label for="app_id" { "Backup application (client) id" }
                input #app_id type="text" name="app_id" required;
                button type="submit" { "Add organization" }
            }
        }
    };
    render(
        Page {
            title: "Organizations",
            caller: Some(&caller),
            refresh_without_js: None,
        },
        body,
    )
    .into_response()
}

#[derive(Deserialize)]
pub struct AddForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    tenant: String,
    cloud: String,
    app_id: String,
}

pub async fn add(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Form(form): Form<AddForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let cloud = match Cloud::from_input(&form.cloud) {
        Ok(cloud) => cloud,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let new = NewOrganization {
        name: form.name,
        tenant: form.tenant,
        cloud,
        app_id: form.app_id,
    };
    match state.workflows.add_organization(&caller, new).await {
        Ok(organization) => Redirect::to(&format!(
            "/organizations/{}/settings/system",
            organization.id
        ))
        .into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}

fn connection_label(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Connected => "Connected",
        ConnectionState::Broken => "Broken",
        ConnectionState::Unknown => "Not checked yet",
    }
}
