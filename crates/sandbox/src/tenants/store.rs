//! The tenant registry on disk: one JSON file in the state directory, replaced atomically on every write
//! so that a crash never leaves half a tenant registry behind.

use super::TenantRegistry;
use crate::SandboxError;
use crate::secrets::write_private_file_with;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct TenantStore {
    path: PathBuf,
}

impl TenantStore {
    pub(crate) fn in_state_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("directory.json"),
        }
    }

    pub(crate) fn load(&self) -> Result<Option<TenantRegistry>, SandboxError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(SandboxError::io("read", &self.path)(err)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| SandboxError::BrokenTenantRegistry {
                path: self.path.clone(),
                reason: err.to_string(),
            })
    }

    /// Streams the tenant registry to a temporary file and renames it over the old one.
    pub(crate) fn save(&self, registry: &TenantRegistry) -> Result<(), SandboxError> {
        write_private_file_with(&self.path, |out| {
            serde_json::to_writer_pretty(out, registry).map_err(std::io::Error::other)
        })
        .map_err(SandboxError::io("write", &self.path))
    }
}
