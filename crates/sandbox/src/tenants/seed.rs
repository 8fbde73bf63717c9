//! What a new sandbox contains, and the optional config file that describes more.

use super::{Application, DirectoryRole, Tenant, TenantAccess, TenantRegistry, User};
use crate::secrets::{demo_password, hash_password};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use uuid::Uuid;

pub(crate) const DEFAULT_DOMAIN: &str = "sandbox.onmicrosoft.com";
pub(crate) const BACKUP_APP_NAME: &str = "tenantlink backup";
pub(crate) const PUBLIC_CLIENT_NAME: &str = "tenantlink sign-in";

/// The first-start tenant: an administrator, a plain user, the backup application (no
/// certificate yet) and the public client used for device sign-in.
pub(crate) fn default_registry() -> TenantRegistry {
    let admin = new_user(
        "admin",
        "Sandbox Administrator",
        DEFAULT_DOMAIN,
        None,
        vec![DirectoryRole::GlobalAdministrator],
    );
    let plain = new_user("user", "Sandbox User", DEFAULT_DOMAIN, None, vec![]);
    let mut backup = new_application(
        BACKUP_APP_NAME,
        false,
        &[
            "Application.ReadWrite.OwnedBy",
            "User.Read.All",
            "Mail.Read",
        ],
    );
    // The backup application owns itself, so `Application.ReadWrite.OwnedBy` covers its own keys.
    backup.owners.push(backup.id);
    let public_client = new_application(PUBLIC_CLIENT_NAME, true, &[]);
    TenantRegistry {
        tenants: vec![
            Tenant {
                id: Uuid::new_v4(),
                domain: DEFAULT_DOMAIN.to_owned(),
                display_name: "Sandbox Tenant".to_owned(),
                max_certificate_lifetime_days: None,
                users: vec![admin, plain],
                applications: vec![backup.into(), public_client.into()],
                access: TenantAccess::default(),
            }
            .into(),
        ],
        ..TenantRegistry::default()
    }
}

pub(crate) fn new_user(
    alias: &str,
    display_name: &str,
    domain: &str,
    password: Option<&str>,
    roles: Vec<DirectoryRole>,
) -> User {
    let (password_hash, published_password) = match password {
        Some(password) => (hash_password(password), None),
        None => {
            let generated = demo_password();
            (hash_password(&generated), Some(generated))
        }
    };
    User {
        id: Uuid::new_v4(),
        user_principal_name: format!("{alias}@{domain}"),
        display_name: display_name.to_owned(),
        password_hash,
        published_password,
        roles,
    }
}

pub(crate) fn new_application(
    display_name: &str,
    public_client: bool,
    permissions: &[&str],
) -> Application {
    Application {
        id: Uuid::new_v4(),
        app_id: Uuid::new_v4(),
        display_name: display_name.to_owned(),
        public_client,
        key_credentials: Vec::new(),
        owners: Vec::new(),
        application_permissions: permissions.iter().map(|p| (*p).to_owned()).collect(),
        delegated_permissions: [
            "User.Read",
            // `tenantlink entra keys` asks for the narrower read permission by default.
            "Application.Read.All",
            "Application.ReadWrite.All",
            // Granting admin consent while connecting an organization (issue #14).
            "AppRoleAssignment.ReadWrite.All",
            "User.Read.All",
            "Mail.Read",
            "offline_access",
        ]
        .iter()
        .map(|p| (*p).to_owned())
        .collect(),
        tags: Vec::new(),
        required_resource_access: Vec::new(),
        registered_through_graph: false,
        service_principal: None,
    }
}

/// `--config FILE`: more tenants, users and applications. Entries are matched by domain, UPN and
/// display name; missing ones are created on every start, existing ones are left alone.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default)]
    pub tenants: Vec<ConfiguredTenant>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredTenant {
    pub domain: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub max_certificate_lifetime_days: Option<u32>,
    #[serde(default)]
    pub users: Vec<ConfiguredUser>,
    #[serde(default)]
    pub applications: Vec<ConfiguredApplication>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredUser {
    /// The part before `@`; the tenant's domain is appended.
    pub alias: String,
    #[serde(default)]
    pub display_name: Option<String>,
    /// Omitted: the sandbox generates one and publishes it in `sandbox.json`.
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
}

impl std::fmt::Debug for ConfiguredUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfiguredUser")
            .field("alias", &self.alias)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfiguredApplication {
    pub display_name: String,
    #[serde(default)]
    pub public_client: bool,
    #[serde(default)]
    pub application_permissions: Vec<String>,
    /// Aliases of users in the same tenant.
    #[serde(default)]
    pub owners: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigFileError {
    #[error("cannot read the sandbox config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the sandbox config file {path} is not valid: {reason}")]
    Invalid { path: PathBuf, reason: String },
}

impl ConfigFile {
    pub fn load(path: &Path) -> Result<Self, ConfigFileError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigFileError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config: Self = serde_json::from_str(&text).map_err(|err| ConfigFileError::Invalid {
            path: path.to_owned(),
            reason: err.to_string(),
        })?;
        config.validate(path)?;
        Ok(config)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigFileError> {
        let invalid = |reason: String| ConfigFileError::Invalid {
            path: path.to_owned(),
            reason,
        };
        for tenant in &self.tenants {
            if tenant.domain.is_empty() || tenant.domain.contains('/') {
                return Err(invalid(format!(
                    "tenant domain {:?} is not a domain name",
                    tenant.domain
                )));
            }
            for user in &tenant.users {
                if user.alias.is_empty() || user.alias.contains('@') {
                    return Err(invalid(format!(
                        "user alias {:?} must be the part before '@'",
                        user.alias
                    )));
                }
                if let Some(role) = user
                    .roles
                    .iter()
                    .find(|r| DirectoryRole::from_name(r).is_none())
                {
                    return Err(invalid(format!(
                        "unknown role {role:?}; known roles: Global Administrator, Application Administrator, Cloud Application Administrator, Privileged Role Administrator"
                    )));
                }
            }
            for app in &tenant.applications {
                if let Some(owner) = app
                    .owners
                    .iter()
                    .find(|o| !tenant.users.iter().any(|u| &u.alias == *o))
                {
                    return Err(invalid(format!(
                        "owner {owner:?} of application {:?} is not a user of tenant {}",
                        app.display_name, tenant.domain
                    )));
                }
            }
        }
        Ok(())
    }

    /// Adds what the file describes and the tenant registry lacks. Returns whether anything changed.
    pub(crate) fn apply(&self, registry: &mut TenantRegistry) -> bool {
        let mut changed = false;
        for configured in &self.tenants {
            if registry.tenant(&configured.domain).is_none() {
                registry.tenants.push(
                    Tenant {
                        id: Uuid::new_v4(),
                        domain: configured.domain.clone(),
                        display_name: configured
                            .display_name
                            .clone()
                            .unwrap_or_else(|| configured.domain.clone()),
                        max_certificate_lifetime_days: configured.max_certificate_lifetime_days,
                        users: Vec::new(),
                        applications: Vec::new(),
                        access: TenantAccess::default(),
                    }
                    .into(),
                );
                changed = true;
            }
            let Some(tenant) = registry.tenant_mut(&configured.domain) else {
                continue;
            };
            if configured.max_certificate_lifetime_days.is_some()
                && tenant.max_certificate_lifetime_days != configured.max_certificate_lifetime_days
            {
                tenant.max_certificate_lifetime_days = configured.max_certificate_lifetime_days;
                changed = true;
            }
            for user in &configured.users {
                let upn = format!("{}@{}", user.alias, tenant.domain);
                if tenant.user_by_upn(&upn).is_none() {
                    let roles = user
                        .roles
                        .iter()
                        .filter_map(|r| DirectoryRole::from_name(r))
                        .collect();
                    let display_name = user
                        .display_name
                        .clone()
                        .unwrap_or_else(|| user.alias.clone());
                    let domain = tenant.domain.clone();
                    tenant.users.push(new_user(
                        &user.alias,
                        &display_name,
                        &domain,
                        user.password.as_deref(),
                        roles,
                    ));
                    changed = true;
                }
            }
            for app in &configured.applications {
                if tenant
                    .applications
                    .iter()
                    .any(|a| a.display_name == app.display_name)
                {
                    continue;
                }
                let permissions: Vec<&str> = app
                    .application_permissions
                    .iter()
                    .map(String::as_str)
                    .collect();
                let mut created =
                    new_application(&app.display_name, app.public_client, &permissions);
                created.owners = app
                    .owners
                    .iter()
                    .filter_map(|alias| tenant.user_by_upn(&format!("{alias}@{}", tenant.domain)))
                    .map(|u| u.id)
                    .collect();
                tenant.applications.push(created.into());
                changed = true;
            }
        }
        changed
    }
}
