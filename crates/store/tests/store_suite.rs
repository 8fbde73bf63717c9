//! One behaviour suite for the store, run against SQLite and PostgreSQL.

mod harness;

use harness::fixtures::{self, T0, item, policy};
use harness::{RawParam, TestDb};
use tenantlink_service::RunTrigger;
use tenantlink_service::fakes;
use tenantlink_service::{
    AuditAction, AuditFilter, AuditOutcome, CertificateId, CertificateSource, CertificateState,
    ConnectionState, CredentialProof, NewAuditEntry, NewOrganization, Operation, OperationFailure,
    OperationKind, OperationStep, Organization, OrganizationId, ProofOutcome, ProofSource, Role,
    SignInPrompt, StoredCertificate,
};
use tenantlink_service::{NewApiToken, SecretString, UserChange};
use tenantlink_store::{
    Activation, BearerSecret, Conflict, CryptoError, MasterKey, NewCertificate, OperationUpdate,
    Store, StoreError,
};
use time::Duration;

backend_tests!(
    migrations_are_idempotent,
    organizations_round_trip_and_duplicates_are_refused,
    foreign_keys_are_enforced,
    private_key_round_trips_and_rejects_wrong_key_and_tampering,
    private_key_moved_to_another_organization_or_thumbprint_fails_to_decrypt,
    rotate_master_key_re_encrypts_every_row,
    private_key_plaintext_never_reaches_the_database,
    database_refuses_a_second_active_certificate,
    concurrent_activations_of_one_operation_have_one_winner,
    concurrent_first_activations_have_one_winner,
    activation_checks_change_nothing_when_they_fail,
    operation_updates_are_compare_and_swap,
    concurrent_operation_starts_for_one_organization_have_one_winner,
    operation_state_transitions_are_checked,
    operation_fields_round_trip,
    operation_sign_in_holder_is_kept_once_recorded,
    certificate_proofs_keep_the_latest_answer,
    operation_take_over_needs_the_version_and_holder_read,
    operation_interrupted_before_activation_is_resumed_after_restart,
    users_sessions_and_api_tokens,
    two_administrators_disabling_each_other_at_once_leave_one,
    concurrent_sign_in_failure_counts_lose_no_update,
    audit_log_appends_filters_and_refuses_changes,
    deleting_an_organization_removes_its_data_but_keeps_the_audit_log,
);

// ---------------------------------------------------------------- fixtures

/// The harness's organization, its application object id recorded.
async fn organization(store: &Store, tenant: &str) -> Organization {
    let created = fixtures::organization(store, tenant).await;
    store
        .set_app_object_id(created.id, "object-1", T0)
        .await
        .expect("record the application object id");
    store.organization(created.id).await.expect("read it back")
}

/// A new operation as the service starts one: awaiting the sign-in, version 1.
fn new_operation(
    organization: OrganizationId,
    kind: OperationKind,
    started_by: String,
) -> Operation {
    Operation {
        kind,
        started_by,
        ..fakes::operation(organization, T0)
    }
}

/// Stand-in for a PKCS#8 key: random bytes, so any leak is recognisable and unambiguous.
fn fake_private_key() -> Vec<u8> {
    let mut key = Vec::with_capacity(1216);
    while key.len() < 1216 {
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
    }
    key
}

async fn pending_certificate(
    store: &Store,
    key: &MasterKey,
    org: OrganizationId,
    private_key: &[u8],
) -> StoredCertificate {
    let der = fake_private_key(); // distinct bytes for the "public" part too
    let mut sha1 = [0u8; 20];
    sha1.copy_from_slice(&der[..20]);
    let mut sha256 = [0u8; 32];
    sha256.copy_from_slice(&der[20..52]);
    store
        .insert_certificate(
            key,
            NewCertificate {
                organization: org,
                sha1,
                sha256,
                subject: "CN=tenantlink backup".into(),
                not_before: T0,
                not_after: T0 + Duration::days(365),
                source: CertificateSource::Generated,
                der: der[..300].to_vec(),
                private_key_pkcs8: private_key,
            },
            T0,
        )
        .await
        .expect("insert certificate")
}

/// An operation already at `state` (reached through the legal transitions: sign-in first),
/// with its certificate recorded.
async fn operation_in(
    store: &Store,
    org: OrganizationId,
    certificate: CertificateId,
    state: OperationStep,
) -> Operation {
    let op = store
        .create_operation(&new_operation(org, OperationKind::Generate, "admin".into()))
        .await
        .expect("create operation");
    let signed_in = advance(store, &op, OperationStep::SignedIn).await;
    store
        .update_operation(
            op.id,
            signed_in.version,
            OperationUpdate {
                step: Some(state),
                certificate: Some(certificate),
                ..Default::default()
            },
            T0,
        )
        .await
        .expect("advance operation")
}

async fn advance(store: &Store, op: &Operation, state: OperationStep) -> Operation {
    store
        .update_operation(
            op.id,
            op.version,
            OperationUpdate {
                step: Some(state),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap_or_else(|e| panic!("{} -> {state}: {e}", op.step))
}

async fn start_operation(
    store: &Store,
    org: OrganizationId,
    started_by: &str,
) -> Result<Operation, StoreError> {
    store
        .create_operation(&new_operation(
            org,
            OperationKind::Generate,
            started_by.to_owned(),
        ))
        .await
}

/// Organization with one active certificate, activated through an operation.
async fn organization_with_active(
    store: &Store,
    key: &MasterKey,
    tenant: &str,
) -> (Organization, StoredCertificate) {
    let org = organization(store, tenant).await;
    let cert = pending_certificate(store, key, org.id, &fake_private_key()).await;
    let op = operation_in(store, org.id, cert.id, OperationStep::Attached).await;
    let active = store
        .activate_certificate(
            Activation {
                organization: org.id,
                operation: op.id,
                expected_step: OperationStep::Attached,
                expected_version: op.version,
                certificate: cert.id,
                expected_active: None,
            },
            T0,
        )
        .await
        .expect("first activation");
    (org, active)
}

fn master_key() -> MasterKey {
    MasterKey::generate().expect("generate master key")
}

// ---------------------------------------------------------------- migrations

async fn migrations_are_idempotent(db: &TestDb) {
    let org = organization(&db.store, "contoso.example").await;
    db.store.migrate().await.expect("second migrate");
    db.store.migrate().await.expect("third migrate");
    let reopened = Store::open(&db.url)
        .await
        .expect("reopen runs migrations again");
    assert_eq!(
        reopened.organization(org.id).await.expect("org survives"),
        org
    );
    reopened.close().await;
}

// ---------------------------------------------------------------- organizations

async fn organizations_round_trip_and_duplicates_are_refused(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    assert_eq!(store.organization(org.id).await.unwrap(), org);
    assert_eq!(org.connection, ConnectionState::Unknown);

    let duplicate = store
        .create_organization(
            NewOrganization {
                tenant: org.tenant.clone(),
                cloud: org.cloud,
                app_id: org.app_id.clone(),
                name: "again".into(),
            },
            T0,
        )
        .await;
    assert!(
        matches!(duplicate, Err(StoreError::AlreadyExists { .. })),
        "{duplicate:?}"
    );

    let later = T0 + Duration::minutes(5);
    store
        .set_connection_state(
            org.id,
            ConnectionState::Broken,
            Some("AADSTS700027: The key used is expired."),
            later,
        )
        .await
        .unwrap();
    let reread = store.organization(org.id).await.unwrap();
    assert_eq!(reread.connection, ConnectionState::Broken);
    assert_eq!(
        reread.last_error.as_deref(),
        Some("AADSTS700027: The key used is expired.")
    );
    assert_eq!(
        db.raw_value::<i64>(
            "SELECT updated_at FROM organizations WHERE id = $1",
            &org.id.to_string()
        )
        .await,
        later.unix_timestamp() * 1_000_000,
        "updated_at follows the change"
    );
    assert_eq!(store.organizations().await.unwrap(), vec![reread]);

    let missing = store.organization(OrganizationId::new()).await;
    assert!(matches!(
        missing,
        Err(StoreError::NotFound {
            entity: "organization",
            ..
        })
    ));
}

async fn foreign_keys_are_enforced(db: &TestDb) {
    let key = master_key();
    let orphan = db
        .store
        .insert_certificate(
            &key,
            NewCertificate {
                organization: OrganizationId::new(),
                sha1: [1; 20],
                sha256: [2; 32],
                subject: "CN=orphan".into(),
                not_before: T0,
                not_after: T0 + Duration::days(1),
                source: CertificateSource::Uploaded,
                der: vec![0x30, 0x00],
                private_key_pkcs8: &fake_private_key(),
            },
            T0,
        )
        .await;
    assert!(
        matches!(orphan, Err(StoreError::MissingReference { .. })),
        "{orphan:?}"
    );
}

// ---------------------------------------------------------------- secrets at rest

async fn private_key_round_trips_and_rejects_wrong_key_and_tampering(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let org = organization(store, "contoso.example").await;
    let plaintext = fake_private_key();
    let cert = pending_certificate(store, &key, org.id, &plaintext).await;
    let other = pending_certificate(store, &key, org.id, &fake_private_key()).await;

    let decrypted = store.certificate_private_key(&key, cert.id).await.unwrap();
    assert_eq!(decrypted.as_slice(), plaintext.as_slice());

    let wrong = master_key();
    match store.certificate_private_key(&wrong, cert.id).await {
        Err(StoreError::Crypto(CryptoError::WrongMasterKey { stored, configured })) => {
            assert_eq!(stored, key.id());
            assert_eq!(configured, wrong.id());
        }
        other => panic!("expected WrongMasterKey, got {other:?}"),
    }

    // A ciphertext moved onto another certificate's row fails: it is bound to its id.
    let sealed = db
        .raw_value::<Vec<u8>>(
            "SELECT encrypted_private_key FROM certificates WHERE id = $1",
            &cert.id.to_string(),
        )
        .await;
    db.raw_execute(
        "UPDATE certificates SET encrypted_private_key = $1 WHERE id = $2",
        &[
            RawParam::Blob(sealed.clone()),
            RawParam::Text(other.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.certificate_private_key(&key, other.id).await,
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));

    // One flipped bit in the ciphertext fails authentication.
    let mut tampered = sealed;
    let last = tampered.len() - 20;
    tampered[last] ^= 0x01;
    db.raw_execute(
        "UPDATE certificates SET encrypted_private_key = $1 WHERE id = $2",
        &[
            RawParam::Blob(tampered),
            RawParam::Text(cert.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.certificate_private_key(&key, cert.id).await,
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));
}

async fn private_key_moved_to_another_organization_or_thumbprint_fails_to_decrypt(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let contoso = organization(store, "contoso.example").await;
    let fabrikam = organization(store, "fabrikam.example").await;
    let cert = pending_certificate(store, &key, contoso.id, &fake_private_key()).await;
    let other = pending_certificate(store, &key, contoso.id, &fake_private_key()).await;
    store.certificate_private_key(&key, cert.id).await.unwrap();

    // The whole row moves to another organization, with its id: the key no longer decrypts.
    db.raw_execute(
        "UPDATE certificates SET organization_id = $1 WHERE id = $2",
        &[
            RawParam::Text(fabrikam.id.to_string()),
            RawParam::Text(cert.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.certificate_private_key(&key, cert.id).await,
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));

    // A key kept in place but claimed by another certificate's thumbprint fails too.
    db.raw_execute(
        "UPDATE certificates SET sha256_thumbprint = $1 WHERE id = $2",
        &[
            RawParam::Text("00".repeat(32)),
            RawParam::Text(other.id.to_string()),
        ],
    )
    .await
    .unwrap();
    assert!(matches!(
        store.certificate_private_key(&key, other.id).await,
        Err(StoreError::Crypto(CryptoError::Tampered))
    ));
}

async fn rotate_master_key_re_encrypts_every_row(db: &TestDb) {
    let store = &db.store;
    let old = master_key();
    let new = master_key();
    let mut expected = Vec::new();
    for tenant in ["a.example", "b.example"] {
        let org = organization(store, tenant).await;
        for _ in 0..2 {
            let plaintext = fake_private_key();
            let cert = pending_certificate(store, &old, org.id, &plaintext).await;
            expected.push((cert.id, plaintext));
        }
    }

    // The wrong "old" key re-encrypts nothing: the rotation is one transaction.
    let stranger = master_key();
    assert!(matches!(
        store.rotate_master_key(&stranger, &new).await,
        Err(StoreError::Crypto(CryptoError::WrongMasterKey { .. }))
    ));
    for (id, plaintext) in &expected {
        assert_eq!(
            store
                .certificate_private_key(&old, *id)
                .await
                .unwrap()
                .as_slice(),
            plaintext.as_slice()
        );
    }

    assert_eq!(store.rotate_master_key(&old, &new).await.unwrap(), 4);
    for (id, plaintext) in &expected {
        assert_eq!(
            store
                .certificate_private_key(&new, *id)
                .await
                .unwrap()
                .as_slice(),
            plaintext.as_slice()
        );
        assert!(matches!(
            store.certificate_private_key(&old, *id).await,
            Err(StoreError::Crypto(CryptoError::WrongMasterKey { .. }))
        ));
    }
    assert_eq!(
        store.rotate_master_key(&old, &new).await.unwrap(),
        0,
        "rerun is a no-op"
    );
}

async fn private_key_plaintext_never_reaches_the_database(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let org = organization(store, "contoso.example").await;
    let plaintexts: Vec<Vec<u8>> = (0..3).map(|_| fake_private_key()).collect();
    let mut public_parts = Vec::new();
    for plaintext in &plaintexts {
        public_parts.push(
            pending_certificate(store, &key, org.id, plaintext)
                .await
                .der,
        );
    }
    let rotated = master_key();
    store.rotate_master_key(&key, &rotated).await.unwrap();

    let mut haystacks = db
        .raw_all_blobs("SELECT encrypted_private_key FROM certificates")
        .await;
    assert_eq!(haystacks.len(), 3);
    if let Some(path) = db.sqlite_path() {
        // The main file and the write-ahead log, as they sit on disk.
        for file in [path.clone(), path.with_extension("db-wal")] {
            if let Ok(bytes) = std::fs::read(&file) {
                haystacks.push(bytes);
            }
        }
        assert!(haystacks.len() >= 4, "the SQLite file was scanned");
    } else {
        haystacks.extend(db.raw_all_blobs("SELECT der FROM certificates").await);
    }
    let found = |needle: &[u8]| {
        haystacks
            .iter()
            .any(|h| h.windows(needle.len()).any(|w| w == needle))
    };
    // Positive control: the scan does find what is stored in clear (the public part).
    for public in &public_parts {
        assert!(found(&public[..16]), "the scan must see cleartext columns");
    }
    for plaintext in &plaintexts {
        for chunk in plaintext.chunks(16) {
            assert!(
                !found(chunk),
                "a 16-byte piece of a private key was found in the database"
            );
        }
    }
}

// ---------------------------------------------------------------- activation

async fn database_refuses_a_second_active_certificate(db: &TestDb) {
    let key = master_key();
    let (org, _active) = organization_with_active(&db.store, &key, "contoso.example").await;
    let pending = pending_certificate(&db.store, &key, org.id, &fake_private_key()).await;
    let result = db
        .raw_execute(
            "UPDATE certificates SET state = 'active' WHERE id = $1",
            &[RawParam::Text(pending.id.to_string())],
        )
        .await;
    assert!(
        result.is_err(),
        "the partial unique index must refuse a second active certificate"
    );
}

/// Two workers finishing the same operation (e.g. two instances resuming it after a restart):
/// exactly one activates; the other finds the operation already finished and changes nothing.
/// (Two operations of one organization cannot both be unfinished: see
/// `concurrent_operation_starts_for_one_organization_have_one_winner`.)
async fn concurrent_activations_of_one_operation_have_one_winner(db: &TestDb) {
    let key = master_key();
    for round in 0..10 {
        let (org, previous) =
            organization_with_active(&db.store, &key, &format!("round{round}.example")).await;
        let cert = pending_certificate(&db.store, &key, org.id, &fake_private_key()).await;
        let op = operation_in(&db.store, org.id, cert.id, OperationStep::Attached).await;
        // Both tasks are released together so their transactions overlap.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let store = db.store.clone();
                let start = start.clone();
                let activation = Activation {
                    organization: org.id,
                    operation: op.id,
                    expected_step: OperationStep::Attached,
                    expected_version: op.version,
                    certificate: cert.id,
                    expected_active: Some(previous.id),
                };
                tokio::spawn(async move {
                    start.wait().await;
                    store
                        .activate_certificate(activation, T0 + Duration::hours(1))
                        .await
                })
            })
            .collect();
        let mut results = Vec::new();
        for task in tasks {
            results.push(task.await.expect("task"));
        }
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let loser = results
            .iter()
            .find_map(|r| r.as_ref().err())
            .expect("one loser");
        assert!(
            matches!(
                loser,
                StoreError::Conflict(Conflict::OperationStepChanged { .. })
            ),
            "round {round}: {loser:?}"
        );
        let active = db
            .store
            .active_certificate(org.id)
            .await
            .unwrap()
            .expect("an active certificate");
        assert_eq!(active.id, cert.id);
        assert_eq!(
            db.store.certificate(previous.id).await.unwrap().state,
            CertificateState::Retired
        );
        let finished = db.store.operation(op.id).await.unwrap();
        assert_eq!(
            (finished.step, finished.version),
            (OperationStep::Succeeded, op.version + 1),
            "finished exactly once"
        );
    }
}

async fn concurrent_first_activations_have_one_winner(db: &TestDb) {
    let key = master_key();
    for round in 0..10 {
        let org = organization(&db.store, &format!("first{round}.example")).await;
        let cert = pending_certificate(&db.store, &key, org.id, &fake_private_key()).await;
        let op = operation_in(&db.store, org.id, cert.id, OperationStep::Attached).await;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let store = db.store.clone();
                let start = start.clone();
                let activation = Activation {
                    organization: org.id,
                    operation: op.id,
                    expected_step: OperationStep::Attached,
                    expected_version: op.version,
                    certificate: cert.id,
                    expected_active: None,
                };
                tokio::spawn(async move {
                    start.wait().await;
                    store.activate_certificate(activation, T0).await
                })
            })
            .collect();
        let mut ok = 0;
        for handle in handles {
            match handle.await.expect("task") {
                Ok(_) => ok += 1,
                Err(StoreError::Conflict(Conflict::OperationStepChanged { .. })) => {}
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        let active: Vec<_> = db
            .store
            .certificates(org.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|c| c.state == CertificateState::Active)
            .collect();
        assert_eq!(active.len(), 1);
    }
}

async fn activation_checks_change_nothing_when_they_fail(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let (org, previous) = organization_with_active(store, &key, "contoso.example").await;
    let cert = pending_certificate(store, &key, org.id, &fake_private_key()).await;
    let op = operation_in(store, org.id, cert.id, OperationStep::CertificateStored).await;
    let activation = |state, expected_active, certificate| Activation {
        organization: org.id,
        operation: op.id,
        expected_version: op.version,
        expected_step: state,
        certificate,
        expected_active,
    };

    // Operation not in the expected state.
    let err = store
        .activate_certificate(
            activation(OperationStep::Attached, Some(previous.id), cert.id),
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(Conflict::OperationStepChanged { .. })
        ),
        "{err:?}"
    );

    // Expected active certificate is not the active one.
    let stale = CertificateId::new();
    let err = store
        .activate_certificate(
            activation(OperationStep::CertificateStored, Some(stale), cert.id),
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(Conflict::ActiveCertificateChanged { .. })
        ),
        "{err:?}"
    );
    let err = store
        .activate_certificate(
            activation(OperationStep::CertificateStored, None, cert.id),
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(Conflict::ActiveCertificateChanged { .. })
        ),
        "{err:?}"
    );

    // Certificate no longer pending.
    store.discard_certificate(cert.id).await.unwrap();
    let err = store
        .activate_certificate(
            activation(OperationStep::CertificateStored, Some(previous.id), cert.id),
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict(Conflict::CertificateNotPending { .. })
        ),
        "{err:?}"
    );

    // Nothing moved.
    assert_eq!(
        store
            .active_certificate(org.id)
            .await
            .unwrap()
            .map(|c| c.id),
        Some(previous.id)
    );
    assert_eq!(
        store.certificate(previous.id).await.unwrap().state,
        CertificateState::Active
    );
    let reread = store.operation(op.id).await.unwrap();
    assert_eq!(
        (reread.step, reread.version),
        (OperationStep::CertificateStored, op.version)
    );
}

// ---------------------------------------------------------------- operations

async fn operation_updates_are_compare_and_swap(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let (org, active) = organization_with_active(store, &key, "contoso.example").await;
    let op = store
        .create_operation(&new_operation(
            org.id,
            OperationKind::Upload,
            "alice".into(),
        ))
        .await
        .unwrap();
    assert_eq!(op.step, OperationStep::AwaitingSignIn);
    assert_eq!(
        op.replaces,
        Some(active.id),
        "records the certificate it will replace"
    );

    let sign_in = SignInPrompt {
        user_code: "ABCD-EFGH".into(),
        verification_uri: "https://login.example/device".into(),
        expires_at: T0 + Duration::minutes(15),
    };
    let updated = store
        .update_operation(
            op.id,
            op.version,
            OperationUpdate {
                sign_in: Some(sign_in.clone()),
                ..Default::default()
            },
            T0 + Duration::seconds(1),
        )
        .await
        .unwrap();
    assert_eq!(updated.version, op.version + 1);
    assert_eq!(updated.sign_in, Some(sign_in));
    assert_eq!(
        updated.step,
        OperationStep::AwaitingSignIn,
        "unset fields are kept"
    );

    let stale = store
        .update_operation(
            op.id,
            op.version,
            OperationUpdate {
                step: Some(OperationStep::Failed),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            stale,
            StoreError::Conflict(Conflict::OperationVersionChanged { .. })
        ),
        "{stale:?}"
    );

    let failed = store
        .update_operation(
            op.id,
            updated.version,
            OperationUpdate {
                step: Some(OperationStep::Failed),
                failure: Some(OperationFailure {
                    code: "sign_in_declined".into(),
                    message: "The sign-in was declined.".into(),
                    remediation: "Start again and accept the sign-in request.".into(),
                }),
                ..Default::default()
            },
            T0 + Duration::seconds(2),
        )
        .await
        .unwrap();
    assert_eq!(
        failed.failure.as_ref().map(|e| e.code.as_str()),
        Some("sign_in_declined")
    );
    let after_final = store
        .update_operation(
            op.id,
            failed.version,
            OperationUpdate {
                step: Some(OperationStep::Attached),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            after_final,
            StoreError::InvalidTransition {
                from: OperationStep::Failed,
                to: OperationStep::Attached,
                ..
            }
        ),
        "{after_final:?}"
    );
    assert_eq!(store.operation(op.id).await.unwrap(), failed);
}

async fn operation_take_over_needs_the_version_and_holder_read(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let op = store
        .create_operation(&new_operation(
            org.id,
            OperationKind::Generate,
            "admin".into(),
        ))
        .await
        .unwrap();
    assert_eq!(store.unfinished_operations().await.unwrap().len(), 1);

    let later = T0 + Duration::seconds(30);
    assert_eq!(
        store.heartbeat_operations("worker-1", later).await.unwrap(),
        0
    );
    let taken = store
        .take_over_operation(
            op.id,
            op.version,
            op.sign_in_holder.as_deref(),
            "worker-1",
            later,
        )
        .await
        .unwrap();
    assert_eq!(taken.sign_in_holder.as_deref(), Some("worker-1"));
    assert_eq!(taken.heartbeat_at, Some(later));
    assert_eq!(taken.version, op.version + 1);
    assert_eq!(
        store
            .heartbeat_operations("worker-1", later + Duration::seconds(20))
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store.operation(op.id).await.unwrap().version,
        taken.version,
        "a heartbeat is not a change"
    );

    // worker-2 acting on what it read before worker-1 took over loses.
    let refused = store
        .take_over_operation(
            op.id,
            op.version,
            op.sign_in_holder.as_deref(),
            "worker-2",
            later,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            refused,
            StoreError::Conflict(Conflict::OperationTakenOver { .. })
        ),
        "{refused:?}"
    );
    let current = store.operation(op.id).await.unwrap();
    assert_eq!(current.sign_in_holder.as_deref(), Some("worker-1"));
    // With the current version and holder it wins.
    let taken = store
        .take_over_operation(op.id, current.version, Some("worker-1"), "worker-2", later)
        .await
        .unwrap();
    assert_eq!(taken.sign_in_holder.as_deref(), Some("worker-2"));
}

/// The partial unique index decides: of concurrent starts for one organization exactly one
/// wins, the others are told which operation is in the way and who started it.
async fn concurrent_operation_starts_for_one_organization_have_one_winner(db: &TestDb) {
    let key = master_key();
    for round in 0..10 {
        let (org, _) =
            organization_with_active(&db.store, &key, &format!("start{round}.example")).await;
        let other = organization(&db.store, &format!("other{round}.example")).await;
        let contenders = 4;
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(contenders));
        let handles: Vec<_> = (0..contenders)
            .map(|i| {
                let store = db.store.clone();
                let start = start.clone();
                tokio::spawn(async move {
                    start.wait().await;
                    start_operation(&store, org.id, &format!("admin{i}")).await
                })
            })
            .collect();
        let mut results = Vec::new();
        for handle in handles {
            results.push(handle.await.expect("task"));
        }
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let winner = winners[0];
        for loser in results.iter().filter_map(|r| r.as_ref().err()) {
            match loser {
                StoreError::Conflict(Conflict::OperationInProgress {
                    operation,
                    started_by,
                }) => {
                    assert_eq!(operation, &winner.id.to_string(), "round {round}");
                    assert_eq!(started_by, &winner.started_by, "round {round}");
                    assert!(loser.to_string().contains("finish or cancel it"), "{loser}");
                }
                other => panic!("round {round}: unexpected {other:?}"),
            }
        }
        let unfinished: Vec<_> = db
            .store
            .operations(org.id)
            .await
            .unwrap()
            .into_iter()
            .filter(|op| !op.is_finished())
            .collect();
        assert_eq!(unfinished.len(), 1, "round {round}");
        assert_eq!(unfinished[0].id, winner.id);

        // Another organization is not held up, and once the winner finished a new one starts.
        start_operation(&db.store, other.id, "admin")
            .await
            .expect("another organization");
        advance(&db.store, winner, OperationStep::Failed).await;
        start_operation(&db.store, org.id, "admin")
            .await
            .expect("after the running one finished");
    }
}

async fn operation_state_transitions_are_checked(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let refused = |result: Result<Operation, StoreError>,
                   from: OperationStep,
                   to: OperationStep| {
        match result {
            Err(StoreError::InvalidTransition { from: f, to: t, .. }) if (f, t) == (from, to) => {}
            other => panic!("{from} -> {to} must be refused, got {other:?}"),
        }
    };
    let update = |op: &Operation, to: OperationStep| {
        store.update_operation(
            op.id,
            op.version,
            OperationUpdate {
                step: Some(to),
                ..Default::default()
            },
            T0 + Duration::seconds(1),
        )
    };

    // The sign-in cannot be skipped, and succeeded is reached only by activation.
    let op = start_operation(store, org.id, "admin").await.unwrap();
    for skipped in [
        OperationStep::CertificateStored,
        OperationStep::Attached,
        OperationStep::Succeeded,
    ] {
        refused(
            update(&op, skipped).await,
            OperationStep::AwaitingSignIn,
            skipped,
        );
    }
    assert_eq!(store.operation(op.id).await.unwrap(), op, "nothing changed");

    let signed_in = advance(store, &op, OperationStep::SignedIn).await;
    refused(
        update(&signed_in, OperationStep::AwaitingSignIn).await,
        OperationStep::SignedIn,
        OperationStep::AwaitingSignIn,
    );
    let attaching = advance(store, &signed_in, OperationStep::CertificateStored).await;
    refused(
        update(&attaching, OperationStep::Cancelled).await,
        OperationStep::CertificateStored,
        OperationStep::Cancelled,
    );
    let proving = advance(store, &attaching, OperationStep::Attached).await;
    refused(
        update(&proving, OperationStep::CertificateStored).await,
        OperationStep::Attached,
        OperationStep::CertificateStored,
    );
    let failed = advance(store, &proving, OperationStep::Failed).await;

    // A finished operation is never moved back to running, nor to another end.
    for state in OperationStep::ALL.iter().copied() {
        let err = update(&failed, state).await.unwrap_err();
        assert!(
            err.to_string().contains("never changes again"),
            "{state}: {err}"
        );
        refused(Err(err), OperationStep::Failed, state);
    }
    let touched = store
        .update_operation(
            failed.id,
            failed.version,
            OperationUpdate {
                signed_in_as: Some("still going".into()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            touched,
            StoreError::Conflict(Conflict::OperationStepChanged { .. })
        ),
        "{touched:?}"
    );
    assert_eq!(store.operation(failed.id).await.unwrap(), failed);

    // Cancelled is final too: not resumable, and it frees the organization.
    let waiting = start_operation(store, org.id, "admin").await.unwrap();
    let cancelled = advance(store, &waiting, OperationStep::Cancelled).await;
    assert!(cancelled.is_finished());
    refused(
        update(&cancelled, OperationStep::SignedIn).await,
        OperationStep::Cancelled,
        OperationStep::SignedIn,
    );
    assert!(store.unfinished_operations().await.unwrap().is_empty());
    start_operation(store, org.id, "admin")
        .await
        .expect("a cancelled operation does not block a new one");
}

async fn operation_fields_round_trip(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let op = start_operation(store, org.id, "alice").await.unwrap();
    assert_eq!(
        (op.signed_in_as.as_deref(), op.failure.as_ref()),
        (None, None)
    );
    let signed_in = store
        .update_operation(
            op.id,
            op.version,
            OperationUpdate {
                step: Some(OperationStep::SignedIn),
                signed_in_as: Some("admin@contoso.example".into()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    let failure = OperationFailure {
        code: "not_attached".into(),
        message: "The certificate is not attached.\nIt was checked twice.".into(),
        remediation: "Upload its public part in Entra ID, then import again.".into(),
    };
    let failed = store
        .update_operation(
            op.id,
            signed_in.version,
            OperationUpdate {
                step: Some(OperationStep::Failed),
                failure: Some(failure.clone()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    let reopened = Store::open(&db.url).await.unwrap();
    let read = reopened.operation(op.id).await.unwrap();
    assert_eq!(read, failed);
    assert_eq!(read.signed_in_as.as_deref(), Some("admin@contoso.example"));
    assert_eq!(
        read.failure,
        Some(failure),
        "message and remediation kept apart"
    );
    reopened.close().await;
}

/// Migration 0004: which instance holds an operation's device sign-in. Recorded once (the
/// service passes it with the sign-in prompt), kept by later updates that leave it unset, and
/// read back from a fresh connection; operations that never recorded one read as `None`.
async fn operation_sign_in_holder_is_kept_once_recorded(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let op = start_operation(store, org.id, "alice").await.unwrap();
    assert_eq!(op.sign_in_holder, None, "none until recorded");
    let held = store
        .update_operation(
            op.id,
            op.version,
            OperationUpdate {
                sign_in_holder: Some("7f1c2d9e-0000-4000-8000-00000000000a".into()),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    assert_eq!(
        held.sign_in_holder.as_deref(),
        Some("7f1c2d9e-0000-4000-8000-00000000000a")
    );
    let signed_in = advance(store, &held, OperationStep::SignedIn).await;
    assert_eq!(signed_in.sign_in_holder, held.sign_in_holder, "kept");
    let cancelled = advance(store, &signed_in, OperationStep::Cancelled).await;
    let reopened = Store::open(&db.url).await.unwrap();
    let read = reopened.operation(op.id).await.unwrap();
    assert_eq!(read, cancelled);
    assert_eq!(read.sign_in_holder, held.sign_in_holder);

    let other = organization(store, "fabrikam.example").await;
    let unrecorded = start_operation(store, other.id, "bob").await.unwrap();
    assert_eq!(
        reopened
            .operation(unrecorded.id)
            .await
            .unwrap()
            .sign_in_holder,
        None
    );
    assert_eq!(
        reopened
            .operations(org.id)
            .await
            .unwrap()
            .first()
            .and_then(|o| o.sign_in_holder.clone())
            .as_deref(),
        Some("7f1c2d9e-0000-4000-8000-00000000000a"),
        "lists carry it too"
    );
    reopened.close().await;
}

async fn certificate_proofs_keep_the_latest_answer(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let (org, active) = organization_with_active(store, &key, "contoso.example").await;
    assert_eq!(active.last_proof, None);
    let proof = |outcome, source, minutes: i64, detail: Option<&str>| CredentialProof {
        outcome,
        source,
        detail: detail.map(str::to_owned),
        checked_at: T0 + Duration::minutes(minutes),
    };

    let accepted = proof(ProofOutcome::Accepted, ProofSource::Activation, 1, None);
    assert!(
        store
            .record_certificate_proof(active.id, &accepted)
            .await
            .unwrap()
    );
    assert_eq!(
        store.certificate(active.id).await.unwrap().last_proof,
        Some(accepted.clone())
    );

    // A backup run knows the thumbprint only (any case).
    let not_registered = proof(
        ProofOutcome::KeyNotRegistered,
        ProofSource::BackupRun,
        10,
        Some("AADSTS700027: … is not registered on application."),
    );
    assert!(
        store
            .record_active_certificate_proof(
                org.id,
                &active.sha1_thumbprint.to_ascii_lowercase(),
                &not_registered
            )
            .await
            .unwrap()
    );
    // An older answer arriving late does not overwrite the newer one.
    let late = proof(
        ProofOutcome::Accepted,
        ProofSource::ConnectionCheck,
        5,
        None,
    );
    assert!(
        !store
            .record_certificate_proof(active.id, &late)
            .await
            .unwrap()
    );
    let listed = store.certificates(org.id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|c| c.id == active.id)
            .unwrap()
            .last_proof,
        Some(not_registered.clone())
    );
    assert_eq!(
        store
            .active_certificate(org.id)
            .await
            .unwrap()
            .unwrap()
            .last_proof,
        Some(not_registered)
    );

    // Only the active certificate is recorded by thumbprint; unknown ids are an error.
    let pending = pending_certificate(store, &key, org.id, &fake_private_key()).await;
    let later = proof(ProofOutcome::Accepted, ProofSource::BackupRun, 20, None);
    assert!(
        !store
            .record_active_certificate_proof(org.id, &pending.sha1_thumbprint, &later)
            .await
            .unwrap()
    );
    assert_eq!(
        store.certificate(pending.id).await.unwrap().last_proof,
        None
    );
    assert!(matches!(
        store
            .record_certificate_proof(CertificateId::new(), &later)
            .await,
        Err(StoreError::NotFound { .. })
    ));
}

// ---------------------------------------------------------------- accounts

async fn users_sessions_and_api_tokens(db: &TestDb) {
    let store = &db.store;
    // The service hashes; the store keeps the PHC string it is given.
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

    let alice = store
        .create_user("alice", hash, Role::Administrator, T0)
        .await
        .unwrap();
    let debug = format!("{alice:?}");
    assert!(
        !debug.contains(hash) && debug.contains("$argon2id$"),
        "{debug}"
    );
    let duplicate = store.create_user("alice", hash, Role::Viewer, T0).await;
    assert!(
        matches!(duplicate, Err(StoreError::AlreadyExists { .. })),
        "{duplicate:?}"
    );
    assert_eq!(
        store.user_by_username("alice").await.unwrap(),
        Some(alice.clone())
    );
    assert_eq!(store.user_by_username("bob").await.unwrap(), None);

    let session_secret = store
        .create_session(alice.id, T0, T0 + Duration::hours(8))
        .await
        .unwrap();
    assert!(
        !format!("{session_secret:?}").contains(session_secret.expose()),
        "Debug redacts"
    );
    let session = store
        .session(&SecretString::new(session_secret.expose()))
        .await
        .unwrap()
        .expect("the session");
    assert_eq!(session.user.id, alice.id);
    assert_eq!(session.expires_at, T0 + Duration::hours(8));
    assert!(
        store
            .session(&SecretString::new("forged"))
            .await
            .unwrap()
            .is_none()
    );

    // A second administrator, so alice may be disabled; her sessions are the service's to end.
    store
        .create_user("root", hash, Role::Administrator, T0)
        .await
        .unwrap();
    let change = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    store
        .update_user(alice.id, &change, T0 + Duration::minutes(1))
        .await
        .unwrap();
    let read = store.session(&session_secret).await.unwrap().unwrap();
    assert!(read.user.disabled);
    assert_eq!(store.delete_sessions_of(alice.id).await.unwrap(), 1);
    assert!(store.session(&session_secret).await.unwrap().is_none());
    let change = UserChange {
        role: Some(Role::Operator),
        disabled: Some(false),
        ..UserChange::default()
    };
    let reenabled = store
        .update_user(alice.id, &change, T0 + Duration::minutes(2))
        .await
        .unwrap();
    assert_eq!(
        (reenabled.role, reenabled.disabled),
        (Role::Operator, false)
    );

    let (secret, token) = store
        .create_api_token(
            &NewApiToken {
                name: "ci".into(),
                role: Role::Viewer,
                owner: alice.id,
                created_by: "alice".into(),
                expires_at: T0 + Duration::days(30),
            },
            T0,
        )
        .await
        .unwrap();
    let used_at = T0 + Duration::days(1);
    store.record_api_token_use(token.id, used_at).await.unwrap();
    let (found, owner) = store
        .api_token(&SecretString::new(secret.expose()))
        .await
        .unwrap()
        .expect("the token");
    assert_eq!(
        (found.role, found.last_used_at, owner.map(|o| o.id)),
        (Role::Viewer, Some(used_at), Some(alice.id))
    );
    let revoked = store.revoke_api_token(token.id, used_at).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(used_at));

    // Only hashes are stored.
    let hashes = db.raw_all_blobs("SELECT token_hash FROM api_tokens").await;
    assert_eq!(
        hashes,
        vec![BearerSecret::hash_of(&secret).as_bytes().to_vec()]
    );
    let sessions = db.raw_all_blobs("SELECT id_hash FROM sessions").await;
    assert!(sessions.is_empty());
}

/// Locking everyone out must not be possible by racing: of two administrators disabling each
/// other at the same moment, exactly one succeeds.
async fn two_administrators_disabling_each_other_at_once_leave_one(db: &TestDb) {
    let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";
    for round in 0..10 {
        let mut ids = Vec::new();
        for name in ["a", "b"] {
            let user = db
                .store
                .create_user(&format!("{name}{round}"), hash, Role::Administrator, T0)
                .await
                .unwrap();
            ids.push(user.id);
        }
        // Earlier rounds' administrators are deleted, so these two are the only ones.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(2));
        let handles: Vec<_> = ids
            .iter()
            .map(|&id| {
                let store = db.store.clone();
                let start = start.clone();
                tokio::spawn(async move {
                    let change = UserChange {
                        disabled: Some(true),
                        ..UserChange::default()
                    };
                    start.wait().await;
                    store.update_user(id, &change, T0).await
                })
            })
            .collect();
        let mut ok = 0;
        for handle in handles {
            match handle.await.expect("task") {
                Ok(_) => ok += 1,
                Err(StoreError::Conflict(Conflict::LastAdministrator)) => {}
                Err(other) => panic!("round {round}: unexpected {other:?}"),
            }
        }
        assert_eq!(ok, 1, "round {round}");
        let enabled = db
            .store
            .users()
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Administrator && !u.disabled)
            .count();
        assert_eq!(enabled, 1, "round {round}");
        // Deleting is not guarded (nothing offers it); it clears the way for the next pair.
        for id in ids {
            db.store.delete_user(id).await.unwrap();
        }
    }
}

/// The sign-in failure count is a compare-and-swap: of contenders that saw the same count one
/// wins, and contenders that read again after losing lose no count.
async fn concurrent_sign_in_failure_counts_lose_no_update(db: &TestDb) {
    let contenders = 8;
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(contenders));
    let first: Vec<_> = (0..contenders)
        .map(|_| {
            let (store, start) = (db.store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                store
                    .count_sign_in_failure("admin", "192.0.2.1", 0, 1, T0)
                    .await
                    .expect("count")
            })
        })
        .collect();
    let mut winners = 0;
    for handle in first {
        winners += usize::from(handle.await.expect("task"));
    }
    assert_eq!(winners, 1, "one of those that saw no record creates it");

    let counting: Vec<_> = (0..contenders)
        .map(|_| {
            let (store, start) = (db.store.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                loop {
                    let seen = store
                        .sign_in_failures("admin", "192.0.2.1")
                        .await
                        .expect("read")
                        .map_or(0, |r| r.failures);
                    if store
                        .count_sign_in_failure("admin", "192.0.2.1", seen, seen + 1, T0)
                        .await
                        .expect("count")
                    {
                        break;
                    }
                }
            })
        })
        .collect();
    for handle in counting {
        handle.await.expect("task");
    }
    let record = db
        .store
        .sign_in_failures("admin", "192.0.2.1")
        .await
        .unwrap()
        .expect("record");
    assert_eq!(record.failures, 1 + contenders as u32);
    assert_eq!(record.last_failure_at, T0);
}

// ---------------------------------------------------------------- audit

async fn audit_log_appends_filters_and_refuses_changes(db: &TestDb) {
    let store = &db.store;
    let org = organization(store, "contoso.example").await;
    let other = organization(store, "fabrikam.example").await;
    let event =
        |minute: i64, actor: &str, org: Option<OrganizationId>, action, outcome| NewAuditEntry {
            at: T0 + Duration::minutes(minute),
            actor: actor.into(),
            organization: org,
            action,
            outcome,
            thumbprints: vec!["AB".repeat(20)],
            detail: Some(format!("minute {minute}")),
        };
    let mut ids = Vec::new();
    for e in [
        event(0, "admin", None, AuditAction::SignIn, AuditOutcome::Success),
        event(
            1,
            "admin",
            Some(org.id),
            AuditAction::CertificateGenerated,
            AuditOutcome::Success,
        ),
        event(
            2,
            "admin",
            Some(org.id),
            AuditAction::CertificateActivated,
            AuditOutcome::Success,
        ),
        event(
            3,
            "bob",
            Some(other.id),
            AuditAction::CertificateGenerated,
            AuditOutcome::Denied,
        ),
        event(4, "bob", None, AuditAction::SignIn, AuditOutcome::Failure),
    ] {
        ids.push(store.append_audit(&e).await.unwrap());
    }
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase");

    let list = |filter: AuditFilter| async move {
        store
            .audit_entries(&filter)
            .await
            .unwrap()
            .iter()
            .map(|e| e.id)
            .collect::<Vec<i64>>()
    };
    assert_eq!(
        list(AuditFilter::default()).await,
        ids.iter().rev().copied().collect::<Vec<_>>()
    );
    assert_eq!(
        list(AuditFilter {
            organization: Some(org.id),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        list(AuditFilter {
            actor: Some("bob".into()),
            ..Default::default()
        })
        .await,
        vec![ids[4], ids[3]]
    );
    assert_eq!(
        list(AuditFilter {
            action: Some("certificate_".into()),
            ..Default::default()
        })
        .await,
        vec![ids[3], ids[2], ids[1]]
    );
    assert_eq!(
        list(AuditFilter {
            action: Some("sign_in".into()),
            ..Default::default()
        })
        .await,
        vec![ids[4], ids[0]]
    );
    for literal in ["CERTIFICATE_", "%_", "_ign_"] {
        let filter = AuditFilter {
            action: Some(literal.into()),
            ..Default::default()
        };
        assert_eq!(
            list(filter).await,
            Vec::<i64>::new(),
            "{literal} is matched literally, case-sensitively"
        );
    }
    assert_eq!(
        list(AuditFilter {
            outcome: Some(AuditOutcome::Denied),
            ..Default::default()
        })
        .await,
        vec![ids[3]]
    );
    assert_eq!(
        list(AuditFilter {
            since: Some(T0 + Duration::minutes(1)),
            until: Some(T0 + Duration::minutes(3)),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );
    assert_eq!(
        list(AuditFilter {
            limit: 2,
            ..Default::default()
        })
        .await,
        vec![ids[4], ids[3]]
    );
    assert_eq!(
        list(AuditFilter {
            limit: 2,
            before: Some(ids[3]),
            ..Default::default()
        })
        .await,
        vec![ids[2], ids[1]]
    );

    let first = store
        .audit_entries(&AuditFilter {
            before: Some(ids[1]),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].thumbprints, vec!["AB".repeat(20)]);
    assert_eq!(first[0].detail.as_deref(), Some("minute 0"));
    assert_eq!(first[0].at, T0);

    // Append-only, enforced by the database.
    let update = db
        .raw_execute("UPDATE audit_log SET actor = 'mallory'", &[])
        .await;
    assert!(update.is_err(), "UPDATE on audit_log must fail");
    let delete = db.raw_execute("DELETE FROM audit_log", &[]).await;
    assert!(delete.is_err(), "DELETE on audit_log must fail");
    assert_eq!(
        store
            .audit_entries(&AuditFilter::default())
            .await
            .unwrap()
            .len(),
        5
    );
}

// ---------------------------------------------------------------- backups

async fn deleting_an_organization_removes_its_data_but_keeps_the_audit_log(db: &TestDb) {
    let store = &db.store;
    let key = master_key();
    let (org, active) = organization_with_active(store, &key, "contoso.example").await;
    let (kept, kept_active) = organization_with_active(store, &key, "fabrikam.example").await;
    let pending = pending_certificate(store, &key, org.id, &fake_private_key()).await;
    operation_in(store, org.id, pending.id, OperationStep::CertificateStored).await;
    let policy = policy(store, org.id, Some(T0)).await;
    let run = store
        .start_run(policy.id, RunTrigger::Manual, T0)
        .await
        .unwrap();
    store
        .upsert_mailbox_item(&item(org.id, "adele", "m1", b"h"), run.id)
        .await
        .unwrap();
    store
        .save_delta_link(policy.id, "adele", "https://graph/delta", run.id, T0)
        .await
        .unwrap();
    store
        .append_audit(&NewAuditEntry {
            at: T0,
            actor: "admin".into(),
            organization: Some(org.id),
            action: AuditAction::CertificateActivated,
            outcome: AuditOutcome::Success,
            thumbprints: vec![active.sha1_thumbprint.clone()],
            detail: None,
        })
        .await
        .unwrap();

    store.delete_organization(org.id).await.unwrap();

    assert!(matches!(
        store.organization(org.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.certificate(active.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(store.operations(org.id).await.unwrap().is_empty());
    assert!(matches!(
        store.policy(policy.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(matches!(
        store.run(run.id).await,
        Err(StoreError::NotFound { .. })
    ));
    assert!(
        store
            .mailbox_items(org.id, "adele")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.delta_link(policy.id, "adele").await.unwrap(), None);
    let audit = store
        .audit_entries(&AuditFilter {
            organization: Some(org.id),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(audit.len(), 1, "audit events outlive the organization");
    assert_eq!(
        store
            .active_certificate(kept.id)
            .await
            .unwrap()
            .map(|c| c.id),
        Some(kept_active.id),
        "other organizations are untouched"
    );
    assert!(matches!(
        store.delete_organization(org.id).await,
        Err(StoreError::NotFound { .. })
    ));
}

async fn operation_interrupted_before_activation_is_resumed_after_restart(db: &TestDb) {
    let key = master_key();
    let (org, previous) = organization_with_active(&db.store, &key, "contoso.example").await;
    let plaintext = fake_private_key();
    let cert = pending_certificate(&db.store, &key, org.id, &plaintext).await;
    let op = db
        .store
        .create_operation(&new_operation(
            org.id,
            OperationKind::Generate,
            "admin".into(),
        ))
        .await
        .unwrap();
    let op = db
        .store
        .take_over_operation(
            op.id,
            op.version,
            op.sign_in_holder.as_deref(),
            "process-1",
            T0,
        )
        .await
        .unwrap();
    let op = advance(&db.store, &op, OperationStep::SignedIn).await;
    db.store
        .update_operation(
            op.id,
            op.version,
            OperationUpdate {
                step: Some(OperationStep::Attached),
                certificate: Some(cert.id),
                ..Default::default()
            },
            T0,
        )
        .await
        .unwrap();
    // process-1 is killed here. A new process opens the same database.
    let restarted = Store::open(&db.url).await.unwrap();
    let after = T0 + Duration::minutes(2);
    let pending = restarted.unfinished_operations().await.unwrap();
    assert_eq!(pending.len(), 1);
    let resumed = restarted
        .take_over_operation(
            pending[0].id,
            pending[0].version,
            Some("process-1"),
            "process-2",
            after,
        )
        .await
        .unwrap();
    assert_eq!(resumed.step, OperationStep::Attached);
    assert_eq!(resumed.certificate, Some(cert.id));
    assert_eq!(resumed.replaces, Some(previous.id));
    assert_eq!(
        restarted
            .certificate_private_key(&key, cert.id)
            .await
            .unwrap()
            .as_slice(),
        plaintext.as_slice(),
        "the key survives the restart"
    );
    let active = restarted
        .activate_certificate(
            Activation {
                organization: org.id,
                operation: resumed.id,
                expected_step: resumed.step,
                expected_version: resumed.version,
                certificate: cert.id,
                expected_active: resumed.replaces,
            },
            after,
        )
        .await
        .unwrap();
    assert_eq!(
        (active.id, active.state, active.activated_at),
        (cert.id, CertificateState::Active, Some(after))
    );
    assert_eq!(
        restarted.operation(op.id).await.unwrap().step,
        OperationStep::Succeeded
    );
    assert!(restarted.unfinished_operations().await.unwrap().is_empty());
    restarted.close().await;
}
