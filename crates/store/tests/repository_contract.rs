//! The `Repository` contract (`tenantlink_service::fakes::contract`) on SQLite and PostgreSQL:
//! the same cases the in-memory fake passes, each on a fresh database.

mod harness;

use std::sync::Arc;

use harness::TestDb;
use tenantlink_service::fakes::contract::CASES;
use tenantlink_store::{BackendKind, MasterKey, StoreRepository};

async fn keeps_the_contract(kind: BackendKind) {
    let key = Arc::new(MasterKey::generate().expect("generate a master key"));
    for (name, case) in CASES {
        let db = TestDb::new(kind).await;
        let repository = StoreRepository::new(db.store.clone(), key.clone());
        eprintln!("contract case on {kind:?}: {name}");
        case(&repository).await;
        db.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_repository_contract() {
    keeps_the_contract(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_repository_contract() {
    keeps_the_contract(BackendKind::Postgres).await;
}

async fn keeps_the_account_contract(kind: BackendKind) {
    let key = Arc::new(MasterKey::generate().expect("generate a master key"));
    for (name, case) in tenantlink_service::fakes::account_contract::ACCOUNT_CASES {
        let db = TestDb::new(kind).await;
        let repository = StoreRepository::new(db.store.clone(), key.clone());
        eprintln!("account contract case on {kind:?}: {name}");
        case(&repository).await;
        db.store.close().await;
    }
}

async fn keeps_the_sign_in_contract(kind: BackendKind) {
    let key = Arc::new(MasterKey::generate().expect("generate a master key"));
    for (name, case) in tenantlink_service::fakes::sign_in_contract::SIGN_IN_CASES {
        let db = TestDb::new(kind).await;
        let repository = StoreRepository::new(db.store.clone(), key.clone());
        eprintln!("sign-in contract case on {kind:?}: {name}");
        case(&repository).await;
        db.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_account_contract() {
    keeps_the_account_contract(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_account_contract() {
    keeps_the_account_contract(BackendKind::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_sign_in_records_contract() {
    keeps_the_sign_in_contract(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_sign_in_records_contract() {
    keeps_the_sign_in_contract(BackendKind::Postgres).await;
}
