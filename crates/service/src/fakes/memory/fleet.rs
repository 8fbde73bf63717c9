//! [`FleetRepository`] of the in-memory repository. The fake keeps no backup policies or runs
//! (`BackupRepository` is the store's alone); what the fleet reads of them, each
//! organization's latest run, is kept here as the runs the tests add through
//! [`BackupRuns`](crate::fakes::fleet_contract::BackupRuns).

use super::{MemoryRepository, renewal_of};
use crate::backup::RunStatus;
use crate::fakes::fleet_contract::BackupRuns;
use crate::fakes::{lock, ready};
use crate::fleet::{FleetRecord, FleetRepository, FleetRevision, LastBackup};
use crate::model::OrganizationId;
use crate::ports::{BoxFuture, RepoResult};
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use time::OffsetDateTime;

impl FleetRepository for MemoryRepository {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        ready(self.records(|_| true))
    }

    /// The fake keeps no revision column: an organization's revision is a hash of its whole
    /// record, which changes exactly when the record does.
    fn fleet_revisions(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRevision>>> {
        let revisions = self.records(|_| true).map(|records| {
            records
                .iter()
                .map(|record| {
                    let mut hasher = DefaultHasher::new();
                    format!("{record:?}").hash(&mut hasher);
                    FleetRevision {
                        organization: record.organization.id,
                        revision: hasher.finish().cast_signed(),
                    }
                })
                .collect()
        });
        ready(revisions)
    }

    fn fleet_records<'a>(
        &'a self,
        organizations: &'a [OrganizationId],
    ) -> BoxFuture<'a, RepoResult<Vec<FleetRecord>>> {
        ready(self.records(|id| organizations.contains(&id)))
    }
}

impl MemoryRepository {
    /// The fleet records of the organizations `wanted`, by name then id.
    fn records(&self, wanted: impl Fn(OrganizationId) -> bool) -> RepoResult<Vec<FleetRecord>> {
        let state = lock(&self.state);
        let mut organizations: Vec<_> = state
            .organizations
            .iter()
            .filter(|organization| wanted(organization.id))
            .cloned()
            .collect();
        organizations.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        organizations
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
            .collect()
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
