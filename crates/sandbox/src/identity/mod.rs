//! Entra ID's v2.0 identity endpoints: discovery, JWKS, device authorization and the token
//! endpoint with the device-code, authorization-code (PKCE), refresh-token and
//! client-credentials grants, and `/authorize` with its sign-in page.

pub(crate) mod assertion;
pub(crate) mod authorization;
pub(crate) mod authorize;
pub(crate) mod device;
pub(crate) mod discovery;
pub(crate) mod error;
pub(crate) mod issuer;
pub(crate) mod refresh;
pub(crate) mod scopes;
pub(crate) mod token;
pub(crate) mod tokens;

use crate::state::SharedState;
use crate::tenants::{Tenant, TenantRegistry};
use axum::Router;
use axum::routing::{get, post};
use uuid::Uuid;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery::openid_configuration),
        )
        .route("/{tenant}/discovery/instance", get(discovery::instance))
        .route("/{tenant}/discovery/v2.0/keys", get(discovery::jwks))
        .route("/{tenant}/oauth2/v2.0/devicecode", post(device::devicecode))
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize::authorize))
        .route("/{tenant}/login", post(authorize::sign_in))
}

/// The `{tenant}` path segment: a specific tenant, or one of Entra's multi-tenant aliases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TenantScope {
    Specific(Uuid),
    /// `common`, `organizations`: the signing-in user's tenant decides.
    Any,
}

pub(crate) fn resolve_tenant(registry: &TenantRegistry, segment: &str) -> Option<TenantScope> {
    if ["common", "organizations"]
        .iter()
        .any(|alias| alias.eq_ignore_ascii_case(segment))
    {
        return Some(TenantScope::Any);
    }
    registry
        .tenant(segment)
        .map(|t| TenantScope::Specific(t.id))
}

/// Finds the application `client_id` within the tenant scope (an indexed lookup).
pub(crate) fn find_application<'d>(
    registry: &'d TenantRegistry,
    scope: TenantScope,
    client_id: &str,
) -> Option<(&'d Tenant, &'d crate::tenants::Application)> {
    let app_id = Uuid::parse_str(client_id).ok()?;
    let tenant = match scope {
        TenantScope::Specific(id) => Some(id),
        TenantScope::Any => None,
    };
    // Public clients (the sign-in application) act as multi-tenant applications consented in
    // every tenant, as Microsoft's own public clients are: signing in to a second sandbox
    // tenant needs no registration there.
    registry.application(app_id, tenant).or_else(|| {
        registry
            .application(app_id, None)
            .filter(|(_, app)| app.public_client)
    })
}
