//! Registering applications through Graph (issue #14): `POST /applications`,
//! `DELETE /applications/{id}` (its service principal goes with it), and
//! `POST /applications/{id}/owners/$ref`.

use super::applications::{AppRef, caller_tenant, render_application};
use super::auth::CallerKind;
use super::keycredentials::KeyCredentialInput;
use super::{GraphError, GraphRequest};
use crate::requestlog::Outcome;
use crate::tenants::seed::new_application;
use crate::tenants::{RequiredResourceAccess, Tenant};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::Value;
use std::sync::Arc;
use uuid::Uuid;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewApplication {
    #[serde(default)]
    display_name: Option<String>,
    #[serde(default)]
    required_resource_access: Vec<RequiredResourceAccess>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    key_credentials: Vec<KeyCredentialInput>,
    /// Other properties (signInAudience, web, …) are accepted and not kept: Graph stores them,
    /// the sandbox has no use for them.
    #[serde(flatten)]
    _other: serde_json::Map<String, Value>,
}

pub(crate) fn create(request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let body: NewApplication = request.json_body()?;
    let display_name = body
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            GraphError::BadRequest(
                "Property 'displayName' is required and cannot be empty.".to_owned(),
            )
        })?;
    let now = request.state.now();
    let settings = request.state.settings();
    let max_keys = settings.max_key_credentials;
    let entity = request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        if !request.caller.can_register_applications(tenant) {
            return Err(GraphError::Forbidden);
        }
        if settings.max_applications_per_tenant.is_some_and(|max| {
            tenant.applications.len() >= usize::try_from(max).unwrap_or(usize::MAX)
        }) {
            return Err(GraphError::QuotaExceeded);
        }
        let mut app = new_application(&display_name, false, &[]);
        app.registered_through_graph = true;
        app.tags = body.tags;
        app.required_resource_access = body.required_resource_access;
        // The creator owns what it created: a user directly, an application through its
        // service principal (Application.ReadWrite.OwnedBy then covers the new app).
        app.owners.push(match &request.caller.kind {
            CallerKind::User { id, .. } | CallerKind::App { object_id: id, .. } => *id,
        });
        for input in body.key_credentials {
            let stored = input.into_stored(&[], tenant, now)?;
            app.key_credentials.push(stored);
        }
        if app.key_credentials.len() > usize::try_from(max_keys).unwrap_or(usize::MAX) {
            return Err(GraphError::ResourceSizeExceeded);
        }
        let entity = render_application(request, tenant, &app, false);
        tenant.applications.push(Arc::new(app));
        Ok(entity)
    })?;
    let mut response = (StatusCode::CREATED, Json(entity)).into_response();
    response.extensions_mut().insert(Outcome("created".into()));
    Ok(response)
}

pub(crate) fn delete(
    request: &GraphRequest<'_>,
    reference: &AppRef,
) -> Result<Response, GraphError> {
    request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        let index = reference.index(tenant)?;
        if !request
            .caller
            .can_delete_application(tenant, &tenant.applications[index])
        {
            return Err(GraphError::Forbidden);
        }
        tenant.applications.remove(index);
        Ok(())
    })?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.extensions_mut().insert(Outcome("deleted".into()));
    Ok(response)
}

#[derive(Debug, Deserialize)]
struct OwnerReference {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

/// A user or a service principal of the tenant, by object id.
fn directory_object_exists(tenant: &Tenant, id: Uuid) -> bool {
    tenant.user_by_id(id).is_some()
        || tenant.applications.iter().any(|a| {
            a.service_principal.as_ref().is_some_and(|sp| sp.id == id)
                // Seeded applications have no service principal object; their token's `oid`
                // is the application's own id, so that id may own applications too.
                || (a.service_principal.is_none() && a.id == id)
        })
}

pub(crate) fn add_owner(
    request: &GraphRequest<'_>,
    reference: &AppRef,
) -> Result<Response, GraphError> {
    let body: OwnerReference = request.json_body()?;
    let raw = body
        .odata_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    let owner = Uuid::parse_str(&raw).map_err(|_| {
        GraphError::BadRequest(format!(
            "Invalid object identifier '{raw}'. The '@odata.id' must end with the id of a directoryObject."
        ))
    })?;
    request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        let index = reference.index(tenant)?;
        if !request
            .caller
            .can_write_application(tenant, &tenant.applications[index])
        {
            return Err(GraphError::Forbidden);
        }
        if !directory_object_exists(tenant, owner) {
            return Err(GraphError::NotFound(owner.to_string()));
        }
        if tenant.applications[index].owners.contains(&owner) {
            return Err(GraphError::BadRequest(
                "One or more added object references already exist for the following modified properties: 'owners'.".to_owned(),
            ));
        }
        tenant.application_mut(index).owners.push(owner);
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
