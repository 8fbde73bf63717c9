//! REST API under `/api/v1`: JSON in and out, problem details on error, OpenAPI 3.1 generated
//! from these handlers.

mod account_dto;
mod accounts;
mod browser_sign_in;
mod connect;
mod connection;
mod dto;
mod event_dto;
mod fleet;
mod fleet_dto;
mod handlers;
mod json_body;
mod notice_dto;
mod notice_settings;
mod policies;
mod policy_dto;
pub(crate) mod renewal_dto;
mod webhook_dto;
mod webhooks;

use self::accounts as a;
use self::notice_settings as n;
use self::policies as p;
use self::webhooks as w;
use crate::AppState;
use axum::Json;
use axum::Router;
use axum::routing::{delete, get, post};
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(|| async { Json(ApiDoc::openapi()) }))
        .route(
            "/organizations",
            get(fleet::list_organizations).post(handlers::add_organization),
        )
        .route(
            "/organizations/connect",
            post(connect::connect_organization),
        )
        .route(
            "/organizations/{id}",
            get(handlers::get_organization).patch(handlers::update_organization),
        )
        .route(
            "/organizations/{id}/reconnect",
            post(connect::reconnect_organization),
        )
        .route(
            "/organizations/{id}/certificate",
            get(handlers::certificate_page),
        )
        .route("/organizations/{id}/rotate", post(handlers::rotate))
        .route(
            "/organizations/{id}/operations",
            get(handlers::list_operations).post(handlers::start_operation),
        )
        .route("/certificates/{id}/cer", get(handlers::download_cer))
        .route("/operations/{id}", get(handlers::get_operation))
        .route("/operations/{id}/generate", post(handlers::generate))
        .route("/operations/{id}/import", post(handlers::import))
        .route("/operations/{id}/connect", post(connect::connect_steps))
        .route("/operations/{id}/cancel", post(handlers::cancel))
        .route(
            "/operations/{id}/browser_sign_in",
            post(browser_sign_in::start),
        )
        .route("/operations/{id}/abandon", post(handlers::abandon))
        .route("/audit", get(handlers::audit))
        .route("/tokens", get(a::list_tokens).post(a::create_token))
        .route("/tokens/{id}", delete(a::revoke_token))
        .route("/me", get(handlers::me))
        .route("/me/password", post(a::change_own_password))
        .route("/users", get(a::list_users).post(a::create_user))
        .route("/users/{id}", get(a::get_user).patch(a::update_user))
        .route("/users/{id}/password", post(a::reset_password))
        .route("/users/{id}/sessions", delete(a::end_sessions))
        .route(
            "/organizations/{id}/policies",
            get(p::list_policies).post(p::create_policy),
        )
        .route("/organizations/{id}/connection", get(p::connection))
        .route(
            "/organizations/{id}/check",
            post(connection::check_connection),
        )
        .route(
            "/policies/{id}",
            get(p::get_policy)
                .put(p::update_policy)
                .delete(p::delete_policy),
        )
        .route("/policies/{id}/enable", post(p::enable_policy))
        .route("/policies/{id}/disable", post(p::disable_policy))
        .route("/policies/{id}/run", post(p::run_policy))
        .route("/policies/{id}/runs", get(p::list_runs))
        .route("/runs/{id}", get(p::get_run))
        .route("/webhooks", get(w::list_webhooks).post(w::create_webhook))
        .route(
            "/webhooks/{id}",
            get(w::get_webhook).delete(w::delete_webhook),
        )
        .route("/webhooks/{id}/enable", post(w::enable_webhook))
        .route("/webhooks/{id}/disable", post(w::disable_webhook))
        .route("/webhooks/{id}/test", post(w::test_webhook))
        .route("/webhooks/{id}/deliveries", get(w::list_deliveries))
        .route("/notices", get(n::list_notices))
        .route(
            "/notices/settings",
            get(n::get_settings).put(n::put_settings),
        )
        .route(
            "/organizations/{id}/notice_recipients",
            get(n::get_recipients).put(n::put_recipients),
        )
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "tenantlink API",
        description = "Organizations (added with their application id, or connected: the backup application registered by tenantlink after one sign-in), their certificate credential, the Generate / Upload workflows, backup policies with their job log, accounts and API tokens, notices (webhook endpoints, e-mail settings; the webhook event body is the `WebhookEventDto` schema), and the audit log. Errors are RFC 9457 problem details.",
    ),
    paths(
        browser_sign_in::start,
        connect::connect_organization,
        connect::reconnect_organization,
        connect::connect_steps,
        fleet::list_organizations,
        handlers::add_organization,
        handlers::get_organization,
        handlers::update_organization,
        handlers::certificate_page,
        handlers::list_operations,
        handlers::start_operation,
        handlers::download_cer,
        handlers::get_operation,
        handlers::generate,
        handlers::rotate,
        handlers::import,
        handlers::cancel,
        handlers::abandon,
        handlers::audit,
        handlers::me,
        a::list_users,
        a::create_user,
        a::get_user,
        a::update_user,
        a::reset_password,
        a::end_sessions,
        a::change_own_password,
        a::list_tokens,
        a::create_token,
        a::revoke_token,
        p::list_policies,
        p::create_policy,
        p::get_policy,
        p::update_policy,
        p::delete_policy,
        p::enable_policy,
        p::disable_policy,
        p::run_policy,
        p::list_runs,
        p::get_run,
        p::connection,
        connection::check_connection,
        w::create_webhook,
        w::list_webhooks,
        w::get_webhook,
        w::enable_webhook,
        w::disable_webhook,
        w::delete_webhook,
        w::test_webhook,
        w::list_deliveries,
        n::get_settings,
        n::put_settings,
        n::get_recipients,
        n::put_recipients,
        n::list_notices,
    ),
    // The webhook body is not an answer of this API but what receivers get: listed so that
    // its schema is in the document (`docs/notices.md` describes the signature).
    components(schemas(
        crate::error::Problem,
        event_dto::WebhookEventDto,
        event_dto::NoticeDataDto,
        event_dto::EventTypeName
    )),
    modifiers(&SecuritySchemes),
    security(("bearer" = []), ("session" = []))
)]
#[derive(Debug)]
pub struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::auth::SESSION_COOKIE,
                "Portal session (`__Host-tenantlink_session` when the portal is reached over HTTPS); state-changing requests must also send X-CSRF-Token.",
            ))),
        );
    }
}
