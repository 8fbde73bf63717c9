//! Where each cloud's directory is. Every organization names its cloud (`global`, `usgov`,
//! `china`, or `sandbox`); `serve` knows Microsoft's hosts for the first three and the in-process
//! sandbox for the last. `[clouds.NAME]` (or `TENANTLINK_CLOUD_NAME_*`) points a cloud elsewhere —
//! an air-gapped proxy, an emulator — and the configured organization's own `authority`,
//! `graph`, `ca_file` and `device_client_id` are the same settings for its cloud.

use super::config::layers::{Layers, Sourced};
use super::config_file::CloudSection;
use anyhow::{anyhow, bail};
use std::collections::BTreeMap;
use std::path::PathBuf;
pub use tenantlink_directory::CloudTarget;
use tenantlink_directory::graph_resource;
use tenantlink_entra::{Cloud, Endpoints};

/// The clouds a `[clouds.NAME]` section may name; `sandbox` is the in-process sandbox's.
pub const NAMED_CLOUDS: [Cloud; 3] = [Cloud::Global, Cloud::UsGov, Cloud::China];

/// Settings moving one cloud's directory elsewhere, each remembering its origin.
#[derive(Debug, Clone, Default)]
pub struct CloudOverride {
    pub authority: Option<Sourced<String>>,
    pub graph: Option<Sourced<String>>,
    pub graph_resource: Option<Sourced<String>>,
    pub ca_file: Option<Sourced<PathBuf>>,
    pub device_client_id: Option<Sourced<String>>,
}

impl CloudOverride {
    /// Where these settings came from, for the start-up banner; `None` when there are none
    /// (Microsoft's hosts).
    pub fn overridden_by(&self) -> Option<String> {
        let origins = self.origins();
        (!origins.is_empty()).then(|| origins.join(", "))
    }

    fn origins(&self) -> Vec<&str> {
        let text = [
            &self.authority,
            &self.graph,
            &self.graph_resource,
            &self.device_client_id,
        ];
        text.into_iter()
            .flatten()
            .map(|s| s.origin.as_str())
            .chain(self.ca_file.iter().map(|s| s.origin.as_str()))
            .collect()
    }

    /// Both sets of settings, refusing one setting given twice (the configured organization's
    /// `[organization]` keys and `[clouds.NAME]` for the same cloud).
    fn merge(self, other: Self, cloud: Cloud) -> anyhow::Result<Self> {
        fn one<T>(
            a: Option<Sourced<T>>,
            b: Option<Sourced<T>>,
            cloud: Cloud,
        ) -> anyhow::Result<Option<Sourced<T>>> {
            match (a, b) {
                (Some(a), Some(b)) => bail!(
                    "{} and {} both set the same endpoint setting of the {} cloud: keep one",
                    a.origin,
                    b.origin,
                    cloud.name()
                ),
                (a, b) => Ok(a.or(b)),
            }
        }
        Ok(Self {
            authority: one(self.authority, other.authority, cloud)?,
            graph: one(self.graph, other.graph, cloud)?,
            graph_resource: one(self.graph_resource, other.graph_resource, cloud)?,
            ca_file: one(self.ca_file, other.ca_file, cloud)?,
            device_client_id: one(self.device_client_id, other.device_client_id, cloud)?,
        })
    }

    /// The cloud's endpoints with these settings applied, validated with their origins named.
    pub fn target(&self, cloud: Cloud) -> anyhow::Result<CloudTarget> {
        let named = Endpoints::cloud(cloud);
        let authority_url = self
            .authority
            .as_ref()
            .map_or_else(|| named.authority().to_string(), |s| s.value.clone());
        // Endpoints appends /v1.0 itself; accept the base as Graph Explorer shows it too.
        let graph_url = self.graph.as_ref().map_or_else(
            || named.graph().to_string(),
            |s| {
                let trimmed = s.value.trim_end_matches('/');
                trimmed.strip_suffix("/v1.0").unwrap_or(trimmed).to_owned()
            },
        );
        let origin = |s: &Option<Sourced<String>>, fallback: &str| {
            s.as_ref()
                .map_or_else(|| fallback.to_owned(), |s| s.origin.clone())
        };
        let mut endpoints = Endpoints::explicit(&authority_url, &graph_url).map_err(|e| {
            anyhow!(
                "{e} ({} / {})",
                origin(&self.authority, "the cloud's authority"),
                origin(&self.graph, "the cloud's Graph")
            )
        })?;
        // The transport reads and checks the CA file when serve starts (naming the file).
        if let Some(ca) = &self.ca_file {
            endpoints = endpoints.with_extra_ca_file(ca.value.clone());
        }
        let graph_resource = match &self.graph_resource {
            Some(s) => {
                let url = url::Url::parse(s.value.trim())
                    .ok()
                    .filter(|u| u.scheme() == "https" && u.host().is_some() && u.query().is_none());
                match url {
                    Some(url) => url.as_str().trim_end_matches('/').to_owned(),
                    None => bail!(
                        "Graph resource {:?} ({}) is not an https URL such as https://graph.microsoft.us: it is the resource part of the token scopes",
                        s.value,
                        s.origin
                    ),
                }
            }
            None => graph_resource(cloud),
        };
        let device_client_id = match &self.device_client_id {
            Some(s) => Some(parse_guid(s, "device sign-in client id")?),
            None => None,
        };
        Ok(CloudTarget {
            endpoints,
            graph_resource,
            device_client_id,
        })
    }
}

/// Every named cloud's target: Microsoft's hosts unless overridden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudsConfig {
    targets: Vec<ConfiguredCloud>,
}

/// One named cloud's target and where its settings came from.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ConfiguredCloud {
    cloud: Cloud,
    target: CloudTarget,
    /// Where the overrides came from; `None` for Microsoft's hosts.
    overridden_by: Option<String>,
}

impl ConfiguredCloud {
    fn new(cloud: Cloud, settings: &CloudOverride) -> anyhow::Result<Self> {
        Ok(Self {
            cloud,
            target: settings.target(cloud)?,
            overridden_by: settings.overridden_by(),
        })
    }
}

impl Default for CloudsConfig {
    fn default() -> Self {
        Self {
            targets: NAMED_CLOUDS
                .into_iter()
                .map(|cloud| {
                    ConfiguredCloud::new(cloud, &CloudOverride::default())
                        .unwrap_or_else(|e| unreachable!("built-in cloud refused: {e}"))
                })
                .collect(),
        }
    }
}

impl CloudsConfig {
    /// `[clouds.NAME]` sections, then `TENANTLINK_CLOUD_NAME_*` over them, then the configured
    /// organization's settings for its own cloud (refused when they repeat one).
    pub fn resolve(
        layers: &Layers<'_>,
        sections: &BTreeMap<String, CloudSection>,
        organization: Option<(Cloud, &CloudOverride)>,
    ) -> anyhow::Result<Self> {
        for name in sections.keys() {
            let known = NAMED_CLOUDS.iter().any(|c| c.name() == name);
            if !known {
                let hint = if name == tenantlink_service::Cloud::Sandbox.as_str() {
                    "the sandbox cloud is always the in-process sandbox tenant"
                } else {
                    "name one of global, usgov or china"
                };
                bail!(
                    "{}: unknown cloud {name:?}: {hint}",
                    layers.file_origin(&format!("clouds.{name}"))
                );
            }
        }
        let empty = CloudSection::default();
        let mut targets = Vec::new();
        for cloud in NAMED_CLOUDS {
            let section = sections.get(cloud.name()).unwrap_or(&empty);
            let mut settings = section_override(layers, cloud, section)?;
            if let Some((configured, own)) = organization
                && configured == cloud
            {
                settings = own.clone().merge(settings, cloud)?;
            }
            targets.push(ConfiguredCloud::new(cloud, &settings)?);
        }
        Ok(Self { targets })
    }

    pub fn target(&self, cloud: Cloud) -> &CloudTarget {
        &self.configured(cloud).target
    }

    /// Where `cloud`'s settings came from; `None` for Microsoft's hosts.
    pub fn overridden_by(&self, cloud: Cloud) -> Option<&str> {
        self.configured(cloud).overridden_by.as_deref()
    }

    pub fn targets(&self) -> impl Iterator<Item = (Cloud, &CloudTarget)> {
        self.targets.iter().map(|c| (c.cloud, &c.target))
    }

    fn configured(&self, cloud: Cloud) -> &ConfiguredCloud {
        self.targets
            .iter()
            .find(|c| c.cloud == cloud)
            .unwrap_or_else(|| unreachable!("every named cloud has a target"))
    }
}

fn section_override(
    layers: &Layers<'_>,
    cloud: Cloud,
    section: &CloudSection,
) -> anyhow::Result<CloudOverride> {
    let name = cloud.name();
    let var = |setting: &str| format!("TENANTLINK_CLOUD_{}_{setting}", name.to_ascii_uppercase());
    let key = |setting: &str| format!("clouds.{name}.{setting}");
    let text = |setting: &str, value: &Option<String>| {
        layers.pick::<String>(
            None,
            "",
            &var(&setting.to_ascii_uppercase()),
            value.clone(),
            &key(setting),
        )
    };
    Ok(CloudOverride {
        authority: text("authority", &section.authority)?,
        graph: text("graph", &section.graph)?,
        graph_resource: text("graph_resource", &section.graph_resource)?,
        device_client_id: text("device_client_id", &section.device_client_id)?,
        ca_file: layers.pick::<PathBuf>(
            None,
            "",
            &var("CA_FILE"),
            layers.path(section.ca_file.clone()),
            &key("ca_file"),
        )?,
    })
}

pub fn parse_guid(value: &Sourced<String>, what: &str) -> anyhow::Result<String> {
    let text = value.value.trim();
    uuid::Uuid::parse_str(text)
        .map(|_| text.to_ascii_lowercase())
        .map_err(|_| {
            anyhow!(
                "{what} {text:?} ({}) is not a GUID; copy it from the app registration's overview page in Entra ID",
                value.origin
            )
        })
}

#[cfg(test)]
#[path = "clouds_tests.rs"]
mod tests;
