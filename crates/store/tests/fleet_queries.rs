//! The fleet snapshot reads the whole fleet in the same few queries whatever the number of
//! organizations, counted from sqlx's own statement log (the `sqlx::query` tracing events,
//! one per statement executed). Its own test binary: the counting subscriber is process-wide,
//! and no other test may run statements meanwhile.

mod harness;

use std::sync::atomic::{AtomicUsize, Ordering};

use harness::TestDb;
use harness::fixtures::{self, T0};
use tenantlink_service::fleet::FleetRepository;
use tenantlink_store::{BackendKind, MasterKey, StoreRepository};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

static STATEMENTS: AtomicUsize = AtomicUsize::new(0);

/// Counts sqlx's statement events; ignores everything else.
struct CountStatements;

impl Subscriber for CountStatements {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target() == "sqlx::query"
    }
    fn new_span(&self, _: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }
    fn record(&self, _: &Id, _: &Record<'_>) {}
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if event.metadata().target() == "sqlx::query" {
            STATEMENTS.fetch_add(1, Ordering::SeqCst);
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

async fn statements_of_one_snapshot(repo: &StoreRepository) -> (usize, usize) {
    let before = STATEMENTS.load(Ordering::SeqCst);
    let fleet = repo.fleet_snapshot().await.expect("read the fleet");
    (STATEMENTS.load(Ordering::SeqCst) - before, fleet.len())
}

async fn the_count_does_not_grow_with_organizations(kind: BackendKind) {
    let db = TestDb::new(kind).await;
    let key = std::sync::Arc::new(MasterKey::generate().expect("generate a master key"));
    let repo = StoreRepository::new(db.store.clone(), key);
    let mut counts = Vec::new();
    let mut added = 0;
    for size in [1, 5, 40] {
        while added < size {
            let org = fixtures::organization(&db.store, &format!("t{added}.example")).await;
            // Every table the snapshot reads has rows for it.
            let policy = fixtures::policy(&db.store, org.id, None).await;
            db.store
                .start_run(policy.id, tenantlink_service::RunTrigger::Manual, T0)
                .await
                .unwrap();
            db.store
                .set_renewal_state(org.id, &Default::default(), T0)
                .await
                .unwrap();
            added += 1;
        }
        let (statements, listed) = statements_of_one_snapshot(&repo).await;
        assert_eq!(listed, size);
        counts.push(statements);
    }
    eprintln!("{kind:?}: statements per snapshot at 1, 5, 40 organizations: {counts:?}");
    assert!(
        counts[0] >= 4,
        "the log counts statements at all: {counts:?}"
    );
    assert!(
        counts.iter().all(|c| *c == counts[0]),
        "constant whatever the number of organizations: {counts:?}"
    );
    db.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_snapshot_statements_do_not_grow_with_organizations() {
    tracing::subscriber::set_global_default(CountStatements).expect("the only subscriber");
    the_count_does_not_grow_with_organizations(BackendKind::Sqlite).await;
    the_count_does_not_grow_with_organizations(BackendKind::Postgres).await;
}
