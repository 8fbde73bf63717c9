//! Migration 0005 on a database written by the previous release (schema 0004): operations in
//! every stored state, certificates in every state with a proof, organizations with their
//! connection state and an API token. After the upgrade everything reads back through the
//! service's port in the service's words.

mod harness;

use std::sync::Arc;

use harness::{EmptyDb, RawParam};
use tenantlink_service::{
    AccountRepository, CertificateId, CertificateSource, CertificateState, ConnectionState,
    NewApiToken, OperationFailure, OperationId, OperationKind, OperationStep, OrganizationId,
    ProofOutcome, ProofSource, Repository, Role,
};
use tenantlink_store::{BackendKind, MasterKey, StoreRepository};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-11-30 09:00:00 UTC);

fn micros(minutes: i64) -> i64 {
    (T0.unix_timestamp() + minutes * 60) * 1_000_000
}

fn at(minutes: i64) -> OffsetDateTime {
    T0 + time::Duration::minutes(minutes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_a_0004_database_reads_back_in_the_services_words() {
    a_0004_database_reads_back_in_the_services_words(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_a_0004_database_reads_back_in_the_services_words() {
    a_0004_database_reads_back_in_the_services_words(BackendKind::Postgres).await;
}

async fn organization(
    db: &EmptyDb,
    name: &str,
    connection: &str,
    error: Option<&str>,
) -> OrganizationId {
    let id = OrganizationId::new();
    db.raw_execute(
        &format!(
            "INSERT INTO organizations (id, tenant, cloud, backup_app_id, app_object_id, \
             display_name, connection_state, last_error, created_at, updated_at) \
             VALUES ($1, $2, 'sandbox', 'app-1', 'object-1', $3, $4, NULLIF($5, ''), {0}, {0})",
            micros(0)
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(format!("{}.example", name.to_ascii_lowercase())),
            RawParam::Text(name.into()),
            RawParam::Text(connection.into()),
            RawParam::Text(error.unwrap_or_default().into()),
        ],
    )
    .await
    .expect("insert an organization");
    id
}

async fn certificate(
    db: &EmptyDb,
    organization: OrganizationId,
    state: &str,
    sha1: &str,
    proof: Option<(&str, &str, &str)>,
) -> CertificateId {
    let id = CertificateId::new();
    let (outcome, source, detail) = proof.unwrap_or_default();
    db.raw_execute(
        &format!(
            "INSERT INTO certificates (id, organization_id, sha1_thumbprint, sha256_thumbprint, \
             subject, not_before, not_after, source, public_der, encrypted_private_key, state, \
             created_at, activated_at, retired_at, proof_outcome, proof_source, proof_detail, \
             proof_at) VALUES ($1, $2, $3, $4, 'CN=old', {0}, {1}, 'uploaded', $5, $5, $6, {0}, \
             CASE WHEN $6 IN ('active', 'retired') THEN {0} END, \
             CASE WHEN $6 = 'retired' THEN {2} END, NULLIF($7, ''), NULLIF($8, ''), \
             NULLIF($9, ''), CASE WHEN $7 = '' THEN NULL ELSE {2} END)",
            micros(1),
            micros(60 * 24 * 365),
            micros(30),
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(organization.to_string()),
            RawParam::Text(sha1.into()),
            RawParam::Text(format!("{sha1}{sha1}")),
            RawParam::Blob(vec![0x30, 0x82, 1, 2]),
            RawParam::Text(state.into()),
            RawParam::Text(outcome.into()),
            RawParam::Text(source.into()),
            RawParam::Text(detail.into()),
        ],
    )
    .await
    .expect("insert a certificate");
    id
}

struct OldOperation<'a> {
    organization: OrganizationId,
    state: &'a str,
    certificate: Option<CertificateId>,
    replaces: Option<CertificateId>,
    error: Option<(&'a str, &'a str, &'a str)>,
    minute: i64,
}

async fn operation(db: &EmptyDb, old: OldOperation<'_>) -> OperationId {
    let id = OperationId::new();
    let (code, message, remediation) = old.error.unwrap_or_default();
    db.raw_execute(
        &format!(
            "INSERT INTO certificate_operations (id, organization_id, kind, state, step, \
             started_by, expected_active_id, new_certificate_id, user_code, verification_uri, \
             device_code_expires_at, error_kind, error_message, error_remediation, \
             signed_in_as, sign_in_holder, version, created_at, updated_at) \
             VALUES ($1, $2, 'generate', $3, replace($3, '_', ' '), 'alice', NULLIF($4, ''), \
             NULLIF($5, ''), 'WXYZ9876', 'https://login.example.test/device', {1}, \
             NULLIF($6, ''), NULLIF($7, ''), NULLIF($8, ''), 'admin@contoso.example', \
             'instance-a', 4, {0}, {1})",
            micros(old.minute),
            micros(old.minute + 1),
        ),
        &[
            RawParam::Text(id.to_string()),
            RawParam::Text(old.organization.to_string()),
            RawParam::Text(old.state.into()),
            RawParam::Text(old.replaces.map(|c| c.to_string()).unwrap_or_default()),
            RawParam::Text(old.certificate.map(|c| c.to_string()).unwrap_or_default()),
            RawParam::Text(code.into()),
            RawParam::Text(message.into()),
            RawParam::Text(remediation.into()),
        ],
    )
    .await
    .expect("insert an operation");
    id
}

async fn a_0004_database_reads_back_in_the_services_words(kind: BackendKind) {
    let db = EmptyDb::new(kind).await;
    db.apply_migrations_through(4).await;

    // Contoso: an active certificate (accepted proof), a retired and a discarded one, and its
    // finished operations.
    let contoso = organization(&db, "Contoso", "connected", None).await;
    let retired = certificate(&db, contoso, "retired", "AA01", None).await;
    let active = certificate(
        &db,
        contoso,
        "active",
        "AA02",
        Some(("accepted", "backup_run", "")),
    )
    .await;
    let discarded = certificate(&db, contoso, "discarded", "AA03", None).await;
    let succeeded = operation(
        &db,
        OldOperation {
            organization: contoso,
            state: "succeeded",
            certificate: Some(active),
            replaces: Some(retired),
            error: None,
            minute: 10,
        },
    )
    .await;
    let failed = operation(
        &db,
        OldOperation {
            organization: contoso,
            state: "failed",
            certificate: Some(discarded),
            replaces: Some(active),
            error: Some((
                "attach_failed",
                "Graph refused the key.",
                "Ask a Global Administrator.",
            )),
            minute: 20,
        },
    )
    .await;
    let cancelled = operation(
        &db,
        OldOperation {
            organization: contoso,
            state: "cancelled",
            certificate: None,
            replaces: Some(active),
            error: None,
            minute: 30,
        },
    )
    .await;

    // One unfinished operation in each unfinished state, one organization each (the database
    // allows one per organization); the pending certificates of those past the sign-in.
    let mut unfinished = Vec::new();
    for (index, (state, step)) in [
        ("awaiting_sign_in", OperationStep::AwaitingSignIn),
        ("awaiting_input", OperationStep::SignedIn),
        ("attaching", OperationStep::CertificateStored),
        ("proving", OperationStep::Attached),
    ]
    .into_iter()
    .enumerate()
    {
        let org = organization(
            &db,
            &format!("Tenant {index}"),
            "broken",
            Some("AADSTS700027: key not found"),
        )
        .await;
        let pending = match step {
            OperationStep::CertificateStored | OperationStep::Attached => Some(
                certificate(
                    &db,
                    org,
                    "pending",
                    &format!("BB0{index}"),
                    Some((
                        "key_not_registered",
                        "activation",
                        "AADSTS700027: key not found",
                    )),
                )
                .await,
            ),
            _ => None,
        };
        let id = operation(
            &db,
            OldOperation {
                organization: org,
                state,
                certificate: pending,
                replaces: None,
                error: None,
                minute: 40 + index as i64,
            },
        )
        .await;
        unfinished.push((org, id, step, pending));
    }
    db.raw_execute(
        &format!(
            "INSERT INTO api_tokens (id, token_hash, label, role, created_by, created_at) \
             VALUES ($1, $2, 'ci', 'operator', 'alice', {})",
            micros(0)
        ),
        &[
            RawParam::Text(uuid::Uuid::new_v4().to_string()),
            RawParam::Blob(vec![7; 32]),
        ],
    )
    .await
    .expect("insert an API token");

    let db = db.open().await; // applies 0005
    let key = Arc::new(MasterKey::generate().unwrap());
    let repo = StoreRepository::new(db.store.clone(), key);

    // Organizations: name, app_id, connection under the service's names.
    let org = repo.organization(contoso).await.unwrap();
    assert_eq!(org.name, "Contoso");
    assert_eq!(org.app_id, "app-1");
    assert_eq!(org.app_object_id.as_deref(), Some("object-1"));
    assert_eq!(org.connection, ConnectionState::Connected);
    assert_eq!(org.last_error, None);
    assert_eq!(org.active_certificate, Some(active));
    assert_eq!(repo.organizations().await.unwrap().len(), 5);

    // Certificates in every state, newest first (all share a creation time: by id).
    let certificates = repo.certificates(contoso).await.unwrap();
    let mut expected = vec![retired, active, discarded];
    expected.sort();
    assert_eq!(
        certificates.iter().map(|c| c.id).collect::<Vec<_>>(),
        expected
    );
    let read = repo.certificate(active).await.unwrap();
    assert_eq!(read.state, CertificateState::Active);
    assert_eq!(read.sha1_thumbprint, "AA02");
    assert_eq!(read.sha256_thumbprint, "AA02AA02");
    assert_eq!(read.source, CertificateSource::Uploaded);
    assert_eq!(read.der, [0x30, 0x82, 1, 2]);
    assert_eq!(read.activated_at, Some(at(1)));
    let proof = read.last_proof.expect("the proof is kept");
    assert_eq!(proof.outcome, ProofOutcome::Accepted);
    assert_eq!(proof.source, ProofSource::BackupRun);
    assert_eq!(proof.checked_at, at(30));
    let read = repo.certificate(retired).await.unwrap();
    assert_eq!(read.state, CertificateState::Retired);
    assert_eq!(read.retired_at, Some(at(30)));
    assert_eq!(
        repo.certificate(discarded).await.unwrap().state,
        CertificateState::Discarded
    );

    // Finished operations, newest first, with everything they recorded.
    let operations = repo.operations(contoso).await.unwrap();
    assert_eq!(
        operations
            .iter()
            .map(|o| (o.id, o.step))
            .collect::<Vec<_>>(),
        [
            (cancelled, OperationStep::Cancelled),
            (failed, OperationStep::Failed),
            (succeeded, OperationStep::Succeeded),
        ]
    );
    let done = repo.operation(succeeded).await.unwrap();
    assert_eq!(done.kind, OperationKind::Generate);
    assert_eq!(done.started_by, "alice");
    assert_eq!(done.started_at, at(10));
    assert_eq!(done.updated_at, at(11));
    assert_eq!(done.version, 4);
    assert_eq!(done.certificate, Some(active));
    assert_eq!(done.sha1_thumbprint.as_deref(), Some("AA02"));
    assert_eq!(done.replaces, Some(retired));
    assert_eq!(done.signed_in_as.as_deref(), Some("admin@contoso.example"));
    assert_eq!(done.sign_in_holder.as_deref(), Some("instance-a"));
    let prompt = done.sign_in.expect("the sign-in prompt is kept");
    assert_eq!(prompt.user_code, "WXYZ9876");
    assert_eq!(prompt.expires_at, at(11));
    assert_eq!(
        repo.operation(failed).await.unwrap().failure,
        Some(OperationFailure {
            code: "attach_failed".into(),
            message: "Graph refused the key.".into(),
            remediation: "Ask a Global Administrator.".into(),
        })
    );

    // The unfinished ones, oldest first, at the service's steps.
    let resumable = repo.unfinished_operations().await.unwrap();
    assert_eq!(
        resumable.iter().map(|o| (o.id, o.step)).collect::<Vec<_>>(),
        unfinished
            .iter()
            .map(|(_, id, step, _)| (*id, *step))
            .collect::<Vec<_>>()
    );
    for (org, id, _, pending) in &unfinished {
        let op = repo.operation(*id).await.unwrap();
        assert_eq!(op.certificate, *pending);
        let read = repo.organization(*org).await.unwrap();
        assert_eq!(read.connection, ConnectionState::Broken);
        assert_eq!(
            read.last_error.as_deref(),
            Some("AADSTS700027: key not found")
        );
        if let Some(pending) = pending {
            let certificate = repo.certificate(*pending).await.unwrap();
            assert_eq!(certificate.state, CertificateState::Pending);
            assert_eq!(
                certificate.last_proof.map(|p| p.outcome),
                Some(ProofOutcome::KeyNotRegistered)
            );
        }
    }

    // They carry on under the new words: the one at `attached` is activated, and the one
    // awaiting its sign-in moves on to `signed_in`.
    let (org, id, _, pending) = unfinished[3];
    let at_attached = repo.operation(id).await.unwrap();
    let done = repo.activate(&at_attached, at(60)).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded);
    assert_eq!(
        repo.organization(org).await.unwrap().active_certificate,
        pending
    );
    let waiting = repo.operation(unfinished[0].1).await.unwrap();
    let signed_in = tenantlink_service::Operation {
        step: OperationStep::SignedIn,
        version: waiting.version + 1,
        ..waiting
    };
    repo.update_operation(&signed_in).await.unwrap();
    assert_eq!(
        repo.operation(signed_in.id).await.unwrap().step,
        OperationStep::SignedIn
    );

    // The API token is found under its name (was label). Its creator `alice` is no account
    // here, so migration 0008 revoked it (a token acts for an account or not at all).
    let alice = repo
        .create_user(
            "alice",
            "$argon2id$v=19$stored",
            Role::Administrator,
            at(60),
        )
        .await
        .unwrap();
    let (issued, _) = repo
        .create_api_token(
            &NewApiToken {
                name: "deploy".into(),
                role: Role::Viewer,
                owner: alice.id,
                created_by: "alice".into(),
                expires_at: at(60 * 24),
            },
            at(61),
        )
        .await
        .unwrap();
    let (found, _) = repo
        .api_token(&issued)
        .await
        .unwrap()
        .expect("the new token is found");
    assert_eq!(found.name, "deploy");
    let old = db.store.api_tokens().await.unwrap();
    assert!(old.iter().any(|t| t.name == "ci"
        && t.role == Role::Operator
        && t.owner.is_none()
        && t.revoked_at.is_some()));
    db.store.close().await;
}
