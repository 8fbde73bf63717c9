//! **Upload a custom certificate**: after the device sign-in, read the .pfx, confirm through
//! Graph that the application already lists its key, then prove and activate it (the shared
//! tail in `activation`). The file's password is used for this call only.

use super::activation::Origin;
use super::sign_in::{Readiness, ReadyToRun};
use super::{Workflows, directory_failure, failure};
use crate::accounts::{Caller, Permission};
use crate::error::ServiceResult;
use crate::operation::{Operation, OperationFailure, OperationId, OperationKind};
use crate::secret::SecretString;
use tenantlink_certificate::import_pkcs12;

impl Workflows {
    /// "Import": validate the file, confirm through Graph that it is attached, prove, activate.
    /// The password is used for this call only.
    pub async fn import(
        &self,
        caller: &Caller,
        id: OperationId,
        pfx: &[u8],
        password: Option<SecretString>,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let ReadyToRun {
            operation,
            token,
            organization,
        } = match self
            .ready_to_run(
                id,
                OperationKind::Upload,
                "import",
                "so this operation stopped before reading the file or asking Graph",
            )
            .await?
        {
            Readiness::Ready(ready) => ready,
            Readiness::Ended(operation) => return Ok(operation),
        };
        let password = password.filter(|p| !p.is_empty());
        let (file, now) = (pfx.to_vec(), self.now());
        // The password moves into the job and is dropped there, when the derivation is done.
        let imported = self
            .heavy
            .run(move || import_pkcs12(&file, password.as_ref(), now))
            .await?;
        let credential = match imported {
            Ok(credential) => credential,
            Err(err) => {
                return self
                    .fail(operation, failure(&format!("bad_file:{}", err.kind()), err.to_string(), "Choose the .pfx file exported from Entra ID together with its private key, and type its password if it has one."))
                    .await;
            }
        };
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        let application = match self.directory.application(&organization, &token).await {
            Ok(application) => application,
            Err(err) => return self.fail(operation, directory_failure(&err)).await,
        };
        if !application
            .keys
            .iter()
            .any(|key| key.sha1_thumbprint.eq_ignore_ascii_case(&thumbprint))
        {
            return self
                .fail(
                    operation,
                    not_attached_failure(
                        &application.display_name,
                        &application.app_id,
                        &thumbprint,
                    ),
                )
                .await;
        }
        self.store_attach_activate(
            operation,
            &organization,
            &credential,
            Origin::UploadedAndAttached,
        )
        .await
    }
}

fn not_attached_failure(app_name: &str, app_id: &str, thumbprint: &str) -> OperationFailure {
    failure(
        "not_attached",
        format!(
            "The certificate with thumbprint {thumbprint} is not attached to the application \"{app_name}\" (application id {app_id})."
        ),
        format!(
            "In the Microsoft Entra admin center open App registrations → \"{app_name}\" → Certificates & secrets → Certificates, upload this certificate's public part (.cer), then import the .pfx again."
        ),
    )
}
