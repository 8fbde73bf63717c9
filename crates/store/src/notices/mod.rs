//! Notices (migration 0013): the durable outbox of the service's notices and their deliveries,
//! the webhook endpoints (secret sealed under the master key), the notice settings (one row)
//! and each organization's e-mail recipients. Which deliveries a notice gets is the service's
//! rule (`plan_deliveries`); the store applies it inside the transaction that records the
//! notice, and decides claims in one statement by the rows it changed.
//!
//! - here: recording notices, reading them, settings and recipients,
//! - [`webhooks`]: the endpoints and their secrets,
//! - [`deliveries`]: due deliveries, claims, attempts and the delivery log,
//! - [`port`]: the service's `NoticeRepository` over these.

mod deliveries;
mod port;
mod webhooks;

pub(crate) use webhooks::{reseal_webhook_secrets, secret_context};

use tenantlink_service::OrganizationId;
use tenantlink_service::notices::ports::plan_deliveries;
use tenantlink_service::notices::{
    DeliveryId, EventType, NewNotice, Notice, NoticeId, NoticeSettings,
};
use time::OffsetDateTime;

use crate::Store;
use crate::db::{BackendKind, Columns, in_table, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};

/// Text lists (event types, recipients, thresholds) are stored as JSON arrays.
fn to_json<T: serde::Serialize>(what: &'static str, value: &T) -> StoreResult<String> {
    serde_json::to_string(value).map_err(|source| StoreError::Encode { what, source })
}

fn json_column<T: serde::de::DeserializeOwned>(
    row: &impl Columns,
    column: &'static str,
) -> StoreResult<T> {
    let raw = row.text(column)?;
    serde_json::from_str(&raw).map_err(|_| row.corrupt(column, raw))
}

fn event_types_column(row: &impl Columns, column: &'static str) -> StoreResult<Vec<EventType>> {
    let names: Vec<String> = json_column(row, column)?;
    names
        .into_iter()
        .map(|name| name.parse().map_err(|_| row.corrupt(column, name)))
        .collect()
}

fn event_type_names(types: &[EventType]) -> StoreResult<String> {
    let names: Vec<&str> = types.iter().map(|t| t.as_str()).collect();
    to_json("event types", &names)
}

/// SQLite: the first statement of a writing transaction takes the database write lock, so a
/// read inside it cannot be overtaken by another writer (which would fail the later write).
/// PostgreSQL needs nothing: its row locks and unique index wait for the other writer.
fn write_lock(kind: BackendKind) -> Option<&'static str> {
    match kind {
        BackendKind::Sqlite => Some("UPDATE notice_settings SET id = id WHERE 1 = 0"),
        BackendKind::Postgres => None,
    }
}

const NOTICE_COLUMNS: &str = "n.id AS notice_id, n.occurrence, n.event_type, \
                              n.organization_id, n.occurred_at, n.data";

pub(crate) fn decode_notice(row: &impl Columns) -> StoreResult<Notice> {
    let row = &in_table("notices", row);
    Ok(Notice {
        id: row.parsed("notice_id")?,
        occurrence: row.text("occurrence")?,
        event_type: row.parsed("event_type")?,
        organization: row.opt_parsed("organization_id")?,
        occurred_at: row.time("occurred_at")?,
        data: json_column(row, "data")?,
    })
}

const SETTINGS_COLUMNS: &str = "expiry_thresholds_days, default_recipients, email_mode, \
                                digest_hour_utc, email_event_types";

fn decode_settings(row: &impl Columns) -> StoreResult<NoticeSettings> {
    let row = &in_table("notice_settings", row);
    let hour = row.int("digest_hour_utc")?;
    Ok(NoticeSettings {
        expiry_thresholds_days: json_column(row, "expiry_thresholds_days")?,
        default_recipients: json_column(row, "default_recipients")?,
        email_mode: row.parsed("email_mode")?,
        digest_hour_utc: u8::try_from(hour)
            .ok()
            .filter(|h| *h < 24)
            .ok_or_else(|| row.corrupt("digest_hour_utc", hour.to_string()))?,
        email_event_types: event_types_column(row, "email_event_types")?,
    })
}

impl Store {
    /// Records the notice and its deliveries in one transaction, unless its occurrence was
    /// recorded before (then `None`, and nothing is written).
    pub async fn record_notice(&self, new: &NewNotice) -> StoreResult<Option<Notice>> {
        let notice = Notice {
            id: NoticeId::new(),
            occurrence: new.occurrence.clone(),
            event_type: new.event_type,
            organization: new.organization,
            occurred_at: new.occurred_at,
            data: new.data.clone(),
        };
        let data = to_json("the notice's data", &notice.data)?;
        let occurred_at = to_micros(notice.occurred_at)?;
        let lock = write_lock(self.backend_kind());
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            if let Some(lock) = lock {
                sqlx::query(lock)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("lock the database for the notice"))?;
            }
            let mut own_recipients = Vec::new();
            if let Some(org) = notice.organization {
                let row = sqlx::query(
                    "SELECT o.id, r.recipients FROM organizations o \
                     LEFT JOIN organization_notice_recipients r ON r.organization_id = o.id \
                     WHERE o.id = $1",
                )
                .bind(org.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(StoreError::db("read the organization's recipients"))?
                .ok_or_else(|| StoreError::not_found("organization", org))?;
                let row = in_table("organization_notice_recipients", &row);
                if row.opt_text("recipients")?.is_some() {
                    own_recipients = json_column(&row, "recipients")?;
                }
            }
            let inserted = sqlx::query(
                "INSERT INTO notices (id, occurrence, event_type, organization_id, \
                 occurred_at, data) VALUES ($1, $2, $3, $4, $5, $6) \
                 ON CONFLICT (occurrence) DO NOTHING",
            )
            .bind(notice.id.to_string())
            .bind(&notice.occurrence)
            .bind(notice.event_type.as_str())
            .bind(notice.organization.map(|o| o.to_string()))
            .bind(occurred_at)
            .bind(&data)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::db("record the notice"))?
            .rows_affected();
            if inserted == 0 {
                // Recorded before (here or by another instance): nothing changes.
                return Ok(None);
            }
            let endpoints = sqlx::query(sqlx::AssertSqlSafe(webhooks::select_live()))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("read the webhook endpoints"))?
                .iter()
                .map(webhooks::decode)
                .collect::<StoreResult<Vec<_>>>()?;
            let settings = match sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {SETTINGS_COLUMNS} FROM notice_settings WHERE id = 1"
            )))
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::db("read the notice settings"))?
            {
                Some(row) => decode_settings(&row)?,
                None => NoticeSettings::default(),
            };
            if let Some(only) = new.only_webhook
                && !endpoints.iter().any(|e| e.id == only)
            {
                return Err(StoreError::not_found("webhook endpoint", only));
            }
            let planned = plan_deliveries(new, &endpoints, &settings, &own_recipients)
                .map_err(|_| StoreError::not_found("webhook endpoint", "named by the notice"))?;
            for plan in planned {
                sqlx::query(
                    "INSERT INTO notice_deliveries (id, notice_id, channel, webhook_id, \
                     recipients, status, attempts, next_attempt_at) \
                     VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6)",
                )
                .bind(DeliveryId::new().to_string())
                .bind(notice.id.to_string())
                .bind(plan.channel.as_str())
                .bind(plan.webhook.map(|w| w.to_string()))
                .bind(to_json("the recipients", &plan.recipients)?)
                .bind(to_micros(plan.due_at)?)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("record a delivery of the notice"))?;
            }
            tx.commit()
                .await
                .map_err(StoreError::db("commit the notice"))?;
        });
        Ok(Some(notice))
    }

    pub async fn notice(&self, id: NoticeId) -> StoreResult<Notice> {
        let sql = format!("SELECT {NOTICE_COLUMNS} FROM notices n WHERE n.id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the notice"))?
                .ok_or_else(|| StoreError::not_found("notice", id))?;
            decode_notice(&row)
        })
    }

    /// Newest first (by when they occurred, then as recorded); `organization` narrows.
    pub async fn notices(
        &self,
        organization: Option<OrganizationId>,
        limit: u32,
    ) -> StoreResult<Vec<Notice>> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notices n \
             WHERE ($1 IS NULL OR n.organization_id = $1) \
             ORDER BY n.occurred_at DESC, n.seq DESC LIMIT $2"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.map(|o| o.to_string()))
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list notices"))?
                .iter()
                .map(decode_notice)
                .collect()
        })
    }

    /// The notice settings; the service's defaults until first set.
    pub async fn notice_settings(&self) -> StoreResult<NoticeSettings> {
        let sql = format!("SELECT {SETTINGS_COLUMNS} FROM notice_settings WHERE id = 1");
        with_pool!(self, |pool| {
            match sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the notice settings"))?
            {
                Some(row) => decode_settings(&row),
                None => Ok(NoticeSettings::default()),
            }
        })
    }

    pub async fn set_notice_settings(
        &self,
        settings: &NoticeSettings,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let thresholds = to_json("the thresholds", &settings.expiry_thresholds_days)?;
        let recipients = to_json("the recipients", &settings.default_recipients)?;
        let types = event_type_names(&settings.email_event_types)?;
        let at = to_micros(at)?;
        let sql = format!(
            "INSERT INTO notice_settings (id, {SETTINGS_COLUMNS}, updated_at) \
             VALUES (1, $1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET \
             expiry_thresholds_days = excluded.expiry_thresholds_days, \
             default_recipients = excluded.default_recipients, \
             email_mode = excluded.email_mode, digest_hour_utc = excluded.digest_hour_utc, \
             email_event_types = excluded.email_event_types, updated_at = excluded.updated_at"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(&thresholds)
                .bind(&recipients)
                .bind(settings.email_mode.as_str())
                .bind(i64::from(settings.digest_hour_utc))
                .bind(&types)
                .bind(at)
                .execute(pool)
                .await
                .map_err(StoreError::db("write the notice settings"))?;
        });
        Ok(())
    }

    /// The organization's own recipients; empty when it has none.
    pub async fn organization_recipients(
        &self,
        organization: OrganizationId,
    ) -> StoreResult<Vec<String>> {
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "SELECT o.id, r.recipients FROM organizations o \
                 LEFT JOIN organization_notice_recipients r ON r.organization_id = o.id \
                 WHERE o.id = $1",
            )
            .bind(organization.to_string())
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read the organization's recipients"))?
            .ok_or_else(|| StoreError::not_found("organization", organization))?;
            let row = in_table("organization_notice_recipients", &row);
            match row.opt_text("recipients")? {
                Some(_) => json_column(&row, "recipients"),
                None => Ok(Vec::new()),
            }
        })
    }

    pub async fn set_organization_recipients(
        &self,
        organization: OrganizationId,
        recipients: &[String],
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        // The foreign key would refuse an unknown organization too, but as a storage error.
        self.organization(organization).await?;
        let list = to_json("the recipients", &recipients)?;
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO organization_notice_recipients (organization_id, recipients, \
                 updated_at) VALUES ($1, $2, $3) ON CONFLICT (organization_id) DO UPDATE SET \
                 recipients = excluded.recipients, updated_at = excluded.updated_at",
            )
            .bind(organization.to_string())
            .bind(&list)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("write the organization's recipients"))?;
        });
        Ok(())
    }
}
