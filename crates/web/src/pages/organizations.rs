use super::fleet::fleet_view;
use super::layout::{Page, csrf_field, csrf_rejected, error_page, render};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use crate::fleet_view::FleetParams;
use axum::Form;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tenantlink_service::{Caller, Cloud, NewOrganization, Permission};

/// The fleet view: `?state=&q=&page=&per_page=` as the API takes them.
pub async fn list(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Query(params): Query<FleetParams>,
) -> Response {
    let query = match params.query() {
        Ok(query) => query,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let page = match state.fleet.page(&caller, &query).await {
        Ok(page) => page,
        Err(err) => return error_page(Some(&caller), &err),
    };
    let body = html! {
        h1 { "Organizations" }
        @if super::connect::may_connect(&caller) {
            p { a.button href="/organizations/connect" { "Connect an organization" } }
        }
        (fleet_view(&page, &query))
        @if caller.may(Permission::ManageOrganizations) {
            h2 { "Add an organization" }
            // One link to Connect per page (the button above): this says what differs.
            p { "With the application id of an app registration made by hand in Entra ID (permissions consented, a certificate attached later). Connecting an organization does all of it with one sign-in." }
            form.stack method="post" action="/organizations" {
                (csrf_field(&caller))
                label for="name" { "Name" }
                input #name type="text" name="name";
                (tenant_field())
                (cloud_select())
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

/// The tenant field of the add and connect forms.
pub(super) fn tenant_field() -> Markup {
    html! {
        label for="tenant" { "Tenant id or domain" }
        input #tenant type="text" name="tenant" required placeholder="contoso.onmicrosoft.com";
    }
}

/// The cloud choice of the add and connect forms (values as `Cloud::from_input` reads them).
pub(super) fn cloud_select() -> Markup {
    html! {
        label for="cloud" { "Cloud" }
        select #cloud name="cloud" {
            option value="global" { "Microsoft global cloud" }
            option value="usgov" { "US Government" }
            option value="china" { "China (21Vianet)" }
            option value="sandbox" { "Sandbox tenant" }
        }
    }
}

/// The add and connect forms' first checks: the CSRF token, then the cloud; the refusal page.
/// (Boxed: a `Response` is large beside a `Cloud`.)
pub(super) fn checked_cloud(
    caller: &Caller,
    csrf: &str,
    cloud: &str,
) -> Result<Cloud, Box<Response>> {
    if !csrf_matches(caller, csrf) {
        return Err(Box::new(csrf_rejected(caller)));
    }
    Cloud::from_input(cloud).map_err(|err| Box::new(error_page(Some(caller), &err)))
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
    let cloud = match checked_cloud(&caller, &form.csrf, &form.cloud) {
        Ok(cloud) => cloud,
        Err(refused) => return *refused,
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
