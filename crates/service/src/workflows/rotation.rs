//! Rotate: renew an organization's certificate without an administrator, through Graph
//! `addKey` proven by the active certificate (see `crate::operation` for its steps).
//!
//! SKELETON: the public surface the scheduler and the front ends build against; h12-rotation
//! fills it in. Until then every entry refuses, it never pretends to rotate.

use super::Workflows;
use crate::accounts::Caller;
use crate::error::{ServiceError, ServiceResult};
use crate::model::OrganizationId;
use crate::operation::{Operation, OperationId};

/// The name rotations started by the scheduler carry as their `started_by` and audit actor.
pub const RENEWAL_ACTOR: &str = "renewal";

/// What one pass of the key-removal sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyRemovalReport {
    /// Retired keys taken off the application (or found already gone) in this pass.
    pub removed: u32,
    /// Retired keys whose overlap has not ended yet.
    pub waiting: u32,
    /// Removals that failed this pass (retried at the next).
    pub failed: u32,
}

impl Workflows {
    /// An Administrator's "Rotate now": starts a rotation on a background task and returns the
    /// operation at once (the API answers 202). Refused like Generate while another operation
    /// runs, and when rotation cannot help (no active certificate, expired, not attached).
    pub async fn rotate_now(
        &self,
        _caller: &Caller,
        _organization: OrganizationId,
    ) -> ServiceResult<Operation> {
        Err(not_built_yet())
    }

    /// The scheduler's start of a due rotation, as [`RENEWAL_ACTOR`]; otherwise as
    /// [`Workflows::rotate_now`].
    pub async fn start_scheduled_rotation(
        &self,
        _organization: OrganizationId,
    ) -> ServiceResult<Operation> {
        Err(not_built_yet())
    }

    /// Waits until no background task of this instance carries operation `id`, then returns it
    /// as stored (no permission check: for the service's own work, like the scheduler).
    pub async fn operation_settled(&self, id: OperationId) -> ServiceResult<Operation> {
        self.tasks.settled(id).await;
        Ok(self.repository.operation(id).await?)
    }

    /// Takes the keys off the application that rotations retired and whose overlap ended.
    pub async fn remove_retired_keys(&self) -> ServiceResult<KeyRemovalReport> {
        Err(not_built_yet())
    }
}

fn not_built_yet() -> ServiceError {
    ServiceError::Internal("rotation is not built yet".into())
}
