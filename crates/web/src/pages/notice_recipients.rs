//! The organization page's **Notices** section: who gets this organization's e-mail notices
//! (its own list, or else the default recipients of the Notices page), and the form that changes
//! it. The service validates the addresses and audits the change.

use super::layout::{csrf_field, csrf_rejected, error_page};
use super::notices::{FormPairs, list_items, value};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use tenantlink_service::{Caller, OrganizationId, Permission};

pub fn section(caller: &Caller, organization: OrganizationId, recipients: &[String]) -> Markup {
    html! {
        section #notice-recipients aria-labelledby="notice-recipients-heading"
            data-recipients=(recipients.join(",")) {
            h2 #notice-recipients-heading { "Notices" }
            p {
                @if recipients.is_empty() {
                    "E-mail notices of this organization go to the default recipients ("
                    a href="/notices" { "Notices" } ")."
                } @else {
                    "E-mail notices of this organization go to " strong { (recipients.join(", ")) } "."
                }
            }
            @if caller.may(Permission::ManageNotices) {
                form.stack method="post" action={ "/organizations/" (organization) "/notice_recipients" } {
                    (csrf_field(caller))
                    label { "Recipients (one per line; empty: the default recipients)"
                        textarea name="recipients" rows="2" { (recipients.join("\n")) }
                    }
                    button type="submit" { "Save recipients" }
                }
            }
        }
    }
}

pub async fn change(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(pairs): Form<FormPairs>,
) -> Response {
    if !csrf_matches(&caller, value(&pairs, "csrf")) {
        return csrf_rejected(&caller);
    }
    let recipients = list_items(value(&pairs, "recipients"));
    match state
        .notices
        .set_organization_recipients(&caller, id, &recipients)
        .await
    {
        Ok(_) => Redirect::to(&format!("/organizations/{id}")).into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}
