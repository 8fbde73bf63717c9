//! What Connect does after the sign-in, one journalled step each (`operation.rs`):
//! the application (found by its marker, or registered) → its service principal → admin
//! consent for each configured permission → the service principal as an owner of the
//! application → Generate's tail (certificate stored, attached, proven while the new
//! application and consent propagate, activated).
//!
//! Every registrar call is idempotent, so a failed or interrupted attempt leaves nothing the
//! next one (Reconnect) does not reuse: the application is found by its marker, the service
//! principal by its `appId`, consent and ownership are added only where missing. A failure
//! names the call (`<call>:<kind>:<Graph code>`) with Graph's words and what to do. Steps up to
//! `owner_added` need the delegated token, which lives only in memory: a restart ends such an
//! operation (`running`), and Reconnect picks up what it made.

use super::activation::Origin;
use super::sign_in::{Readiness, ReadyToRun};
use super::{Workflows, directory_failure};
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::ServiceResult;
use crate::operation::{Operation, OperationFailure, OperationId, OperationKind, OperationStep};
use crate::ports::DirectoryError;
use crate::registrar::{ApplicationRequest, Registrar, RegistrationCall, application_marker};
use std::sync::Arc;

impl Workflows {
    /// The Connect steps and wait for the outcome: [`Workflows::start_connect_steps`], then
    /// [`Workflows::settled`].
    pub async fn connect_steps(
        &self,
        caller: &Caller,
        id: OperationId,
    ) -> ServiceResult<Operation> {
        self.start_connect_steps(caller, id).await?;
        self.settled(caller, id).await
    }

    /// After the sign-in of a `connect` operation: checks that it may go on, then registers,
    /// consents, generates, attaches, proves and activates on the operation's background task.
    /// Returns the operation as it stands when the task starts (or as it ended, if it could not
    /// go on). The way Generate follows its sign-in (`POST /operations/{id}/generate`).
    pub async fn start_connect_steps(
        &self,
        caller: &Caller,
        id: OperationId,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageCertificates)?;
        let registrar = self.registrar()?;
        let ready = match self
            .ready_to_run(
                id,
                OperationKind::Connect,
                "connect",
                "so this operation stopped before registering anything or attaching a certificate",
            )
            .await?
        {
            Readiness::Ready(ready) => ready,
            Readiness::Ended(operation) => return Ok(operation),
        };
        let operation = ready.operation.clone();
        self.run_in_background(id, "connect", move |workflows| async move {
            workflows.connect_signed_in(ready, registrar).await
        })?;
        Ok(operation)
    }

    async fn connect_signed_in(
        &self,
        ready: ReadyToRun,
        registrar: Arc<dyn Registrar>,
    ) -> ServiceResult<Operation> {
        let ReadyToRun {
            operation,
            token,
            organization,
        } = ready;
        let settings = self.config.connect.clone();
        let marker = application_marker(organization.id);
        use RegistrationCall as Call;

        // Nothing is created until the permission names are known to Graph.
        let permissions = match registrar
            .graph_permissions(&organization, &token, &settings.permissions)
            .await
        {
            Ok(permissions) => permissions,
            Err(err) => {
                return self
                    .fail(operation, setup_failure(Call::ReadGraphPermissions, &err))
                    .await;
            }
        };

        let known_app_id =
            (!organization.app_id.is_empty()).then_some(organization.app_id.as_str());
        let found = match registrar
            .find_application(&organization, &token, &marker, known_app_id)
            .await
        {
            Ok(found) => found,
            Err(err) => {
                return self
                    .fail(operation, setup_failure(Call::FindApplication, &err))
                    .await;
            }
        };
        let (app, created) = match found {
            Some(app) => (app, false),
            None => {
                let request = ApplicationRequest {
                    display_name: &settings.display_name,
                    marker: &marker,
                    permissions: &permissions,
                };
                match registrar
                    .create_application(&organization, &token, &request)
                    .await
                {
                    Ok(app) => (app, true),
                    Err(err) => {
                        return self
                            .fail(operation, setup_failure(Call::CreateApplication, &err))
                            .await;
                    }
                }
            }
        };
        let organization = self
            .repository
            .set_application(organization.id, &app.app_id, &app.object_id, self.now())
            .await?;
        let operation = self
            .advance(operation, OperationStep::ApplicationCreated)
            .await?;
        let how = if created { "registered" } else { "reused" };
        self.audit_registration(&operation, format!("application {} ({how})", app.app_id))
            .await;

        let principal = match registrar
            .ensure_service_principal(&organization, &token, &app.app_id)
            .await
        {
            Ok(principal) => principal,
            Err(err) => {
                return self
                    .fail(operation, setup_failure(Call::ServicePrincipal, &err))
                    .await;
            }
        };
        let operation = self
            .advance(operation, OperationStep::ServicePrincipalCreated)
            .await?;

        let granted = match registrar
            .grant_permissions(&organization, &token, &principal, &permissions)
            .await
        {
            Ok(granted) => granted,
            Err(err) => {
                return self
                    .fail(operation, setup_failure(Call::GrantConsent, &err))
                    .await;
            }
        };
        let operation = self
            .advance(operation, OperationStep::PermissionsGranted)
            .await?;
        let consented = if granted.is_empty() {
            "admin consent already granted for every permission".to_owned()
        } else {
            format!("admin consent granted: {}", granted.join(", "))
        };
        self.audit_registration(&operation, consented).await;

        if let Err(err) = registrar
            .ensure_owner(&organization, &token, &app.object_id, &principal)
            .await
        {
            return self
                .fail(operation, setup_failure(Call::AddOwner, &err))
                .await;
        }
        let operation = self.advance(operation, OperationStep::OwnerAdded).await?;

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

    /// Persists the operation at its next step.
    async fn advance(
        &self,
        mut operation: Operation,
        step: OperationStep,
    ) -> ServiceResult<Operation> {
        operation.step = step;
        self.save(operation).await
    }

    async fn audit_registration(&self, operation: &Operation, detail: String) {
        self.audit(
            &operation.started_by,
            AuditAction::ApplicationRegistered,
            Some(operation.organization),
            Vec::new(),
            AuditOutcome::Success,
            Some(detail),
        )
        .await;
    }
}

/// A registrar failure as the operation records it: which call (code and message), Graph's
/// words and the adapter's remedy for that call.
fn setup_failure(call: RegistrationCall, err: &DirectoryError) -> OperationFailure {
    let mut explained = directory_failure(err);
    explained.code = format!("{}:{}", call.as_str(), explained.code);
    explained.message = format!("{} failed: {}", call.doing(), explained.message);
    explained
}
