//! Running a step of an operation on its background task, and finishing it when a write fails
//! midway: an attach that reached Graph followed by a failed database write must not leave the
//! operation half-done, so the task re-reads what was stored and resumes from there (as a
//! restart would), a few times with backoff.

use super::rotation::Progress;
use super::{Workflows, failure};
use crate::error::{ServiceError, ServiceResult};
use crate::operation::{Operation, OperationId, OperationKind, OperationStep};
use std::future::Future;

impl Workflows {
    /// Runs `work` on the background task of operation `id`; refuses with `Conflict` while a
    /// task of this instance already carries it (e.g. Generate pressed twice).
    pub(super) fn run_in_background<F, Fut>(
        &self,
        id: OperationId,
        what: &'static str,
        work: F,
    ) -> ServiceResult<()>
    where
        F: FnOnce(Workflows) -> Fut + Send + 'static,
        Fut: Future<Output = ServiceResult<Operation>> + Send + 'static,
    {
        let workflows = self.clone();
        self.tasks
            .spawn(id, what, move |_stop| async move {
                if let Err(err) = work(workflows.clone()).await {
                    tracing::warn!(operation = %id, error = %err, what, "an operation step failed midway; resuming from what was stored");
                    workflows.finish_after_error(id).await;
                }
            })
            .map_err(|_| ServiceError::Conflict {
                detail: format!(
                    "Operation {id} is already running its next step on this instance; wait for it on the operation's page."
                ),
            })
    }

    /// After a step failed with an error (not an outcome): resume from the stored step, with
    /// the proof policy's backoff between tries. An operation still unfinished after that is
    /// left to the takeover / abandon path (it keeps its heartbeat only while this runs).
    async fn finish_after_error(&self, id: OperationId) {
        let policy = self.config.proof;
        for attempt in 1..=policy.attempts {
            let delay = policy
                .first_delay
                .saturating_mul(2u32.saturating_pow(attempt - 1))
                .min(policy.max_delay);
            self.sleeper.sleep(delay).await;
            let operation = match self.repository.operation(id).await {
                Ok(operation) => operation,
                Err(err) => {
                    tracing::warn!(operation = %id, attempt, error = %err, "could not read the operation to resume it");
                    continue;
                }
            };
            let outcome = match operation.step {
                OperationStep::Succeeded | OperationStep::Failed | OperationStep::Cancelled => {
                    return;
                }
                OperationStep::CertificateStored
                | OperationStep::KeyAdded
                | OperationStep::Attached
                    if operation.kind == OperationKind::Rotate =>
                {
                    self.roll_rotation_forward(operation, Progress::Resumed)
                        .await
                }
                OperationStep::CertificateStored
                | OperationStep::KeyAdded
                | OperationStep::Attached => self.prove_and_activate(operation).await,
                OperationStep::AwaitingSignIn
                | OperationStep::SignedIn
                | OperationStep::ApplicationCreated
                | OperationStep::ServicePrincipalCreated
                | OperationStep::PermissionsGranted
                | OperationStep::OwnerAdded => self.fail(operation, interrupted_by_error()).await,
            };
            match outcome {
                Ok(_) => return,
                Err(err) => {
                    tracing::warn!(operation = %id, attempt, error = %err, "resuming the operation failed; will try again");
                }
            }
        }
        tracing::error!(operation = %id, "the operation is still unfinished after repeated storage failures; an administrator can abandon it on its page");
    }
}

fn interrupted_by_error() -> crate::operation::OperationFailure {
    failure(
        "interrupted",
        "The operation could not record its progress and stopped before a certificate was stored.",
        "Start the operation again.",
    )
}
