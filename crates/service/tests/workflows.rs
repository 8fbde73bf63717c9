//! The generate and upload workflows against the in-memory repository and the scripted directory:
//! each failure ends the operation with its explanation and leaves the previous certificate active.

use std::sync::Arc;
use tenantlink_certificate::{GenerateOptions, export_pkcs12, generate};
use tenantlink_clock::{ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{self, FakeDirectory, MemoryRepository};
use tenantlink_service::{
    Caller, CallerVia, CertificateStatus, DirectoryError, DirectoryErrorKind, OperationKind,
    OperationStep, OrganizationId, ProofPolicy, Repository, Role, SecretString, ServiceError,
    Workflows, WorkflowsConfig,
};
use time::macros::datetime;

struct World {
    clock: Arc<ManualClock>,
    repository: MemoryRepository,
    directory: FakeDirectory,
    sleeper: RecordingSleeper,
    workflows: Workflows,
    org: OrganizationId,
}

fn caller(role: Role) -> Caller {
    Caller {
        name: format!("{}-user", role.as_str()),
        role,
        via: CallerVia::ApiToken,
        csrf_token: None,
        account: None,
    }
}

fn admin() -> Caller {
    caller(Role::Administrator)
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::at(datetime!(2026-03-01 10:00 UTC)));
    let repository = MemoryRepository::new();
    let directory = FakeDirectory::new(clock.clone());
    let sleeper = RecordingSleeper::advancing(clock.clone());
    let workflows = Workflows::new(
        Arc::new(repository.clone()),
        Arc::new(directory.clone()),
        clock.clone(),
        Arc::new(sleeper.clone()),
        WorkflowsConfig {
            proof: ProofPolicy {
                attempts: 4,
                ..ProofPolicy::default()
            },
            ..WorkflowsConfig::default()
        },
    );
    let org = workflows
        .add_organization(&admin(), fakes::new_organization())
        .await
        .expect("organization")
        .id;
    World {
        clock,
        repository,
        directory,
        sleeper,
        workflows,
        org,
    }
}

impl World {
    async fn signed_in(&self, kind: OperationKind) -> tenantlink_service::Operation {
        let op = self
            .workflows
            .start(&admin(), self.org, kind)
            .await
            .expect("start");
        assert_eq!(op.step, OperationStep::AwaitingSignIn);
        let code = op.sign_in.as_ref().expect("prompt").user_code.clone();
        let still = self
            .workflows
            .operation(&admin(), op.id)
            .await
            .expect("poll");
        assert_eq!(
            still.step,
            OperationStep::AwaitingSignIn,
            "not approved yet"
        );
        self.directory.approve(&code);
        self.clock.advance(time::Duration::seconds(5));
        let op = self.workflows.settled(&admin(), op.id).await.expect("poll");
        assert_eq!(op.step, OperationStep::SignedIn);
        op
    }

    async fn generate_active(&self) -> String {
        let op = self.signed_in(OperationKind::Generate).await;
        let done = self
            .workflows
            .generate(&admin(), op.id)
            .await
            .expect("generate");
        assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
        done.sha1_thumbprint.expect("thumbprint")
    }

    async fn active_thumbprint(&self) -> Option<String> {
        let page = self
            .workflows
            .certificate_page(&admin(), self.org)
            .await
            .expect("page");
        page.active.map(|a| a.sha1_thumbprint)
    }
}

#[tokio::test]
async fn generate_attaches_proves_and_activates_keeping_other_keys() {
    let w = world().await;
    w.directory
        .attach_thumbprint("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let thumbprint = w.generate_active().await;
    assert_eq!(
        w.active_thumbprint().await.as_deref(),
        Some(thumbprint.as_str())
    );
    let attached = w.directory.attached();
    assert!(attached.contains(&thumbprint));
    assert!(attached.contains(&"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".to_owned()));
    let page = w.workflows.certificate_page(&admin(), w.org).await.unwrap();
    assert_eq!(page.status, CertificateStatus::Valid);
    assert_eq!(page.active.unwrap().days_left, 364);
}

#[tokio::test]
async fn token_proof_retries_with_backoff_while_the_key_propagates() {
    let w = world().await;
    let op = w.signed_in(OperationKind::Generate).await;
    w.directory.refuse_proofs(2);
    let done = w.workflows.generate(&admin(), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded);
    assert_eq!(w.directory.proof_attempts(), 3);
    let waits = w.sleeper.waits();
    assert_eq!(waits.len(), 2);
    assert!(waits[1] > waits[0], "backoff grows: {waits:?}");
}

#[tokio::test]
async fn a_token_still_refused_fails_and_keeps_the_previous_certificate() {
    let w = world().await;
    let first = w.generate_active().await;
    let op = w.signed_in(OperationKind::Generate).await;
    w.directory.refuse_proofs(10);
    let done = w.workflows.generate(&admin(), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    let failure = done.failure.unwrap();
    assert!(
        failure.code.starts_with("token_refused"),
        "{}",
        failure.code
    );
    assert!(failure.message.contains("AADSTS700027"));
    assert_eq!(w.directory.proof_attempts(), 1 + 4, "bounded attempts");
    assert_eq!(w.active_thumbprint().await, Some(first));
}

#[tokio::test]
async fn declined_sign_in_ends_the_operation() {
    let w = world().await;
    let op = w
        .workflows
        .start(&admin(), w.org, OperationKind::Generate)
        .await
        .unwrap();
    w.directory.decline(&op.sign_in.unwrap().user_code);
    let op = w.workflows.settled(&admin(), op.id).await.unwrap();
    assert_eq!(op.step, OperationStep::Failed);
    assert!(op.failure.unwrap().code.starts_with("sign_in_declined"));
    assert_eq!(w.active_thumbprint().await, None);
}

#[tokio::test]
async fn expired_sign_in_code_ends_the_operation() {
    let w = world().await;
    let op = w
        .workflows
        .start(&admin(), w.org, OperationKind::Upload)
        .await
        .unwrap();
    w.clock.advance(time::Duration::minutes(16));
    let op = w.workflows.settled(&admin(), op.id).await.unwrap();
    assert_eq!(op.step, OperationStep::Failed);
    assert_eq!(op.failure.unwrap().code, "sign_in_expired");
}

#[tokio::test]
async fn insufficient_privileges_on_attach_fails_cleanly() {
    let w = world().await;
    let first = w.generate_active().await;
    let op = w.signed_in(OperationKind::Generate).await;
    w.directory.fail_next_attach(DirectoryError::new(
        DirectoryErrorKind::InsufficientPrivileges,
        Some("Authorization_RequestDenied".into()),
        "Insufficient privileges to complete the operation.",
        "Sign in as an owner of the application or an Application Administrator.",
    ));
    let done = w.workflows.generate(&admin(), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    assert!(
        done.failure
            .unwrap()
            .code
            .starts_with("insufficient_privileges")
    );
    assert_eq!(w.active_thumbprint().await, Some(first));
}

fn pfx(password: &str) -> (Vec<u8>, String) {
    let credential =
        generate(&GenerateOptions::default(), datetime!(2026-03-01 09:00 UTC)).unwrap();
    let bytes = export_pkcs12(&credential, &SecretString::from(password)).unwrap();
    (bytes, credential.certificate().thumbprints().sha1_hex())
}

#[tokio::test]
async fn upload_of_an_attached_certificate_activates_it() {
    let w = world().await;
    let (bytes, thumbprint) = pfx("s3cret-pfx");
    w.directory.attach_thumbprint(&thumbprint);
    let op = w.signed_in(OperationKind::Upload).await;
    let done = w
        .workflows
        .import(
            &admin(),
            op.id,
            &bytes,
            Some(SecretString::from("s3cret-pfx")),
        )
        .await
        .unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.active_thumbprint().await, Some(thumbprint));
}

#[tokio::test]
async fn upload_with_a_wrong_password_changes_nothing() {
    let w = world().await;
    let first = w.generate_active().await;
    let (bytes, thumbprint) = pfx("right");
    w.directory.attach_thumbprint(&thumbprint);
    let op = w.signed_in(OperationKind::Upload).await;
    let done = w
        .workflows
        .import(&admin(), op.id, &bytes, Some(SecretString::from("wrong")))
        .await
        .unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    assert_eq!(done.failure.unwrap().code, "bad_file:wrong_password");
    assert_eq!(w.active_thumbprint().await, Some(first));
    assert_eq!(w.repository.certificates(w.org).await.unwrap().len(), 1);
}

#[tokio::test]
async fn upload_of_a_certificate_not_attached_names_the_application_and_thumbprint() {
    let w = world().await;
    let (bytes, thumbprint) = pfx("pw");
    let op = w.signed_in(OperationKind::Upload).await;
    let done = w
        .workflows
        .import(&admin(), op.id, &bytes, Some(SecretString::from("pw")))
        .await
        .unwrap();
    let failure = done.failure.unwrap();
    assert_eq!(failure.code, "not_attached");
    assert!(failure.message.contains(&thumbprint));
    assert!(failure.message.contains("Contoso Backup"));
    assert!(failure.remediation.contains("Certificates & secrets"));
    assert_eq!(w.active_thumbprint().await, None);
}

#[tokio::test]
async fn viewers_and_operators_cannot_change_certificates() {
    let w = world().await;
    for role in [Role::Viewer, Role::Operator] {
        let err = w
            .workflows
            .start(&caller(role), w.org, OperationKind::Generate)
            .await
            .unwrap_err();
        assert!(matches!(err, ServiceError::Forbidden { .. }), "{err:?}");
    }
    assert!(
        w.workflows
            .certificate_page(&caller(Role::Viewer), w.org)
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn a_second_operation_cannot_start_while_one_runs() {
    let w = world().await;
    let _first = w
        .workflows
        .start(&admin(), w.org, OperationKind::Generate)
        .await
        .unwrap();
    let err = w
        .workflows
        .start(&admin(), w.org, OperationKind::Upload)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Conflict { .. }), "{err:?}");
}

#[tokio::test]
async fn activation_is_compare_and_swap_so_two_operations_cannot_both_win() {
    let w = world().await;
    let op = w.signed_in(OperationKind::Generate).await;
    // Another instance activates a different certificate between this operation's start and its
    // activation.
    let other = generate(&GenerateOptions::default(), w.clock_now()).unwrap();
    let stored = w
        .repository
        .save_certificate(
            w.org,
            &other,
            tenantlink_service::CertificateSource::Uploaded,
            w.clock_now(),
        )
        .await
        .unwrap();
    w.repository.force_activate(w.org, stored.id, w.clock_now());
    let done = w.workflows.generate(&admin(), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Failed);
    assert_eq!(done.failure.unwrap().code, "concurrent_change");
    assert_eq!(w.active_thumbprint().await, Some(stored.sha1_thumbprint));
}

#[tokio::test]
async fn after_a_restart_attached_operations_are_proven_and_activated() {
    let w = world().await;
    let op = w.signed_in(OperationKind::Generate).await;
    // Simulate a crash after the attach: the certificate is stored and on the application,
    // the operation saved at `attached`, and the process gone before the proof (the steps a
    // repository allows; a failed operation is never revived).
    let credential = generate(&GenerateOptions::default(), w.clock_now()).unwrap();
    let stored = w
        .repository
        .save_certificate(
            w.org,
            &credential,
            tenantlink_service::CertificateSource::Generated,
            w.clock_now(),
        )
        .await
        .unwrap();
    w.directory.attach_thumbprint(&stored.sha1_thumbprint);
    let mut crashed = w.repository.operation(op.id).await.unwrap();
    crashed.step = OperationStep::Attached;
    crashed.certificate = Some(stored.id);
    crashed.sha1_thumbprint = Some(stored.sha1_thumbprint.clone());
    crashed.version += 1;
    w.repository.update_operation(&crashed).await.unwrap();

    // A new process: fresh workflows (no sign-in secrets), same repository and directory.
    let restarted = Workflows::new(
        Arc::new(w.repository.clone()),
        Arc::new(w.directory.clone()),
        w.clock.clone(),
        Arc::new(w.sleeper.clone()),
        WorkflowsConfig::default(),
    );
    let waiting = restarted
        .start(&admin(), w.org, OperationKind::Upload)
        .await;
    assert!(
        waiting.is_err(),
        "the unfinished operation still blocks new ones"
    );
    let resumed = restarted.resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].step, OperationStep::Succeeded);
    assert_eq!(w.active_thumbprint().await, crashed.sha1_thumbprint);
}

#[tokio::test]
async fn after_a_restart_operations_waiting_for_sign_in_fail_cleanly() {
    let w = world().await;
    let op = w
        .workflows
        .start(&admin(), w.org, OperationKind::Generate)
        .await
        .unwrap();
    let restarted = Workflows::new(
        Arc::new(w.repository.clone()),
        Arc::new(w.directory.clone()),
        w.clock.clone(),
        Arc::new(w.sleeper.clone()),
        WorkflowsConfig::default(),
    );
    restarted.resume_unfinished().await.unwrap();
    let op = restarted.operation(&admin(), op.id).await.unwrap();
    assert_eq!(op.step, OperationStep::Failed);
    assert_eq!(op.failure.unwrap().code, "interrupted");
}

#[tokio::test]
async fn the_audit_log_records_activation_with_thumbprints_and_no_secrets() {
    let w = world().await;
    let thumbprint = w.generate_active().await;
    let entries = w.repository.audit(100).await.unwrap();
    let activation = entries
        .iter()
        .find(|e| e.action == tenantlink_service::AuditAction::CertificateActivated.as_str())
        .expect("activation audited");
    assert_eq!(activation.thumbprints, vec![thumbprint]);
    assert_eq!(activation.actor, "administrator-user");
    let text = format!("{entries:?}");
    for token in w.directory.tokens_issued() {
        assert!(!text.contains(&token));
    }
    assert!(!text.contains("device-code-secret"));
}

impl World {
    fn clock_now(&self) -> time::OffsetDateTime {
        use tenantlink_clock::Clock;
        self.clock.now()
    }
}
