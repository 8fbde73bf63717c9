//! `POST /{tenant}/oauth2/v2.0/token`: the device-code grant (both `grant_type` spellings),
//! authorization codes (with PKCE), refresh tokens, and client credentials with a certificate assertion.

use super::assertion::{self, AssertionCheck};
use super::error::{AadError, ErrorContext, no_store_headers};
use super::scopes::check_client_credentials_scope;
use super::tokens::{self, DelegatedGrant};
use super::{TenantScope, find_application, resolve_tenant};
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::{Form, Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";
const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub(crate) async fn token(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(params): Form<HashMap<String, String>>,
) -> Response {
    let context = ErrorContext::new(state.now(), &state.base_url, &headers);
    state.stats.token_request();
    match grant(&state, &tenant, &params) {
        Ok(body) => (no_store_headers(), Json(body)).into_response(),
        Err(err) => err.render(&context),
    }
}

fn required<'p>(
    params: &'p HashMap<String, String>,
    name: &'static str,
) -> Result<&'p str, AadError> {
    params
        .get(name)
        .map(String::as_str)
        .filter(|v| !v.is_empty())
        .ok_or(AadError::MissingParameter(name))
}

fn grant(
    state: &SharedState,
    tenant: &str,
    params: &HashMap<String, String>,
) -> Result<Value, AadError> {
    let scope =
        state
            .read(|d| resolve_tenant(d, tenant))
            .ok_or_else(|| AadError::TenantNotFound {
                tenant: tenant.to_owned(),
                discovery: false,
            })?;
    let grant_type = required(params, "grant_type")?;
    let client_id = required(params, "client_id")?;
    match grant_type {
        DEVICE_CODE_GRANT | "device_code" => device_code(state, tenant, scope, client_id, params),
        "refresh_token" => refresh_token(state, tenant, scope, client_id, params),
        "authorization_code" => authorization_code(state, tenant, scope, client_id, params),
        "client_credentials" => client_credentials(state, tenant, scope, client_id, params),
        other => Err(AadError::UnsupportedGrantType(other.to_owned())),
    }
}

fn client_app_id(
    state: &SharedState,
    tenant: &str,
    scope: TenantScope,
    client_id: &str,
) -> Result<Uuid, AadError> {
    state
        .read(|d| find_application(d, scope, client_id).map(|(_, app)| app.app_id))
        .ok_or_else(|| AadError::ApplicationNotFound {
            app_id: client_id.to_owned(),
            tenant: tenant.to_owned(),
        })
}

fn device_code(
    state: &SharedState,
    tenant: &str,
    scope: TenantScope,
    client_id: &str,
    params: &HashMap<String, String>,
) -> Result<Value, AadError> {
    // MSAL Python also sends `code` with the same value; `device_code` is the one that counts.
    let device_code = required(params, "device_code")?;
    let client = client_app_id(state, tenant, scope, client_id)?;
    let approved = lock(&state.devices).poll(device_code, client, state.now())?;
    issue_delegated(
        state,
        approved.tenant,
        approved.user,
        client,
        &approved.scopes,
        params,
        None,
    )
}

fn authorization_code(
    state: &SharedState,
    tenant: &str,
    scope: TenantScope,
    client_id: &str,
    params: &HashMap<String, String>,
) -> Result<Value, AadError> {
    let code = required(params, "code")?;
    let client = client_app_id(state, tenant, scope, client_id)?;
    let redeemed = lock(&state.authorizations).redeem(
        code,
        client,
        params.get("redirect_uri").map(String::as_str),
        params.get("code_verifier").map(String::as_str),
        state.now(),
    )?;
    if let TenantScope::Specific(id) = scope
        && id != redeemed.tenant
    {
        return Err(AadError::InvalidAuthorizationCode);
    }
    issue_delegated(
        state,
        redeemed.tenant,
        redeemed.user,
        client,
        &redeemed.scopes,
        params,
        redeemed.nonce.as_deref(),
    )
}

fn refresh_token(
    state: &SharedState,
    tenant: &str,
    scope: TenantScope,
    client_id: &str,
    params: &HashMap<String, String>,
) -> Result<Value, AadError> {
    let token = required(params, "refresh_token")?;
    let client = client_app_id(state, tenant, scope, client_id)?;
    let grant = lock(&state.refresh_tokens).redeem(token, client, state.now())?;
    if let TenantScope::Specific(id) = scope
        && id != grant.tenant
    {
        return Err(AadError::InvalidRefreshToken);
    }
    issue_delegated(
        state,
        grant.tenant,
        grant.user,
        client,
        &grant.scopes,
        params,
        None,
    )
}

fn issue_delegated(
    state: &SharedState,
    tenant_id: Uuid,
    user_id: Uuid,
    client_id: Uuid,
    scopes: &super::scopes::DelegatedScopes,
    params: &HashMap<String, String>,
    nonce: Option<&str>,
) -> Result<Value, AadError> {
    state.read(|d| {
        let tenant = d
            .tenant_by_id(tenant_id)
            .ok_or(AadError::InvalidRefreshToken)?;
        let user = tenant
            .user_by_id(user_id)
            .ok_or(AadError::InvalidRefreshToken)?;
        let (_, client) = find_application(d, TenantScope::Any, &client_id.to_string())
            .ok_or(AadError::InvalidRefreshToken)?;
        if let Some(missing) = scopes
            .graph
            .iter()
            .find(|p| !client.delegated_permissions.contains(p))
        {
            tracing::debug!(permission = %missing, "delegated permission not consented");
            return Err(AadError::ConsentRequired {
                app_id: client.app_id.to_string(),
                app_name: client.display_name.clone(),
            });
        }
        Ok(tokens::delegated(
            state,
            &DelegatedGrant {
                tenant,
                user,
                client,
                scopes,
                client_info: params.get("client_info").is_some_and(|v| v == "1"),
                nonce,
            },
        ))
    })
}

fn client_credentials(
    state: &SharedState,
    tenant: &str,
    scope: TenantScope,
    client_id: &str,
    params: &HashMap<String, String>,
) -> Result<Value, AadError> {
    let TenantScope::Specific(tenant_id) = scope else {
        return Err(AadError::ClientCredentialsOnCommon);
    };
    let requested_scope = required(params, "scope")?;
    let settings = state.settings();
    let now = state.now();
    state.read(|d| {
        let (tenant_entry, app) =
            find_application(d, scope, client_id).ok_or_else(|| AadError::ApplicationNotFound {
                app_id: client_id.to_owned(),
                tenant: tenant.to_owned(),
            })?;
        check_client_credentials_scope(requested_scope, tenant)?;
        if app.public_client {
            return Err(AadError::PublicClientCannotUseClientCredentials);
        }
        match (params.get("client_assertion"), params.get("client_secret")) {
            (Some(assertion), _) => {
                let assertion_type = params
                    .get("client_assertion_type")
                    .ok_or(AadError::MissingParameter("client_assertion_type"))?;
                if assertion_type != JWT_BEARER_ASSERTION {
                    return Err(AadError::UnsupportedAssertionType(assertion_type.clone()));
                }
                let audiences =
                    accepted_audiences(&state.base_url, tenant_id, &tenant_entry.domain, tenant);
                assertion::verify(
                    assertion,
                    &AssertionCheck {
                        client_id,
                        app,
                        audiences: &audiences,
                        now,
                        propagation_delay: settings.propagation_delay(),
                        required_shape: state.required_assertion_shape(&app.app_id),
                    },
                )?;
                state.stats.assertion_verified();
            }
            (None, Some(_)) => return Err(AadError::InvalidClientSecret(app.app_id.to_string())),
            (None, None) => return Err(AadError::MissingClientCredential),
        }
        let roles = app_roles(app, tenant_entry, now, settings.consent_delay())?;
        Ok(tokens::app_only(state, tenant_entry, app, &roles))
    })
}

/// The `roles` of an app-only token. An application registered through Graph needs its service
/// principal to have reached the token endpoint (AADSTS7000229 before), and carries the app
/// roles whose assignment has reached it; others carry their directly given permissions.
fn app_roles(
    app: &crate::tenants::Application,
    tenant: &crate::tenants::Tenant,
    now: time::OffsetDateTime,
    delay: time::Duration,
) -> Result<Vec<String>, AadError> {
    let mut roles = app.application_permissions.clone();
    if !app.registered_through_graph {
        return Ok(roles);
    }
    let missing = || AadError::MissingServicePrincipal {
        app_id: app.app_id.to_string(),
        tenant: tenant.id.to_string(),
    };
    let sp = app.service_principal.as_ref().ok_or_else(missing)?;
    if !sp.visible(now, delay) {
        return Err(missing());
    }
    for role in sp.consented_roles(now, delay) {
        if !roles.contains(&role) {
            roles.push(role);
        }
    }
    Ok(roles)
}

/// The token endpoint under every name of the tenant, on this host and on Entra's public host.
fn accepted_audiences(base_url: &str, tenant_id: Uuid, domain: &str, segment: &str) -> Vec<String> {
    let mut audiences = Vec::new();
    for host in [base_url, "https://login.microsoftonline.com"] {
        for name in [tenant_id.to_string().as_str(), domain, segment] {
            audiences.push(format!("{host}/{name}/oauth2/v2.0/token"));
        }
    }
    audiences
}
