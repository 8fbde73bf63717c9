//! The control API under `/_sandbox/` (JSON in and out): scripted device sign-in, the clock,
//! faults, settings (propagation delay, access-token signing, the `graph_throttle` budget, the
//! `max_key_credentials` limit: [`crate::state::Settings`]), an application's keys and key
//! changes ([`application_view`]), an application's accepted assertion shape
//! ([`assertion_shape`]), the tenant's policy ([`policy`]), the request log and mail ([`mail`]). Mounted only with `enable_control`, behind a secret when one is configured ([`access`]).

mod access;
mod application_view;
mod applications;
mod assertion_shape;
mod directory;
mod mail;
mod policy;
mod tenant_access;

use crate::faults::FaultSpec;
use crate::identity::device::sign_in;
use crate::requestlog::Outcome;
use crate::state::{Settings, SharedState, lock};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;
use tenantlink_clock::{ClockOffsetOutOfRange, MAX_CLOCK_OFFSET};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};

pub use access::ControlSecret;

/// The control routes; with a secret, each call must present it (see [`access`]).
pub(crate) fn routes(secret: Option<ControlSecret>) -> Router<SharedState> {
    let routes = all_routes();
    match secret {
        Some(secret) => routes.route_layer(axum::middleware::from_fn_with_state(
            secret,
            access::require_secret,
        )),
        None => routes,
    }
}

fn all_routes() -> Router<SharedState> {
    Router::new()
        .route("/_sandbox/device/approve", post(approve))
        .route("/_sandbox/device/decline", post(decline))
        .route("/_sandbox/clock", get(clock).post(set_clock))
        .route(
            "/_sandbox/faults",
            get(list_faults).post(add_fault).delete(clear_faults),
        )
        .route("/_sandbox/settings", get(settings).post(change_settings))
        .route("/_sandbox/requests", get(requests).delete(clear_requests))
        .route("/_sandbox/stats", get(stats))
        .route(
            "/_sandbox/applications",
            post(applications::register).layer(DefaultBodyLimit::max(applications::BODY_LIMIT)),
        )
        .route(
            "/_sandbox/applications/{app_id}",
            get(application_view::show),
        )
        .route(
            "/_sandbox/applications/{app_id}/assertion_shape",
            get(assertion_shape::show).post(assertion_shape::change),
        )
        .route(
            "/_sandbox/tenant/policy",
            get(policy::show).post(policy::change).put(policy::change),
        )
        .route(
            "/_sandbox/tenant/access",
            get(tenant_access::show).post(tenant_access::change),
        )
        .route(
            "/_sandbox/tenant/conditional_access",
            get(tenant_access::show).post(tenant_access::change),
        )
        .route("/_sandbox/users", post(directory::add_user))
        .route("/_sandbox/tenants", post(directory::add_tenant))
        .route("/_sandbox/mail", post(mail::add))
        .route(
            "/_sandbox/mail/{id}",
            post(mail::change).patch(mail::change),
        )
}

/// A control-API failure: `{"error": kind, "message": …}` with a 4xx status.
#[derive(Debug)]
pub(super) struct ControlError {
    status: StatusCode,
    kind: &'static str,
    message: String,
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = Json(json!({"error": self.kind, "message": self.message}));
        let mut response = (self.status, body).into_response();
        response
            .extensions_mut()
            .insert(Outcome(self.kind.to_owned()));
        response
    }
}

pub(super) fn error(
    status: StatusCode,
    kind: &'static str,
    message: impl Into<String>,
) -> Response {
    ControlError {
        status,
        kind,
        message: message.into(),
    }
    .into_response()
}

/// Axum's JSON extractor answers bad input with plain text; the control API answers with JSON.
pub(super) fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ControlError> {
    serde_json::from_slice(body).map_err(|err| ControlError {
        status: StatusCode::BAD_REQUEST,
        kind: "invalid_request",
        message: format!("invalid JSON body: {err}"),
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ApproveRequest {
    user_code: String,
    username: String,
}

async fn approve(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let request: ApproveRequest = match parse(&body) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    match sign_in::approve(&state, &request.user_code, &request.username) {
        Ok(()) => Json(json!({"approved": true, "username": request.username})).into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, err.kind(), err.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeclineRequest {
    user_code: String,
}

async fn decline(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let request: DeclineRequest = match parse(&body) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    match sign_in::decline(&state, &request.user_code) {
        Ok(()) => Json(json!({"declined": true})).into_response(),
        Err(err) => error(StatusCode::BAD_REQUEST, err.kind(), err.to_string()),
    }
}

fn clock_body(state: &SharedState) -> Json<serde_json::Value> {
    let now = state.now();
    Json(json!({
        "now": now.format(&Rfc3339).unwrap_or_default(),
        "offset_seconds": state.clock.offset().as_seconds_f64(),
    }))
}

async fn clock(State(state): State<SharedState>) -> Response {
    clock_body(&state).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClockRequest {
    #[serde(default)]
    now: Option<String>,
    #[serde(default)]
    advance_seconds: Option<f64>,
}

async fn set_clock(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let request: ClockRequest = match parse(&body) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    let moved = match (request.now, request.advance_seconds) {
        (Some(now), None) => match OffsetDateTime::parse(&now, &Rfc3339) {
            Ok(at) => state.clock.try_set(at),
            Err(_) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "invalid_request",
                    format!("'now' must be an RFC 3339 date-time, got {now:?}"),
                );
            }
        },
        // Bounded before it becomes a Duration: `seconds_f64` panics past i64 seconds.
        (None, Some(seconds))
            if seconds.is_finite() && seconds.abs() <= MAX_CLOCK_OFFSET.as_seconds_f64() =>
        {
            state.clock.try_advance(Duration::seconds_f64(seconds))
        }
        (None, Some(seconds)) if seconds.is_finite() => Err(ClockOffsetOutOfRange),
        _ => {
            return error(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "give exactly one of 'now' (RFC 3339) or 'advance_seconds' (a number)",
            );
        }
    };
    if let Err(out_of_range) = moved {
        return error(
            StatusCode::BAD_REQUEST,
            "clock_out_of_range",
            format!("{out_of_range}; the clock was not changed"),
        );
    }
    clock_body(&state).into_response()
}

async fn list_faults(State(state): State<SharedState>) -> Response {
    Json(json!({"faults": lock(&state.faults).list()})).into_response()
}

async fn add_fault(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match parse(&body) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    if let Err(err) = spec.validate() {
        return error(StatusCode::BAD_REQUEST, "invalid_fault", err.to_string());
    }
    let mut faults = lock(&state.faults);
    faults.add(spec);
    (StatusCode::CREATED, Json(json!({"faults": faults.list()}))).into_response()
}

async fn clear_faults(State(state): State<SharedState>) -> Response {
    lock(&state.faults).clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn settings(State(state): State<SharedState>) -> Response {
    Json(state.settings()).into_response()
}

async fn change_settings(State(state): State<SharedState>, body: axum::body::Bytes) -> Response {
    let changed: Settings = match parse(&body) {
        Ok(r) => r,
        Err(err) => return err.into_response(),
    };
    if let Err(message) = changed.validate() {
        return error(StatusCode::BAD_REQUEST, "invalid_request", message);
    }
    *lock(&state.settings) = changed.clone();
    Json(changed).into_response()
}

async fn requests(State(state): State<SharedState>) -> Response {
    Json(json!({"requests": lock(&state.log).entries()})).into_response()
}

async fn stats(State(state): State<SharedState>) -> Response {
    Json(state.stats.snapshot()).into_response()
}

async fn clear_requests(State(state): State<SharedState>) -> Response {
    lock(&state.log).clear();
    StatusCode::NO_CONTENT.into_response()
}
