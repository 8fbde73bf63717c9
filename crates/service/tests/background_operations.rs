//! Certificate operations run on background tasks the service owns: a dropped request, a failed
//! database write after the attach, a Viewer's page view, a cancel, an instance that stops
//! sending heartbeats. Time is the manual clock; waits are gated by the test, never slept.

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;
use support::{START, admin, caller};
use tenantlink_certificate::{Certificate, Credential};
use tenantlink_clock::{Clock, ManualClock, RecordingSleeper, Sleep, Sleeper};
use tenantlink_service::fakes::{FakeDirectory, MemoryRepository};
use tenantlink_service::{
    AuditAction, BoxFuture, DelegatedToken, DeviceCode, DeviceSignIn, Directory, DirectoryError,
    NewOrganization, Operation, OperationKind, OperationStep, Organization, OrganizationId,
    Repository, Role, ServiceError, SignInPoll, Workflows, WorkflowsConfig,
};
use tokio::sync::{Notify, Semaphore};

const A: &str = "instance-a";
const B: &str = "instance-b";

/// Where a [`GatedDirectory`] holds its caller until the test opens the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gate {
    Attach,
    Proof,
}

/// The fake directory, except that attaching or proving (the one `gate` names) waits until the
/// test opens the gate: an Entra call in flight, for as long as the test likes.
#[derive(Debug, Clone)]
struct GatedDirectory {
    inner: FakeDirectory,
    gate: Gate,
    reached: Arc<Notify>,
    open: Arc<Semaphore>,
}

impl GatedDirectory {
    fn new(inner: FakeDirectory, gate: Gate) -> Self {
        Self {
            inner,
            gate,
            reached: Arc::new(Notify::new()),
            open: Arc::new(Semaphore::new(0)),
        }
    }

    async fn pass(&self, here: Gate) {
        if here == self.gate {
            self.reached.notify_one();
            self.open.acquire().await.expect("gate").forget();
        }
    }

    fn open(&self) {
        self.open.add_permits(1000);
    }
}

impl Directory for GatedDirectory {
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        self.inner.start_device_sign_in(organization)
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        self.inner.poll_device_sign_in(organization, device_code)
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<tenantlink_service::Application, DirectoryError>> {
        self.inner.application(organization, token)
    }

    fn attach_certificate<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        Box::pin(async move {
            self.pass(Gate::Attach).await;
            self.inner
                .attach_certificate(organization, token, certificate)
                .await
        })
    }

    fn prove_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<tenantlink_service::ProvenToken, DirectoryError>> {
        Box::pin(async move {
            self.pass(Gate::Proof).await;
            self.inner.prove_app_only(organization, credential).await
        })
    }

    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<tenantlink_service::Application, DirectoryError>> {
        self.inner.application_app_only(organization, credential)
    }

    fn add_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a Credential,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<tenantlink_service::ApplicationKey, DirectoryError>> {
        self.inner.add_key(organization, signer, certificate)
    }

    fn remove_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        self.inner.remove_key(organization, signer, key_id)
    }

    fn browser_sign_in_url(
        &self,
        organization: &Organization,
        request: &tenantlink_service::browser_sign_in::AuthorizeParameters,
    ) -> Result<String, DirectoryError> {
        self.inner.browser_sign_in_url(organization, request)
    }

    fn redeem_browser_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        redemption: &'a tenantlink_service::browser_sign_in::CodeRedemption,
    ) -> BoxFuture<'a, Result<tenantlink_service::browser_sign_in::BrowserSignedIn, DirectoryError>>
    {
        self.inner.redeem_browser_sign_in(organization, redemption)
    }
}

/// Advances the clock by each wait like [`RecordingSleeper::advancing`], but returns only once
/// the test lets it: a polling loop that waits here is held still, not spinning.
#[derive(Debug, Clone)]
struct HeldSleeper {
    clock: Arc<ManualClock>,
    permits: Arc<Semaphore>,
}

impl Sleeper for HeldSleeper {
    fn sleep(&self, duration: StdDuration) -> Sleep<'_> {
        Box::pin(async move {
            self.permits.acquire().await.expect("sleeper").forget();
            self.clock
                .advance(time::Duration::try_from(duration).expect("fits"));
        })
    }
}

struct World {
    clock: Arc<ManualClock>,
    repository: MemoryRepository,
    directory: FakeDirectory,
    org: OrganizationId,
}

async fn world() -> World {
    let clock = Arc::new(ManualClock::at(START));
    let repository = MemoryRepository::new();
    let directory = FakeDirectory::new(clock.clone());
    let setup = workflows_over(&clock, &repository, Arc::new(directory.clone()), None);
    let org = setup
        .add_organization(
            &admin("setup"),
            NewOrganization {
                name: "Contoso".into(),
                tenant: "contoso.onmicrosoft.com".into(),
                cloud: tenantlink_service::Cloud::Sandbox,
                app_id: "11111111-2222-4333-8444-555555555555".into(),
            },
        )
        .await
        .expect("organization")
        .id;
    World {
        clock,
        repository,
        directory,
        org,
    }
}

fn workflows_over(
    clock: &Arc<ManualClock>,
    repository: &MemoryRepository,
    directory: Arc<dyn Directory>,
    sleeper: Option<Arc<dyn Sleeper>>,
) -> Workflows {
    Workflows::new(
        Arc::new(repository.clone()),
        directory,
        clock.clone(),
        sleeper.unwrap_or_else(|| Arc::new(RecordingSleeper::advancing(clock.clone()))),
        WorkflowsConfig::default(),
    )
}

impl World {
    fn instance(&self, directory: Arc<dyn Directory>, id: &str) -> Workflows {
        workflows_over(&self.clock, &self.repository, directory, None).with_instance_id(id)
    }

    fn plain(&self) -> Workflows {
        workflows_over(
            &self.clock,
            &self.repository,
            Arc::new(self.directory.clone()),
            None,
        )
    }

    async fn signed_in(&self, workflows: &Workflows, kind: OperationKind) -> Operation {
        let op = workflows
            .start(&admin("alice"), self.org, kind)
            .await
            .expect("start");
        self.directory
            .approve(&op.sign_in.as_ref().expect("prompt").user_code);
        let op = workflows
            .settled(&admin("alice"), op.id)
            .await
            .expect("signed in");
        assert_eq!(op.step, OperationStep::SignedIn);
        op
    }

    async fn active_certificate(&self) -> Option<tenantlink_service::CertificateId> {
        self.repository
            .organization(self.org)
            .await
            .expect("organization")
            .active_certificate
    }

    async fn stored(&self, op: &Operation) -> Operation {
        self.repository.operation(op.id).await.expect("operation")
    }
}

// --- the request is not the operation ------------------------------------------------------

#[tokio::test]
async fn a_generate_whose_request_is_dropped_right_after_the_press_still_ends_active() {
    let w = world().await;
    let gated = GatedDirectory::new(w.directory.clone(), Gate::Attach);
    let workflows = w.instance(Arc::new(gated.clone()), A);
    let op = w.signed_in(&workflows, OperationKind::Generate).await;
    let before = w.active_certificate().await;

    // The request: pressed, then the client goes away while Graph is still being asked.
    let alice = admin("alice");
    let request = workflows.generate(&alice, op.id);
    tokio::select! {
        _ = request => panic!("the attach is held at the gate; the request cannot have finished"),
        () = gated.reached.notified() => {}
    }
    // `request` is dropped here, as axum drops a handler whose client disconnected.
    gated.open();

    let done = workflows.settled(&admin("alice"), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let active = w.active_certificate().await;
    assert_ne!(
        active, before,
        "the organization's active certificate changed"
    );
    assert_eq!(active, done.certificate);
}

#[tokio::test]
async fn a_failed_database_write_after_the_attach_still_ends_active() {
    let w = world().await;
    let workflows = w.plain();
    let op = w.signed_in(&workflows, OperationKind::Generate).await;
    // Graph takes the key; recording "attached" then fails once.
    w.repository.fail_next_update_to(OperationStep::Attached);

    let done = workflows.generate(&admin("alice"), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.active_certificate().await, done.certificate);
    assert_eq!(w.directory.attached().len(), 1, "attached once, not twice");
}

#[tokio::test]
async fn the_api_and_portal_get_the_operation_back_at_once_and_see_it_progress() {
    let w = world().await;
    let gated = GatedDirectory::new(w.directory.clone(), Gate::Proof);
    let workflows = w.instance(Arc::new(gated.clone()), A);
    let op = w.signed_in(&workflows, OperationKind::Generate).await;

    let started = workflows
        .start_generate(&admin("alice"), op.id)
        .await
        .unwrap();
    assert_eq!(
        started.step,
        OperationStep::SignedIn,
        "returned before any work"
    );
    gated.reached.notified().await;
    let progress = workflows.operation(&admin("alice"), op.id).await.unwrap();
    assert_eq!(
        progress.step,
        OperationStep::Attached,
        "the step shows progress"
    );
    assert!(workflows.is_carried_here(op.id));
    // Pressed again while it runs: refused, nothing changes.
    let again = workflows.start_generate(&admin("alice"), op.id).await;
    assert!(
        matches!(again, Err(ServiceError::WrongStep { .. })),
        "{again:?}"
    );

    gated.open();
    let done = workflows.settled(&admin("alice"), op.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert!(!workflows.is_carried_here(op.id));
}

// --- reading has no side effects -----------------------------------------------------------

#[tokio::test]
async fn a_viewers_page_view_neither_advances_nor_fails_an_operation() {
    let w = world().await;
    let workflows = w.plain();
    let op = workflows
        .start(&admin("alice"), w.org, OperationKind::Generate)
        .await
        .unwrap();
    let viewer = caller(Role::Viewer);

    // Signed in at the device page: a view does not ask the token endpoint.
    w.directory.approve(&op.sign_in.as_ref().unwrap().user_code);
    let seen = workflows.operation(&viewer, op.id).await.unwrap();
    assert_eq!(seen, op);
    assert_eq!(w.stored(&op).await.version, op.version, "version unchanged");
    assert_eq!(w.directory.sign_in_polls(), 0);

    // Code expired: a view does not fail it either.
    w.clock.advance(time::Duration::minutes(20));
    let seen = workflows.operation(&viewer, op.id).await.unwrap();
    assert_eq!(seen, op);
    assert_eq!(w.stored(&op).await, op, "nothing stored changed");
    assert!(
        w.repository
            .audit(50)
            .await
            .unwrap()
            .iter()
            .all(|e| e.action != AuditAction::OperationFailed.as_str()
                && e.action != AuditAction::DeviceSignInCompleted.as_str()),
        "nothing audited"
    );
}

// --- cancel ----------------------------------------------------------------------------------

#[tokio::test]
async fn cancel_stops_the_polling_task() {
    let w = world().await;
    let permits = Arc::new(Semaphore::new(0));
    let sleeper = HeldSleeper {
        clock: w.clock.clone(),
        permits: permits.clone(),
    };
    let workflows = workflows_over(
        &w.clock,
        &w.repository,
        Arc::new(w.directory.clone()),
        Some(Arc::new(sleeper)),
    );
    let op = workflows
        .start(&admin("alice"), w.org, OperationKind::Generate)
        .await
        .unwrap();
    // Let the background task poll once and wait for its next turn.
    for _ in 0..100 {
        if w.directory.sign_in_polls() == 1 {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(w.directory.sign_in_polls(), 1, "the task polls by itself");
    assert!(workflows.is_carried_here(op.id));

    workflows.cancel(&admin("alice"), op.id).await.unwrap();
    // The task ends although its wait was never let go.
    workflows.settled(&admin("alice"), op.id).await.unwrap();
    assert!(!workflows.is_carried_here(op.id));
    assert!(!workflows.holds_sign_in_secrets(op.id));
    permits.add_permits(10);
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(w.directory.sign_in_polls(), 1, "no poll after the cancel");
}

#[tokio::test]
async fn cancel_drops_the_delegated_token() {
    let w = world().await;
    let workflows = w.plain();
    let op = w.signed_in(&workflows, OperationKind::Upload).await;
    assert!(workflows.holds_sign_in_secrets(op.id), "the token is held");
    workflows.cancel(&admin("alice"), op.id).await.unwrap();
    assert!(
        !workflows.holds_sign_in_secrets(op.id),
        "and dropped on cancel"
    );
}

#[tokio::test]
async fn a_signed_in_operation_left_waiting_expires_with_its_token() {
    let w = world().await;
    let workflows = w.plain();
    let op = w.signed_in(&workflows, OperationKind::Generate).await;
    w.clock.advance(time::Duration::minutes(61));

    // The holder's round of looking after its operations ends it and drops the token...
    workflows.look_after_operations().await.unwrap();
    let ended = w.stored(&op).await;
    assert_eq!(ended.step, OperationStep::Failed);
    assert_eq!(ended.failure.unwrap().code, "signed_in_expired");
    assert!(!workflows.holds_sign_in_secrets(op.id));
    // ...and the organization is free for a new start.
    workflows
        .start(&admin("bob"), w.org, OperationKind::Generate)
        .await
        .unwrap();
}

// --- an instance that stops: take-over and abandon --------------------------------------------

/// A's Generate is held inside the token proof (its key on the application) and A sends no more
/// heartbeats: killed, as far as anyone can tell.
async fn stuck_on_a(w: &World) -> (Workflows, GatedDirectory, Operation) {
    let gated = GatedDirectory::new(w.directory.clone(), Gate::Proof);
    let a = w.instance(Arc::new(gated.clone()), A);
    let op = w.signed_in(&a, OperationKind::Generate).await;
    a.start_generate(&admin("alice"), op.id).await.unwrap();
    gated.reached.notified().await;
    let op = w.stored(&op).await;
    assert_eq!(op.step, OperationStep::Attached);
    (a, gated, op)
}

#[tokio::test]
async fn a_stale_operation_of_a_killed_instance_is_taken_over_and_a_new_generate_works() {
    let w = world().await;
    let (_a, gated_a, op) = stuck_on_a(&w).await;
    let b = w.instance(Arc::new(w.directory.clone()), B);
    let before = w.active_certificate().await;

    // While A's heartbeat is fresh, B leaves it alone and a new start is refused.
    w.clock.advance(time::Duration::seconds(60));
    b.look_after_operations().await.unwrap();
    assert_eq!(w.stored(&op).await, op);
    let refused = b.start(&admin("bob"), w.org, OperationKind::Generate).await;
    assert!(
        matches!(refused, Err(ServiceError::Conflict { .. })),
        "{refused:?}"
    );

    // Silent for longer than stale_after: B takes it over and finishes it.
    w.clock.advance(time::Duration::seconds(90));
    b.look_after_operations().await.unwrap();
    let taken = b.settled(&admin("bob"), op.id).await.unwrap();
    assert_eq!(taken.sign_in_holder.as_deref(), Some(B));
    assert_eq!(taken.step, OperationStep::Succeeded, "{:?}", taken.failure);
    assert_ne!(w.active_certificate().await, before);

    // A comes back to life: its activation loses the compare-and-swap and changes nothing.
    gated_a.open();
    for _ in 0..100 {
        tokio::task::yield_now().await;
    }
    assert_eq!(
        w.stored(&op).await,
        taken,
        "A's late activation changed nothing"
    );
    let activations = w
        .repository
        .audit(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == AuditAction::CertificateActivated.as_str())
        .count();
    assert_eq!(activations, 1);

    // And a new Generate on B goes all the way.
    let next = w.signed_in(&b, OperationKind::Generate).await;
    let done = b.generate(&admin("bob"), next.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.active_certificate().await, done.certificate);
}

#[tokio::test]
async fn a_stale_operation_can_be_abandoned_by_an_administrator_and_a_new_generate_works() {
    let w = world().await;
    let (_a, _gated_a, op) = stuck_on_a(&w).await;
    let b = w.instance(Arc::new(w.directory.clone()), B);

    // Not while A is alive, and never by a Viewer.
    let carried = b.abandon(&admin("bob"), op.id).await;
    assert!(
        matches!(carried, Err(ServiceError::Conflict { .. })),
        "{carried:?}"
    );
    assert!(!b.may_abandon(&op));
    w.clock.advance(time::Duration::minutes(3));
    let viewer = b.abandon(&caller(Role::Viewer), op.id).await;
    assert!(
        matches!(viewer, Err(ServiceError::Forbidden { .. })),
        "{viewer:?}"
    );
    assert_eq!(w.stored(&op).await, op, "refusals change nothing");

    assert!(b.may_abandon(&op));
    let abandoned = b.abandon(&admin("bob"), op.id).await.unwrap();
    assert_eq!(abandoned.step, OperationStep::Failed);
    assert_eq!(abandoned.failure.as_ref().unwrap().code, "abandoned");

    let next = w.signed_in(&b, OperationKind::Generate).await;
    let done = b.generate(&admin("bob"), next.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.active_certificate().await, done.certificate);
}

#[tokio::test]
async fn a_killed_instances_operation_waiting_for_its_sign_in_never_blocks_the_organization() {
    let w = world().await;
    let a = w.instance(Arc::new(w.directory.clone()), A);
    let op = w.signed_in(&a, OperationKind::Generate).await;
    drop(a);
    let b = w.instance(Arc::new(w.directory.clone()), B);
    w.clock.advance(time::Duration::minutes(3));

    // B's start ends it (its sign-in died with A) and goes ahead.
    let mine = b
        .start(&admin("bob"), w.org, OperationKind::Generate)
        .await
        .unwrap();
    assert_eq!(mine.sign_in_holder.as_deref(), Some(B));
    let ended = w.stored(&op).await;
    assert_eq!(ended.step, OperationStep::Failed);
    assert_eq!(ended.failure.unwrap().code, "interrupted");
}

#[tokio::test]
async fn a_live_holder_keeps_its_operations_by_its_heartbeat() {
    let w = world().await;
    let (a, _gated_a, op) = stuck_on_a(&w).await;
    let b = w.instance(Arc::new(w.directory.clone()), B);
    for _ in 0..10 {
        w.clock.advance(time::Duration::seconds(60));
        a.look_after_operations().await.unwrap();
        b.look_after_operations().await.unwrap();
    }
    let stored = w.stored(&op).await;
    assert_eq!(stored.sign_in_holder.as_deref(), Some(A), "still A's");
    assert_eq!(stored.version, op.version, "heartbeats are not changes");
    assert_eq!(
        stored.heartbeat_at,
        Some(w.clock.now()),
        "A's latest heartbeat"
    );
}
