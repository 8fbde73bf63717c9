//! The fleet snapshot reads the whole fleet in one statement whatever the number of
//! organizations, counted from sqlx's own statement log (the `sqlx::query` tracing events,
//! one per statement executed). Its own test binary: the counting subscriber is process-wide,
//! and no other test may run statements meanwhile.

mod harness;

use std::sync::Mutex;

use harness::TestDb;
use harness::fixtures::{self, T0};
use tenantlink_service::fleet::{FleetCache, FleetRepository};
use tenantlink_store::{BackendKind, MasterKey, StoreRepository};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// The statements sqlx logged (its `summary` field: the statement's first words).
static STATEMENTS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Records sqlx's statement events; ignores everything else.
struct CountStatements;

struct Summary(Option<String>);

impl tracing::field::Visit for Summary {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "summary" {
            self.0 = Some(format!("{value:?}"));
        }
    }
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "summary" {
            self.0 = Some(value.to_owned());
        }
    }
}

fn statements() -> Vec<String> {
    STATEMENTS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

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
            let mut summary = Summary(None);
            event.record(&mut summary);
            let summary = summary.0.unwrap_or_else(|| "?".into());
            // A connection the pool opens meanwhile configures itself (SQLite: PRAGMAs); that
            // is the pool's, not the snapshot's.
            if !summary.to_ascii_uppercase().contains("PRAGMA") {
                STATEMENTS
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(summary);
            }
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

/// The statements of one kept-snapshot request.
async fn statements_of_one_kept_snapshot(cache: &FleetCache) -> Vec<String> {
    let before = statements().len();
    cache.snapshot().await.expect("read the fleet");
    statements()[before..].to_vec()
}

async fn statements_of_one_snapshot(repo: &StoreRepository) -> (Vec<String>, usize) {
    let before = statements().len();
    let fleet = repo.fleet_snapshot().await.expect("read the fleet");
    (statements()[before..].to_vec(), fleet.len())
}

async fn the_count_does_not_grow_with_organizations(kind: BackendKind) {
    let db = TestDb::new(kind).await;
    let key = std::sync::Arc::new(MasterKey::generate().expect("generate a master key"));
    let repo = std::sync::Arc::new(StoreRepository::new(db.store.clone(), key));
    let cache = FleetCache::new(repo.clone());
    let mut counts = Vec::new();
    let mut kept = Vec::new();
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
        // The kept snapshot: the revisions and the records that moved (the new ones), then
        // the revisions alone while nothing changes.
        let changed = statements_of_one_kept_snapshot(&cache).await;
        let unchanged = statements_of_one_kept_snapshot(&cache).await;
        assert_eq!(
            (changed.len(), unchanged.len()),
            (2, 1),
            "{changed:#?} {unchanged:#?}"
        );
        kept.push((changed, unchanged));
    }
    eprintln!("{kind:?}: statements per kept snapshot at 1, 5, 40 organizations: {kept:#?}");
    eprintln!("{kind:?}: statements per snapshot at 1, 5, 40 organizations: {counts:#?}");
    assert!(
        !counts[0].is_empty(),
        "the log counts statements at all: {counts:?}"
    );
    for statements in &counts {
        let selects = statements
            .iter()
            .filter(|s| s.starts_with("SELECT"))
            .count();
        assert_eq!(selects, 1, "one joined query: {statements:#?}");
        assert_eq!(statements.len(), 1, "and nothing else: {statements:#?}");
    }
    assert!(
        counts.iter().all(|c| c.len() == counts[0].len()),
        "constant whatever the number of organizations: {counts:#?}"
    );
    db.store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fleet_snapshot_statements_do_not_grow_with_organizations() {
    tracing::subscriber::set_global_default(CountStatements).expect("the only subscriber");
    the_count_does_not_grow_with_organizations(BackendKind::Sqlite).await;
    the_count_does_not_grow_with_organizations(BackendKind::Postgres).await;
}
