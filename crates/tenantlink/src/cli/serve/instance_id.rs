//! The stable identity of this `serve` among the instances sharing one database.
//!
//! A certificate operation's device code and delegated token stay in the memory of the instance
//! that started it; the operation records that instance's id, so other instances neither end it
//! as lost nor resume it, and this instance's next start recognises what its previous process
//! left behind. The id lives in the data directory, which `serve` locks, so one id names exactly
//! one running process at a time.

use anyhow::{Context as _, bail};
use std::io::Write as _;
use std::path::{Path, PathBuf};

pub const INSTANCE_ID_FILE: &str = "instance-id";

/// The id in `DATA_DIR/instance-id`, created (random, mode 0600) on the first start and reused
/// on every later one. Call with the data directory lock held.
pub fn load_or_create(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(INSTANCE_ID_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&path, &text),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => create(data_dir, &path),
        Err(err) => Err(err).with_context(|| format!("read {}", path.display())),
    }
}

fn parse(path: &Path, text: &str) -> anyhow::Result<String> {
    let id = text.trim();
    if uuid::Uuid::parse_str(id).is_err() {
        bail!(
            "{} does not hold a tenantlink instance id (a UUID written by serve); restore it, or \
             delete it to get a new id (operations this instance left unfinished then end only \
             when their sign-in code expires)",
            path.display()
        );
    }
    Ok(id.to_owned())
}

fn create(data_dir: &Path, path: &Path) -> anyhow::Result<String> {
    let id = uuid::Uuid::new_v4().to_string();
    // Written beside and renamed, so a crash never leaves a half-written id behind.
    let partial: PathBuf = data_dir.join(format!("{INSTANCE_ID_FILE}.new"));
    let _ = std::fs::remove_file(&partial);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(&partial)
        .with_context(|| format!("create {}", partial.display()))?;
    file.write_all(format!("{id}\n").as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("write {}", partial.display()))?;
    std::fs::rename(&partial, path).with_context(|| format!("create {}", path.display()))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create(dir.path()).unwrap();
        assert!(uuid::Uuid::parse_str(&first).is_ok(), "{first}");
        assert_eq!(
            load_or_create(dir.path()).unwrap(),
            first,
            "reused on restart"
        );
        assert!(!dir.path().join("instance-id.new").exists());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(INSTANCE_ID_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            load_or_create(other.path()).unwrap(),
            first,
            "one per data directory"
        );
    }

    #[test]
    fn a_damaged_id_stops_the_start_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(INSTANCE_ID_FILE), "not an id\n").unwrap();
        let err = load_or_create(dir.path()).unwrap_err().to_string();
        assert!(err.contains("instance-id does not hold"), "{err}");
        assert!(err.contains("delete it to get a new id"), "{err}");
    }
}
