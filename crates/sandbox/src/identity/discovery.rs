//! OpenID Connect discovery, instance discovery and the JWKS.

use super::error::{AadError, ErrorContext};
use super::{TenantScope, resolve_tenant};
use crate::state::SharedState;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::collections::HashMap;

pub(crate) async fn openid_configuration(
    State(state): State<SharedState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Response {
    let resolved = state.read(|d| resolve_tenant(d, &tenant));
    let (issuer_tenant, path_tenant) = match resolved {
        Some(TenantScope::Specific(id)) => (id.to_string(), id.to_string()),
        // Entra's multi-tenant documents carry a literal placeholder in the issuer.
        Some(TenantScope::Any) => ("{tenantid}".to_owned(), tenant.to_ascii_lowercase()),
        None => {
            let context = ErrorContext::new(state.now(), &state.base_url, &headers);
            return AadError::TenantNotFound {
                tenant,
                discovery: true,
            }
            .render(&context);
        }
    };
    let base = &state.base_url;
    let oauth = format!("{base}/{path_tenant}/oauth2/v2.0");
    Json(json!({
        "token_endpoint": format!("{oauth}/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "jwks_uri": format!("{base}/{path_tenant}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{base}/{issuer_tenant}/v2.0"),
        "request_uri_parameter_supported": false,
        "userinfo_endpoint": format!("{base}/oidc/userinfo"),
        "authorization_endpoint": format!("{oauth}/authorize"),
        "device_authorization_endpoint": format!("{oauth}/devicecode"),
        "http_logout_supported": true,
        "frontchannel_logout_supported": true,
        "end_session_endpoint": format!("{oauth}/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": base.trim_start_matches("https://"),
        "rbac_url": "https://pas.windows.net",
    }))
    .into_response()
}

/// `GET /common/discovery/instance`: MSAL's instance discovery. Every authority on this host is
/// valid; the tenant discovery endpoint follows the tenant of the `authorization_endpoint` asked about.
pub(crate) async fn instance(
    State(state): State<SharedState>,
    Path(_tenant): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let base = &state.base_url;
    let host = base.trim_start_matches("https://");
    let tenant = query
        .get("authorization_endpoint")
        .and_then(|endpoint| endpoint.strip_prefix(base.as_str()))
        .and_then(|rest| rest.trim_start_matches('/').split('/').next())
        .filter(|t| !t.is_empty())
        .unwrap_or("common");
    Json(json!({
        "tenant_discovery_endpoint": format!("{base}/{tenant}/v2.0/.well-known/openid-configuration"),
        "api-version": query.get("api-version").map(String::as_str).unwrap_or("1.1"),
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }))
    .into_response()
}

pub(crate) async fn jwks(State(state): State<SharedState>) -> Response {
    Json(state.issuer.jwks()).into_response()
}
