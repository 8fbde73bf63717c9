//! `/servicePrincipals`: creating an application's service principal, Microsoft Graph's own
//! service principal (every tenant has it; its `appRoles` are the application permissions), and
//! app role assignments — `POST /servicePrincipals/{resource}/appRoleAssignedTo` is admin
//! consent to an application permission; `GET /servicePrincipals/{id}/appRoleAssignments` shows
//! what a client was granted.

use super::applications::caller_tenant;
use super::filter::Filter;
use super::{GraphError, GraphRequest, apply_select, selected};
use crate::requestlog::Outcome;
use crate::secrets::opaque_token;
use crate::tenants::graph_roles::GRAPH_APP_ROLES;
use crate::tenants::principals::{AppRoleAssignment, graph_service_principal_id};
use crate::tenants::{Application, GRAPH_APP_ID, ServicePrincipal, Tenant};
use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

const GRAPH_DISPLAY_NAME: &str = "Microsoft Graph";

/// Which service principal a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Principal {
    Graph,
    /// The application (by position) whose service principal it is.
    Of(usize),
}

fn graph_id(tenant: &Tenant) -> Uuid {
    graph_service_principal_id(tenant.id)
}

/// `{id}` or `(appId='…')` → the principal, or Graph's 404.
fn resolve(tenant: &Tenant, reference: &str) -> Result<Principal, GraphError> {
    let not_found = || GraphError::NotFound(reference.to_owned());
    if let Some(app_id) = reference
        .strip_prefix("(appId=")
        .and_then(|r| r.strip_suffix(')'))
        .map(|v| v.trim_matches('\''))
    {
        if app_id.eq_ignore_ascii_case(GRAPH_APP_ID) {
            return Ok(Principal::Graph);
        }
        let app_id = Uuid::parse_str(app_id).map_err(|_| not_found())?;
        return tenant
            .applications
            .iter()
            .position(|a| a.app_id == app_id && a.service_principal.is_some())
            .map(Principal::Of)
            .ok_or_else(not_found);
    }
    let id = Uuid::parse_str(reference).map_err(|_| not_found())?;
    if id == graph_id(tenant) {
        return Ok(Principal::Graph);
    }
    tenant
        .applications
        .iter()
        .position(|a| a.service_principal.as_ref().is_some_and(|sp| sp.id == id))
        .map(Principal::Of)
        .ok_or_else(not_found)
}

fn timestamp(at: OffsetDateTime) -> String {
    at.format(&Rfc3339).unwrap_or_default()
}

fn render_graph(tenant: &Tenant) -> Value {
    let roles: Vec<Value> = GRAPH_APP_ROLES
        .iter()
        .map(|(id, value, name)| {
            json!({
                "allowedMemberTypes": ["Application"],
                "description": format!("Allows the app to {} without a signed-in user.", name.to_lowercase()),
                "displayName": name,
                "id": id.to_string(),
                "isEnabled": true,
                "origin": "Application",
                "value": value,
            })
        })
        .collect();
    json!({
        "id": graph_id(tenant).to_string(),
        "appId": GRAPH_APP_ID,
        "appDisplayName": GRAPH_DISPLAY_NAME,
        "displayName": GRAPH_DISPLAY_NAME,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appRoles": roles,
        "tags": [],
    })
}

fn render_client(app: &Application, sp: &ServicePrincipal) -> Value {
    json!({
        "id": sp.id.to_string(),
        "appId": app.app_id.to_string(),
        "appDisplayName": app.display_name,
        "displayName": app.display_name,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appRoles": [],
        "tags": app.tags,
        "createdDateTime": timestamp(sp.created_at),
    })
}

fn render_principal(tenant: &Tenant, principal: Principal) -> Value {
    match principal {
        Principal::Graph => render_graph(tenant),
        Principal::Of(index) => {
            let app = &tenant.applications[index];
            app.service_principal
                .as_ref()
                .map(|sp| render_client(app, sp))
                .unwrap_or(Value::Null)
        }
    }
}

fn render_assignment(tenant: &Tenant, app: &Application, assignment: &AppRoleAssignment) -> Value {
    json!({
        "id": assignment.id,
        "appRoleId": assignment.app_role_id.to_string(),
        "createdDateTime": timestamp(assignment.created_at),
        "deletedDateTime": null,
        "principalDisplayName": app.display_name,
        "principalId": app.service_principal.as_ref().map(|sp| sp.id.to_string()),
        "principalType": "ServicePrincipal",
        "resourceDisplayName": GRAPH_DISPLAY_NAME,
        "resourceId": graph_id(tenant).to_string(),
    })
}

fn collection(request: &GraphRequest<'_>, context: &str, value: Vec<Value>) -> Response {
    Json(json!({
        "@odata.context": format!("{}/$metadata#{context}", request.graph_base()),
        "value": value,
    }))
    .into_response()
}

fn require_read(request: &GraphRequest<'_>) -> Result<(), GraphError> {
    if request.caller.can_read_service_principals() {
        Ok(())
    } else {
        Err(GraphError::Forbidden)
    }
}

/// `GET /servicePrincipals[?$filter=appId eq '…']`.
pub(crate) fn list(request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    require_read(request)?;
    let select = selected(request.query);
    let filter = request
        .query
        .get("$filter")
        .map(|f| Filter::parse(f))
        .transpose()?;
    request.state.read(|d| {
        let tenant = caller_tenant(request, d)?;
        let mut all = vec![render_graph(tenant)];
        all.extend(
            tenant
                .applications
                .iter()
                .filter_map(|a| a.service_principal.as_ref().map(|sp| render_client(a, sp))),
        );
        let value = all
            .into_iter()
            .filter(|sp| match &filter {
                None => true,
                Some(Filter::AppId(id)) => sp["appId"]
                    .as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case(id)),
                Some(Filter::DisplayName(name)) => sp["displayName"] == name.as_str(),
                Some(Filter::Tag(tag)) => sp["tags"]
                    .as_array()
                    .is_some_and(|t| t.iter().any(|v| v == tag.as_str())),
            })
            .map(|sp| apply_select(sp, select.as_deref()))
            .collect();
        Ok(collection(request, "servicePrincipals", value))
    })
}

/// `GET /servicePrincipals/{id}` and `/servicePrincipals(appId='…')`.
pub(crate) fn get(request: &GraphRequest<'_>, reference: &str) -> Result<Response, GraphError> {
    require_read(request)?;
    let select = selected(request.query);
    request.state.read(|d| {
        let tenant = caller_tenant(request, d)?;
        let principal = resolve(tenant, reference)?;
        let mut entity = render_principal(tenant, principal);
        entity["@odata.context"] = Value::String(format!(
            "{}/$metadata#servicePrincipals/$entity",
            request.graph_base()
        ));
        Ok(Json(apply_select(entity, select.as_deref())).into_response())
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewServicePrincipal {
    #[serde(default)]
    app_id: Option<String>,
    #[serde(flatten)]
    _other: serde_json::Map<String, Value>,
}

/// `POST /servicePrincipals` `{"appId": …}`.
pub(crate) fn create(request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    let body: NewServicePrincipal = request.json_body()?;
    let raw = body.app_id.unwrap_or_default();
    let now = request.state.now();
    let entity = request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        if raw.eq_ignore_ascii_case(GRAPH_APP_ID) {
            return Err(already_in_use(&raw));
        }
        let index = Uuid::parse_str(&raw)
            .ok()
            .and_then(|app_id| tenant.applications.iter().position(|a| a.app_id == app_id))
            .ok_or_else(|| {
                GraphError::BadRequest(format!(
                    "The appId '{raw}' of the service principal does not reference a valid application object."
                ))
            })?;
        if !request
            .caller
            .can_create_service_principal(tenant, &tenant.applications[index])
        {
            return Err(GraphError::Forbidden);
        }
        if tenant.applications[index].service_principal.is_some()
            || !tenant.applications[index].registered_through_graph
        {
            // Seeded applications count as having one (they sign in without it).
            return Err(already_in_use(&raw));
        }
        let app = tenant.application_mut(index);
        let sp = ServicePrincipal {
            id: Uuid::new_v4(),
            created_at: now,
            app_role_assignments: Vec::new(),
        };
        let mut entity = render_client(app, &sp);
        app.service_principal = Some(sp);
        entity["@odata.context"] = Value::String(format!(
            "{}/$metadata#servicePrincipals/$entity",
            request.graph_base()
        ));
        Ok(entity)
    })?;
    let mut response = (StatusCode::CREATED, Json(entity)).into_response();
    response.extensions_mut().insert(Outcome("created".into()));
    Ok(response)
}

/// The code and text are UNCONFIRMED (see docs/sandbox.md); clients should look the service
/// principal up before creating it.
fn already_in_use(app_id: &str) -> GraphError {
    GraphError::Conflict(format!(
        "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAssignment {
    principal_id: Uuid,
    resource_id: Uuid,
    app_role_id: Uuid,
}

/// `POST /servicePrincipals/{resource}/appRoleAssignedTo`.
pub(crate) fn assign(request: &GraphRequest<'_>, resource: &str) -> Result<Response, GraphError> {
    let body: NewAssignment = request.json_body()?;
    let now = request.state.now();
    let entity = request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        if resolve(tenant, resource)? != Principal::Graph {
            return Err(GraphError::BadRequest(
                "The sandbox emulates app role assignments of Microsoft Graph's service principal only.".to_owned(),
            ));
        }
        if body.resource_id != graph_id(tenant) {
            return Err(GraphError::BadRequest(format!(
                "The resourceId '{}' does not match the service principal '{resource}' of the request URL.",
                body.resource_id
            )));
        }
        if !request.caller.can_grant_app_roles(tenant, true) {
            return Err(GraphError::Forbidden);
        }
        if !GRAPH_APP_ROLES.iter().any(|(id, _, _)| *id == body.app_role_id) {
            return Err(GraphError::BadRequest(format!(
                "Permission being assigned was not found on application '{GRAPH_APP_ID}'."
            )));
        }
        let Principal::Of(index) = resolve(tenant, &body.principal_id.to_string())? else {
            return Err(GraphError::BadRequest(
                "Microsoft Graph cannot be granted its own app roles.".to_owned(),
            ));
        };
        let app = tenant.application_mut(index);
        let Some(sp) = app.service_principal.as_mut() else {
            return Err(GraphError::NotFound(body.principal_id.to_string()));
        };
        if sp
            .app_role_assignments
            .iter()
            .any(|a| a.app_role_id == body.app_role_id)
        {
            return Err(GraphError::BadRequest(
                "Permission being assigned already exists on the object".to_owned(),
            ));
        }
        let assignment = AppRoleAssignment {
            id: opaque_token().chars().take(43).collect(),
            app_role_id: body.app_role_id,
            resource_id: body.resource_id,
            created_at: now,
        };
        sp.app_role_assignments.push(assignment.clone());
        let app = &tenant.applications[index];
        let mut entity = render_assignment(tenant, app, &assignment);
        entity["@odata.context"] = Value::String(format!(
            "{}/$metadata#servicePrincipals('{resource}')/appRoleAssignedTo/$entity",
            request.graph_base()
        ));
        Ok(entity)
    })?;
    let mut response = (StatusCode::CREATED, Json(entity)).into_response();
    response.extensions_mut().insert(Outcome("granted".into()));
    Ok(response)
}

/// `GET /servicePrincipals/{id}/appRoleAssignments` (granted to it) and
/// `GET /servicePrincipals/{graph}/appRoleAssignedTo` (granted on Graph, to anyone).
pub(crate) fn assignments(
    request: &GraphRequest<'_>,
    reference: &str,
    assigned_to: bool,
) -> Result<Response, GraphError> {
    require_read(request)?;
    request.state.read(|d| {
        let tenant = caller_tenant(request, d)?;
        let principal = resolve(tenant, reference)?;
        let of_app = |app: &Application| -> Vec<Value> {
            app.service_principal
                .iter()
                .flat_map(|sp| &sp.app_role_assignments)
                .map(|a| render_assignment(tenant, app, a))
                .collect()
        };
        let value = match (principal, assigned_to) {
            (Principal::Of(index), false) => of_app(&tenant.applications[index]),
            (Principal::Graph, true) => {
                tenant.applications.iter().flat_map(|a| of_app(a)).collect()
            }
            // Graph has no assignments of its own; clients have no app roles to be assigned.
            _ => Vec::new(),
        };
        let context = if assigned_to {
            "appRoleAssignedTo"
        } else {
            "appRoleAssignments"
        };
        Ok(collection(
            request,
            &format!("servicePrincipals('{reference}')/{context}"),
            value,
        ))
    })
}

/// `DELETE /servicePrincipals/{id}/appRoleAssignments/{assignment}` (or `appRoleAssignedTo`
/// on Graph's): revokes a consent.
pub(crate) fn revoke(
    request: &GraphRequest<'_>,
    reference: &str,
    assignment_id: &str,
) -> Result<Response, GraphError> {
    request.state.update(|d| {
        let tenant_id = caller_tenant(request, d)?.id;
        let tenant = d.tenant_by_id_mut(tenant_id).ok_or(GraphError::Forbidden)?;
        if !request.caller.can_grant_app_roles(tenant, true) {
            return Err(GraphError::Forbidden);
        }
        let principal = resolve(tenant, reference)?;
        let index = tenant
            .applications
            .iter()
            .position(|a| {
                a.service_principal.as_ref().is_some_and(|sp| {
                    sp.app_role_assignments
                        .iter()
                        .any(|x| x.id == assignment_id)
                })
            })
            .filter(|i| principal == Principal::Graph || principal == Principal::Of(*i))
            .ok_or_else(|| GraphError::NotFound(assignment_id.to_owned()))?;
        if let Some(sp) = tenant.application_mut(index).service_principal.as_mut() {
            sp.app_role_assignments.retain(|a| a.id != assignment_id);
        }
        Ok(())
    })?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
