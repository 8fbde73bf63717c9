//! JSON shapes of backup policies, their runs (the job log) and the organization's connection.

use serde::{Deserialize, Serialize};
use tenantlink_backup::{Connection, PolicyInput, PolicyOverview, RunDetail};
use tenantlink_service::{BackupPolicy, BackupRun, BackupScope};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Unknown fields are refused: a misspelt `users` must not silently back up everyone.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyRequest {
    pub name: String,
    /// Blank or absent: runs only on Run now. An interval (`every 6h`, `30m`, `1d12h`; at least
    /// 5 minutes) or a cron expression in UTC (`0 2 * * *`).
    #[serde(default)]
    pub schedule: String,
    /// User principal names to back up; absent or null backs up all users.
    #[serde(default)]
    pub users: Option<Vec<String>>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

impl From<PolicyRequest> for PolicyInput {
    fn from(r: PolicyRequest) -> Self {
        Self {
            name: r.name,
            schedule: r.schedule,
            scope: match r.users {
                None => BackupScope::AllUsers,
                Some(users) => BackupScope::Users(users),
            },
            enabled: r.enabled,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PolicyDto {
    pub id: Uuid,
    pub organization: Uuid,
    pub name: String,
    /// Canonical spelling; empty means Run now only.
    pub schedule: String,
    pub all_users: bool,
    /// The user principal names in scope (empty when `all_users`).
    pub users: Vec<String>,
    pub enabled: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_due_at: Option<OffsetDateTime>,
    /// A run is in progress.
    pub running: bool,
    pub last_run: Option<RunDto>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
}

impl PolicyDto {
    pub fn new(policy: BackupPolicy, last_run: Option<BackupRun>) -> Self {
        let (all_users, users) = match policy.scope {
            BackupScope::AllUsers => (true, Vec::new()),
            BackupScope::Users(users) => (false, users),
        };
        let last_run = last_run.map(RunDto::from);
        Self {
            id: policy.id.0,
            organization: policy.organization_id.0,
            name: policy.name,
            schedule: policy.schedule,
            all_users,
            users,
            enabled: policy.enabled,
            next_due_at: policy.next_due_at,
            running: last_run.as_ref().is_some_and(|r| r.status == "running"),
            last_run,
            created_at: policy.created_at,
            updated_at: policy.updated_at,
        }
    }
}

impl From<PolicyOverview> for PolicyDto {
    fn from(o: PolicyOverview) -> Self {
        Self::new(o.policy, o.last_run)
    }
}

/// One entry of a policy's job log.
#[derive(Debug, Serialize, ToSchema)]
pub struct RunDto {
    pub id: Uuid,
    pub policy: Uuid,
    pub organization: Uuid,
    /// `scheduled` or `manual` (Run now).
    pub trigger: String,
    /// `running`, `success`, `warning` or `failed`.
    pub status: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    pub users: i64,
    pub items_new: i64,
    pub items_changed: i64,
    /// On failure or warning: Entra's or Graph's message verbatim, the explanation and what to
    /// do.
    pub error_text: Option<String>,
}

impl From<BackupRun> for RunDto {
    fn from(r: BackupRun) -> Self {
        Self {
            id: r.id.0,
            policy: r.policy_id.0,
            organization: r.organization_id.0,
            trigger: r.trigger.as_str().to_owned(),
            status: r.status.as_str().to_owned(),
            started_at: r.started_at,
            finished_at: r.finished_at,
            users: r.users,
            items_new: r.items_new,
            items_changed: r.items_changed,
            error_text: r.error_text,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RunDetailDto {
    pub run: RunDto,
    pub policy_name: String,
    /// The run failed because of the organization's certificate credential.
    pub credential_problem: bool,
    /// Settings → System → SSL Certificate of the organization, where the credential is replaced.
    pub certificate_page: String,
}

impl From<RunDetail> for RunDetailDto {
    fn from(d: RunDetail) -> Self {
        Self {
            run: d.run.into(),
            policy_name: d.policy_name,
            credential_problem: d.credential_problem,
            certificate_page: d.certificate_page,
        }
    }
}

/// Whether the organization's credential last worked for a backup run.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionDto {
    /// `unknown` (no run yet), `connected` or `broken`.
    pub state: String,
    /// What broke it: the failed run's job-log text.
    pub last_error: Option<String>,
    pub certificate_page: String,
}

impl From<Connection> for ConnectionDto {
    fn from(c: Connection) -> Self {
        Self {
            state: c.state.as_str().to_owned(),
            last_error: c.last_error,
            certificate_page: c.certificate_page,
        }
    }
}
