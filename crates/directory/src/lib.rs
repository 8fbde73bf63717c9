//! The service's [`Directory`](tenantlink_service::Directory) port over tenantlink-entra: the
//! same client code for Microsoft's clouds and for the sandbox tenant; only the endpoints (and
//! the sandbox's CA) differ.
//!
//! - [`EntraDirectory`]: one cloud's directory (device sign-in, the application's keys, the
//!   app-only token proof), its failures explained and classified for the workflows;
//! - [`CloudDirectories`]: the directory the service gets, which sends each organization to its
//!   own cloud's [`EntraDirectory`], built once per cloud from a [`CloudTarget`];
//! - both are also the service's `Registrar` (Connect an organization: registering the backup
//!   application, its service principal, admin consent and ownership).
//!
//! Where a cloud's target comes from (built-in hosts, a configuration file, the environment) is
//! the binary's business; this crate only talks to it.

mod entra_directory;
mod explain;
#[cfg(test)]
mod fixtures;
mod remediations;
mod routing;
mod routing_registrar;

pub use entra_directory::EntraDirectory;
pub use routing::CloudDirectories;

use tenantlink_entra::{Cloud, Endpoints};

/// One cloud's directory as tenantlink talks to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTarget {
    /// Hosts of the token endpoints and of Graph, and the extra CA the transport trusts.
    pub endpoints: Endpoints,
    /// Graph's resource identifier in scopes (`{resource}/.default`): the cloud's own Graph host,
    /// also when explicit URLs point elsewhere, unless set.
    pub graph_resource: String,
    /// Public client of the device sign-in; each organization's own backup application when
    /// `None` (which must then allow public client flows).
    pub device_client_id: Option<String>,
}

/// The resource part of Graph scopes in `cloud` (`https://graph.microsoft.com` for the global
/// cloud and the sandbox, which follows it).
pub fn graph_resource(cloud: Cloud) -> String {
    Endpoints::cloud(cloud)
        .graph()
        .as_str()
        .trim_end_matches('/')
        .to_owned()
}
