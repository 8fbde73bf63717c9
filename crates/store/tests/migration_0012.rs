//! Migration 0012 on a database written by the previous release (schema 0011): operations of
//! both earlier kinds (finished and unfinished), certificates in every state with a proof, a
//! renewal row. SQLite rebuilds `certificate_operations` to allow kind `rotate`; afterwards
//! everything reads back through the service's port as before, the constraints and indexes
//! still hold (one unfinished operation per organization, foreign keys, the kind check), and a
//! rotation walks from `certificate_stored` through `key_added` to activation on the old rows.

mod harness;

use std::sync::Arc;

use harness::old_rows::{
    OldOperation, at, certificate, insert_operation, micros, operation, organization,
};
use harness::{EmptyDb, RawParam};
use tenantlink_service::renewal::{RenewalFailure, RenewalPolicy, RenewalRecord, RenewalState};
use tenantlink_service::{
    CertificateId, CertificateState, Operation, OperationFailure, OperationId, OperationKind,
    OperationStep, OrganizationId, ProofOutcome, Repository, RepositoryError, fakes,
};
use tenantlink_store::{BackendKind, MasterKey, StoreRepository};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_0011_database_keeps_its_operations_and_certificates() {
    a_0011_database_keeps_its_operations_and_certificates(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_0011_database_keeps_its_operations_and_certificates() {
    a_0011_database_keeps_its_operations_and_certificates(BackendKind::Postgres).await;
}

fn failing_state() -> RenewalState {
    RenewalState {
        failed_attempts: 2,
        last_attempt_at: Some(at(50)),
        last_failure: Some(RenewalFailure {
            at: at(51),
            code: "ServiceUnavailable".into(),
            message: "Graph is busy.".into(),
            retryable: true,
        }),
        next_renewal_at: Some(at(90)),
        retry_not_before: None,
    }
}

async fn a_0011_database_keeps_its_operations_and_certificates(kind: BackendKind) {
    let db = EmptyDb::new(kind).await;
    db.apply_migrations_through(11).await;

    // Contoso: Generate replaced its first certificate, a later Upload failed.
    let contoso = organization(&db, "Contoso").await;
    let retired = certificate(&db, contoso, "retired", "AA01", 0).await;
    let active = certificate(&db, contoso, "active", "AA02", 5).await;
    let discarded = certificate(&db, contoso, "discarded", "AA03", 20).await;
    let generated = operation(
        &db,
        OldOperation {
            organization: contoso,
            kind: "generate",
            step: "succeeded",
            certificate: Some(active),
            replaces: Some(retired),
            failure: None,
            minute: 5,
        },
    )
    .await;
    let uploaded = operation(
        &db,
        OldOperation {
            organization: contoso,
            kind: "upload",
            step: "failed",
            certificate: Some(discarded),
            replaces: Some(active),
            failure: Some((
                "attach_failed",
                "Graph refused the key.",
                "Ask a Global Administrator.",
            )),
            minute: 20,
        },
    )
    .await;
    // The default policy as 0011 stores it, beside a failing state.
    let policy = RenewalPolicy::default();
    db.raw_execute(
        &format!(
            "INSERT INTO organization_renewal (organization_id, automatic, lifetime_days, \
             tenant_max_lifetime_days, renew_at_fraction, jitter_seconds, backoff_base_seconds, \
             backoff_cap_seconds, uploaded_certificates, failed_attempts, last_attempt_at, \
             last_failure_at, last_failure_code, last_failure_message, last_failure_retryable, \
             next_renewal_at, updated_at) \
             VALUES ($1, TRUE, NULL, NULL, $2, {3}, {4}, {5}, $3, 2, {0}, {1}, \
             'ServiceUnavailable', 'Graph is busy.', TRUE, {2}, {1})",
            micros(50),
            micros(51),
            micros(90),
            policy.jitter.whole_seconds(),
            policy.backoff_base.whole_seconds(),
            policy.backoff_cap.whole_seconds(),
        ),
        &[
            RawParam::Text(contoso.to_string()),
            RawParam::Text(policy.renew_at.to_string()),
            RawParam::Text(policy.uploaded.as_str().into()),
        ],
    )
    .await
    .expect("insert a renewal row");

    // Fabrikam: an unfinished Generate at `attached` with its pending certificate.
    let fabrikam = organization(&db, "Fabrikam").await;
    let fabrikam_active = certificate(&db, fabrikam, "active", "BB01", 0).await;
    let pending = certificate(&db, fabrikam, "pending", "BB02", 30).await;
    let unfinished = operation(
        &db,
        OldOperation {
            organization: fabrikam,
            kind: "generate",
            step: "attached",
            certificate: Some(pending),
            replaces: Some(fabrikam_active),
            failure: None,
            minute: 30,
        },
    )
    .await;

    let db = db.open().await; // applies 0012
    let repo = StoreRepository::new(
        db.store.clone(),
        Arc::new(MasterKey::generate().expect("generate a master key")),
    );

    // The operations, with everything they recorded.
    let done = repo.operation(generated).await.unwrap();
    assert_eq!(
        (done.kind, done.step, done.version),
        (OperationKind::Generate, OperationStep::Succeeded, 4)
    );
    assert_eq!(done.certificate, Some(active));
    assert_eq!(done.replaces, Some(retired));
    assert_eq!(done.sha1_thumbprint.as_deref(), Some("AA02"));
    assert_eq!(done.started_by, "alice");
    assert_eq!((done.started_at, done.updated_at), (at(5), at(6)));
    assert_eq!(done.signed_in_as.as_deref(), Some("admin@contoso.example"));
    assert_eq!(done.sign_in_holder.as_deref(), Some("instance-a"));
    assert_eq!(done.heartbeat_at, Some(at(6)));
    let prompt = done.sign_in.expect("the sign-in prompt is kept");
    assert_eq!(
        (prompt.user_code.as_str(), prompt.expires_at),
        ("WXYZ9876", at(6))
    );
    let failed = repo.operation(uploaded).await.unwrap();
    assert_eq!(
        (failed.kind, failed.step),
        (OperationKind::Upload, OperationStep::Failed)
    );
    assert_eq!(
        failed.failure,
        Some(OperationFailure {
            code: "attach_failed".into(),
            message: "Graph refused the key.".into(),
            remediation: "Ask a Global Administrator.".into(),
        })
    );
    assert_eq!(
        repo.operations(contoso)
            .await
            .unwrap()
            .iter()
            .map(|o| o.id)
            .collect::<Vec<_>>(),
        [uploaded, generated],
        "newest first"
    );
    assert_eq!(
        repo.unfinished_operations()
            .await
            .unwrap()
            .iter()
            .map(|o| (o.id, o.step))
            .collect::<Vec<_>>(),
        [(unfinished, OperationStep::Attached)]
    );

    // Certificates: nothing removed yet, proofs kept; Generate's retired one is not a key to
    // remove (only a rotation's are).
    for id in [retired, active, discarded, fabrikam_active, pending] {
        assert_eq!(repo.certificate(id).await.unwrap().key_removed_at, None);
    }
    let read = repo.certificate(active).await.unwrap();
    assert_eq!(read.state, CertificateState::Active);
    assert_eq!(
        read.last_proof.map(|p| (p.outcome, p.checked_at)),
        Some((ProofOutcome::Accepted, at(6)))
    );
    assert_eq!(
        repo.certificate(retired).await.unwrap().retired_at,
        Some(at(2))
    );
    assert!(repo.keys_to_remove().await.unwrap().is_empty());

    // The renewal row: its state, no Retry-After; the organization without a row: defaults.
    assert_eq!(
        repo.renewal(contoso).await.unwrap(),
        RenewalRecord {
            policy: RenewalPolicy::default(),
            state: failing_state(),
        }
    );
    assert_eq!(
        repo.renewal(fabrikam).await.unwrap(),
        RenewalRecord::default()
    );

    // The partial unique index still allows one unfinished operation per organization: through
    // the port (a conflict) and behind its back (the database refuses).
    let second = repo
        .create_operation(&fakes::fixtures::operation(fabrikam, at(40)))
        .await
        .expect_err("Fabrikam already has an unfinished operation");
    assert!(
        matches!(second, RepositoryError::Conflict { .. }),
        "{second:?}"
    );
    let raw = |kind, step, organization, certificate| OldOperation {
        organization,
        kind,
        step,
        certificate,
        replaces: None,
        failure: None,
        minute: 40,
    };
    // The same row for Contoso, which has no unfinished operation, is taken: the refusals
    // below are each for the one thing they change.
    let contoso_rotation = OperationId::new();
    assert!(
        insert_operation(
            &db,
            contoso_rotation,
            &raw("rotate", "key_added", contoso, Some(discarded)),
        )
        .await,
        "kind rotate at key_added is allowed"
    );
    assert_eq!(
        repo.operation(contoso_rotation)
            .await
            .map(|o| (o.kind, o.step))
            .unwrap(),
        (OperationKind::Rotate, OperationStep::KeyAdded)
    );
    assert!(
        !insert_operation(
            &db,
            OperationId::new(),
            &raw("rotate", "key_added", fabrikam, None),
        )
        .await,
        "the index refuses a second unfinished operation"
    );
    // The kind check and the foreign keys are still there.
    assert!(
        !insert_operation(
            &db,
            OperationId::new(),
            &raw("renew", "succeeded", contoso, None),
        )
        .await,
        "an unknown kind is refused"
    );
    assert!(
        !insert_operation(
            &db,
            OperationId::new(),
            &raw("rotate", "succeeded", contoso, Some(CertificateId::new())),
        )
        .await,
        "an unknown certificate is refused"
    );
    assert!(
        !insert_operation(
            &db,
            OperationId::new(),
            &raw("rotate", "succeeded", OrganizationId::new(), None),
        )
        .await,
        "an unknown organization is refused"
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

    // A rotation on the migrated rows: created at certificate_stored with its certificate,
    // through key_added and attached to activation; then the key it replaced is to be removed.
    let finished = repo.operation(unfinished).await.unwrap();
    repo.activate(&finished, at(41)).await.unwrap();
    let next = certificate(&db, fabrikam, "pending", "BB03", 42).await;
    let rotation = repo
        .create_operation(&Operation {
            kind: OperationKind::Rotate,
            step: OperationStep::CertificateStored,
            started_by: "renewal".into(),
            sign_in: None,
            certificate: Some(next),
            ..fakes::fixtures::operation(fabrikam, at(42))
        })
        .await
        .unwrap();
    assert_eq!(
        (rotation.kind, rotation.step, rotation.replaces),
        (
            OperationKind::Rotate,
            OperationStep::CertificateStored,
            Some(pending)
        )
    );
    let mut walking = rotation;
    for (step, minute) in [(OperationStep::KeyAdded, 43), (OperationStep::Attached, 44)] {
        walking = Operation {
            step,
            version: walking.version + 1,
            updated_at: at(minute),
            ..walking
        };
        repo.update_operation(&walking).await.unwrap();
    }
    let walking = repo.operation(walking.id).await.unwrap();
    assert_eq!(walking.step, OperationStep::Attached);
    repo.activate(&walking, at(45)).await.unwrap();
    assert_eq!(
        repo.keys_to_remove()
            .await
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect::<Vec<_>>(),
        [pending]
    );
    db.store.close().await;
}
