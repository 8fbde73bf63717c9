//! Where Entra ID and Microsoft Graph live: the three public clouds by name, or explicit URLs
//! (the sandbox tenant, a proxy). Plain `http` is accepted only for loopback hosts, so a token
//! or assertion can never cross a network in clear text.

use std::net::IpAddr;
use std::path::PathBuf;
use url::{Host, Url};

/// A Microsoft cloud with its own authority and Graph hosts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cloud {
    Global,
    UsGov,
    China,
}

impl Cloud {
    pub fn from_name(name: &str) -> Result<Self, EndpointError> {
        match name.to_ascii_lowercase().as_str() {
            "global" | "public" | "azurepublic" => Ok(Self::Global),
            "usgov" | "usgovernment" | "azureusgovernment" => Ok(Self::UsGov),
            "china" | "azurechina" => Ok(Self::China),
            _ => Err(EndpointError::UnknownCloud(name.to_owned())),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Global => "global",
            Self::UsGov => "usgov",
            Self::China => "china",
        }
    }

    fn authority_host(self) -> &'static str {
        match self {
            Self::Global => "https://login.microsoftonline.com",
            Self::UsGov => "https://login.microsoftonline.us",
            Self::China => "https://login.chinacloudapi.cn",
        }
    }

    fn graph_base(self) -> &'static str {
        match self {
            Self::Global => "https://graph.microsoft.com",
            Self::UsGov => "https://graph.microsoft.us",
            Self::China => "https://microsoftgraph.chinacloudapi.cn",
        }
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EndpointError {
    #[error("unknown cloud {0:?}: use global, usgov or china, or give explicit URLs")]
    UnknownCloud(String),
    #[error("{what} {url:?} is not a valid URL: {reason}")]
    InvalidUrl {
        what: &'static str,
        url: String,
        reason: String,
    },
    #[error(
        "{what} {url:?} uses plain http to a non-loopback host; use https (plain http is allowed only for 127.0.0.1, ::1 and localhost)"
    )]
    InsecureScheme { what: &'static str, url: String },
    #[error("{what} {url:?} must use https")]
    UnsupportedScheme { what: &'static str, url: String },
    #[error("tenant {0:?} is not a valid tenant id or domain name")]
    InvalidTenant(String),
}

/// The base URLs of one cloud (or emulator), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    authority: Url,
    graph: Url,
    /// PEM file with extra CA certificates to trust (the sandbox, a TLS-inspecting proxy).
    pub extra_ca_file: Option<PathBuf>,
}

impl Endpoints {
    pub fn cloud(cloud: Cloud) -> Self {
        // The constant hosts above are valid https URLs; parsing them cannot fail.
        Self::explicit(cloud.authority_host(), cloud.graph_base())
            .unwrap_or_else(|e| unreachable!("built-in cloud URL rejected: {e}"))
    }

    /// Explicit authority host (e.g. `https://localhost:8443`) and Graph base URL.
    pub fn explicit(authority: &str, graph: &str) -> Result<Self, EndpointError> {
        Ok(Self {
            authority: checked_base("authority", authority)?,
            graph: checked_base("Graph base URL", graph)?,
            extra_ca_file: None,
        })
    }

    pub fn with_extra_ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.extra_ca_file = Some(path.into());
        self
    }

    pub fn authority(&self) -> &Url {
        &self.authority
    }

    pub fn graph(&self) -> &Url {
        &self.graph
    }

    /// `{authority}/{tenant}/oauth2/v2.0/token` — also the `aud` of a client assertion.
    pub fn token_endpoint(&self, tenant: &TenantId) -> Url {
        self.join_authority(tenant, "oauth2/v2.0/token")
    }

    /// `{authority}/{tenant}/oauth2/v2.0/authorize` (the browser goes there, not tenantlink).
    pub fn authorize_endpoint(&self, tenant: &TenantId) -> Url {
        self.join_authority(tenant, "oauth2/v2.0/authorize")
    }

    /// `{authority}/{tenant}/oauth2/v2.0/devicecode`.
    pub fn device_code_endpoint(&self, tenant: &TenantId) -> Url {
        self.join_authority(tenant, "oauth2/v2.0/devicecode")
    }

    /// `{graph}/v1.0/{path}`.
    pub fn graph_url(&self, path: &str) -> Url {
        let mut url = self.graph.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/v1.0/{path}"));
        url
    }

    /// The `.default` scope of this cloud's Graph, for app-only tokens.
    pub fn graph_default_scope(&self) -> String {
        format!("{}/.default", self.graph.as_str().trim_end_matches('/'))
    }

    fn join_authority(&self, tenant: &TenantId, rest: &str) -> Url {
        let mut url = self.authority.clone();
        let base = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{base}/{}/{rest}", tenant.as_str()));
        url
    }
}

impl Default for Endpoints {
    fn default() -> Self {
        Self::cloud(Cloud::Global)
    }
}

/// A tenant as Entra addresses it: GUID, verified domain, `organizations` or `common`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TenantId(String);

impl TenantId {
    pub fn parse(value: &str) -> Result<Self, EndpointError> {
        let ok = !value.is_empty()
            && value.len() <= 256
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_');
        if ok {
            Ok(Self(value.to_owned()))
        } else {
            Err(EndpointError::InvalidTenant(value.to_owned()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TenantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn checked_base(what: &'static str, value: &str) -> Result<Url, EndpointError> {
    let url = Url::parse(value).map_err(|e| EndpointError::InvalidUrl {
        what,
        url: value.to_owned(),
        reason: e.to_string(),
    })?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if is_loopback(&url) => Ok(url),
        "http" => Err(EndpointError::InsecureScheme {
            what,
            url: value.to_owned(),
        }),
        _ => Err(EndpointError::UnsupportedScheme {
            what,
            url: value.to_owned(),
        }),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn national_clouds_have_their_own_hosts() {
        let tenant = TenantId::parse("contoso.onmicrosoft.com").unwrap();
        assert_eq!(
            Endpoints::cloud(Cloud::UsGov)
                .token_endpoint(&tenant)
                .as_str(),
            "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(
            Endpoints::cloud(Cloud::China)
                .graph_url("applications")
                .as_str(),
            "https://microsoftgraph.chinacloudapi.cn/v1.0/applications"
        );
        assert_eq!(
            Endpoints::default().graph_default_scope(),
            "https://graph.microsoft.com/.default"
        );
        assert_eq!(
            Cloud::from_name("Mars"),
            Err(EndpointError::UnknownCloud("Mars".into()))
        );
    }

    #[test]
    fn plain_http_only_on_loopback() {
        assert!(Endpoints::explicit("http://127.0.0.1:8080", "http://[::1]:9000").is_ok());
        assert!(Endpoints::explicit("http://localhost:1", "https://graph.example").is_ok());
        assert!(matches!(
            Endpoints::explicit("http://login.example.com", "https://graph.example"),
            Err(EndpointError::InsecureScheme { .. })
        ));
        assert!(matches!(
            Endpoints::explicit("ftp://127.0.0.1", "https://graph.example"),
            Err(EndpointError::UnsupportedScheme { .. })
        ));
    }

    #[test]
    fn explicit_authority_with_path_prefix_keeps_it() {
        let e = Endpoints::explicit("https://proxy.example/entra/", "https://g.example/").unwrap();
        let t = TenantId::parse("organizations").unwrap();
        assert_eq!(
            e.device_code_endpoint(&t).as_str(),
            "https://proxy.example/entra/organizations/oauth2/v2.0/devicecode"
        );
        assert!(TenantId::parse("bad/tenant").is_err());
    }
}
