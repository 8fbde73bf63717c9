//! What every `entra` subcommand shares: where Entra and Graph are, and how errors read.

use std::path::PathBuf;
use std::sync::Arc;

use clap::Args;
use tenantlink_clock::{SharedClock, SystemClock};
use tenantlink_entra::{
    Cloud, DelegatedSignIn, DeviceFlowClient, Endpoints, Error, TenantId, Transport,
    TransportConfig,
};

use crate::cli::KindedError;

#[derive(Debug, Args)]
pub struct TargetArgs {
    /// Tenant id (GUID) or domain name, e.g. contoso.onmicrosoft.com.
    #[arg(long)]
    pub tenant: String,
    /// National cloud: global (default), usgov or china. With --authority it names only the
    /// Graph resource that scopes refer to (`https://graph.microsoft.com` for the global cloud).
    #[arg(long, value_name = "NAME")]
    pub cloud: Option<String>,
    /// Explicit authority host, e.g. https://localhost:8443 for the sandbox tenant (or a proxy).
    /// Plain http is accepted only for loopback addresses.
    #[arg(long, value_name = "URL")]
    pub authority: Option<String>,
    /// Explicit Graph base URL (defaults to the authority when --authority is given).
    #[arg(long, value_name = "URL", requires = "authority")]
    pub graph_url: Option<String>,
    /// PEM file of extra CA certificates to trust (the sandbox, a TLS-inspecting proxy).
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
}

pub struct Context {
    pub tenant: TenantId,
    pub endpoints: Endpoints,
    /// Graph's resource identifier in scopes (`{resource}/.default`): the cloud's Graph host,
    /// also when --authority/--graph-url point elsewhere (the sandbox, a proxy), because Entra
    /// knows Graph by that name, not by the address it is reached at.
    pub graph_resource: String,
    pub transport: Transport,
    pub clock: SharedClock,
}

impl TargetArgs {
    pub fn context(&self) -> anyhow::Result<Context> {
        let tenant = TenantId::parse(&self.tenant).map_err(|e| usage(e.to_string()))?;
        let cloud = match &self.cloud {
            Some(name) => Cloud::from_name(name).map_err(|e| usage(e.to_string()))?,
            None => Cloud::Global,
        };
        let graph_resource = Endpoints::cloud(cloud)
            .graph()
            .as_str()
            .trim_end_matches('/')
            .to_owned();
        let mut endpoints = match &self.authority {
            Some(authority) => {
                let graph = self.graph_url.as_deref().unwrap_or(authority);
                Endpoints::explicit(authority, graph).map_err(|e| usage(e.to_string()))?
            }
            None => Endpoints::cloud(cloud),
        };
        if let Some(ca) = &self.ca_file {
            endpoints = endpoints.with_extra_ca_file(ca);
        }
        let config = TransportConfig {
            extra_ca_file: endpoints.extra_ca_file.clone(),
            ..TransportConfig::default()
        };
        let transport = Transport::new(&config).map_err(|e| explained(e.into()))?;
        Ok(Context {
            tenant,
            endpoints,
            graph_resource,
            transport,
            clock: Arc::new(SystemClock),
        })
    }
}

impl Context {
    /// Runs a device sign-in, printing Entra's instructions to stderr so that stdout stays
    /// parseable. Ctrl-C cancels.
    pub async fn device_sign_in(
        &self,
        client_id: &str,
        scopes: &[String],
    ) -> anyhow::Result<DelegatedSignIn> {
        let device = DeviceFlowClient::new(
            self.transport.clone(),
            self.endpoints.clone(),
            self.clock.clone(),
        );
        let code = device
            .start(&self.tenant, client_id, scopes)
            .await
            .map_err(explained)?;
        eprintln!("{}", code.message);
        eprintln!(
            "(code {} expires at {}; waiting for the sign-in, Ctrl-C to cancel)",
            code.user_code,
            rfc3339(code.expires_at)
        );
        let cancel = async {
            let _ = tokio::signal::ctrl_c().await;
        };
        device.wait(&code, cancel).await.map_err(explained)
    }
}

/// A usage error (bad flag value).
pub fn usage(message: String) -> anyhow::Error {
    anyhow::Error::new(KindedError {
        kind: "invalid_argument",
        message,
    })
}

/// A library error rendered with Entra's/Graph's verbatim text, its meaning and what to do.
pub fn explained(error: Error) -> anyhow::Error {
    let explanation = tenantlink_service::remediation::explain(&error);
    let kind = match &error {
        Error::Endpoint(_) => "invalid_endpoint",
        Error::Transport(_) => "network",
        Error::Entra(_) => "entra_refused",
        Error::Graph(_) => "graph_refused",
        Error::DeviceFlow(_) => "sign_in_failed",
        Error::Credential(_) => "certificate_unusable",
        Error::KeyUpdate(_) => "key_update_failed",
        Error::UnexpectedResponse { .. } => "unexpected_response",
    };
    anyhow::Error::new(KindedError {
        kind,
        message: format!(
            "{error}\n  what it means: {}\n  what to do: {}",
            explanation.summary, explanation.remediation
        ),
    })
}

pub fn rfc3339(at: time::OffsetDateTime) -> String {
    use time::format_description::well_known::Rfc3339;
    at.format(&Rfc3339).unwrap_or_else(|_| at.to_string())
}
