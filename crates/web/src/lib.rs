//! tenantlink-web: the portal (server-rendered pages, usable without JavaScript) and the REST API
//! under `/api/v1` (JSON, RFC 9457 problem details, OpenAPI 3.1 at `/api/v1/openapi.json`).
//!
//! Handlers parse the request, call one service method and render; authorization is decided by
//! the service for every call (a `Caller` with a role), never by hiding buttons alone.

mod api;
mod auth;
mod cookies;
mod error;
mod fleet_view;
pub mod metrics;
mod pages;
mod renewal_view;
mod throttle;

pub use api::ApiDoc;
pub use throttle::{AddressThrottle, AddressThrottleConfig, ClientKey, RetryAfter};

use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;
use std::sync::Arc;
use tenantlink_service::{Accounts, Workflows};

/// Everything a request handler needs.
#[derive(Debug, Clone)]
pub struct AppState {
    pub workflows: Workflows,
    pub accounts: Accounts,
    /// Backup policies, Run now, the job log and the connection state.
    pub policies: tenantlink_backup::Policies,
    /// The fleet view: every organization classified by risk, from one snapshot per request.
    pub fleet: tenantlink_service::fleet::Fleet,
    /// Webhooks, e-mail recipients and notice settings (issue #13); every call is audited.
    pub notices: tenantlink_service::notices::Notices,
    pub settings: Arc<WebSettings>,
}

#[derive(Debug, Clone, Default)]
pub struct WebSettings {
    /// Clients reach the portal over HTTPS (TLS here, or at a proxy in front): cookies are
    /// `Secure` with the `__Host-` prefix ([`cookies`]) and responses carry HSTS.
    pub secure_cookies: bool,
    /// Shown on the sign-in screen of a sandbox deployment (link to the sandbox's own pages).
    pub sandbox_url: Option<String>,
}

/// The whole application: pages, API, health probes and static assets. Sign-ins are throttled
/// per client address with the default limits; serve it with
/// `into_make_service_with_connect_info::<SocketAddr>()` so the address is known.
pub fn router(state: AppState) -> Router {
    router_with_address_throttle(state, Arc::new(AddressThrottle::default()))
}

/// [`router`] with the given per-address sign-in throttle (its limits come from configuration).
pub fn router_with_address_throttle(state: AppState, throttle: Arc<AddressThrottle>) -> Router {
    Router::new()
        .merge(pages::routes())
        .nest("/api/v1", api::routes())
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/static/app.js", get(app_js))
        .route("/static/style.css", get(style_css))
        .layer(axum::middleware::map_response_with_state(
            state.settings.clone(),
            security_headers,
        ))
        .layer(axum::Extension(throttle))
        .with_state(state)
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready when the database answers.
async fn readyz(axum::extract::State(state): axum::extract::State<AppState>) -> impl IntoResponse {
    match state.workflows.repository().organizations().await {
        Ok(_) => (axum::http::StatusCode::OK, "ready"),
        Err(err) => {
            tracing::warn!(error = %err, "readiness check failed");
            (
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "database unavailable",
            )
        }
    }
}

async fn app_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/app.js"),
    )
}

async fn style_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../assets/style.css"),
    )
}

/// How long browsers keep to HTTPS after one HSTS answer: a year, without `includeSubDomains`
/// (other hosts of the domain are not ours to commit) or `preload`.
const HSTS: &str = "max-age=31536000";

/// Scripts only from our own origin (no inline script), no framing, no referrer leaks; HSTS
/// when the portal is reached over HTTPS.
async fn security_headers(
    axum::extract::State(settings): axum::extract::State<Arc<WebSettings>>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name: HeaderName, value: &'static str| {
        headers
            .entry(name)
            .or_insert(HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::CACHE_CONTROL, "no-store");
    if settings.secure_cookies {
        set(headers, header::STRICT_TRANSPORT_SECURITY, HSTS);
    }
    response
}
