//! The tenant registry on disk: a snapshot, `directory.json`, and an append-only journal,
//! `directory.journal`, of the changes made since (both mode 0600).
//!
//! Why a journal and not a file per tenant: a change must be durable before it is answered and
//! all-or-nothing, and it must cost what it touches in both fleet shapes — 10,000 tenants of one
//! application (one tenant per organization), and one tenant of 10,000 applications, where a
//! per-tenant file would still be the whole 40 MB registry. A journal record holds only the
//! changed applications ([`super::journal`]), is one `write` plus one `fdatasync`, and is atomic by
//! construction: a record counts only if its line is complete and parses, so a crash mid-append
//! leaves the previous state, and a multi-tenant change is one record. Per-tenant files would need
//! a manifest as commit point for multi-file changes; the journal needs none.
//!
//! Compaction: once the journal outgrows the snapshot (and 1 MiB), the next change writes a new
//! snapshot instead (temporary file + rename, then the directory is synced) carrying the number of
//! the last record it holds (`generation`), and empties the journal. A crash between the two
//! leaves records the snapshot already holds; load skips them by number, so replaying never
//! undoes a newer snapshot. Writing the snapshot costs as before (≈170 ms at 10,000 applications)
//! but only once per journal-sized batch of changes.
//!
//! Migration: a `directory.json` written before the journal existed is a snapshot of generation
//! 0 with no journal, so it is read as it is and stays where it is; nothing is converted or kept
//! aside. (An older sandbox reading a newer state directory sees the snapshot only and misses
//! journalled changes; the state directory is not meant to move backwards.)

use super::TenantRegistry;
use super::journal::Record;
use crate::SandboxError;
use crate::secrets::write_private_file_with;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Below this the journal is never compacted: small registries would otherwise rewrite their
/// snapshot every few changes.
const MIN_COMPACTION_BYTES: u64 = 1 << 20;

#[derive(Debug)]
pub(crate) struct TenantStore {
    snapshot: PathBuf,
    journal: PathBuf,
    /// Open for appending once the first record is written.
    file: Option<File>,
    /// Bytes of complete records in the journal.
    journal_len: u64,
    snapshot_len: u64,
    /// Number of the last record written (or folded into the snapshot).
    seq: u64,
    /// The journal is compacted once it is larger than the snapshot and this (tests lower it).
    pub(super) compaction_floor: u64,
    /// An append failed and could not be undone: the journal may end in a partial line, so the
    /// next change writes a snapshot instead of appending after it.
    must_compact: bool,
}

impl TenantStore {
    pub(crate) fn in_state_dir(state_dir: &Path) -> Self {
        Self {
            snapshot: state_dir.join("directory.json"),
            journal: state_dir.join("directory.journal"),
            file: None,
            journal_len: 0,
            snapshot_len: 0,
            seq: 0,
            compaction_floor: MIN_COMPACTION_BYTES,
            must_compact: false,
        }
    }

    /// The snapshot with the journal's records replayed onto it; `None` in a new state directory.
    pub(crate) fn load(&mut self) -> Result<Option<TenantRegistry>, SandboxError> {
        let text = match std::fs::read_to_string(&self.snapshot) {
            Ok(text) => text,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(SandboxError::io("read", &self.snapshot)(err)),
        };
        self.snapshot_len = text.len() as u64;
        let mut registry: TenantRegistry =
            serde_json::from_str(&text).map_err(|err| SandboxError::BrokenTenantRegistry {
                path: self.snapshot.clone(),
                reason: err.to_string(),
            })?;
        drop(text);
        self.seq = registry.generation;
        self.replay_journal(&mut registry)?;
        Ok(Some(registry))
    }

    fn replay_journal(&mut self, registry: &mut TenantRegistry) -> Result<(), SandboxError> {
        let bytes = match std::fs::read(&self.journal) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(err) => return Err(SandboxError::io("read", &self.journal)(err)),
        };
        let mut complete = 0usize;
        let mut lines = bytes.split_inclusive(|b| *b == b'\n').peekable();
        while let Some(line) = lines.next() {
            let last = lines.peek().is_none();
            let record = line
                .strip_suffix(b"\n")
                .and_then(|json| serde_json::from_slice::<Record>(json).ok());
            let Some(record) = record else {
                if last {
                    // A torn final append: its change was never answered, so it never happened.
                    break;
                }
                return Err(self.broken("a record in the middle does not parse"));
            };
            complete += line.len();
            if record.seq <= registry.generation {
                continue; // already in the snapshot (a crash mid-compaction)
            }
            if record.seq != self.seq + 1 {
                return Err(self.broken(&format!(
                    "record {} follows record {}",
                    record.seq, self.seq
                )));
            }
            self.seq = record.seq;
            record.replay(registry)?;
        }
        if complete < bytes.len() {
            // Cut the torn tail so that the next record starts on a line of its own.
            let file = self.open_journal()?;
            file.set_len(complete as u64)
                .and_then(|()| file.sync_data())
                .map_err(SandboxError::io("truncate", &self.journal))?;
            self.file = Some(file);
        }
        self.journal_len = complete as u64;
        Ok(())
    }

    /// Makes `after` durable, given `before`, the registry it was made from and that is on disk:
    /// one journal record of the difference, or a new snapshot when the journal is due for
    /// compaction. On error nothing is on disk that a restart would load.
    pub(crate) fn commit(
        &mut self,
        before: &TenantRegistry,
        after: &mut TenantRegistry,
    ) -> Result<(), SandboxError> {
        let Some(record) = Record::between(before, after, self.seq + 1) else {
            return Ok(()); // `f` copied nothing: nothing to write
        };
        if self.must_compact || self.journal_len > self.snapshot_len.max(self.compaction_floor) {
            return self.save(after);
        }
        let mut line = serde_json::to_vec(&record).map_err(|e| self.io_error("encode", e))?;
        line.push(b'\n');
        self.append(&line)?;
        self.seq = record.seq;
        Ok(())
    }

    fn append(&mut self, line: &[u8]) -> Result<(), SandboxError> {
        if self.file.is_none() {
            let file = self.open_journal()?;
            // The journal's directory entry must be durable before its first record counts.
            sync_dir(&self.journal).map_err(SandboxError::io("sync", &self.journal))?;
            self.file = Some(file);
        }
        let file = self.file.as_mut().expect("opened above");
        let written = file.write_all(line).and_then(|()| file.sync_data());
        if let Err(err) = written {
            // Undo a partial line, or else compact next time: never append after garbage.
            let undone = file
                .set_len(self.journal_len)
                .and_then(|()| file.sync_data());
            self.must_compact = undone.is_err();
            return Err(SandboxError::io("append to", &self.journal)(err));
        }
        self.journal_len += line.len() as u64;
        Ok(())
    }

    /// Writes the whole registry as the snapshot (holding every record so far) and empties the
    /// journal. Used at first start, after a config file changed the registry, and to compact.
    pub(crate) fn save(&mut self, registry: &mut TenantRegistry) -> Result<(), SandboxError> {
        registry.generation = self.seq;
        let mut len = 0u64;
        write_private_file_with(&self.snapshot, |out| {
            let mut counted = Counted { out, len: &mut len };
            serde_json::to_writer_pretty(&mut counted, &*registry).map_err(std::io::Error::other)
        })
        .and_then(|()| sync_dir(&self.snapshot))
        .map_err(SandboxError::io("write", &self.snapshot))?;
        self.snapshot_len = len;
        self.must_compact = false;
        // The snapshot holds every record now; emptying the journal is only housekeeping (load
        // skips records the snapshot holds), so a failure here is logged, not returned. A journal
        // left without its snapshot (someone deleted directory.json to start afresh) belongs to
        // the old registry and is emptied too.
        if self.journal_len > 0 || self.file.is_some() || self.journal.exists() {
            let emptied = self.open_journal().and_then(|file| {
                file.set_len(0)
                    .and_then(|()| file.sync_data())
                    .map_err(SandboxError::io("truncate", &self.journal))?;
                Ok(file)
            });
            match emptied {
                Ok(file) => {
                    self.file = Some(file);
                    self.journal_len = 0;
                }
                Err(err) => tracing::warn!(error = %err, "cannot empty the sandbox journal"),
            }
        }
        Ok(())
    }

    fn open_journal(&self) -> Result<File, SandboxError> {
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        options
            .open(&self.journal)
            .map_err(SandboxError::io("open", &self.journal))
    }

    fn broken(&self, reason: &str) -> SandboxError {
        SandboxError::BrokenTenantRegistry {
            path: self.journal.clone(),
            reason: reason.to_owned(),
        }
    }

    fn io_error(&self, action: &'static str, err: serde_json::Error) -> SandboxError {
        SandboxError::io(action, &self.journal)(std::io::Error::other(err))
    }
}

/// Syncs the directory holding `path`, so that a rename or a new file survives a power loss.
fn sync_dir(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Counts the snapshot's bytes as they stream out: the compaction threshold compares the journal
/// with them.
struct Counted<'a> {
    out: &'a mut dyn Write,
    len: &'a mut u64,
}

impl Write for Counted<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        *self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
