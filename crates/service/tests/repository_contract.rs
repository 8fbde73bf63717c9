//! The `Repository` contract (`fakes::contract`) on the in-memory fake the workflow tests use.
//! The store's tests run the same cases on SQLite and PostgreSQL.

use tenantlink_service::fakes::MemoryRepository;
use tenantlink_service::fakes::contract::CASES;

#[tokio::test]
async fn the_memory_repository_keeps_the_repository_contract() {
    for (name, case) in CASES {
        let repository = MemoryRepository::new();
        eprintln!("contract case: {name}");
        case(&repository).await;
    }
}

#[tokio::test]
async fn the_memory_repository_keeps_the_account_contract() {
    for (name, case) in tenantlink_service::fakes::account_contract::ACCOUNT_CASES {
        let repository = MemoryRepository::new();
        eprintln!("account contract case: {name}");
        case(&repository).await;
    }
}

#[tokio::test]
async fn the_memory_repository_keeps_the_renewal_contract() {
    for (name, case) in tenantlink_service::fakes::renewal_contract::RENEWAL_CASES {
        let repository = MemoryRepository::new();
        eprintln!("renewal contract case: {name}");
        case(&repository).await;
    }
}

#[tokio::test]
async fn the_memory_repository_keeps_the_sign_in_records_contract() {
    for (name, case) in tenantlink_service::fakes::sign_in_contract::SIGN_IN_CASES {
        let repository = MemoryRepository::new();
        eprintln!("sign-in contract case: {name}");
        case(&repository).await;
    }
}

#[tokio::test]
async fn the_memory_repository_keeps_the_notices_contract() {
    for (name, case) in tenantlink_service::fakes::notices_contract::NOTICE_CASES {
        let repository = MemoryRepository::new();
        eprintln!("notices contract case: {name}");
        case(&repository).await;
    }
}

#[tokio::test]
async fn the_memory_repository_keeps_the_fleet_contract() {
    for (name, case) in tenantlink_service::fakes::fleet_contract::FLEET_CASES {
        let repository = MemoryRepository::new();
        eprintln!("fleet contract case: {name}");
        case(&repository, &repository).await;
    }
}
