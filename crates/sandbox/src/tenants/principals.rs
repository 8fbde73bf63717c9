//! Service principals, app role assignments (admin consent for application permissions), the
//! Microsoft Graph service principal every tenant has, and the tenant's access settings.
//!
//! A service principal lives inside its application: deleting the application deletes it (as
//! Graph does), and the token endpoint finds it with the application in one lookup.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ServicePrincipal {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(default)]
    pub app_role_assignments: Vec<AppRoleAssignment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AppRoleAssignment {
    pub id: String,
    pub app_role_id: Uuid,
    /// The resource service principal (Microsoft Graph's).
    pub resource_id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl ServicePrincipal {
    /// Whether the token endpoint sees the service principal yet (replication after creation).
    pub(crate) fn visible(&self, now: OffsetDateTime, delay: Duration) -> bool {
        self.created_at + delay <= now
    }

    /// The Graph permission names whose consent has reached the token endpoint.
    pub(crate) fn consented_roles(&self, now: OffsetDateTime, delay: Duration) -> Vec<String> {
        self.app_role_assignments
            .iter()
            .filter(|a| a.created_at + delay <= now)
            .filter_map(|a| super::graph_roles::name_of(a.app_role_id))
            .map(str::to_owned)
            .collect()
    }
}

/// `requiredResourceAccess` of an application, as Graph renders it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RequiredResourceAccess {
    pub resource_app_id: String,
    #[serde(default)]
    pub resource_access: Vec<ResourceAccess>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ResourceAccess {
    pub id: Uuid,
    /// `Role` (application permission) or `Scope` (delegated).
    #[serde(rename = "type")]
    pub kind: ResourceAccessKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum ResourceAccessKind {
    Role,
    Scope,
}

/// The object id of Microsoft Graph's service principal in a tenant: stable, distinct per tenant,
/// and derived rather than stored so that existing state directories have it too.
pub(crate) fn graph_service_principal_id(tenant: Uuid) -> Uuid {
    Uuid::from_u128(tenant.as_u128() ^ 0x6a7e_0003_0000_4000_8000_0000_0000_0000)
}

/// The tenant's access settings: Conditional Access on the device code flow, and whether users
/// without a role may register applications.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(crate) struct TenantAccess {
    /// A Conditional Access policy blocks the device code flow ("Authentication flows").
    pub block_device_code_flow: bool,
    /// Where the block shows: at the user's sign-in (then the poll fails) or on the device
    /// authorization request itself.
    pub device_code_block_at: DeviceCodeBlockPoint,
    /// Entra's "Users can register applications" (default yes in Entra; the sandbox defaults to
    /// no, as hardened tenants set it, so that a plain user is refused).
    pub users_can_register_applications: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeviceCodeBlockPoint {
    /// What azure-cli#32420 shows: the code is issued, the sign-in page refuses with 53003.
    #[default]
    SignIn,
    /// The device authorization request itself is refused.
    Request,
}
