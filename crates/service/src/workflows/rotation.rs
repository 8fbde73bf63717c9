//! **Rotate**: renew an organization's certificate without an administrator's sign-in, through
//! Graph `addKey` proven by the active certificate (see `crate::operation` for its steps).
//!
//! Starting checks that rotation can help (the renewal decision), creates the key and the
//! certificate, stores them as pending and creates the operation; the steps then run on the
//! operation's background task (`rotation/steps.rs`) and the start returns at once. The active
//! certificate is never touched before the new one is proven and activated by compare-and-swap.

mod aftermath;
mod decide;
mod steps;

pub(super) use steps::Progress;

use super::Workflows;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::model::{CertificateSource, Organization, OrganizationId};
use crate::operation::{Operation, OperationId, OperationKind, OperationStep};
use crate::renewal::status_at;
use decide::Refusal;
use tenantlink_certificate::{GenerateOptions, generate};
use time::OffsetDateTime;

/// The name rotations started by the scheduler carry as their `started_by` and audit actor.
pub const RENEWAL_ACTOR: &str = "renewal";

/// What the background task carrying a rotation is called (`OperationTasks::running`).
const ROTATE_TASK: &str = "rotate";

/// What one pass of the key-removal sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRemovalReport {
    /// Retired keys taken off the application (or found already gone) in this pass.
    pub removed: u32,
    /// Retired keys whose overlap has not ended yet.
    pub waiting: u32,
    /// Removals that failed this pass (retried at the next).
    pub failed: u32,
    /// Graph answered a removal with 429 and `Retry-After`: the sweep stopped there (the keys
    /// after it wait for a later pass) and the scheduler pauses its directory writes this long.
    pub retry_after: Option<std::time::Duration>,
}

/// Who asked for a rotation, which decides what may start one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// "Rotate now": also before renewal is due, and for an uploaded certificate.
    Administrator,
    /// The scheduler: only when the renewal decision is `Due`.
    Schedule,
}

impl Workflows {
    /// An Administrator's "Rotate now": starts a rotation on a background task and returns the
    /// operation at once (the API answers 202). Refused like Generate while another operation
    /// runs, and when rotation cannot help (no active certificate, expired, not attached): then
    /// the error says why, and that Generate or Upload is the fix.
    pub async fn rotate_now(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        self.start_rotation(organization, &caller.name, Trigger::Administrator)
            .await
    }

    /// The scheduler's start of a due rotation, as [`RENEWAL_ACTOR`]; otherwise as
    /// [`Workflows::rotate_now`]. Refused unless the renewal decision is `Due` and Graph's
    /// last `Retry-After` has passed.
    pub async fn start_scheduled_rotation(
        &self,
        organization: OrganizationId,
    ) -> ServiceResult<Operation> {
        self.start_rotation(organization, RENEWAL_ACTOR, Trigger::Schedule)
            .await
    }

    /// Waits until no background task of this instance carries operation `id`, then returns it
    /// as stored (no permission check: for the service's own work, like the scheduler).
    pub async fn operation_settled(&self, id: OperationId) -> ServiceResult<Operation> {
        self.tasks.settled(id).await;
        Ok(self.repository.operation(id).await?)
    }

    /// Takes the keys off the application that rotations retired and whose overlap ended
    /// (see [`crate::planned_key_removal`]).
    pub async fn remove_retired_keys(&self) -> ServiceResult<KeyRemovalReport> {
        self.sweep_retired_keys().await
    }

    async fn start_rotation(
        &self,
        id: OrganizationId,
        started_by: &str,
        trigger: Trigger,
    ) -> ServiceResult<Operation> {
        let organization = self.repository.organization(id).await?;
        // Before the key generation, which is the expensive part.
        self.refuse_while_running(&organization).await?;
        let record = self.repository.renewal(id).await?;
        let certificates = self.repository.certificates(id).await?;
        let now = self.now();
        let decision = status_at(id, &record, &certificates, now).decision;
        let refusal = match trigger {
            Trigger::Administrator => decide::manual_refusal(&decision),
            Trigger::Schedule => decide::scheduled_refusal(&decision, &record.state, now),
        };
        if let Some(refusal) = refusal {
            return Err(refused(&organization, refusal));
        }

        let options = GenerateOptions {
            subject_cn: format!("tenantlink {}", organization.name),
            validity_days: record
                .policy
                .new_certificate_days(self.config.validity_days),
            key_size: self.config.key_size,
        };
        let credential = self
            .heavy
            .run(move || generate(&options, now))
            .await?
            .map_err(|err| {
                ServiceError::Internal(format!(
                    "could not generate the new certificate for {}: {err}",
                    organization.name
                ))
            })?;
        let stored = self
            .repository
            .save_certificate(id, &credential, CertificateSource::Generated, self.now())
            .await?;
        let now = self.now();
        let operation = Operation {
            id: OperationId::new(),
            organization: id,
            kind: OperationKind::Rotate,
            step: OperationStep::CertificateStored,
            started_by: started_by.to_owned(),
            started_at: now,
            updated_at: now,
            version: 1,
            sign_in: None,
            signed_in_as: None,
            certificate: Some(stored.id),
            sha1_thumbprint: Some(stored.sha1_thumbprint.clone()),
            replaces: organization.active_certificate,
            failure: None,
            // No sign-in secrets, but the holder and its heartbeat tell the other instances
            // that this one carries the steps, and when it stopped doing so.
            sign_in_holder: self.instance.as_deref().map(str::to_owned),
            heartbeat_at: Some(now),
        };
        let operation = match self.repository.create_operation(&operation).await {
            Ok(created) => created,
            Err(err) => {
                // Another operation won the race past `refuse_while_running`: this certificate
                // will never be used.
                if let Err(discard) = self.repository.discard_certificate(stored.id).await {
                    tracing::warn!(certificate = %stored.id, error = %discard, "could not discard the certificate of a rotation that did not start");
                }
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
        let started = operation.clone();
        self.run_in_background(operation.id, ROTATE_TASK, move |workflows| async move {
            workflows
                .roll_rotation_forward(operation, Progress::Fresh(Box::new(credential)))
                .await
        })?;
        Ok(started)
    }
}

/// The refusal of a start, saying why and what helps instead.
fn refused(organization: &Organization, refusal: Refusal) -> ServiceError {
    let detail = match refusal {
        Refusal::CannotHelp(reason) => format!(
            "Rotation cannot renew the certificate of {}: {}",
            organization.name,
            reason.explanation()
        ),
        Refusal::NotDue(state) => format!(
            "The renewal of {} is not due (its state is {state}), so the scheduler does not rotate it; an administrator can still use Rotate now.",
            organization.name
        ),
        Refusal::RetryNotBefore(until) => format!(
            "Microsoft Graph asked tenantlink to wait before renewing {} again, until {}.",
            organization.name,
            rfc3339(until)
        ),
    };
    ServiceError::Conflict { detail }
}

fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}
