//! The device sign-in every certificate operation begins with: starting it, polling the token
//! endpoint on a background task while the person signs in (reading an operation never polls),
//! cancelling (which stops that task and drops the secrets), and the in-memory secrets (device
//! code, delegated token) that only the instance holding them can use.

use super::tasks::StopSignal;
use super::{Workflows, decisions, directory_failure, failure};
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{Organization, OrganizationId};
use crate::operation::{Operation, OperationId, OperationKind, OperationStep};
use crate::ports::{DelegatedToken, DeviceCode, DirectoryErrorKind, SignInPoll};
use std::collections::HashMap;
use std::sync::MutexGuard;
use std::time::Duration as StdDuration;
use time::OffsetDateTime;

/// The name of the background task that polls for the device sign-in.
const SIGN_IN_TASK: &str = "sign-in";

/// Device sign-in secrets of running operations. Kept in memory only: a delegated token must not
/// outlive the operation, so a restart ends operations still waiting for sign-in.
#[derive(Debug)]
pub(super) struct SignInSecrets {
    /// `None` once the tenant refused the device code flow (or never issued a code).
    pub(super) device_code: Option<DeviceCode>,
    interval: StdDuration,
    next_poll_at: OffsetDateTime,
    pub(super) token: Option<DelegatedToken>,
    /// The browser sign-in in progress and what the page says about the methods.
    pub(super) browser: super::browser_sign_in::BrowserSecrets,
}

/// A device sign-in just requested: its code, or why the tenant refused to issue one.
pub(super) struct RequestedSignIn {
    sign_in: Option<crate::ports::DeviceSignIn>,
    blocked: Option<crate::operation::OperationFailure>,
}

enum DuePoll {
    Due(DeviceCode),
    NotYet,
    /// The device code is gone (blocked, or a browser sign-in took over): stop polling.
    NoDeviceCode,
    Lost,
}

/// A signed-in operation whose organization still has the active certificate it started from:
/// what Generate and Import begin with.
pub(super) struct ReadyToRun {
    pub(super) operation: Operation,
    pub(super) token: DelegatedToken,
    pub(super) organization: Organization,
}

// A short-lived return value, matched once right away: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub(super) enum Readiness {
    Ready(ReadyToRun),
    /// It could not continue and has been ended (or was already, elsewhere): return it as is.
    Ended(Operation),
}

impl Workflows {
    /// Starts "Generate a new certificate" or "Upload a custom certificate": begins the device
    /// sign-in against the organization's tenant.
    pub async fn start(
        &self,
        caller: &Caller,
        organization: OrganizationId,
        kind: OperationKind,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        if kind == OperationKind::Connect {
            return Err(ServiceError::Invalid {
                field: "kind".into(),
                message: format!(
                    "a connect operation starts with Reconnect (POST /api/v1/organizations/{organization}/reconnect), not as a certificate operation"
                ),
            });
        }
        let org = self.repository.organization(organization).await?;
        // Refuse before asking Entra for a device code that could never be used.
        self.refuse_while_running(&org).await?;
        let requested = self.request_sign_in(&org, kind).await?;
        self.record_started(caller, &org, kind, requested).await
    }

    /// Asks Entra for a device code for an operation of `kind` (the scopes its purpose needs).
    /// A tenant that refuses device codes is not an error: the operation then waits for a
    /// browser sign-in.
    pub(super) async fn request_sign_in(
        &self,
        organization: &Organization,
        kind: OperationKind,
    ) -> ServiceResult<RequestedSignIn> {
        let purpose = crate::ports::SignInPurpose::of(kind);
        match self
            .directory
            .start_device_sign_in_for(organization, purpose)
            .await
        {
            Ok(sign_in) => Ok(RequestedSignIn {
                sign_in: Some(sign_in),
                blocked: None,
            }),
            Err(err) if err.kind == DirectoryErrorKind::SignInBlocked => Ok(RequestedSignIn {
                sign_in: None,
                blocked: Some(super::browser_sign_in::device_code_blocked(&err)),
            }),
            Err(err) => Err(err.into()),
        }
    }

    /// Stores the new operation of `kind` for `org`, waiting for the sign-in `requested`
    /// began, and starts polling for it.
    pub(super) async fn record_started(
        &self,
        caller: &Caller,
        org: &Organization,
        kind: OperationKind,
        requested: RequestedSignIn,
    ) -> ServiceResult<Operation> {
        let RequestedSignIn { sign_in, blocked } = requested;
        let now = self.now();
        let operation = Operation {
            id: OperationId::new(),
            organization: org.id,
            kind,
            step: OperationStep::AwaitingSignIn,
            started_by: caller.name.clone(),
            started_at: now,
            updated_at: now,
            version: 1,
            sign_in: sign_in.as_ref().map(|s| s.prompt.clone()),
            signed_in_as: None,
            certificate: None,
            sha1_thumbprint: None,
            replaces: org.active_certificate,
            failure: None,
            sign_in_holder: self.instance.as_deref().map(str::to_owned),
            heartbeat_at: Some(now),
        };
        // The store's unique index still decides between two starts that both passed the check
        // above (e.g. on two instances): the loser gets its Conflict here.
        // The secrets are in memory before the row exists, so a resume pass running beside this
        // start (serve listens before it resumes) sees the operation as carried here, never as
        // one a restart left behind.
        self.lock_sign_ins().insert(
            operation.id,
            SignInSecrets {
                interval: sign_in
                    .as_ref()
                    .map_or(StdDuration::from_secs(5), |s| s.interval),
                device_code: sign_in.map(|s| s.device_code),
                next_poll_at: now,
                token: None,
                browser: super::browser_sign_in::BrowserSecrets::blocked(blocked),
            },
        );
        let operation = match self.repository.create_operation(&operation).await {
            Ok(created) => created,
            Err(err) => {
                self.forget_sign_in(operation.id);
                return Err(err.into());
            }
        };
        self.audit_operation(
            &operation,
            AuditAction::OperationStarted,
            AuditOutcome::Success,
            None,
        )
        .await;
        let poller = self.clone();
        let id = operation.id;
        if self
            .lock_sign_ins()
            .get(&id)
            .is_some_and(|s| s.device_code.is_none())
        {
            // Nothing to poll: the browser sign-in is the only way on.
            return Ok(operation);
        }
        if self
            .tasks
            .spawn(id, SIGN_IN_TASK, move |stop| {
                poller.poll_until_signed_in(id, stop)
            })
            .is_err()
        {
            // A new id cannot have a task yet; if it ever had, that task polls already.
            tracing::warn!(operation = %id, "a task already carried a new operation");
        }
        Ok(operation)
    }

    /// The operation as stored. Reading has no side effects: the sign-in is noticed by the
    /// holder's background task, so a page view (a Viewer's too) never advances or fails it.
    pub async fn operation(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::View)?;
        Ok(self.repository.operation(id).await?)
    }

    /// Waits until no background task of this instance carries operation `id` (at once when
    /// none does), then returns it as stored: the outcome of a Generate or Import, or the
    /// operation signed in or ended after its sign-in. For tests, the CLI and callers that want
    /// the outcome; the API and portal return at once and show the step instead.
    pub async fn settled(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::View)?;
        self.tasks.settled(id).await;
        Ok(self.repository.operation(id).await?)
    }

    /// Whether a background task of this instance carries operation `id` right now.
    pub fn is_carried_here(&self, id: OperationId) -> bool {
        self.tasks.is_running(id)
    }

    /// Whether this instance still holds secrets (device code, delegated token) of `id`.
    pub fn holds_sign_in_secrets(&self, id: OperationId) -> bool {
        self.lock_sign_ins().contains_key(&id)
    }

    pub async fn cancel(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let mut operation = self.repository.operation(id).await?;
        if !decisions::may_cancel(operation.step) {
            return Err(ServiceError::wrong_step(id, operation.step, "be cancelled"));
        }
        // Secrets first, then the polling task: nothing may use the token after a cancel.
        self.forget_sign_in(id);
        self.tasks.stop(id);
        operation.step = OperationStep::Cancelled;
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::OperationCancelled,
            AuditOutcome::Success,
            None,
        )
        .await;
        Ok(operation)
    }

    /// The signed-in operation `id` of `kind`, with its delegated token and organization, if it
    /// can still do `action`; otherwise ends it when it cannot continue (sign-in lost, active
    /// certificate changed: `superseded_consequence` says what was therefore not done).
    pub(super) async fn ready_to_run(
        &self,
        id: OperationId,
        kind: OperationKind,
        action: &'static str,
        superseded_consequence: &str,
    ) -> ServiceResult<Readiness> {
        let operation = self.signed_in_operation(id, kind, action).await?;
        if decisions::signed_in_expired(
            &operation,
            self.now(),
            self.config.holding.signed_in_lifetime,
        ) {
            return self.expire_signed_in(operation).await.map(Readiness::Ended);
        }
        let Some(token) = self.delegated_token(id) else {
            return self
                .fail_lost_sign_in(operation)
                .await
                .map(Readiness::Ended);
        };
        let organization = self.repository.organization(operation.organization).await?;
        if decisions::superseded(&operation, &organization) {
            return self
                .fail_superseded(operation, superseded_consequence)
                .await
                .map(Readiness::Ended);
        }
        Ok(Readiness::Ready(ReadyToRun {
            operation,
            token,
            organization,
        }))
    }

    async fn signed_in_operation(
        &self,
        id: OperationId,
        kind: OperationKind,
        action: &'static str,
    ) -> ServiceResult<Operation> {
        let operation = self.repository.operation(id).await?;
        // The kind is known locally: refuse a mismatch before asking Entra about the sign-in.
        if operation.kind != kind {
            return Err(ServiceError::Invalid {
                field: "operation".into(),
                message: format!(
                    "operation {id} is a {} operation and cannot {action}",
                    operation.kind.as_str()
                ),
            });
        }
        // Signed in a moment ago: the polling task may still be recording it (the audit entry).
        // Let it finish, so that the step it started can run next.
        if operation.step == OperationStep::SignedIn && self.tasks.running(id) == Some(SIGN_IN_TASK)
        {
            self.tasks.settled(id).await;
        }
        if decisions::needs_sign_in_secrets(operation.step)
            && let Some(holder) = self.held_elsewhere(&operation)
        {
            return Err(held_elsewhere_conflict(&operation, holder, action));
        }
        if operation.step != OperationStep::SignedIn {
            return Err(ServiceError::wrong_step(id, operation.step, action));
        }
        Ok(operation)
    }

    /// The background task of a new operation: asks the token endpoint every interval until
    /// the person signs in, the sign-in is refused or expires, or the operation is cancelled
    /// (here or on another instance). A failed read or poll is retried at the next interval.
    async fn poll_until_signed_in(self, id: OperationId, mut stop: StopSignal) {
        loop {
            if stop.is_stopped() {
                return;
            }
            match self.repository.operation(id).await {
                Ok(operation) if operation.step != OperationStep::AwaitingSignIn => {
                    if operation.is_finished() {
                        // Ended elsewhere (e.g. cancelled on another instance): drop our copy.
                        self.forget_sign_in(id);
                    }
                    return;
                }
                Ok(operation) => match self.poll_sign_in(operation).await {
                    Ok(operation) if operation.step != OperationStep::AwaitingSignIn => return,
                    Ok(_) => {}
                    Err(err) => {
                        tracing::warn!(operation = %id, error = %err, "device sign-in poll could not be recorded; will try again");
                    }
                },
                Err(err) => {
                    tracing::warn!(operation = %id, error = %err, "could not read an operation waiting for its sign-in; will try again");
                }
            }
            let Some(wait) = self.poll_interval(id) else {
                return;
            };
            tokio::select! {
                () = stop.stopped() => return,
                () = self.sleeper.sleep(wait) => {}
            }
            // A sleeper that returns at once (tests) must not starve the other tasks.
            tokio::task::yield_now().await;
        }
    }

    /// How long the polling task waits before asking again; `None` once the secrets are gone.
    fn poll_interval(&self, id: OperationId) -> Option<StdDuration> {
        self.lock_sign_ins()
            .get(&id)
            .filter(|secrets| secrets.device_code.is_some())
            .map(|secrets| secrets.interval)
    }

    async fn poll_sign_in(&self, operation: Operation) -> ServiceResult<Operation> {
        let now = self.now();
        if decisions::sign_in_expired(&operation, now) {
            return self.expire_sign_in(operation).await;
        }
        // The secrets are in another live instance's memory, not lost: show it as stored.
        if self.held_elsewhere(&operation).is_some() {
            return Ok(operation);
        }
        let device_code = match self.due_device_code(operation.id, now) {
            DuePoll::Due(device_code) => device_code,
            DuePoll::NotYet | DuePoll::NoDeviceCode => return Ok(operation),
            DuePoll::Lost => return self.fail_lost_sign_in(operation).await,
        };
        let organization = self.repository.organization(operation.organization).await?;
        match self
            .directory
            .poll_device_sign_in(&organization, &device_code)
            .await
        {
            Ok(SignInPoll::Pending) => Ok(operation),
            Ok(SignInPoll::SignedIn { token, account }) => {
                self.record_signed_in(operation, &organization, token, account)
                    .await
            }
            Err(err) if err.kind == DirectoryErrorKind::SignInBlocked => {
                // Not the end of the operation: the browser sign-in is offered instead.
                if let Some(secrets) = self.lock_sign_ins().get_mut(&operation.id) {
                    secrets.device_code = None;
                    secrets.browser.device_code_blocked =
                        Some(super::browser_sign_in::device_code_blocked(&err));
                }
                tracing::info!(operation = %operation.id, "device code sign-in is blocked in this tenant; the browser sign-in is offered");
                Ok(operation)
            }
            Err(err)
                if matches!(
                    err.kind,
                    DirectoryErrorKind::Unavailable | DirectoryErrorKind::Throttled
                ) =>
            {
                tracing::warn!(operation = %operation.id, error = %err, "device sign-in poll failed; will ask again");
                Ok(operation)
            }
            Err(err) => {
                self.forget_sign_in(operation.id);
                self.fail(operation, directory_failure(&err)).await
            }
        }
    }

    /// A sign-in completed (device poll or browser callback): the token goes to memory, the
    /// operation to `SignedIn`.
    pub(super) async fn record_signed_in(
        &self,
        operation: Operation,
        organization: &Organization,
        token: DelegatedToken,
        account: Option<String>,
    ) -> ServiceResult<Operation> {
        if let Some(secrets) = self.lock_sign_ins().get_mut(&operation.id) {
            secrets.token = Some(token.clone());
        }
        // Connect registers (or finds) the application after the sign-in and records it then.
        if organization.app_object_id.is_none()
            && operation.kind != OperationKind::Connect
            && let Ok(app) = self.directory.application(organization, &token).await
        {
            self.repository
                .set_app_object_id(organization.id, &app.object_id, self.now())
                .await?;
        }
        let mut operation = operation;
        operation.step = OperationStep::SignedIn;
        operation.signed_in_as = account;
        let operation = self.save(operation).await?;
        self.audit_operation(
            &operation,
            AuditAction::DeviceSignInCompleted,
            AuditOutcome::Success,
            operation.signed_in_as.clone(),
        )
        .await;
        Ok(operation)
    }

    /// The device code if the token endpoint may be asked now; records the next allowed time.
    fn due_device_code(&self, id: OperationId, now: OffsetDateTime) -> DuePoll {
        let mut sign_ins = self.lock_sign_ins();
        let Some(secrets) = sign_ins.get_mut(&id) else {
            return DuePoll::Lost;
        };
        if !decisions::device_code_poll_due(secrets.next_poll_at, now) {
            return DuePoll::NotYet;
        }
        let Some(device_code) = secrets.device_code.clone() else {
            return DuePoll::NoDeviceCode;
        };
        secrets.next_poll_at = decisions::next_device_code_poll(now, secrets.interval);
        DuePoll::Due(device_code)
    }

    /// The other instance holding `operation`'s sign-in secrets, if it is not this one.
    pub(super) fn held_elsewhere<'a>(&self, operation: &'a Operation) -> Option<&'a str> {
        decisions::held_elsewhere(operation, self.instance.as_deref())
    }

    fn delegated_token(&self, id: OperationId) -> Option<DelegatedToken> {
        self.lock_sign_ins().get(&id).and_then(|s| s.token.clone())
    }

    pub(super) fn forget_sign_in(&self, id: OperationId) {
        self.lock_sign_ins().remove(&id);
    }

    pub(super) fn lock_sign_ins(&self) -> MutexGuard<'_, HashMap<OperationId, SignInSecrets>> {
        // A poisoned map only means another request panicked mid-update; its entries are still
        // whole values, so keep using it.
        self.sign_ins.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends a signed-in operation that waited past its token's lifetime; the token goes.
    pub(super) async fn expire_signed_in(&self, operation: Operation) -> ServiceResult<Operation> {
        self.forget_sign_in(operation.id);
        self.fail(
            operation,
            failure(
                "signed_in_expired",
                "The sign-in of this operation is no longer valid: nobody generated or uploaded a certificate while it lasted.",
                "Start the operation again and continue right after signing in.",
            ),
        )
        .await
    }

    async fn fail_lost_sign_in(&self, operation: Operation) -> ServiceResult<Operation> {
        self.fail(operation, failure("sign_in_lost", "The device sign-in of this operation is no longer available (the service restarted).", "Start the operation again."))
            .await
    }
}

/// Refusal of a step needing the device code or delegated token that another instance holds.
/// Nothing is changed: the operation stays usable on that instance.
fn held_elsewhere_conflict(operation: &Operation, holder: &str, action: &str) -> ServiceError {
    ServiceError::Conflict {
        detail: format!(
            "Operation {} cannot {action} here: its sign-in is held by tenantlink instance {holder}, and the sign-in is kept only in that instance's memory. Continue on that instance (use sticky sessions for the portal) or cancel it and start again here.",
            operation.id
        ),
    }
}
