//! `GET` and `POST` (or `PUT`) `/_sandbox/tenant/policy`: the tenant's app-management policy, today only the
//! longest certificate lifetime Graph accepts (`max_certificate_lifetime_days`, `null` = none).
//! Changed like every tenant registry change (one journal record, see `tenants::store`), so it survives a restart
//! and tests need not stop the sandbox to edit that file.

use super::{ControlError, parse};
use crate::state::SharedState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::json;

/// Ten years of lifetime at most is what tenantlink generates; a policy above a century is a
/// typing mistake.
const MAX_POLICY_DAYS: u32 = 36_500;

#[derive(Deserialize)]
pub(super) struct TenantQuery {
    /// Tenant id or domain; the default tenant when absent.
    #[serde(default)]
    tenant: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyRequest {
    #[serde(default)]
    tenant: Option<String>,
    /// Required: absent is an error, `null` removes the limit.
    #[serde(default, deserialize_with = "present")]
    max_certificate_lifetime_days: Option<Option<u32>>,
}

/// Tells a key given as `null` (`Some(None)`) from a missing key (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<u32>>, D::Error> {
    Option::<u32>::deserialize(d).map(Some)
}

fn invalid(kind: &'static str, message: String) -> ControlError {
    ControlError {
        status: StatusCode::BAD_REQUEST,
        kind,
        message,
    }
}

fn unknown_tenant(reference: Option<&str>) -> ControlError {
    invalid(
        "unknown_tenant",
        format!(
            "no tenant {:?} in the sandbox directory",
            reference.unwrap_or_default()
        ),
    )
}

fn body(tenant: &crate::tenants::Tenant) -> Response {
    Json(json!({
        "tenant": tenant.id.to_string(),
        "domain": tenant.domain,
        "max_certificate_lifetime_days": tenant.max_certificate_lifetime_days,
    }))
    .into_response()
}

pub(super) async fn show(
    State(state): State<SharedState>,
    Query(query): Query<TenantQuery>,
) -> Response {
    state.read(|registry| {
        let tenant = match &query.tenant {
            Some(reference) => registry.tenant(reference),
            None => registry.tenants.first().map(|t| &**t),
        };
        match tenant {
            Some(tenant) => body(tenant),
            None => unknown_tenant(query.tenant.as_deref()).into_response(),
        }
    })
}

pub(super) async fn change(State(state): State<SharedState>, bytes: axum::body::Bytes) -> Response {
    match try_change(&state, &bytes) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn try_change(state: &SharedState, bytes: &[u8]) -> Result<Response, ControlError> {
    let request: PolicyRequest = parse(bytes)?;
    let Some(days) = request.max_certificate_lifetime_days else {
        return Err(invalid(
            "invalid_request",
            "'max_certificate_lifetime_days' is required: a number of days, or null for no limit"
                .to_owned(),
        ));
    };
    if let Some(days) = days
        && !(1..=MAX_POLICY_DAYS).contains(&days)
    {
        return Err(invalid(
            "invalid_request",
            format!(
                "'max_certificate_lifetime_days' must be 1 to {MAX_POLICY_DAYS}, or null for no limit; got {days}"
            ),
        ));
    }
    let reference = request.tenant;
    state
        .update(|d| {
            let tenant = match &reference {
                Some(reference) => d.tenant_mut(reference),
                None => d.first_tenant_mut(),
            }
            .ok_or(PolicyFailure::UnknownTenant)?;
            tenant.max_certificate_lifetime_days = days;
            Ok::<_, PolicyFailure>(body(tenant))
        })
        .map_err(|failure| match failure {
            PolicyFailure::UnknownTenant => unknown_tenant(reference.as_deref()),
            PolicyFailure::Store(err) => {
                tracing::error!(error = %err, "cannot persist the sandbox directory");
                ControlError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    kind: "storage_failed",
                    message: format!("the policy was not changed: {err}"),
                }
            }
        })
}

enum PolicyFailure {
    UnknownTenant,
    Store(crate::SandboxError),
}

impl From<crate::SandboxError> for PolicyFailure {
    fn from(err: crate::SandboxError) -> Self {
        Self::Store(err)
    }
}
