//! What the scheduler tests' stand-in executors report: a successful run with given counts.
#![allow(dead_code)]

use tenantlink_backup::RunReport;
use tenantlink_service::{BackupPolicy, RunId, RunStatus, RunTrigger};
use time::OffsetDateTime;

/// A successful run of `policy` over `users` mailboxes that found `items_new` new items.
pub fn success_report(
    policy: &BackupPolicy,
    trigger: RunTrigger,
    run_id: RunId,
    started_at: OffsetDateTime,
    finished_at: OffsetDateTime,
    users: u32,
    items_new: u64,
) -> RunReport {
    RunReport {
        run_id,
        policy_id: policy.id,
        organization_id: policy.organization_id,
        trigger,
        started_at,
        finished_at,
        users,
        mailboxes_completed: users,
        items_new,
        items_changed: 0,
        items_unchanged: 0,
        status: RunStatus::Success,
        certificate_thumbprint: None,
        failure: None,
        problems: Vec::new(),
    }
}
