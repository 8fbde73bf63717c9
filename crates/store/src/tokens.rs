//! Bearer secrets (session ids, API tokens), and API tokens as stored (rows decode straight
//! into the service's `ApiTokenRecord`).
//!
//! Bearer secrets are 32 random bytes shown once to their holder and stored only as
//! SHA-256: they carry full entropy, so a slow hash would add cost without adding safety.
//! (Passwords are low-entropy and get Argon2id, from the service: the store receives the PHC
//! string.)

use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tenantlink_secret::SecretString;
use zeroize::Zeroizing;

use tenantlink_service::{ApiTokenId, ApiTokenRecord, NewApiToken, UserId, UserRecord};
use time::OffsetDateTime;

use crate::Store;
use crate::db::{Columns, in_table, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};

/// A bearer secret in the form given to its holder (base64url of 32 random bytes): the
/// workspace's one secret type (zeroized on drop, never printed) with what the store does with it
/// (generate, hash).
#[derive(Debug)]
pub struct BearerSecret(SecretString);

impl BearerSecret {
    pub(crate) fn generate() -> StoreResult<Self> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| StoreError::Random)?;
        Ok(Self(SecretString::new(
            URL_SAFE_NO_PAD.encode(bytes.as_ref()),
        )))
    }

    /// Wraps a secret presented by a client (cookie, header, form field).
    pub fn from_presented(text: &str) -> Self {
        Self(SecretString::new(text))
    }

    /// The secret text, to hand to its holder exactly once.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }

    /// The secret as the service carries it.
    pub fn into_secret(self) -> SecretString {
        self.0
    }

    /// What the database keeps for a secret presented by a client.
    pub fn hash_of(presented: &SecretString) -> SecretHash {
        Self::digest(presented.expose())
    }

    /// What the database keeps.
    pub fn hash(&self) -> SecretHash {
        Self::digest(self.expose())
    }

    fn digest(text: &str) -> SecretHash {
        let digest = digest::digest(&digest::SHA256, text.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        SecretHash(out)
    }
}

/// SHA-256 of a bearer secret.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct SecretHash(pub(crate) [u8; 32]);

impl SecretHash {
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Whether `presented` hashes to this value. Compares in constant time.
    pub fn matches(&self, presented: &BearerSecret) -> bool {
        aws_lc_rs::constant_time::verify_slices_are_equal(&self.0, &presented.hash().0).is_ok()
    }
}

const TOKEN_COLUMNS: &str =
    "id, name, role, owner_id, created_by, created_at, expires_at, last_used_at, revoked_at";

impl Store {
    /// Creates an API token. The secret is returned once; only its hash is stored.
    pub async fn create_api_token(
        &self,
        new: &NewApiToken,
        at: OffsetDateTime,
    ) -> StoreResult<(SecretString, ApiTokenRecord)> {
        let secret = BearerSecret::generate()?;
        let record = ApiTokenRecord {
            id: ApiTokenId::new(),
            name: new.name.clone(),
            role: new.role,
            owner: Some(new.owner),
            created_by: new.created_by.clone(),
            created_at: at,
            expires_at: Some(new.expires_at),
            last_used_at: None,
            revoked_at: None,
        };
        let (at, expires) = (to_micros(at)?, to_micros(new.expires_at)?);
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO api_tokens (id, token_hash, name, role, owner_id, created_by, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(record.id.to_string())
            .bind(secret.hash().0.to_vec())
            .bind(&record.name)
            .bind(record.role.as_str())
            .bind(new.owner.to_string())
            .bind(&record.created_by)
            .bind(at)
            .bind(expires)
            .execute(pool)
            .await
            .map_err(StoreError::db("create the API token"))?;
        });
        Ok((secret.into_secret(), record))
    }

    /// The token for a presented secret, revoked or expired or not, with its owner: whether it
    /// may be used is the service's decision.
    pub async fn api_token(
        &self,
        presented: &SecretString,
    ) -> StoreResult<Option<(ApiTokenRecord, Option<UserRecord>)>> {
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1");
        let token = with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(BearerSecret::hash_of(presented).0.to_vec())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the API token"))?
                .as_ref()
                .map(decode_token)
                .transpose()?
        });
        let Some(token) = token else {
            return Ok(None);
        };
        let owner = match token.owner {
            Some(owner) => self.user(owner).await?,
            None => None,
        };
        Ok(Some((token, owner)))
    }

    /// Records that a token was accepted at `at`.
    pub async fn record_api_token_use(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                .bind(id.to_string())
                .bind(at)
                .execute(pool)
                .await
                .map_err(StoreError::db("record the API token's use"))?;
        });
        Ok(())
    }

    /// Every token, revoked ones too, oldest first.
    pub async fn api_tokens(&self) -> StoreResult<Vec<ApiTokenRecord>> {
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

    /// Revokes a token (revoking again keeps the first time) and returns it.
    pub async fn revoke_api_token(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> StoreResult<ApiTokenRecord> {
        let at = to_micros(at)?;
        let sql = format!(
            "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1 \
             RETURNING {TOKEN_COLUMNS}"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .bind(at)
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("revoke the API token"))?
                .as_ref()
                .map(decode_token)
                .transpose()?
                .ok_or_else(|| StoreError::not_found("API token", id))
        })
    }

    /// Revokes every unrevoked token owned by `owner`; returns how many.
    pub async fn revoke_api_tokens_of(
        &self,
        owner: UserId,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let at = to_micros(at)?;
        Ok(with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2 WHERE owner_id = $1 AND revoked_at IS NULL",
            )
            .bind(owner.to_string())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("revoke the user's API tokens"))?
            .rows_affected()
        }))
    }
}

fn decode_token(row: &impl Columns) -> StoreResult<ApiTokenRecord> {
    let row = &in_table("api_tokens", row);
    Ok(ApiTokenRecord {
        id: row.parsed("id")?,
        name: row.text("name")?,
        role: row.parsed("role")?,
        owner: row.opt_parsed("owner_id")?,
        created_by: row.text("created_by")?,
        created_at: row.time("created_at")?,
        expires_at: row.opt_time("expires_at")?,
        last_used_at: row.opt_time("last_used_at")?,
        revoked_at: row.opt_time("revoked_at")?,
    })
}
