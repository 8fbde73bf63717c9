//! One unfinished certificate operation per organization, checked before anything is asked of
//! Entra ID: a start that cannot succeed must not request a device code (each request shows up in
//! the tenant's sign-in logs and hands out a code nobody will use). The store's partial unique
//! index stays the guard against two starts racing past this check.

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
            if !sign_in_expired(&operation, now) {
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
}

pub(super) fn sign_in_expired(operation: &Operation, now: OffsetDateTime) -> bool {
    operation.step == OperationStep::AwaitingSignIn
        && operation
            .sign_in
            .as_ref()
            .is_some_and(|prompt| prompt.expires_at <= now)
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
