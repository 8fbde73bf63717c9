//! "Connect an organization" and Reconnect under `/api/v1`: start (202 with the operation
//! waiting for the device sign-in, its code in `sign_in`), then, once its `step` is
//! `signed_in`, `POST /api/v1/operations/{id}/connect` runs the registration and the first
//! certificate on a background task (202 again; follow the `step`). Refusals are problems.

use super::dto::OperationDto;
use super::handlers::{Accepted, accepted};
use super::json_body::JsonBody;
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::extract::{Path, State};
use serde::Deserialize;
use tenantlink_service::{Cloud, ConnectRequest, OperationId, OrganizationId};
use utoipa::ToSchema;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectOrganizationRequest {
    /// Tenant GUID or domain (`contoso.onmicrosoft.com`).
    pub tenant: String,
    /// `global`, `usgov`, `china` or `sandbox`.
    pub cloud: String,
    /// The organization's name in tenantlink; the tenant when absent or blank.
    #[serde(default)]
    pub name: Option<String>,
}

/// "Connect an organization" (Administrators): stores the organization without an application
/// yet and starts the device sign-in of an account that may register applications and grant
/// admin consent (Global Administrator, or Application Administrator plus Privileged Role
/// Administrator). Answers 202 with the operation (kind `connect`, step `awaiting_sign_in`, the
/// code in `sign_in`). A tenant tenantlink already has is a 409 naming its organization:
/// Reconnect that one instead.
#[utoipa::path(post, path = "/api/v1/organizations/connect", tag = "organizations",
    request_body = ConnectOrganizationRequest,
    responses((status = 202, body = OperationDto, headers(("Location" = String, description = "the operation"))),
        (status = 400, body = Problem), (status = 403, body = Problem),
        (status = 409, description = "the tenant is already an organization (Reconnect it), or Connect is not available", body = Problem),
        (status = 422, body = Problem), (status = 502, body = Problem)))]
pub async fn connect_organization(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    JsonBody(request): JsonBody<ConnectOrganizationRequest>,
) -> ApiResult<Accepted> {
    let request = ConnectRequest {
        tenant: request.tenant,
        cloud: Cloud::from_input(&request.cloud)?,
        name: request.name,
    };
    let operation = state.workflows.start_connect(&caller, request).await?;
    Ok(accepted(operation))
}

/// "Reconnect" (Administrators): the Connect steps for an organization tenantlink has — its
/// application is reused when it still exists (found by its marker or its application id) and
/// registered again when it was deleted; missing consent is granted again; a new certificate
/// becomes active. 202 with the operation waiting for the sign-in.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/reconnect", tag = "organizations",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = OperationDto, headers(("Location" = String, description = "the operation"))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "another operation is running for this organization, or Connect is not available", body = Problem),
        (status = 502, body = Problem)))]
pub async fn reconnect_organization(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Accepted> {
    let operation = state
        .workflows
        .start_reconnect(&caller, OrganizationId(id))
        .await?;
    Ok(accepted(operation))
}

/// After the sign-in of a `connect` operation: registers (or reuses) the application, its
/// service principal, admin consent and ownership, then generates, attaches, proves and
/// activates the first certificate, on a background task. 202 at once; follow the `step`
/// (`application_created`, `service_principal_created`, `permissions_granted`, `owner_added`,
/// `certificate_stored`, `attached`, then `succeeded` or `failed` with `failure` saying which
/// call failed, Graph's words and what to do).
#[utoipa::path(post, path = "/api/v1/operations/{id}/connect", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = OperationDto, headers(("Location" = String, description = "the operation"))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "not signed in yet, already past this step, or its sign-in is held by another instance", body = Problem),
        (status = 422, description = "not a connect operation", body = Problem)))]
pub async fn connect_steps(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Accepted> {
    let operation = state
        .workflows
        .start_connect_steps(&caller, OperationId(id))
        .await?;
    Ok(accepted(operation))
}
