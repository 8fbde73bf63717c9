//! The tenant registry: tenants, their users, applications and credentials. Plain data with lookups;
//! persistence lives in [`store`] (snapshot + [`journal`]), the first-start contents and the config
//! file in [`seed`], the lookup index in [`index`], the copy-on-write cell handlers share in
//! [`shared`].
//!
//! Tenants and applications sit behind `Arc`: a change copies the registry as a vector of
//! pointers and `Arc::make_mut` copies only the tenant and application it edits, so a change
//! costs what it touches, not the fleet's size; pointer inequality afterwards tells the store
//! what to write.

pub(crate) mod graph_roles;
mod index;
pub(crate) mod journal;
pub(crate) mod principals;
pub(crate) mod seed;
pub(crate) mod shared;
pub(crate) mod store;

use crate::keys::CertificateKey;
use index::TenantIndex;
pub(crate) use principals::{RequiredResourceAccess, ServicePrincipal, TenantAccess};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use time::OffsetDateTime;
use uuid::Uuid;

/// Graph's well-known application id, used as the resource of Graph scopes.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub(crate) const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct TenantRegistry {
    pub tenants: Vec<Arc<Tenant>>,
    /// Tenants by id and domain, applications by appId: the token endpoint's lookups are
    /// O(1) in fleets of thousands of applications. Rebuilt by [`TenantRegistry::reindex`] after every
    /// change; a stale entry is detected and falls back to a scan, so it can never mislead.
    #[serde(skip)]
    index: Arc<TenantIndex>,
    /// The last journal record folded into this registry when it was saved as a snapshot; the
    /// journal's records up to it are already in the snapshot (see [`store`]).
    #[serde(default)]
    pub(crate) generation: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Tenant {
    pub id: Uuid,
    pub domain: String,
    pub display_name: String,
    /// Tenant app-management policy: the longest certificate validity Graph accepts, if any.
    #[serde(default)]
    pub max_certificate_lifetime_days: Option<u32>,
    pub users: Vec<User>,
    pub applications: Vec<Arc<Application>>,
    /// Conditional Access and user settings (control API `/_sandbox/tenant/access`).
    #[serde(default)]
    pub access: TenantAccess,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct User {
    pub id: Uuid,
    pub user_principal_name: String,
    pub display_name: String,
    /// Argon2id PHC string.
    pub password_hash: String,
    /// Only for accounts the sandbox generated itself: published in `sandbox.json` so that
    /// scripts can sign in. Accounts from a config file keep only the hash.
    #[serde(default)]
    pub published_password: Option<String>,
    pub roles: Vec<DirectoryRole>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[allow(clippy::enum_variant_names)] // Entra's own role names all end in "Administrator"
pub(crate) enum DirectoryRole {
    #[serde(rename = "Global Administrator")]
    GlobalAdministrator,
    #[serde(rename = "Application Administrator")]
    ApplicationAdministrator,
    #[serde(rename = "Cloud Application Administrator")]
    CloudApplicationAdministrator,
    /// Grants app roles of Microsoft Graph (admin consent for application permissions).
    #[serde(rename = "Privileged Role Administrator")]
    PrivilegedRoleAdministrator,
}

impl DirectoryRole {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::GlobalAdministrator => "Global Administrator",
            Self::ApplicationAdministrator => "Application Administrator",
            Self::CloudApplicationAdministrator => "Cloud Application Administrator",
            Self::PrivilegedRoleAdministrator => "Privileged Role Administrator",
        }
    }

    pub(crate) const ALL: [Self; 4] = [
        Self::GlobalAdministrator,
        Self::ApplicationAdministrator,
        Self::CloudApplicationAdministrator,
        Self::PrivilegedRoleAdministrator,
    ];

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|role| role.name().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Application {
    /// Graph's `id` (object id).
    pub id: Uuid,
    pub app_id: Uuid,
    pub display_name: String,
    pub public_client: bool,
    pub key_credentials: Vec<StoredKeyCredential>,
    /// Object ids of the users who own the application.
    pub owners: Vec<Uuid>,
    /// Granted application permissions (app roles on Graph), e.g. `Application.ReadWrite.OwnedBy`.
    pub application_permissions: Vec<String>,
    /// Delegated Graph permissions consented for the application.
    pub delegated_permissions: Vec<String>,
    /// Graph's `tags`: tenantlink finds the application it created by a marker tag.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
    /// Registered through Graph's `POST /applications`: it needs a service principal of its
    /// own before it can sign in, and its app roles come from app role assignments. Seeded and
    /// control-API applications sign in without one (their permissions are given directly).
    #[serde(default)]
    pub registered_through_graph: bool,
    #[serde(default)]
    pub service_principal: Option<ServicePrincipal>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredKeyCredential {
    pub key_id: Uuid,
    /// Base64 of the bytes, as Graph renders Edm.Binary.
    pub custom_key_identifier: Option<String>,
    pub display_name: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
    pub key_type: String,
    pub usage: String,
    /// Standard base64 of the certificate DER (Graph's `key`).
    pub key: String,
    /// Sandbox time of the write that attached the key; drives the propagation delay.
    #[serde(with = "time::serde::rfc3339")]
    pub attached_at: OffsetDateTime,
    /// `key` parsed once, on first use: thumbprints, validity and the RSA public key. A stored
    /// credential's `key` never changes (changes replace the credential), so this cannot go stale.
    #[serde(skip)]
    pub parsed: ParsedKey,
}

/// A lazily parsed certificate, shared by the copies a tenant registry change makes.
#[derive(Debug, Clone, Default)]
pub(crate) struct ParsedKey(OnceLock<Option<Arc<CertificateKey>>>);

impl ParsedKey {
    pub(crate) fn with(certificate: CertificateKey) -> Self {
        Self(OnceLock::from(Some(Arc::new(certificate))))
    }
}

impl StoredKeyCredential {
    /// The parsed certificate; `None` when `key` is not a certificate (never stored by Graph).
    pub(crate) fn certificate(&self) -> Option<&CertificateKey> {
        self.parsed
            .0
            .get_or_init(|| CertificateKey::from_base64(&self.key).ok().map(Arc::new))
            .as_deref()
    }
}

impl TenantRegistry {
    /// Rebuilds the lookup index; call after changing tenants or applications.
    pub(crate) fn reindex(&mut self) {
        self.index = Arc::new(TenantIndex::build(&self.tenants));
    }

    /// Keeps `before`'s index when this registry, a changed copy of it, still has every tenant
    /// and application where `before` had them (a key added, a policy set), else rebuilds it:
    /// the check is a pointer comparison per tenant, the rebuild hashes the whole fleet.
    pub(crate) fn reindex_after(&mut self, before: &TenantRegistry) {
        if index::same_positions(&before.tenants, &self.tenants) {
            self.index = Arc::clone(&before.index);
        } else {
            self.reindex();
        }
    }

    /// The first tenant (the default one), copied out of the shared registry for editing.
    pub(crate) fn first_tenant_mut(&mut self) -> Option<&mut Tenant> {
        self.tenants.first_mut().map(Arc::make_mut)
    }

    /// Finds a tenant by id (GUID) or by domain name, as Entra's `{tenant}` path segment does.
    pub(crate) fn tenant(&self, reference: &str) -> Option<&Tenant> {
        let indexed = match Uuid::parse_str(reference) {
            Ok(id) => self.index.tenant_by_id(id),
            Err(_) => self.index.tenant_by_domain(reference),
        };
        indexed
            .and_then(|i| self.tenants.get(i))
            .filter(|t| t.matches(reference))
            .or_else(|| self.tenants.iter().find(|t| t.matches(reference)))
            .map(|t| &**t)
    }

    /// Copies the tenant out of the registry it shares with readers (`Arc::make_mut`), once.
    pub(crate) fn tenant_mut(&mut self, reference: &str) -> Option<&mut Tenant> {
        let position = match self.tenant(reference) {
            Some(found) => self
                .tenants
                .iter()
                .position(|t| std::ptr::eq(&**t, found))?,
            None => return None,
        };
        self.tenants.get_mut(position).map(Arc::make_mut)
    }

    pub(crate) fn tenant_by_id(&self, id: Uuid) -> Option<&Tenant> {
        self.index
            .tenant_by_id(id)
            .and_then(|i| self.tenants.get(i))
            .filter(|t| t.id == id)
            .or_else(|| self.tenants.iter().find(|t| t.id == id))
            .map(|t| &**t)
    }

    /// The application with this appId, in `tenant` if given, with its tenant.
    pub(crate) fn application(
        &self,
        app_id: Uuid,
        tenant: Option<Uuid>,
    ) -> Option<(&Tenant, &Application)> {
        let in_scope = |t: &Tenant| tenant.is_none_or(|id| t.id == id);
        let indexed = self.index.application(app_id).and_then(|(ti, ai)| {
            let t = self.tenants.get(ti)?;
            let a = t.applications.get(ai)?;
            (a.app_id == app_id && in_scope(t)).then_some((&**t, &**a))
        });
        indexed.or_else(|| {
            self.tenants.iter().filter(|t| in_scope(t)).find_map(|t| {
                t.applications
                    .iter()
                    .find(|a| a.app_id == app_id)
                    .map(|a| (&**t, &**a))
            })
        })
    }

    pub(crate) fn tenant_by_id_mut(&mut self, id: Uuid) -> Option<&mut Tenant> {
        let position = self
            .index
            .tenant_by_id(id)
            .filter(|&i| self.tenants.get(i).is_some_and(|t| t.id == id))
            .or_else(|| self.tenants.iter().position(|t| t.id == id))?;
        self.tenants.get_mut(position).map(Arc::make_mut)
    }
}

impl Tenant {
    /// The application at `index`, copied out of the registry it shares with readers.
    pub(crate) fn application_mut(&mut self, index: usize) -> &mut Application {
        Arc::make_mut(&mut self.applications[index])
    }

    fn matches(&self, reference: &str) -> bool {
        match Uuid::parse_str(reference) {
            Ok(id) => id == self.id,
            Err(_) => self.domain.eq_ignore_ascii_case(reference),
        }
    }

    pub(crate) fn user_by_upn(&self, upn: &str) -> Option<&User> {
        self.users
            .iter()
            .find(|u| u.user_principal_name.eq_ignore_ascii_case(upn))
    }

    /// A user by object id or UPN, as Graph's `/users/{id | userPrincipalName}`.
    pub(crate) fn user(&self, reference: &str) -> Option<&User> {
        match Uuid::parse_str(reference) {
            Ok(id) => self.users.iter().find(|u| u.id == id),
            Err(_) => self.user_by_upn(reference),
        }
    }

    pub(crate) fn user_by_id(&self, id: Uuid) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }
}
