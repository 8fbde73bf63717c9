//! Backup policies, runs (the job log), the mailbox item index, and per-user delta links.

//!
//! Rows decode straight into the service's backup records; [`Store`] implements the service's
//! `BackupRepository` port over the inherent methods below (in `port.rs`).

mod port;

use time::OffsetDateTime;

use tenantlink_service::{
    BackupPolicy, BackupRun, BackupScope, DeltaLink, MailboxItem, NewBackupPolicy, OrganizationId,
    PolicyId, RunId, RunSummary, RunTrigger, UpsertOutcome,
};

use crate::Store;
use crate::db::{Columns, in_table, opt_to_micros, to_micros, with_pool};
use crate::error::{Conflict, StoreError, StoreResult};

const POLICY_COLUMNS: &str = "id, organization_id, name, schedule, scope, enabled, next_due_at, \
                              created_at, updated_at";
/// Ids per statement in [`Store::due_policies_among`]: far below SQLite's and PostgreSQL's
/// bound-parameter limits.
const DUE_AMONG_CHUNK: usize = 500;
const RUN_COLUMNS: &str = "id, policy_id, organization_id, trigger_kind, status, started_at, \
                           finished_at, users, items_new, items_changed, error_text";

impl Store {
    pub async fn create_policy(
        &self,
        new: NewBackupPolicy,
        at: OffsetDateTime,
    ) -> StoreResult<BackupPolicy> {
        let policy = BackupPolicy {
            id: PolicyId::new(),
            organization_id: new.organization_id,
            name: new.name,
            schedule: new.schedule,
            scope: new.scope,
            enabled: new.enabled,
            next_due_at: new.next_due_at,
            created_at: at,
            updated_at: at,
        };
        let (next_due, at) = (opt_to_micros(policy.next_due_at)?, to_micros(at)?);
        let scope = scope_json(&policy.scope)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO backup_policies (id, organization_id, name, schedule, scope, \
                 enabled, next_due_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
            )
            .bind(policy.id.to_string())
            .bind(policy.organization_id.to_string())
            .bind(&policy.name)
            .bind(&policy.schedule)
            .bind(scope)
            .bind(policy.enabled)
            .bind(next_due)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("create the backup policy"))?;
        });
        Ok(policy)
    }

    /// Replaces a policy's editable fields.
    pub async fn update_policy(
        &self,
        policy: &BackupPolicy,
        at: OffsetDateTime,
    ) -> StoreResult<BackupPolicy> {
        let (next_due, at) = (opt_to_micros(policy.next_due_at)?, to_micros(at)?);
        let scope = scope_json(&policy.scope)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE backup_policies SET name = $2, schedule = $3, scope = $4, enabled = $5, \
                 next_due_at = $6, updated_at = $7 WHERE id = $1",
            )
            .bind(policy.id.to_string())
            .bind(&policy.name)
            .bind(&policy.schedule)
            .bind(&scope)
            .bind(policy.enabled)
            .bind(next_due)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("update the backup policy"))?
            .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::not_found("backup policy", policy.id));
        }
        self.policy(policy.id).await
    }

    pub async fn delete_policy(&self, id: PolicyId) -> StoreResult<()> {
        let affected = with_pool!(self, |pool| {
            sqlx::query("DELETE FROM backup_policies WHERE id = $1")
                .bind(id.to_string())
                .execute(pool)
                .await
                .map_err(StoreError::db("delete the backup policy"))?
                .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::not_found("backup policy", id));
        }
        Ok(())
    }

    pub async fn policy(&self, id: PolicyId) -> StoreResult<BackupPolicy> {
        let sql = format!("SELECT {POLICY_COLUMNS} FROM backup_policies WHERE id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the backup policy"))?
                .ok_or_else(|| StoreError::not_found("backup policy", id))?;
            decode_policy(&row)
        })
    }

    pub async fn policies(&self, organization: OrganizationId) -> StoreResult<Vec<BackupPolicy>> {
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM backup_policies WHERE organization_id = $1 \
             ORDER BY name, id"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(organization.to_string())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list backup policies"))?
                .iter()
                .map(decode_policy)
                .collect()
        })
    }

    /// At most `limit` enabled policies whose next due time is at or before `now`: the longest
    /// waiting first (by due time, then id), so that a caller that can start only a few at a
    /// time reads only those, and a policy due long ago is never overtaken by newer ones. The
    /// order is served by the index `backup_policies_due_order (enabled, next_due_at, id)`, so
    /// the cost follows `limit`, not the number of due policies (many share one due time).
    pub async fn due_policies(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> StoreResult<Vec<BackupPolicy>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT {POLICY_COLUMNS} FROM backup_policies \
             WHERE enabled = $2 AND next_due_at IS NOT NULL AND next_due_at <= $1 \
             ORDER BY next_due_at, id LIMIT $3"
        );
        let now = to_micros(now)?;
        // Both backends take a 64-bit LIMIT; anything larger means "all".
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now)
                .bind(true)
                .bind(limit)
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list due backup policies"))?
                .iter()
                .map(decode_policy)
                .collect()
        })
    }

    /// Of the policies `ids`, the enabled ones due at `now`, in the order of
    /// [`Store::due_policies`]. The scheduler asks this for the policies it has runs of in flight
    /// (a handful), whose due times it skips, without reading every due policy.
    pub async fn due_policies_among(
        &self,
        now: OffsetDateTime,
        ids: &[PolicyId],
    ) -> StoreResult<Vec<BackupPolicy>> {
        let now = to_micros(now)?;
        let mut due = Vec::new();
        // Chunks keep the statement under both drivers' bound-parameter limits, however many
        // ids a caller passes.
        for chunk in ids.chunks(DUE_AMONG_CHUNK) {
            let placeholders = (0..chunk.len())
                .map(|i| format!("${}", i + 3))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "SELECT {POLICY_COLUMNS} FROM backup_policies \
                 WHERE enabled = $2 AND next_due_at IS NOT NULL AND next_due_at <= $1 \
                 AND id IN ({placeholders})"
            );
            let rows: Vec<BackupPolicy> = with_pool!(self, |pool| {
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now).bind(true);
                for id in chunk {
                    query = query.bind(id.to_string());
                }
                query
                    .fetch_all(pool)
                    .await
                    .map_err(StoreError::db(
                        "list due backup policies among those running",
                    ))?
                    .iter()
                    .map(decode_policy)
                    .collect::<StoreResult<_>>()?
            });
            due.extend(rows);
        }
        // A UUID's byte order is its lower-case hyphenated text's order: the same as the SQL.
        due.sort_by_key(|p| (p.next_due_at, p.id));
        Ok(due)
    }

    pub async fn set_policy_next_due(
        &self,
        id: PolicyId,
        next_due_at: Option<OffsetDateTime>,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let (next_due, at) = (opt_to_micros(next_due_at)?, to_micros(at)?);
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE backup_policies SET next_due_at = $2, updated_at = $3 WHERE id = $1",
            )
            .bind(id.to_string())
            .bind(next_due)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("set the policy's next due time"))?
            .rows_affected()
        });
        if affected == 0 {
            return Err(StoreError::not_found("backup policy", id));
        }
        Ok(())
    }

    /// Starts a run. A policy with a run in progress is refused with
    /// [`Conflict::RunInProgress`] (enforced by a partial unique index, so two schedulers
    /// cannot both start one).
    pub async fn start_run(
        &self,
        policy: PolicyId,
        trigger: RunTrigger,
        at: OffsetDateTime,
    ) -> StoreResult<BackupRun> {
        self.start_held_run(policy, trigger, None, at).await
    }

    /// [`Store::start_run`], recording `holder` (the instance running it) and a first heartbeat.
    pub async fn start_held_run(
        &self,
        policy: PolicyId,
        trigger: RunTrigger,
        holder: Option<&str>,
        at: OffsetDateTime,
    ) -> StoreResult<BackupRun> {
        let id = RunId::new();
        let at = to_micros(at)?;
        let inserted = with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO backup_runs (id, policy_id, organization_id, trigger_kind, status, \
                 started_at, users, items_new, items_changed, held_by, heartbeat_at) \
                 SELECT $1, id, organization_id, $3, 'running', $4, 0, 0, 0, $5, $4 \
                 FROM backup_policies WHERE id = $2",
            )
            .bind(id.to_string())
            .bind(policy.to_string())
            .bind(trigger.as_str())
            .bind(at)
            .bind(holder)
            .execute(pool)
            .await
            .map_err(|e| match StoreError::db("start the backup run")(e) {
                StoreError::AlreadyExists { .. } => Conflict::RunInProgress {
                    policy: policy.to_string(),
                }
                .into(),
                other => other,
            })?
            .rows_affected()
        });
        if inserted == 0 {
            return Err(StoreError::not_found("backup policy", policy));
        }
        self.run(id).await
    }

    /// Records how a running run ended. A finished run cannot be finished again.
    pub async fn finish_run(
        &self,
        id: RunId,
        summary: &RunSummary,
        at: OffsetDateTime,
    ) -> StoreResult<BackupRun> {
        let at = to_micros(at)?;
        let affected = with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE backup_runs SET status = $2, finished_at = $3, users = $4, \
                 items_new = $5, items_changed = $6, error_text = $7 \
                 WHERE id = $1 AND status = 'running'",
            )
            .bind(id.to_string())
            .bind(summary.status.as_str())
            .bind(at)
            .bind(summary.users)
            .bind(summary.items_new)
            .bind(summary.items_changed)
            .bind(summary.error_text.as_deref())
            .execute(pool)
            .await
            .map_err(StoreError::db("finish the backup run"))?
            .rows_affected()
        });
        let run = self.run(id).await?;
        if affected == 0 {
            return Err(Conflict::RunFinished {
                run: id.to_string(),
            }
            .into());
        }
        Ok(run)
    }

    /// Sets the heartbeat of `holder`'s running runs to `at`. Returns how many.
    pub async fn heartbeat_runs(&self, holder: &str, at: OffsetDateTime) -> StoreResult<u64> {
        let at = to_micros(at)?;
        Ok(with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE backup_runs SET heartbeat_at = $2 \
                 WHERE held_by = $1 AND status = 'running'",
            )
            .bind(holder)
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("record the runs' heartbeat"))?
            .rows_affected()
        }))
    }

    /// Marks runs still `running` that no live process carries as failed: those of `holder`
    /// (this instance's previous process), those without a holder (recorded before 0009, or by
    /// a process without an id; `holder` `None` means every run, the single-instance
    /// behaviour), and those whose holder's last heartbeat is at or before `silent_since`.
    pub async fn fail_interrupted_runs(
        &self,
        holder: Option<&str>,
        silent_since: OffsetDateTime,
        message: &str,
        at: OffsetDateTime,
    ) -> StoreResult<u64> {
        let at = to_micros(at)?;
        let silent_since = to_micros(silent_since)?;
        Ok(with_pool!(self, |pool| {
            sqlx::query(
                "UPDATE backup_runs SET status = 'failed', finished_at = $1, error_text = $2 \
                 WHERE status = 'running' AND ($3 IS NULL OR held_by IS NULL OR held_by = $3 \
                 OR heartbeat_at IS NULL OR heartbeat_at <= $4)",
            )
            .bind(at)
            .bind(message)
            .bind(holder)
            .bind(silent_since)
            .execute(pool)
            .await
            .map_err(StoreError::db("fail interrupted runs"))?
            .rows_affected()
        }))
    }

    pub async fn run(&self, id: RunId) -> StoreResult<BackupRun> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM backup_runs WHERE id = $1");
        with_pool!(self, |pool| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id.to_string())
                .fetch_optional(pool)
                .await
                .map_err(StoreError::db("read the backup run"))?
                .ok_or_else(|| StoreError::not_found("backup run", id))?;
            decode_run(&row)
        })
    }

    /// A policy's runs, newest first, at most `limit`.
    pub async fn runs(&self, policy: PolicyId, limit: u32) -> StoreResult<Vec<BackupRun>> {
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM backup_runs WHERE policy_id = $1 \
             ORDER BY started_at DESC, id LIMIT $2"
        );
        with_pool!(self, |pool| {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(policy.to_string())
                .bind(i64::from(limit))
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("list backup runs"))?
                .iter()
                .map(decode_run)
                .collect()
        })
    }

    /// Adds or refreshes a message's index entry, keyed by (organization, user, message
    /// id); re-reading a message never duplicates it. Reports whether it was new, changed
    /// (different content hash) or unchanged.
    pub async fn upsert_mailbox_item(
        &self,
        item: &MailboxItem,
        run: RunId,
    ) -> StoreResult<UpsertOutcome> {
        let outcomes = self
            .upsert_mailbox_items(std::slice::from_ref(item), run)
            .await?;
        outcomes
            .into_iter()
            .next()
            .ok_or_else(|| StoreError::not_found("mailbox item outcome", &item.message_id))
    }

    /// [`Store::upsert_mailbox_item`] for a page of items in one transaction: all are
    /// indexed or none. One commit per page instead of per item matters on PostgreSQL,
    /// where each commit waits for the disk.
    pub async fn upsert_mailbox_items(
        &self,
        items: &[MailboxItem],
        run: RunId,
    ) -> StoreResult<Vec<UpsertOutcome>> {
        let received: Vec<i64> = items
            .iter()
            .map(|item| to_micros(item.received_at))
            .collect::<StoreResult<_>>()?;
        let run = run.to_string();
        with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a transaction"))?;
            let mut outcomes = Vec::with_capacity(items.len());
            for (item, received) in items.iter().zip(&received) {
                let organization = item.organization_id.to_string();
                // Insert-or-nothing, then update-if-different: two portable statements
                // that tell the three outcomes apart.
                let inserted = sqlx::query(
                    "INSERT INTO mailbox_items (organization_id, user_id, message_id, subject, \
                     sender, received_at, size, content_hash, first_seen_run, last_changed_run) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                     ON CONFLICT (organization_id, user_id, message_id) DO NOTHING",
                )
                .bind(&organization)
                .bind(&item.user_id)
                .bind(&item.message_id)
                .bind(&item.subject)
                .bind(&item.sender)
                .bind(*received)
                .bind(item.size)
                .bind(&item.content_hash)
                .bind(&run)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("index the mailbox item"))?
                .rows_affected();
                if inserted == 1 {
                    outcomes.push(UpsertOutcome::Inserted);
                    continue;
                }
                let changed = sqlx::query(
                    "UPDATE mailbox_items SET subject = $4, sender = $5, received_at = $6, \
                     size = $7, content_hash = $8, last_changed_run = $9 \
                     WHERE organization_id = $1 AND user_id = $2 AND message_id = $3 \
                     AND content_hash <> $8",
                )
                .bind(&organization)
                .bind(&item.user_id)
                .bind(&item.message_id)
                .bind(&item.subject)
                .bind(&item.sender)
                .bind(*received)
                .bind(item.size)
                .bind(&item.content_hash)
                .bind(&run)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::db("update the mailbox item"))?
                .rows_affected();
                outcomes.push(if changed == 1 {
                    UpsertOutcome::Changed
                } else {
                    UpsertOutcome::Unchanged
                });
            }
            tx.commit()
                .await
                .map_err(StoreError::db("commit the mailbox items"))?;
            Ok(outcomes)
        })
    }

    /// A user's indexed messages, by received time.
    pub async fn mailbox_items(
        &self,
        organization: OrganizationId,
        user_id: &str,
    ) -> StoreResult<Vec<MailboxItem>> {
        with_pool!(self, |pool| {
            sqlx::query(
                "SELECT organization_id, user_id, message_id, subject, sender, received_at, \
                 size, content_hash FROM mailbox_items \
                 WHERE organization_id = $1 AND user_id = $2 ORDER BY received_at, message_id",
            )
            .bind(organization.to_string())
            .bind(user_id)
            .fetch_all(pool)
            .await
            .map_err(StoreError::db("list mailbox items"))?
            .iter()
            .map(decode_item)
            .collect()
        })
    }

    /// The delta link kept from the last completed read of this user's mailbox under this
    /// policy; `None` means the next read is a full one.
    pub async fn delta_link(
        &self,
        policy: PolicyId,
        user_id: &str,
    ) -> StoreResult<Option<DeltaLink>> {
        with_pool!(self, |pool| {
            sqlx::query(
                "SELECT policy_id, user_id, delta_link, run_id, updated_at FROM delta_links \
                 WHERE policy_id = $1 AND user_id = $2",
            )
            .bind(policy.to_string())
            .bind(user_id)
            .fetch_optional(pool)
            .await
            .map_err(StoreError::db("read the delta link"))?
            .as_ref()
            .map(|row| {
                let row = &in_table("delta_links", row);
                Ok(DeltaLink {
                    policy_id: row.parsed("policy_id")?,
                    user_id: row.text("user_id")?,
                    delta_link: row.text("delta_link")?,
                    run_id: row.parsed("run_id")?,
                    updated_at: row.time("updated_at")?,
                })
            })
            .transpose()
        })
    }

    /// Keeps the delta link returned at the end of a user's mailbox read. Call it only once
    /// every page of that read is indexed, so a run that dies midway resumes from the
    /// previous link and re-reads (without duplicating) what it had seen.
    pub async fn save_delta_link(
        &self,
        policy: PolicyId,
        user_id: &str,
        delta_link: &str,
        run: RunId,
        at: OffsetDateTime,
    ) -> StoreResult<()> {
        let at = to_micros(at)?;
        with_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO delta_links (policy_id, user_id, delta_link, run_id, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (policy_id, user_id) DO UPDATE SET delta_link = excluded.delta_link, \
                 run_id = excluded.run_id, updated_at = excluded.updated_at",
            )
            .bind(policy.to_string())
            .bind(user_id)
            .bind(delta_link)
            .bind(run.to_string())
            .bind(at)
            .execute(pool)
            .await
            .map_err(StoreError::db("save the delta link"))?;
        });
        Ok(())
    }
}

fn scope_json(scope: &BackupScope) -> StoreResult<String> {
    serde_json::to_string(scope).map_err(|source| StoreError::Encode {
        what: "the backup scope",
        source,
    })
}

fn decode_policy(row: &impl Columns) -> StoreResult<BackupPolicy> {
    let row = &in_table("backup_policies", row);
    let scope_raw = row.text("scope")?;
    Ok(BackupPolicy {
        id: row.parsed("id")?,
        organization_id: row.parsed("organization_id")?,
        name: row.text("name")?,
        schedule: row.text("schedule")?,
        scope: serde_json::from_str(&scope_raw).map_err(|_| row.corrupt("scope", &scope_raw))?,
        enabled: row.flag("enabled")?,
        next_due_at: row.opt_time("next_due_at")?,
        created_at: row.time("created_at")?,
        updated_at: row.time("updated_at")?,
    })
}

fn decode_run(row: &impl Columns) -> StoreResult<BackupRun> {
    let row = &in_table("backup_runs", row);
    Ok(BackupRun {
        id: row.parsed("id")?,
        policy_id: row.parsed("policy_id")?,
        organization_id: row.parsed("organization_id")?,
        trigger: row.parsed("trigger_kind")?,
        status: row.parsed("status")?,
        started_at: row.time("started_at")?,
        finished_at: row.opt_time("finished_at")?,
        users: row.int("users")?,
        items_new: row.int("items_new")?,
        items_changed: row.int("items_changed")?,
        error_text: row.opt_text("error_text")?,
    })
}

fn decode_item(row: &impl Columns) -> StoreResult<MailboxItem> {
    let row = &in_table("mailbox_items", row);
    Ok(MailboxItem {
        organization_id: row.parsed("organization_id")?,
        user_id: row.text("user_id")?,
        message_id: row.text("message_id")?,
        subject: row.text("subject")?,
        sender: row.text("sender")?,
        received_at: row.time("received_at")?,
        size: row.int("size")?,
        content_hash: row.blob("content_hash")?,
    })
}
