//! `GET /_sandbox/applications/{id}` (appId or object id): what a test needs to assert about an
//! application's keys without a Graph token — each keyCredential with its SHA-1 thumbprint
//! (computed from `key`), window, when it was attached and from when the token endpoint accepts
//! it (attach time + the propagation delay), and the successful Graph key changes since the
//! sandbox started (addKey, removeKey, PATCHes of keyCredentials), so that "exactly one
//! rotation" is one assertion.

use super::ControlError;
use crate::keys::hex_upper;
use crate::state::SharedState;
use crate::tenants::{Application, StoredKeyCredential, Tenant};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

pub(super) async fn show(State(state): State<SharedState>, Path(id): Path<String>) -> Response {
    let delay = state.settings().propagation_delay();
    let now = state.now();
    let found = Uuid::parse_str(&id).ok().and_then(|id| {
        state.read(|d| {
            d.tenants.iter().find_map(|tenant| {
                tenant
                    .applications
                    .iter()
                    .find(|a| a.app_id == id || a.id == id)
                    .map(|app| describe(tenant, app, now, delay))
            })
        })
    });
    let Some(mut body) = found else {
        return ControlError {
            status: StatusCode::NOT_FOUND,
            kind: "unknown_application",
            message: format!(
                "no application with app id or object id {id:?} in the sandbox directory"
            ),
        }
        .into_response();
    };
    let object_id = body["object_id"]
        .as_str()
        .and_then(|id| Uuid::parse_str(id).ok())
        .unwrap_or_default();
    body["graph_key_changes"] = json!(state.stats.key_changes_of(object_id));
    Json(body).into_response()
}

fn describe(
    tenant: &Tenant,
    app: &Application,
    now: OffsetDateTime,
    delay: time::Duration,
) -> Value {
    let keys: Vec<Value> = app
        .key_credentials
        .iter()
        .map(|k| describe_key(k, now, delay))
        .collect();
    json!({
        "app_id": app.app_id.to_string(),
        "object_id": app.id.to_string(),
        "display_name": app.display_name,
        "tenant": tenant.id.to_string(),
        "key_count": keys.len(),
        "key_credentials": keys,
        "tags": app.tags,
        "owners": app.owners.iter().map(Uuid::to_string).collect::<Vec<_>>(),
        "registered_through_graph": app.registered_through_graph,
        // What was consented, by permission name (issue #14's "exactly the consented app roles").
        "service_principal": app.service_principal.as_ref().map(|sp| json!({
            "id": sp.id.to_string(),
            "created": sp.created_at.format(&Rfc3339).unwrap_or_default(),
            "app_roles": sp.app_role_assignments.iter().map(|a| json!({
                "app_role_id": a.app_role_id.to_string(),
                "permission": crate::tenants::graph_roles::name_of(a.app_role_id),
                "granted": a.created_at.format(&Rfc3339).unwrap_or_default(),
            })).collect::<Vec<_>>(),
        })),
    })
}

fn describe_key(key: &StoredKeyCredential, now: OffsetDateTime, delay: time::Duration) -> Value {
    let date = |at: OffsetDateTime| at.format(&Rfc3339).unwrap_or_default();
    let usable_from = key.attached_at + delay;
    json!({
        "key_id": key.key_id.to_string(),
        "thumbprint": key.certificate().map(|c| hex_upper(&c.sha1)),
        "start": date(key.start),
        "end": date(key.end),
        "attached_at": date(key.attached_at),
        "usable_from": date(usable_from),
        // What the token endpoint does with this key now: propagated, inside its window.
        "usable_now": usable_from <= now && key.start <= now && now <= key.end,
    })
}
