//! `POST /_sandbox/users` (a user with directory roles, in a tenant) and `POST /_sandbox/tenants`
//! (a new tenant, with users): the accounts that connecting an organization needs — an
//! Application Administrator, a Privileged Role Administrator, a plain user — without editing
//! the config file. Generated passwords are answered once, like sandbox.json publishes them.

use super::{ControlError, parse};
use crate::state::SharedState;
use crate::tenants::seed::new_user;
use crate::tenants::{DirectoryRole, Tenant, TenantAccess, User};
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    /// The part before `@`; the tenant's domain is appended.
    alias: String,
    #[serde(default)]
    display_name: Option<String>,
    /// Omitted: generated and answered.
    #[serde(default)]
    password: Option<String>,
    /// Entra role names, e.g. "Application Administrator".
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UserRequest {
    #[serde(default)]
    tenant: Option<String>,
    #[serde(flatten)]
    user: NewUser,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantRequest {
    domain: String,
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    users: Vec<NewUser>,
}

fn invalid(kind: &'static str, message: String) -> ControlError {
    ControlError {
        status: StatusCode::BAD_REQUEST,
        kind,
        message,
    }
}

fn known_roles() -> String {
    DirectoryRole::ALL
        .iter()
        .map(|r| r.name())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Checks alias and roles, hashes the password: everything before the registry changes.
fn prepare(user: NewUser, domain: &str) -> Result<(User, Option<String>), ControlError> {
    if user.alias.is_empty() || user.alias.contains(['@', '/', ' ']) {
        return Err(invalid(
            "invalid_request",
            format!(
                "'alias' {:?} must be the part before '@' of a user name",
                user.alias
            ),
        ));
    }
    let roles = user
        .roles
        .iter()
        .map(|name| {
            DirectoryRole::from_name(name).ok_or_else(|| {
                invalid(
                    "unknown_role",
                    format!("unknown role {name:?}; known roles: {}", known_roles()),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let display_name = user.display_name.unwrap_or_else(|| user.alias.clone());
    let created = new_user(
        &user.alias,
        &display_name,
        domain,
        user.password.as_deref(),
        roles,
    );
    let password = created.published_password.clone();
    Ok((created, password))
}

fn describe(user: &User, password: Option<&str>) -> Value {
    json!({
        "id": user.id.to_string(),
        "username": user.user_principal_name,
        "password": password,
        "roles": user.roles.iter().map(|r| r.name()).collect::<Vec<_>>(),
    })
}

fn stored(err: crate::SandboxError) -> ControlError {
    tracing::error!(error = %err, "cannot persist the sandbox directory");
    ControlError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        kind: "storage_failed",
        message: format!("nothing was created: {err}"),
    }
}

enum Failure {
    Refused(ControlError),
    Store(crate::SandboxError),
}

impl From<crate::SandboxError> for Failure {
    fn from(err: crate::SandboxError) -> Self {
        Self::Store(err)
    }
}

impl From<Failure> for ControlError {
    fn from(failure: Failure) -> Self {
        match failure {
            Failure::Refused(err) => err,
            Failure::Store(err) => stored(err),
        }
    }
}

pub(super) async fn add_user(
    State(state): State<SharedState>,
    body: axum::body::Bytes,
) -> Response {
    match try_add_user(&state, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn try_add_user(state: &SharedState, body: &[u8]) -> Result<Response, ControlError> {
    let request: UserRequest = parse(body)?;
    let reference = request.tenant;
    let domain = state
        .read(|d| {
            match &reference {
                Some(r) => d.tenant(r),
                None => d.tenants.first().map(|t| &**t),
            }
            .map(|t| t.domain.clone())
        })
        .ok_or_else(|| {
            invalid(
                "unknown_tenant",
                format!(
                    "no tenant {:?} in the sandbox directory",
                    reference.clone().unwrap_or_default()
                ),
            )
        })?;
    let (user, password) = prepare(request.user, &domain)?;
    let answer = describe(&user, password.as_deref());
    state
        .update(|d| {
            let tenant = d.tenant_mut(&domain).ok_or_else(|| {
                Failure::Refused(invalid("unknown_tenant", format!("no tenant {domain:?}")))
            })?;
            if tenant.user_by_upn(&user.user_principal_name).is_some() {
                return Err(Failure::Refused(ControlError {
                    status: StatusCode::CONFLICT,
                    kind: "user_exists",
                    message: format!("{} exists already", user.user_principal_name),
                }));
            }
            tenant.users.push(user);
            Ok(())
        })
        .map_err(ControlError::from)?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub(super) async fn add_tenant(
    State(state): State<SharedState>,
    body: axum::body::Bytes,
) -> Response {
    match try_add_tenant(&state, &body) {
        Ok(response) => response,
        Err(err) => err.into_response(),
    }
}

fn try_add_tenant(state: &SharedState, body: &[u8]) -> Result<Response, ControlError> {
    let request: TenantRequest = parse(body)?;
    let domain = request.domain.trim().to_ascii_lowercase();
    if domain.is_empty() || domain.contains(['/', '@', ' ']) || !domain.contains('.') {
        return Err(invalid(
            "invalid_request",
            format!(
                "'domain' {:?} is not a domain name (e.g. contoso.onmicrosoft.com)",
                request.domain
            ),
        ));
    }
    let mut users = Vec::new();
    let mut described = Vec::new();
    for user in request.users {
        let (user, password) = prepare(user, &domain)?;
        if users
            .iter()
            .any(|u: &User| u.user_principal_name == user.user_principal_name)
        {
            return Err(invalid(
                "invalid_request",
                format!("{} is listed twice", user.user_principal_name),
            ));
        }
        described.push(describe(&user, password.as_deref()));
        users.push(user);
    }
    let tenant = Tenant {
        id: Uuid::new_v4(),
        domain: domain.clone(),
        display_name: request.display_name.unwrap_or_else(|| domain.clone()),
        max_certificate_lifetime_days: None,
        users,
        applications: Vec::new(),
        access: TenantAccess::default(),
    };
    let id = tenant.id;
    state
        .update(|d| {
            if d.tenant(&domain).is_some() {
                return Err(Failure::Refused(ControlError {
                    status: StatusCode::CONFLICT,
                    kind: "tenant_exists",
                    message: format!("a tenant {domain:?} exists already"),
                }));
            }
            d.tenants.push(tenant.into());
            Ok(())
        })
        .map_err(ControlError::from)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"tenant": id.to_string(), "domain": domain, "users": described})),
    )
        .into_response())
}
