//! Building token responses: app-only access tokens, and delegated access, ID and refresh tokens.

use super::scopes::DelegatedScopes;
use crate::state::{SandboxState, lock};
use crate::tenants::{Application, GRAPH_RESOURCE, Tenant, User};
use serde_json::{Value, json};
use uuid::Uuid;

pub(crate) const ACCESS_TOKEN_SECONDS: i64 = 3599;

/// `roles` are the application permissions the token carries; `oid`/`sub` are the service
/// principal's id when the application has one (as Entra's are), else the application's.
pub(crate) fn app_only(
    state: &SandboxState,
    tenant: &Tenant,
    app: &Application,
    roles: &[String],
) -> Value {
    let principal = app
        .service_principal
        .as_ref()
        .map_or(app.id, |sp| sp.id)
        .to_string();
    let now = state.now().unix_timestamp();
    let claims = json!({
        "aud": GRAPH_RESOURCE,
        "iss": format!("{}/{}/v2.0", state.base_url, tenant.id),
        "iat": now,
        "nbf": now,
        "exp": now + ACCESS_TOKEN_SECONDS + 1,
        "tid": tenant.id.to_string(),
        "appid": app.app_id.to_string(),
        "azp": app.app_id.to_string(),
        "app_displayname": app.display_name,
        "oid": principal,
        "sub": principal,
        "idtyp": "app",
        "roles": roles,
        "uti": Uuid::new_v4().to_string(),
        "ver": "2.0",
    });
    json!({
        "token_type": "Bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "ext_expires_in": ACCESS_TOKEN_SECONDS,
        "access_token": state.sign_access_token(&claims),
    })
}

/// What a delegated grant (device code or refresh token) resolved to.
#[derive(Debug)]
pub(crate) struct DelegatedGrant<'d> {
    pub tenant: &'d Tenant,
    pub user: &'d User,
    pub client: &'d Application,
    pub scopes: &'d DelegatedScopes,
    pub client_info: bool,
    /// The authorization request's `nonce`, echoed in the ID token.
    pub nonce: Option<&'d str>,
}

pub(crate) fn delegated(state: &SandboxState, grant: &DelegatedGrant<'_>) -> Value {
    let now = state.now().unix_timestamp();
    let DelegatedGrant {
        tenant,
        user,
        client,
        scopes,
        ..
    } = grant;
    let issuer = format!("{}/{}/v2.0", state.base_url, tenant.id);
    let granted: Vec<String> = if scopes.graph_default {
        client
            .delegated_permissions
            .iter()
            .filter(|p| p.as_str() != "offline_access")
            .cloned()
            .collect()
    } else {
        scopes.graph.clone()
    };
    let access_claims = json!({
        "aud": GRAPH_RESOURCE,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": now + ACCESS_TOKEN_SECONDS + 1,
        "tid": tenant.id.to_string(),
        "appid": client.app_id.to_string(),
        "azp": client.app_id.to_string(),
        "app_displayname": client.display_name,
        "oid": user.id.to_string(),
        "sub": user.id.to_string(),
        "upn": user.user_principal_name,
        "preferred_username": user.user_principal_name,
        "name": user.display_name,
        "idtyp": "user",
        "scp": granted.join(" "),
        "uti": Uuid::new_v4().to_string(),
        "ver": "2.0",
    });
    let mut scope_echo: Vec<String> = granted
        .iter()
        .map(|p| format!("{GRAPH_RESOURCE}/{p}"))
        .collect();
    scope_echo.extend(scopes.oidc.iter().cloned());
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scope_echo.join(" "),
        "expires_in": ACCESS_TOKEN_SECONDS,
        "ext_expires_in": ACCESS_TOKEN_SECONDS,
        "access_token": state.sign_access_token(&access_claims),
    });
    if scopes.wants("openid") {
        // No `nbf`: MSAL checks ID-token times against the real clock, the sandbox's may be moved.
        let id_claims = json!({
            "aud": client.app_id.to_string(),
            "iss": issuer,
            "iat": now,
            "exp": now + ACCESS_TOKEN_SECONDS + 1,
            "sub": user.id.to_string(),
            "oid": user.id.to_string(),
            "tid": tenant.id.to_string(),
            "preferred_username": user.user_principal_name,
            "name": user.display_name,
            "ver": "2.0",
        });
        let mut id_claims = id_claims;
        if let Some(nonce) = grant.nonce {
            id_claims["nonce"] = Value::String(nonce.to_owned());
        }
        body["id_token"] = Value::String(state.sign_rs256(&id_claims));
    }
    if scopes.wants("offline_access") {
        body["refresh_token"] = Value::String(lock(&state.refresh_tokens).issue(
            client.app_id,
            tenant.id,
            user.id,
            (*scopes).clone(),
            state.now(),
        ));
    }
    if grant.client_info {
        let info = json!({"uid": user.id.to_string(), "utid": tenant.id.to_string()});
        body["client_info"] = Value::String(tenantlink_jose::b64url(info.to_string().as_bytes()));
    }
    body
}
