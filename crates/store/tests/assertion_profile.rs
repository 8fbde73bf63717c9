//! The organization's assertion profile column (migration 0006), on SQLite and PostgreSQL:
//! 'rs256' for organizations that never chose, changed and read back, and a value that names
//! no profile is a storage error naming the column, never a silent default.

mod harness;

use harness::{RawParam, TestDb};
use tenantlink_service::{AssertionProfile, OrganizationId, fakes};
use tenantlink_store::StoreError;
use time::{Duration, OffsetDateTime, macros::datetime};

const T0: OffsetDateTime = datetime!(2026-11-27 09:00:00 UTC);

backend_tests!(
    organizations_start_with_rs256_and_keep_a_changed_profile,
    an_unknown_stored_profile_is_a_corrupt_value,
);

async fn organization(db: &TestDb) -> OrganizationId {
    db.store
        .create_organization(fakes::new_organization(), T0)
        .await
        .expect("create organization")
        .id
}

async fn organizations_start_with_rs256_and_keep_a_changed_profile(db: &TestDb) {
    let id = organization(db).await;
    let created = db.store.organization(id).await.unwrap();
    assert_eq!(created.assertion_profile, AssertionProfile::Rs256X5t);

    let later = T0 + Duration::minutes(5);
    let changed = db
        .store
        .set_assertion_profile(id, AssertionProfile::Ps256X5tS256, later)
        .await
        .unwrap();
    assert_eq!(changed.assertion_profile, AssertionProfile::Ps256X5tS256);
    assert_eq!(
        db.raw_value::<i64>(
            "SELECT updated_at FROM organizations WHERE id = $1",
            &id.to_string()
        )
        .await,
        later.unix_timestamp() * 1_000_000,
        "updated_at follows the change"
    );
    let listed = db.store.organizations().await.unwrap();
    assert_eq!(listed[0].assertion_profile, AssertionProfile::Ps256X5tS256);

    let missing = db
        .store
        .set_assertion_profile(OrganizationId::new(), AssertionProfile::Ps256X5tS256, later)
        .await
        .unwrap_err();
    assert!(
        matches!(missing, StoreError::NotFound { .. }),
        "{missing:?}"
    );
}

async fn an_unknown_stored_profile_is_a_corrupt_value(db: &TestDb) {
    let id = organization(db).await;
    db.raw_execute(
        "UPDATE organizations SET assertion_profile = 'es256' WHERE id = $1",
        &[RawParam::Text(id.to_string())],
    )
    .await
    .unwrap();
    let err = db.store.organization(id).await.unwrap_err();
    assert!(
        matches!(
            &err,
            StoreError::Corrupt { table: "organizations", column: "assertion_profile", value } if value == "es256"
        ),
        "{err:?}"
    );
}
