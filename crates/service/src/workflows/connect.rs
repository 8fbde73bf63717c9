//! **Connect an organization** and **Reconnect**: the device sign-in of an account that may
//! register applications and grant admin consent. Connect first stores the organization (its
//! application id still empty: `Repository::set_application` records it once the application
//! exists); it counts as connected only once its first certificate is active. After the
//! sign-in, [`Workflows::start_connect_steps`] registers and proves (`connect_steps`).
//!
//! A tenant already connected (an organization of the same cloud and tenant) is refused with a
//! 409 naming that organization: Reconnect it instead, which runs the same steps and reuses the
//! application it has, or registers a new one when it was deleted.

use super::Workflows;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::cloud::Cloud;
use crate::error::{ServiceError, ServiceResult};
use crate::model::{NewOrganization, Organization, OrganizationId};
use crate::operation::{Operation, OperationKind};
use crate::registrar::Registrar;
use std::sync::Arc;

/// The Microsoft Graph application permissions the backup application gets by default, each
/// consented by Connect:
/// - `User.Read.All`: list the tenant's users, whose mailboxes the backup policies read;
/// - `Mail.Read`: read every mailbox's messages (the mail backup);
/// - `Application.ReadWrite.OwnedBy`: read and roll the application's own keys (rotation,
///   issue #12), and nothing of any application it does not own.
pub const DEFAULT_PERMISSIONS: [&str; 3] = [
    "User.Read.All",
    "Mail.Read",
    "Application.ReadWrite.OwnedBy",
];

/// The display name of the application Connect registers, unless configured.
pub const DEFAULT_APPLICATION_NAME: &str = "tenantlink backup";

/// What "Connect an organization" registers in a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSettings {
    /// The application registration's display name (shown in Entra's App registrations).
    pub display_name: String,
    /// Microsoft Graph application permissions, by name (`Mail.Read`), listed in the
    /// application's `requiredResourceAccess` and consented.
    pub permissions: Vec<String>,
}

impl Default for ConnectSettings {
    fn default() -> Self {
        Self {
            display_name: DEFAULT_APPLICATION_NAME.to_owned(),
            permissions: DEFAULT_PERMISSIONS
                .iter()
                .map(|p| (*p).to_owned())
                .collect(),
        }
    }
}

/// "Connect an organization" as the administrator asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectRequest {
    /// Tenant GUID or domain (`contoso.onmicrosoft.com`).
    pub tenant: String,
    pub cloud: Cloud,
    /// The organization's name in tenantlink; the tenant when `None` or blank.
    pub name: Option<String>,
}

impl Workflows {
    /// "Connect an organization": stores the organization (no application yet) and begins the
    /// device sign-in with the scopes that register applications and grant admin consent. The
    /// operation (kind `connect`) then waits for the sign-in like Generate's; after it,
    /// [`Workflows::start_connect_steps`].
    pub async fn start_connect(
        &self,
        caller: &Caller,
        request: ConnectRequest,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageOrganizations)?;
        caller.require(Permission::ManageCertificates)?;
        self.registrar()?;
        let new = validate_connect(request)?;
        if let Some(existing) = self
            .repository
            .organizations()
            .await?
            .into_iter()
            .find(|o| o.cloud == new.cloud && o.tenant.eq_ignore_ascii_case(&new.tenant))
        {
            return Err(already_connected(&existing));
        }
        // The sign-in is asked for before anything is stored: a tenant that cannot even start
        // one leaves no organization behind. Only tenant and cloud matter to it.
        let draft = new.clone().added(OrganizationId::new(), self.now());
        let requested = self.request_sign_in(&draft, OperationKind::Connect).await?;
        let organization = self.repository.add_organization(new, self.now()).await?;
        self.audit(
            &caller.name,
            AuditAction::OrganizationAdded,
            Some(organization.id),
            Vec::new(),
            AuditOutcome::Success,
            Some(format!(
                "{} ({}), connecting",
                organization.name, organization.tenant
            )),
        )
        .await;
        self.record_started(caller, &organization, OperationKind::Connect, requested)
            .await
    }

    /// "Reconnect": the Connect steps for an organization tenantlink has, e.g. after its
    /// application was deleted or its consent revoked. Reuses the application when it exists
    /// (found by its marker, or by the recorded application id), registers a new one
    /// otherwise, and grants what consent is missing; ends with a new active certificate.
    pub async fn start_reconnect(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Operation> {
        caller.require(Permission::ManageOrganizations)?;
        caller.require(Permission::ManageCertificates)?;
        self.registrar()?;
        let organization = self.repository.organization(organization).await?;
        self.refuse_while_running(&organization).await?;
        let requested = self
            .request_sign_in(&organization, OperationKind::Connect)
            .await?;
        self.record_started(caller, &organization, OperationKind::Connect, requested)
            .await
    }

    /// The registrar, or why Connect is not available on this instance.
    pub(super) fn registrar(&self) -> ServiceResult<Arc<dyn Registrar>> {
        self.registrar.clone().ok_or_else(|| ServiceError::Conflict {
            detail: "Connecting an organization is not available on this tenantlink instance (it was started without application registration). Add the organization with its application id instead.".into(),
        })
    }
}

/// The 409 for a tenant tenantlink already has, naming the organization and the way on.
fn already_connected(existing: &Organization) -> ServiceError {
    ServiceError::Conflict {
        detail: format!(
            "The tenant {} ({}) is already an organization of tenantlink: {} (organization {}). Reconnect that organization instead (its page, or POST /api/v1/organizations/{}/reconnect): it reuses its application, or registers a new one if it was deleted.",
            existing.tenant,
            existing.cloud.as_str(),
            existing.name,
            existing.id,
            existing.id
        ),
    }
}

fn validate_connect(request: ConnectRequest) -> ServiceResult<NewOrganization> {
    let tenant = request.tenant.trim().to_owned();
    if !super::is_tenant_reference(&tenant) {
        return Err(ServiceError::Invalid {
            field: "tenant".into(),
            message:
                "the tenant is its GUID (directory id) or a domain such as contoso.onmicrosoft.com"
                    .into(),
        });
    }
    let name = request
        .name
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| tenant.clone());
    Ok(NewOrganization {
        name,
        tenant,
        cloud: request.cloud,
        // Recorded by `set_application` once the application exists.
        app_id: String::new(),
    })
}
