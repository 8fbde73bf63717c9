//! Requests that a local check refuses never reach Entra ID or Graph: permission, the kind of an
//! operation, and an active certificate that changed since the operation started (which makes
//! the activation's compare-and-swap fail whatever Entra says).

mod support;

use std::sync::Arc;
use support::{admin, caller, world};
use tenantlink_certificate::{GenerateOptions, export_pkcs12, generate};
use tenantlink_clock::RecordingSleeper;
use tenantlink_service::{
    CertificateSource, OperationKind, OperationStep, Repository, Role, SecretString, ServiceError,
    Workflows, WorkflowsConfig,
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

/// Makes another certificate active, as an operation on another instance would have.
async fn activate_elsewhere(w: &support::World) -> String {
    let other = generate(&GenerateOptions::default(), w.now()).unwrap();
    let stored = w
        .repository
        .save_certificate(w.org, &other, CertificateSource::Uploaded, w.now())
        .await
        .unwrap();
    w.repository.force_activate(w.org, stored.id, w.now());
    stored.sha1_thumbprint
}

#[tokio::test]
async fn generate_after_the_active_certificate_changed_attaches_nothing() {
    let w = world().await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    let other = activate_elsewhere(&w).await;

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
    let credential = generate(&GenerateOptions::default(), w.now()).unwrap();
    let pfx = export_pkcs12(&credential, &SecretString::from("pw")).unwrap();
    w.directory
        .attach_thumbprint(&credential.certificate().thumbprints().sha1_hex());
    let op = w.signed_in("alice", OperationKind::Upload).await;
    activate_elsewhere(&w).await;
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
    let mine = generate(&GenerateOptions::default(), w.now()).unwrap();
    let mine = w
        .repository
        .save_certificate(w.org, &mine, CertificateSource::Generated, w.now())
        .await
        .unwrap();
    w.directory.attach_thumbprint(&mine.sha1_thumbprint);
    let attached = tenantlink_service::Operation {
        step: OperationStep::Attached,
        version: op.version + 1,
        certificate: Some(mine.id),
        sha1_thumbprint: Some(mine.sha1_thumbprint.clone()),
        ..op
    };
    w.repository.update_operation(&attached).await.unwrap();
    let other = activate_elsewhere(&w).await;

    let restarted = Workflows::new(
        Arc::new(w.repository.clone()),
        Arc::new(w.directory.clone()),
        w.clock.clone(),
        Arc::new(RecordingSleeper::advancing(w.clock.clone())),
        WorkflowsConfig::default(),
    );
    let resumed = restarted.resume_unfinished().await.unwrap();
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
