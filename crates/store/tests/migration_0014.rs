//! Migration 0014 on a database written by the previous release (schema 0013): operations of
//! the three earlier kinds, one unfinished. SQLite rebuilds `certificate_operations` to allow
//! kind `connect`; afterwards the old rows read back as before, the constraints and indexes
//! still hold, and a Connect walks its registration steps to activation on the old rows.

mod harness;

use std::sync::Arc;

use harness::EmptyDb;
use harness::old_rows::{OldOperation, at, certificate, insert_operation, operation, organization};
use tenantlink_service::{
    CertificateId, NewOrganization, Operation, OperationId, OperationKind, OperationStep,
    OrganizationId, Repository, fakes,
};
use tenantlink_store::{BackendKind, MasterKey, StoreRepository};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_0013_database_keeps_its_operations_and_allows_connect() {
    a_0013_database_keeps_its_operations_and_allows_connect(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_0013_database_keeps_its_operations_and_allows_connect() {
    a_0013_database_keeps_its_operations_and_allows_connect(BackendKind::Postgres).await;
}

fn old<'a>(
    organization: OrganizationId,
    kind: &'a str,
    step: &'a str,
    certificate: Option<CertificateId>,
    minute: i64,
) -> OldOperation<'a> {
    OldOperation {
        organization,
        kind,
        step,
        certificate,
        replaces: None,
        failure: None,
        minute,
    }
}

async fn a_0013_database_keeps_its_operations_and_allows_connect(kind: BackendKind) {
    let db = EmptyDb::new(kind).await;
    db.apply_migrations_through(13).await;

    let contoso = organization(&db, "Contoso").await;
    let active = certificate(&db, contoso, "active", "AA01", 0).await;
    let generated = operation(&db, old(contoso, "generate", "succeeded", Some(active), 0)).await;
    let uploaded = operation(&db, old(contoso, "upload", "cancelled", None, 10)).await;
    let pending = certificate(&db, contoso, "pending", "AA02", 20).await;
    let rotating = operation(&db, old(contoso, "rotate", "key_added", Some(pending), 20)).await;

    let db = db.open().await; // applies 0014
    let repo = StoreRepository::new(
        db.store.clone(),
        Arc::new(MasterKey::generate().expect("generate a master key")),
    );
    let read = |id| {
        let repo = &repo;
        async move {
            let op = repo.operation(id).await.unwrap();
            (op.kind, op.step, op.certificate)
        }
    };
    assert_eq!(
        read(generated).await,
        (
            OperationKind::Generate,
            OperationStep::Succeeded,
            Some(active)
        )
    );
    assert_eq!(
        read(uploaded).await,
        (OperationKind::Upload, OperationStep::Cancelled, None)
    );
    assert_eq!(
        read(rotating).await,
        (
            OperationKind::Rotate,
            OperationStep::KeyAdded,
            Some(pending)
        )
    );

    // Kind `connect` is allowed now, at its own steps; an unknown kind still is not; the
    // one-unfinished-per-organization index still holds.
    let fabrikam = organization(&db, "Fabrikam").await;
    let raw_connect = OperationId::new();
    assert!(
        insert_operation(
            &db,
            raw_connect,
            &old(fabrikam, "connect", "owner_added", None, 30)
        )
        .await,
        "kind connect at owner_added is allowed"
    );
    assert_eq!(
        read(raw_connect).await,
        (OperationKind::Connect, OperationStep::OwnerAdded, None)
    );
    assert!(
        !insert_operation(
            &db,
            OperationId::new(),
            &old(fabrikam, "connect", "signed_in", None, 31)
        )
        .await,
        "the index refuses a second unfinished operation"
    );
    assert!(
        !insert_operation(
            &db,
            OperationId::new(),
            &old(contoso, "register", "succeeded", None, 32)
        )
        .await,
        "an unknown kind is refused"
    );
    let indexes = [
        "certificate_operations_by_organization",
        "certificate_operations_by_state",
        "certificate_operations_one_unfinished_per_organization",
        "certificate_operations_rotation_replaces",
    ];
    let catalogue = match kind {
        BackendKind::Sqlite => {
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' \
             AND tbl_name = 'certificate_operations' AND name = $1"
        }
        BackendKind::Postgres => {
            "SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'certificate_operations' \
             AND indexname = $1"
        }
    };
    for index in indexes {
        assert_eq!(db.raw_value::<i64>(catalogue, index).await, 1, "{index}");
    }

    // A Connect through the port: the organization without an application, then recorded.
    let northwind = repo
        .add_organization(
            NewOrganization {
                name: "Northwind".into(),
                tenant: "northwind.example".into(),
                app_id: String::new(),
                ..fakes::fixtures::new_organization()
            },
            at(40),
        )
        .await
        .unwrap();
    let created = repo
        .create_operation(&Operation {
            kind: OperationKind::Connect,
            ..fakes::fixtures::operation(northwind.id, at(40))
        })
        .await
        .unwrap();
    let mut walking = created;
    for (step, minute) in [
        (OperationStep::SignedIn, 41),
        (OperationStep::ApplicationCreated, 42),
        (OperationStep::ServicePrincipalCreated, 43),
        (OperationStep::PermissionsGranted, 44),
        (OperationStep::OwnerAdded, 45),
    ] {
        walking = Operation {
            step,
            version: walking.version + 1,
            updated_at: at(minute),
            ..walking
        };
        repo.update_operation(&walking).await.unwrap();
    }
    let recorded = repo
        .set_application(northwind.id, "app-northwind", "object-northwind", at(42))
        .await
        .unwrap();
    assert_eq!(recorded.app_id, "app-northwind");
    assert_eq!(
        repo.operation(walking.id).await.unwrap().step,
        OperationStep::OwnerAdded
    );
    db.store.close().await;
}
