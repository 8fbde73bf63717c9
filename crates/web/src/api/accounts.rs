//! Accounts and API tokens under `/api/v1`: list, add, change role, disable/enable, reset a
//! password and end sessions (Administrators); change one's own password (anyone signed in);
//! issue, list and revoke API tokens (Administrators). The service decides and audits.

use super::account_dto::{
    PasswordChangeRequest, PasswordResetRequest, SessionsEndedDto, TokenDto, TokenRequest,
    TokenResponse, UserChangeRequest, UserDto,
};
use super::dto::{MeDto, role_name};
use crate::AppState;
use crate::auth::ApiCaller;
use crate::error::{ApiError, Problem};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tenantlink_service::{ApiTokenId, Role, SecretString, ServiceError, UserId};
use time::Duration;
use uuid::Uuid;

type ApiResult<T> = Result<T, ApiError>;

fn parse_role(text: &str) -> Result<Role, ApiError> {
    Role::parse(text).ok_or_else(|| {
        ApiError(ServiceError::Invalid {
            field: "role".into(),
            message: "role is viewer, operator or administrator".into(),
        })
    })
}

#[utoipa::path(get, path = "/api/v1/users", tag = "accounts",
    responses((status = 200, body = [UserDto]), (status = 403, body = Problem)))]
pub async fn list_users(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<UserDto>>> {
    let users = state.accounts.users(&caller).await?;
    Ok(Json(users.into_iter().map(Into::into).collect()))
}

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUserRequest {
    pub username: String,
    /// At least 12 characters; stored only as an Argon2id hash.
    pub password: String,
    /// `viewer`, `operator` or `administrator`.
    pub role: String,
}

impl std::fmt::Debug for NewUserRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserRequest")
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

/// Creates a portal account (Administrators).
#[utoipa::path(post, path = "/api/v1/users", tag = "accounts", request_body = NewUserRequest,
    responses((status = 201, body = MeDto), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(request): Json<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<MeDto>)> {
    let role = parse_role(&request.role)?;
    let password = SecretString::new(request.password);
    let user = state
        .accounts
        .add_user(&caller, &request.username, &password, role)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(MeDto {
            name: user.username,
            role: role_name(user.role),
            csrf_token: None,
        }),
    ))
}

#[utoipa::path(get, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "user")),
    responses((status = 200, body = UserDto), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn get_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<UserDto>> {
    Ok(Json(state.accounts.user(&caller, UserId(id)).await?.into()))
}

/// Changes an account's role or disables/enables it. The last enabled Administrator can be
/// neither demoted nor disabled (409).
#[utoipa::path(patch, path = "/api/v1/users/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "user")), request_body = UserChangeRequest,
    responses((status = 200, body = UserDto), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
pub async fn update_user(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    Json(request): Json<UserChangeRequest>,
) -> ApiResult<Json<UserDto>> {
    let id = UserId(id);
    let role = request.role.as_deref().map(parse_role).transpose()?;
    let mut user = state.accounts.user(&caller, id).await?;
    if let Some(role) = role {
        user = state.accounts.change_role(&caller, id, role).await?;
    }
    match request.disabled {
        Some(true) if !user.disabled => user = state.accounts.disable_user(&caller, id).await?,
        Some(false) if user.disabled => user = state.accounts.enable_user(&caller, id).await?,
        _ => {}
    }
    Ok(Json(user.into()))
}

/// Sets a new password for an account (Administrators); its sessions end.
#[utoipa::path(post, path = "/api/v1/users/{id}/password", tag = "accounts",
    params(("id" = Uuid, Path, description = "user")), request_body = PasswordResetRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn reset_password(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
    Json(request): Json<PasswordResetRequest>,
) -> ApiResult<StatusCode> {
    let password = SecretString::new(request.password);
    state
        .accounts
        .reset_password(&caller, UserId(id), &password)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends every session of an account (Administrators).
#[utoipa::path(delete, path = "/api/v1/users/{id}/sessions", tag = "accounts",
    params(("id" = Uuid, Path, description = "user")),
    responses((status = 200, body = SessionsEndedDto), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn end_sessions(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<SessionsEndedDto>> {
    let ended = state.accounts.end_sessions(&caller, UserId(id)).await?;
    Ok(Json(SessionsEndedDto { ended }))
}

/// Changes the caller's own password (signed-in sessions only; needs the current password).
/// Every session of the account ends, this one too: sign in again with the new password.
#[utoipa::path(post, path = "/api/v1/me/password", tag = "accounts",
    request_body = PasswordChangeRequest,
    responses((status = 204), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn change_own_password(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(request): Json<PasswordChangeRequest>,
) -> ApiResult<StatusCode> {
    let current = SecretString::new(request.current_password);
    let new = SecretString::new(request.new_password);
    state
        .accounts
        .change_own_password(&caller, &current, &new)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "accounts",
    responses((status = 200, body = [TokenDto]), (status = 403, body = Problem)))]
pub async fn list_tokens(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
) -> ApiResult<Json<Vec<TokenDto>>> {
    let tokens = state.accounts.api_tokens(&caller).await?;
    Ok(Json(tokens.into_iter().map(Into::into).collect()))
}

/// Issues an API token for automation, bound to a role no higher than the caller's, expiring
/// after `expires_in_days` (default 90, at most 365).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "accounts", request_body = TokenRequest,
    responses((status = 201, body = TokenResponse), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn create_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Json(request): Json<TokenRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let role = parse_role(&request.role)?;
    let lifetime = request.expires_in_days.map(Duration::days);
    let issued = state
        .accounts
        .issue_api_token(&caller, &request.name, role, lifetime)
        .await?;
    let expires_at = issued.record.expires();
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            id: issued.record.id.0,
            name: issued.record.name,
            role: role_name(issued.record.role),
            expires_at,
            token: issued.token.expose().to_owned(),
        }),
    ))
}

/// Revokes a token; it gets 401 from then on.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "accounts",
    params(("id" = Uuid, Path, description = "API token")),
    responses((status = 200, body = TokenDto), (status = 403, body = Problem),
        (status = 404, body = Problem)))]
pub async fn revoke_token(
    State(state): State<AppState>,
    ApiCaller(caller): ApiCaller,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<TokenDto>> {
    let revoked = state
        .accounts
        .revoke_api_token(&caller, ApiTokenId(id))
        .await?;
    Ok(Json(revoked.into()))
}
