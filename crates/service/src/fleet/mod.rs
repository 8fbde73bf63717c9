//! The fleet: every organization with what decides its risk, read in a constant number of
//! queries (not one per organization), for the fleet view, `/metrics` and the notice pass.
//! How risky each one is, and in which order they are shown, is decided here from the snapshot,
//! never in SQL.
//!
//! The snapshot is kept between requests by [`FleetCache`], which asks the repository for each
//! organization's [`FleetRevision`] (one cheap query) and reads again only the records whose
//! revision moved; the classification always runs at the request's `now`.

mod cache;
#[cfg(test)]
mod cache_tests;
mod query;
mod risk;
mod service;
#[cfg(test)]
mod tests;

pub use cache::{FleetCache, FleetSnapshot};
pub use query::{
    DEFAULT_PER_PAGE, FleetCounts, FleetPage, FleetQuery, MAX_PER_PAGE, MAX_SEARCH_BYTES,
    fleet_page,
};
pub use risk::{Assessment, FleetRow, FleetState, assess};
pub use service::Fleet;

use crate::backup::RunStatus;
use crate::model::{Organization, OrganizationId, StoredCertificate};
use crate::ports::{BoxFuture, RepoResult};
use crate::renewal::RenewalRecord;
use std::fmt::Debug;
use time::OffsetDateTime;

/// One organization as the fleet sees it.
#[derive(Debug, Clone)]
pub struct FleetRecord {
    pub organization: Organization,
    /// The active certificate with its latest app-only proof, if it has one.
    pub active: Option<StoredCertificate>,
    /// The renewal policy and state (the defaults when never set).
    pub renewal: RenewalRecord,
    /// The organization's latest backup run (over all its policies), if any.
    pub last_backup: Option<LastBackup>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastBackup {
    pub status: RunStatus,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
}

/// An organization and the revision of its [`FleetRecord`]: a value that changes whenever
/// anything the record is read from is written (the organization, its certificates, its renewal
/// record, its backup runs). Only equality means something: an unchanged revision is an
/// unchanged record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FleetRevision {
    pub organization: OrganizationId,
    pub revision: i64,
}

/// Reads the fleet: an implementation issues the same few queries whatever the number of
/// organizations (the store's: one statement per method).
pub trait FleetRepository: Send + Sync + Debug + 'static {
    /// Every organization, by name then id.
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>>;

    /// Every organization's revision, in no particular order: much cheaper to read than the
    /// records (two values per organization).
    fn fleet_revisions(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRevision>>>;

    /// The records of `organizations` (those that still exist), by name then id.
    fn fleet_records<'a>(
        &'a self,
        organizations: &'a [OrganizationId],
    ) -> BoxFuture<'a, RepoResult<Vec<FleetRecord>>>;
}
