//! The organization page's **Certificate renewal** section: the renewal policy, and the form with
//! which an administrator changes it. The form is read by the API's parser of `renewal_policy`,
//! so both refuse the same values with the same field names; the service validates and audits.

use super::layout::{csrf_field, csrf_rejected, error_page};
use crate::AppState;
use crate::api::renewal_dto::renewal_policy_change;
use crate::auth::{PageCaller, csrf_matches};
use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use tenantlink_service::renewal::{RenewalPolicy, UploadedCertificates};
use tenantlink_service::{Caller, OrganizationId, Permission, ServiceError};

pub fn section(caller: &Caller, organization: OrganizationId, policy: &RenewalPolicy) -> Markup {
    let lifetime = policy.lifetime_days.map(|d| d.to_string());
    html! {
        section #renewal-policy aria-labelledby="renewal-policy-heading"
            data-automatic=(policy.automatic) data-uploaded=(policy.uploaded.as_str()) {
            h2 #renewal-policy-heading { "Certificate renewal" }
            p {
                "Automatic renewal is " strong { (if policy.automatic { "on" } else { "off" }) }
                ": new certificates last "
                (lifetime.as_deref().map_or_else(|| "the configured validity".to_owned(), |d| format!("{d} days")))
                ", renewed when " (policy.renew_at.to_string()) " of the lifetime has passed. Uploaded certificates: "
                (uploaded_label(policy.uploaded)) "."
            }
            @if caller.may(Permission::ManageOrganizations) {
                form.stack method="post" action={ "/organizations/" (organization) "/renewal_policy" } {
                    (csrf_field(caller))
                    label {
                        input #renewal-automatic type="checkbox" name="automatic" checked[policy.automatic];
                        " Renew automatically"
                    }
                    label for="renewal-lifetime" { "Lifetime of new certificates in days (empty: the configured validity)" }
                    input #renewal-lifetime type="number" name="lifetime_days" min="1" value=[lifetime.as_deref()];
                    label for="renewal-renew-at" { "Renew when this share of the lifetime has passed" }
                    input #renewal-renew-at type="text" name="renew_at_fraction" required value=(policy.renew_at.to_string());
                    label for="renewal-uploaded" { "Uploaded (CA-issued) certificates" }
                    select #renewal-uploaded name="uploaded" {
                        @for choice in [UploadedCertificates::WarnOnly, UploadedCertificates::Rotate] {
                            option value=(choice.as_str()) selected[choice == policy.uploaded] { (uploaded_label(choice)) }
                        }
                    }
                    button type="submit" { "Save renewal policy" }
                }
            }
        }
    }
}

fn uploaded_label(choice: UploadedCertificates) -> &'static str {
    match choice {
        UploadedCertificates::WarnOnly => "warn, don't rotate",
        UploadedCertificates::Rotate => "replace with a generated certificate",
    }
}

#[derive(Debug, Deserialize)]
pub struct RenewalPolicyForm {
    #[serde(default)]
    csrf: String,
    /// Present when the box is ticked.
    #[serde(default)]
    automatic: Option<String>,
    #[serde(default)]
    lifetime_days: String,
    #[serde(default)]
    renew_at_fraction: String,
    #[serde(default)]
    uploaded: String,
}

impl RenewalPolicyForm {
    /// The form as the API's `renewal_policy` object: an empty lifetime is the default (`null`),
    /// anything else must be a number of days.
    fn as_json(&self) -> Result<Value, ServiceError> {
        let lifetime = match self.lifetime_days.trim() {
            "" => Value::Null,
            days => json!(days.parse::<u64>().map_err(|_| ServiceError::Invalid {
                field: "renewal_policy.lifetime_days".into(),
                message: format!(
                    "renewal_policy.lifetime_days must be a whole number of days, not {days:?}"
                ),
            })?),
        };
        Ok(json!({
            "automatic": self.automatic.is_some(),
            "lifetime_days": lifetime,
            "renew_at_fraction": self.renew_at_fraction.trim(),
            "uploaded": self.uploaded,
        }))
    }
}

/// Saves the policy and returns to the organization's page.
pub async fn change(
    State(state): State<AppState>,
    PageCaller(caller): PageCaller,
    Path(id): Path<OrganizationId>,
    Form(form): Form<RenewalPolicyForm>,
) -> Response {
    if !csrf_matches(&caller, &form.csrf) {
        return csrf_rejected(&caller);
    }
    let change = form
        .as_json()
        .and_then(|value| renewal_policy_change(&value).map_err(ServiceError::from));
    let result = match change {
        Ok(change) => {
            state
                .workflows
                .set_renewal_policy(&caller, id, &change)
                .await
        }
        Err(err) => Err(err),
    };
    match result {
        Ok(_) => Redirect::to(&format!("/organizations/{id}#renewal-policy")).into_response(),
        Err(err) => error_page(Some(&caller), &err),
    }
}
