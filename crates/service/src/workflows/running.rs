//! Unfinished operations: one per organization, and resuming them after a restart.
//!
//! The one-per-organization rule is checked before anything is asked of Entra ID: a start that
//! cannot succeed must not request a device code (each request shows up in the tenant's sign-in
//! logs and hands out a code nobody will use). The store's partial unique index stays the guard
//! against two starts racing past this check.

use super::decisions::{self, Resumption};
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
        let now = self.now();
        for operation in self.repository.unfinished_operations().await? {
            if operation.organization != organization.id {
                continue;
            }
            if !decisions::sign_in_expired(&operation, now) {
                return Err(running_conflict(organization, &operation));
            }
            let id = operation.id;
            match self.expire_sign_in(operation).await {
                Ok(_) => {}
                // Someone else changed it meanwhile (e.g. another request expired it too):
                // decide on what is stored now.
                Err(ServiceError::Conflict { .. }) => {
                    let current = self.repository.operation(id).await?;
                    if !current.is_finished() {
                        return Err(running_conflict(organization, &current));
                    }
                }
                Err(err) => return Err(err),
            }
        }
        Ok(())
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
    /// activated (or failed cleanly); those still needing the lost delegated token end.
    /// Only this instance's own operations (its previous incarnation's) and those started before
    /// holders were recorded are touched: another live instance's operation is still being
    /// carried there, sign-in secrets and all.
    pub async fn resume_unfinished(&self) -> ServiceResult<Vec<Operation>> {
        let mut resumed = Vec::new();
        for operation in self.repository.unfinished_operations().await? {
            let id = operation.id;
            let outcome = match decisions::resumption(&operation, self.instance.as_deref()) {
                Resumption::LeaveToHolder(holder) => {
                    tracing::info!(operation = %id, holder, "left an operation of another tenantlink instance alone");
                    continue;
                }
                Resumption::EndInterrupted => {
                    self.fail(operation, failure("interrupted", "The service restarted while this operation waited for the device sign-in; the sign-in is not kept across restarts.", "Start the operation again.")).await
                }
                Resumption::ProveAndActivate => self.prove_and_activate(operation).await,
                Resumption::Nothing => continue,
            };
            match outcome {
                Ok(operation) => resumed.push(operation),
                Err(err) => {
                    tracing::error!(operation = %id, error = %err, "could not resume an operation")
                }
            }
        }
        Ok(resumed)
    }
}

/// The 409 a second start gets: which operation is in the way, who started it and when, where
/// it stands, and what the caller can do about it.
fn running_conflict(organization: &Organization, running: &Operation) -> ServiceError {
    let what = match running.kind {
        OperationKind::Generate => "Generate a new certificate",
        OperationKind::Upload => "Upload a custom certificate",
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
