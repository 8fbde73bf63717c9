//! [`FleetCache`] over a fake repository that records which reads it was asked for, and the
//! fleet view served from it.

use super::cache::LARGEST_PARTIAL_READ;
use super::tests::{NOW, healthy};
use super::*;
use crate::accounts::{Caller, CallerVia};
use crate::model::Role;
use crate::ports::{BoxFuture, RepoResult};
use std::sync::{Arc, Mutex};
use tenantlink_clock::ManualClock;
use time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Read {
    Revisions,
    Records(Vec<OrganizationId>),
    Snapshot,
}

/// A stored fleet with a revision per organization, and the reads made of it.
#[derive(Debug, Default)]
struct Stored {
    records: Mutex<Vec<(FleetRecord, i64)>>,
    reads: Mutex<Vec<Read>>,
    /// Renamed (and revised) right after the next revisions read: a write that lands between
    /// the cache's two reads.
    write_after_revisions: Mutex<Option<OrganizationId>>,
    fail_records: Mutex<bool>,
}

impl Stored {
    fn with(names: &[&str]) -> Arc<Self> {
        let stored = Arc::new(Self::default());
        for name in names {
            stored.add(healthy(name));
        }
        stored
    }

    fn add(&self, record: FleetRecord) -> OrganizationId {
        let id = record.organization.id;
        self.records.lock().unwrap().push((record, 1));
        id
    }

    fn id(&self, name: &str) -> OrganizationId {
        let records = self.records.lock().unwrap();
        let (record, _) = records
            .iter()
            .find(|(r, _)| r.organization.name == name)
            .expect("stored");
        record.organization.id
    }

    /// A write: the record changes and so does its revision.
    fn rename(&self, id: OrganizationId, name: &str) {
        let mut records = self.records.lock().unwrap();
        let (record, revision) = records
            .iter_mut()
            .find(|(r, _)| r.organization.id == id)
            .expect("stored");
        record.organization.name = name.to_owned();
        *revision += 1;
    }

    fn delete(&self, id: OrganizationId) {
        self.records
            .lock()
            .unwrap()
            .retain(|(r, _)| r.organization.id != id);
    }

    /// The reads since the last call.
    fn reads(&self) -> Vec<Read> {
        std::mem::take(&mut *self.reads.lock().unwrap())
    }

    fn sorted(&self, keep: impl Fn(&FleetRecord) -> bool) -> Vec<FleetRecord> {
        let mut records: Vec<FleetRecord> = self
            .records
            .lock()
            .unwrap()
            .iter()
            .map(|(r, _)| r.clone())
            .filter(keep)
            .collect();
        records.sort_by(|a, b| {
            (&a.organization.name, a.organization.id)
                .cmp(&(&b.organization.name, b.organization.id))
        });
        records
    }
}

impl FleetRepository for Stored {
    fn fleet_snapshot(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRecord>>> {
        self.reads.lock().unwrap().push(Read::Snapshot);
        let records = self.sorted(|_| true);
        Box::pin(async move { Ok(records) })
    }

    fn fleet_revisions(&self) -> BoxFuture<'_, RepoResult<Vec<FleetRevision>>> {
        self.reads.lock().unwrap().push(Read::Revisions);
        let revisions = self
            .records
            .lock()
            .unwrap()
            .iter()
            .map(|(r, revision)| FleetRevision {
                organization: r.organization.id,
                revision: *revision,
            })
            .collect();
        if let Some(id) = self.write_after_revisions.lock().unwrap().take() {
            self.rename(id, "Renamed in between");
        }
        Box::pin(async move { Ok(revisions) })
    }

    fn fleet_records<'a>(
        &'a self,
        organizations: &'a [OrganizationId],
    ) -> BoxFuture<'a, RepoResult<Vec<FleetRecord>>> {
        let mut wanted = organizations.to_vec();
        wanted.sort();
        self.reads.lock().unwrap().push(Read::Records(wanted));
        let result = if *self.fail_records.lock().unwrap() {
            Err(crate::ports::RepositoryError::storage(
                "read the fleet",
                "the database is gone",
            ))
        } else {
            Ok(self.sorted(|r| organizations.contains(&r.organization.id)))
        };
        Box::pin(async move { result })
    }
}

fn names(snapshot: &FleetSnapshot) -> Vec<&str> {
    snapshot
        .iter()
        .map(|r| r.organization.name.as_str())
        .collect()
}

fn ids(stored: &Stored, names: &[&str]) -> Vec<OrganizationId> {
    let mut ids: Vec<OrganizationId> = names.iter().map(|name| stored.id(name)).collect();
    ids.sort();
    ids
}

#[tokio::test]
async fn nothing_changed_is_one_cheap_read_and_the_same_snapshot() {
    let stored = Stored::with(&["Zeta", "Alpha", "Mu"]);
    let cache = FleetCache::new(stored.clone());
    let first = cache.snapshot().await.unwrap();
    assert_eq!(names(&first), ["Alpha", "Mu", "Zeta"]);
    assert_eq!(
        stored.reads(),
        [
            Read::Revisions,
            Read::Records(ids(&stored, &["Alpha", "Mu", "Zeta"]))
        ]
    );
    let second = cache.snapshot().await.unwrap();
    assert!(
        Arc::ptr_eq(&first, &second),
        "the kept snapshot, not a copy"
    );
    assert_eq!(stored.reads(), [Read::Revisions]);
}

#[tokio::test]
async fn only_the_organizations_whose_revision_moved_are_read_again() {
    let stored = Stored::with(&["Alpha", "Mu", "Zeta"]);
    let cache = FleetCache::new(stored.clone());
    cache.snapshot().await.unwrap();
    stored.reads();
    let mu = stored.id("Mu");
    stored.rename(mu, "Omega");
    let snapshot = cache.snapshot().await.unwrap();
    assert_eq!(
        names(&snapshot),
        ["Alpha", "Omega", "Zeta"],
        "in order again"
    );
    assert_eq!(stored.reads(), [Read::Revisions, Read::Records(vec![mu])]);
    // Every record equals what a full read gives.
    let full: Vec<FleetRecord> = stored.sorted(|_| true);
    let kept: Vec<FleetRecord> = snapshot.iter().map(|r| (**r).clone()).collect();
    assert_eq!(format!("{kept:?}"), format!("{full:?}"));
}

#[tokio::test]
async fn added_and_deleted_organizations_come_and_go() {
    let stored = Stored::with(&["Alpha", "Mu"]);
    let cache = FleetCache::new(stored.clone());
    cache.snapshot().await.unwrap();
    stored.reads();
    stored.delete(stored.id("Alpha"));
    assert_eq!(names(&cache.snapshot().await.unwrap()), ["Mu"]);
    assert_eq!(
        stored.reads(),
        [Read::Revisions],
        "a deletion needs no record read"
    );
    let beta = stored.add(healthy("Beta"));
    assert_eq!(names(&cache.snapshot().await.unwrap()), ["Beta", "Mu"]);
    assert_eq!(stored.reads(), [Read::Revisions, Read::Records(vec![beta])]);
}

#[tokio::test]
async fn a_write_between_the_two_reads_is_read_again_next_time() {
    let stored = Stored::with(&["Alpha", "Mu"]);
    let cache = FleetCache::new(stored.clone());
    let mu = stored.id("Mu");
    *stored.write_after_revisions.lock().unwrap() = Some(mu);
    // The records read sees the write; the revision read before it did not.
    let first = cache.snapshot().await.unwrap();
    assert_eq!(names(&first), ["Alpha", "Renamed in between"]);
    stored.reads();
    cache.snapshot().await.unwrap();
    assert_eq!(
        stored.reads(),
        [Read::Revisions, Read::Records(vec![mu])],
        "tagged with the older revision, so not trusted"
    );
    cache.snapshot().await.unwrap();
    assert_eq!(stored.reads(), [Read::Revisions]);
}

#[tokio::test]
async fn many_changes_are_one_read_of_the_whole_fleet() {
    let names: Vec<String> = (0..=LARGEST_PARTIAL_READ)
        .map(|i| format!("Org {i:04}"))
        .collect();
    let stored = Stored::with(&names.iter().map(String::as_str).collect::<Vec<_>>());
    let cache = FleetCache::new(stored.clone());
    let snapshot = cache.snapshot().await.unwrap();
    assert_eq!(snapshot.len(), LARGEST_PARTIAL_READ + 1);
    assert_eq!(stored.reads(), [Read::Revisions, Read::Snapshot]);
}

#[tokio::test]
async fn a_failed_read_is_an_error_and_the_next_request_reads_again() {
    let stored = Stored::with(&["Alpha"]);
    let cache = FleetCache::new(stored.clone());
    cache.snapshot().await.unwrap();
    let alpha = stored.id("Alpha");
    stored.rename(alpha, "Beta");
    *stored.fail_records.lock().unwrap() = true;
    assert!(cache.snapshot().await.is_err());
    *stored.fail_records.lock().unwrap() = false;
    stored.reads();
    assert_eq!(names(&cache.snapshot().await.unwrap()), ["Beta"]);
    assert_eq!(
        stored.reads(),
        [Read::Revisions, Read::Records(vec![alpha])]
    );
}

fn viewer() -> Caller {
    Caller {
        name: "vera".into(),
        role: Role::Viewer,
        via: CallerVia::ApiToken,
        csrf_token: None,
        account: None,
    }
}

#[tokio::test]
async fn the_fleet_view_classifies_the_kept_snapshot_at_the_clocks_now() {
    let stored = Stored::with(&["A"]);
    let clock = Arc::new(ManualClock::at(NOW));
    let fleet = Fleet::new(FleetCache::new(stored.clone()), clock.clone(), 30);
    let page = fleet.page(&viewer(), &FleetQuery::default()).await.unwrap();
    assert_eq!(page.rows[0].state, FleetState::Healthy);
    stored.reads();
    // Nothing stored changed, but time did: the same records are judged at the new now.
    clock.advance(Duration::days(340));
    let page = fleet.page(&viewer(), &FleetQuery::default()).await.unwrap();
    assert_eq!(page.counts.get(FleetState::Expiring), 1);
    assert_eq!(stored.reads(), [Read::Revisions]);
    assert_eq!(fleet.rows(&viewer()).await.unwrap().len(), 1);
}
