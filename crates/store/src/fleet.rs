//! The fleet snapshot (the service's `FleetRepository`): every organization with its active
//! certificate (and latest proof, kept on the certificate's row), its renewal record and its
//! latest backup run, in four queries whatever the number of organizations — one per table,
//! joined here by organization id. The four run in one read transaction, so they see one
//! moment of the database (SQLite: one snapshot; PostgreSQL: REPEATABLE READ).

use std::collections::HashMap;

use tenantlink_service::fleet::{FleetRecord, FleetRepository, LastBackup};
use tenantlink_service::renewal::RenewalRecord;
use tenantlink_service::{BoxFuture, OrganizationId, RepoResult, StoredCertificate};

use crate::db::{BackendKind, Columns, in_table, with_pool};
use crate::error::{StoreError, StoreResult};
use crate::repository::{InPort, StoreRepository};
use crate::{Store, certificates, organizations, renewal};

/// Each organization's latest run by start (of two started at the same instant, the greater id).
const LATEST_RUNS: &str = "SELECT organization_id, status, started_at, finished_at FROM \
     (SELECT organization_id, status, started_at, finished_at, ROW_NUMBER() OVER \
      (PARTITION BY organization_id ORDER BY started_at DESC, id DESC) AS recency \
      FROM backup_runs) runs WHERE recency = 1";

fn decode_run(row: &impl Columns) -> StoreResult<(OrganizationId, LastBackup)> {
    let row = &in_table("backup_runs", row);
    Ok((
        row.parsed("organization_id")?,
        LastBackup {
            status: row.parsed("status")?,
            started_at: row.time("started_at")?,
            finished_at: row.opt_time("finished_at")?,
        },
    ))
}

impl Store {
    /// Every organization, by name then id, with what the fleet view needs: four queries.
    pub async fn fleet_snapshot(&self) -> StoreResult<Vec<FleetRecord>> {
        let organizations_sql = format!("{} ORDER BY o.name, o.id", organizations::SELECT);
        let certificates_sql = format!(
            "SELECT {} FROM certificates WHERE state = 'active'",
            certificates::COLUMNS
        );
        let isolation = match self.backend_kind() {
            BackendKind::Postgres => {
                Some("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            }
            BackendKind::Sqlite => None,
        };
        let (organizations, active, renewals, runs) = with_pool!(self, |pool| {
            let mut tx = pool
                .begin()
                .await
                .map_err(StoreError::db("begin a read transaction"))?;
            if let Some(isolation) = isolation {
                sqlx::query(isolation)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::db("make the fleet read one snapshot"))?;
            }
            let organizations = sqlx::query(sqlx::AssertSqlSafe(organizations_sql))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("list organizations"))?
                .iter()
                .map(organizations::decode)
                .collect::<StoreResult<Vec<_>>>()?;
            let active = sqlx::query(sqlx::AssertSqlSafe(certificates_sql))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("list the active certificates"))?
                .iter()
                .map(certificates::decode)
                .collect::<StoreResult<Vec<StoredCertificate>>>()?;
            let renewals = sqlx::query("SELECT * FROM organization_renewal")
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("list the renewal records"))?
                .iter()
                .map(|row| {
                    let id = in_table("organization_renewal", row).parsed("organization_id")?;
                    Ok((id, renewal::decode(row)?))
                })
                .collect::<StoreResult<HashMap<OrganizationId, RenewalRecord>>>()?;
            let runs = sqlx::query(LATEST_RUNS)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::db("read the latest backup runs"))?
                .iter()
                .map(decode_run)
                .collect::<StoreResult<HashMap<_, _>>>()?;
            tx.commit()
                .await
                .map_err(StoreError::db("end the read transaction"))?;
            (organizations, active, renewals, runs)
        });
        let mut active: HashMap<_, _> = active.into_iter().map(|c| (c.id, c)).collect();
        let mut renewals = renewals;
        let mut runs = runs;
        Ok(organizations
            .into_iter()
            .map(|organization| FleetRecord {
                active: organization
                    .active_certificate
                    .and_then(|id| active.remove(&id)),
                renewal: renewals.remove(&organization.id).unwrap_or_default(),
                last_backup: runs.remove(&organization.id),
                organization,
            })
            .collect())
    }
}

impl FleetRepository for StoreRepository {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        Box::pin(async move { self.store().fleet_snapshot().await.port("read the fleet") })
    }
}
