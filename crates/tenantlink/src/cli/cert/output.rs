//! Writing result files: all or nothing, never over an existing file unless asked.

use super::kinded;
use std::io::Write;
use std::path::Path;

/// Who may read the written file.
#[derive(Debug, Clone, Copy)]
pub enum Visibility {
    /// A private key inside: owner read/write only (0600).
    OwnerOnly,
    /// Public data (a certificate): world-readable (0644).
    Public,
}

/// Fails early, before any expensive work, when `path` exists and may not be replaced.
/// [`write_atomically`] checks again at the last moment, so a file appearing in between is
/// still not overwritten.
pub fn ensure_writable(path: &Path, force: bool) -> anyhow::Result<()> {
    if !force && path.symlink_metadata().is_ok() {
        return Err(exists_error(path));
    }
    Ok(())
}

/// Writes `contents` to a temporary file in the destination directory, then renames it into
/// place: readers see either nothing or the whole file, and a failure leaves nothing behind.
pub fn write_atomically(
    path: &Path,
    contents: &[u8],
    visibility: Visibility,
    force: bool,
) -> anyhow::Result<()> {
    let directory = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    let io_error = |action: &str, err: std::io::Error| {
        kinded(
            "output_failed",
            format!("cannot {action} {}: {err}", path.display()),
        )
    };
    // tempfile creates the file with mode 0600 before anything is written into it.
    let mut temporary = tempfile::Builder::new()
        .prefix(".tenantlink-")
        .suffix(".tmp")
        .tempfile_in(directory)
        .map_err(|err| io_error("create a temporary file next to", err))?;
    temporary
        .write_all(contents)
        .and_then(|()| temporary.as_file().sync_all())
        .map_err(|err| io_error("write", err))?;
    set_visibility(temporary.as_file(), visibility).map_err(|err| io_error("set mode of", err))?;
    if force {
        temporary
            .persist(path)
            .map_err(|err| io_error("rename into", err.error))?;
    } else {
        temporary.persist_noclobber(path).map_err(|err| {
            if err.error.kind() == std::io::ErrorKind::AlreadyExists {
                exists_error(path)
            } else {
                io_error("rename into", err.error)
            }
        })?;
    }
    Ok(())
}

fn exists_error(path: &Path) -> anyhow::Error {
    kinded(
        "output_exists",
        format!(
            "{} already exists; choose another --out or pass --force to replace it",
            path.display()
        ),
    )
}

#[cfg(unix)]
fn set_visibility(file: &std::fs::File, visibility: Visibility) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = match visibility {
        Visibility::OwnerOnly => 0o600,
        Visibility::Public => 0o644,
    };
    file.set_permissions(std::fs::Permissions::from_mode(mode))
}

#[cfg(not(unix))]
fn set_visibility(_file: &std::fs::File, _visibility: Visibility) -> std::io::Result<()> {
    Ok(())
}
