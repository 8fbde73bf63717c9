//! Unfinished operations: one per organization, and resuming them after a restart.
//!
//! The one-per-organization rule is checked before anything is asked of Entra ID: a start that
//! cannot succeed must not request a device code (each request shows up in the tenant's sign-in
//! logs and hands out a code nobody will use). The store's partial unique index stays the guard
//! against two starts racing past this check.

use super::decisions::{self, Holder, Resumption};
use super::rotation::Progress;
use super::{Workflows, failure};
use crate::error::{ServiceError, ServiceResult};
use crate::model::Organization;
use crate::operation::{Operation, OperationKind, OperationStep};
use time::{OffsetDateTime, UtcOffset};

impl Workflows {
    /// Refuses with [`ServiceError::Conflict`] while `organization` has an unfinished operation,
    /// naming it, who started it and when, and what to do. Operations whose sign-in code has
    /// expired are ended first (a local decision: no call to Entra), so they do not block.
    pub(super) async fn refuse_while_running(
        &self,
        organization: &Organization,
    ) -> ServiceResult<()> {
        for operation in self.repository.unfinished_operations().await? {
            if operation.organization != organization.id {
                continue;
            }
            let id = operation.id;
            let ended = match self.end_if_stuck(operation).await {
                Ok(ended) => ended,
                // Someone else changed it meanwhile (e.g. another request expired it too):
                // decide on what is stored now.
                Err(ServiceError::Conflict { .. }) => false,
                Err(err) => return Err(err),
            };
            if !ended {
                let current = self.repository.operation(id).await?;
                if !current.is_finished() {
                    return Err(running_conflict(organization, &current));
                }
            }
        }
        Ok(())
    }

    /// Ends `operation` if it can never finish as it is (local decisions, no call to Entra):
    /// its sign-in code expired, its sign-in outlived the token's lifetime, or its holder is
    /// gone and it waited for a sign-in only that holder had. A gone holder's operation past the
    /// sign-in is taken over and resumed here instead (it then still blocks until it ends).
    /// Returns whether it ended.
    async fn end_if_stuck(&self, operation: Operation) -> ServiceResult<bool> {
        let now = self.now();
        if decisions::sign_in_expired(&operation, now) {
            return self.expire_sign_in(operation).await.map(|_| true);
        }
        if decisions::signed_in_expired(&operation, now, self.config.holding.signed_in_lifetime) {
            return self.expire_signed_in(operation).await.map(|_| true);
        }
        if let Holder::Gone(_) = self.holder_of(&operation) {
            return self
                .resume(operation, false)
                .await
                .map(|resumed| resumed.is_some_and(|op| op.is_finished()));
        }
        Ok(false)
    }

    /// Ends an operation whose device sign-in code expired before anyone used it.
    pub(super) async fn expire_sign_in(&self, operation: Operation) -> ServiceResult<Operation> {
        self.forget_sign_in(operation.id);
        self.fail(
            operation,
            failure(
                "sign_in_expired",
                "The sign-in code expired before anyone signed in with it.",
                "Start again and complete the sign-in before the code expires.",
            ),
        )
        .await
    }

    /// After a restart: operations that had their certificate on the application are proven and
    /// activated (or failed cleanly); rotations roll forward from their stored step; those still
    /// needing the lost delegated token end.
    /// Only this instance's own operations (its previous incarnation's), those started before
    /// holders were recorded, and those of instances that stopped sending heartbeats (taken over
    /// first) are touched: another live instance's operation is still being carried there,
    /// sign-in secrets and all. Waits for the proofs; `serve` calls this after it listens.
    pub async fn resume_unfinished(&self) -> ServiceResult<Vec<Operation>> {
        let mut resumed = Vec::new();
        for operation in self.repository.unfinished_operations().await? {
            let id = operation.id;
            if self.is_carried_here(id) || self.holds_sign_in_secrets(id) {
                // Started by this process after it began to listen: not a restart's leftover.
                continue;
            }
            match self.resume(operation, true).await {
                Ok(Some(operation)) => resumed.push(operation),
                Ok(None) => {}
                Err(err) => {
                    tracing::error!(operation = %id, error = %err, "could not resume an operation")
                }
            }
        }
        Ok(resumed)
    }

    /// Resumes one unfinished operation this instance finds: its own, or (taken over by
    /// compare-and-swap on version and holder) one whose holder is gone. The proof runs on the
    /// operation's background task; `wait` says whether to wait for its outcome. `None` when
    /// the operation was left alone (another live holder, or another instance took it first).
    pub(super) async fn resume(
        &self,
        operation: Operation,
        wait: bool,
    ) -> ServiceResult<Option<Operation>> {
        let holder = self.holder_of(&operation);
        let gone = match holder {
            Holder::Gone(previous) => Some(previous.to_owned()),
            _ => None,
        };
        let next = match decisions::resumption(&operation, holder) {
            Resumption::LeaveToHolder(holder) => {
                tracing::info!(operation = %operation.id, holder, "left an operation of another tenantlink instance alone");
                return Ok(None);
            }
            Resumption::Nothing => return Ok(None),
            Resumption::EndInterrupted => Next::EndInterrupted,
            Resumption::ProveAndActivate => Next::ProveAndActivate,
            Resumption::RollRotationForward => Next::RollRotationForward,
        };
        let operation = match (&gone, self.instance.as_deref()) {
            (Some(previous), Some(me)) => {
                match self.repository.take_over(&operation, me, self.now()).await {
                    Ok(taken) => {
                        tracing::info!(operation = %taken.id, previous, "took over an operation of a silent tenantlink instance");
                        taken
                    }
                    Err(crate::ports::RepositoryError::Conflict { .. }) => return Ok(None),
                    Err(err) => return Err(err.into()),
                }
            }
            _ => operation,
        };
        let id = operation.id;
        match next {
            Next::EndInterrupted => {
                let why = match &gone {
                    _ if decisions::is_registering(operation.step) => failure(
                        "interrupted",
                        "tenantlink stopped while this operation registered the backup application; the sign-in it registered with is kept only in memory.",
                        "Reconnect the organization: it reuses the application, service principal and consent registered so far.",
                    ),
                    Some(previous) => failure(
                        "interrupted",
                        format!(
                            "The tenantlink instance {previous} holding this operation's sign-in stopped; the sign-in is kept only in that instance's memory."
                        ),
                        "Start the operation again.",
                    ),
                    None => failure(
                        "interrupted",
                        "The service restarted while this operation waited for the device sign-in; the sign-in is not kept across restarts.",
                        "Start the operation again.",
                    ),
                };
                return self.fail(operation, why).await.map(Some);
            }
            Next::RollRotationForward => {
                self.run_in_background(id, "resume", move |workflows| async move {
                    workflows
                        .roll_rotation_forward(operation, Progress::Resumed)
                        .await
                })?;
            }
            Next::ProveAndActivate => {
                self.run_in_background(id, "resume", move |workflows| async move {
                    workflows.prove_and_activate(operation).await
                })?;
            }
        }
        if !wait {
            return Ok(None);
        }
        self.tasks.settled(id).await;
        Ok(Some(self.repository.operation(id).await?))
    }
}

/// What [`Workflows::resume`] does once it has decided to act (the decision without the borrow
/// of the operation, which moves into the background task).
enum Next {
    EndInterrupted,
    ProveAndActivate,
    RollRotationForward,
}

/// The 409 a second start gets: which operation is in the way, who started it and when, where
/// it stands, and what the caller can do about it.
fn running_conflict(organization: &Organization, running: &Operation) -> ServiceError {
    let what = match running.kind {
        OperationKind::Generate => "Generate a new certificate",
        OperationKind::Upload => "Upload a custom certificate",
        OperationKind::Rotate => "Rotate the certificate",
        OperationKind::Connect => "Connect the organization",
    };
    let (stands, todo) = match running.step {
        OperationStep::AwaitingSignIn => (
            format!(
                "waiting for the device sign-in{}",
                running.sign_in.as_ref().map_or_else(String::new, |prompt| {
                    format!(" (its code expires at {})", utc(prompt.expires_at))
                })
            ),
            format!(
                "Wait for it to finish, or cancel it on its page (/operations/{}), then start again.",
                running.id
            ),
        ),
        OperationStep::SignedIn => (
            "signed in, waiting for its next step".to_owned(),
            format!(
                "Wait for it to finish, or cancel it on its page (/operations/{}), then start again.",
                running.id
            ),
        ),
        step if decisions::is_registering(step) => (
            "registering the backup application".to_owned(),
            "Wait for it to finish (it ends by itself once Graph has answered), then start again.".to_owned(),
        ),
        _ => (
            "attaching and proving its certificate".to_owned(),
            "Wait for it to finish (it cannot be cancelled at this step; it ends by itself once Entra ID accepts or refuses the certificate), then start again.".to_owned(),
        ),
    };
    ServiceError::Conflict {
        detail: format!(
            "Another certificate operation is still unfinished for {}: {what} (operation {}), started by {} at {}, {stands}. {todo}",
            organization.name,
            running.id,
            running.started_by,
            utc(running.started_at),
        ),
    }
}

fn utc(at: OffsetDateTime) -> String {
    let at = at.to_offset(UtcOffset::UTC);
    format!("{} {:02}:{:02} UTC", at.date(), at.hour(), at.minute())
}
