//! Two tenantlink instances sharing one repository (PostgreSQL in production) and one tenant.
//! A certificate operation's device code and delegated token live only in the memory of the
//! instance that started it: the other instance must show the operation as stored, refuse the
//! steps that need those secrets without changing anything, and never end it as lost — while
//! cancel and the expiry of the sign-in code still work from anywhere, and the starting
//! instance's own restart still ends what its previous process left behind.

mod support;

use std::sync::Arc;
use support::{START, World, admin, world};
use tenantlink_clock::RecordingSleeper;
use tenantlink_service::{
    Operation, OperationKind, OperationStep, Repository, ServiceError, Workflows, WorkflowsConfig,
};
use time::Duration;

const A: &str = "instance-a";
const B: &str = "instance-b";

/// A `Workflows` over the world's repository and directory with its own memory and id, as a
/// separate process would have.
fn instance(w: &World, id: &str) -> Workflows {
    Workflows::new(
        Arc::new(w.repository.clone()),
        Arc::new(w.directory.clone()),
        w.clock.clone(),
        Arc::new(RecordingSleeper::advancing(w.clock.clone())),
        WorkflowsConfig::default(),
    )
    .with_instance_id(id)
}

async fn stored(w: &World, op: &Operation) -> Operation {
    w.workflows.repository().operation(op.id).await.unwrap()
}

async fn started_on_a(w: &World) -> (Workflows, Operation) {
    let a = instance(w, A);
    let op = a
        .start(&admin("alice"), w.org, OperationKind::Generate)
        .await
        .unwrap();
    assert_eq!(
        op.sign_in_holder.as_deref(),
        Some(A),
        "the holder is recorded"
    );
    assert_eq!(stored(w, &op).await.sign_in_holder.as_deref(), Some(A));
    (a, op)
}

fn conflict_detail(err: ServiceError) -> String {
    match err {
        ServiceError::Conflict { detail } => detail,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

#[tokio::test]
async fn another_instance_shows_the_operation_unchanged_instead_of_failing_it() {
    let w = world().await;
    let (a, op) = started_on_a(&w).await;
    let b = instance(&w, B);
    w.clock.advance(Duration::seconds(30));

    let seen = b.operation(&admin("bob"), op.id).await.unwrap();
    assert_eq!(seen, op, "B returns it as stored");
    assert_eq!(stored(&w, &op).await, op, "and changes nothing");
    assert_eq!(
        w.directory.sign_in_polls(),
        0,
        "B cannot poll: it has no device code"
    );

    // Still A's to finish: the person signs in, A sees it, B then shows it signed in.
    w.directory.approve(&op.sign_in.as_ref().unwrap().user_code);
    let signed_in = a.settled(&admin("alice"), op.id).await.unwrap();
    assert_eq!(signed_in.step, OperationStep::SignedIn);
    let seen = b.operation(&admin("bob"), op.id).await.unwrap();
    assert_eq!(seen, signed_in);
    let done = a.generate(&admin("alice"), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
}

#[tokio::test]
async fn another_instance_refuses_generate_and_import_naming_the_holder_and_changes_nothing() {
    let w = world().await;
    let (a, op) = started_on_a(&w).await;
    let b = instance(&w, B);

    // Awaiting the sign-in.
    let detail = conflict_detail(b.generate(&admin("bob"), op.id).await.unwrap_err());
    assert!(
        detail.contains(&format!("held by tenantlink instance {A}")),
        "{detail}"
    );
    assert!(detail.contains("Continue on that instance"), "{detail}");
    assert!(detail.contains("sticky sessions"), "{detail}");
    assert!(
        detail.contains("cancel it and start again here"),
        "{detail}"
    );
    assert_eq!(stored(&w, &op).await, op);

    // Signed in (on A): B still cannot generate, and nothing is created or attached.
    w.directory.approve(&op.sign_in.as_ref().unwrap().user_code);
    let signed_in = a.settled(&admin("alice"), op.id).await.unwrap();
    assert_eq!(signed_in.step, OperationStep::SignedIn);
    let detail = conflict_detail(b.generate(&admin("bob"), op.id).await.unwrap_err());
    assert!(detail.contains(A), "{detail}");
    assert_eq!(stored(&w, &op).await, signed_in);
    assert!(w.directory.attached().is_empty(), "no key attached");
    assert!(
        w.repository.stored_private_keys().is_empty(),
        "no key created"
    );

    // A's own generate still works afterwards.
    let done = a.generate(&admin("alice"), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
}

#[tokio::test]
async fn another_instance_refuses_import_of_an_upload_it_does_not_hold() {
    let w = world().await;
    let a = instance(&w, A);
    let op = a
        .start(&admin("alice"), w.org, OperationKind::Upload)
        .await
        .unwrap();
    let b = instance(&w, B);
    let err = b
        .import(&admin("bob"), op.id, b"not even a pfx", None)
        .await
        .unwrap_err();
    let detail = conflict_detail(err);
    assert!(detail.contains("cannot import here"), "{detail}");
    assert!(detail.contains(A), "{detail}");
    assert_eq!(stored(&w, &op).await, op, "the file was not even read");
}

#[tokio::test]
async fn a_restarting_instance_leaves_another_instances_operations_alone() {
    let w = world().await;
    let (a, op) = started_on_a(&w).await;
    let b = instance(&w, B);
    assert!(b.resume_unfinished().await.unwrap().is_empty());
    assert_eq!(stored(&w, &op).await, op, "still awaiting A's sign-in");

    // Past the sign-in, mid-way through A's generate (certificate stored, attach running):
    // B's restart must not prove it (the key may not be on the application yet) nor end it.
    // Through the steps the repository allows (signed in first), as A's generate would.
    let signed_in = Operation {
        step: OperationStep::SignedIn,
        version: op.version + 1,
        ..op.clone()
    };
    w.repository.update_operation(&signed_in).await.unwrap();
    let carried = Operation {
        step: OperationStep::CertificateStored,
        version: op.version + 2,
        ..op.clone()
    };
    w.repository.update_operation(&carried).await.unwrap();
    assert!(b.resume_unfinished().await.unwrap().is_empty());
    assert_eq!(stored(&w, &op).await, carried);
    assert_eq!(
        w.directory.proof_attempts(),
        0,
        "no token request for A's key"
    );
    drop(a);
}

#[tokio::test]
async fn the_same_instance_restarted_ends_its_lost_sign_in() {
    let w = world().await;
    let (a, op) = started_on_a(&w).await;
    drop(a); // the process dies with the device code

    let restarted = instance(&w, A);
    let resumed = restarted.resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].step, OperationStep::Failed);
    assert_eq!(resumed[0].failure.as_ref().unwrap().code, "interrupted");

    // Before the start-up pass (a request reaching the new process first), reading it
    // changes nothing; a Generate cannot use the lost sign-in and is refused.
    let w = world().await;
    let (a, op2) = started_on_a(&w).await;
    drop(a);
    let restarted = instance(&w, A);
    let seen = restarted.operation(&admin("alice"), op2.id).await.unwrap();
    assert_eq!(seen, op2, "reading has no side effects");
    let err = restarted
        .generate(&admin("alice"), op2.id)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::WrongStep { .. }), "{err:?}");
    assert_eq!(stored(&w, &op2).await, op2);
    let _ = op;
}

#[tokio::test]
async fn another_instance_can_cancel_it() {
    let w = world().await;
    let (a, op) = started_on_a(&w).await;
    let b = instance(&w, B);
    let cancelled = b.cancel(&admin("bob"), op.id).await.unwrap();
    assert_eq!(cancelled.step, OperationStep::Cancelled);
    assert_eq!(stored(&w, &op).await.step, OperationStep::Cancelled);

    // A sees the cancel; its secrets are gone, so a late sign-in cannot revive it.
    w.directory.approve(&op.sign_in.as_ref().unwrap().user_code);
    let seen = a.operation(&admin("alice"), op.id).await.unwrap();
    assert_eq!(seen.step, OperationStep::Cancelled);
    let err = a.generate(&admin("alice"), op.id).await.unwrap_err();
    assert!(matches!(err, ServiceError::WrongStep { .. }), "{err:?}");
    // And a new operation can start on B.
    let mine = b
        .start(&admin("bob"), w.org, OperationKind::Generate)
        .await
        .unwrap();
    assert_eq!(mine.sign_in_holder.as_deref(), Some(B));
}

#[tokio::test]
async fn an_expired_sign_in_code_ends_it_from_another_instance() {
    let w = world().await;
    let (a, op) = started_on_a(&w).await;
    let b = instance(&w, B);
    let expires_at = op.sign_in.as_ref().unwrap().expires_at;
    w.clock.set(expires_at - Duration::seconds(1));
    // A is alive: its heartbeat says so (else B would take the operation over).
    a.look_after_operations().await.unwrap();
    let op = stored(&w, &op).await;
    let refused = b
        .start(&admin("bob"), w.org, OperationKind::Generate)
        .await
        .unwrap_err();
    assert!(
        matches!(refused, ServiceError::Conflict { .. }),
        "{refused:?}"
    );
    assert_eq!(stored(&w, &op).await, op, "still A's, still waiting");
    // Once the code has expired, B's start ends it (a local decision) and goes ahead.
    w.clock.set(expires_at);
    let mine = b
        .start(&admin("bob"), w.org, OperationKind::Generate)
        .await
        .unwrap();
    assert_eq!(mine.sign_in_holder.as_deref(), Some(B));
    let ended = stored(&w, &op).await;
    assert_eq!(ended.step, OperationStep::Failed);
    assert_eq!(ended.failure.as_ref().unwrap().code, "sign_in_expired");
    assert!(w.now() >= START);
}

#[tokio::test]
async fn operations_without_a_recorded_holder_keep_the_single_instance_behaviour() {
    let w = world().await;
    // Started by a Workflows without an instance id (or before migration 0004): no holder.
    let op = w.start("alice", OperationKind::Generate).await;
    assert_eq!(op.sign_in_holder, None);
    let b = instance(&w, B);
    let seen = b.operation(&admin("bob"), op.id).await.unwrap();
    assert_eq!(seen, op, "reading has no side effects");
    // B's start-up pass treats it as its own lost sign-in, as before holders were recorded.
    let resumed = b.resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].failure.as_ref().unwrap().code, "interrupted");
}
