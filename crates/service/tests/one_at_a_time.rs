//! One unfinished certificate operation per organization: a second start is refused with an
//! explanation BEFORE a device code is requested from Entra ID, and the store's unique index still
//! refuses a start that raced past that check.

mod support;

use support::{START, admin, world};
use tenantlink_service::fakes;
use tenantlink_service::{
    Operation, OperationKind, OperationStep, Repository, ServiceError, SignInPrompt,
};

fn conflict_detail(err: ServiceError) -> String {
    match err {
        ServiceError::Conflict { detail } => detail,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn a_second_start_while_one_waits_for_sign_in_is_refused_without_a_device_code() {
    let w = world().await;
    let first = w.start("alice", OperationKind::Generate).await;
    assert_eq!(w.directory.device_sign_ins_started(), 1);
    w.clock.advance(time::Duration::minutes(2));

    let err = w
        .workflows
        .start(&admin("bob"), w.org, OperationKind::Upload)
        .await
        .unwrap_err();
    let detail = conflict_detail(err);
    for expected in [
        "Contoso",
        "Generate a new certificate",
        &first.id.to_string(),
        "started by alice at 2026-03-01 10:00 UTC",
        "waiting for the device sign-in (its code expires at 2026-03-01 10:15 UTC)",
        "Wait for it to finish, or cancel it on its page",
        &format!("/operations/{}", first.id),
    ] {
        assert!(
            detail.contains(expected),
            "missing {expected:?} in: {detail}"
        );
    }
    assert_eq!(
        w.directory.device_sign_ins_started(),
        1,
        "no device code was requested for the refused start"
    );
    assert_eq!(
        w.directory.sign_in_polls(),
        0,
        "the refused start did not poll the running operation's sign-in either"
    );
    let operations = w.repository.operations(w.org).await.unwrap();
    assert_eq!(operations.len(), 1, "nothing was created: {operations:?}");
    assert_eq!(operations[0].step, OperationStep::AwaitingSignIn);
}

#[tokio::test]
async fn after_the_running_operation_is_cancelled_a_new_start_works() {
    let w = world().await;
    let first = w.start("alice", OperationKind::Generate).await;
    assert!(
        w.workflows
            .start(&admin("bob"), w.org, OperationKind::Upload)
            .await
            .is_err()
    );
    let cancelled = w.workflows.cancel(&admin("bob"), first.id).await.unwrap();
    assert_eq!(cancelled.step, OperationStep::Cancelled);

    let second = w.start("bob", OperationKind::Upload).await;
    assert_eq!(second.started_by, "bob");
    assert_eq!(w.directory.device_sign_ins_started(), 2);
}

#[tokio::test]
async fn after_the_running_operation_succeeds_a_new_start_works() {
    let w = world().await;
    w.generate_active("alice").await;
    w.start("bob", OperationKind::Generate).await;
    assert_eq!(w.directory.device_sign_ins_started(), 2);
}

#[tokio::test]
async fn an_expired_sign_in_no_longer_blocks_and_is_ended_without_asking_entra() {
    let w = world().await;
    let first = w.start("alice", OperationKind::Generate).await;
    // Nobody looked at the first operation since; its code expired 15 minutes after the start.
    w.clock.advance(time::Duration::minutes(16));

    let second = w.start("bob", OperationKind::Upload).await;
    assert_ne!(second.id, first.id);
    let first = w.repository.operation(first.id).await.unwrap();
    assert_eq!(first.step, OperationStep::Failed);
    assert_eq!(first.failure.unwrap().code, "sign_in_expired");
    assert_eq!(w.directory.sign_in_polls(), 0, "expiry is decided locally");
    assert_eq!(w.directory.device_sign_ins_started(), 2);
}

#[tokio::test]
async fn a_running_operation_past_the_sign_in_is_explained_as_wait_not_cancel() {
    let w = world().await;
    let op = w.signed_in("alice", OperationKind::Generate).await;
    // As a generate in progress on another instance: its certificate is on the application and
    // the token proof is running, which cannot be cancelled.
    let attaching = Operation {
        step: OperationStep::Attached,
        version: op.version + 1,
        ..op.clone()
    };
    w.repository.update_operation(&attaching).await.unwrap();

    let detail = conflict_detail(
        w.workflows
            .start(&admin("bob"), w.org, OperationKind::Generate)
            .await
            .unwrap_err(),
    );
    assert!(
        detail.contains("attaching and proving its certificate"),
        "{detail}"
    );
    assert!(
        detail.contains("it cannot be cancelled at this step"),
        "{detail}"
    );
    assert!(!detail.contains("cancel it on its page"), "{detail}");
    assert_eq!(w.directory.device_sign_ins_started(), 1);
}

#[tokio::test]
async fn a_start_racing_past_the_check_is_still_refused_by_the_store() {
    let w = world().await;
    // Another instance inserts its operation while this one asks Entra for a device code,
    // i.e. after this start's check found nothing running.
    let elsewhere = Operation {
        kind: OperationKind::Upload,
        started_by: "carol".into(),
        sign_in: Some(SignInPrompt {
            user_code: "OTHER001".into(),
            verification_uri: "https://login.example.test/device".into(),
            expires_at: START + time::Duration::minutes(15),
        }),
        ..fakes::operation(w.org, START)
    };
    let repository = w.repository.clone();
    let racing = elsewhere.clone();
    w.directory
        .during_next_device_sign_in(move || repository.insert_operation_elsewhere(racing));

    let err = w
        .workflows
        .start(&admin("bob"), w.org, OperationKind::Generate)
        .await
        .unwrap_err();
    let detail = conflict_detail(err);
    assert!(detail.contains("carol"), "{detail}");
    assert_eq!(w.directory.device_sign_ins_started(), 1);
    let unfinished = w.repository.unfinished_operations().await.unwrap();
    assert_eq!(unfinished, vec![elsewhere], "only the winner exists");
    assert!(
        w.repository
            .audit(100)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != "operation_started"),
        "the loser audited no start"
    );
}
