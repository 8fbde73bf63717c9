//! `[metrics]`: where `/metrics` is served and whether scrapes need a bearer token. The
//! fleet's organization names and tenants are not for every browser that reaches the portal:
//! on the portal's own address `/metrics` is served only behind a token; on a separate address
//! (an operator's private interface) the token is optional. With neither, it is off.

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use std::net::SocketAddr;
use tenantlink_service::SecretString;

#[derive(Debug, Clone, Default)]
pub struct MetricsSettings {
    /// A listener of its own for `/metrics`; on the portal's listener when `None`.
    pub listen: Option<SocketAddr>,
    /// Scrapes must send `Authorization: Bearer <token>` when set.
    pub bearer_token: Option<SecretString>,
}

impl MetricsSettings {
    /// Whether `/metrics` is served at all (see the module documentation).
    pub fn served(&self) -> bool {
        self.listen.is_some() || self.bearer_token.is_some()
    }
}

pub(super) fn resolve_metrics(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<MetricsSettings> {
    let section = &file.metrics;
    let listen = layers
        .pick(
            None,
            "",
            "TENANTLINK_METRICS_LISTEN",
            section.listen,
            "metrics.listen",
        )?
        .map(|s| s.value);
    let bearer_token = layers
        .secret(
            "TENANTLINK_METRICS_BEARER_TOKEN",
            None,
            layers.path(section.bearer_token_file.clone()),
            "metrics.bearer_token",
        )?
        .map(|secret| secret.read())
        .transpose()?;
    if let Some(token) = &bearer_token
        && token.expose().trim().is_empty()
    {
        anyhow::bail!("the metrics bearer token is empty; put the token in the file");
    }
    Ok(MetricsSettings {
        listen,
        bearer_token,
    })
}

#[cfg(test)]
#[path = "metrics_tests.rs"]
mod tests;
