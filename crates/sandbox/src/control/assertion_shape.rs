//! `GET` and `POST` `/_sandbox/applications/{app_id}/assertion_shape`: makes the token endpoint
//! accept only one client-assertion shape from this application — `"rs256"` (RS256 + `x5t`) or
//! `"ps256"` (PS256 + `x5t#S256`) — and refuse the other as a stricter Entra deployment would
//! (AADSTS5002738 for the algorithm, AADSTS5002723 for the missing thumbprint). `null` accepts
//! every shape again (the default). Kept in memory like faults: a restart forgets it.

use super::{ControlError, parse};
use crate::identity::assertion::AssertionShape;
use crate::state::{SharedState, lock};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer};
use serde_json::json;
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapeRequest {
    /// Required: absent is an error, `null` accepts every shape.
    #[serde(default, deserialize_with = "present")]
    accept: Option<Option<AssertionShape>>,
}

/// Tells a key given as `null` (`Some(None)`) from a missing key (`None`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<AssertionShape>>, D::Error> {
    Option::<AssertionShape>::deserialize(d).map(Some)
}

fn body(app_id: Uuid, shape: Option<AssertionShape>) -> Response {
    Json(json!({"app_id": app_id.to_string(), "accept": shape})).into_response()
}

/// The application must exist in some tenant; an unknown id is a typing mistake in the test.
fn known_application(state: &SharedState, app_id: &str) -> Result<Uuid, ControlError> {
    let unknown = || ControlError {
        status: StatusCode::NOT_FOUND,
        kind: "unknown_application",
        message: format!("no application with app id {app_id:?} in the sandbox directory"),
    };
    let id = Uuid::parse_str(app_id).map_err(|_| unknown())?;
    let exists = state.read(|d| {
        d.tenants
            .iter()
            .any(|t| t.applications.iter().any(|a| a.app_id == id))
    });
    exists.then_some(id).ok_or_else(unknown)
}

pub(super) async fn show(State(state): State<SharedState>, Path(app_id): Path<String>) -> Response {
    match known_application(&state, &app_id) {
        Ok(id) => body(id, state.required_assertion_shape(&id)),
        Err(err) => err.into_response(),
    }
}

pub(super) async fn change(
    State(state): State<SharedState>,
    Path(app_id): Path<String>,
    bytes: axum::body::Bytes,
) -> Response {
    let result = known_application(&state, &app_id).and_then(|id| {
        let request: ShapeRequest = parse(&bytes)?;
        let shape = request.accept.ok_or_else(|| ControlError {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid_request",
            message: "'accept' is required: \"rs256\", \"ps256\", or null for every shape"
                .to_owned(),
        })?;
        let mut shapes = lock(&state.assertion_shapes);
        match shape {
            Some(shape) => shapes.insert(id, shape),
            None => shapes.remove(&id),
        };
        Ok(body(id, shape))
    });
    result.unwrap_or_else(IntoResponse::into_response)
}
