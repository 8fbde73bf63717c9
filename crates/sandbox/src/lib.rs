//! The sandbox tenant: a local emulator of Microsoft Entra ID (the v2.0 identity endpoints) and the
//! parts of Microsoft Graph that tenantlink and backup policies use. It speaks Entra's wire format —
//! paths, JSON shapes, HTTP statuses and AADSTS texts — so that MSAL, azure-identity and tenantlink's
//! own client run against it unmodified (as Azurite does for Azure Storage).
//!
//! One entry point, [`start`], serves the CLI (`tenantlink sandbox`), the embedded sandbox of
//! `tenantlink serve` (which passes its own clock) and tests (ephemeral port, temporary state dir).

mod control;
mod error;
mod faults;
mod graph;
mod identity;
mod info;
mod keys;
mod mailbox;
mod pages;
mod requestlog;
mod secrets;
mod server;
mod state;
mod stats;
mod tenants;
mod throttle;
mod tls;

pub use control::ControlSecret;
pub use error::SandboxError;
pub use info::{PublishedApp, PublishedUser, SandboxInfo};
pub use server::{RunningSandbox, start};
pub use tenants::seed::{ConfigFile, ConfigFileError};

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use tenantlink_clock::OffsetClock;

/// How to run a sandbox tenant.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; port 0 picks a free port (tests).
    pub listen: SocketAddr,
    /// Holds the local CA, the token-signing key, the tenant registry and `sandbox.json`.
    pub state_dir: PathBuf,
    /// Optional JSON file describing more tenants, users and applications.
    pub config_file: Option<PathBuf>,
    /// Serves the `/_sandbox/` control API (clock, faults, scripted sign-in).
    pub enable_control: bool,
    /// With a secret, every control API call must carry `Authorization: Bearer <secret>`; the
    /// secret is published in `sandbox.json` (mode 0600). `tenantlink serve` always sets one.
    pub control_secret: Option<ControlSecret>,
    /// The sandbox's notion of "now": real time plus an offset the control API can move.
    pub clock: Arc<OffsetClock>,
}

impl SandboxConfig {
    /// An ephemeral-port sandbox on 127.0.0.1 with the control API on: the embedded/test default.
    pub fn ephemeral(state_dir: impl Into<PathBuf>) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            state_dir: state_dir.into(),
            config_file: None,
            enable_control: true,
            control_secret: None,
            clock: Arc::new(OffsetClock::system()),
        }
    }
}
