//! **Upload a custom certificate**: after the device sign-in, read the .pfx, confirm through
//! Graph that the application already lists its key, then prove and activate it (the shared
//! tail in `activation`). The request only checks and starts; reading the file and the rest run
//! on the operation's background task. The file's password lives only until the file is read.

use super::activation::Origin;
use super::sign_in::{Readiness, ReadyToRun};
use super::{Workflows, directory_failure, failure};
use crate::accounts::{Caller, Permission};
use crate::error::ServiceResult;
use crate::operation::{Operation, OperationFailure, OperationId, OperationKind};
use crate::secret::SecretString;
use tenantlink_certificate::import_pkcs12;

impl Workflows {
    /// "Import" and wait for the outcome: [`Workflows::start_import`], then
    /// [`Workflows::settled`].
    pub async fn import(
        &self,
        caller: &Caller,
        id: OperationId,
        pfx: &[u8],
        password: Option<SecretString>,
    ) -> ServiceResult<Operation> {
        self.start_import(caller, id, pfx.to_vec(), password)
            .await?;
        self.settled(caller, id).await
    }

    /// "Import": checks that the operation may import now, then validates the file, confirms
    /// through Graph that it is attached, proves and activates on the operation's background
    /// task. Returns the operation as it stands when the task starts.
    pub async fn start_import(
        &self,
        caller: &Caller,
        id: OperationId,
        pfx: Vec<u8>,
        password: Option<SecretString>,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let ready = match self
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
        let operation = ready.operation.clone();
        self.run_in_background(id, "import", move |workflows| async move {
            workflows.import_signed_in(ready, &pfx, password).await
        })?;
        Ok(operation)
    }

    async fn import_signed_in(
        &self,
        ready: ReadyToRun,
        pfx: &[u8],
        password: Option<SecretString>,
    ) -> ServiceResult<Operation> {
        let ReadyToRun {
            operation,
            token,
            organization,
        } = ready;
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
