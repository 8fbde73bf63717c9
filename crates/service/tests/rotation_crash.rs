//! The process killed at each step of a rotation: the scripted directory never answers the next
//! call (before or after Graph applied it), that service is dropped, and a new one over the same
//! repository and directory resumes. Every time the rotation completes or rolls forward, the
//! organization can still get a token, and no key in use is removed.

mod support;

use std::sync::Arc;
use support::{World, world};
use tenantlink_clock::RecordingSleeper;
use tenantlink_service::fakes::{FakeCall, HangPoint};
use tenantlink_service::{
    AuditAction, Operation, OperationStep, Repository, Workflows, WorkflowsConfig,
};
use time::Duration;

/// Starts a rotation and waits until it hangs at `call`; returns it as stored then.
async fn killed_at(w: &World, call: FakeCall, point: HangPoint) -> Operation {
    let hung = w.directory.hang_next(call, point);
    let started = w
        .workflows
        .rotate_now(&support::admin("ann"), w.org)
        .await
        .unwrap();
    hung.reached().await;
    w.repository.operation(started.id).await.unwrap()
}

/// A new process resumes; returns the rotation as it ended.
async fn restart_and_resume(w: &World, id: tenantlink_service::OperationId) -> Operation {
    let restarted = w.restarted();
    let resumed = restarted.resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1, "the rotation is resumed");
    assert_eq!(resumed[0].id, id);
    resumed.into_iter().next().unwrap()
}

async fn assert_rolled_forward(w: &World, done: &Operation, old: &str) {
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let active = w.active().await;
    assert_eq!(done.sha1_thumbprint.as_ref(), Some(&active.sha1_thumbprint));
    assert_ne!(active.sha1_thumbprint, old);
    // Both keys stay through the overlap; nothing in use was removed.
    assert_eq!(
        w.directory.attached(),
        vec![old.to_owned(), active.sha1_thumbprint.clone()]
    );
    assert!(w.can_sign_in().await);
    assert_eq!(w.audited(AuditAction::CertificateRotated).await.len(), 1);
}

#[tokio::test]
async fn killed_before_add_key_reached_graph_the_restart_adds_it() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let stopped = killed_at(&w, FakeCall::AddKey, HangPoint::BeforeEffect).await;
    assert_eq!(stopped.step, OperationStep::CertificateStored);
    assert_eq!(w.directory.attached(), vec![old.clone()]);

    let done = restart_and_resume(&w, stopped.id).await;
    assert_rolled_forward(&w, &done, &old).await;
    assert_eq!(
        w.directory.calls(FakeCall::AddKey),
        2,
        "the hung call and the resumed one"
    );
}

#[tokio::test]
async fn killed_after_graph_applied_add_key_but_before_it_was_recorded_the_restart_finds_the_key() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let stopped = killed_at(&w, FakeCall::AddKey, HangPoint::AfterEffect).await;
    assert_eq!(stopped.step, OperationStep::CertificateStored);
    assert_eq!(w.directory.attached().len(), 2);

    let done = restart_and_resume(&w, stopped.id).await;
    assert_rolled_forward(&w, &done, &old).await;
    assert_eq!(
        w.directory.calls(FakeCall::AddKey),
        1,
        "the key found on the application is not added twice"
    );
}

#[tokio::test]
async fn killed_after_add_key_the_restart_verifies_and_activates() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let stopped = killed_at(&w, FakeCall::ApplicationAppOnly, HangPoint::BeforeEffect).await;
    assert_eq!(stopped.step, OperationStep::KeyAdded);

    let done = restart_and_resume(&w, stopped.id).await;
    assert_rolled_forward(&w, &done, &old).await;
    assert_eq!(w.directory.calls(FakeCall::AddKey), 1);
}

#[tokio::test]
async fn killed_after_the_verify_the_restart_proves_and_activates() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let stopped = killed_at(&w, FakeCall::ProveAppOnly, HangPoint::BeforeEffect).await;
    assert_eq!(stopped.step, OperationStep::Attached);
    // Until activation, the old certificate is the one in use.
    assert_eq!(w.active().await.sha1_thumbprint, old);

    let done = restart_and_resume(&w, stopped.id).await;
    assert_rolled_forward(&w, &done, &old).await;
}

#[tokio::test]
async fn killed_after_activation_nothing_is_resumed_and_the_old_key_goes_after_the_overlap() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded);

    let restarted = w.restarted();
    assert!(restarted.resume_unfinished().await.unwrap().is_empty());
    assert!(w.can_sign_in().await);
    w.clock.advance(Duration::hours(72));
    let swept = restarted.remove_retired_keys().await.unwrap();
    assert_eq!(swept.removed, 1);
    assert_eq!(
        w.directory.attached(),
        vec![done.sha1_thumbprint.clone().unwrap()]
    );
    assert!(!w.directory.attached().contains(&old));
    assert!(w.can_sign_in().await);
}

/// Runs the sweep until it hangs at removeKey, then drops it (the kill).
async fn sweep_killed_at_remove_key(w: &World, point: HangPoint) {
    let hung = w.directory.hang_next(FakeCall::RemoveKey, point);
    let sweeping = w.workflows.clone();
    let sweep = tokio::spawn(async move { sweeping.remove_retired_keys().await });
    hung.reached().await;
    sweep.abort();
    assert!(sweep.await.unwrap_err().is_cancelled());
}

#[tokio::test]
async fn killed_before_remove_key_the_next_sweep_removes_the_old_key_only() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let new = w.rotate("ann").await.sha1_thumbprint.unwrap();
    w.clock.advance(Duration::hours(72));
    sweep_killed_at_remove_key(&w, HangPoint::BeforeEffect).await;
    assert_eq!(w.directory.attached(), vec![old.clone(), new.clone()]);
    assert_eq!(w.repository.keys_to_remove().await.unwrap().len(), 1);

    let swept = w.restarted().remove_retired_keys().await.unwrap();
    assert_eq!(swept.removed, 1);
    assert_eq!(w.directory.attached(), vec![new]);
    let removed = w.audited(AuditAction::KeyRemoved).await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].thumbprints, vec![old]);
    assert!(w.can_sign_in().await);
}

#[tokio::test]
async fn killed_after_graph_removed_the_key_the_next_sweep_records_it_as_already_absent() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let new = w.rotate("ann").await.sha1_thumbprint.unwrap();
    w.clock.advance(Duration::hours(72));
    sweep_killed_at_remove_key(&w, HangPoint::AfterEffect).await;
    assert_eq!(w.directory.attached(), vec![new.clone()]);

    let swept = w.restarted().remove_retired_keys().await.unwrap();
    assert_eq!(swept.removed, 1);
    assert_eq!(w.directory.calls(FakeCall::RemoveKey), 1, "not asked again");
    let removed = w.audited(AuditAction::KeyRemoved).await;
    assert_eq!(removed[0].detail.as_deref(), Some("already absent"));
    assert_eq!(removed[0].thumbprints, vec![old]);
    assert!(w.repository.keys_to_remove().await.unwrap().is_empty());
    assert!(w.can_sign_in().await);
}

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

#[tokio::test]
async fn a_rotation_of_an_instance_that_went_silent_is_taken_over_and_rolled_forward() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let a = instance(&w, "instance-a");
    let hung = w
        .directory
        .hang_next(FakeCall::ApplicationAppOnly, HangPoint::BeforeEffect);
    let started = a.rotate_now(&support::admin("ann"), w.org).await.unwrap();
    hung.reached().await;
    drop(a);

    let b = instance(&w, "instance-b");
    // While instance-a's heartbeat is fresh, b leaves its rotation alone.
    b.look_after_operations().await.unwrap();
    assert_eq!(
        w.repository.operation(started.id).await.unwrap().step,
        OperationStep::KeyAdded
    );
    w.clock.advance(Duration::minutes(5));
    b.look_after_operations().await.unwrap();
    let done = b.operation_settled(started.id).await.unwrap();
    assert_eq!(done.sign_in_holder.as_deref(), Some("instance-b"));
    assert_rolled_forward(&w, &done, &old).await;
}
