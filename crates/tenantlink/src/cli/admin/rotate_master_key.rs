//! `tenantlink admin rotate-master-key`. The order of the steps is what makes an interruption
//! harmless:
//!
//! 1. the new key is written to `KEYFILE.new` (atomically, mode 0600) before any row uses it;
//! 2. the old key is kept as `KEYFILE.old-<UTC time>`;
//! 3. every private key is re-encrypted in one database transaction (all or nothing);
//! 4. `KEYFILE.new` is renamed over `KEYFILE`; the dated backup is then removed (unless
//!    `--keep-old-key`).
//!
//! Until step 4 is done `serve` refuses to start and names the pending file; running the command
//! again resumes with the pending key (re-encryption skips rows already under it).

use crate::cli::KindedError;
use crate::cli::serve::master_key::{
    DataDirLock, KeyFiles, MasterKeySource, promote, write_key_file,
};
use crate::cli::serve::{ProcessEnv, ServeArgs, ServeConfig, config_error};
use anyhow::Context as _;
use clap::Args;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tenantlink_clock::{Clock as _, SystemClock};
use tenantlink_store::{CryptoError, MasterKey, Store, StoreError};
use time::OffsetDateTime;

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// The service's TOML configuration file [env: TENANTLINK_CONFIG].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Data directory [env: TENANTLINK_DATA; default ./tenantlink-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL [env: TENANTLINK_DATABASE_URL; default SQLite in the data directory].
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Take the new key from this file (base64 of 32 bytes) instead of generating one.
    #[arg(long, value_name = "FILE")]
    pub new_key_file: Option<PathBuf>,
    /// Keep the dated copy of the old key (for restoring database backups made before).
    #[arg(long)]
    pub keep_old_key: bool,
}

pub async fn run(args: RotateArgs) -> anyhow::Result<ExitCode> {
    let config = ServeConfig::resolve(
        &ServeArgs {
            config: args.config,
            listen: None,
            data_dir: args.data_dir,
            database_url: args.database_url,
            tls_cert: None,
            tls_key: None,
        },
        &ProcessEnv,
    )
    .map_err(config_error)?;
    rotate_configured(&config, args.new_key_file.as_deref(), args.keep_old_key)
        .await
        .map_err(|e| {
            anyhow::Error::new(KindedError {
                kind: "master-key",
                message: format!("{e:#}"),
            })
        })?;
    Ok(ExitCode::SUCCESS)
}

async fn rotate_configured(
    config: &ServeConfig,
    new_key_file: Option<&Path>,
    keep_old_key: bool,
) -> anyhow::Result<()> {
    let Some(key_file) = config.master_key.key_file() else {
        anyhow::bail!(
            "the master key is given inline ({}); put it in a file (TENANTLINK_MASTER_KEY_FILE or master_key_file) so it can be replaced, then rotate",
            config.master_key.describe()
        );
    };
    if !config.data_dir.is_dir() {
        anyhow::bail!(
            "the data directory {} does not exist; give the one `tenantlink serve` uses (--data-dir or TENANTLINK_DATA)",
            config.data_dir.display()
        );
    }
    let _lock = DataDirLock::acquire(&config.data_dir, "rotating the master key")?;
    let old = read_current_key(&config.master_key, &key_file)?;
    let requested = match new_key_file {
        Some(path) => Some(read_key(path, "--new-key-file")?),
        None => None,
    };
    let url = config.database_url();
    let store = Store::open(&url).await.context(
        "open the database (is --database-url / TENANTLINK_DATABASE_URL the service's?)",
    )?;
    let files = KeyFiles::new(key_file);
    let report = rotate(
        &store,
        &FileSteps(files.clone()),
        &old,
        requested,
        keep_old_key,
        SystemClock.now(),
    )
    .await?;
    store.close().await;
    println!(
        "re-encrypted {} private key(s) under the new master key {} (was {}){}",
        report.re_encrypted,
        report.new_id,
        report.old_id,
        if report.resumed {
            ", finishing an interrupted rotation"
        } else {
            ""
        }
    );
    println!("  key file {}", files.active().display());
    match &report.kept_backup {
        Some(backup) => println!(
            "  old key kept in {} (delete it once no database backup needs it)",
            backup.display()
        ),
        None => println!("  old key removed"),
    }
    Ok(())
}

/// What a rotation did.
#[derive(Debug)]
pub struct Report {
    pub re_encrypted: u64,
    pub old_id: tenantlink_store::MasterKeyId,
    pub new_id: tenantlink_store::MasterKeyId,
    pub resumed: bool,
    pub kept_backup: Option<PathBuf>,
}

/// The file operations of a rotation; a trait so tests can make any one of them fail.
pub trait KeySteps {
    fn files(&self) -> &KeyFiles;
    fn write_pending(&self, key: &MasterKey) -> std::io::Result<()>;
    fn write_backup(&self, key: &MasterKey, path: &Path) -> std::io::Result<()>;
    fn promote_pending(&self) -> std::io::Result<()>;
    fn remove(&self, path: &Path) -> std::io::Result<()>;
}

#[derive(Debug)]
pub struct FileSteps(pub KeyFiles);

impl KeySteps for FileSteps {
    fn files(&self) -> &KeyFiles {
        &self.0
    }
    fn write_pending(&self, key: &MasterKey) -> std::io::Result<()> {
        write_key_file(&self.0.pending(), key, true)
    }
    fn write_backup(&self, key: &MasterKey, path: &Path) -> std::io::Result<()> {
        write_key_file(path, key, false)
    }
    fn promote_pending(&self) -> std::io::Result<()> {
        promote(&self.0.pending(), self.0.active())
    }
    fn remove(&self, path: &Path) -> std::io::Result<()> {
        std::fs::remove_file(path)
    }
}

pub async fn rotate(
    store: &Store,
    steps: &dyn KeySteps,
    old: &MasterKey,
    requested: Option<MasterKey>,
    keep_old_key: bool,
    now: OffsetDateTime,
) -> anyhow::Result<Report> {
    let files = steps.files();
    let pending = files.pending();
    let (new, resumed) = if pending.is_file() {
        let pending_key = read_key(&pending, "the pending key of an interrupted rotation")?;
        if let Some(requested) = &requested
            && requested.id() != pending_key.id()
        {
            anyhow::bail!(
                "an interrupted rotation to master key {} is pending in {}; finish it first (run without --new-key-file), then rotate again",
                pending_key.id(),
                pending.display()
            );
        }
        (pending_key, true)
    } else {
        let new = match requested {
            Some(key) => key,
            None => MasterKey::generate()?,
        };
        if new.id() == old.id() {
            anyhow::bail!(
                "the new master key is the current one ({}); give a different key",
                old.id()
            );
        }
        steps.write_pending(&new).map_err(|e| {
            anyhow::anyhow!(
                "cannot write the new master key to {}: {e}; nothing was changed",
                pending.display()
            )
        })?;
        (new, false)
    };
    // Abandoning a rotation that never touched the database: the pending key goes too.
    let abandon = |backup: Option<&Path>| {
        if let Some(backup) = backup {
            let _ = steps.remove(backup);
        }
        if !resumed {
            let _ = steps.remove(&pending);
        }
    };

    let backup = files.backup(now);
    if let Err(e) = steps.write_backup(old, &backup) {
        abandon(None);
        anyhow::bail!(
            "cannot keep the old master key as {}: {e}; nothing was changed",
            backup.display()
        );
    }

    let re_encrypted = match store.rotate_master_key(old, &new).await {
        Ok(count) => count,
        Err(StoreError::Crypto(CryptoError::WrongMasterKey { stored, .. })) => {
            // The transaction rolled back: nothing moved.
            abandon(Some(&backup));
            anyhow::bail!(
                "the stored private keys are encrypted under master key {stored}, not under the current key {} from {}; nothing was changed (configure the key the service uses)",
                old.id(),
                files.active().display()
            );
        }
        Err(e) => anyhow::bail!(
            "re-encrypting the private keys failed: {e}; the new key stays in {} and the old one in {}: run the command again to finish",
            pending.display(),
            backup.display()
        ),
    };

    steps.promote_pending().map_err(|e| {
        anyhow::anyhow!(
            "the private keys are now encrypted under the new master key {}, kept in {}, but it could not replace {}: {e}; run the command again to finish (serve refuses to start until then; the old key is in {})",
            new.id(),
            pending.display(),
            files.active().display(),
            backup.display()
        )
    })?;
    let kept_backup = if keep_old_key {
        Some(backup)
    } else if let Err(e) = steps.remove(&backup) {
        tracing::warn!(path = %backup.display(), error = %e, "could not remove the old master key backup");
        Some(backup)
    } else {
        None
    };
    Ok(Report {
        re_encrypted,
        old_id: old.id(),
        new_id: new.id(),
        resumed,
        kept_backup,
    })
}

/// The key the service uses now. Unlike `serve`, never generates one.
fn read_current_key(source: &MasterKeySource, key_file: &Path) -> anyhow::Result<MasterKey> {
    if !key_file.exists() {
        anyhow::bail!(
            "there is no master key at {} to rotate; check the data directory and the master key settings",
            key_file.display()
        );
    }
    match source {
        MasterKeySource::DataDir(_) => Ok(MasterKey::load(key_file)?),
        _ => read_key(key_file, &source.describe()),
    }
}

fn read_key(path: &Path, origin: &str) -> anyhow::Result<MasterKey> {
    let text = crate::cli::serve::read_secret_file(path, origin)?;
    Ok(MasterKey::from_base64(
        text.expose(),
        &format!("{} ({origin})", path.display()),
    )?)
}

#[cfg(test)]
#[path = "rotate_master_key_tests.rs"]
mod tests;
