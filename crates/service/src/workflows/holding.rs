//! Holding operations across instances: the holder's heartbeat, ending what outlived its
//! sign-in, taking over the operations of a holder that went silent, and the administrator's
//! Abandon for an operation nothing carries any more.
//!
//! Every change here is a compare-and-swap like any other (`take_over` on version and holder,
//! `fail` on version), and activation stays one (on version and the replaced certificate), so a
//! holder that was only slow and comes back loses cleanly instead of activating twice.

use super::decisions::{self, AbandonRefusal, Holder};
use super::{Workflows, failure};
use crate::accounts::{Caller, Permission};
use crate::error::{ServiceError, ServiceResult};
use crate::operation::{Operation, OperationId};

impl Workflows {
    /// One round of looking after operations, as the holder's background loop runs it every
    /// [`super::HoldingPolicy::heartbeat_every`]: refresh this instance's heartbeat, drop the
    /// secrets of operations that ended (elsewhere too) or outlived their sign-in, and take over
    /// the unfinished operations of instances that went silent.
    pub async fn look_after_operations(&self) -> ServiceResult<()> {
        let now = self.now();
        if let Some(me) = self.instance.as_deref() {
            self.repository.heartbeat(me, now).await?;
        }
        self.drop_stale_secrets().await;
        self.take_over_gone_holders().await
    }

    /// Runs [`Workflows::look_after_operations`] forever, one round per heartbeat interval.
    /// A failed round is logged and the next one tries again.
    pub async fn keep_looking_after_operations(self) {
        loop {
            if let Err(err) = self.look_after_operations().await {
                tracing::warn!(error = %err, "could not look after the certificate operations; will try again");
            }
            self.sleeper
                .sleep(self.config.holding.heartbeat_every)
                .await;
        }
    }

    /// Drops the secrets of operations that ended, and ends the signed-in operations of this
    /// instance whose delegated token outlived [`super::HoldingPolicy::signed_in_lifetime`].
    async fn drop_stale_secrets(&self) {
        let held: Vec<OperationId> = self.lock_sign_ins().keys().copied().collect();
        for id in held {
            let operation = match self.repository.operation(id).await {
                Ok(operation) => operation,
                Err(err) => {
                    tracing::warn!(operation = %id, error = %err, "could not read a held operation");
                    continue;
                }
            };
            if operation.is_finished() {
                self.forget_sign_in(id);
            } else if !self.tasks.is_running(id)
                && decisions::signed_in_expired(
                    &operation,
                    self.now(),
                    self.config.holding.signed_in_lifetime,
                )
                && let Err(err) = self.expire_signed_in(operation).await
            {
                tracing::warn!(operation = %id, error = %err, "could not end an operation past its sign-in");
            }
        }
    }

    async fn take_over_gone_holders(&self) -> ServiceResult<()> {
        if self.instance.is_none() {
            // Without an id there is nothing to record as the new holder.
            return Ok(());
        }
        for operation in self.repository.unfinished_operations().await? {
            if let Holder::Gone(_) = self.holder_of(&operation) {
                let id = operation.id;
                if let Err(err) = self.resume(operation, false).await {
                    tracing::warn!(operation = %id, error = %err, "could not take over an operation of a silent instance");
                }
            }
        }
        Ok(())
    }

    /// Who carries `operation` now, by this instance's id and heartbeat policy.
    pub(super) fn holder_of<'a>(&self, operation: &'a Operation) -> Holder<'a> {
        decisions::holder(
            operation,
            self.instance.as_deref(),
            self.now(),
            self.config.holding.stale_after,
        )
    }

    /// Whether nothing carries `operation` any more, so that an administrator may abandon it
    /// (what the operation page asks before offering the button).
    pub fn may_abandon(&self, operation: &Operation) -> bool {
        decisions::may_abandon(
            operation,
            self.holder_of(operation),
            self.tasks.is_running(operation.id),
        )
        .is_ok()
    }

    /// Ends an operation nothing carries any more (its holder is gone, or its task here ended
    /// without finishing it) as failed, so its organization can start again. Refused while a
    /// live instance or a task here carries it.
    pub async fn abandon(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let operation = self.repository.operation(id).await?;
        let refusal = decisions::may_abandon(
            &operation,
            self.holder_of(&operation),
            self.tasks.is_running(id),
        );
        match refusal {
            Ok(()) => {}
            Err(AbandonRefusal::Finished) => {
                return Err(ServiceError::wrong_step(id, operation.step, "be abandoned"));
            }
            Err(AbandonRefusal::Carried(holder)) => {
                return Err(ServiceError::Conflict {
                    detail: format!(
                        "Operation {id} is still carried by tenantlink instance {holder}, which sent a heartbeat within the last {} seconds. Cancel it (before its certificate is stored) or wait for it to finish; it can be abandoned only once that instance stops.",
                        self.config.holding.stale_after.as_secs()
                    ),
                });
            }
            Err(AbandonRefusal::RunningHere) => {
                return Err(ServiceError::Conflict {
                    detail: format!(
                        "Operation {id} is running its next step on this instance; wait for it on the operation's page."
                    ),
                });
            }
        }
        self.forget_sign_in(id);
        self.fail(
            operation,
            failure(
                "abandoned",
                format!(
                    "{} abandoned this operation because no tenantlink instance carried it any more.",
                    caller.name
                ),
                "Start the operation again. A certificate this operation may have added to the application stays there unused; remove it in Entra ID if you want.",
            ),
        )
        .await
    }
}
