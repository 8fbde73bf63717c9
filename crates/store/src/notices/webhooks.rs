//! Webhook endpoints: stored with their signing secret sealed under the master key (bound to
//! the endpoint's id, so a sealed secret copied onto another endpoint does not open), listed
//! without it. Deleting one keeps the row (its delivery log names it) but drops the secret.

use tenantlink_service::SecretString;
use tenantlink_service::notices::{NewWebhookEndpoint, WebhookEndpoint, WebhookId};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use super::{event_type_names, event_types_column};
use crate::Store;
use crate::crypto;
use crate::db::{Columns, in_table, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::master_key::MasterKey;

const COLUMNS: &str = "id, url, description, event_types, enabled, failing_since, \
                       consecutive_failures, created_by, created_at";

/// The endpoints not deleted, oldest first.
pub(super) fn select_live() -> String {
    format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE NOT deleted ORDER BY created_at, id")
}

/// What a secret is bound to (the AEAD associated data).
pub(crate) fn secret_context(id: &str) -> Vec<u8> {
    format!("webhook-secret:endpoint={id}").into_bytes()
}

pub(super) fn decode(row: &impl Columns) -> StoreResult<WebhookEndpoint> {
    let row = &in_table("webhook_endpoints", row);
    let failures = row.unsigned("consecutive_failures")?;
    Ok(WebhookEndpoint {
        id: row.parsed("id")?,
        url: row.text("url")?,
        description: row.text("description")?,
        event_types: event_types_column(row, "event_types")?,
        enabled: row.flag("enabled")?,
        failing_since: row.opt_time("failing_since")?,
        consecutive_failures: u32::try_from(failures)
            .map_err(|_| row.corrupt("consecutive_failures", failures.to_string()))?,
        created_by: row.text("created_by")?,
        created_at: row.time("created_at")?,
    })
}

impl Store {
    pub async fn create_webhook(
        &self,
        key: &MasterKey,
        new: &NewWebhookEndpoint,
        secret: &SecretString,
        now: OffsetDateTime,
    ) -> StoreResult<WebhookEndpoint> {
        let endpoint = WebhookEndpoint {
            id: WebhookId::new(),
            url: new.url.clone(),
            description: new.description.clone(),
            event_types: new.event_types.clone(),
            enabled: true,
            failing_since: None,
            consecutive_failures: 0,
            created_by: new.created_by.clone(),
            created_at: now,
        };
        let id = endpoint.id.to_string();
        let sealed = crypto::seal(key, &secret_context(&id), secret.expose().as_bytes())?;
        let types = event_type_names(&endpoint.event_types)?;
        let at = to_micros(now)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, url, description, event_types, enabled, \
                 consecutive_failures, encrypted_secret, deleted, created_by, created_at) \
                 VALUES ($1, $2, $3, $4, TRUE, 0, $5, FALSE, $6, $7)",
            )
            .bind(&id)
            .bind(&endpoint.url)
            .bind(&endpoint.description)
            .bind(&types)
            .bind(&sealed)
            .bind(&endpoint.created_by)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("store the webhook endpoint"))?;
        });
        Ok(endpoint)
    }

    /// The endpoints not deleted, oldest first.
    pub async fn webhooks(&self) -> StoreResult<Vec<WebhookEndpoint>> {
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(select_live()))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list the webhook endpoints"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    pub async fn webhook(&self, id: WebhookId) -> StoreResult<WebhookEndpoint> {
        let sql = format!("SELECT {COLUMNS} FROM webhook_endpoints WHERE id = $1 AND NOT deleted");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the webhook endpoint"))?
                .ok_or_else(|| StoreError::not_found("webhook endpoint", id))?;
            decode(&row)
        })
    }

    /// The decrypted signing secret of an endpoint not deleted.
    pub async fn webhook_secret(
        &self,
        key: &MasterKey,
        id: WebhookId,
    ) -> StoreResult<Zeroizing<Vec<u8>>> {
        let sealed = with_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT encrypted_secret FROM webhook_endpoints WHERE id = $1 AND NOT deleted",
            )
            .bind(id.to_string())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read the webhook secret"))?
            .ok_or_else(|| StoreError::not_found("webhook endpoint", id))?;
            in_table("webhook_endpoints", &row).blob("encrypted_secret")?
        });
        Ok(crypto::open(
            key,
            &secret_context(&id.to_string()),
            &sealed,
        )?)
    }

    /// Enabling clears the failing mark and count; disabling fails its pending deliveries.
    pub async fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
    ) -> StoreResult<WebhookEndpoint> {
        let change = if enabled {
            "UPDATE webhook_endpoints SET enabled = TRUE, failing_since = NULL, \
             consecutive_failures = 0 WHERE id = $1 AND NOT deleted"
        } else {
            "UPDATE webhook_endpoints SET enabled = FALSE WHERE id = $1 AND NOT deleted"
        };
        self.change_endpoint(
            id,
            change,
            (!enabled).then_some("the endpoint was disabled"),
        )
        .await?;
        self.webhook(id).await
    }

    /// Marks it deleted and drops its secret; its pending deliveries fail, its log stays.
    pub async fn delete_webhook(&self, id: WebhookId) -> StoreResult<()> {
        self.change_endpoint(
            id,
            "UPDATE webhook_endpoints SET deleted = TRUE, enabled = FALSE, \
             encrypted_secret = NULL WHERE id = $1 AND NOT deleted",
            Some("the endpoint was deleted"),
        )
        .await
    }

    /// One transaction: the endpoint's change, then (with a reason) its pending deliveries
    /// failed with that reason.
    async fn change_endpoint(
        &self,
        id: WebhookId,
        change: &'static str,
        fail_pending: Option<&'static str>,
    ) -> StoreResult<()> {
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            let changed = sqlx::query(change)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("change the webhook endpoint"))?
                .rows_affected();
            if changed == 0 {
                return Err(StoreError::not_found("webhook endpoint", id));
            }
            if let Some(reason) = fail_pending {
                sqlx::query(
                    "UPDATE notice_deliveries SET status = 'failed', last_error = $2, \
                     claim_holder = NULL, claim_until = NULL \
                     WHERE webhook_id = $1 AND status = 'pending'",
                )
                .bind(id.to_string())
                .bind(reason)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("fail the endpoint's pending deliveries"))?;
            }
            tx.commit()
                .await
                .map_err(StoreError::db("commit the webhook endpoint change"))?;
        });
        Ok(())
    }
}

/// Re-encrypts every endpoint's secret from `$old` to `$new` inside a master key rotation's
/// transaction `$tx` (so all secrets and keys move together, or none); rows already under
/// `$new` are left. Evaluates to how many were re-encrypted. A macro because the body is
/// expanded once per backend, like `with_pool!`.
macro_rules! reseal_webhook_secrets {
    ($tx:expr, $old:expr, $new:expr) => {{
        use $crate::crypto;
        use $crate::db::{Columns as _, in_table};
        use $crate::error::StoreError;
        let rows = sqlx::query(
            "SELECT id, encrypted_secret FROM webhook_endpoints \
             WHERE encrypted_secret IS NOT NULL",
        )
        .fetch_all(&mut *$tx)
        .await
        .map_err(StoreError::db("read the webhook secrets"))?;
        let mut resealed: u64 = 0;
        for row in &rows {
            let row = in_table("webhook_endpoints", row);
            let id = row.text("id")?;
            let sealed = row.blob("encrypted_secret")?;
            if crypto::stored_key_id(&sealed)? == $new.id() {
                continue;
            }
            let context = $crate::notices::secret_context(&id);
            let plain = crypto::open($old, &context, &sealed)?;
            let again = crypto::seal($new, &context, &plain)?;
            sqlx::query("UPDATE webhook_endpoints SET encrypted_secret = $2 WHERE id = $1")
                .bind(id)
                .bind(again)
                .execute(&mut *$tx)
                .await
                .map_err(StoreError::db("store the re-encrypted webhook secret"))?;
            resealed += 1;
        }
        resealed
    }};
}
pub(crate) use reseal_webhook_secrets;
