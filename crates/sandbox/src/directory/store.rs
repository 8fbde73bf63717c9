//! The directory on disk: one JSON file in the state directory, replaced atomically on every write
//! so that a crash never leaves half a directory behind.

use super::Directory;
use crate::SandboxError;
use crate::secrets::write_private_file_with;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct DirectoryStore {
    path: PathBuf,
}

impl DirectoryStore {
    pub(crate) fn in_state_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("directory.json"),
        }
    }

    pub(crate) fn load(&self) -> Result<Option<Directory>, SandboxError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(SandboxError::io("read", &self.path)(err)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|err| SandboxError::BrokenDirectory {
                path: self.path.clone(),
                reason: err.to_string(),
            })
    }

    /// Streams the directory to a temporary file and renames it over the old one.
    pub(crate) fn save(&self, directory: &Directory) -> Result<(), SandboxError> {
        write_private_file_with(&self.path, |out| {
            serde_json::to_writer_pretty(out, directory).map_err(std::io::Error::other)
        })
        .map_err(SandboxError::io("write", &self.path))
    }
}
