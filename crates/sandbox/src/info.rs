//! What a client needs to use the sandbox: printed on start and written to `DIR/sandbox.json`.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// `https://127.0.0.1:PORT`; append `/{tenant}` for an MSAL authority.
    pub authority: String,
    /// `https://127.0.0.1:PORT/v1.0`.
    pub graph_base: String,
    /// The local CA clients must trust.
    pub ca_file: PathBuf,
    pub tenant_id: String,
    pub tenant_domain: String,
    pub backup_app: PublishedApp,
    /// The application used for device sign-in.
    pub public_client_id: String,
    /// `https://127.0.0.1:PORT/_sandbox`, or null when the control API is off.
    pub control_base: Option<String>,
    /// The bearer secret the control API wants, when it wants one (see `ControlSecret`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control_secret: Option<crate::ControlSecret>,
    pub users: Vec<PublishedUser>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishedApp {
    pub app_id: String,
    pub object_id: String,
}

/// A sandbox-generated account, published so that scripts can sign in.
#[derive(Clone, Serialize, Deserialize)]
pub struct PublishedUser {
    pub username: String,
    pub password: String,
    pub roles: Vec<String>,
}

impl std::fmt::Debug for PublishedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublishedUser")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .field("roles", &self.roles)
            .finish()
    }
}
