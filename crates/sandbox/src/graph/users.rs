//! `/users` and `/users/{id | userPrincipalName}`.

use super::{GraphError, GraphRequest, apply_select, selected};
use crate::tenants::User;
use axum::Json;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

fn render(user: &User) -> Value {
    json!({
        "id": user.id.to_string(),
        "displayName": user.display_name,
        "userPrincipalName": user.user_principal_name,
        "mail": user.user_principal_name,
        "accountEnabled": true,
    })
}

pub(crate) fn list(request: &GraphRequest<'_>) -> Result<Response, GraphError> {
    if !request.caller.can_read_users() {
        return Err(GraphError::Forbidden);
    }
    let select = selected(request.query);
    request.state.read(|d| {
        let tenant = d
            .tenant_by_id(request.caller.tenant)
            .ok_or(GraphError::Forbidden)?;
        let value: Vec<Value> = tenant
            .users
            .iter()
            .map(|u| apply_select(render(u), select.as_deref()))
            .collect();
        Ok(Json(json!({
            "@odata.context": format!("{}/$metadata#users", request.graph_base()),
            "value": value,
        }))
        .into_response())
    })
}

pub(crate) fn get(request: &GraphRequest<'_>, reference: &str) -> Result<Response, GraphError> {
    let select = selected(request.query);
    request.state.read(|d| {
        let tenant = d.tenant_by_id(request.caller.tenant).ok_or(GraphError::Forbidden)?;
        let user = tenant
            .user(reference)
            .ok_or_else(|| GraphError::NotFound(reference.to_owned()))?;
        let is_self = matches!(&request.caller.kind, super::auth::CallerKind::User { id, .. } if *id == user.id);
        if !is_self && !request.caller.can_read_users() {
            return Err(GraphError::Forbidden);
        }
        let mut entity = render(user);
        entity["@odata.context"] = Value::String(format!("{}/$metadata#users/$entity", request.graph_base()));
        Ok(Json(apply_select(entity, select.as_deref())).into_response())
    })
}
