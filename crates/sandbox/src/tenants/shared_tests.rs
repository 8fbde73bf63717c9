//! The registry's durability and isolation: what `update` answered is what a restart loads, a
//! failed change leaves memory and disk alone, old state directories load, readers never see
//! half a change.

use super::SharedRegistry;
use crate::SandboxError;
use crate::bench_support::{Shape, fleet, key_credential};
use crate::tenants::seed::new_application;
use crate::tenants::store::TenantStore;
use crate::tenants::{Tenant, TenantRegistry};
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use uuid::Uuid;

const SHAPE: Shape = Shape {
    tenants: 3,
    applications: 2,
    keys: 1,
};

fn started(dir: &Path, registry: TenantRegistry) -> SharedRegistry {
    let mut store = TenantStore::in_state_dir(dir);
    let mut registry = registry;
    store.save(&mut registry).unwrap();
    SharedRegistry::new(registry, store)
}

fn reloaded(dir: &Path) -> TenantRegistry {
    TenantStore::in_state_dir(dir).load().unwrap().unwrap()
}

/// Tenants as JSON: what must match between memory and disk.
fn tenants(registry: &TenantRegistry) -> Value {
    serde_json::to_value(&registry.tenants).unwrap()
}

fn add_key(shared: &SharedRegistry, tenant: usize, app: usize) {
    shared
        .update(|d| {
            Arc::make_mut(&mut d.tenants[tenant])
                .application_mut(app)
                .key_credentials
                .push(key_credential());
            Ok::<_, SandboxError>(())
        })
        .unwrap();
}

fn files(dir: &Path) -> (Vec<u8>, Option<Vec<u8>>) {
    (
        std::fs::read(dir.join("directory.json")).unwrap(),
        std::fs::read(dir.join("directory.journal")).ok(),
    )
}

#[test]
fn every_kind_of_change_survives_a_restart_and_only_the_journal_grows() {
    let dir = tempfile::tempdir().unwrap();
    let shared = started(dir.path(), fleet(SHAPE));
    let snapshot = std::fs::read(dir.path().join("directory.json")).unwrap();
    add_key(&shared, 1, 0);
    shared
        .update(|d| {
            let tenant = Arc::make_mut(&mut d.tenants[2]);
            tenant
                .applications
                .insert(0, new_application("new", false, &[]).into());
            tenant.max_certificate_lifetime_days = Some(90);
            tenant.applications.pop(); // a removal too
            Ok::<_, SandboxError>(())
        })
        .unwrap();
    shared
        .update(|d| {
            let mut tenant = Tenant::clone(&d.tenants[0]);
            tenant.id = Uuid::new_v4();
            tenant.domain = "added.example".to_owned();
            d.tenants.insert(1, tenant.into());
            d.tenants.pop(); // and a tenant removed
            Ok::<_, SandboxError>(())
        })
        .unwrap();
    let current = shared.snapshot();
    assert_eq!(current.tenants.len(), 3);
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&current));
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        snapshot,
        "changes are journalled; the snapshot is rewritten only to compact"
    );
    // The lookups see the new tenant and application (the index was rebuilt).
    assert!(current.tenant("added.example").is_some());
    let new_app = current.tenants[1].applications[0].app_id;
    assert!(current.application(new_app, None).is_some());
}

#[test]
fn a_failing_edit_changes_nothing_in_memory_or_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let shared = started(dir.path(), fleet(SHAPE));
    add_key(&shared, 0, 0);
    let before = shared.snapshot();
    let on_disk = files(dir.path());
    let result = shared.update(|d| {
        Arc::make_mut(&mut d.tenants[0])
            .application_mut(0)
            .key_credentials
            .clear();
        Err::<(), _>(SandboxError::Tls("refused".to_owned()))
    });
    assert!(result.is_err());
    assert!(Arc::ptr_eq(&before, &shared.snapshot()), "memory unchanged");
    assert_eq!(before.tenants[0].applications[0].key_credentials.len(), 2);
    assert_eq!(files(dir.path()), on_disk, "disk unchanged");
}

#[test]
fn a_change_that_cannot_be_written_is_not_made() {
    let dir = tempfile::tempdir().unwrap();
    let shared = started(dir.path(), fleet(SHAPE));
    // A directory where the journal goes: the append fails.
    std::fs::create_dir(dir.path().join("directory.journal")).unwrap();
    let before = shared.snapshot();
    let result = shared.update(|d| {
        Arc::make_mut(&mut d.tenants[0])
            .application_mut(0)
            .key_credentials
            .clear();
        Ok::<_, SandboxError>(())
    });
    assert!(matches!(result, Err(SandboxError::Io { .. })), "{result:?}");
    assert!(Arc::ptr_eq(&before, &shared.snapshot()));
    std::fs::remove_dir(dir.path().join("directory.journal")).unwrap();
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&before));
    // Once the disk is writable again, changes go through.
    add_key(&shared, 0, 0);
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&shared.snapshot()));
}

#[test]
fn a_directory_json_from_before_the_journal_is_read_as_it_is_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let mut old = serde_json::to_value(fleet(SHAPE)).unwrap();
    old.as_object_mut().unwrap().remove("generation");
    let old_bytes = serde_json::to_vec_pretty(&old).unwrap();
    std::fs::write(dir.path().join("directory.json"), &old_bytes).unwrap();

    let mut store = TenantStore::in_state_dir(dir.path());
    let registry = store.load().unwrap().unwrap();
    assert_eq!(tenants(&registry), old["tenants"]);
    let shared = SharedRegistry::new(registry, store);
    add_key(&shared, 2, 1);
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&shared.snapshot()));
    assert_eq!(
        std::fs::read(dir.path().join("directory.json")).unwrap(),
        old_bytes,
        "the old file is the snapshot; nothing is converted"
    );
}

#[test]
fn a_torn_final_record_is_dropped_and_the_journal_goes_on_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let shared = started(dir.path(), fleet(SHAPE));
    add_key(&shared, 0, 1);
    let answered = tenants(&shared.snapshot());
    drop(shared);
    let journal = dir.path().join("directory.journal");
    let mut bytes = std::fs::read(&journal).unwrap();
    bytes.extend_from_slice(br#"{"seq":2,"tenants":[{"id":"#);
    std::fs::write(&journal, bytes).unwrap();

    let mut store = TenantStore::in_state_dir(dir.path());
    let registry = store.load().unwrap().unwrap();
    assert_eq!(tenants(&registry), answered);
    let shared = SharedRegistry::new(registry, store);
    add_key(&shared, 1, 1);
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&shared.snapshot()));
}

#[test]
fn compaction_folds_the_journal_into_the_snapshot_and_a_crash_midway_replays_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = TenantStore::in_state_dir(dir.path());
    store.compaction_floor = 0;
    let mut registry = fleet(SHAPE);
    store.save(&mut registry).unwrap();
    let shared = SharedRegistry::new(registry, store);
    let journal = dir.path().join("directory.journal");
    let mut n = 0;
    let before_compaction = loop {
        let journalled = std::fs::read(&journal).unwrap_or_default();
        add_key(&shared, n % 3, n % 2);
        n += 1;
        if shared.snapshot().generation > 0 {
            break journalled;
        }
        assert!(n < 100, "never compacted");
    };
    let current = shared.snapshot();
    assert_eq!(
        std::fs::read(&journal).unwrap(),
        b"",
        "the journal was emptied"
    );
    assert_eq!(
        current.generation,
        (n - 1) as u64,
        "the snapshot holds every record"
    );
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&current));
    // A crash after the snapshot's rename but before the journal was emptied: the records it
    // holds are still there, and must not be applied again.
    assert!(!before_compaction.is_empty());
    std::fs::write(&journal, &before_compaction).unwrap();
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&current));
    // And the next change goes on from there.
    let mut store = TenantStore::in_state_dir(dir.path());
    let registry = store.load().unwrap().unwrap();
    let shared = SharedRegistry::new(registry, store);
    add_key(&shared, 0, 0);
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&shared.snapshot()));
}

#[test]
fn readers_see_the_old_or_the_new_registry_never_half_a_change() {
    let dir = tempfile::tempdir().unwrap();
    let shared = Arc::new(started(dir.path(), fleet(SHAPE)));
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..3)
        .map(|_| {
            let (shared, done) = (Arc::clone(&shared), Arc::clone(&done));
            std::thread::spawn(move || {
                let mut seen = 0;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let r = shared.snapshot();
                    let a = r.tenants[0].applications[0].key_credentials.len();
                    let b = r.tenants[2].applications[1].key_credentials.len();
                    assert_eq!(a, b, "one change adds a key to both applications");
                    seen = seen.max(a);
                }
                seen
            })
        })
        .collect();
    for _ in 0..100 {
        shared
            .update(|d| {
                for (t, a) in [(0, 0), (2, 1)] {
                    Arc::make_mut(&mut d.tenants[t])
                        .application_mut(a)
                        .key_credentials
                        .push(key_credential());
                }
                Ok::<_, SandboxError>(())
            })
            .unwrap();
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for reader in readers {
        assert!(reader.join().unwrap() <= 101);
    }
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&shared.snapshot()));
}

#[test]
fn a_journal_left_without_its_snapshot_is_not_replayed_onto_a_new_registry() {
    let dir = tempfile::tempdir().unwrap();
    let shared = started(dir.path(), fleet(SHAPE));
    add_key(&shared, 0, 0);
    drop(shared);
    std::fs::remove_file(dir.path().join("directory.json")).unwrap();
    let mut store = TenantStore::in_state_dir(dir.path());
    assert!(store.load().unwrap().is_none());
    let mut fresh = fleet(SHAPE);
    store.save(&mut fresh).unwrap();
    assert_eq!(tenants(&reloaded(dir.path())), tenants(&fresh));
}
