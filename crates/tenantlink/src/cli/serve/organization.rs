//! The organization `tenantlink serve` connects at start: a configured real tenant (a cloud by
//! name, or explicit authority / Graph URLs with an extra CA), or else the embedded sandbox's
//! backup application. Both go through the same `EntraDirectory`; only endpoints differ.

use super::clouds::{CloudOverride, CloudTarget, parse_guid};
use super::config::layers::{Layers, Sourced};
use super::config_file::OrganizationSection;
use anyhow::{Context as _, anyhow, bail};
use std::path::PathBuf;
use tenantlink_directory::graph_resource;
use tenantlink_entra::{Cloud, Endpoints, TenantId};
use tenantlink_sandbox::SandboxInfo;
use tenantlink_service::{NewOrganization, Organization, Workflows};

/// A real tenant, as configured (`[organization]` or `TENANTLINK_TENANT` / `TENANTLINK_APP_ID` …).
#[derive(Debug, Clone)]
pub struct OrganizationConfig {
    pub name: Option<String>,
    pub tenant: TenantId,
    pub app_id: String,
    pub cloud: Cloud,
    /// `authority`, `graph`, `ca_file` and `device_client_id`: settings of the organization's
    /// cloud (as `[clouds.NAME]`), so every organization of that cloud uses them.
    pub overrides: CloudOverride,
}

/// Everything `serve` needs to talk to one organization's directory.
#[derive(Debug, Clone)]
pub struct Connection {
    /// Its cloud's endpoints, Graph resource and device sign-in client.
    pub target: CloudTarget,
    pub organization: NewOrganization,
    /// Known up front for the sandbox; for a real tenant it is looked up at the first sign-in.
    pub app_object_id: Option<String>,
    /// How the start-up banner describes the directory.
    pub description: String,
}

impl OrganizationConfig {
    /// `None` when no tenant and app id are configured (the sandbox is used then).
    pub fn resolve(
        layers: &Layers<'_>,
        section: Option<&OrganizationSection>,
    ) -> anyhow::Result<Option<Self>> {
        let empty = OrganizationSection::default();
        let section = section.unwrap_or(&empty);
        let text = |var: &str, value: &Option<String>, key: &str| {
            layers.pick::<String>(None, "", var, value.clone(), &format!("organization.{key}"))
        };
        let tenant = text("TENANTLINK_TENANT", &section.tenant, "tenant")?;
        let app_id = text("TENANTLINK_APP_ID", &section.app_id, "app_id")?;
        let name = text("TENANTLINK_ORGANIZATION_NAME", &section.name, "name")?;
        let cloud = text("TENANTLINK_CLOUD", &section.cloud, "cloud")?;
        let device_client_id = text(
            "TENANTLINK_DEVICE_CLIENT_ID",
            &section.device_client_id,
            "device_client_id",
        )?;
        let authority = text("TENANTLINK_AUTHORITY", &section.authority, "authority")?;
        let graph = text("TENANTLINK_GRAPH", &section.graph, "graph")?;
        let ca_file = layers.pick::<PathBuf>(
            None,
            "",
            "TENANTLINK_CA_FILE",
            layers.path(section.ca_file.clone()),
            "organization.ca_file",
        )?;

        let (tenant, app_id) = match (tenant, app_id) {
            (Some(tenant), Some(app_id)) => (tenant, app_id),
            (None, None) => {
                let stray = [&name, &cloud, &device_client_id, &authority, &graph]
                    .into_iter()
                    .flatten()
                    .map(|s| s.origin.clone())
                    .chain(ca_file.map(|s| s.origin));
                if let Some(origin) = stray.into_iter().next() {
                    bail!(
                        "{origin} configures an organization, but no tenant and app id are set: set both (organization.tenant and organization.app_id, or TENANTLINK_TENANT and TENANTLINK_APP_ID), or remove it to use the sandbox tenant"
                    );
                }
                return Ok(None);
            }
            (Some(set), None) => bail!(
                "the tenant is set ({}) but the backup application's app id is not: set organization.app_id or TENANTLINK_APP_ID too",
                set.origin
            ),
            (None, Some(set)) => bail!(
                "the backup application's app id is set ({}) but the tenant is not: set organization.tenant or TENANTLINK_TENANT too",
                set.origin
            ),
        };

        let tenant_id = parse_tenant(&tenant)?;
        let app_id_value = parse_guid(&app_id, "application (client) id")?;
        let cloud = match cloud {
            Some(s) => Cloud::from_name(&s.value).map_err(|e| anyhow!("{e} ({})", s.origin))?,
            None => Cloud::Global,
        };
        let overrides = CloudOverride {
            authority,
            graph,
            graph_resource: None,
            ca_file,
            device_client_id,
        };
        // Checked here too, so a bad value is reported as the organization's.
        overrides.target(cloud)?;
        Ok(Some(Self {
            name: name.map(|s| s.value),
            tenant: tenant_id,
            app_id: app_id_value,
            cloud,
            overrides,
        }))
    }

    /// The organization on `target`: its cloud's resolved settings (`CloudsConfig::target`).
    pub fn connection(&self, target: &CloudTarget) -> Connection {
        Connection {
            target: target.clone(),
            organization: NewOrganization {
                name: self.name.clone().unwrap_or_default(),
                tenant: self.tenant.as_str().to_owned(),
                cloud: self.cloud.into(),
                app_id: self.app_id.clone(),
            },
            app_object_id: None,
            description: format!(
                "tenant {} ({} cloud) at {}",
                self.tenant,
                self.cloud.name(),
                target.endpoints.authority().as_str().trim_end_matches('/')
            ),
        }
    }
}

/// The embedded sandbox: its backup application, its public client, its CA.
pub fn sandbox_connection(info: &SandboxInfo) -> anyhow::Result<Connection> {
    // The sandbox serves Graph under its own host (`graph_base` is that host + /v1.0).
    let endpoints =
        Endpoints::explicit(&info.authority, &info.authority)?.with_extra_ca_file(&info.ca_file);
    Ok(Connection {
        target: CloudTarget {
            endpoints,
            graph_resource: graph_resource(Cloud::Global),
            device_client_id: Some(info.public_client_id.clone()),
        },
        organization: NewOrganization {
            name: format!("Sandbox ({})", info.tenant_domain),
            tenant: info.tenant_id.clone(),
            cloud: tenantlink_service::Cloud::Sandbox,
            app_id: info.backup_app.app_id.clone(),
        },
        app_object_id: Some(info.backup_app.object_id.clone()),
        description: format!("sandbox tenant {} ({})", info.authority, info.tenant_id),
    })
}

/// Adds the connection's organization unless it is already there (the service decides which
/// organization that is).
pub async fn ensure_organization(
    workflows: &Workflows,
    connection: &Connection,
) -> anyhow::Result<Organization> {
    let wanted = &connection.organization;
    workflows
        .ensure_configured_organization(wanted.clone(), connection.app_object_id.as_deref())
        .await
        .with_context(|| format!("add the configured organization {}", wanted.tenant))
}

fn parse_tenant(tenant: &Sourced<String>) -> anyhow::Result<TenantId> {
    let value = tenant.value.trim();
    if !tenantlink_service::is_tenant_reference(value) {
        bail!(
            "tenant {value:?} ({}) is neither a tenant id (GUID) nor a domain such as contoso.onmicrosoft.com",
            tenant.origin
        );
    }
    TenantId::parse(value).map_err(|e| anyhow!("{e} ({})", tenant.origin))
}

#[cfg(test)]
#[path = "organization_tests.rs"]
mod tests;
