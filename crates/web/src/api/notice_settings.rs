//! The notice settings (`/api/v1/notices/settings`), an organization's own e-mail recipients
//! and the notices recorded. The notice service checks roles (anyone signed in reads,
//! Administrators change), validates and audits each change.

use super::json_body::JsonBody;
use super::notice_dto::{NoticeDto, NoticeListDto, NoticeSettingsDto, RecipientsDto};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use tenantlink_service::OrganizationId;
use tenantlink_service::notices::{MAX_NOTICES, NoticeSettings};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(get, path = "/api/v1/notices/settings", tag = "notices",
    responses((status = 200, body = NoticeSettingsDto)))]
pub async fn get_settings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<NoticeSettingsDto>> {
    Ok(Json(state.notices.notice_settings(&caller).await?.into()))
}

/// Replaces the settings (Administrators); answers with them as stored (thresholds sorted
/// descending, duplicate recipients dropped). A bad value is a 422 problem naming the field and
/// what is allowed; nothing changes.
#[utoipa::path(put, path = "/api/v1/notices/settings", tag = "notices",
    request_body = NoticeSettingsDto,
    responses((status = 200, body = NoticeSettingsDto), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put_settings(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(request): JsonBody<NoticeSettingsDto>,
) -> ApiResult<Json<NoticeSettingsDto>> {
    let settings = NoticeSettings::try_from(request)?;
    let stored = state
        .notices
        .set_notice_settings(&caller, &settings)
        .await?;
    Ok(Json(stored.into()))
}

/// The organization's own e-mail recipients; `[]` means the default recipients apply.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/notice_recipients", tag = "notices",
    params(("id" = Uuid, Path, description = "organization")),
    responses((status = 200, body = RecipientsDto), (status = 404, body = Problem)))]
pub async fn get_recipients(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<RecipientsDto>> {
    let recipients = state
        .notices
        .organization_recipients(&caller, OrganizationId(id))
        .await?;
    Ok(Json(RecipientsDto { recipients }))
}

/// Replaces the organization's own recipients (Administrators); `[]` returns it to the default
/// recipients. An entry that is not an e-mail address is a 422 problem; nothing changes.
#[utoipa::path(put, path = "/api/v1/organizations/{id}/notice_recipients", tag = "notices",
    params(("id" = Uuid, Path, description = "organization")), request_body = RecipientsDto,
    responses((status = 200, body = RecipientsDto), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn put_recipients(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    JsonBody(request): JsonBody<RecipientsDto>,
) -> ApiResult<Json<RecipientsDto>> {
    let recipients = state
        .notices
        .set_organization_recipients(&caller, OrganizationId(id), &request.recipients)
        .await?;
    Ok(Json(RecipientsDto { recipients }))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct NoticesQuery {
    /// Only this organization's notices.
    organization: Option<Uuid>,
    /// At most this many, newest first (default 100, maximum 500).
    limit: Option<u32>,
}

/// The notices recorded, newest first, with the payload their deliveries carry.
#[utoipa::path(get, path = "/api/v1/notices", tag = "notices", params(NoticesQuery),
    responses((status = 200, body = NoticeListDto)))]
pub async fn list_notices(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(query): Query<NoticesQuery>,
) -> ApiResult<Json<NoticeListDto>> {
    let limit = query.limit.unwrap_or(100).min(MAX_NOTICES);
    let notices = state
        .notices
        .notices(&caller, query.organization.map(OrganizationId), limit)
        .await?;
    Ok(Json(NoticeListDto {
        notices: notices.into_iter().map(NoticeDto::from).collect(),
    }))
}
