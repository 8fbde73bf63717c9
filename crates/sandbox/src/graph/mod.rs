//! Microsoft Graph under `/v1.0`: applications (read, PATCH of keyCredentials, addKey, removeKey;
//! registration, owners and deletion: [`registration`]), service principals and app role
//! assignments ([`service_principals`]), users, and generated mailboxes. One catch-all route parses Graph's URL forms (including
//! `applications(appId='…')`) and dispatches.
//!
//! Rotation rules emulated (issue #12; settings in [`crate::state::Settings`]): the addKey/removeKey
//! proof ([`proof`]), the tenant lifetime policy (`CredentialInvalidLifetimeAsPerAppPolicy`), a
//! key-count limit per application (`max_key_credentials` → `Directory_ResourceSizeExceeded`), a
//! per-tenant request budget on application requests (`graph_throttle` → 429 `TooManyRequests`
//! with `Retry-After`), and the propagation delay of new keys at the token endpoint
//! (`key_propagation_delay_seconds`). Codes, texts and what is UNCONFIRMED: [`error`].

mod applications;
mod auth;
mod error;
mod filter;
mod keycredentials;
mod mail;
mod proof;
mod registration;
mod service_principals;
mod users;

use crate::state::{SharedState, lock};
use auth::Caller;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method};
use axum::response::Response;
use axum::routing::any;
pub(crate) use error::GraphError;
pub(crate) use mail::render as render_message;
use std::collections::HashMap;

pub(crate) fn routes() -> Router<SharedState> {
    Router::new().route("/v1.0/{*path}", any(dispatch))
}

/// One Graph request, parsed.
#[derive(Debug)]
pub(crate) struct GraphRequest<'a> {
    pub state: &'a SharedState,
    pub caller: Caller,
    pub query: &'a HashMap<String, String>,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

impl GraphRequest<'_> {
    pub(crate) fn graph_base(&self) -> String {
        format!("{}/v1.0", self.state.base_url)
    }

    pub(crate) fn json_body<T: serde::de::DeserializeOwned>(&self) -> Result<T, GraphError> {
        serde_json::from_slice(self.body)
            .map_err(|err| GraphError::BadRequest(format!("Invalid request body: {err}")))
    }
}

async fn dispatch(
    State(state): State<SharedState>,
    Path(path): Path<String>,
    method: Method,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let now = state.now();
    let result = Caller::from_headers(&state, &headers).and_then(|caller| {
        admit(&state, &caller, &path)?;
        let request = GraphRequest {
            state: &state,
            caller,
            query: &query,
            headers: &headers,
            body: &body,
        };
        route(&request, &method, &path)
    });
    result.unwrap_or_else(|err| err.render(now, &headers))
}

/// The `graph_throttle` budget, per tenant, over application requests (reads and writes): the
/// ones a rotation makes. Counted after authentication, as Graph's budgets belong to the
/// caller's tenant and application.
fn admit(state: &SharedState, caller: &Caller, path: &str) -> Result<(), GraphError> {
    if !path.starts_with("applications") {
        return Ok(());
    }
    let Some(budget) = state.settings().graph_throttle else {
        return Ok(());
    };
    lock(&state.throttle)
        .admit(caller.tenant, budget, state.now())
        .map_err(|retry_after_seconds| {
            state.stats.graph_throttled();
            GraphError::Throttled {
                retry_after_seconds,
            }
        })
}

fn route(request: &GraphRequest<'_>, method: &Method, path: &str) -> Result<Response, GraphError> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        (&Method::GET, ["applications"]) => applications::list(request),
        (&Method::POST, ["applications"]) => registration::create(request),
        (_, [app_ref, rest @ ..]) if app_ref.starts_with("applications") => {
            let reference = applications::AppRef::parse(app_ref, rest)?;
            match (method, reference.action.as_deref()) {
                (&Method::GET, None) => applications::get(request, &reference),
                (&Method::PATCH, None) => applications::patch(request, &reference),
                (&Method::DELETE, None) => registration::delete(request, &reference),
                (&Method::POST, Some("owners/$ref")) => {
                    registration::add_owner(request, &reference)
                }
                (&Method::POST, Some("addKey")) => applications::add_key(request, &reference),
                (&Method::POST, Some("removeKey")) => applications::remove_key(request, &reference),
                _ => Err(unsupported(method, path)),
            }
        }
        (&Method::GET, ["servicePrincipals"]) => service_principals::list(request),
        (&Method::POST, ["servicePrincipals"]) => service_principals::create(request),
        (&Method::GET, [by_app_id]) if by_app_id.starts_with("servicePrincipals(") => {
            service_principals::get(request, &by_app_id["servicePrincipals".len()..])
        }
        (&Method::GET, ["servicePrincipals", id]) => service_principals::get(request, id),
        (&Method::POST, ["servicePrincipals", id, "appRoleAssignedTo"]) => {
            service_principals::assign(request, id)
        }
        (&Method::GET, ["servicePrincipals", id, "appRoleAssignedTo"]) => {
            service_principals::assignments(request, id, true)
        }
        (&Method::GET, ["servicePrincipals", id, "appRoleAssignments"]) => {
            service_principals::assignments(request, id, false)
        }
        (
            &Method::DELETE,
            [
                "servicePrincipals",
                id,
                "appRoleAssignedTo" | "appRoleAssignments",
                assignment,
            ],
        ) => service_principals::revoke(request, id, assignment),
        (&Method::GET, ["users"]) => users::list(request),
        (&Method::GET, ["users", user]) => users::get(request, user),
        (&Method::GET, ["users", user, "messages"]) => mail::messages(request, user),
        (&Method::GET, ["users", user, "mailFolders", folder, "messages", "delta"])
            if folder.eq_ignore_ascii_case("inbox") =>
        {
            mail::delta(request, user)
        }
        _ => Err(unsupported(method, path)),
    }
}

fn unsupported(method: &Method, path: &str) -> GraphError {
    GraphError::UnsupportedRequest(format!(
        "{method} /v1.0/{path} is not emulated by the sandbox."
    ))
}

/// `$select=a,b`: the property names asked for, if any.
pub(crate) fn selected(query: &HashMap<String, String>) -> Option<Vec<String>> {
    query.get("$select").map(|s| {
        s.split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect()
    })
}

/// Keeps only the selected properties (and OData annotations) of an entity.
pub(crate) fn apply_select(
    mut entity: serde_json::Value,
    select: Option<&[String]>,
) -> serde_json::Value {
    if let (Some(select), Some(object)) = (select, entity.as_object_mut()) {
        object.retain(|name, _| {
            name.starts_with("@odata") || select.iter().any(|s| s.eq_ignore_ascii_case(name))
        });
    }
    entity
}
