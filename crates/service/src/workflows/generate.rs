//! **Generate a new certificate**: after the device sign-in, create the key and a self-signed
//! certificate here, then attach, prove and activate it (the shared tail in `activation`).
//! The request only checks and starts; the work runs on the operation's background task.

use super::activation::Origin;
use super::sign_in::{Readiness, ReadyToRun};
use super::{Workflows, failure};
use crate::accounts::{Caller, Permission};
use crate::error::ServiceResult;
use crate::model::Organization;
use crate::operation::{Operation, OperationFailure, OperationId, OperationKind};
use tenantlink_certificate::{Credential, GenerateOptions, generate};

impl Workflows {
    /// "Generate" and wait for the outcome: [`Workflows::start_generate`], then
    /// [`Workflows::settled`].
    pub async fn generate(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        self.start_generate(caller, id).await?;
        self.settled(caller, id).await
    }

    /// "Generate": checks that the operation may generate now, then creates the key and
    /// certificate, attaches, proves and activates on the operation's background task. Returns
    /// the operation as it stands when the task starts (or as it ended, if it could not go on).
    pub async fn start_generate(
        &self,
        caller: &Caller,
        id: OperationId,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let ready = match self
            .ready_to_run(
                id,
                OperationKind::Generate,
                "generate",
                "so this operation stopped before creating or attaching a certificate",
            )
            .await?
        {
            Readiness::Ready(ready) => ready,
            Readiness::Ended(operation) => return Ok(operation),
        };
        let operation = ready.operation.clone();
        self.run_in_background(id, "generate", move |workflows| async move {
            workflows.generate_signed_in(ready).await
        })?;
        Ok(operation)
    }

    async fn generate_signed_in(&self, ready: ReadyToRun) -> ServiceResult<Operation> {
        let ReadyToRun {
            operation,
            token,
            organization,
        } = ready;
        let credential = match self.new_credential(&organization).await? {
            Ok(credential) => credential,
            Err(why) => return self.fail(operation, why).await,
        };
        self.store_attach_activate(
            operation,
            &organization,
            &credential,
            Origin::Generated { token: &token },
        )
        .await
    }

    /// A new key and self-signed certificate for `organization` as configured (off the async
    /// threads); the inner error is the operation's failure when they cannot be made.
    pub(super) async fn new_credential(
        &self,
        organization: &Organization,
    ) -> ServiceResult<Result<Credential, OperationFailure>> {
        let options = GenerateOptions {
            subject_cn: format!("tenantlink {}", organization.name),
            validity_days: self.config.validity_days,
            key_size: self.config.key_size,
        };
        let now = self.now();
        let generated = self.heavy.run(move || generate(&options, now)).await?;
        Ok(generated.map_err(|err| {
            failure(
                "generate_failed",
                err.to_string(),
                "Check the certificate settings (key size, validity) and try again.",
            )
        }))
    }
}
