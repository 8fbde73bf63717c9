use super::dto::{
    AuditEntryDto, CertificatePageDto, ImportForm, MeDto, NewOrganizationRequest, OperationDto,
    OrganizationChange, OrganizationDto, StartOperationRequest, role_name,
};
use super::renewal_dto::{RenewalDto, RenewalPolicyDto, renewal_policy_change};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tenantlink_service::{
    CertificateId, Cloud, NewOrganization, OperationId, OperationKind, OrganizationId, Permission,
    ServiceError,
};
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

fn invalid(field: &str, message: impl Into<String>) -> ApiError {
    ApiError(ServiceError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    })
}

/// The organization with the connection state of its backup runs.
async fn with_connection(
    state: &AppState,
    caller: &tenantlink_service::Caller,
    organization: tenantlink_service::Organization,
) -> ApiResult<OrganizationDto> {
    let connection = state.policies.connection(caller, organization.id).await?;
    let renewal_policy = state
        .workflows
        .renewal_policy(caller, organization.id)
        .await?;
    let mut dto = OrganizationDto::from(organization);
    dto.connection = Some(connection.state.as_str().to_owned());
    dto.renewal_policy = Some(RenewalPolicyDto::from(&renewal_policy));
    Ok(dto)
}

#[utoipa::path(post, path = "/api/v1/organizations", tag = "organizations",
    request_body = NewOrganizationRequest,
    responses((status = 201, body = OrganizationDto), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn add_organization(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(request): Json<NewOrganizationRequest>,
) -> ApiResult<(StatusCode, Json<OrganizationDto>)> {
    let new = NewOrganization {
        name: request.name,
        tenant: request.tenant,
        cloud: Cloud::from_input(&request.cloud)?,
        app_id: request.app_id,
    };
    let organization = state.workflows.add_organization(&caller, new).await?;
    Ok((StatusCode::CREATED, Json(organization.into())))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OrganizationDto), (status = 404, body = Problem)))]
pub async fn get_organization(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OrganizationDto>> {
    let organization = state
        .workflows
        .organization(&caller, OrganizationId(id))
        .await?;
    Ok(Json(with_connection(&state, &caller, organization).await?))
}

/// Changes the organization's settings (Administrators): today its `assertion_profile`. A value
/// that names no profile is a 422 problem naming the field; a body that is not JSON a 400.
#[utoipa::path(patch, path = "/api/v1/organizations/{id}", tag = "organizations",
    params(("id" = Uuid, Path)),
    request_body = OrganizationChange,
    responses((status = 200, body = OrganizationDto), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_organization(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    body: axum::body::Bytes,
) -> Result<Json<OrganizationDto>, Response> {
    let change: OrganizationChange = serde_json::from_slice(&body).map_err(change_refused)?;
    let id = OrganizationId(id);
    // Parsed before anything changes, so a bad renewal setting leaves the profile alone too.
    let renewal_change = change
        .renewal_policy
        .as_ref()
        .map(renewal_policy_change)
        .transpose()
        .map_err(|r| ApiError(r.into()).into_response())?;
    if let Some(renewal_change) = &renewal_change {
        // Validated (and refused naming the field) before the profile is touched.
        state
            .workflows
            .set_renewal_policy(&caller, id, renewal_change)
            .await
            .map_err(|e| ApiError(e).into_response())?;
    }
    let organization = match change.assertion_profile {
        Some(profile) => {
            state
                .workflows
                .set_assertion_profile(&caller, id, profile)
                .await
        }
        None => state.workflows.organization(&caller, id).await,
    }
    .map_err(|e| ApiError(e).into_response())?;
    with_connection(&state, &caller, organization)
        .await
        .map(Json)
        .map_err(IntoResponse::into_response)
}

/// Axum's JSON extractor would answer in plain text; the API answers with a problem. The body
/// has one field, so a well-formed body that does not fit names it (unless the key is unknown).
fn change_refused(err: serde_json::Error) -> Response {
    if err.is_data() {
        let message = err.to_string();
        let field = if message.starts_with("unknown field") {
            "body"
        } else if message.contains("renewal_policy") {
            "renewal_policy"
        } else {
            "assertion_profile"
        };
        return invalid(field, message).into_response();
    }
    crate::error::problem_response(
        StatusCode::BAD_REQUEST,
        "invalid-json",
        "The body is not JSON",
        format!("the request body must be a JSON object: {err}"),
    )
}

/// The SSL Certificate section: the active certificate and the previous ones.
#[utoipa::path(get, path = "/api/v1/organizations/{id}/certificate", tag = "certificates",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = CertificatePageDto), (status = 404, body = Problem)))]
pub async fn certificate_page(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<CertificatePageDto>> {
    let id = OrganizationId(id);
    let page = state.workflows.certificate_page(&caller, id).await?;
    let renewal = state.workflows.renewal_status(&caller, id).await?;
    let previous_key = crate::renewal_view::previous_key(&state, id).await?;
    let mut dto = CertificatePageDto::from(page);
    dto.renewal = Some(RenewalDto::new(&renewal, previous_key.as_ref()));
    Ok(Json(dto))
}

#[utoipa::path(get, path = "/api/v1/organizations/{id}/operations", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = [OperationDto])))]
pub async fn list_operations(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Vec<OperationDto>>> {
    let list = state
        .workflows
        .operations(&caller, OrganizationId(id))
        .await?;
    Ok(Json(list.into_iter().map(Into::into).collect()))
}

/// Starts "Generate a new certificate" (`generate`) or "Upload a custom certificate" (`upload`):
/// the response carries the device sign-in code and verification link.
#[utoipa::path(post, path = "/api/v1/organizations/{id}/operations", tag = "operations",
    params(("id" = Uuid, Path)), request_body = StartOperationRequest,
    responses((status = 201, body = OperationDto), (status = 403, body = Problem),
        (status = 409, description = "another operation is running for this organization", body = Problem),
        (status = 502, body = Problem)))]
pub async fn start_operation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    Json(request): Json<StartOperationRequest>,
) -> ApiResult<(StatusCode, Json<OperationDto>)> {
    let kind = OperationKind::parse(&request.kind)
        .ok_or_else(|| invalid("kind", "kind is `generate` or `upload`"))?;
    let operation = state
        .workflows
        .start(&caller, OrganizationId(id), kind)
        .await?;
    Ok((StatusCode::CREATED, Json(operation.into())))
}

/// The operation as stored. Reading has no side effects: the holding instance notices the
/// device sign-in and runs Generate / Import on its own; poll this to follow the `step`.
#[utoipa::path(get, path = "/api/v1/operations/{id}", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OperationDto), (status = 404, body = Problem)))]
pub async fn get_operation(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OperationDto>> {
    let operation = state.workflows.operation(&caller, OperationId(id)).await?;
    Ok(Json(operation.into()))
}

/// "Generate": starts creating the key and certificate, attaching it, proving it with an
/// app-only token and activating it, on a background task of the service, and answers at once
/// with 202 and the operation's `Location`. Follow the `step` there until it is `succeeded` or
/// `failed` (see `failure`); the work goes on if this request is dropped.
#[utoipa::path(post, path = "/api/v1/operations/{id}/generate", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = OperationDto, headers(("Location" = String, description = "the operation"))),
        (status = 403, body = Problem),
        (status = 409, description = "not signed in yet, or already past this step", body = Problem)))]
pub async fn generate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Accepted> {
    let operation = state
        .workflows
        .start_generate(&caller, OperationId(id))
        .await?;
    Ok(accepted(operation))
}

/// "Rotate now" (Administrators): starts a rotation without a sign-in — a new key added to the
/// application through Graph `addKey` with a proof signed by the active certificate, read back,
/// proven with an app-only token and activated — on a background task, and answers at once with
/// 202 and the operation's `Location` (follow its `step`: `certificate_stored`, `key_added`,
/// `attached`, then `succeeded` or `failed`). The previous key stays on the application for the
/// overlap (`renewal.previous_key` of the certificate resource).
#[utoipa::path(post, path = "/api/v1/organizations/{id}/rotate", tag = "certificates",
    params(("id" = Uuid, Path)),
    responses((status = 202, body = OperationDto, headers(("Location" = String, description = "the operation"))),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, description = "another operation is running for this organization, or rotation cannot help (no usable active certificate)", body = Problem),
        (status = 422, description = "rotation cannot help: see the detail", body = Problem)))]
pub async fn rotate(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Accepted> {
    let operation = state
        .workflows
        .rotate_now(&caller, OrganizationId(id))
        .await?;
    Ok(accepted(operation))
}

/// 202 with the operation and where to follow it.
pub(super) type Accepted = (
    StatusCode,
    [(header::HeaderName, String); 1],
    Json<OperationDto>,
);

pub(super) fn accepted(operation: tenantlink_service::Operation) -> Accepted {
    let location = format!("/api/v1/operations/{}", operation.id);
    (
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(operation.into()),
    )
}

/// "Import": starts validating the .pfx, checking through Graph that it is attached to the
/// application, proving and activating it on a background task, and answers at once with 202
/// and the operation's `Location` (follow its `step`). The password is used once and not kept.
#[utoipa::path(post, path = "/api/v1/operations/{id}/import", tag = "operations",
    params(("id" = Uuid, Path)),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 202, body = OperationDto, headers(("Location" = String, description = "the operation"))),
        (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn import(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    multipart: Multipart,
) -> ApiResult<Accepted> {
    let fields = crate::pages::read_import_fields(multipart)
        .await
        .map_err(|detail| invalid("file", format!("the upload could not be read: {detail}")))?;
    if fields.file.is_empty() {
        return Err(invalid(
            "file",
            "send the .pfx file in the multipart field `file`",
        ));
    }
    let operation = state
        .workflows
        .start_import(&caller, OperationId(id), fields.file, fields.password)
        .await?;
    Ok(accepted(operation))
}

#[utoipa::path(post, path = "/api/v1/operations/{id}/cancel", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OperationDto), (status = 409, body = Problem)))]
pub async fn cancel(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OperationDto>> {
    let operation = state.workflows.cancel(&caller, OperationId(id)).await?;
    Ok(Json(operation.into()))
}

/// Ends an operation that no tenantlink instance carries any more (its holder stopped sending
/// heartbeats, or its task here ended without finishing it) as failed with code `abandoned`,
/// so its organization can start again. Administrators only; 409 while a live instance carries
/// it.
#[utoipa::path(post, path = "/api/v1/operations/{id}/abandon", tag = "operations",
    params(("id" = Uuid, Path)),
    responses((status = 200, body = OperationDto), (status = 403, body = Problem),
        (status = 409, description = "a live instance still carries it, or it has finished", body = Problem)))]
pub async fn abandon(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<OperationDto>> {
    let operation = state.workflows.abandon(&caller, OperationId(id)).await?;
    Ok(Json(operation.into()))
}

/// The public part of a certificate, DER-encoded (`.cer`).
#[utoipa::path(get, path = "/api/v1/certificates/{id}/cer", tag = "certificates",
    params(("id" = Uuid, Path)),
    responses((status = 200, content_type = "application/pkix-cert", body = Vec<u8>),
        (status = 404, body = Problem)))]
pub async fn download_cer(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Response> {
    let certificate = state
        .workflows
        .certificate(&caller, CertificateId(id))
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pkix-cert".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}.cer\"",
                    certificate.sha1_thumbprint
                ),
            ),
        ],
        certificate.der,
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
pub struct AuditQuery {
    /// At most this many entries, newest first (default 100, maximum 1000).
    limit: Option<u32>,
}

#[utoipa::path(get, path = "/api/v1/audit", tag = "audit", params(AuditQuery),
    responses((status = 200, body = [AuditEntryDto])))]
pub async fn audit(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Query(query): Query<AuditQuery>,
) -> ApiResult<Json<Vec<AuditEntryDto>>> {
    caller.require(Permission::View)?;
    let limit = query.limit.unwrap_or(100).min(1000);
    let entries = state
        .workflows
        .repository()
        .audit(limit)
        .await
        .map_err(ServiceError::from)?;
    Ok(Json(entries.into_iter().map(Into::into).collect()))
}

/// Who is calling, and (for cookie sessions) the CSRF token to send as `X-CSRF-Token`.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = MeDto), (status = 401, body = Problem)))]
pub async fn me(ApiCaller(caller): ApiCaller) -> Json<MeDto> {
    Json(MeDto {
        name: caller.name,
        role: role_name(caller.role),
        csrf_token: caller.csrf_token,
    })
}
