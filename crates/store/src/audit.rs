//! The audit log: append-only (the database rejects UPDATE and DELETE on it). Rows are written
//! from and read into the service's [`NewAuditEntry`] / [`AuditEntry`]; the `details` column
//! holds a JSON object whose `detail` member is the entry's detail text.

use crate::Store;
use crate::db::{Columns, in_table, opt_to_micros, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};
use tenantlink_service::{AuditEntry, AuditFilter, NewAuditEntry};

impl Store {
    /// Appends `entry`; returns its id (ids increase with every append).
    pub async fn append_audit(&self, entry: &NewAuditEntry) -> StoreResult<i64> {
        let thumbprints =
            serde_json::to_string(&entry.thumbprints).map_err(|source| StoreError::Encode {
                what: "the audit thumbprints",
                source,
            })?;
        let details = match &entry.detail {
            Some(detail) => serde_json::json!({ "detail": detail }),
            None => serde_json::json!({}),
        }
        .to_string();
        let at = to_micros(entry.at)?;
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "INSERT INTO audit_log (at, actor, organization_id, action, outcome, \
                 thumbprints, details) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(at)
            .bind(&entry.actor)
            .bind(entry.organization.map(|o| o.to_string()))
            .bind(entry.action.as_str())
            .bind(entry.outcome.as_str())
            .bind(&thumbprints)
            .bind(&details)
            .fetch_one(pool)
            .await
            .map_err(StoreError::db("append to the audit log"))?;
            row.int("id")
        })
    }

    pub async fn audit_entries(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEntry>> {
        // Every filter is always bound; a NULL parameter disables its condition. This keeps
        // one static statement instead of assembling SQL from user input. Prefixes compare
        // with substr, not LIKE: LIKE ignores ASCII case in SQLite but not in PostgreSQL,
        // and would treat `%` and `_` in the filter as wildcards.
        let limit = i64::from(filter.effective_limit());
        let (since, until) = (opt_to_micros(filter.since)?, opt_to_micros(filter.until)?);
        with_pool!(self, |pool| {
            sqlx::query(
                "SELECT id, at, actor, organization_id, action, outcome, thumbprints, details \
                 FROM audit_log WHERE \
                 ($1 IS NULL OR organization_id = $1) AND ($2 IS NULL OR actor = $2) \
                 AND ($3 IS NULL OR action = $3) AND ($4 IS NULL OR substr(action, 1, length($4)) = $4) \
                 AND ($5 IS NULL OR outcome = $5) AND ($6 IS NULL OR at >= $6) \
                 AND ($7 IS NULL OR at < $7) AND ($8 IS NULL OR id < $8) \
                 ORDER BY id DESC LIMIT $9",
            )
            .bind(filter.organization.map(|o| o.to_string()))
            .bind(filter.actor.as_deref())
            .bind(filter.exact_action())
            .bind(filter.action_prefix())
            .bind(filter.outcome.map(|o| o.as_str()))
            .bind(since)
            .bind(until)
            .bind(filter.before)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list audit entries"))?
            .iter()
            .map(decode)
            .collect()
        })
    }
}

fn decode(row: &impl Columns) -> StoreResult<AuditEntry> {
    let row = &in_table("audit_log", row);
    let thumbprints_raw = row.text("thumbprints")?;
    let details_raw = row.text("details")?;
    let details: serde_json::Value =
        serde_json::from_str(&details_raw).map_err(|_| StoreError::Corrupt {
            table: "audit_log",
            column: "details",
            value: details_raw.clone(),
        })?;
    Ok(AuditEntry {
        id: row.int("id")?,
        at: row.time("at")?,
        actor: row.text("actor")?,
        organization: row.opt_parsed("organization_id")?,
        action: row.text("action")?,
        outcome: row.parsed("outcome")?,
        thumbprints: serde_json::from_str(&thumbprints_raw).map_err(|_| StoreError::Corrupt {
            table: "audit_log",
            column: "thumbprints",
            value: thumbprints_raw.clone(),
        })?,
        detail: details
            .get("detail")
            .and_then(|d| d.as_str())
            .map(str::to_owned),
    })
}
