//! Backup policies as the product offers them: what the portal and the REST API call. Every
//! method takes the [`Caller`] and checks its role first (Viewers read, Operators also run,
//! Administrators also change); input is validated before anything is written; changes and
//! Run now go to the service's audit log.

use std::sync::Arc;

use tenantlink_clock::SharedClock;
use tenantlink_service::{
    AuditAction, AuditOutcome, BackupPolicy, BackupRepository, BackupRun, BackupScope, Caller,
    ConnectionState, NewAuditEntry, NewBackupPolicy, OrganizationId, Permission, PolicyId,
    Repository, RepositoryError, RunId, RunStatus, ServiceError, ServiceResult,
};

use crate::report::certificate_page;
use crate::runner::RunError;
use crate::schedule::Schedule;
use crate::scheduler::Scheduler;

/// How many runs a policy's job log shows.
pub const JOB_LOG_LENGTH: u32 = 50;
const MAX_NAME_CHARS: usize = 100;
const MAX_SCOPE_USERS: usize = 1000;

/// What an administrator fills in to create or edit a policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInput {
    pub name: String,
    /// Blank (Run now only), an interval (`every 6h`) or a cron expression (`0 2 * * *`).
    pub schedule: String,
    pub scope: BackupScope,
    pub enabled: bool,
}

/// A policy with its latest run, for lists.
#[derive(Debug, Clone)]
pub struct PolicyOverview {
    pub policy: BackupPolicy,
    pub last_run: Option<BackupRun>,
}

impl PolicyOverview {
    /// Whether a run of this policy is in progress (here or in another instance).
    pub fn running(&self) -> bool {
        self.last_run
            .as_ref()
            .is_some_and(|run| run.status == RunStatus::Running)
    }
}

/// One run with what its page needs.
#[derive(Debug, Clone)]
pub struct RunDetail {
    pub run: BackupRun,
    pub policy_name: String,
    /// The organization's Settings → System → SSL Certificate page.
    pub certificate_page: String,
    /// The run failed because of the organization's credential: replacing the certificate is
    /// the remedy (the job log names the remediation link).
    pub credential_problem: bool,
}

/// Whether the organization's credential last worked for a backup run.
#[derive(Debug, Clone)]
pub struct Connection {
    pub state: ConnectionState,
    /// The job-log text of the credential failure that broke it; `None` when connected.
    pub last_error: Option<String>,
    pub certificate_page: String,
}

/// The facade. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Policies {
    backups: Arc<dyn BackupRepository>,
    scheduler: Scheduler,
    /// The service's repository: organizations (and their connection state) and the audit log.
    repository: Arc<dyn Repository>,
    clock: SharedClock,
}

impl Policies {
    /// `backups` stores the policies and their job log; `repository` is the service's (its
    /// organizations and audit log); `scheduler` runs the policies.
    pub fn new(
        backups: Arc<dyn BackupRepository>,
        scheduler: Scheduler,
        repository: Arc<dyn Repository>,
        clock: SharedClock,
    ) -> Self {
        Self {
            backups,
            scheduler,
            repository,
            clock,
        }
    }

    pub async fn list(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Vec<PolicyOverview>> {
        caller.require(Permission::View)?;
        let organization = self.existing_organization(organization).await?;
        let policies = self.backups.policies(organization).await?;
        let mut overviews = Vec::with_capacity(policies.len());
        for policy in policies {
            overviews.push(self.overview(policy).await?);
        }
        Ok(overviews)
    }

    pub async fn policy(&self, caller: &Caller, id: PolicyId) -> ServiceResult<PolicyOverview> {
        caller.require(Permission::View)?;
        let policy = self.load(id).await?;
        self.overview(policy).await
    }

    pub async fn create(
        &self,
        caller: &Caller,
        organization: OrganizationId,
        input: PolicyInput,
    ) -> ServiceResult<BackupPolicy> {
        caller.require(Permission::ManagePolicies)?;
        let valid = validate(input)?;
        let organization = self.existing_organization(organization).await?;
        let next_due_at = self.initial_due(&valid)?;
        let policy = self
            .backups
            .create_policy(
                NewBackupPolicy {
                    organization_id: organization,
                    name: valid.name,
                    schedule: valid.schedule,
                    scope: valid.scope,
                    enabled: valid.enabled,
                    next_due_at,
                },
                self.clock.now(),
            )
            .await?;
        self.audit(caller, AuditAction::PolicyCreated, &policy)
            .await;
        Ok(policy)
    }

    /// Replaces the policy's name, schedule, scope and enabled flag.
    pub async fn update(
        &self,
        caller: &Caller,
        id: PolicyId,
        input: PolicyInput,
    ) -> ServiceResult<BackupPolicy> {
        caller.require(Permission::ManagePolicies)?;
        let valid = validate(input)?;
        let mut policy = self.load(id).await?;
        // Renaming or rescoping keeps the due time; a new schedule (or enabling) starts afresh.
        if valid.schedule != policy.schedule || valid.enabled != policy.enabled {
            policy.next_due_at = self.initial_due(&valid)?;
        }
        policy.name = valid.name;
        policy.schedule = valid.schedule;
        policy.scope = valid.scope;
        policy.enabled = valid.enabled;
        let policy = self
            .backups
            .update_policy(&policy, self.clock.now())
            .await?;
        self.audit(caller, AuditAction::PolicyChanged, &policy)
            .await;
        Ok(policy)
    }

    /// Enabling schedules the policy afresh (no burst of runs missed while it was disabled);
    /// disabling stops scheduled runs (Run now still works).
    pub async fn set_enabled(
        &self,
        caller: &Caller,
        id: PolicyId,
        enabled: bool,
    ) -> ServiceResult<BackupPolicy> {
        caller.require(Permission::ManagePolicies)?;
        let mut policy = self.load(id).await?;
        if policy.enabled == enabled {
            return Ok(policy);
        }
        policy.enabled = enabled;
        if enabled {
            policy.next_due_at = self
                .scheduler
                .initial_due(&policy.schedule)
                .map_err(|e| invalid("schedule", e.to_string()))?;
        }
        let policy = self
            .backups
            .update_policy(&policy, self.clock.now())
            .await?;
        let action = if enabled {
            AuditAction::PolicyEnabled
        } else {
            AuditAction::PolicyDisabled
        };
        self.audit(caller, action, &policy).await;
        Ok(policy)
    }

    /// Deletes the policy with its job log and delta links; the backed-up items stay (they
    /// belong to the organization). Refused while a run is in progress.
    pub async fn delete(&self, caller: &Caller, id: PolicyId) -> ServiceResult<()> {
        caller.require(Permission::ManagePolicies)?;
        let overview = self.policy(caller, id).await?;
        if overview.running() || self.scheduler.is_running(id) {
            return Err(ServiceError::Conflict {
                detail: format!(
                    "policy {:?} is running; wait for the run to finish, then delete it",
                    overview.policy.name
                ),
            });
        }
        self.backups.delete_policy(id).await?;
        self.audit(caller, AuditAction::PolicyDeleted, &overview.policy)
            .await;
        Ok(())
    }

    /// Run now: starts a run in the background and returns its job-log entry (status
    /// `running`) as soon as it is recorded. A policy that is already running is a conflict.
    pub async fn run_now(&self, caller: &Caller, id: PolicyId) -> ServiceResult<BackupRun> {
        caller.require(Permission::RunPolicies)?;
        let policy = self.load(id).await?;
        let started = self.scheduler.start_now(id).await.map_err(|e| match e {
            RunError::AlreadyRunning { .. } => ServiceError::Conflict {
                detail: format!(
                    "policy {:?} is already running; wait for that run to finish (see its job log)",
                    policy.name
                ),
            },
            RunError::Repository(e) => ServiceError::from(e),
            aborted @ RunError::Aborted { .. } => {
                ServiceError::Repository(RepositoryError::storage("run the policy", aborted))
            }
        })?;
        self.audit(caller, AuditAction::PolicyRunStarted, &policy)
            .await;
        // The report handle is dropped: the run goes on and records its own end.
        Ok(self.backups.run(started.run).await?)
    }

    /// The policy's job log, newest first.
    pub async fn runs(&self, caller: &Caller, id: PolicyId) -> ServiceResult<Vec<BackupRun>> {
        caller.require(Permission::View)?;
        self.load(id).await?;
        Ok(self.backups.runs(id, JOB_LOG_LENGTH).await?)
    }

    pub async fn run(&self, caller: &Caller, id: RunId) -> ServiceResult<RunDetail> {
        caller.require(Permission::View)?;
        let run = self.backups.run(id).await?;
        let policy = self.load(run.policy_id).await?;
        let certificate_page = certificate_page(run.organization_id);
        // A credential failure's job log names the certificate page as its remediation.
        let credential_problem = run.status == RunStatus::Failed
            && run
                .error_text
                .as_deref()
                .is_some_and(|text| text.contains(&certificate_page));
        Ok(RunDetail {
            run,
            policy_name: policy.name,
            certificate_page,
            credential_problem,
        })
    }

    pub async fn connection(
        &self,
        caller: &Caller,
        organization: OrganizationId,
    ) -> ServiceResult<Connection> {
        caller.require(Permission::View)?;
        let organization = self.repository.organization(organization).await?;
        Ok(Connection {
            state: organization.connection,
            last_error: organization.last_error,
            certificate_page: certificate_page(organization.id),
        })
    }

    async fn overview(&self, policy: BackupPolicy) -> ServiceResult<PolicyOverview> {
        let last_run = self.backups.runs(policy.id, 1).await?.into_iter().next();
        Ok(PolicyOverview { policy, last_run })
    }

    async fn load(&self, id: PolicyId) -> ServiceResult<BackupPolicy> {
        Ok(self.backups.policy(id).await?)
    }

    async fn existing_organization(
        &self,
        organization: OrganizationId,
    ) -> ServiceResult<OrganizationId> {
        self.repository.organization(organization).await?;
        Ok(organization)
    }

    fn initial_due(&self, valid: &PolicyInput) -> ServiceResult<Option<time::OffsetDateTime>> {
        if !valid.enabled {
            return Ok(None);
        }
        self.scheduler
            .initial_due(&valid.schedule)
            .map_err(|e| invalid("schedule", e.to_string()))
    }

    async fn audit(&self, caller: &Caller, action: AuditAction, policy: &BackupPolicy) {
        let schedule = if policy.schedule.is_empty() {
            "Run now only".to_owned()
        } else {
            policy.schedule.clone()
        };
        let entry = NewAuditEntry {
            at: self.clock.now(),
            actor: caller.name.clone(),
            action,
            organization: Some(policy.organization_id),
            thumbprints: Vec::new(),
            outcome: AuditOutcome::Success,
            detail: Some(format!(
                "policy {:?} ({}): schedule {schedule}, scope {}, {}",
                policy.name,
                policy.id,
                scope_text(&policy.scope),
                if policy.enabled {
                    "enabled"
                } else {
                    "disabled"
                },
            )),
        }
        .capped();
        if let Err(error) = self.repository.append_audit(entry).await {
            tracing::error!(%error, action = action.as_str(), "could not write the audit log");
        }
    }
}

/// The scope in words: "all users" or the list of user principal names.
pub fn scope_text(scope: &BackupScope) -> String {
    match scope {
        BackupScope::AllUsers => "all users".to_owned(),
        BackupScope::Users(users) => users.join(", "),
    }
}

/// Checks and normalizes what an administrator typed: a trimmed name, a schedule that parses
/// (stored in its canonical spelling), user principal names without duplicates.
fn validate(input: PolicyInput) -> ServiceResult<PolicyInput> {
    let name = input.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(invalid(
            "name",
            format!("a policy name has 1 to {MAX_NAME_CHARS} characters"),
        ));
    }
    // The parse error is the message: it says how to write the schedule.
    let schedule = Schedule::parse(&input.schedule)
        .map_err(|e| invalid("schedule", e.to_string()))?
        .to_string();
    let scope = match input.scope {
        BackupScope::AllUsers => BackupScope::AllUsers,
        BackupScope::Users(users) => BackupScope::Users(validate_users(users)?),
    };
    Ok(PolicyInput {
        name,
        schedule,
        scope,
        enabled: input.enabled,
    })
}

fn validate_users(users: Vec<String>) -> ServiceResult<Vec<String>> {
    let mut valid: Vec<String> = Vec::new();
    for user in users {
        let user = user.trim();
        if user.is_empty() {
            continue;
        }
        let well_formed = user
            .split_once('@')
            .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
            && !user.chars().any(char::is_whitespace);
        if !well_formed {
            return Err(invalid(
                "scope",
                format!(
                    "{user:?} is not a user principal name; write it as name@domain, e.g. adele@contoso.onmicrosoft.com"
                ),
            ));
        }
        if !valid.iter().any(|v| v.eq_ignore_ascii_case(user)) {
            valid.push(user.to_owned());
        }
    }
    if valid.is_empty() {
        return Err(invalid(
            "scope",
            "name at least one user principal name, or back up all users",
        ));
    }
    if valid.len() > MAX_SCOPE_USERS {
        return Err(invalid(
            "scope",
            format!("a policy names at most {MAX_SCOPE_USERS} users; back up all users instead"),
        ));
    }
    Ok(valid)
}

fn invalid(field: &str, message: impl Into<String>) -> ServiceError {
    ServiceError::Invalid {
        field: field.to_owned(),
        message: message.into(),
    }
}
