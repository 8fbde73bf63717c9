//! Backup policies, Run now, the job log and the connection state under `/api/v1`. Roles are
//! checked by the facade: Viewers read, Operators also run, Administrators also change.

use super::policy_dto::{ConnectionDto, PolicyDto, PolicyRequest, RunDetailDto, RunDto};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tenantlink_service::OrganizationId;
use tenantlink_service::{PolicyId, RunId};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(get, path = "/api/v1/organizations/{id}/policies", tag = "policies",
    params(("id" = Uuid, Path, description = "organization")),
    responses((status = 200, body = [PolicyDto]), (status = 404, body = Problem)))]
pub async fn list_policies(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<PolicyDto>>> {
    let list = state.policies.list(&caller, OrganizationId(id)).await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Creates a policy (Administrators). A schedule that does not parse is a 422 problem whose
/// detail says how to write it; nothing is created.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/policies", tag = "policies",
    params(("id" = Uuid, Path, description = "organization")), request_body = PolicyRequest,
    responses((status = 201, body = PolicyDto), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    Json(request): Json<PolicyRequest>,
) -> ApiResult<(StatusCode, Json<PolicyDto>)> {
    let policy = state
        .policies
        .create(&caller, OrganizationId(id), request.into())
        .await?;
    Ok((StatusCode::CREATED, Json(PolicyDto::new(policy, None))))
}

#[utoipa::path(get, path = "/api/v1/policies/{id}", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PolicyDto), (status = 404, body = Problem)))]
pub async fn get_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<PolicyDto>> {
    let overview = state.policies.policy(&caller, PolicyId(id)).await?;
    Ok(Json(overview.into()))
}

/// Replaces name, schedule, scope and enabled (Administrators).
#[utoipa::path(put, path = "/api/v1/policies/{id}", tag = "policies",
    params(("id" = Uuid, Path)), request_body = PolicyRequest,
    responses((status = 200, body = PolicyDto), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    Json(request): Json<PolicyRequest>,
) -> ApiResult<Json<PolicyDto>> {
    let id = PolicyId(id);
    state.policies.update(&caller, id, request.into()).await?;
    Ok(Json(state.policies.policy(&caller, id).await?.into()))
}

/// Deletes the policy and its job log (Administrators); refused while it runs.
#[utoipa::path(delete, path = "/api/v1/policies/{id}", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "a run is in progress", body = Problem)))]
pub async fn delete_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<StatusCode> {
    state.policies.delete(&caller, PolicyId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Enables scheduled runs (Administrators); the next due time starts afresh.
#[utoipa::path(post, path = "/api/v1/policies/{id}/enable", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PolicyDto), (status = 403, body = Problem)))]
pub async fn enable_policy(
    state: State<AppState>,
    caller: ApiCaller,
    id: Path<Uuid>,
) -> ApiResult<Json<PolicyDto>> {
    set_enabled(state, caller, id, true).await
}

/// Stops scheduled runs (Administrators); Run now still works.
#[utoipa::path(post, path = "/api/v1/policies/{id}/disable", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = PolicyDto), (status = 403, body = Problem)))]
pub async fn disable_policy(
    state: State<AppState>,
    caller: ApiCaller,
    id: Path<Uuid>,
) -> ApiResult<Json<PolicyDto>> {
    set_enabled(state, caller, id, false).await
}

async fn set_enabled(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    enabled: bool,
) -> ApiResult<Json<PolicyDto>> {
    let id = PolicyId(id);
    state.policies.set_enabled(&caller, id, enabled).await?;
    Ok(Json(state.policies.policy(&caller, id).await?.into()))
}

/// Run now (Operators and Administrators): answers as soon as the run is recorded, usually
/// still `running` (one that fails at once, e.g. without a certificate, may have ended); follow
/// it at `/api/v1/runs/{id}`.
#[utoipa::path(post, path = "/api/v1/policies/{id}/run", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = RunDto), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, description = "the policy is already running", body = Problem)))]
pub async fn run_policy(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<(StatusCode, Json<RunDto>)> {
    let run = state.policies.run_now(&caller, PolicyId(id)).await?;
    Ok((StatusCode::ACCEPTED, Json(run.into())))
}

/// The policy's job log, newest first.
#[utoipa::path(get, path = "/api/v1/policies/{id}/runs", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = [RunDto]), (status = 404, body = Problem)))]
pub async fn list_runs(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<RunDto>>> {
    let runs = state.policies.runs(&caller, PolicyId(id)).await?;
    Ok(Json(runs.into_iter().map(Into::into).collect()))
}

#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "policies",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = RunDetailDto), (status = 404, body = Problem)))]
pub async fn get_run(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<RunDetailDto>> {
    let detail = state.policies.run(&caller, RunId(id)).await?;
    Ok(Json(detail.into()))
}

/// Whether the organization's credential last worked for a backup run.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/connection", tag = "policies",
    params(("id" = Uuid, Path, description = "organization")),
    responses((status = 200, body = ConnectionDto), (status = 404, body = Problem)))]
pub async fn connection(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<ConnectionDto>> {
    let connection = state
        .policies
        .connection(&caller, OrganizationId(id))
        .await?;
    Ok(Json(connection.into()))
}
