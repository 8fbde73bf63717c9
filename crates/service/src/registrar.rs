//! The [`Registrar`] port: registering the backup application in a tenant with an
//! administrator's delegated token ("Connect an organization", Reconnect). Separate from
//! [`crate::Directory`], which only ever touches an application that already exists.
//!
//! Every call is idempotent, so an attempt that is retried or started again after a failure
//! reuses what an earlier one made: the application is found by its marker tag (never by its
//! name), the service principal by the application's `appId`, consent and ownership are only
//! added when missing. The workflow (`workflows::connect`) decides the order and journals each
//! step.

use crate::model::{Organization, OrganizationId};
use crate::ports::{BoxFuture, DelegatedToken, DirectoryError};
use std::fmt::Debug;

/// The tag tenantlink puts on the application it registers for `organization`, and finds it by
/// (Graph `$filter=tags/any(t:t eq '…')`): one per organization, so deleting and re-adding an
/// organization in tenantlink never adopts another organization's application.
pub fn application_marker(organization: OrganizationId) -> String {
    format!("tenantlink:{organization}")
}

/// Which Graph call of the registration failed: the adapter's explanation names it, and says
/// which role or setting that call needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RegistrationCall {
    /// Reading Microsoft Graph's service principal (its app roles: the permission ids).
    ReadGraphPermissions,
    FindApplication,
    CreateApplication,
    ServicePrincipal,
    GrantConsent,
    AddOwner,
}

impl RegistrationCall {
    /// The words a failure message starts with ("Creating the application registration failed").
    pub fn doing(self) -> &'static str {
        match self {
            Self::ReadGraphPermissions => "Reading Microsoft Graph's application permissions",
            Self::FindApplication => "Looking for the application tenantlink registered before",
            Self::CreateApplication => "Creating the application registration",
            Self::ServicePrincipal => "Creating the application's service principal",
            Self::GrantConsent => "Granting admin consent to the application permissions",
            Self::AddOwner => "Making the application's service principal an owner of it",
        }
    }

    /// The stable word in the operation's failure code (`connect:<word>:…`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadGraphPermissions => "read_graph_permissions",
            Self::FindApplication => "find_application",
            Self::CreateApplication => "create_application",
            Self::ServicePrincipal => "service_principal",
            Self::GrantConsent => "grant_consent",
            Self::AddOwner => "add_owner",
        }
    }
}

/// An application registration tenantlink registered (or reuses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredApp {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
}

/// One Microsoft Graph application permission, resolved in the tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphPermission {
    /// e.g. `Mail.Read`.
    pub name: String,
    /// The app role's id on Microsoft Graph's service principal.
    pub app_role_id: String,
}

/// The configured permissions as the tenant's Microsoft Graph service principal defines them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphPermissions {
    /// The object id of Microsoft Graph's service principal in this tenant (the `resourceId`
    /// of the consents).
    pub graph_principal_id: String,
    pub permissions: Vec<GraphPermission>,
}

/// What `POST /applications` creates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationRequest<'a> {
    pub display_name: &'a str,
    pub marker: &'a str,
    pub permissions: &'a GraphPermissions,
}

/// Graph with an administrator's delegated token, as the Connect workflow needs it. Each call
/// explains its failure with the [`RegistrationCall`] it was (Graph's words and what to do).
pub trait Registrar: Send + Sync + Debug + 'static {
    /// Resolves `names` (e.g. `Mail.Read`) to Microsoft Graph's app roles in the tenant. A name
    /// Graph does not define as an application permission is refused, naming it.
    fn graph_permissions<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<GraphPermissions, DirectoryError>>;

    /// The application tenantlink registered before: the one tagged `marker`, else (an
    /// organization added by hand, or before markers) the one with `app_id`. `None`: neither
    /// exists (never registered, or deleted since).
    fn find_application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        marker: &'a str,
        app_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<RegisteredApp>, DirectoryError>>;

    /// Registers the application, tagged with the marker, listing the permissions in its
    /// `requiredResourceAccess`. A lost answer is settled by the marker, never a second one.
    fn create_application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        request: &'a ApplicationRequest<'a>,
    ) -> BoxFuture<'a, Result<RegisteredApp, DirectoryError>>;

    /// The application's service principal: found, or created. Returns its object id.
    fn ensure_service_principal<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        app_id: &'a str,
    ) -> BoxFuture<'a, Result<String, DirectoryError>>;

    /// Admin consent for each permission to `principal_id` (an app role assignment on
    /// Microsoft Graph's service principal), skipping those already granted. Returns the names
    /// granted now (empty when all were granted before).
    fn grant_permissions<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        principal_id: &'a str,
        permissions: &'a GraphPermissions,
    ) -> BoxFuture<'a, Result<Vec<String>, DirectoryError>>;

    /// Makes `owner_id` (the application's service principal) an owner of the application
    /// `object_id` unless it is one already. Returns whether it was added now.
    fn ensure_owner<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        object_id: &'a str,
        owner_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, DirectoryError>>;
}
