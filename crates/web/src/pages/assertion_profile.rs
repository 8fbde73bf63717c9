//! The organization page's **Assertion profile** section: how tenantlink signs its requests for
//! app-only tokens (the certificate proof, Check connection, backup runs), and the form with
//! which an administrator switches it.

use super::layout::{csrf_field, csrf_rejected, error_page};
use crate::AppState;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use tenantlink_service::{
    AssertionProfile, Caller, Organization, OrganizationId, Permission, ServiceError,
};

pub fn section(caller: &Caller, organization: &Organization) -> Markup {
    let current = organization.assertion_profile;
    html! {
        section #assertion-profile aria-labelledby="assertion-profile-heading" data-profile=(current.as_str()) {
            h2 #assertion-profile-heading { "Assertion profile" }
            p {
                "Requests for app-only tokens are signed with "
                strong #assertion-profile-current { (current.label()) }
                ". Switch only when Entra ID refuses the signature algorithm or the thumbprint (AADSTS5002738, AADSTS5002723)."
            }
            @if caller.may(Permission::ManageOrganizations) {
                form method="post" action={ "/organizations/" (organization.id) "/assertion_profile" } {
                    (csrf_field(caller))
                    label for="assertion-profile-choice" { "Profile" }
                    select #assertion-profile-choice name="assertion_profile" {
                        @for profile in AssertionProfile::ALL {
                            option value=(profile.as_str()) selected[profile == current] { (profile.label()) }
                        }
                    }
                    button type="submit" { "Save assertion profile" }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    assertion_profile: String,
}

/// Saves the choice and returns to the organization's page.
pub async fn change(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(form): Form<ProfileForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let profile = match form.assertion_profile.parse::<AssertionProfile>() {
        Ok(profile) => profile,
        Err(err) => {
            let invalid = ServiceError::Invalid {
                field: "assertion_profile".to_owned(),
                message: err.to_string(),
            };
            return error_page(Some(&caller), &invalid);
        }
    };
    match state
        .workflows
        .set_assertion_profile(&caller, id, profile)
        .await
    {
        Ok(_) => Redirect::to(&format!("/organizations/{id}#assertion-profile")).into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}
