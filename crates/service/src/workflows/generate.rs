//! **Generate a new certificate**: after the device sign-in, create the key and a self-signed
//! certificate here, then attach, prove and activate it (the shared tail in `activation`).

use super::activation::Origin;
use super::sign_in::{Readiness, ReadyToRun};
use super::{Workflows, failure};
use crate::accounts::{Caller, Permission};
use crate::error::ServiceResult;
use crate::operation::{Operation, OperationId, OperationKind};
use tenantlink_certificate::{GenerateOptions, generate};

impl Workflows {
    /// "Generate": create the key and certificate, attach, prove, activate.
    pub async fn generate(&self, caller: &Caller, id: OperationId) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let ReadyToRun {
            operation,
            token,
            organization,
        } = match self
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
        let options = GenerateOptions {
            subject_cn: format!("tenantlink {}", organization.name),
            validity_days: self.config.validity_days,
            key_size: self.config.key_size,
        };
        let now = self.now();
        let generated = self.heavy.run(move || generate(&options, now)).await?;
        let credential = match generated {
            Ok(credential) => credential,
            Err(err) => {
                return self
                    .fail(
                        operation,
                        failure(
                            "generate_failed",
                            err.to_string(),
                            "Check the certificate settings (key size, validity) and try again.",
                        ),
                    )
                    .await;
            }
        };
        self.store_attach_activate(
            operation,
            &organization,
            &credential,
            Origin::Generated { token: &token },
        )
        .await
    }
}
