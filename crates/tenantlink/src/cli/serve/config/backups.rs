//! `[backups]`: how often the scheduler looks for due policies.

use super::layers::Layers;
use crate::cli::serve::config_file::FileConfig;
use anyhow::bail;

/// Longest wait between two looks for due backup policies: a due run never starts later than this.
pub const MAX_BACKUP_POLL_SECONDS: u32 = 3600;

pub(super) fn resolve_backup_poll(
    layers: &Layers<'_>,
    file: &FileConfig,
) -> anyhow::Result<Option<std::time::Duration>> {
    match layers.pick(
        None,
        "",
        "TENANTLINK_BACKUP_POLL_SECONDS",
        file.backups.poll_interval_seconds,
        "backups.poll_interval_seconds",
    )? {
        Some(s) if !(1..=MAX_BACKUP_POLL_SECONDS).contains(&s.value) => bail!(
            "a backup poll interval of {} seconds ({}) is out of range: use 1 to {MAX_BACKUP_POLL_SECONDS} seconds",
            s.value,
            s.origin
        ),
        Some(s) => Ok(Some(std::time::Duration::from_secs(u64::from(s.value)))),
        None => Ok(None),
    }
}
