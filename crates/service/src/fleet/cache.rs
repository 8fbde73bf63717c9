//! The fleet snapshot kept between requests. Reading every organization's record costs tens of
//! columns per organization (hundreds of milliseconds at 10,000 on SQLite); reading every
//! organization's [`FleetRevision`] costs two. So each request reads the revisions, and reads
//! again only the records whose revision moved — after a backup run, a proof, a rotation step,
//! one or a few organizations — or all of them at once when many moved. What is kept is the
//! stored data only: the risk, which depends on the time, is still decided at each request's
//! `now` (`super::risk`).
//!
//! Several instances on one database each keep their own copy; the revisions live in the
//! database, so each sees the others' writes at its next request.

use super::{FleetRecord, FleetRepository, FleetRevision};
use crate::model::OrganizationId;
use crate::ports::RepoResult;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::Mutex;

/// Every organization's record, by name then id. Cheap to clone and to hand to a scrape.
pub type FleetSnapshot = Arc<[Arc<FleetRecord>]>;

/// Beyond this many changed organizations, one read of the whole fleet is cheaper than a list
/// of ids (and keeps each statement's parameters well under SQLite's limit).
pub(super) const LARGEST_PARTIAL_READ: usize = 500;

/// Cheap to clone: clones share one copy.
#[derive(Debug, Clone)]
pub struct FleetCache {
    repository: Arc<dyn FleetRepository>,
    kept: Arc<Mutex<Kept>>,
}

#[derive(Debug, Default)]
struct Kept {
    /// Each organization's record with the revision it was read at: the revision read *before*
    /// the record, so a write in between shows as a change at the next request. `None` for an
    /// organization a full read found that the revisions did not list yet (added in between):
    /// read again next time.
    records: HashMap<OrganizationId, (Option<i64>, Arc<FleetRecord>)>,
    /// `records` in snapshot order; `None` until built, or after a read failed half-way.
    snapshot: Option<FleetSnapshot>,
}

impl FleetCache {
    pub fn new(repository: Arc<dyn FleetRepository>) -> Self {
        Self {
            repository,
            kept: Arc::new(Mutex::new(Kept::default())),
        }
    }

    /// The whole fleet as stored now: one query when nothing changed since the last call, two
    /// when something did — whatever the number of organizations.
    pub async fn snapshot(&self) -> RepoResult<FleetSnapshot> {
        // One refresh at a time: a caller that waited finds little or nothing left to read.
        let mut kept = self.kept.lock().await;
        let revisions = self.repository.fleet_revisions().await?;
        let current: HashMap<OrganizationId, i64> = revisions
            .iter()
            .map(
                |FleetRevision {
                     organization,
                     revision,
                 }| (*organization, *revision),
            )
            .collect();
        let stale: Vec<OrganizationId> = revisions
            .iter()
            .filter(|listed| {
                kept.records.get(&listed.organization).map(|(at, _)| *at)
                    != Some(Some(listed.revision))
            })
            .map(|listed| listed.organization)
            .collect();
        let deleted = kept.records.keys().any(|id| !current.contains_key(id));
        if stale.is_empty()
            && !deleted
            && let Some(snapshot) = &kept.snapshot
        {
            return Ok(snapshot.clone());
        }

        kept.snapshot = None;
        kept.records.retain(|id, _| current.contains_key(id));
        if !stale.is_empty() {
            let fresh = if stale.len() > LARGEST_PARTIAL_READ {
                self.repository.fleet_snapshot().await?
            } else {
                self.repository.fleet_records(&stale).await?
            };
            let read: HashSet<OrganizationId> =
                fresh.iter().map(|record| record.organization.id).collect();
            // Deleted between the two reads: gone from the second, so gone from the snapshot.
            for id in stale.iter().filter(|id| !read.contains(id)) {
                kept.records.remove(id);
            }
            for record in fresh {
                let id = record.organization.id;
                kept.records
                    .insert(id, (current.get(&id).copied(), Arc::new(record)));
            }
        }
        let mut ordered: Vec<Arc<FleetRecord>> = kept
            .records
            .values()
            .map(|(_, record)| record.clone())
            .collect();
        ordered.sort_by(|a, b| {
            (&a.organization.name, a.organization.id)
                .cmp(&(&b.organization.name, b.organization.id))
        });
        let snapshot: FleetSnapshot = ordered.into();
        kept.snapshot = Some(snapshot.clone());
        Ok(snapshot)
    }
}
