//! `GET` and `POST` `/_sandbox/tenant/access` (also at `/_sandbox/tenant/conditional_access`):
//! the tenant's Conditional Access block of the device code flow and whether users may register
//! applications. A POST changes only the fields it names; persisted like every tenant change.

use super::{ControlError, parse};
use crate::state::SharedState;
use crate::tenants::Tenant;
use crate::tenants::principals::DeviceCodeBlockPoint;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

#[derive(Deserialize)]
pub(super) struct TenantQuery {
    /// Tenant id or domain; the default tenant when absent.
    #[serde(default)]
    tenant: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessChange {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(default)]
    block_device_code_flow: Option<bool>,
    #[serde(default)]
    device_code_block_at: Option<DeviceCodeBlockPoint>,
    #[serde(default)]
    users_can_register_applications: Option<bool>,
}

fn body(tenant: &Tenant) -> Response {
    Json(json!({
        "tenant": tenant.id.to_string(),
        "domain": tenant.domain,
        "block_device_code_flow": tenant.access.block_device_code_flow,
        "device_code_block_at": tenant.access.device_code_block_at,
        "users_can_register_applications": tenant.access.users_can_register_applications,
    }))
    .into_response()
}

fn unknown_tenant(reference: Option<&str>) -> ControlError {
    ControlError {
        status: StatusCode::BAD_REQUEST,
        kind: "unknown_tenant",
        message: format!(
            "no tenant {:?} in the sandbox directory",
            reference.unwrap_or_default()
        ),
    }
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
    let request: AccessChange = match parse(&bytes) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    if request.block_device_code_flow.is_none()
        && request.device_code_block_at.is_none()
        && request.users_can_register_applications.is_none()
    {
        return super::error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "give at least one of 'block_device_code_flow' (true/false), 'device_code_block_at' (\"sign_in\" or \"request\"), 'users_can_register_applications' (true/false)",
        );
    }
    let reference = request.tenant.clone();
    let result = state.update(|d| {
        let tenant = match &reference {
            Some(reference) => d.tenant_mut(reference),
            None => d.first_tenant_mut(),
        }
        .ok_or(Failure::UnknownTenant)?;
        if let Some(block) = request.block_device_code_flow {
            tenant.access.block_device_code_flow = block;
        }
        if let Some(at) = request.device_code_block_at {
            tenant.access.device_code_block_at = at;
        }
        if let Some(allowed) = request.users_can_register_applications {
            tenant.access.users_can_register_applications = allowed;
        }
        Ok::<_, Failure>(body(tenant))
    });
    match result {
        Ok(response) => response,
        Err(Failure::UnknownTenant) => unknown_tenant(reference.as_deref()).into_response(),
        Err(Failure::Store(err)) => {
            tracing::error!(error = %err, "cannot persist the sandbox directory");
            super::error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "storage_failed",
                format!("the tenant's access settings were not changed: {err}"),
            )
        }
    }
}

enum Failure {
    UnknownTenant,
    Store(crate::SandboxError),
}

impl From<crate::SandboxError> for Failure {
    fn from(err: crate::SandboxError) -> Self {
        Self::Store(err)
    }
}
