//! The master key as `serve` and `admin rotate-master-key` find it: in the data directory
//! (generated on first start), in a configured file, or inline in the environment; the files a
//! rotation writes next to the key file; and the start-up check that the key opens what the
//! database holds.

use super::config::layers::{read_secret_file, refuse_shared_key_file};
use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use tenantlink_service::SecretString;
use tenantlink_store::{CryptoError, MASTER_KEY_FILE, MasterKey, Store, StoreError};
use time::OffsetDateTime;

#[derive(Debug)]
pub enum MasterKeySource {
    /// `DATA_DIR/master.key`, generated with mode 0600 on first start.
    DataDir(PathBuf),
    /// `TENANTLINK_MASTER_KEY_FILE` or `master_key_file`.
    File { path: PathBuf, origin: String },
    /// `TENANTLINK_MASTER_KEY`: cannot be rotated in place.
    Inline { value: SecretString, origin: String },
}

impl MasterKeySource {
    /// The file that holds the key (and that a rotation replaces); `None` for an inline key.
    pub fn key_file(&self) -> Option<PathBuf> {
        match self {
            Self::DataDir(dir) => Some(dir.join(MASTER_KEY_FILE)),
            Self::File { path, .. } => Some(path.clone()),
            Self::Inline { .. } => None,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            Self::DataDir(dir) => dir.join(MASTER_KEY_FILE).display().to_string(),
            Self::File { path, origin } => format!("{} ({origin})", path.display()),
            Self::Inline { origin, .. } => origin.clone(),
        }
    }

    /// The key to serve with. Refuses to start while an interrupted rotation is unfinished,
    /// since the database may already be encrypted under the pending key.
    pub fn load(&self) -> anyhow::Result<MasterKey> {
        if let Some(file) = self.key_file() {
            let pending = KeyFiles::new(file).pending();
            if pending.is_file() {
                bail!(
                    "an interrupted master key rotation left {}; run `tenantlink admin rotate-master-key` with the same configuration to finish it before serving",
                    pending.display()
                );
            }
        }
        Ok(match self {
            Self::DataDir(dir) => MasterKey::load_or_generate(dir)?,
            Self::File { path, origin } => {
                refuse_shared_key_file(path, &format!("the master key file ({origin})"))?;
                MasterKey::from_base64(
                    read_secret_file(path, origin)?.expose(),
                    &format!("{} ({origin})", path.display()),
                )?
            }
            Self::Inline { value, origin } => MasterKey::from_base64(value.expose(), origin)?,
        })
    }
}

/// Fails unless `key` opens the stored private keys (one per organization is enough: a rotation
/// moves all of them at once). Run before serving, so a wrong or superseded key is reported at
/// start rather than at the first signature. First rewraps the keys written before migration
/// 0010 (bound to their certificate id only) so they name their organization and thumbprint:
/// that needs the master key, so it happens here rather than in SQL.
pub async fn check_opens_stored_keys(
    store: &Store,
    key: &MasterKey,
    source: &MasterKeySource,
) -> anyhow::Result<()> {
    match store.upgrade_key_bindings(key).await {
        Ok(0) => {}
        Ok(rewrapped) => tracing::info!(
            rewrapped,
            "bound the stored private keys to their organization and thumbprint"
        ),
        Err(StoreError::Crypto(CryptoError::WrongMasterKey { stored, configured })) => bail!(
            "the master key from {} (id {configured}) does not open the stored private keys, which are encrypted under master key {stored}; configure that key (after `tenantlink admin rotate-master-key` only the new key works)",
            source.describe()
        ),
        Err(err) => {
            return Err(err).with_context(|| {
                format!(
                    "rewrap the stored private keys with the master key from {}",
                    source.describe()
                )
            });
        }
    }
    for organization in store.organizations().await? {
        let Some(certificate) = store
            .certificates(organization.id)
            .await?
            .into_iter()
            .next()
        else {
            continue;
        };
        match store.certificate_private_key(key, certificate.id).await {
            Ok(_) => {}
            Err(StoreError::Crypto(CryptoError::WrongMasterKey { stored, configured })) => bail!(
                "the master key from {} (id {configured}) does not open the stored private keys, which are encrypted under master key {stored}; configure that key (after `tenantlink admin rotate-master-key` only the new key works)",
                source.describe()
            ),
            Err(err) => {
                return Err(err).with_context(|| {
                    format!(
                        "open the private key of certificate {} with the master key from {}",
                        certificate.id,
                        source.describe()
                    )
                });
            }
        }
    }
    Ok(())
}

/// The key file and its siblings during a rotation: `master.key.new` (the next key, written
/// before any row uses it) and dated backups `master.key.old-YYYYMMDDTHHMMSSZ`.
#[derive(Debug, Clone)]
pub struct KeyFiles {
    active: PathBuf,
}

impl KeyFiles {
    pub fn new(active: PathBuf) -> Self {
        Self { active }
    }

    pub fn active(&self) -> &Path {
        &self.active
    }

    pub fn pending(&self) -> PathBuf {
        self.sibling("new")
    }

    pub fn backup(&self, at: OffsetDateTime) -> PathBuf {
        self.sibling(&format!(
            "old-{:04}{:02}{:02}T{:02}{:02}{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        ))
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self
            .active
            .file_name()
            .map(|n| n.to_os_string())
            .unwrap_or_else(|| MASTER_KEY_FILE.into());
        name.push(".");
        name.push(suffix);
        self.active.with_file_name(name)
    }
}

/// Writes `key` to `path` atomically (a temporary file in the same directory, mode 0600,
/// synced, then renamed; the directory is synced too). `replace` false refuses an existing file.
pub fn write_key_file(path: &Path, key: &MasterKey, replace: bool) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // tempfile creates its files with mode 0600.
    let mut file = tempfile::Builder::new()
        .prefix(".master.key.")
        .tempfile_in(dir)?;
    file.write_all(key.to_base64().as_bytes())?;
    file.write_all(b"\n")?;
    file.as_file().sync_all()?;
    if replace {
        file.persist(path).map_err(|e| e.error)?;
    } else {
        file.persist_noclobber(path).map_err(|e| e.error)?;
    }
    std::fs::File::open(dir)?.sync_all()
}

/// Moves `from` over `to` in one rename, then syncs the directory.
pub fn promote(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::rename(from, to)?;
    match to.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => std::fs::File::open(dir)?.sync_all(),
        _ => Ok(()),
    }
}

/// Held while `serve` runs on a data directory; `admin rotate-master-key` takes it too, so the
/// key is never rotated under a running service (which would keep sealing with the old key).
#[derive(Debug)]
pub struct DataDirLock {
    _file: std::fs::File,
}

pub const LOCK_FILE: &str = "tenantlink.lock";

impl DataDirLock {
    pub fn acquire(data_dir: &Path, purpose: &str) -> anyhow::Result<Self> {
        let path = data_dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(Self { _file: file }),
            Err(std::fs::TryLockError::WouldBlock) => bail!(
                "another tenantlink process holds {} (a running `tenantlink serve` on {}); stop it before {purpose}",
                path.display(),
                data_dir.display()
            ),
            Err(std::fs::TryLockError::Error(e)) => {
                Err(e).with_context(|| format!("lock {}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn key_files_are_written_atomically_owner_only_and_never_clobber_a_backup() {
        let dir = tempfile::tempdir().unwrap();
        let files = KeyFiles::new(dir.path().join(MASTER_KEY_FILE));
        let at = time::macros::datetime!(2026-11-27 12:34:56 UTC);
        assert_eq!(
            files.backup(at),
            dir.path().join("master.key.old-20261127T123456Z")
        );
        assert_eq!(files.pending(), dir.path().join("master.key.new"));

        let key = MasterKey::generate().unwrap();
        write_key_file(&files.pending(), &key, true).unwrap();
        let mode = std::fs::metadata(files.pending())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(MasterKey::load(&files.pending()).unwrap().id(), key.id());

        let backup = files.backup(at);
        write_key_file(&backup, &key, false).unwrap();
        let other = MasterKey::generate().unwrap();
        assert!(write_key_file(&backup, &other, false).is_err());
        assert_eq!(
            MasterKey::load(&backup).unwrap().id(),
            key.id(),
            "unchanged"
        );
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".master.key."))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }

    #[test]
    fn a_pending_rotation_stops_serve_from_loading_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let source = MasterKeySource::DataDir(dir.path().to_owned());
        let first = source.load().unwrap();
        assert_eq!(source.load().unwrap().id(), first.id(), "generated once");
        let files = KeyFiles::new(source.key_file().unwrap());
        write_key_file(&files.pending(), &MasterKey::generate().unwrap(), true).unwrap();
        let err = source.load().unwrap_err().to_string();
        assert!(
            err.contains("master.key.new") && err.contains("rotate-master-key"),
            "{err}"
        );
    }

    #[test]
    fn the_data_directory_lock_is_exclusive() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path(), "serving").unwrap();
        let err = DataDirLock::acquire(dir.path(), "rotating the master key")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("stop it before rotating the master key"),
            "{err}"
        );
        drop(held);
        DataDirLock::acquire(dir.path(), "serving").unwrap();
    }
}
