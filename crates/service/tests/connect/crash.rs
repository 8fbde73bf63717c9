//! tenantlink killed at each Connect step: the next process ends the operation as interrupted
//! (its sign-in died with the process) or, once the certificate is attached, proves and
//! activates it; a Reconnect then reuses everything registered, never a second application.

use crate::world::{World, world};
use tenantlink_service::fakes::{FakeCall, HangPoint};
use tenantlink_service::{OperationStep, RegistrationCall, Repository};

/// Connect hangs at `call` (the process is killed there); a new process resumes.
async fn killed_at(w: &World, call: RegistrationCall, stored: OperationStep) {
    let op = w.connect_signed_in().await;
    let reached = w.registrar.hang_next(call);
    w.workflows
        .start_connect_steps(&crate::world::admin(), op.id)
        .await
        .unwrap();
    reached.notified().await;
    assert_eq!(w.repository.operation(op.id).await.unwrap().step, stored);

    let restarted = w.restarted();
    let resumed = restarted.resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(resumed[0].step, OperationStep::Failed);
    let why = resumed[0].failure.as_ref().unwrap();
    assert_eq!(why.code, "interrupted");

    // The next attempt, on the new process, reuses what the killed one registered.
    let w = World {
        workflows: restarted,
        clock: w.clock.clone(),
        repository: w.repository.clone(),
        directory: w.directory.clone(),
        registrar: w.registrar.clone(),
    };
    let again = w.reconnect_signed_in(op.organization).await;
    let done = w.steps(again.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(
        w.registrar.applications().len(),
        1,
        "never a second application"
    );
    let app = &w.registrar.applications()[0];
    assert_eq!(w.registrar.granted(&app.app_id).len(), 3);
    let org = w.organization(op.organization).await;
    assert_eq!(org.app_id, app.app_id);
    assert!(org.active_certificate.is_some());
}

#[tokio::test]
async fn killed_while_creating_the_application() {
    killed_at(
        &world(),
        RegistrationCall::CreateApplication,
        OperationStep::SignedIn,
    )
    .await;
}

#[tokio::test]
async fn killed_after_the_application_was_created() {
    killed_at(
        &world(),
        RegistrationCall::ServicePrincipal,
        OperationStep::ApplicationCreated,
    )
    .await;
}

#[tokio::test]
async fn killed_after_the_service_principal_was_created() {
    killed_at(
        &world(),
        RegistrationCall::GrantConsent,
        OperationStep::ServicePrincipalCreated,
    )
    .await;
}

#[tokio::test]
async fn killed_after_consent_was_granted() {
    let w = world();
    killed_at(
        &w,
        RegistrationCall::AddOwner,
        OperationStep::PermissionsGranted,
    )
    .await;
    // The owner was added once, by the attempt that finished.
    assert_eq!(w.registrar.calls(RegistrationCall::AddOwner), 2);
}

#[tokio::test]
async fn killed_after_the_certificate_was_attached_the_restart_proves_and_activates_it() {
    let w = world();
    let op = w.connect_signed_in().await;
    let hung = w
        .directory
        .hang_next(FakeCall::ProveAppOnly, HangPoint::BeforeEffect);
    w.workflows
        .start_connect_steps(&crate::world::admin(), op.id)
        .await
        .unwrap();
    hung.reached().await;
    assert_eq!(
        w.repository.operation(op.id).await.unwrap().step,
        OperationStep::Attached
    );
    let resumed = w.restarted().resume_unfinished().await.unwrap();
    assert_eq!(resumed.len(), 1);
    assert_eq!(
        resumed[0].step,
        OperationStep::Succeeded,
        "{:?}",
        resumed[0].failure
    );
    let org = w.organization(op.organization).await;
    assert_eq!(org.active_certificate, resumed[0].certificate);
    assert_eq!(w.registrar.applications().len(), 1);
}
