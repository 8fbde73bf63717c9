//! `POST /_sandbox/applications`: registers many confidential client applications at once, each
//! with its application permissions and certificates, in one tenant registry change (one journal
//! record). Benchmarks register fleets of thousands this way; through Graph each key would be its
//! own change and journal record.

use super::{ControlError, parse};
use crate::keys::{CertificateKey, hex_upper};
use crate::state::SharedState;
use crate::tenants::seed::new_application;
use crate::tenants::{ParsedKey, StoredKeyCredential};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use uuid::Uuid;

/// Requests larger than axum's default 2 MB limit are expected here (a certificate is ~1.7 kB).
pub(super) const BODY_LIMIT: usize = 64 << 20;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    /// Tenant id or domain; the default tenant when absent.
    #[serde(default)]
    tenant: Option<String>,
    applications: Vec<NewApplication>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewApplication {
    display_name: String,
    #[serde(default)]
    application_permissions: Vec<String>,
    /// Standard base64 of each certificate's DER, as Graph's `keyCredentials[].key`.
    #[serde(default)]
    certificates: Vec<String>,
}

fn invalid(kind: &'static str, message: String) -> ControlError {
    ControlError {
        status: StatusCode::BAD_REQUEST,
        kind,
        message,
    }
}

pub(super) async fn register(
    State(state): State<SharedState>,
    body: axum::body::Bytes,
) -> Response {
    match try_register(&state, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn try_register(state: &SharedState, body: &[u8]) -> Result<Response, ControlError> {
    let request: RegisterRequest = parse(body)?;
    let now = state.now();
    // Everything is checked before anything changes.
    let mut applications = Vec::with_capacity(request.applications.len());
    for (index, wanted) in request.applications.into_iter().enumerate() {
        if wanted.display_name.trim().is_empty() {
            return Err(invalid(
                "invalid_request",
                format!("applications[{index}]: 'display_name' must not be empty"),
            ));
        }
        let mut application = new_application(&wanted.display_name, false, &[]);
        application.application_permissions = wanted.application_permissions;
        for (key_index, key) in wanted.certificates.into_iter().enumerate() {
            let certificate = CertificateKey::from_base64(&key).map_err(|err| {
                invalid(
                    "invalid_certificate",
                    format!("applications[{index}].certificates[{key_index}]: {err}"),
                )
            })?;
            application.key_credentials.push(StoredKeyCredential {
                key_id: Uuid::new_v4(),
                custom_key_identifier: Some(hex_upper(&certificate.sha1)),
                display_name: Some(certificate.subject.clone()),
                start: certificate.not_before,
                end: certificate.not_after,
                key_type: "AsymmetricX509Cert".to_owned(),
                usage: "Verify".to_owned(),
                key,
                attached_at: now,
                parsed: ParsedKey::with(certificate),
            });
        }
        applications.push(application);
    }
    let registered: Vec<(Uuid, Uuid)> = applications.iter().map(|a| (a.app_id, a.id)).collect();
    let tenant_ref = request.tenant;
    state
        .update(|d| {
            let tenant = match &tenant_ref {
                Some(reference) => d.tenant_mut(reference),
                None => d.first_tenant_mut(),
            }
            .ok_or_else(|| {
                RegisterFailure::UnknownTenant(tenant_ref.clone().unwrap_or_default())
            })?;
            tenant
                .applications
                .extend(applications.into_iter().map(std::sync::Arc::new));
            Ok::<_, RegisterFailure>(())
        })
        .map_err(|failure| match failure {
            RegisterFailure::UnknownTenant(tenant) => invalid(
                "unknown_tenant",
                format!("no tenant {tenant:?} in the sandbox directory"),
            ),
            RegisterFailure::Store(err) => {
                tracing::error!(error = %err, "cannot persist the sandbox directory");
                ControlError {
                    status: StatusCode::INTERNAL_SERVER_ERROR,
                    kind: "storage_failed",
                    message: format!("nothing was registered: {err}"),
                }
            }
        })?;
    let listed: Vec<_> = registered
        .iter()
        .map(|(app_id, object_id)| json!({"app_id": app_id.to_string(), "object_id": object_id.to_string()}))
        .collect();
    Ok((StatusCode::CREATED, Json(json!({"applications": listed}))).into_response())
}

enum RegisterFailure {
    UnknownTenant(String),
    Store(crate::SandboxError),
}

impl From<crate::SandboxError> for RegisterFailure {
    fn from(err: crate::SandboxError) -> Self {
        Self::Store(err)
    }
}
