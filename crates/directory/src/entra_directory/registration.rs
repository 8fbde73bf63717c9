//! Connect's [`Registrar`] over tenantlink-entra's Graph setup calls (`graph_setup`), with the
//! administrator's delegated token. Each call is idempotent (found before created, granted
//! only where missing, an owner added once), and a refusal is explained for the call it was:
//! the role it needs, the tenant policy that blocks it, the tenant's object limit.

use super::EntraDirectory;
use crate::explain::explain;
use crate::remediations;
use std::collections::HashSet;
use tenantlink_entra::{
    Error as EntraClientError, GraphErrorKind, MICROSOFT_GRAPH_APP_ID, NewApplication,
};
use tenantlink_service::{
    ApplicationRequest, BoxFuture, DelegatedToken, DirectoryError, DirectoryErrorKind,
    GraphPermission, GraphPermissions, Organization, RegisteredApp, Registrar, RegistrationCall,
};

/// Graph's words when a reference (an owner) is already there.
const ALREADY_EXISTS: &str = "already exist";

impl Registrar for EntraDirectory {
    fn graph_permissions<'a>(
        &'a self,
        _organization: &'a Organization,
        token: &'a DelegatedToken,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<GraphPermissions, DirectoryError>> {
        Box::pin(async move {
            let call = RegistrationCall::ReadGraphPermissions;
            let graph = self
                .graph
                .service_principal_by_app_id(token.0.expose(), MICROSOFT_GRAPH_APP_ID)
                .await
                .map_err(|e| explain_setup(e, call))?
                .ok_or_else(|| {
                    DirectoryError::new(
                        DirectoryErrorKind::Other,
                        None,
                        "This tenant has no service principal for Microsoft Graph, so its application permissions cannot be consented.",
                        "Ask Microsoft support: every Entra tenant has Microsoft Graph's service principal.",
                    )
                })?;
            let permissions = names
                .iter()
                .map(|name| {
                    graph
                        .app_roles
                        .iter()
                        .find(|role| {
                            role.value.as_deref() == Some(name.as_str())
                                && role.allowed_member_types.iter().any(|t| t == "Application")
                        })
                        .map(|role| GraphPermission {
                            name: name.clone(),
                            app_role_id: role.id.clone(),
                        })
                        .ok_or_else(|| unknown_permission(name))
                })
                .collect::<Result<_, _>>()?;
            Ok(GraphPermissions {
                graph_principal_id: graph.id,
                permissions,
            })
        })
    }

    fn find_application<'a>(
        &'a self,
        _organization: &'a Organization,
        token: &'a DelegatedToken,
        marker: &'a str,
        app_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<RegisteredApp>, DirectoryError>> {
        Box::pin(async move {
            let call = RegistrationCall::FindApplication;
            let token = token.0.expose();
            if let Some(found) = self
                .graph
                .application_by_marker(token, marker)
                .await
                .map_err(|e| explain_setup(e, call))?
            {
                return Ok(Some(RegisteredApp {
                    display_name: found.display_name.unwrap_or_else(|| found.app_id.clone()),
                    object_id: found.id,
                    app_id: found.app_id,
                }));
            }
            let Some(app_id) = app_id else {
                return Ok(None);
            };
            match self.graph.application_by_app_id(token, app_id).await {
                Ok(app) => Ok(Some(RegisteredApp {
                    display_name: app.display_name.unwrap_or_else(|| app.app_id.clone()),
                    object_id: app.id,
                    app_id: app.app_id,
                })),
                Err(EntraClientError::Graph(e)) if e.kind == GraphErrorKind::NotFound => Ok(None),
                Err(other) => Err(explain_setup(other, call)),
            }
        })
    }

    fn create_application<'a>(
        &'a self,
        _organization: &'a Organization,
        token: &'a DelegatedToken,
        request: &'a ApplicationRequest<'a>,
    ) -> BoxFuture<'a, Result<RegisteredApp, DirectoryError>> {
        Box::pin(async move {
            let roles: Vec<String> = request
                .permissions
                .permissions
                .iter()
                .map(|p| p.app_role_id.clone())
                .collect();
            let created = self
                .graph
                .create_application(
                    token.0.expose(),
                    &NewApplication {
                        display_name: request.display_name,
                        marker: request.marker,
                        graph_app_roles: &roles,
                    },
                )
                .await
                .map_err(|e| explain_setup(e, RegistrationCall::CreateApplication))?;
            Ok(RegisteredApp {
                display_name: created
                    .display_name
                    .unwrap_or_else(|| request.display_name.to_owned()),
                object_id: created.id,
                app_id: created.app_id,
            })
        })
    }

    fn ensure_service_principal<'a>(
        &'a self,
        _organization: &'a Organization,
        token: &'a DelegatedToken,
        app_id: &'a str,
    ) -> BoxFuture<'a, Result<String, DirectoryError>> {
        Box::pin(async move {
            let call = RegistrationCall::ServicePrincipal;
            let token = token.0.expose();
            if let Some(found) = self
                .graph
                .service_principal_by_app_id(token, app_id)
                .await
                .map_err(|e| explain_setup(e, call))?
            {
                return Ok(found.id);
            }
            let created = self
                .graph
                .create_service_principal(token, app_id)
                .await
                .map_err(|e| explain_setup(e, call))?;
            Ok(created.id)
        })
    }

    fn grant_permissions<'a>(
        &'a self,
        _organization: &'a Organization,
        token: &'a DelegatedToken,
        principal_id: &'a str,
        permissions: &'a GraphPermissions,
    ) -> BoxFuture<'a, Result<Vec<String>, DirectoryError>> {
        Box::pin(async move {
            let call = RegistrationCall::GrantConsent;
            let token = token.0.expose();
            let resource = permissions.graph_principal_id.as_str();
            let granted: HashSet<String> = self
                .graph
                .app_role_assignments(token, principal_id)
                .await
                .map_err(|e| explain_setup(e, call))?
                .into_iter()
                .filter(|a| a.resource_id == resource)
                .map(|a| a.app_role_id)
                .collect();
            let mut now_granted = Vec::new();
            for permission in &permissions.permissions {
                if granted.contains(&permission.app_role_id) {
                    continue;
                }
                self.graph
                    .grant_app_role(token, resource, principal_id, &permission.app_role_id)
                    .await
                    .map_err(|e| explain_setup(e, call))?;
                now_granted.push(permission.name.clone());
            }
            Ok(now_granted)
        })
    }

    fn ensure_owner<'a>(
        &'a self,
        _organization: &'a Organization,
        token: &'a DelegatedToken,
        object_id: &'a str,
        owner_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, DirectoryError>> {
        Box::pin(async move {
            // Adding and reading Graph's answer, rather than reading the owners first: "already
            // exist" is Graph's own idempotence, one request instead of two.
            match self
                .graph
                .add_owner(token.0.expose(), object_id, owner_id)
                .await
            {
                Ok(()) => Ok(true),
                Err(EntraClientError::Graph(e))
                    if e.kind == GraphErrorKind::BadRequest
                        && e.message.contains(ALREADY_EXISTS) =>
                {
                    Ok(false)
                }
                Err(other) => Err(explain_setup(other, RegistrationCall::AddOwner)),
            }
        })
    }
}

/// Graph's refusal of a registration call, with what to do about it for that call.
fn explain_setup(err: EntraClientError, call: RegistrationCall) -> DirectoryError {
    let remedy = match &err {
        EntraClientError::Graph(e) if e.is_object_limit() => Some((
            DirectoryErrorKind::QuotaExceeded,
            remediations::SETUP_OBJECT_LIMIT,
        )),
        EntraClientError::Graph(e) if e.kind == GraphErrorKind::AuthorizationDenied => {
            let text = if e.message.to_ascii_lowercase().contains("policy") {
                remediations::SETUP_CONSENT_POLICY
            } else if call == RegistrationCall::GrantConsent {
                remediations::SETUP_CONSENT_ROLE
            } else {
                remediations::SETUP_REGISTER_ROLE
            };
            Some((DirectoryErrorKind::InsufficientPrivileges, text))
        }
        _ => None,
    };
    let mut explained = explain(err);
    if let Some((kind, remediation)) = remedy {
        explained.kind = kind;
        remediation.clone_into(&mut explained.remediation);
    }
    explained
}

fn unknown_permission(name: &str) -> DirectoryError {
    DirectoryError::new(
        DirectoryErrorKind::Other,
        Some("unknown_permission".into()),
        format!("Microsoft Graph defines no application permission named {name} in this tenant."),
        "Correct the permission names in [connect] permissions (Microsoft Graph's application permissions, e.g. Mail.Read), then Reconnect.",
    )
}
