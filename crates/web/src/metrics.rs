//! `GET /metrics`: the fleet's gauges (computed at scrape time from the fleet snapshot) and the
//! process's counters, in the OpenMetrics text format of the Prometheus project's own Rust
//! client. Served as `application/openmetrics-text; version=1.0.0`, which Prometheus asks for
//! first and parses natively; counters then carry the `_total` suffix in their samples, as
//! OpenMetrics requires (see docs/metrics.md).
//!
//! Optionally behind a bearer token (`[metrics] bearer_token_file`): Prometheus'
//! `authorization` scrape setting sends it. Without one, the route is open like `/healthz`;
//! serve may then bind it to a separate listen address instead.

mod counters;
mod fleet;
#[cfg(test)]
mod tests;

pub use counters::Counters;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;
use tenantlink_clock::SharedClock;
use tenantlink_service::SecretString;
use tenantlink_service::fleet::{FleetCache, FleetSnapshot};
use time::Duration;

/// The content type of what the route answers.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What the route needs.
#[derive(Debug, Clone)]
pub struct MetricsState {
    /// Shared with the fleet view: one kept snapshot for both.
    pub fleet: FleetCache,
    pub clock: SharedClock,
    pub counters: Arc<Counters>,
    /// Scrapes must send `Authorization: Bearer <token>` when set.
    pub bearer_token: Option<SecretString>,
    /// How close to its end a certificate counts as expiring soon (the portal's window).
    pub expiring_soon: Duration,
}

/// `/metrics` alone, to merge into the portal's router or to serve on its own address.
pub fn router(state: MetricsState) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(Arc::new(state))
}

async fn scrape(State(state): State<Arc<MetricsState>>, headers: HeaderMap) -> Response {
    if let Some(expected) = &state.bearer_token
        && !authorized(&headers, expected)
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer realm=\"metrics\"")],
            "a bearer token is required\n",
        )
            .into_response();
    }
    let records = match state.fleet.snapshot().await {
        Ok(records) => records,
        Err(error) => {
            tracing::warn!(%error, "metrics: could not read the fleet");
            return (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response();
        }
    };
    match encode(records, &state) {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static(OPENMETRICS_CONTENT_TYPE),
            )],
            text,
        )
            .into_response(),
        Err(error) => {
            tracing::error!(%error, "metrics: could not encode");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn encode(records: FleetSnapshot, state: &MetricsState) -> Result<String, std::fmt::Error> {
    use prometheus_client::encoding::text::{encode_eof, encode_registry};
    // About a kilobyte per organization (five series with three labels each): reserved at once
    // instead of doubling a 10 MB string twenty times.
    let mut text = String::with_capacity(records.len() * 1024 + 16 * 1024);
    let fleet = fleet::registry(records, state.clock.now(), state.expiring_soon);
    encode_registry(&mut text, &fleet)?;
    encode_registry(&mut text, state.counters.registry())?;
    encode_eof(&mut text)?;
    Ok(text)
}

/// `Authorization: Bearer <token>` with exactly the expected token, compared in constant time
/// (for tokens of one length) so a timing attack learns nothing of it.
fn authorized(headers: &HeaderMap, expected: &SecretString) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
    else {
        return false;
    };
    let (given, expected) = (given.trim().as_bytes(), expected.expose().as_bytes());
    given.len() == expected.len()
        && given
            .iter()
            .zip(expected)
            .fold(0u8, |differ, (a, b)| differ | (a ^ b))
            == 0
}
