//! The storage backup policies need, as one object-safe trait in the style of
//! [`Repository`](crate::Repository): boxed futures, [`RepositoryError`](crate::RepositoryError)
//! for failures (`NotFound`, `Conflict`, `Storage`), times passed in by the caller.

use std::fmt::Debug;

use time::OffsetDateTime;

use super::model::{
    BackupPolicy, BackupRun, DeltaLink, MailboxItem, NewBackupPolicy, PolicyId, RunId, RunSummary,
    RunTrigger, UpsertOutcome,
};
use crate::model::OrganizationId;
use crate::ports::{BoxFuture, RepoResult};

pub trait BackupRepository: Send + Sync + Debug + 'static {
    fn create_policy(
        &self,
        new: NewBackupPolicy,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<BackupPolicy>>;
    /// Replaces a policy's editable fields (name, schedule, scope, enabled, next due time).
    fn update_policy<'a>(
        &'a self,
        policy: &'a BackupPolicy,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<BackupPolicy>>;
    /// Deletes the policy with its job log and delta links (the indexed items stay).
    fn delete_policy(&self, id: PolicyId) -> BoxFuture<'_, RepoResult<()>>;
    fn policy(&self, id: PolicyId) -> BoxFuture<'_, RepoResult<BackupPolicy>>;
    /// An organization's policies by name.
    fn policies(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<BackupPolicy>>>;
    /// At most `limit` enabled policies due at `now`, the longest waiting first (due time, then
    /// id).
    fn due_policies(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> BoxFuture<'_, RepoResult<Vec<BackupPolicy>>>;
    /// Of the policies `ids`, the enabled ones due at `now`, in the order of `due_policies`.
    fn due_policies_among<'a>(
        &'a self,
        now: OffsetDateTime,
        ids: &'a [PolicyId],
    ) -> BoxFuture<'a, RepoResult<Vec<BackupPolicy>>>;
    fn set_policy_next_due(
        &self,
        id: PolicyId,
        next_due_at: Option<OffsetDateTime>,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>>;

    /// Records the start of a run (status `running`) by `holder` (the instance running it, if
    /// it has an id), with a first heartbeat at `at`; `Conflict` while the policy has a run in
    /// progress (here or in another instance sharing the database).
    fn start_run<'a>(
        &'a self,
        policy: PolicyId,
        trigger: RunTrigger,
        holder: Option<&'a str>,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<BackupRun>>;
    /// Records that `holder` still carries its running runs (their heartbeat becomes `at`).
    fn heartbeat_runs<'a>(
        &'a self,
        holder: &'a str,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>>;
    /// Records how a running run ended; `Conflict` when it has already ended.
    fn finish_run<'a>(
        &'a self,
        id: RunId,
        summary: &'a RunSummary,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<BackupRun>>;
    /// Fails with `message` the runs still `running` that no live instance carries: `holder`'s
    /// own (its previous process), those without a holder, and those whose holder's heartbeat
    /// is at or before `silent_since` (`holder` `None`: every running run). Returns how many.
    fn fail_interrupted_runs<'a>(
        &'a self,
        holder: Option<&'a str>,
        silent_since: OffsetDateTime,
        message: &'a str,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>>;
    fn run(&self, id: RunId) -> BoxFuture<'_, RepoResult<BackupRun>>;
    /// A policy's runs, newest first, at most `limit`.
    fn runs(&self, policy: PolicyId, limit: u32) -> BoxFuture<'_, RepoResult<Vec<BackupRun>>>;

    /// Indexes a page of messages in one transaction (all or none), keyed by (organization,
    /// user, message id) so re-reading never duplicates; one outcome per item, in order.
    fn upsert_mailbox_items<'a>(
        &'a self,
        items: &'a [MailboxItem],
        run: RunId,
    ) -> BoxFuture<'a, RepoResult<Vec<UpsertOutcome>>>;
    /// A user's indexed messages, by received time.
    fn mailbox_items<'a>(
        &'a self,
        organization: OrganizationId,
        user_id: &'a str,
    ) -> BoxFuture<'a, RepoResult<Vec<MailboxItem>>>;
    /// Where the next read of this mailbox under this policy starts; `None`: a full read.
    fn delta_link<'a>(
        &'a self,
        policy: PolicyId,
        user_id: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<DeltaLink>>>;
    /// Keeps the delta link of a completed mailbox read (call it only once every page of the
    /// read is indexed).
    fn save_delta_link<'a>(
        &'a self,
        policy: PolicyId,
        user_id: &'a str,
        delta_link: &'a str,
        run: RunId,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>>;
}
