//! The organization's renewal policy and state (migration 0011) on SQLite and PostgreSQL: the
//! renewal contract the in-memory fake keeps, and stored values the store does not know read as
//! corrupt, naming table and column.

mod harness;

use std::sync::Arc;

use harness::{RawParam, TestDb};
use tenantlink_service::fakes::renewal_contract::RENEWAL_CASES;
use tenantlink_service::renewal::{RenewalFailure, RenewalPolicy, RenewalState};
use tenantlink_store::{BackendKind, MasterKey, StoreError, StoreRepository};
use time::macros::datetime;

async fn keeps_the_renewal_contract(kind: BackendKind) {
    let key = Arc::new(MasterKey::generate().expect("generate a master key"));
    for (name, case) in RENEWAL_CASES {
        let db = TestDb::new(kind).await;
        let repository = StoreRepository::new(db.store.clone(), key.clone());
        eprintln!("renewal contract case on {kind:?}: {name}");
        case(&repository).await;
        db.store.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_keeps_the_renewal_contract() {
    keeps_the_renewal_contract(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_keeps_the_renewal_contract() {
    keeps_the_renewal_contract(BackendKind::Postgres).await;
}

backend_tests!(unknown_renewal_values_are_corrupt_naming_table_and_column);

async fn unknown_renewal_values_are_corrupt_naming_table_and_column(db: &TestDb) {
    let at = datetime!(2026-12-02 09:00 UTC);
    let org = db
        .store
        .create_organization(tenantlink_service::fakes::new_organization(), at)
        .await
        .unwrap();
    let failing = RenewalState {
        failed_attempts: 1,
        last_attempt_at: Some(at),
        last_failure: Some(RenewalFailure {
            at,
            code: "ServiceUnavailable".into(),
            message: "try later".into(),
            retryable: true,
        }),
        next_renewal_at: None,
        retry_not_before: None,
    };
    db.store
        .set_renewal_state(org.id, &failing, at)
        .await
        .unwrap();
    let id = org.id.to_string();

    let cases: [(&str, &str, &str, &str); 5] = [
        // (statement, value, column the error names, value it reports)
        (
            "UPDATE organization_renewal SET uploaded_certificates = $1 WHERE organization_id = $2",
            "replace",
            "uploaded_certificates",
            "replace",
        ),
        (
            "UPDATE organization_renewal SET renew_at_fraction = $1 WHERE organization_id = $2",
            "3/2",
            "renew_at_fraction",
            "3/2",
        ),
        (
            "UPDATE organization_renewal SET last_failure_code = NULL WHERE organization_id = $2 AND $1 = $1",
            "",
            "last_failure_code",
            "NULL beside a recorded failure",
        ),
        (
            "UPDATE organization_renewal SET failed_attempts = -1 WHERE organization_id = $2 AND $1 = $1",
            "",
            "failed_attempts",
            "-1",
        ),
        (
            "UPDATE organization_renewal SET lifetime_days = 0 WHERE organization_id = $2 AND $1 = $1",
            "",
            "lifetime_days",
            "must be between 1 and 3650 days, not 0",
        ),
    ];
    for (sql, value, column, reported) in cases {
        db.raw_execute(
            sql,
            &[RawParam::Text(value.into()), RawParam::Text(id.clone())],
        )
        .await
        .expect("write a bad value");
        match db.store.renewal(org.id).await {
            Err(StoreError::Corrupt {
                table,
                column: c,
                value: v,
            }) => assert_eq!(
                (table, c, v.as_str()),
                ("organization_renewal", column, reported)
            ),
            other => panic!("{column} = {value:?} read as {other:?}"),
        }
        // Put the row back for the next case.
        // (the state first: writing the policy reads the whole row back)
        db.store
            .set_renewal_state(org.id, &failing, at)
            .await
            .unwrap();
        db.store
            .set_renewal_policy(org.id, &RenewalPolicy::default(), at)
            .await
            .unwrap();
        assert!(db.store.renewal(org.id).await.is_ok());
    }
}
