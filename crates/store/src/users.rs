//! Portal accounts: users, sessions, API tokens. (Failed sign-ins: `login_attempts.rs`.)

use tenantlink_service::{ApiTokenId, Role, UserId, UserRecord};
use time::OffsetDateTime;

use crate::Store;
use crate::db::{Columns, in_table, opt_to_micros, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::tokens::{BearerSecret, PasswordHash, SecretHash};

/// A session as stored: only hashes of its two secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: SecretHash,
    pub user_id: UserId,
    pub csrf_hash: SecretHash,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

/// A new session: the secrets to hand to the browser (once) and the stored record.
#[derive(Debug)]
pub struct IssuedSession {
    pub session_secret: BearerSecret,
    pub csrf_secret: BearerSecret,
    pub session: Session,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiToken {
    pub id: ApiTokenId,
    pub name: String,
    pub role: Role,
    pub created_by: String,
    pub created_at: OffsetDateTime,
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

#[derive(Debug)]
pub struct IssuedApiToken {
    /// Shown to the creator once; only its hash is stored.
    pub secret: BearerSecret,
    pub token: ApiToken,
}

const USER_COLUMNS: &str = "id, username, password_hash, role, disabled, created_at, updated_at";
const TOKEN_COLUMNS: &str =
    "id, name, role, created_by, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &PasswordHash,
        role: Role,
        at: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        let user = UserRecord {
            id: UserId::new(),
            username: username.to_owned(),
            role,
            password_hash: password_hash.as_str().to_owned(),
            disabled: false,
            created_at: at,
        };
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO users (id, username, password_hash, role, disabled, created_at, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)",
            )
            .bind(user.id.to_string())
            .bind(&user.username)
            .bind(&user.password_hash)
            .bind(role.as_str())
            .bind(false)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("create the user"))?;
        });
        Ok(user)
    }

    pub async fn user_by_username(&self, username: &str) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE username = $1");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(username)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the user"))?
                .as_ref()
                .map(decode_user)
                .transpose()
        })
    }

    pub async fn user(&self, id: UserId) -> StoreResult<UserRecord> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the user"))?
                .ok_or_else(|| StoreError::not_found("user", id))?;
            decode_user(&row)
        })
    }

    pub async fn users(&self) -> StoreResult<Vec<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users ORDER BY username");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list users"))?
                .iter()
                .map(decode_user)
                .collect()
        })
    }

    /// Changes a user's password, role or disabled flag (`None` keeps the value). Disabling
    /// a user or changing the password ends all of their sessions.
    pub async fn update_user(
        &self,
        id: UserId,
        password_hash: Option<&PasswordHash>,
        role: Option<Role>,
        disabled: Option<bool>,
        at: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        let ends_sessions = password_hash.is_some() || disabled == Some(true);
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            let affected = sqlx::query(
                "UPDATE users SET password_hash = COALESCE($2, password_hash), \
                 role = COALESCE($3, role), disabled = COALESCE($4, disabled), updated_at = $5 \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(password_hash.map(PasswordHash::as_str))
            .bind(role.map(|r| r.as_str()))
            .bind(disabled)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("update the user"))?
            .rows_affected();
            if ends_sessions {
                sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("end the user's sessions"))?;
            }
            tx.commit().await.map_err(StoreError::db("commit"))?;
            affected
        });
        if affected == 0 {
            return Err(StoreError::not_found("user", id));
        }
        self.user(id).await
    }

    pub async fn delete_user(&self, id: UserId) -> StoreResult<()> {
        let affected = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id.to_string())
                .execute(pool)
                .await
                .map_err(StoreError::db("delete the user"))?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::not_found("user", id));
        }
        Ok(())
    }

    /// Starts a session. The returned secrets are the only copies; the store keeps hashes.
    pub async fn create_session(
        &self,
        user: UserId,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<IssuedSession> {
        let session_secret = BearerSecret::generate()?;
        let csrf_secret = BearerSecret::generate()?;
        let session = Session {
            id_hash: session_secret.hash(),
            user_id: user,
            csrf_hash: csrf_secret.hash(),
            created_at: at,
            expires_at,
        };
        let (at, expires) = (to_micros(at)?, to_micros(expires_at)?);
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(session.id_hash.0.to_vec())
            .bind(user.to_string())
            .bind(session.csrf_hash.0.to_vec())
            .bind(at)
            .bind(expires)
            .execute(pool)
            .await
            .map_err(StoreError::db("create the session"))?;
        });
        Ok(IssuedSession {
            session_secret,
            csrf_secret,
            session,
        })
    }

    /// The unexpired session for a presented session secret, with its user, if the user is
    /// not disabled.
    pub async fn session(
        &self,
        presented: &BearerSecret,
        now: OffsetDateTime,
    ) -> StoreResult<Option<(Session, UserRecord)>> {
        let sql = format!(
            "SELECT s.id_hash, s.user_id, s.csrf_hash, s.created_at AS session_created_at, \
             s.expires_at, {} FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND u.disabled = $3",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let now = to_micros(now)?;
        with_pool!(self, |pool| {
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(presented.hash().0.to_vec())
                .bind(now)
                .bind(false)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the session"))?
            else {
                return Ok(None);
            };
            let row = in_table("sessions", &row);
            let session = Session {
                id_hash: SecretHash::from_stored("sessions", "id_hash", row.blob("id_hash")?)?,
                user_id: row.parsed("user_id")?,
                csrf_hash: SecretHash::from_stored(
                    "sessions",
                    "csrf_hash",
                    row.blob("csrf_hash")?,
                )?,
                created_at: row.time("session_created_at")?,
                expires_at: row.time("expires_at")?,
            };
            Ok(Some((session, decode_user(&row)?)))
        })
    }

    /// Ends one session (sign-out). Ending an unknown session is not an error.
    pub async fn delete_session(&self, presented: &BearerSecret) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(presented.hash().0.to_vec())
                .execute(pool)
                .await
                .map_err(StoreError::db("end the session"))?;
        });
        Ok(())
    }

    /// Removes sessions that expired at or before `now`; returns how many.
    pub async fn delete_expired_sessions(&self, now: OffsetDateTime) -> StoreResult<u64> {
        let now = to_micros(now)?;
        Ok(with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map_err(StoreError::db("remove expired sessions"))?
                .rows_affected()
        }))
    }

    /// Creates an API token bound to `role`. The secret is returned once; only its hash is
    /// stored.
    pub async fn create_api_token(
        &self,
        name: &str,
        role: Role,
        created_by: &str,
        at: OffsetDateTime,
        expires_at: Option<OffsetDateTime>,
    ) -> StoreResult<IssuedApiToken> {
        let secret = BearerSecret::generate()?;
        let token = ApiToken {
            id: ApiTokenId::new(),
            name: name.to_owned(),
            role,
            created_by: created_by.to_owned(),
            created_at: at,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        };
        let (at, expires) = (to_micros(at)?, opt_to_micros(expires_at)?);
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_tokens (id, token_hash, name, role, created_by, created_at, \
                 expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(token.id.to_string())
            .bind(secret.hash().0.to_vec())
            .bind(&token.name)
            .bind(role.as_str())
            .bind(&token.created_by)
            .bind(at)
            .bind(expires)
            .execute(pool)
            .await
            .map_err(StoreError::db("create the API token"))?;
        });
        Ok(IssuedApiToken { secret, token })
    }

    /// The live (unrevoked, unexpired) token for a presented secret; records its use.
    pub async fn authenticate_api_token(
        &self,
        presented: &BearerSecret,
        now: OffsetDateTime,
    ) -> StoreResult<Option<ApiToken>> {
        let sql = format!(
            "UPDATE api_tokens SET last_used_at = $2 WHERE token_hash = $1 \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2) \
             RETURNING {TOKEN_COLUMNS}"
        );
        let now = to_micros(now)?;
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(presented.hash().0.to_vec())
                .bind(now)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("check the API token"))?
                .as_ref()
                .map(decode_token)
                .transpose()
        })
    }

    pub async fn api_tokens(&self) -> StoreResult<Vec<ApiToken>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY created_at, id");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list API tokens"))?
                .iter()
                .map(decode_token)
                .collect()
        })
    }

    pub async fn revoke_api_token(&self, id: ApiTokenId, at: OffsetDateTime) -> StoreResult<()> {
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1")
                .bind(id.to_string())
                .bind(at)
                .execute(pool)
                .await
                .map_err(StoreError::db("revoke the API token"))?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::not_found("API token", id));
        }
        Ok(())
    }
}

fn decode_user(row: &impl Columns) -> StoreResult<UserRecord> {
    let row = &in_table("users", row);
    Ok(UserRecord {
        id: row.parsed("id")?,
        username: row.text("username")?,
        role: row.parsed("role")?,
        password_hash: row.text("password_hash")?,
        disabled: row.flag("disabled")?,
        created_at: row.time("created_at")?,
    })
}

fn decode_token(row: &impl Columns) -> StoreResult<ApiToken> {
    let row = &in_table("api_tokens", row);
    Ok(ApiToken {
        id: row.parsed("id")?,
        name: row.text("name")?,
        role: row.parsed("role")?,
        created_by: row.text("created_by")?,
        created_at: row.time("created_at")?,
        expires_at: row.opt_time("expires_at")?,
        last_used_at: row.opt_time("last_used_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}
