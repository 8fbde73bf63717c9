//! Mailbox changes on disk: `mailboxes.json` in the state directory (mode 0600), replaced
//! atomically on every change, like the tenant registry. Generated messages are not stored.

use super::Mailboxes;
use crate::SandboxError;
use crate::secrets::write_private_file;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub(crate) struct MailStore {
    path: PathBuf,
}

impl MailStore {
    pub(crate) fn in_state_dir(state_dir: &Path) -> Self {
        Self {
            path: state_dir.join("mailboxes.json"),
        }
    }

    /// The stored changes, or empty mailboxes (only generated messages) on a first start.
    pub(crate) fn load(&self) -> Result<Mailboxes, SandboxError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Mailboxes::default());
            }
            Err(err) => return Err(SandboxError::io("read", &self.path)(err)),
        };
        serde_json::from_str(&text).map_err(|err| SandboxError::BrokenMailboxes {
            path: self.path.clone(),
            reason: err.to_string(),
        })
    }

    pub(crate) fn save(&self, mailboxes: &Mailboxes) -> Result<(), SandboxError> {
        let json =
            serde_json::to_vec_pretty(mailboxes).map_err(|err| SandboxError::BrokenMailboxes {
                path: self.path.clone(),
                reason: err.to_string(),
            })?;
        write_private_file(&self.path, &json).map_err(SandboxError::io("write", &self.path))
    }
}
