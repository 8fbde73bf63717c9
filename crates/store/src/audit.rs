//! The audit log: append-only (the database rejects UPDATE and DELETE on it).
//! Callers put thumbprints and non-secret context in it; never keys, passwords or tokens.

use time::OffsetDateTime;

use crate::Store;
use crate::db::{Columns, in_table, opt_to_micros, to_micros, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::ids::AuditId;
use tenantlink_service::{AuditEntry, AuditOutcome, NewAuditEntry, OrganizationId};

#[derive(Debug, Clone)]
pub struct NewAuditEvent {
    pub at: OffsetDateTime,
    /// Username, `token:<label>`, or `system`.
    pub actor: String,
    pub organization_id: Option<OrganizationId>,
    /// Dotted verb, e.g. `certificate.activate`, `user.sign_in`.
    pub action: String,
    pub outcome: AuditOutcome,
    /// SHA-1 thumbprints (upper-case hex) of the certificates involved.
    pub thumbprints: Vec<String>,
    pub details: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub id: AuditId,
    pub at: OffsetDateTime,
    pub actor: String,
    pub organization_id: Option<OrganizationId>,
    pub action: String,
    pub outcome: AuditOutcome,
    pub thumbprints: Vec<String>,
    pub details: serde_json::Value,
}

/// Which events to list. Results are newest first; page with `before`.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub organization_id: Option<OrganizationId>,
    pub actor: Option<String>,
    /// Exact action, or a prefix ending in `.` (e.g. `certificate.`).
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only events with an id below this one (the previous page's last id).
    pub before: Option<AuditId>,
    /// At most this many events; 0 means the default of 100.
    pub limit: u32,
}

const DEFAULT_LIMIT: u32 = 100;

impl NewAuditEvent {
    /// The service's entry as a log event: its detail text under `details.detail`.
    pub fn from_entry(entry: NewAuditEntry) -> Self {
        Self {
            at: entry.at,
            actor: entry.actor,
            organization_id: entry.organization,
            action: entry.action.as_str().to_owned(),
            outcome: entry.outcome,
            thumbprints: entry.thumbprints,
            details: match entry.detail {
                Some(detail) => serde_json::json!({ "detail": detail }),
                None => serde_json::json!({}),
            },
        }
    }
}

impl AuditEvent {
    /// The service's view of the event: `details.detail` is its detail text.
    pub fn into_entry(self) -> AuditEntry {
        AuditEntry {
            id: self.id.0,
            at: self.at,
            actor: self.actor,
            action: self.action,
            organization: self.organization_id,
            thumbprints: self.thumbprints,
            outcome: self.outcome.as_str().to_owned(),
            detail: self
                .details
                .get("detail")
                .and_then(|d| d.as_str())
                .map(str::to_owned),
        }
    }
}

impl Store {
    pub async fn append_audit(&self, event: NewAuditEvent) -> StoreResult<AuditId> {
        let thumbprints =
            serde_json::to_string(&event.thumbprints).map_err(|source| StoreError::Encode {
                what: "the audit thumbprints",
                source,
            })?;
        let details = event.details.to_string();
        let at = to_micros(event.at)?;
        with_pool!(self, |pool| {
            let row = sqlx::query(
                "INSERT INTO audit_log (at, actor, organization_id, action, outcome, \
                 thumbprints, details) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(at)
            .bind(&event.actor)
            .bind(event.organization_id.map(|o| o.to_string()))
            .bind(&event.action)
            .bind(event.outcome.as_str())
            .bind(thumbprints)
            .bind(details)
            .fetch_one(pool)
            .await
            .map_err(StoreError::db("append to the audit log"))?;
            Ok(AuditId(row.int("id")?))
        })
    }

    pub async fn audit_events(&self, filter: &AuditFilter) -> StoreResult<Vec<AuditEvent>> {
        // Every filter is always bound; a NULL parameter disables its condition. This keeps
        // one static statement instead of assembling SQL from user input. Prefixes compare
        // with substr, not LIKE: LIKE ignores ASCII case in SQLite but not in PostgreSQL,
        // and would treat `%` and `_` in the filter as wildcards.
        let action_prefix = filter.action.as_deref().filter(|a| a.ends_with('.'));
        let exact_action = filter.action.as_deref().filter(|a| !a.ends_with('.'));
        let limit = i64::from(if filter.limit == 0 {
            DEFAULT_LIMIT
        } else {
            filter.limit
        });
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
            .bind(filter.organization_id.map(|o| o.to_string()))
            .bind(filter.actor.as_deref())
            .bind(exact_action)
            .bind(action_prefix)
            .bind(filter.outcome.map(|o| o.as_str()))
            .bind(since)
            .bind(until)
            .bind(filter.before.map(|b| b.0))
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list audit events"))?
            .iter()
            .map(decode)
            .collect()
        })
    }
}

fn decode(row: &impl Columns) -> StoreResult<AuditEvent> {
    let row = &in_table("audit_log", row);
    let thumbprints_raw = row.text("thumbprints")?;
    let details_raw = row.text("details")?;
    Ok(AuditEvent {
        id: AuditId(row.int("id")?),
        at: row.time("at")?,
        actor: row.text("actor")?,
        organization_id: row.opt_parsed("organization_id")?,
        action: row.text("action")?,
        outcome: row.parsed("outcome")?,
        thumbprints: serde_json::from_str(&thumbprints_raw).map_err(|_| StoreError::Corrupt {
            table: "audit_log",
            column: "thumbprints",
            value: thumbprints_raw.clone(),
        })?,
        details: serde_json::from_str(&details_raw).map_err(|_| StoreError::Corrupt {
            table: "audit_log",
            column: "details",
            value: details_raw.clone(),
        })?,
    })
}
