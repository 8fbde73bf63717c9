//! Deliveries: the due ones, the claim (one statement, decided by the rows it changed), the
//! record of an attempt with its effect on the endpoint (one transaction), the delivery log.

use tenantlink_service::notices::{
    AttemptNext, AttemptRecord, Delivery, DeliveryChannel, DeliveryId, WebhookId,
};
use time::OffsetDateTime;

use super::{NOTICE_COLUMNS, decode_notice, json_column};
use crate::Store;
use crate::db::{Columns, in_table, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};

fn select() -> String {
    format!(
        "SELECT d.id, d.channel, d.webhook_id, d.recipients, d.status, d.attempts, \
         d.next_attempt_at, d.last_attempt_at, d.last_status_code, d.last_error, \
         d.delivered_at, {NOTICE_COLUMNS} \
         FROM notice_deliveries d JOIN notices n ON n.id = d.notice_id"
    )
}

fn decode(row: &impl Columns) -> StoreResult<Delivery> {
    let notice = decode_notice(row)?;
    let row = &in_table("notice_deliveries", row);
    let attempts = row.unsigned("attempts")?;
    let code = row.opt_int("last_status_code")?;
    let channel: DeliveryChannel = row.parsed("channel")?;
    let webhook: Option<WebhookId> = row.opt_parsed("webhook_id")?;
    if (channel == DeliveryChannel::Webhook) != webhook.is_some() {
        return Err(row.corrupt(
            "webhook_id",
            format!("{webhook:?} for a {channel} delivery"),
        ));
    }
    Ok(Delivery {
        id: row.parsed("id")?,
        notice,
        channel,
        webhook,
        recipients: json_column(row, "recipients")?,
        status: row.parsed("status")?,
        attempts: u32::try_from(attempts)
            .map_err(|_| row.corrupt("attempts", attempts.to_string()))?,
        next_attempt_at: row.time("next_attempt_at")?,
        last_attempt_at: row.opt_time("last_attempt_at")?,
        last_status_code: code
            .map(|c| u16::try_from(c).map_err(|_| row.corrupt("last_status_code", c.to_string())))
            .transpose()?,
        last_error: row.opt_text("last_error")?,
        delivered_at: row.opt_time("delivered_at")?,
    })
}

/// What an attempt does to the delivery row, besides counting it; `$2` is the attempt's time,
/// `$5` (a retry only) the next attempt's. A delivery already failed (its endpoint was
/// disabled or deleted meanwhile) stays failed unless the attempt delivered it.
fn attempt_update(next: AttemptNext) -> &'static str {
    match next {
        AttemptNext::Delivered => "status = 'delivered', delivered_at = $2",
        AttemptNext::RetryAt(_) => {
            "next_attempt_at = CASE WHEN status = 'pending' THEN $5 ELSE next_attempt_at END"
        }
        AttemptNext::GiveUp => "status = 'failed'",
    }
}

/// What an attempt does to its webhook endpoint; `$2` is the attempt's time, `$3` the
/// `failing_after` count (a give-up only).
fn endpoint_update(next: AttemptNext) -> Option<&'static str> {
    match next {
        AttemptNext::Delivered => Some("consecutive_failures = 0, failing_since = NULL"),
        AttemptNext::GiveUp => Some(
            "consecutive_failures = consecutive_failures + 1, \
             failing_since = CASE WHEN failing_since IS NULL \
             AND consecutive_failures + 1 >= $3 THEN $2 ELSE failing_since END",
        ),
        AttemptNext::RetryAt(_) => None,
    }
}

impl Store {
    /// Pending deliveries due at `now` whose claim is free or expired, oldest due first.
    pub async fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "{} WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
             AND (d.claim_until IS NULL OR d.claim_until < $1) \
             ORDER BY d.next_attempt_at, d.seq LIMIT $2",
            select()
        );
        let now = to_micros(now)?;
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list the due deliveries"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Claims a pending delivery for `holder` until `until`: one statement whose update only
    /// applies when the claim is free, expired (at `now`) or already the holder's.
    pub async fn claim_delivery(
        &self,
        id: DeliveryId,
        holder: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> StoreResult<bool> {
        let (now, until) = (to_micros(now)?, to_micros(until)?);
        let claimed = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE notice_deliveries SET claim_holder = $2, claim_until = $4 \
                 WHERE id = $1 AND status = 'pending' \
                 AND (claim_until IS NULL OR claim_until < $3 OR claim_holder = $2)",
            )
            .bind(id.to_string())
            .bind(holder)
            .bind(now)
            .bind(until)
            .execute(pool)
            .await
            .map_err(StoreError::db("claim the delivery"))?
            .rows_affected()
        });
        if claimed == 0 {
            // Not claimed: say whether it exists at all.
            self.delivery(id).await?;
        }
        Ok(claimed > 0)
    }

    pub async fn delivery(&self, id: DeliveryId) -> StoreResult<Delivery> {
        let sql = format!("{} WHERE d.id = $1", select());
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the delivery"))?
                .ok_or_else(|| StoreError::not_found("delivery", id))?;
            decode(&row)
        })
    }

    /// Records one attempt and, for a webhook delivery, its effect on the endpoint, in one
    /// transaction; frees the claim.
    pub async fn record_attempt(
        &self,
        id: DeliveryId,
        attempt: &AttemptRecord,
        failing_after: u32,
    ) -> StoreResult<Delivery> {
        let retry_at = match attempt.next {
            AttemptNext::RetryAt(at) => Some(to_micros(at)?),
            AttemptNext::Delivered | AttemptNext::GiveUp => None,
        };
        let delivery_sql = format!(
            "UPDATE notice_deliveries SET attempts = attempts + 1, last_attempt_at = $2, \
             last_status_code = $3, last_error = $4, claim_holder = NULL, claim_until = NULL, \
             {} WHERE id = $1",
            attempt_update(attempt.next)
        );
        let endpoint_sql = endpoint_update(attempt.next).map(|set| {
            format!(
                "UPDATE webhook_endpoints SET {set} WHERE id = \
                 (SELECT webhook_id FROM notice_deliveries WHERE id = $1)"
            )
        });
        let at = to_micros(attempt.at)?;
        let give_up = attempt.next == AttemptNext::GiveUp;
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            let query = sqlx::query(sqlx::AssertSqlSafe(delivery_sql))
                .bind(id.to_string())
                .bind(at)
                .bind(attempt.status_code.map(i64::from))
                .bind(attempt.error.as_deref());
            let query = match retry_at {
                Some(retry_at) => query.bind(retry_at),
                None => query,
            };
            let changed = query
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("record the delivery attempt"))?
                .rows_affected();
            if changed == 0 {
                return Err(StoreError::not_found("delivery", id));
            }
            if let Some(sql) = endpoint_sql {
                let query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id.to_string());
                let query = if give_up {
                    query.bind(at).bind(i64::from(failing_after))
                } else {
                    query
                };
                query
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("update the endpoint's failures"))?;
            }
            tx.commit()
                .await
                .map_err(StoreError::db("commit the delivery attempt"))?;
        });
        self.delivery(id).await
    }

    /// Newest first; `webhook` narrows to one endpoint's log.
    pub async fn deliveries(
        &self,
        webhook: Option<WebhookId>,
        limit: u32,
    ) -> StoreResult<Vec<Delivery>> {
        let sql = format!(
            "{} WHERE ($1 IS NULL OR d.webhook_id = $1) ORDER BY d.seq DESC LIMIT $2",
            select()
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(webhook.map(|w| w.to_string()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list the deliveries"))?
                .iter()
                .map(decode)
                .collect()
        })
    }
}
