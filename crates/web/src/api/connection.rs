//! **Check connection** over the API.

use super::dto::CertificatePageDto;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use tenantlink_service::OrganizationId;
use uuid::Uuid;

/// Requests one app-only token with the organization's active certificate and records Entra's
/// answer; returns the SSL Certificate section, whose `state` is then e.g. `not_attached` (the
/// application no longer lists the key) and whose `last_check` says what was found and when.
/// Operators and Administrators.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/check", tag = "certificates",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CertificatePageDto), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "the organization has no active certificate", body = Problem),
        (status = 502, description = "Entra ID could not be reached; nothing was recorded", body = Problem)))]
pub async fn check_connection(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> Result<Json<CertificatePageDto>, ApiError> {
    let page = state
        .workflows
        .check_connection(&caller, OrganizationId(id))
        .await?;
    Ok(Json(page.into()))
}
