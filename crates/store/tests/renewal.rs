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

backend_tests!(
    unknown_renewal_values_are_corrupt_naming_table_and_column,
    two_instances_claiming_at_once_get_one_claim,
    a_claim_needs_a_known_organization_and_outlives_writes_of_policy_and_state,
);

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

/// Two instances (two stores, two pools, each its own connection) claim the same organization
/// at the same moment under different holders: exactly one of them gets it, whether the claim
/// creates the organization's row, updates an existing one, or takes over an expired claim.
async fn two_instances_claiming_at_once_get_one_claim(db: &TestDb) {
    use tenantlink_service::Repository;
    let key = Arc::new(MasterKey::generate().expect("generate a master key"));
    let first = StoreRepository::new(db.store.clone(), key.clone());
    let other_store = tenantlink_store::Store::open(&db.url)
        .await
        .expect("open a second instance's store");
    let second = StoreRepository::new(other_store.clone(), key);
    let now = datetime!(2026-12-02 11:00 UTC);
    let until = now + time::Duration::minutes(10);

    for round in 0..20 {
        let org = db
            .store
            .create_organization(
                tenantlink_service::NewOrganization {
                    tenant: format!("tenant-{round}.example"),
                    ..tenantlink_service::fakes::new_organization()
                },
                now,
            )
            .await
            .unwrap();
        // Round by round: no row yet, a row written by the state, a claim a third holder let
        // expire.
        match round % 3 {
            0 => {}
            1 => db
                .store
                .set_renewal_state(org.id, &RenewalState::default(), now)
                .await
                .unwrap(),
            _ => assert!(
                db.store
                    .claim_renewal(org.id, "instance-c", now, now)
                    .await
                    .unwrap()
            ),
        }
        let later = now + time::Duration::seconds(1);
        let (a, b) = tokio::join!(
            first.claim_renewal(org.id, "instance-a", later, until),
            second.claim_renewal(org.id, "instance-b", later, until),
        );
        let (a, b) = (a.unwrap(), b.unwrap());
        assert!(a ^ b, "round {round}: exactly one claim, got a={a} b={b}");
        let (winner, loser) = if a {
            ("instance-a", "instance-b")
        } else {
            ("instance-b", "instance-a")
        };
        assert!(
            first
                .claim_renewal(org.id, winner, later, until)
                .await
                .unwrap()
        );
        assert!(
            !first
                .claim_renewal(org.id, loser, later, until)
                .await
                .unwrap()
        );
    }
    other_store.close().await;
}

async fn a_claim_needs_a_known_organization_and_outlives_writes_of_policy_and_state(db: &TestDb) {
    use tenantlink_service::{OrganizationId, Repository, RepositoryError};
    let repo = StoreRepository::new(
        db.store.clone(),
        Arc::new(MasterKey::generate().expect("generate a master key")),
    );
    let now = datetime!(2026-12-02 11:00 UTC);
    let until = now + time::Duration::minutes(10);
    let unknown = OrganizationId::new();
    assert!(matches!(
        repo.claim_renewal(unknown, "a", now, until).await,
        Err(RepositoryError::NotFound { .. })
    ));
    repo.release_renewal(unknown, "a").await.unwrap();

    let org = db
        .store
        .create_organization(tenantlink_service::fakes::new_organization(), now)
        .await
        .unwrap();
    assert!(repo.claim_renewal(org.id, "a", now, until).await.unwrap());
    // Writing the state or the policy keeps the claim.
    let state = RenewalState {
        failed_attempts: 1,
        last_attempt_at: Some(now),
        last_failure: Some(RenewalFailure {
            at: now,
            code: "TooManyRequests".into(),
            message: "slow down".into(),
            retryable: true,
        }),
        next_renewal_at: Some(until),
        retry_not_before: Some(now + time::Duration::seconds(30)),
    };
    repo.set_renewal_state(org.id, &state, now).await.unwrap();
    repo.set_renewal_policy(org.id, &RenewalPolicy::default(), now)
        .await
        .unwrap();
    assert!(!repo.claim_renewal(org.id, "b", now, until).await.unwrap());
    // And the claim keeps them.
    assert!(repo.claim_renewal(org.id, "a", now, until).await.unwrap());
    assert_eq!(repo.renewal(org.id).await.unwrap().state, state);
    // A claim ends exactly at its expiry: at `until` it still holds, just after it is free.
    assert!(!repo.claim_renewal(org.id, "b", until, until).await.unwrap());
    let after = until + time::Duration::microseconds(1);
    assert!(repo.claim_renewal(org.id, "b", after, after).await.unwrap());
}
