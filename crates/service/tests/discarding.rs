//! A failed operation's certificate never became active, and the service (not the store) says
//! so: it discards the certificate the operation created or uploaded. Nothing else is discarded.

mod support;

use support::{admin, world};
use tenantlink_service::{
    DirectoryError, DirectoryErrorKind, Operation, OperationKind, OperationStep, SecretString,
};

fn held_certificate(done: &Operation) -> tenantlink_service::CertificateId {
    assert_eq!(done.step, OperationStep::Failed, "{done:?}");
    done.certificate.expect("the operation holds a certificate")
}

#[tokio::test]
async fn a_generated_certificate_graph_refused_to_attach_is_discarded() {
    let w = world().await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    w.directory.fail_next_attach(DirectoryError::new(
        DirectoryErrorKind::InsufficientPrivileges,
        Some("Authorization_RequestDenied".into()),
        "Insufficient privileges to complete the operation.",
        "Sign in as an owner of the application.",
    ));
    let done = w.workflows.generate(&admin("alice"), op.id).await.unwrap();
    assert_eq!(
        w.repository.discarded_certificates(),
        [held_certificate(&done)]
    );
}

#[tokio::test]
async fn a_generated_certificate_entra_kept_refusing_is_discarded() {
    let w = world().await;
    let first = w.generate_active("alice").await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    w.directory.refuse_proofs(100);
    let done = w.workflows.generate(&admin("alice"), op.id).await.unwrap();
    assert_eq!(
        w.repository.discarded_certificates(),
        [held_certificate(&done)]
    );
    let page = w
        .workflows
        .certificate_page(&admin("alice"), w.org)
        .await
        .unwrap();
    assert_eq!(
        page.active.unwrap().sha1_thumbprint,
        first,
        "the previous one stays active and is not discarded"
    );
}

#[tokio::test]
async fn an_uploaded_certificate_entra_kept_refusing_is_discarded() {
    let w = world().await;
    let pfx = w.attached_pfx();
    let op = w.signed_in("alice", OperationKind::Upload).await;
    w.directory.refuse_proofs(100);
    let done = w
        .workflows
        .import(&admin("alice"), op.id, &pfx, Some(SecretString::from("pw")))
        .await
        .unwrap();
    assert_eq!(
        w.repository.discarded_certificates(),
        [held_certificate(&done)]
    );
}

#[tokio::test]
async fn a_certificate_whose_activation_lost_the_race_is_discarded() {
    let w = world().await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    // The process stopped right after attaching; meanwhile another certificate became active.
    let mine = w.stopped_after_attaching(op).await;
    w.activate_elsewhere().await;

    let resumed = w.restarted().resume_unfinished().await.unwrap();
    assert_eq!(
        resumed[0].failure.as_ref().unwrap().code,
        "concurrent_change"
    );
    assert_eq!(w.repository.discarded_certificates(), [mine.id]);
}

#[tokio::test]
async fn nothing_is_discarded_when_the_operation_succeeds() {
    let w = world().await;
    w.generate_active("alice").await;
    let pfx = w.attached_pfx();
    let op = w.signed_in("alice", OperationKind::Upload).await;
    let done = w
        .workflows
        .import(&admin("alice"), op.id, &pfx, Some(SecretString::from("pw")))
        .await
        .unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert!(w.repository.discarded_certificates().is_empty());
}

#[tokio::test]
async fn nothing_is_discarded_when_the_failure_came_before_any_certificate() {
    let w = world().await;
    // A file that does not open: the operation fails before storing anything.
    let pfx = w.attached_pfx();
    let op = w.signed_in("alice", OperationKind::Upload).await;
    let done = w
        .workflows
        .import(
            &admin("alice"),
            op.id,
            &pfx,
            Some(SecretString::from("wrong")),
        )
        .await
        .unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    assert_eq!(done.certificate, None);
    // A cancelled operation never had one either.
    let op = w.start("alice", OperationKind::Generate).await;
    let cancelled = w.workflows.cancel(&admin("alice"), op.id).await.unwrap();
    assert_eq!(cancelled.step, OperationStep::Cancelled);
    assert!(w.repository.discarded_certificates().is_empty());
}
