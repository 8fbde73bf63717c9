//! Migration 0002 on a database written by the previous adapter: packed fields are unpacked,
//! "cancelled" becomes a state, and duplicate unfinished operations (possible before the
//! database enforced one per organization) are resolved so the unique index can be built.

mod harness;

use harness::{EmptyDb, RawParam};
use tenantlink_service::fakes;
use tenantlink_service::{
    CertificateId, CertificateState, Operation, OperationId, OperationKind, OperationStep,
    OrganizationId,
};
use tenantlink_store::{BackendKind, Conflict, StoreError};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-20 09:00:00 UTC);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_old_rows_are_unpacked_and_duplicates_resolved() {
    old_rows_are_unpacked_and_duplicates_resolved(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_old_rows_are_unpacked_and_duplicates_resolved() {
    old_rows_are_unpacked_and_duplicates_resolved(BackendKind::Postgres).await;
}

fn micros(minutes: i64) -> i64 {
    (T0.unix_timestamp() + minutes * 60) * 1_000_000
}

async fn insert_operation(db: &EmptyDb, columns: OldOperation<'_>) -> OperationId {
    let id = OperationId::new();
    let certificate = columns.new_certificate_id.map(|c| c.to_string());
    db.raw_execute(
        &format!(
            "INSERT INTO certificate_operations (id, organization_id, kind, state, step, \
             started_by, new_certificate_id, error_kind, error_message, version, created_at, \
             updated_at) VALUES ($1, $2, 'generate', $3, $4, 'alice', NULLIF($5, ''), \
             NULLIF($6, ''), NULLIF($7, ''), 3, {0}, {0})",
            micros(columns.created_minute),
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(columns.organization.to_string()),
            RawParam::Text(columns.state.to_owned()),
            RawParam::Text(columns.step.to_owned()),
            RawParam::Text(certificate.unwrap_or_default()),
            RawParam::Text(columns.error.map_or("", |e| e.0).to_owned()),
            RawParam::Text(columns.error.map_or("", |e| e.1).to_owned()),
        ],
    )
    .await
    .expect("insert an old-format operation");
    id
}

struct OldOperation<'a> {
    organization: OrganizationId,
    state: &'a str,
    step: &'a str,
    new_certificate_id: Option<CertificateId>,
    error: Option<(&'a str, &'a str)>,
    created_minute: i64,
}

async fn old_rows_are_unpacked_and_duplicates_resolved(kind: BackendKind) {
    let db = EmptyDb::new(kind).await;
    db.apply_initial_schema().await;
    let (first, second) = (OrganizationId::new(), OrganizationId::new());
    for (id, tenant) in [(first, "contoso.example"), (second, "fabrikam.example")] {
        db.raw_execute(
            &format!(
                "INSERT INTO organizations (id, tenant, cloud, backup_app_id, display_name, \
                 connection_state, created_at, updated_at) \
                 VALUES ($1, $2, 'sandbox', 'app', $2, 'unknown', {0}, {0})",
                micros(0)
            ),
            &[
                RawParam::Text(id.to_string()),
                RawParam::Text(tenant.into()),
            ],
        )
        .await
        .expect("insert an organization");
    }
    let superseded_certificate = CertificateId::new();
    db.raw_execute(
        &format!(
            "INSERT INTO certificates (id, organization_id, sha1_thumbprint, sha256_thumbprint, \
             subject, not_before, not_after, source, public_der, encrypted_private_key, state, \
             created_at) VALUES ($1, $2, 'AA', 'BB', 'CN=x', {0}, {0}, 'generated', $3, $3, \
             'pending', {0})",
            micros(0)
        ),
        &[
            RawParam::Text(superseded_certificate.to_string()),
            RawParam::Text(second.to_string()),
            RawParam::Blob(vec![1, 2, 3]),
        ],
    )
    .await
    .expect("insert a certificate");

    // What the previous adapter wrote.
    let not_attached = insert_operation(
        &db,
        OldOperation {
            organization: first,
            state: "failed",
            step: "failed",
            new_certificate_id: None,
            error: Some((
                "not_attached",
                "The certificate is not attached.\nWhat to do: Upload its public part, then import again.",
            )),
            created_minute: 1,
        },
    )
    .await;
    let cancelled = insert_operation(
        &db,
        OldOperation {
            organization: first,
            state: "failed",
            step: "cancelled",
            new_certificate_id: None,
            error: Some(("cancelled", "cancelled by an administrator")),
            created_minute: 2,
        },
    )
    .await;
    let signed_in = insert_operation(
        &db,
        OldOperation {
            organization: first,
            state: "awaiting_input",
            step: "signed in as admin@contoso.example",
            new_certificate_id: None,
            error: None,
            created_minute: 3,
        },
    )
    .await;
    // Two unfinished operations of one organization: a lost race of the old application check.
    let kept = insert_operation(
        &db,
        OldOperation {
            organization: second,
            state: "awaiting_sign_in",
            step: "waiting for the device sign-in",
            new_certificate_id: None,
            error: None,
            created_minute: 4,
        },
    )
    .await;
    let superseded = insert_operation(
        &db,
        OldOperation {
            organization: second,
            state: "attaching",
            step: "certificate stored",
            new_certificate_id: Some(superseded_certificate),
            error: None,
            created_minute: 5,
        },
    )
    .await;

    let db = db.open().await;
    let store = &db.store;

    let op = store.operation(not_attached).await.unwrap();
    let error = op.failure.expect("error kept");
    assert_eq!(error.code, "not_attached");
    assert_eq!(error.message, "The certificate is not attached.");
    assert_eq!(
        error.remediation,
        "Upload its public part, then import again."
    );

    let op = store.operation(cancelled).await.unwrap();
    assert_eq!((op.step, op.failure), (OperationStep::Cancelled, None));

    let op = store.operation(signed_in).await.unwrap();
    assert_eq!(
        op.step,
        OperationStep::SignedIn,
        "awaiting_input, renamed by 0005"
    );
    assert_eq!(op.signed_in_as.as_deref(), Some("admin@contoso.example"));

    assert_eq!(
        store.operation(kept).await.unwrap().step,
        OperationStep::AwaitingSignIn,
        "the oldest unfinished operation is kept"
    );
    let op = store.operation(superseded).await.unwrap();
    assert_eq!(op.step, OperationStep::Failed);
    let error = op.failure.expect("explained");
    assert_eq!(error.code, "superseded");
    assert!(!error.remediation.is_empty());
    assert_eq!(
        store
            .certificate(superseded_certificate)
            .await
            .unwrap()
            .state,
        CertificateState::Discarded
    );

    // The index is in place: the kept operation blocks a new one for its organization.
    let err = store
        .create_operation(&Operation {
            kind: OperationKind::Upload,
            started_by: "bob".into(),
            ..fakes::operation(second, T0)
        })
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict(Conflict::OperationInProgress {
            operation,
            started_by,
        }) => {
            assert_eq!(operation, kept.to_string());
            assert_eq!(started_by, "alice");
        }
        other => panic!("unexpected {other:?}"),
    }
    store.migrate().await.expect("migrating again is a no-op");
    db.store.close().await;
}
