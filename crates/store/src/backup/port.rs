//! The service's `BackupRepository` port over the store's backup methods: the same queries,
//! with store errors named as the port names them.

use time::OffsetDateTime;

use tenantlink_service::{
    BackupPolicy, BackupRepository, BackupRun, BoxFuture, DeltaLink, MailboxItem, NewBackupPolicy,
    OrganizationId, PolicyId, RepoResult, RepositoryError, RunId, RunSummary, RunTrigger,
    UpsertOutcome,
};

use crate::Store;
use crate::error::StoreError;

/// A store failure as the port names it: what was missing, what conflicted (run in progress,
/// run finished), or a storage failure naming what was being done.
fn port_error(action: &'static str) -> impl Fn(StoreError) -> RepositoryError {
    move |error| match error {
        StoreError::NotFound { entity, id } => RepositoryError::not_found(format!("{entity} {id}")),
        StoreError::Conflict(conflict) => RepositoryError::conflict(conflict.to_string()),
        other => RepositoryError::storage(action, other),
    }
}

impl BackupRepository for Store {
    fn create_policy(
        &self,
        new: NewBackupPolicy,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<BackupPolicy>> {
        Box::pin(async move {
            Store::create_policy(self, new, at)
                .await
                .map_err(port_error("create the backup policy"))
        })
    }

    fn update_policy<'a>(
        &'a self,
        policy: &'a BackupPolicy,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<BackupPolicy>> {
        Box::pin(async move {
            Store::update_policy(self, policy, at)
                .await
                .map_err(port_error("update the backup policy"))
        })
    }

    fn delete_policy(&self, id: PolicyId) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            Store::delete_policy(self, id)
                .await
                .map_err(port_error("delete the backup policy"))
        })
    }

    fn policy(&self, id: PolicyId) -> BoxFuture<'_, RepoResult<BackupPolicy>> {
        Box::pin(async move {
            Store::policy(self, id)
                .await
                .map_err(port_error("read the backup policy"))
        })
    }

    fn policies(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<BackupPolicy>>> {
        Box::pin(async move {
            Store::policies(self, organization)
                .await
                .map_err(port_error("list backup policies"))
        })
    }

    fn due_policies(
        &self,
        now: OffsetDateTime,
        limit: usize,
    ) -> BoxFuture<'_, RepoResult<Vec<BackupPolicy>>> {
        Box::pin(async move {
            Store::due_policies(self, now, limit)
                .await
                .map_err(port_error("list due backup policies"))
        })
    }

    fn due_policies_among<'a>(
        &'a self,
        now: OffsetDateTime,
        ids: &'a [PolicyId],
    ) -> BoxFuture<'a, RepoResult<Vec<BackupPolicy>>> {
        Box::pin(async move {
            Store::due_policies_among(self, now, ids)
                .await
                .map_err(port_error("list due backup policies among those running"))
        })
    }

    fn set_policy_next_due(
        &self,
        id: PolicyId,
        next_due_at: Option<OffsetDateTime>,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            Store::set_policy_next_due(self, id, next_due_at, at)
                .await
                .map_err(port_error("set the policy's next due time"))
        })
    }

    fn start_run<'a>(
        &'a self,
        policy: PolicyId,
        trigger: RunTrigger,
        holder: Option<&'a str>,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<BackupRun>> {
        Box::pin(async move {
            Store::start_held_run(self, policy, trigger, holder, at)
                .await
                .map_err(port_error("start the backup run"))
        })
    }

    fn finish_run<'a>(
        &'a self,
        id: RunId,
        summary: &'a RunSummary,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<BackupRun>> {
        Box::pin(async move {
            Store::finish_run(self, id, summary, at)
                .await
                .map_err(port_error("finish the backup run"))
        })
    }

    fn heartbeat_runs<'a>(
        &'a self,
        holder: &'a str,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>> {
        Box::pin(async move {
            Store::heartbeat_runs(self, holder, at)
                .await
                .map_err(port_error("record the runs' heartbeat"))
        })
    }

    fn fail_interrupted_runs<'a>(
        &'a self,
        holder: Option<&'a str>,
        silent_since: OffsetDateTime,
        message: &'a str,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>> {
        Box::pin(async move {
            Store::fail_interrupted_runs(self, holder, silent_since, message, at)
                .await
                .map_err(port_error("fail interrupted runs"))
        })
    }

    fn run(&self, id: RunId) -> BoxFuture<'_, RepoResult<BackupRun>> {
        Box::pin(async move {
            Store::run(self, id)
                .await
                .map_err(port_error("read the backup run"))
        })
    }

    fn runs(&self, policy: PolicyId, limit: u32) -> BoxFuture<'_, RepoResult<Vec<BackupRun>>> {
        Box::pin(async move {
            Store::runs(self, policy, limit)
                .await
                .map_err(port_error("list backup runs"))
        })
    }

    fn upsert_mailbox_items<'a>(
        &'a self,
        items: &'a [MailboxItem],
        run: RunId,
    ) -> BoxFuture<'a, RepoResult<Vec<UpsertOutcome>>> {
        Box::pin(async move {
            Store::upsert_mailbox_items(self, items, run)
                .await
                .map_err(port_error("index a page of messages"))
        })
    }

    fn mailbox_items<'a>(
        &'a self,
        organization: OrganizationId,
        user_id: &'a str,
    ) -> BoxFuture<'a, RepoResult<Vec<MailboxItem>>> {
        Box::pin(async move {
            Store::mailbox_items(self, organization, user_id)
                .await
                .map_err(port_error("list mailbox items"))
        })
    }

    fn delta_link<'a>(
        &'a self,
        policy: PolicyId,
        user_id: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<DeltaLink>>> {
        Box::pin(async move {
            Store::delta_link(self, policy, user_id)
                .await
                .map_err(port_error("read the delta link"))
        })
    }

    fn save_delta_link<'a>(
        &'a self,
        policy: PolicyId,
        user_id: &'a str,
        delta_link: &'a str,
        run: RunId,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            Store::save_delta_link(self, policy, user_id, delta_link, run, at)
                .await
                .map_err(port_error("save the delta link"))
        })
    }
}
