//! Webhook endpoints under `/api/v1/webhooks`: create (the signing secret is in that answer
//! only), list, read, enable/disable, delete, send a test event, and the delivery log. Roles
//! are checked and changes audited by the notice service: anyone signed in reads,
//! Administrators change.

use super::event_dto::{parse_event_types, subscribable};
use super::json_body::JsonBody;
use super::webhook_dto::{
    DeliveryDto, DeliveryListDto, WebhookCreatedDto, WebhookDto, WebhookListDto, WebhookRequest,
};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tenantlink_service::notices::{MAX_LOG_ENTRIES, NewWebhook, WebhookId};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

/// Creates an endpoint (Administrators). The answer carries the signing secret, the one time
/// it is shown. A URL that is not HTTPS (plain HTTP is accepted for a loopback receiver only)
/// or an unknown event type is a 422 problem naming the field; nothing is created.
#[utoipa::path(post, path = "/api/v1/webhooks", tag = "notices", request_body = WebhookRequest,
    responses((status = 201, body = WebhookCreatedDto), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_webhook(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(request): JsonBody<WebhookRequest>,
) -> ApiResult<(StatusCode, Json<WebhookCreatedDto>)> {
    let event_types = match &request.event_types {
        None => subscribable().collect(),
        Some(names) => parse_event_types("event_types", names)?,
    };
    let new = NewWebhook {
        url: request.url,
        description: request.description,
        event_types: Some(event_types),
    };
    let created = state.notices.create_webhook(&caller, &new).await?;
    Ok((StatusCode::CREATED, Json(created.into())))
}

/// The endpoints, oldest first; never their secrets.
#[utoipa::path(get, path = "/api/v1/webhooks", tag = "notices",
    responses((status = 200, body = WebhookListDto)))]
pub async fn list_webhooks(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<WebhookListDto>> {
    let webhooks = state.notices.webhooks(&caller).await?;
    Ok(Json(WebhookListDto {
        webhooks: webhooks.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/api/v1/webhooks/{id}", tag = "notices",
    params(("id" = Uuid, Path, description = "webhook endpoint")),
    responses((status = 200, body = WebhookDto), (status = 404, body = Problem)))]
pub async fn get_webhook(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<WebhookDto>> {
    Ok(Json(
        state.notices.webhook(&caller, WebhookId(id)).await?.into(),
    ))
}

/// Enables the endpoint (Administrators); also clears a `failing_since` mark.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/enable", tag = "notices",
    params(("id" = Uuid, Path, description = "webhook endpoint")),
    responses((status = 200, body = WebhookDto), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn enable_webhook(
    state: State<AppState>,
    caller: ApiCaller,
    id: Path<Uuid>,
) -> ApiResult<Json<WebhookDto>> {
    set_enabled(state, caller, id, true).await
}

/// Disables the endpoint (Administrators): it gets no new deliveries and its pending ones fail.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/disable", tag = "notices",
    params(("id" = Uuid, Path, description = "webhook endpoint")),
    responses((status = 200, body = WebhookDto), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn disable_webhook(
    state: State<AppState>,
    caller: ApiCaller,
    id: Path<Uuid>,
) -> ApiResult<Json<WebhookDto>> {
    set_enabled(state, caller, id, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    enabled: bool,
) -> ApiResult<Json<WebhookDto>> {
    let endpoint = state
        .notices
        .set_webhook_enabled(&caller, WebhookId(id), enabled)
        .await?;
    Ok(Json(endpoint.into()))
}

/// Deletes the endpoint (Administrators): its pending deliveries fail; its log stays readable.
#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "notices",
    params(("id" = Uuid, Path, description = "webhook endpoint")),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn delete_webhook(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    state.notices.delete_webhook(&caller, WebhookId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// "Send a test event" (Administrators): a `tenantlink.test` event delivered to this endpoint
/// at once, in one attempt. Answers with the delivery as recorded — `delivered`, or `failed`
/// with the endpoint's status code or the error.
#[utoipa::path(post, path = "/api/v1/webhooks/{id}/test", tag = "notices",
    params(("id" = Uuid, Path, description = "webhook endpoint")),
    responses((status = 200, body = DeliveryDto), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "the endpoint is disabled", body = Problem)))]
pub async fn test_webhook(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<DeliveryDto>> {
    let delivery = state
        .notices
        .send_test_event(&caller, WebhookId(id))
        .await?;
    Ok(Json(delivery.into()))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct LogQuery {
    /// At most this many entries, newest first (default 100, maximum 500).
    limit: Option<u32>,
}

/// The endpoint's delivery log, newest first (status, attempts, last response code, last
/// error).
#[utoipa::path(get, path = "/api/v1/webhooks/{id}/deliveries", tag = "notices",
    params(("id" = Uuid, Path, description = "webhook endpoint"), LogQuery),
    responses((status = 200, body = DeliveryListDto), (status = 404, body = Problem)))]
pub async fn list_deliveries(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    Query(query): Query<LogQuery>,
) -> ApiResult<Json<DeliveryListDto>> {
    let limit = query.limit.unwrap_or(100).min(MAX_LOG_ENTRIES);
    let deliveries = state
        .notices
        .deliveries(&caller, Some(WebhookId(id)), limit)
        .await?;
    Ok(Json(DeliveryListDto {
        deliveries: deliveries.into_iter().map(Into::into).collect(),
    }))
}
