//! Who is calling Graph, from the bearer token, and what they may do.

use super::error::GraphError;
use crate::state::SandboxState;
use crate::tenants::{Application, DirectoryRole, GRAPH_APP_ID, GRAPH_RESOURCE, Tenant};
use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};
use tenantlink_jose::numeric_date;
use uuid::Uuid;

/// Roles that manage applications and service principals.
const APPLICATION_ADMINS: [DirectoryRole; 3] = [
    DirectoryRole::GlobalAdministrator,
    DirectoryRole::ApplicationAdministrator,
    DirectoryRole::CloudApplicationAdministrator,
];

/// Roles that may grant Microsoft Graph's app roles (admin consent to application permissions).
const CONSENT_ADMINS: [DirectoryRole; 2] = [
    DirectoryRole::GlobalAdministrator,
    DirectoryRole::PrivilegedRoleAdministrator,
];

#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub tenant: Uuid,
    pub kind: CallerKind,
}

#[derive(Debug, Clone)]
pub(crate) enum CallerKind {
    /// App-only: the calling application's object id and its granted application permissions.
    App { object_id: Uuid, roles: Vec<String> },
    /// Delegated: the signed-in user and the consented scopes.
    User { id: Uuid, scopes: Vec<String> },
}

impl Caller {
    pub(crate) fn from_headers(
        state: &SandboxState,
        headers: &HeaderMap,
    ) -> Result<Self, GraphError> {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                v.strip_prefix("Bearer ")
                    .or_else(|| v.strip_prefix("bearer "))
            })
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or(GraphError::MissingToken)?;
        let claims = state.issuer.verify(token).ok_or(GraphError::InvalidToken(
            "Access token validation failure. Invalid signature.",
        ))?;
        let audience = claims.get("aud").and_then(Value::as_str).unwrap_or("");
        if audience != GRAPH_RESOURCE && audience != GRAPH_APP_ID {
            return Err(GraphError::InvalidToken(
                "Access token validation failure. Invalid audience.",
            ));
        }
        let expires = claims.get("exp").and_then(numeric_date).unwrap_or(0.0);
        if (state.now().unix_timestamp() as f64) >= expires {
            return Err(GraphError::InvalidToken(
                "Lifetime validation failed, the token is expired.",
            ));
        }
        Self::from_claims(&claims).ok_or(GraphError::InvalidToken(
            "Access token validation failure. Invalid claims.",
        ))
    }

    fn from_claims(claims: &Map<String, Value>) -> Option<Self> {
        let uuid = |name: &str| {
            claims
                .get(name)
                .and_then(Value::as_str)
                .and_then(|v| Uuid::parse_str(v).ok())
        };
        let strings = |value: Option<&Value>| -> Vec<String> {
            match value {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect(),
                Some(Value::String(s)) => s.split_whitespace().map(str::to_owned).collect(),
                _ => Vec::new(),
            }
        };
        let tenant = uuid("tid")?;
        let kind = match claims.get("idtyp").and_then(Value::as_str) {
            Some("app") => CallerKind::App {
                object_id: uuid("oid")?,
                roles: strings(claims.get("roles")),
            },
            _ => CallerKind::User {
                id: uuid("oid")?,
                scopes: strings(claims.get("scp")),
            },
        };
        Some(Self { tenant, kind })
    }

    fn has_role(&self, wanted: &[&str]) -> bool {
        match &self.kind {
            CallerKind::App { roles, .. } => roles.iter().any(|r| wanted.contains(&r.as_str())),
            CallerKind::User { scopes, .. } => scopes.iter().any(|s| wanted.contains(&s.as_str())),
        }
    }

    /// Delegated callers act through their directory role or ownership; apps through ownership.
    fn privileged_over(&self, tenant: &Tenant, app: &Application) -> bool {
        match &self.kind {
            CallerKind::App { object_id, .. } => app.owners.contains(object_id),
            CallerKind::User { id, .. } => {
                app.owners.contains(id) || self.holds(tenant, &APPLICATION_ADMINS)
            }
        }
    }

    /// Whether the signed-in user holds one of these directory roles (never true app-only).
    fn holds(&self, tenant: &Tenant, wanted: &[DirectoryRole]) -> bool {
        match &self.kind {
            CallerKind::User { id, .. } => tenant
                .user_by_id(*id)
                .is_some_and(|u| u.roles.iter().any(|r| wanted.contains(r))),
            CallerKind::App { .. } => false,
        }
    }

    /// The application's own token: its object id, or (registered through Graph) its service
    /// principal's id, which is what Entra puts in `oid`.
    pub(crate) fn is_application(&self, app: &Application) -> bool {
        matches!(&self.kind, CallerKind::App { object_id, .. }
            if *object_id == app.id
                || app.service_principal.as_ref().is_some_and(|sp| sp.id == *object_id))
    }

    /// `POST /applications`: delegated `Application.ReadWrite.All` and an application
    /// administrator role, or any member when the tenant lets users register applications;
    /// app-only `Application.ReadWrite.All` or `.OwnedBy` (Graph's create-application page).
    pub(crate) fn can_register_applications(&self, tenant: &Tenant) -> bool {
        match &self.kind {
            CallerKind::App { .. } => {
                self.has_role(&["Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"])
            }
            CallerKind::User { .. } => {
                self.has_role(&["Application.ReadWrite.All"])
                    && (self.holds(tenant, &APPLICATION_ADMINS)
                        || tenant.access.users_can_register_applications)
            }
        }
    }

    /// `POST /servicePrincipals`: as for applications; a member without a role only for an
    /// application they own (Graph's "Application Developer" case), when users may register.
    pub(crate) fn can_create_service_principal(&self, tenant: &Tenant, app: &Application) -> bool {
        match &self.kind {
            CallerKind::App { .. } => {
                self.has_role(&["Application.ReadWrite.All"])
                    || (self.has_role(&["Application.ReadWrite.OwnedBy"])
                        && self.privileged_over(tenant, app))
            }
            CallerKind::User { id, .. } => {
                self.has_role(&["Application.ReadWrite.All"])
                    && (self.holds(tenant, &APPLICATION_ADMINS)
                        || (tenant.access.users_can_register_applications
                            && app.owners.contains(id)))
            }
        }
    }

    /// `DELETE /applications/{id}`: as for changing it.
    pub(crate) fn can_delete_application(&self, tenant: &Tenant, app: &Application) -> bool {
        self.can_write_application(tenant, app)
    }

    /// Reading service principals and app role assignments.
    pub(crate) fn can_read_service_principals(&self) -> bool {
        self.has_role(&[
            "Application.Read.All",
            "Application.ReadWrite.All",
            "Application.ReadWrite.OwnedBy",
            "Directory.Read.All",
            "AppRoleAssignment.ReadWrite.All",
        ])
    }

    /// `appRoleAssignedTo`: `AppRoleAssignment.ReadWrite.All`; delegated, also a role: for
    /// Microsoft Graph's app roles Privileged Role Administrator is the least privileged one
    /// (Graph's rbac-approleassignments include), for other resources the application
    /// administrators may grant too.
    pub(crate) fn can_grant_app_roles(&self, tenant: &Tenant, of_microsoft_graph: bool) -> bool {
        if !self.has_role(&["AppRoleAssignment.ReadWrite.All"]) {
            return false;
        }
        match &self.kind {
            CallerKind::App { .. } => true,
            CallerKind::User { .. } if of_microsoft_graph => self.holds(tenant, &CONSENT_ADMINS),
            CallerKind::User { .. } => {
                self.holds(tenant, &CONSENT_ADMINS) || self.holds(tenant, &APPLICATION_ADMINS)
            }
        }
    }

    /// Reading an application: `Application.Read.All`/`ReadWrite.All`, or `ReadWrite.OwnedBy` on an owned app.
    pub(crate) fn can_read_application(&self, tenant: &Tenant, app: &Application) -> bool {
        match &self.kind {
            CallerKind::App { .. } => {
                self.has_role(&["Application.Read.All", "Application.ReadWrite.All"])
                    || (self.has_role(&["Application.ReadWrite.OwnedBy"])
                        && self.privileged_over(tenant, app))
            }
            CallerKind::User { .. } => {
                self.has_role(&["Application.Read.All", "Application.ReadWrite.All"])
                    && self.privileged_over(tenant, app)
            }
        }
    }

    /// Changing an application's credentials.
    pub(crate) fn can_write_application(&self, tenant: &Tenant, app: &Application) -> bool {
        match &self.kind {
            CallerKind::App { .. } => {
                self.has_role(&["Application.ReadWrite.All"])
                    || (self.has_role(&["Application.ReadWrite.OwnedBy"])
                        && self.privileged_over(tenant, app))
            }
            CallerKind::User { .. } => {
                self.has_role(&["Application.ReadWrite.All"]) && self.privileged_over(tenant, app)
            }
        }
    }

    pub(crate) fn can_read_users(&self) -> bool {
        self.has_role(&["User.Read.All", "User.ReadWrite.All", "Directory.Read.All"])
    }

    /// Mail: app-only `Mail.Read` for any mailbox; delegated `Mail.Read` for one's own.
    pub(crate) fn can_read_mail_of(&self, user: Uuid) -> bool {
        match &self.kind {
            CallerKind::App { .. } => self.has_role(&["Mail.Read", "Mail.ReadWrite"]),
            CallerKind::User { id, .. } => {
                *id == user && self.has_role(&["Mail.Read", "Mail.ReadWrite"])
            }
        }
    }
}
