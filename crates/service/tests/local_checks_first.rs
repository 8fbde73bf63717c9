//! Requests that a local check refuses never reach Entra ID or Graph: permission, the kind of an
//! operation, and an active certificate that changed since the operation started (which makes
//! the activation's compare-and-swap fail whatever Entra says).

mod support;

use support::{admin, caller, world};
use tenantlink_service::{
    OperationKind, OperationStep, Repository, Role, SecretString, ServiceError,
};

#[tokio::test]
async fn a_start_without_permission_asks_entra_nothing() {
    let w = world().await;
    for role in [Role::Viewer, Role::Operator] {
        let err = w
            .workflows
            .start(&caller(role), w.org, OperationKind::Generate)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden { .. }), "{err:?}");
    }
    assert_eq!(w.directory.device_sign_ins_started(), 0);
}

#[tokio::test]
async fn the_wrong_kind_is_refused_before_polling_the_sign_in() {
    let w = world().await;
    let upload = w.start("alice", OperationKind::Upload).await;
    w.directory
        .approve(&upload.sign_in.as_ref().unwrap().user_code);

    let err = w
        .workflows
        .generate(&admin("alice"), upload.id)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Invalid { field, message } if field == "operation" && message.contains("upload operation and cannot generate")),
        "{err:?}"
    );
    assert_eq!(w.directory.sign_in_polls(), 0, "Entra was not asked");
    let stored = w.repository.operation(upload.id).await.unwrap();
    assert_eq!(
        stored.step,
        OperationStep::AwaitingSignIn,
        "nothing changed"
    );
    assert_eq!(stored.version, upload.version);
}

#[tokio::test]
async fn generate_after_the_active_certificate_changed_attaches_nothing() {
    let w = world().await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    let other = w.activate_elsewhere().await.sha1_thumbprint;

    let done = w.workflows.generate(&admin("alice"), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    let failure = done.failure.unwrap();
    assert_eq!(failure.code, "concurrent_change");
    assert!(
        failure.message.contains("before creating or attaching"),
        "{}",
        failure.message
    );
    assert!(
        w.directory.attached().is_empty(),
        "no key added to the application"
    );
    assert_eq!(w.directory.proof_attempts(), 0);
    let certificates = w.repository.certificates(w.org).await.unwrap();
    assert_eq!(
        certificates.len(),
        1,
        "no certificate created: {certificates:?}"
    );
    assert_eq!(certificates[0].sha1_thumbprint, other);
}

#[tokio::test]
async fn import_after_the_active_certificate_changed_asks_graph_nothing() {
    let w = world().await;
    let pfx = w.attached_pfx();
    let op = w.signed_in("alice", OperationKind::Upload).await;
    w.activate_elsewhere().await;
    let reads = w.directory.application_reads();

    let done = w
        .workflows
        .import(&admin("alice"), op.id, &pfx, Some(SecretString::from("pw")))
        .await
        .unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    assert_eq!(done.failure.unwrap().code, "concurrent_change");
    assert_eq!(
        w.directory.application_reads(),
        reads,
        "Graph was not asked"
    );
    assert_eq!(w.directory.proof_attempts(), 0);
    assert_eq!(w.repository.certificates(w.org).await.unwrap().len(), 1);
}

#[tokio::test]
async fn resuming_after_the_active_certificate_changed_does_not_prove_the_key() {
    let w = world().await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    // The process stopped right after attaching: the operation is at `attached`.
    w.stopped_after_attaching(op).await;
    let other = w.activate_elsewhere().await.sha1_thumbprint;

    let resumed = w.restarted().resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].step, OperationStep::Failed);
    assert_eq!(
        resumed[0].failure.as_ref().unwrap().code,
        "concurrent_change"
    );
    assert_eq!(w.directory.proof_attempts(), 0, "no token requests");
    let page = w
        .workflows
        .certificate_page(&admin("alice"), w.org)
        .await
        .unwrap();
    assert_eq!(page.active.unwrap().sha1_thumbprint, other);
}
