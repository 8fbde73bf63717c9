//! The fleet snapshot (the service's `FleetRepository`): every organization with its active
//! certificate (and latest proof, kept on the certificate's row), its renewal record and its
//! latest backup run, in one statement whatever the number of organizations. One statement is
//! one moment of the database on both backends, with no transaction to open; and one row per
//! organization is what makes 10,000 of them cheap: the drivers' cost is mostly per row.
//!
//! Beside it, each organization's fleet revision (a counter kept by triggers; migration 0015),
//! so that the service's `FleetCache` reads again only the records that moved.
//!
//! The joined tables share column names (`id`, `organization_id`, `state`, `created_at`), so
//! each table's columns but the organization's are selected under a prefix and read back through
//! [`prefixed`] by the table's own decoder.

use std::sync::LazyLock;

use tenantlink_service::fleet::{FleetRecord, FleetRepository, FleetRevision, LastBackup};
use tenantlink_service::{BoxFuture, OrganizationId, RepoResult};

use crate::db::{Columns, aliased, in_table, prefixed, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::repository::{InPort, StoreRepository};
use crate::{Store, certificates, organizations, renewal};

const CERTIFICATE: &str = "c_";
const RENEWAL: &str = "r_";
const LAST_RUN: &str = "b_";

/// The organizations by name then id, each with at most one active certificate (a unique
/// index), one renewal record (its primary key) and its latest run by start (of two started
/// at the same instant, the greater id) — found through `backup_runs_by_organization`, so the
/// cost follows the organizations, not the length of the run history.
static SNAPSHOT: LazyLock<String> = LazyLock::new(|| snapshot_where(""));

/// The snapshot statement, restricted by `filter` (a `WHERE` clause, or nothing).
fn snapshot_where(filter: &str) -> String {
    format!(
        "SELECT o.*, c.id AS active_certificate, {certificate}, {renewal}, \
         b.status AS {LAST_RUN}status, b.started_at AS {LAST_RUN}started_at, \
         b.finished_at AS {LAST_RUN}finished_at \
         FROM organizations o \
         LEFT JOIN certificates c ON c.organization_id = o.id AND c.state = 'active' \
         LEFT JOIN organization_renewal r ON r.organization_id = o.id \
         LEFT JOIN backup_runs b ON b.id = (SELECT latest.id FROM backup_runs latest \
             WHERE latest.organization_id = o.id \
             ORDER BY latest.started_at DESC, latest.id DESC LIMIT 1) \
         {filter} ORDER BY o.name, o.id",
        certificate = aliased("c", CERTIFICATE, certificates::COLUMNS),
        renewal = aliased("r", RENEWAL, renewal::COLUMNS),
    )
}

/// The counter the triggers of migration 0015 keep: a row for every organization (written with
/// it, or by the migration), gone with it (the foreign key cascades), so no join.
const REVISIONS: &str = "SELECT organization_id AS id, revision FROM fleet_revisions";

fn decode(row: &impl Columns) -> StoreResult<FleetRecord> {
    let organization = organizations::decode(row)?;
    let active = match organization.active_certificate {
        Some(_) => Some(certificates::decode(&prefixed(CERTIFICATE, row))?),
        None => None,
    };
    Ok(FleetRecord {
        active,
        renewal: renewal::decode(&prefixed(RENEWAL, row))?,
        last_backup: decode_last_run(&in_table("backup_runs", &prefixed(LAST_RUN, row)))?,
        organization,
    })
}

/// `None` when the organization never ran a backup (the left join found no run).
fn decode_last_run(row: &impl Columns) -> StoreResult<Option<LastBackup>> {
    let Some(status) = row.opt_parsed("status")? else {
        return Ok(None);
    };
    Ok(Some(LastBackup {
        status,
        started_at: row.time("started_at")?,
        finished_at: row.opt_time("finished_at")?,
    }))
}

impl Store {
    /// Every organization, by name then id, with what the fleet view needs: one statement.
    pub async fn fleet_snapshot(&self) -> StoreResult<Vec<FleetRecord>> {
        self.read_fleet(&SNAPSHOT, &[]).await
    }

    /// The records of `organizations` that exist, by name then id: one statement.
    pub async fn fleet_records(
        &self,
        organizations: &[OrganizationId],
    ) -> StoreResult<Vec<FleetRecord>> {
        if organizations.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> =
            (1..=organizations.len()).map(|n| format!("${n}")).collect();
        let sql = snapshot_where(&format!("WHERE o.id IN ({})", placeholders.join(", ")));
        self.read_fleet(&sql, organizations).await
    }

    /// Runs the snapshot statement `sql` with `organizations` bound to its placeholders.
    async fn read_fleet(
        &self,
        sql: &str,
        organizations: &[OrganizationId],
    ) -> StoreResult<Vec<FleetRecord>> {
        with_pool!(self, |pool| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in organizations {
                query = query.bind(id.to_string());
            }
            // A list of ids is a statement of its own length: not worth a slot in the
            // statement cache. The whole-fleet statement is.
            query
                .persistent(organizations.is_empty())
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("read the fleet"))?
                .iter()
                .map(decode)
                .collect()
        })
    }

    /// Every organization's fleet revision: one statement of two columns.
    pub async fn fleet_revisions(&self) -> StoreResult<Vec<FleetRevision>> {
        with_pool!(self, |pool| {
            sqlx::query(REVISIONS)
                .fetch_all(pool)
                .await
                .map_err(StoreError::db("read the fleet revisions"))?
                .iter()
                .map(|row| {
                    let row = in_table("organizations", row);
                    Ok(FleetRevision {
                        organization: row.parsed("id")?,
                        revision: row.int("revision")?,
                    })
                })
                .collect()
        })
    }
}

impl FleetRepository for StoreRepository {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        Box::pin(async move { self.store().fleet_snapshot().await.port("read the fleet") })
    }

    fn fleet_revisions(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRevision>>> {
        Box::pin(async move {
            self.store()
                .fleet_revisions()
                .await
                .port("read the fleet revisions")
        })
    }

    fn fleet_records<'a>(
        &'a self,
        organizations: &'a [OrganizationId],
    ) -> BoxFuture<'a, RepoResult<Vec<FleetRecord>>> {
        Box::pin(async move {
            self.store()
                .fleet_records(organizations)
                .await
                .port("read the fleet")
        })
    }
}
