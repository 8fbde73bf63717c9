//! A scripted [`Registrar`]: one tenant's applications, service principals, consents and
//! owners in memory, as Graph keeps them, with per-call refusals and hangs the test chooses.

use super::{lock, ready};
use crate::model::Organization;
use crate::ports::{BoxFuture, DelegatedToken, DirectoryError, DirectoryErrorKind};
use crate::registrar::{
    ApplicationRequest, GraphPermission, GraphPermissions, RegisteredApp, Registrar,
    RegistrationCall,
};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// The object id of Microsoft Graph's service principal in the fake tenant.
pub const FAKE_GRAPH_PRINCIPAL_ID: &str = "a0000000-0000-4000-8000-00000000graph";

/// Microsoft Graph's application permissions the fake tenant knows (name, app role id).
const GRAPH_ROLES: [(&str, &str); 5] = [
    ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
    ("Mail.Read", "810c84a8-4a9e-49e6-bf7d-12d183f40d01"),
    (
        "Application.ReadWrite.OwnedBy",
        "18a4783c-866b-4cc7-a460-3d5e5662c884",
    ),
    (
        "Application.ReadWrite.All",
        "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
    ),
    ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
];

/// An application registration of the fake tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakeApplication {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub tags: Vec<String>,
    /// App role ids in `requiredResourceAccess`.
    pub required: Vec<String>,
    pub owners: Vec<String>,
}

#[derive(Debug, Default)]
struct Tenant {
    next: u32,
    applications: Vec<FakeApplication>,
    /// appId → service principal object id.
    principals: HashMap<String, String>,
    /// (principal id, app role id) granted on Graph.
    grants: BTreeSet<(String, String)>,
    failures: HashMap<RegistrationCall, VecDeque<DirectoryError>>,
    hangs: HashMap<RegistrationCall, Arc<tokio::sync::Notify>>,
    calls: HashMap<RegistrationCall, u32>,
}

/// The fake tenant; clones share it.
#[derive(Debug, Clone, Default)]
pub struct FakeRegistrar {
    tenant: Arc<Mutex<Tenant>>,
}

impl FakeRegistrar {
    pub fn new() -> Self {
        Self::default()
    }

    /// The next `call` answers `error` (then calls go on as usual).
    pub fn fail_next(&self, call: RegistrationCall, error: DirectoryError) {
        lock(&self.tenant)
            .failures
            .entry(call)
            .or_default()
            .push_back(error);
    }

    /// The next `call` never answers (tenantlink killed while waiting for Graph); the returned
    /// notification fires once it was made.
    pub fn hang_next(&self, call: RegistrationCall) -> Arc<tokio::sync::Notify> {
        let reached = Arc::new(tokio::sync::Notify::new());
        lock(&self.tenant).hangs.insert(call, reached.clone());
        reached
    }

    /// Graph's refusal of a delegated call by an account without the directory role it needs.
    pub fn insufficient_privileges() -> DirectoryError {
        DirectoryError::new(
            DirectoryErrorKind::InsufficientPrivileges,
            Some("Authorization_RequestDenied".into()),
            "Insufficient privileges to complete the operation.",
            "Sign in with a Global Administrator or Privileged Role Administrator.",
        )
    }

    /// Graph's refusal of one more application in a full tenant.
    pub fn quota_exceeded() -> DirectoryError {
        DirectoryError::new(
            DirectoryErrorKind::QuotaExceeded,
            Some("Directory_QuotaExceeded".into()),
            "The directory object quota limit for the Tenant has been exceeded.",
            "Delete unused applications in Entra ID, or ask Microsoft support to raise the quota.",
        )
    }

    pub fn applications(&self) -> Vec<FakeApplication> {
        lock(&self.tenant).applications.clone()
    }

    /// The service principal of `app_id`, if it has one.
    pub fn principal_of(&self, app_id: &str) -> Option<String> {
        lock(&self.tenant).principals.get(app_id).cloned()
    }

    /// The permission names granted to `app_id`'s service principal, sorted.
    pub fn granted(&self, app_id: &str) -> Vec<String> {
        let tenant = lock(&self.tenant);
        let Some(principal) = tenant.principals.get(app_id) else {
            return Vec::new();
        };
        let mut names: Vec<String> = tenant
            .grants
            .iter()
            .filter(|(p, _)| p == principal)
            .filter_map(|(_, role)| role_name(role))
            .map(str::to_owned)
            .collect();
        names.sort();
        names
    }

    /// Deletes an application as an administrator does in Entra: its service principal and
    /// consents go with it.
    pub fn delete_application(&self, app_id: &str) {
        let mut tenant = lock(&self.tenant);
        tenant.applications.retain(|a| a.app_id != app_id);
        if let Some(principal) = tenant.principals.remove(app_id) {
            tenant.grants.retain(|(p, _)| *p != principal);
        }
    }

    /// Takes the marker tags off `app_id`, as on an application registered by hand.
    pub fn untag(&self, app_id: &str) {
        let mut tenant = lock(&self.tenant);
        if let Some(app) = tenant.applications.iter_mut().find(|a| a.app_id == app_id) {
            app.tags.clear();
        }
    }

    /// Revokes one consent of `app_id` (Enterprise applications → Permissions → Revoke).
    pub fn revoke(&self, app_id: &str, permission: &str) {
        let mut tenant = lock(&self.tenant);
        let Some(principal) = tenant.principals.get(app_id).cloned() else {
            return;
        };
        let role = role_id(permission).unwrap_or_default().to_owned();
        tenant.grants.remove(&(principal, role));
    }

    pub fn calls(&self, call: RegistrationCall) -> u32 {
        lock(&self.tenant).calls.get(&call).copied().unwrap_or(0)
    }

    /// Counts the call; its scripted refusal or hang, if any.
    fn begin(&self, call: RegistrationCall) -> Option<BoxFuture<'static, DirectoryError>> {
        let mut tenant = lock(&self.tenant);
        *tenant.calls.entry(call).or_default() += 1;
        if let Some(reached) = tenant.hangs.remove(&call) {
            reached.notify_one();
            return Some(Box::pin(std::future::pending()));
        }
        let err = tenant.failures.get_mut(&call)?.pop_front()?;
        Some(Box::pin(std::future::ready(err)))
    }

    fn id(tenant: &mut Tenant, kind: &str) -> String {
        tenant.next += 1;
        format!("{kind}-{:04}", tenant.next)
    }
}

fn role_id(name: &str) -> Option<&'static str> {
    GRAPH_ROLES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, id)| *id)
}

fn role_name(id: &str) -> Option<&'static str> {
    GRAPH_ROLES.iter().find(|(_, i)| *i == id).map(|(n, _)| *n)
}

fn registered(app: &FakeApplication) -> RegisteredApp {
    RegisteredApp {
        object_id: app.object_id.clone(),
        app_id: app.app_id.clone(),
        display_name: app.display_name.clone(),
    }
}

/// Answers a scripted refusal (or never) instead of `value`.
macro_rules! scripted {
    ($self:ident, $call:expr) => {
        if let Some(refusal) = $self.begin($call) {
            return Box::pin(async move { Err(refusal.await) });
        }
    };
}

impl Registrar for FakeRegistrar {
    fn graph_permissions<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        names: &'a [String],
    ) -> BoxFuture<'a, Result<GraphPermissions, DirectoryError>> {
        scripted!(self, RegistrationCall::ReadGraphPermissions);
        let resolved = names
            .iter()
            .map(|name| match role_id(name) {
                Some(id) => Ok(GraphPermission {
                    name: name.clone(),
                    app_role_id: id.to_owned(),
                }),
                None => Err(DirectoryError::new(
                    DirectoryErrorKind::Other,
                    None,
                    format!("Microsoft Graph has no application permission {name}."),
                    "Correct the permission names in [connect] permissions.",
                )),
            })
            .collect::<Result<Vec<_>, _>>();
        ready(resolved.map(|permissions| GraphPermissions {
            graph_principal_id: FAKE_GRAPH_PRINCIPAL_ID.to_owned(),
            permissions,
        }))
    }

    fn find_application<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        marker: &'a str,
        app_id: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Option<RegisteredApp>, DirectoryError>> {
        scripted!(self, RegistrationCall::FindApplication);
        let tenant = lock(&self.tenant);
        let by_marker = tenant
            .applications
            .iter()
            .find(|a| a.tags.iter().any(|t| t == marker));
        let by_id = || app_id.and_then(|id| tenant.applications.iter().find(|a| a.app_id == id));
        ready(Ok(by_marker.or_else(by_id).map(registered)))
    }

    fn create_application<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        request: &'a ApplicationRequest<'a>,
    ) -> BoxFuture<'a, Result<RegisteredApp, DirectoryError>> {
        scripted!(self, RegistrationCall::CreateApplication);
        let mut tenant = lock(&self.tenant);
        let app = FakeApplication {
            object_id: Self::id(&mut tenant, "object"),
            app_id: Self::id(&mut tenant, "app"),
            display_name: request.display_name.to_owned(),
            tags: vec![request.marker.to_owned()],
            required: request
                .permissions
                .permissions
                .iter()
                .map(|p| p.app_role_id.clone())
                .collect(),
            // Graph makes the signed-in administrator an owner.
            owners: vec!["signed-in-admin".into()],
        };
        tenant.applications.push(app.clone());
        ready(Ok(registered(&app)))
    }

    fn ensure_service_principal<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        app_id: &'a str,
    ) -> BoxFuture<'a, Result<String, DirectoryError>> {
        scripted!(self, RegistrationCall::ServicePrincipal);
        let mut tenant = lock(&self.tenant);
        if let Some(principal) = tenant.principals.get(app_id) {
            return ready(Ok(principal.clone()));
        }
        if !tenant.applications.iter().any(|a| a.app_id == app_id) {
            return ready(Err(DirectoryError::new(
                DirectoryErrorKind::ApplicationNotFound,
                Some("Request_BadRequest".into()),
                "The appId of the service principal does not reference a valid application object.",
                "Reconnect the organization.",
            )));
        }
        let principal = Self::id(&mut tenant, "principal");
        tenant
            .principals
            .insert(app_id.to_owned(), principal.clone());
        ready(Ok(principal))
    }

    fn grant_permissions<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        principal_id: &'a str,
        permissions: &'a GraphPermissions,
    ) -> BoxFuture<'a, Result<Vec<String>, DirectoryError>> {
        scripted!(self, RegistrationCall::GrantConsent);
        let mut tenant = lock(&self.tenant);
        let mut granted = Vec::new();
        for permission in &permissions.permissions {
            let grant = (principal_id.to_owned(), permission.app_role_id.clone());
            if tenant.grants.insert(grant) {
                granted.push(permission.name.clone());
            }
        }
        ready(Ok(granted))
    }

    fn ensure_owner<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        object_id: &'a str,
        owner_id: &'a str,
    ) -> BoxFuture<'a, Result<bool, DirectoryError>> {
        scripted!(self, RegistrationCall::AddOwner);
        let mut tenant = lock(&self.tenant);
        let Some(app) = tenant
            .applications
            .iter_mut()
            .find(|a| a.object_id == object_id)
        else {
            return ready(Err(DirectoryError::new(
                DirectoryErrorKind::ApplicationNotFound,
                Some("Request_ResourceNotFound".into()),
                format!("Resource '{object_id}' does not exist."),
                "Reconnect the organization.",
            )));
        };
        if app.owners.iter().any(|o| o == owner_id) {
            return ready(Ok(false));
        }
        app.owners.push(owner_id.to_owned());
        ready(Ok(true))
    }
}
