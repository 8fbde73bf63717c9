//! No silent defaults: a stored id, version, enum or timestamp that does not parse is
//! `StoreError::Corrupt` naming the table and column (and, through the port, a storage error),
//! never a nil UUID, a 0 or a guess.

mod harness;

use std::sync::Arc;

use harness::{RawParam, TestDb};
use tenantlink_service::{
    AuditAction, AuditFilter, AuditOutcome, NewAuditEntry, Repository, RepositoryError, fakes,
};
use tenantlink_store::{MasterKey, StoreError, StoreRepository};
use time::macros::datetime;

backend_tests!(
    unparsable_values_are_corrupt_naming_table_and_column,
    a_cloud_no_variant_names_is_corrupt,
);

async fn unparsable_values_are_corrupt_naming_table_and_column(db: &TestDb) {
    let at = datetime!(2026-12-01 09:00 UTC);
    let org = db
        .store
        .create_organization(fakes::new_organization(), at)
        .await
        .unwrap();
    let op = db
        .store
        .create_operation(&fakes::operation(org.id, at))
        .await
        .unwrap();

    let corrupt = |sql: &'static str, value: &'static str| async move {
        db.raw_execute(
            sql,
            &[
                RawParam::Text(value.into()),
                RawParam::Text(op.id.to_string()),
            ],
        )
        .await
        .expect("write a bad value");
    };
    let reads_as = |table: &'static str, column: &'static str, value: &'static str| async move {
        match db.store.operation(op.id).await {
            Err(StoreError::Corrupt {
                table: t,
                column: c,
                value: v,
            }) => assert_eq!((t, c, v.as_str()), (table, column, value)),
            other => panic!("{table}.{column} = {value:?} read as {other:?}"),
        }
    };

    corrupt(
        "UPDATE certificate_operations SET step = $1 WHERE id = $2",
        "proving",
    )
    .await;
    reads_as("certificate_operations", "step", "proving").await;
    corrupt(
        "UPDATE certificate_operations SET step = $1 WHERE id = $2",
        "awaiting_sign_in",
    )
    .await;

    // (kind, source, role… are also held by CHECK constraints; the step is not.)
    db.raw_execute(
        "UPDATE certificate_operations SET updated_at = 9223372036854775807 WHERE id = $1",
        &[RawParam::Text(op.id.to_string())],
    )
    .await
    .unwrap();
    reads_as(
        "certificate_operations",
        "updated_at",
        "9223372036854775807",
    )
    .await;
    db.raw_execute(
        "UPDATE certificate_operations SET updated_at = started_at WHERE id = $1",
        &[RawParam::Text(op.id.to_string())],
    )
    .await
    .unwrap();

    db.raw_execute(
        "UPDATE certificate_operations SET version = -3 WHERE id = $1",
        &[RawParam::Text(op.id.to_string())],
    )
    .await
    .unwrap();
    reads_as("certificate_operations", "version", "-3").await;
    db.raw_execute(
        "UPDATE certificate_operations SET version = 1 WHERE id = $1",
        &[RawParam::Text(op.id.to_string())],
    )
    .await
    .unwrap();

    // An id that is not a UUID (the audit log's organization has no foreign key).
    db.store
        .append_audit(&NewAuditEntry {
            at,
            actor: "alice".into(),
            organization: Some(org.id),
            action: AuditAction::OrganizationAdded,
            outcome: AuditOutcome::Success,
            thumbprints: vec![],
            detail: None,
        })
        .await
        .unwrap();
    // The log refuses UPDATE (append-only): write the bad id with a fresh row instead.
    db.raw_execute(
        "INSERT INTO audit_log (at, actor, organization_id, action, outcome, thumbprints, \
         details) VALUES (1, 'mallory', $1, 'organization_added', 'success', '[]', '{}')",
        &[RawParam::Text("not-a-uuid".into())],
    )
    .await
    .unwrap();
    match db.store.audit_entries(&AuditFilter::default()).await {
        Err(StoreError::Corrupt {
            table,
            column,
            value,
        }) => assert_eq!(
            (table, column, value.as_str()),
            ("audit_log", "organization_id", "not-a-uuid")
        ),
        other => panic!("read as {other:?}"),
    }

    db.raw_execute(
        "UPDATE organizations SET created_at = -9223372036854775807 WHERE id = $1",
        &[RawParam::Text(org.id.to_string())],
    )
    .await
    .unwrap();
    match db.store.organization(org.id).await {
        Err(StoreError::Corrupt {
            table,
            column,
            value,
        }) => {
            assert_eq!(
                (table, column, value.as_str()),
                ("organizations", "created_at", "-9223372036854775807")
            );
        }
        other => panic!("read as {other:?}"),
    }

    // Through the port it is a storage error naming the same, not a default.
    let repo = StoreRepository::new(db.store.clone(), Arc::new(MasterKey::generate().unwrap()));
    match repo.organization(org.id).await {
        Err(RepositoryError::Storage { detail, .. }) => {
            assert!(detail.contains("organizations.created_at"), "{detail}");
        }
        other => panic!("read as {other:?}"),
    }
    match repo.organizations().await {
        Err(RepositoryError::Storage { .. }) => {}
        other => panic!("listed as {other:?}"),
    }
}

/// The `cloud` column decodes into the service's `Cloud`: a name that is none of its variants
/// (nor a near miss in case or spacing) is corrupt, never routed to some default cloud.
async fn a_cloud_no_variant_names_is_corrupt(db: &TestDb) {
    let at = datetime!(2026-12-01 09:00 UTC);
    let org = db
        .store
        .create_organization(fakes::new_organization(), at)
        .await
        .unwrap();
    for bad in ["mars", "Global", " usgov"] {
        db.raw_execute(
            "UPDATE organizations SET cloud = $1 WHERE id = $2",
            &[
                RawParam::Text(bad.into()),
                RawParam::Text(org.id.to_string()),
            ],
        )
        .await
        .unwrap();
        match db.store.organization(org.id).await {
            Err(StoreError::Corrupt {
                table,
                column,
                value,
            }) => assert_eq!(
                (table, column, value.as_str()),
                ("organizations", "cloud", bad)
            ),
            other => panic!("cloud {bad:?} read as {other:?}"),
        }
    }
    db.raw_execute(
        "UPDATE organizations SET cloud = 'china' WHERE id = $1",
        &[RawParam::Text(org.id.to_string())],
    )
    .await
    .unwrap();
    assert_eq!(
        db.store.organization(org.id).await.unwrap().cloud,
        tenantlink_service::Cloud::China
    );
}
