//! Backup policies in the service's vocabulary: the records a policy, its runs (the job log),
//! the mailbox item index and the per-mailbox delta links are made of, and the storage port
//! `tenantlink-backup` reads and writes them through. The scheduler and the runner live in
//! `tenantlink-backup`; the store implements [`BackupRepository`].

mod model;
mod ports;

pub use model::{
    BackupPolicy, BackupRun, BackupScope, DeltaLink, MailboxItem, NewBackupPolicy, PolicyId, RunId,
    RunStatus, RunSummary, RunTrigger, UnknownVariant, UpsertOutcome,
};
pub use ports::BackupRepository;
