//! Request and response bodies of the account and API-token routes. Secrets go in (passwords)
//! and come out once (a new token); `Debug` never shows them.

use serde::{Deserialize, Serialize};
use tenantlink_service::{ApiTokenRecord, UserRecord};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct UserDto {
    pub id: Uuid,
    pub username: String,
    /// `viewer`, `operator` or `administrator`.
    pub role: String,
    /// A disabled account cannot sign in; its sessions and API tokens were ended.
    pub disabled: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<UserRecord> for UserDto {
    fn from(user: UserRecord) -> Self {
        Self {
            id: user.id.0,
            username: user.username,
            role: user.role.as_str().to_owned(),
            disabled: user.disabled,
            created_at: user.created_at,
        }
    }
}

/// Changes to an account; fields left out stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
pub struct UserChangeRequest {
    /// `viewer`, `operator` or `administrator`.
    pub role: Option<String>,
    /// `true` disables the account (its sessions and API tokens end at once); `false` enables it.
    pub disabled: Option<bool>,
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    /// At least 12 characters; stored only as an Argon2id hash.
    pub password: String,
}

impl std::fmt::Debug for PasswordResetRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordResetRequest")
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize, ToSchema)]
pub struct PasswordChangeRequest {
    pub current_password: String,
    /// At least 12 characters.
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChangeRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChangeRequest")
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SessionsEndedDto {
    pub ended: u64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenRequest {
    pub name: String,
    /// `viewer`, `operator` or `administrator`; at most the caller's own role.
    pub role: String,
    /// Days until the token expires: 1 to 365, default 90. A token created with an API token
    /// cannot expire after that token.
    pub expires_in_days: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    /// Shown once; store it safely. Send as `Authorization: Bearer <token>`.
    pub token: String,
}

/// An API token as listed: never its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenDto {
    pub id: Uuid,
    pub name: String,
    /// The role it was issued with; it never acts above its owner's current role.
    pub role: String,
    /// The account it acts for; `null` for tokens from before accounts owned tokens (revoked).
    pub owner: Option<Uuid>,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// Every token expires (one from before expiries were required: a year after creation).
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

impl From<ApiTokenRecord> for TokenDto {
    fn from(token: ApiTokenRecord) -> Self {
        let expires_at = token.expires();
        Self {
            id: token.id.0,
            name: token.name,
            role: token.role.as_str().to_owned(),
            owner: token.owner.map(|o| o.0),
            created_by: token.created_by,
            created_at: token.created_at,
            last_used_at: token.last_used_at,
            expires_at,
            revoked_at: token.revoked_at,
        }
    }
}
