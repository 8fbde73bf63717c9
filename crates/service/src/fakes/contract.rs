//! The contract of [`Repository`]: one set of cases every implementation must pass, run against
//! the in-memory fake (this crate's tests) and against SQLite and PostgreSQL (the store's
//! tests), so the fake the workflow tests rely on cannot drift from the database.
//!
//! Each case takes a fresh, empty repository. Run them all with [`CASES`].

use crate::audit::{AuditAction, AuditOutcome, NewAuditEntry};
use crate::model::{
    CertificateId, CertificateSource, CertificateState, ConnectionState, NewOrganization,
    Organization, OrganizationId, StoredCertificate,
};
use crate::operation::{
    Operation, OperationFailure, OperationId, OperationKind, OperationStep, SignInPrompt,
};
use crate::ports::{BoxFuture, RepoResult, Repository, RepositoryError};
use crate::proof::{CredentialProof, ProofOutcome, ProofSource};
use std::sync::OnceLock;
use tenantlink_certificate::{Credential, GenerateOptions};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// One case: its name and the check, given a fresh repository.
pub type Case = (
    &'static str,
    for<'a> fn(&'a dyn Repository) -> BoxFuture<'a, ()>,
);

macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        /// Every case of the contract.
        pub const CASES: &[Case] = &[$((stringify!($name), |repo| Box::pin($name(repo)))),+];
    };
}

cases!(
    organizations_are_listed_by_name_then_id,
    a_duplicate_organization_is_a_conflict,
    connection_state_is_recorded_and_read_back,
    certificates_are_listed_newest_first_with_their_keys,
    one_unfinished_operation_per_organization,
    operation_updates_are_compare_and_swap_on_the_version,
    operation_steps_follow_each_other_and_finished_ones_never_change,
    activation_is_compare_and_swap,
    proofs_keep_the_newest_answer_and_leave_the_connection_alone,
    the_service_rule_sets_the_connection_from_the_active_certificates_proof,
    only_pending_certificates_are_discarded,
    operations_are_listed_newest_first_and_unfinished_ones_oldest_first,
    heartbeats_touch_only_the_holders_unfinished_operations,
    take_over_is_compare_and_swap_on_version_and_holder,
    audit_is_newest_first_up_to_the_limit,
    a_rotation_is_created_with_its_certificate_and_walks_key_added_to_activation,
    keys_to_remove_are_those_a_rotation_retired_until_marked_removed,
    an_organizations_keys_to_remove_are_its_own,
    connect_records_the_application_it_registered,
    a_connect_operation_walks_its_registration_steps_to_activation,
);

const T0: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);

fn minutes(n: i64) -> OffsetDateTime {
    T0 + Duration::minutes(n)
}

/// Key generation is slow in debug builds: a few credentials, made once, shared by all cases.
fn credential(index: usize) -> &'static Credential {
    static CREDENTIALS: OnceLock<Vec<Credential>> = OnceLock::new();
    &CREDENTIALS.get_or_init(|| {
        (0..3)
            .map(|i| {
                tenantlink_certificate::generate(
                    &GenerateOptions {
                        subject_cn: format!("contract {i}"),
                        ..GenerateOptions::default()
                    },
                    T0,
                )
                .expect("generate a test credential")
            })
            .collect()
    })[index]
}

async fn organization(repo: &dyn Repository, name: &str) -> Organization {
    repo.add_organization(
        NewOrganization {
            name: name.to_owned(),
            tenant: format!("{}.example", name.to_ascii_lowercase()),
            ..super::fixtures::new_organization()
        },
        T0,
    )
    .await
    .expect("add an organization")
}

async fn certificate(
    repo: &dyn Repository,
    organization: OrganizationId,
    index: usize,
    at: OffsetDateTime,
) -> StoredCertificate {
    repo.save_certificate(
        organization,
        credential(index),
        CertificateSource::Generated,
        at,
    )
    .await
    .expect("save a certificate")
}

fn new_operation(organization: OrganizationId, at: OffsetDateTime) -> Operation {
    Operation {
        id: OperationId::new(),
        organization,
        kind: OperationKind::Generate,
        step: OperationStep::AwaitingSignIn,
        started_by: "alice".into(),
        started_at: at,
        updated_at: at,
        version: 1,
        sign_in: Some(SignInPrompt {
            user_code: "ABCD1234".into(),
            verification_uri: "https://login.example.test/device".into(),
            expires_at: at + Duration::minutes(15),
        }),
        signed_in_as: None,
        certificate: None,
        sha1_thumbprint: None,
        replaces: None,
        failure: None,
        sign_in_holder: Some("instance-a".into()),
        heartbeat_at: Some(at),
    }
}

/// `operation` moved to `step` and saved, as the workflows do (version bumped, then written).
async fn advance(
    repo: &dyn Repository,
    operation: &Operation,
    step: OperationStep,
    at: OffsetDateTime,
) -> RepoResult<Operation> {
    let next = Operation {
        step,
        version: operation.version + 1,
        updated_at: at,
        ..operation.clone()
    };
    repo.update_operation(&next).await?;
    repo.operation(next.id).await
}

/// An operation of `organization` at `attached` with a fresh certificate `index`.
async fn attached(
    repo: &dyn Repository,
    organization: OrganizationId,
    index: usize,
) -> (Operation, StoredCertificate) {
    let op = repo
        .create_operation(&new_operation(organization, minutes(1)))
        .await
        .expect("create");
    let op = advance(repo, &op, OperationStep::SignedIn, minutes(2))
        .await
        .expect("signed in");
    let stored = certificate(repo, organization, index, minutes(3)).await;
    let with_certificate = Operation {
        certificate: Some(stored.id),
        ..op
    };
    let op = advance(
        repo,
        &with_certificate,
        OperationStep::CertificateStored,
        minutes(3),
    )
    .await
    .expect("certificate stored");
    let op = advance(repo, &op, OperationStep::Attached, minutes(4))
        .await
        .expect("attached");
    (op, stored)
}

/// A rotation of `organization` as the workflow creates it: at `certificate_stored`, with a
/// fresh pending certificate `index`, then walked to `attached`.
async fn rotation_attached(
    repo: &dyn Repository,
    organization: OrganizationId,
    index: usize,
    at: OffsetDateTime,
) -> (Operation, StoredCertificate) {
    let stored = certificate(repo, organization, index, at).await;
    let rotation = Operation {
        kind: OperationKind::Rotate,
        step: OperationStep::CertificateStored,
        started_by: "renewal".into(),
        sign_in: None,
        certificate: Some(stored.id),
        ..new_operation(organization, at)
    };
    let op = repo.create_operation(&rotation).await.expect("create");
    let op = advance(repo, &op, OperationStep::KeyAdded, at)
        .await
        .expect("key added");
    let op = advance(repo, &op, OperationStep::Attached, at)
        .await
        .expect("attached");
    (op, stored)
}

fn is_conflict<T: std::fmt::Debug>(result: &RepoResult<T>) -> bool {
    matches!(result, Err(RepositoryError::Conflict { .. }))
}

fn is_not_found<T: std::fmt::Debug>(result: &RepoResult<T>) -> bool {
    matches!(result, Err(RepositoryError::NotFound { .. }))
}

// ---------------------------------------------------------------------------------- cases

async fn organizations_are_listed_by_name_then_id(repo: &dyn Repository) {
    let zeta = organization(repo, "Zeta").await;
    let alpha = organization(repo, "Alpha").await;
    let mid = organization(repo, "Mid").await;
    let names: Vec<_> = repo
        .organizations()
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.name)
        .collect();
    assert_eq!(names, ["Alpha", "Mid", "Zeta"]);

    assert_eq!(repo.organization(alpha.id).await.unwrap(), alpha);
    assert_eq!(alpha.connection, ConnectionState::Unknown);
    assert_eq!(alpha.last_error, None);
    assert_eq!(alpha.active_certificate, None);
    assert_eq!(alpha.app_object_id, None);
    assert_eq!(alpha.created_at, T0);

    repo.set_app_object_id(mid.id, "object-1", minutes(1))
        .await
        .unwrap();
    assert_eq!(
        repo.organization(mid.id).await.unwrap().app_object_id,
        Some("object-1".to_owned())
    );
    assert_eq!(repo.organization(zeta.id).await.unwrap(), zeta);
    assert!(is_not_found(
        &repo.organization(OrganizationId::new()).await
    ));
}

async fn a_duplicate_organization_is_a_conflict(repo: &dyn Repository) {
    let first = organization(repo, "Contoso").await;
    let again = repo
        .add_organization(
            NewOrganization {
                name: "Contoso again".into(),
                tenant: first.tenant.clone(),
                cloud: first.cloud,
                app_id: first.app_id.clone(),
            },
            T0,
        )
        .await;
    assert!(is_conflict(&again), "{again:?}");
    assert_eq!(repo.organizations().await.unwrap(), vec![first]);
}

async fn connection_state_is_recorded_and_read_back(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let other = organization(repo, "Fabrikam").await;
    repo.set_connection_state(
        org.id,
        ConnectionState::Broken,
        Some("AADSTS700027: key not found"),
        minutes(1),
    )
    .await
    .unwrap();
    let read = repo.organization(org.id).await.unwrap();
    assert_eq!(read.connection, ConnectionState::Broken);
    assert_eq!(
        read.last_error.as_deref(),
        Some("AADSTS700027: key not found")
    );
    assert_eq!(repo.organization(other.id).await.unwrap(), other);

    repo.set_connection_state(org.id, ConnectionState::Connected, None, minutes(2))
        .await
        .unwrap();
    let read = repo.organization(org.id).await.unwrap();
    assert_eq!(read.connection, ConnectionState::Connected);
    assert_eq!(read.last_error, None);

    let missing = repo
        .set_connection_state(
            OrganizationId::new(),
            ConnectionState::Connected,
            None,
            minutes(3),
        )
        .await;
    assert!(is_not_found(&missing), "{missing:?}");
}

async fn certificates_are_listed_newest_first_with_their_keys(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let other = organization(repo, "Fabrikam").await;
    let older = certificate(repo, org.id, 0, minutes(1)).await;
    let newer = certificate(repo, org.id, 1, minutes(2)).await;

    let thumbprints = credential(0).certificate().thumbprints();
    assert_eq!(older.organization, org.id);
    assert_eq!(older.sha1_thumbprint, thumbprints.sha1_hex());
    assert_eq!(older.sha256_thumbprint, thumbprints.sha256_hex());
    assert_eq!(older.der, credential(0).certificate().der());
    assert_eq!(older.subject, credential(0).certificate().subject());
    assert_eq!(older.source, CertificateSource::Generated);
    assert_eq!(older.state, CertificateState::Pending);
    assert_eq!(older.created_at, minutes(1));
    assert_eq!(older.activated_at, None);
    assert_eq!(older.last_proof, None);

    assert_eq!(
        repo.certificates(org.id).await.unwrap(),
        vec![newer.clone(), older.clone()]
    );
    assert!(repo.certificates(other.id).await.unwrap().is_empty());
    assert_eq!(repo.certificate(older.id).await.unwrap(), older);
    assert!(is_not_found(&repo.certificate(CertificateId::new()).await));

    let key = repo.private_key(newer.id).await.unwrap();
    assert_eq!(key.pkcs8_der(), credential(1).private_key().pkcs8_der());
    assert!(is_not_found(&repo.private_key(CertificateId::new()).await));
}

async fn one_unfinished_operation_per_organization(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let other = organization(repo, "Fabrikam").await;
    let wanted = new_operation(org.id, minutes(1));
    let first = repo.create_operation(&wanted).await.unwrap();
    assert_eq!(first, wanted, "stored as given (nothing active to replace)");
    assert_eq!(repo.operation(first.id).await.unwrap(), first);

    let second = repo
        .create_operation(&new_operation(org.id, minutes(2)))
        .await;
    assert!(is_conflict(&second), "{second:?}");
    repo.create_operation(&new_operation(other.id, minutes(2)))
        .await
        .expect("another organization may start one");

    let failed = Operation {
        failure: Some(OperationFailure {
            code: "declined".into(),
            message: "The sign-in was declined.".into(),
            remediation: "Start again.".into(),
        }),
        ..first.clone()
    };
    advance(repo, &failed, OperationStep::Failed, minutes(3))
        .await
        .unwrap();
    repo.create_operation(&new_operation(org.id, minutes(4)))
        .await
        .expect("a new one once the first is finished");
}

async fn operation_updates_are_compare_and_swap_on_the_version(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let op = repo
        .create_operation(&new_operation(org.id, minutes(1)))
        .await
        .unwrap();
    let signed_in = Operation {
        signed_in_as: Some("admin@contoso.example".into()),
        // The prompt is recorded at creation and stays.
        sign_in: None,
        ..op.clone()
    };
    let signed_in = advance(repo, &signed_in, OperationStep::SignedIn, minutes(2))
        .await
        .unwrap();
    assert_eq!(signed_in.version, 2);
    assert_eq!(signed_in.step, OperationStep::SignedIn);
    assert_eq!(signed_in.updated_at, minutes(2));
    assert_eq!(signed_in.sign_in, op.sign_in);
    assert_eq!(signed_in.sign_in_holder, op.sign_in_holder);
    assert_eq!(
        signed_in.signed_in_as.as_deref(),
        Some("admin@contoso.example")
    );

    // A writer that read version 1 lost the race: nothing changes.
    let stale = advance(repo, &op, OperationStep::SignedIn, minutes(3)).await;
    assert!(is_conflict(&stale), "{stale:?}");
    let skipping = Operation {
        version: signed_in.version + 2,
        ..signed_in.clone()
    };
    let skipped = repo.update_operation(&skipping).await;
    assert!(is_conflict(&skipped), "{skipped:?}");
    assert_eq!(repo.operation(op.id).await.unwrap(), signed_in);

    // A field set once is kept when a later write leaves it out.
    let stored = certificate(repo, org.id, 0, minutes(4)).await;
    let with_certificate = Operation {
        certificate: Some(stored.id),
        ..signed_in
    };
    let with_certificate = advance(
        repo,
        &with_certificate,
        OperationStep::CertificateStored,
        minutes(4),
    )
    .await
    .unwrap();
    assert_eq!(
        with_certificate.sha1_thumbprint.as_deref(),
        Some(stored.sha1_thumbprint.as_str())
    );
    let forgetful = Operation {
        certificate: None,
        signed_in_as: None,
        ..with_certificate.clone()
    };
    let kept = advance(repo, &forgetful, OperationStep::Attached, minutes(5))
        .await
        .unwrap();
    assert_eq!(kept.certificate, Some(stored.id));
    assert_eq!(kept.signed_in_as.as_deref(), Some("admin@contoso.example"));
    assert!(is_not_found(
        &repo
            .update_operation(&new_operation(org.id, minutes(6)))
            .await
    ));
}

async fn operation_steps_follow_each_other_and_finished_ones_never_change(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let op = repo
        .create_operation(&new_operation(org.id, minutes(1)))
        .await
        .unwrap();
    for skipped in [
        OperationStep::CertificateStored,
        OperationStep::Attached,
        OperationStep::Succeeded,
    ] {
        let refused = advance(repo, &op, skipped, minutes(2)).await;
        assert!(is_conflict(&refused), "{skipped:?}: {refused:?}");
    }
    assert_eq!(repo.operation(op.id).await.unwrap(), op);

    let cancelled = advance(repo, &op, OperationStep::Cancelled, minutes(2))
        .await
        .unwrap();
    for next in [
        OperationStep::AwaitingSignIn,
        OperationStep::SignedIn,
        OperationStep::Failed,
        OperationStep::Cancelled,
    ] {
        let refused = advance(repo, &cancelled, next, minutes(3)).await;
        assert!(is_conflict(&refused), "{next:?}: {refused:?}");
    }
    assert_eq!(repo.operation(op.id).await.unwrap(), cancelled);
    assert!(repo.unfinished_operations().await.unwrap().is_empty());
}

async fn activation_is_compare_and_swap(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let (op, first) = attached(repo, org.id, 0).await;
    let done = repo.activate(&op, minutes(5)).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded);
    assert_eq!(done.version, op.version + 1);
    assert_eq!(done.certificate, Some(first.id));
    assert_eq!(repo.operation(op.id).await.unwrap(), done);
    assert_eq!(
        repo.organization(org.id).await.unwrap().active_certificate,
        Some(first.id)
    );
    let first = repo.certificate(first.id).await.unwrap();
    assert_eq!(first.state, CertificateState::Active);
    assert_eq!(first.activated_at, Some(minutes(5)));

    // The next operation replaces the first certificate, and only it.
    let (op, second) = attached(repo, org.id, 1).await;
    assert_eq!(op.replaces, Some(first.id), "recorded when it started");
    let stale_version = Operation {
        version: op.version - 1,
        ..op.clone()
    };
    assert!(is_conflict(
        &repo.activate(&stale_version, minutes(6)).await
    ));
    let other_active = Operation {
        replaces: None,
        ..op.clone()
    };
    assert!(is_conflict(&repo.activate(&other_active, minutes(6)).await));
    assert_eq!(repo.operation(op.id).await.unwrap(), op, "nothing changed");
    assert_eq!(
        repo.organization(org.id).await.unwrap().active_certificate,
        Some(first.id)
    );

    repo.activate(&op, minutes(7)).await.unwrap();
    assert_eq!(
        repo.organization(org.id).await.unwrap().active_certificate,
        Some(second.id)
    );
    let first = repo.certificate(first.id).await.unwrap();
    assert_eq!(first.state, CertificateState::Retired);
    assert_eq!(first.retired_at, Some(minutes(7)));
    assert_eq!(
        repo.certificate(second.id).await.unwrap().state,
        CertificateState::Active
    );
    // A finished operation activates nothing again.
    let again = repo.operation(op.id).await.unwrap();
    assert!(is_conflict(&repo.activate(&again, minutes(8)).await));
}

fn proof(outcome: ProofOutcome, at: OffsetDateTime) -> CredentialProof {
    CredentialProof {
        outcome,
        source: ProofSource::ConnectionCheck,
        checked_at: at,
        detail: (outcome != ProofOutcome::Accepted).then(|| "AADSTS700027: key not found".into()),
    }
}

async fn proofs_keep_the_newest_answer_and_leave_the_connection_alone(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let stored = certificate(repo, org.id, 0, minutes(1)).await;
    let later = proof(ProofOutcome::KeyNotRegistered, minutes(10));
    assert!(repo.record_proof(stored.id, &later).await.unwrap());
    let older = proof(ProofOutcome::Accepted, minutes(5));
    assert!(!repo.record_proof(stored.id, &older).await.unwrap());
    assert_eq!(
        repo.certificate(stored.id).await.unwrap().last_proof,
        Some(later)
    );
    let newest = proof(ProofOutcome::Accepted, minutes(11));
    assert!(repo.record_proof(stored.id, &newest).await.unwrap());
    assert_eq!(
        repo.certificate(stored.id).await.unwrap().last_proof,
        Some(newest.clone())
    );
    assert_eq!(
        repo.organization(org.id).await.unwrap(),
        org,
        "the connection follows from a proof in the service, not in the repository"
    );
    assert!(is_not_found(
        &repo.record_proof(CertificateId::new(), &newest).await
    ));
}

async fn the_service_rule_sets_the_connection_from_the_active_certificates_proof(
    repo: &dyn Repository,
) {
    let org = organization(repo, "Contoso").await;
    let (op, active) = attached(repo, org.id, 0).await;
    repo.activate(&op, minutes(5)).await.unwrap();
    let pending = certificate(repo, org.id, 1, minutes(6)).await;

    let refused = proof(ProofOutcome::KeyNotRegistered, minutes(10));
    assert!(
        crate::record_proof(repo, pending.id, &refused)
            .await
            .unwrap()
    );
    assert_eq!(
        repo.organization(org.id).await.unwrap().connection,
        ConnectionState::Unknown,
        "a pending certificate says nothing about the connection"
    );

    assert!(
        crate::record_proof(repo, active.id, &refused)
            .await
            .unwrap()
    );
    let read = repo.organization(org.id).await.unwrap();
    assert_eq!(read.connection, ConnectionState::Broken);
    assert_eq!(read.last_error, refused.detail);

    let older = proof(ProofOutcome::Accepted, minutes(9));
    assert!(!crate::record_proof(repo, active.id, &older).await.unwrap());
    assert_eq!(
        repo.organization(org.id).await.unwrap().connection,
        ConnectionState::Broken,
        "an older answer changes nothing"
    );
    let accepted = proof(ProofOutcome::Accepted, minutes(11));
    assert!(
        crate::record_proof(repo, active.id, &accepted)
            .await
            .unwrap()
    );
    let read = repo.organization(org.id).await.unwrap();
    assert_eq!(read.connection, ConnectionState::Connected);
    assert_eq!(read.last_error, None);
}

async fn only_pending_certificates_are_discarded(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let (op, active) = attached(repo, org.id, 0).await;
    repo.activate(&op, minutes(5)).await.unwrap();
    let pending = certificate(repo, org.id, 1, minutes(6)).await;

    repo.discard_certificate(pending.id).await.unwrap();
    assert_eq!(
        repo.certificate(pending.id).await.unwrap().state,
        CertificateState::Discarded
    );
    assert!(is_conflict(&repo.discard_certificate(pending.id).await));
    assert!(is_conflict(&repo.discard_certificate(active.id).await));
    assert_eq!(
        repo.certificate(active.id).await.unwrap().state,
        CertificateState::Active
    );
    assert!(is_not_found(
        &repo.discard_certificate(CertificateId::new()).await
    ));

    // What the service does when an operation fails (workflows::decisions): the failed
    // operation keeps its certificate id, and the certificate is discarded.
    let failing = repo
        .create_operation(&new_operation(org.id, minutes(7)))
        .await
        .unwrap();
    let failing = advance(repo, &failing, OperationStep::SignedIn, minutes(8))
        .await
        .unwrap();
    let abandoned = certificate(repo, org.id, 2, minutes(9)).await;
    let failed = advance(
        repo,
        &Operation {
            certificate: Some(abandoned.id),
            failure: Some(OperationFailure {
                code: "attach_failed".into(),
                message: "Graph refused the key.".into(),
                remediation: String::new(),
            }),
            ..failing
        },
        OperationStep::Failed,
        minutes(10),
    )
    .await
    .unwrap();
    assert_eq!(
        failed.failure.as_ref().map(|f| f.remediation.as_str()),
        Some(""),
        "no remediation reads back as an empty one"
    );
    repo.discard_certificate(abandoned.id).await.unwrap();
    assert_eq!(
        repo.certificate(abandoned.id).await.unwrap().state,
        CertificateState::Discarded
    );
    assert_eq!(
        repo.operation(failed.id).await.unwrap().certificate,
        Some(abandoned.id)
    );
}

async fn operations_are_listed_newest_first_and_unfinished_ones_oldest_first(
    repo: &dyn Repository,
) {
    let contoso = organization(repo, "Contoso").await;
    let fabrikam = organization(repo, "Fabrikam").await;
    let old = repo
        .create_operation(&new_operation(contoso.id, minutes(1)))
        .await
        .unwrap();
    let old = advance(repo, &old, OperationStep::Cancelled, minutes(2))
        .await
        .unwrap();
    let late = repo
        .create_operation(&new_operation(contoso.id, minutes(5)))
        .await
        .unwrap();
    let early = repo
        .create_operation(&new_operation(fabrikam.id, minutes(3)))
        .await
        .unwrap();

    assert_eq!(
        repo.operations(contoso.id).await.unwrap(),
        vec![late.clone(), old]
    );
    assert_eq!(
        repo.operations(fabrikam.id).await.unwrap(),
        vec![early.clone()]
    );
    assert_eq!(
        repo.unfinished_operations().await.unwrap(),
        vec![early, late]
    );
}

async fn heartbeats_touch_only_the_holders_unfinished_operations(repo: &dyn Repository) {
    let contoso = organization(repo, "Contoso").await;
    let fabrikam = organization(repo, "Fabrikam").await;
    let northwind = organization(repo, "Northwind").await;
    let mine = repo
        .create_operation(&new_operation(contoso.id, minutes(1)))
        .await
        .unwrap();
    assert_eq!(mine.heartbeat_at, Some(minutes(1)), "stored as created");
    let theirs = repo
        .create_operation(&Operation {
            sign_in_holder: Some("instance-b".into()),
            ..new_operation(fabrikam.id, minutes(1))
        })
        .await
        .unwrap();
    let ended = repo
        .create_operation(&new_operation(northwind.id, minutes(1)))
        .await
        .unwrap();
    let ended = advance(repo, &ended, OperationStep::Cancelled, minutes(2))
        .await
        .unwrap();

    assert_eq!(repo.heartbeat("instance-a", minutes(5)).await.unwrap(), 1);
    let beaten = repo.operation(mine.id).await.unwrap();
    assert_eq!(beaten.heartbeat_at, Some(minutes(5)));
    assert_eq!(beaten.version, mine.version, "a heartbeat is not a change");
    assert_eq!(repo.operation(theirs.id).await.unwrap(), theirs);
    assert_eq!(repo.operation(ended.id).await.unwrap(), ended);

    // The heartbeat survives updates of the operation, which keep it as stored.
    let signed_in = advance(repo, &beaten, OperationStep::SignedIn, minutes(6))
        .await
        .unwrap();
    assert_eq!(signed_in.heartbeat_at, Some(minutes(5)));
}

async fn take_over_is_compare_and_swap_on_version_and_holder(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let op = repo
        .create_operation(&new_operation(org.id, minutes(1)))
        .await
        .unwrap();

    let taken = repo.take_over(&op, "instance-b", minutes(9)).await.unwrap();
    assert_eq!(taken.sign_in_holder.as_deref(), Some("instance-b"));
    assert_eq!(taken.heartbeat_at, Some(minutes(9)));
    assert_eq!(taken.version, op.version + 1);
    assert_eq!(repo.operation(op.id).await.unwrap(), taken);

    // A second instance acting on what it read before loses: version and holder changed.
    let late = repo.take_over(&op, "instance-c", minutes(9)).await;
    assert!(is_conflict(&late), "{late:?}");
    assert_eq!(
        repo.operation(op.id).await.unwrap(),
        taken,
        "nothing changed"
    );
    // So does the old holder coming back with its last version.
    let back = advance(repo, &op, OperationStep::SignedIn, minutes(10)).await;
    assert!(is_conflict(&back), "{back:?}");

    // A finished operation is never taken over.
    let cancelled = advance(repo, &taken, OperationStep::Cancelled, minutes(11))
        .await
        .unwrap();
    let after_end = repo.take_over(&cancelled, "instance-c", minutes(12)).await;
    assert!(is_conflict(&after_end), "{after_end:?}");
}

async fn audit_is_newest_first_up_to_the_limit(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    for (minute, action) in [
        (1, AuditAction::OperationStarted),
        (2, AuditAction::CertificateGenerated),
        (3, AuditAction::CertificateActivated),
    ] {
        repo.append_audit(NewAuditEntry {
            at: minutes(minute),
            actor: "alice".into(),
            action,
            organization: Some(org.id),
            thumbprints: vec!["AB12".into()],
            outcome: AuditOutcome::Success,
            detail: Some(format!("minute {minute}")),
        })
        .await
        .unwrap();
    }
    let entries = repo.audit(2).await.unwrap();
    let actions: Vec<_> = entries.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["certificate_activated", "certificate_generated"]);
    let newest = &entries[0];
    assert_eq!(newest.at, minutes(3));
    assert_eq!(newest.actor, "alice");
    assert_eq!(newest.organization, Some(org.id));
    assert_eq!(newest.thumbprints, ["AB12"]);
    assert_eq!(newest.outcome, AuditOutcome::Success);
    assert_eq!(newest.detail.as_deref(), Some("minute 3"));
    assert!(entries[0].id > entries[1].id);
}

async fn a_rotation_is_created_with_its_certificate_and_walks_key_added_to_activation(
    repo: &dyn Repository,
) {
    let org = organization(repo, "Contoso").await;
    let (op, first) = attached(repo, org.id, 0).await;
    repo.activate(&op, minutes(5)).await.unwrap();

    let stored = certificate(repo, org.id, 1, minutes(10)).await;
    let rotation = Operation {
        kind: OperationKind::Rotate,
        step: OperationStep::CertificateStored,
        started_by: "renewal".into(),
        sign_in: None,
        certificate: Some(stored.id),
        ..new_operation(org.id, minutes(10))
    };
    let created = repo.create_operation(&rotation).await.unwrap();
    assert_eq!(created.kind, OperationKind::Rotate);
    assert_eq!(created.step, OperationStep::CertificateStored);
    assert_eq!(created.certificate, Some(stored.id));
    assert_eq!(
        created.replaces,
        Some(first.id),
        "the active one it replaces"
    );
    assert_eq!(
        created.sha1_thumbprint.as_deref(),
        Some(stored.sha1_thumbprint.as_str())
    );
    assert_eq!(repo.operation(created.id).await.unwrap(), created);
    // It holds the organization's one unfinished slot like any other operation.
    assert!(is_conflict(
        &repo
            .create_operation(&new_operation(org.id, minutes(11)))
            .await
    ));
    // Signed-in steps are not part of a rotation's way, but key_added is.
    assert!(is_conflict(
        &advance(repo, &created, OperationStep::SignedIn, minutes(11)).await
    ));
    let key_added = advance(repo, &created, OperationStep::KeyAdded, minutes(11))
        .await
        .unwrap();
    assert_eq!(key_added.step, OperationStep::KeyAdded);
    let attached = advance(repo, &key_added, OperationStep::Attached, minutes(12))
        .await
        .unwrap();
    let done = repo.activate(&attached, minutes(13)).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded);
    assert_eq!(
        repo.organization(org.id).await.unwrap().active_certificate,
        Some(stored.id)
    );
}

async fn keys_to_remove_are_those_a_rotation_retired_until_marked_removed(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let other = organization(repo, "Fabrikam").await;
    assert!(repo.keys_to_remove().await.unwrap().is_empty());

    // Generate replaces the first certificate: an administrator's choice, not a rotation's,
    // so its key stays on the application.
    let (op, first) = attached(repo, org.id, 0).await;
    repo.activate(&op, minutes(5)).await.unwrap();
    let (op, second) = attached(repo, org.id, 1).await;
    repo.activate(&op, minutes(6)).await.unwrap();
    assert_eq!(
        repo.certificate(first.id).await.unwrap().state,
        CertificateState::Retired
    );
    assert!(repo.keys_to_remove().await.unwrap().is_empty());

    // A rotation replaces the second: its key is to be removed.
    let (op, third) = rotation_attached(repo, org.id, 2, minutes(20)).await;
    // Not before the rotation has succeeded.
    assert!(repo.keys_to_remove().await.unwrap().is_empty());
    repo.activate(&op, minutes(21)).await.unwrap();
    let listed = repo.keys_to_remove().await.unwrap();
    assert_eq!(
        listed.iter().map(|c| c.id).collect::<Vec<_>>(),
        vec![second.id]
    );
    assert_eq!(listed[0].state, CertificateState::Retired);
    assert_eq!(listed[0].retired_at, Some(minutes(21)));
    assert_eq!(listed[0].key_removed_at, None);

    // A failed rotation of another organization lists nothing.
    let (op, _) = attached(repo, other.id, 0).await;
    repo.activate(&op, minutes(5)).await.unwrap();
    let (op, _) = rotation_attached(repo, other.id, 1, minutes(22)).await;
    advance(repo, &op, OperationStep::Failed, minutes(23))
        .await
        .unwrap();
    assert_eq!(repo.keys_to_remove().await.unwrap().len(), 1);

    repo.mark_key_removed(second.id, minutes(30)).await.unwrap();
    assert!(repo.keys_to_remove().await.unwrap().is_empty());
    assert_eq!(
        repo.certificate(second.id).await.unwrap().key_removed_at,
        Some(minutes(30))
    );
    // Marking again keeps the first time.
    repo.mark_key_removed(second.id, minutes(40)).await.unwrap();
    assert_eq!(
        repo.certificate(second.id).await.unwrap().key_removed_at,
        Some(minutes(30))
    );
    assert_eq!(
        repo.certificate(third.id).await.unwrap().key_removed_at,
        None,
        "the active one is untouched"
    );
    assert!(is_not_found(
        &repo
            .mark_key_removed(CertificateId::new(), minutes(40))
            .await
    ));
}

async fn an_organizations_keys_to_remove_are_its_own(repo: &dyn Repository) {
    let (org, other, idle) = (
        organization(repo, "Contoso").await,
        organization(repo, "Fabrikam").await,
        organization(repo, "Northwind").await,
    );
    let mut rotated_out = Vec::new();
    for id in [org.id, other.id] {
        let (op, first) = attached(repo, id, 0).await;
        repo.activate(&op, minutes(5)).await.unwrap();
        let (op, _) = rotation_attached(repo, id, 1, minutes(20)).await;
        repo.activate(&op, minutes(21)).await.unwrap();
        rotated_out.push(first.id);
    }
    let of = |id| async move {
        repo.organization_keys_to_remove(id)
            .await
            .unwrap()
            .iter()
            .map(|c| (c.organization, c.id))
            .collect::<Vec<_>>()
    };
    assert_eq!(of(org.id).await, vec![(org.id, rotated_out[0])]);
    assert_eq!(of(other.id).await, vec![(other.id, rotated_out[1])]);
    assert!(of(idle.id).await.is_empty());
    assert_eq!(repo.keys_to_remove().await.unwrap().len(), 2);

    repo.mark_key_removed(rotated_out[0], minutes(30))
        .await
        .unwrap();
    assert!(of(org.id).await.is_empty());
    assert_eq!(of(other.id).await, vec![(other.id, rotated_out[1])]);
}

async fn connect_records_the_application_it_registered(repo: &dyn Repository) {
    // Connect stores the organization before its application exists.
    let connecting = NewOrganization {
        name: "Fabrikam".into(),
        tenant: "fabrikam.example".into(),
        app_id: String::new(),
        ..super::fixtures::new_organization()
    };
    let org = repo.add_organization(connecting.clone(), T0).await.unwrap();
    assert_eq!(org.app_id, "");
    assert!(
        is_conflict(&repo.add_organization(connecting, T0).await),
        "the same tenant twice, both without an application"
    );
    let recorded = repo
        .set_application(org.id, "app-1", "object-1", minutes(1))
        .await
        .unwrap();
    assert_eq!(recorded.app_id, "app-1");
    assert_eq!(recorded.app_object_id.as_deref(), Some("object-1"));
    assert_eq!(repo.organization(org.id).await.unwrap(), recorded);
    // Reconnect after the application was deleted records the new one.
    let again = repo
        .set_application(org.id, "app-2", "object-2", minutes(2))
        .await
        .unwrap();
    assert_eq!(
        (again.app_id.as_str(), again.app_object_id.as_deref()),
        ("app-2", Some("object-2"))
    );
    // Another organization of that tenant may not record the same application.
    let other = repo
        .add_organization(
            NewOrganization {
                name: "Fabrikam by hand".into(),
                tenant: "fabrikam.example".into(),
                app_id: "app-3".into(),
                ..super::fixtures::new_organization()
            },
            T0,
        )
        .await
        .unwrap();
    assert!(is_conflict(
        &repo
            .set_application(other.id, "app-2", "object-2", minutes(3))
            .await
    ));
    assert_eq!(repo.organization(other.id).await.unwrap().app_id, "app-3");
    assert!(is_not_found(
        &repo
            .set_application(OrganizationId::new(), "app-4", "object-4", minutes(4))
            .await
    ));
}

async fn a_connect_operation_walks_its_registration_steps_to_activation(repo: &dyn Repository) {
    let org = organization(repo, "Contoso").await;
    let op = repo
        .create_operation(&Operation {
            kind: OperationKind::Connect,
            ..new_operation(org.id, minutes(1))
        })
        .await
        .unwrap();
    assert_eq!(
        repo.operation(op.id).await.unwrap().kind,
        OperationKind::Connect
    );
    let signed_in = advance(repo, &op, OperationStep::SignedIn, minutes(2))
        .await
        .unwrap();
    // A registration step is never skipped.
    assert!(is_conflict(
        &advance(
            repo,
            &signed_in,
            OperationStep::PermissionsGranted,
            minutes(3)
        )
        .await
    ));
    let mut walking = signed_in;
    for (step, minute) in [
        (OperationStep::ApplicationCreated, 3),
        (OperationStep::ServicePrincipalCreated, 4),
        (OperationStep::PermissionsGranted, 5),
        (OperationStep::OwnerAdded, 6),
    ] {
        walking = advance(repo, &walking, step, minutes(minute))
            .await
            .unwrap();
        assert_eq!(walking.step, step);
    }
    assert!(
        repo.unfinished_operations()
            .await
            .unwrap()
            .iter()
            .any(|o| o.id == op.id),
        "registering is unfinished"
    );
    let stored = certificate(repo, org.id, 0, minutes(7)).await;
    let with_certificate = Operation {
        step: OperationStep::CertificateStored,
        version: walking.version + 1,
        updated_at: minutes(7),
        certificate: Some(stored.id),
        sha1_thumbprint: Some(stored.sha1_thumbprint.clone()),
        ..walking
    };
    repo.update_operation(&with_certificate).await.unwrap();
    let attached = advance(repo, &with_certificate, OperationStep::Attached, minutes(8))
        .await
        .unwrap();
    let done = repo.activate(&attached, minutes(9)).await.unwrap();
    assert_eq!(
        (done.kind, done.step),
        (OperationKind::Connect, OperationStep::Succeeded)
    );
    assert_eq!(
        repo.organization(org.id).await.unwrap().active_certificate,
        Some(stored.id)
    );
}
