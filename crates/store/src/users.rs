//! Portal accounts as stored: users and sessions (rows decode straight into the service's
//! `UserRecord` and `SessionRecord`). API tokens are in [`crate::tokens`], failed sign-ins in
//! `login_attempts.rs`.
//! Passwords arrive hashed (Argon2id PHC strings made by the service); session ids are kept only
//! as SHA-256 hashes.

use tenantlink_service::{Role, SecretString, SessionRecord, UserChange, UserId, UserRecord};
use time::OffsetDateTime;

use crate::Store;
use crate::db::{BackendKind, Columns, in_table, to_micros, with_pool};
use crate::error::{Conflict, StoreError, StoreResult};
use crate::tokens::BearerSecret;

pub(crate) const USER_COLUMNS: &str =
    "id, username, password_hash, role, disabled, created_at, updated_at";

impl Store {
    /// Creates a user with an Argon2id PHC string. A taken name is `AlreadyExists`.
    pub async fn create_user(
        &self,
        username: &str,
        password_hash: &str,
        role: Role,
        at: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        let user = UserRecord {
            id: UserId::new(),
            username: username.to_owned(),
            role,
            password_hash: password_hash.to_owned(),
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

    pub async fn user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the user"))?
                .as_ref()
                .map(decode_user)
                .transpose()
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

    /// Applies `change` (`None` keeps a value) and returns the user as it is now. Refused with
    /// [`Conflict::LastAdministrator`], changing nothing, when no enabled administrator would
    /// remain. On PostgreSQL the enabled administrators' rows are locked first, so two
    /// transactions demoting each other's accounts run one after the other and the second sees
    /// the first's result; SQLite has one writer at a time anyway (the UPDATE comes first so the
    /// transaction holds the write lock before it counts).
    pub async fn update_user(
        &self,
        id: UserId,
        change: &UserChange,
        at: OffsetDateTime,
    ) -> StoreResult<UserRecord> {
        let at = to_micros(at)?;
        let lock_administrators = self.backend_kind() == BackendKind::Postgres;
        let (affected, administrators) = with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            if lock_administrators {
                sqlx::query(
                    "SELECT id FROM users WHERE role = 'administrator' AND disabled = $1 \
                     ORDER BY id FOR UPDATE",
                )
                .bind(false)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("lock the administrators"))?;
            }
            let affected = sqlx::query(
                "UPDATE users SET password_hash = COALESCE($2, password_hash), \
                 role = COALESCE($3, role), disabled = COALESCE($4, disabled), updated_at = $5 \
                 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(change.password_hash.as_deref())
            .bind(change.role.map(|r| r.as_str()))
            .bind(change.disabled)
            .bind(at)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("update the user"))?
            .rows_affected();
            let row = sqlx::query(
                "SELECT COUNT(*) AS administrators FROM users \
                 WHERE role = 'administrator' AND disabled = $1",
            )
            .bind(false)
            .fetch_one(&mut *tx)
            .await
            .map_err(StoreError::db("count the administrators"))?;
            let administrators = in_table("users", &row).int("administrators")?;
            if affected == 1 && administrators > 0 {
                tx.commit().await.map_err(StoreError::db("commit"))?;
            }
            (affected, administrators)
        });
        if affected == 0 {
            return Err(StoreError::not_found("user", id));
        }
        if administrators == 0 {
            return Err(StoreError::Conflict(Conflict::LastAdministrator));
        }
        self.user(id)
            .await?
            .ok_or_else(|| StoreError::not_found("user", id))
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

    /// Starts a session. The returned secret is the only copy; the store keeps its hash.
    pub async fn create_session(
        &self,
        user: UserId,
        at: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> StoreResult<SecretString> {
        let secret = BearerSecret::generate()?;
        let (at, expires) = (to_micros(at)?, to_micros(expires_at)?);
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_id, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(secret.hash().as_bytes().to_vec())
            .bind(user.to_string())
            .bind(at)
            .bind(expires)
            .execute(pool)
            .await
            .map_err(StoreError::db("create the session"))?;
        });
        Ok(secret.into_secret())
    }

    /// The session for a presented secret with its user, expired or not, whatever the user's
    /// state: whether it still counts is the service's decision.
    pub async fn session(&self, presented: &SecretString) -> StoreResult<Option<SessionRecord>> {
        let sql = format!(
            "SELECT s.expires_at AS session_expires_at, {} FROM sessions s \
             JOIN users u ON u.id = s.user_id WHERE s.id_hash = $1",
            USER_COLUMNS
                .split(", ")
                .map(|c| format!("u.{c}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        with_pool!(self, |pool| {
            let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(BearerSecret::hash_of(presented).as_bytes().to_vec())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the session"))?
            else {
                return Ok(None);
            };
            Ok(Some(SessionRecord {
                expires_at: in_table("sessions", &row).time("session_expires_at")?,
                user: decode_user(&row)?,
            }))
        })
    }

    /// Ends one session (sign-out). Ending an unknown session is not an error.
    pub async fn delete_session(&self, presented: &SecretString) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(BearerSecret::hash_of(presented).as_bytes().to_vec())
                .execute(pool)
                .await
                .map_err(StoreError::db("end the session"))?;
        });
        Ok(())
    }

    /// Ends every session of `user`; returns how many.
    pub async fn delete_sessions_of(&self, user: UserId) -> StoreResult<u64> {
        Ok(with_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.to_string())
                .execute(pool)
                .await
                .map_err(StoreError::db("end the user's sessions"))?
                .rows_affected()
        }))
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
}

pub(crate) fn decode_user(row: &impl Columns) -> StoreResult<UserRecord> {
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
