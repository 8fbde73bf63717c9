//! [`FleetRepository`] of the in-memory repository. The fake keeps no backup policies or runs
//! (`BackupRepository` is the store's alone); what the fleet reads of them, each
//! organization's latest run, is kept here as the runs the tests add through
//! [`BackupRuns`](crate::fakes::fleet_contract::BackupRuns).

use super::{MemoryRepository, renewal_of};
use crate::backup::RunStatus;
use crate::fakes::fleet_contract::BackupRuns;
use crate::fakes::{lock, ready};
use crate::fleet::{FleetRecord, FleetRepository, LastBackup};
use crate::model::OrganizationId;
use crate::ports::{BoxFuture, RepoResult};
use time::OffsetDateTime;

impl FleetRepository for MemoryRepository {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        let state = lock(&self.state);
        let mut organizations = state.organizations.clone();
        organizations.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        let records = organizations
            .into_iter()
            .map(|organization| {
                let active = organization.active_certificate.and_then(|id| {
                    state
                        .certificates
                        .iter()
                        .find(|(c, _)| c.id == id)
                        .map(|(c, _)| c.clone())
                });
                // Latest by start; of runs started at the same instant, the one added last.
                let last_backup = state
                    .backup_runs
                    .iter()
                    .enumerate()
                    .filter(|(_, (org, _))| *org == organization.id)
                    .max_by_key(|(i, (_, run))| (run.started_at, *i))
                    .map(|(_, (_, run))| run.clone());
                Ok(FleetRecord {
                    renewal: renewal_of(&state, organization.id)?,
                    organization,
                    active,
                    last_backup,
                })
            })
            .collect();
        ready(records)
    }
}

impl BackupRuns for MemoryRepository {
    fn add_backup_run(
        &self,
        organization: OrganizationId,
        status: RunStatus,
        started_at: OffsetDateTime,
        finished_at: Option<OffsetDateTime>,
    ) -> BoxFuture<'_, ()> {
        lock(&self.state).backup_runs.push((
            organization,
            LastBackup {
                status,
                started_at,
                finished_at,
            },
        ));
        ready(())
    }
}
