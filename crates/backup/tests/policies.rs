//! The policies facade the portal and the API call: roles, validation that changes nothing,
//! due times stored on create/edit, Run now answering at once with a conflict for a second one,
//! the job log, the connection state, and the audit trail. Real SQLite store, manual clock, an
//! executor that records its run in the store and waits on a gate the test opens. No sleeping.

mod fake_runs;

use fake_runs::success_report;
use std::sync::Arc;

use tenantlink_backup::{
    BoxFuture, Policies, PolicyExecutor, PolicyInput, RunError, RunReport, Scheduler,
};
use tenantlink_clock::{Clock, ManualClock};
use tenantlink_service::NewOrganization;
use tenantlink_service::{
    BackupPolicy, BackupRepository, BackupScope, Caller, CallerVia, ConnectionState, Repository,
    Role, RunId, RunStatus, RunSummary, RunTrigger, ServiceError,
};
use tenantlink_store::{MasterKey, Store, StoreRepository};
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::{Notify, Semaphore, oneshot};

const T0: OffsetDateTime = datetime!(2026-03-02 10:00 UTC);

/// Records the run in the store, announces it, waits for the gate, then finishes it with three
/// new items.
#[derive(Debug)]
struct GatedExecutor {
    store: Arc<dyn BackupRepository>,
    clock: Arc<ManualClock>,
    gate: Semaphore,
    finished: Notify,
}

impl GatedExecutor {
    async fn run(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: Option<oneshot::Sender<RunId>>,
    ) -> Result<RunReport, RunError> {
        let run = self
            .store
            .start_run(policy.id, trigger, None, self.clock.now())
            .await?;
        if let Some(started) = started {
            let _ = started.send(run.id);
        }
        let _permit = self.gate.acquire().await.expect("gate");
        let summary = RunSummary {
            status: RunStatus::Success,
            users: 1,
            items_new: 3,
            items_changed: 0,
            error_text: None,
        };
        self.store
            .finish_run(run.id, &summary, self.clock.now())
            .await?;
        self.finished.notify_one();
        Ok(success_report(
            &policy,
            trigger,
            run.id,
            run.started_at,
            self.clock.now(),
            1,
            3,
        ))
    }
}

impl PolicyExecutor for GatedExecutor {
    fn execute(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(self.run(policy, trigger, None))
    }

    fn execute_announced(
        &self,
        policy: BackupPolicy,
        trigger: RunTrigger,
        started: oneshot::Sender<RunId>,
    ) -> BoxFuture<'_, Result<RunReport, RunError>> {
        Box::pin(self.run(policy, trigger, Some(started)))
    }
}

struct Fixture {
    store: Store,
    clock: Arc<ManualClock>,
    executor: Arc<GatedExecutor>,
    /// The service's repository over the store; its audit log is in memory.
    audit: Arc<StoreRepository>,
    policies: Policies,
    organization: tenantlink_service::OrganizationId,
    _dir: tempfile::TempDir,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("db.sqlite").display()
        ))
        .await
        .unwrap();
        let clock = Arc::new(ManualClock::at(T0));
        let organization = store
            .create_organization(
                NewOrganization {
                    tenant: "contoso.onmicrosoft.com".into(),
                    cloud: tenantlink_service::Cloud::Global,
                    app_id: "11111111-1111-4111-8111-111111111111".into(),
                    name: "Contoso".into(),
                },
                T0,
            )
            .await
            .unwrap();
        let executor = Arc::new(GatedExecutor {
            store: Arc::new(store.clone()),
            clock: clock.clone(),
            gate: Semaphore::new(0),
            finished: Notify::new(),
        });
        let scheduler = Scheduler::new(Arc::new(store.clone()), clock.clone(), executor.clone());
        let audit = Arc::new(StoreRepository::new(
            store.clone(),
            Arc::new(MasterKey::generate().unwrap()),
        ));
        let policies = Policies::new(
            Arc::new(store.clone()),
            scheduler,
            audit.clone(),
            clock.clone(),
        );
        Self {
            store,
            clock,
            executor,
            audit,
            policies,
            organization: organization.id,
            _dir: dir,
        }
    }

    async fn audit_actions(&self) -> Vec<String> {
        let mut entries = self.audit.audit(100).await.unwrap();
        entries.reverse();
        entries.into_iter().map(|e| e.action).collect()
    }
}

fn caller(role: Role) -> Caller {
    Caller {
        name: format!("{}-user", role.as_str()),
        role,
        via: CallerVia::ApiToken,
        csrf_token: None,
        account: None,
    }
}

fn input(name: &str, schedule: &str) -> PolicyInput {
    PolicyInput {
        name: name.into(),
        schedule: schedule.into(),
        scope: BackupScope::AllUsers,
        enabled: true,
    }
}

fn invalid_field(result: Result<impl std::fmt::Debug, ServiceError>) -> (String, String) {
    match result {
        Err(ServiceError::Invalid { field, message }) => (field, message),
        other => panic!("expected an invalid-input error, got {other:?}"),
    }
}

#[tokio::test]
async fn administrators_manage_policies_with_due_times_and_every_change_is_audited() {
    let f = Fixture::new().await;
    let admin = caller(Role::Administrator);

    let created = f
        .policies
        .create(&admin, f.organization, input("  Mail nightly ", "6h"))
        .await
        .unwrap();
    assert_eq!(created.name, "Mail nightly", "trimmed");
    assert_eq!(
        created.schedule, "every 6h",
        "stored in its canonical spelling"
    );
    assert_eq!(created.next_due_at, Some(T0), "an interval is due at once");

    let list = f.policies.list(&admin, f.organization).await.unwrap();
    assert_eq!(list.len(), 1);
    assert!(list[0].last_run.is_none() && !list[0].running());

    // A new schedule starts afresh; a rename alone keeps the due time.
    f.clock.advance(time::Duration::minutes(1));
    let edited = f
        .policies
        .update(
            &admin,
            created.id,
            PolicyInput {
                scope: BackupScope::Users(vec![
                    "adele@contoso.onmicrosoft.com".into(),
                    " ADELE@contoso.onmicrosoft.com".into(),
                    "megan@contoso.onmicrosoft.com".into(),
                ]),
                ..input("Mail at two", "0 2 * * *")
            },
        )
        .await
        .unwrap();
    assert_eq!(edited.next_due_at, Some(datetime!(2026-03-03 02:00 UTC)));
    assert_eq!(
        edited.scope,
        BackupScope::Users(vec![
            "adele@contoso.onmicrosoft.com".into(),
            "megan@contoso.onmicrosoft.com".into(),
        ]),
        "duplicates (any case) removed"
    );
    let renamed = f
        .policies
        .update(
            &admin,
            created.id,
            PolicyInput {
                scope: edited.scope.clone(),
                ..input("Mail at 02:00", "0 2 * * *")
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.next_due_at, edited.next_due_at);

    let disabled = f
        .policies
        .set_enabled(&admin, created.id, false)
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert!(
        f.store
            .due_policies(datetime!(2026-03-04 00:00 UTC), usize::MAX)
            .await
            .unwrap()
            .is_empty(),
        "a disabled policy is never due"
    );
    f.clock.set(datetime!(2026-03-05 12:00 UTC));
    let enabled = f
        .policies
        .set_enabled(&admin, created.id, true)
        .await
        .unwrap();
    assert_eq!(
        enabled.next_due_at,
        Some(datetime!(2026-03-06 02:00 UTC)),
        "enabling schedules afresh: no catch-up for the days it was disabled"
    );

    f.policies.delete(&admin, created.id).await.unwrap();
    assert!(
        f.policies
            .list(&admin, f.organization)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        f.policies.policy(&admin, created.id).await,
        Err(ServiceError::NotFound { .. })
    ));

    assert_eq!(
        f.audit_actions().await,
        [
            "policy_created",
            "policy_changed",
            "policy_changed",
            "policy_disabled",
            "policy_enabled",
            "policy_deleted"
        ]
    );
    let entries = f.audit.audit(100).await.unwrap();
    let created_entry = entries.last().unwrap();
    assert_eq!(created_entry.actor, "administrator-user");
    assert_eq!(created_entry.organization, Some(f.organization));
    let detail = created_entry.detail.as_deref().unwrap();
    assert!(
        detail.contains("Mail nightly")
            && detail.contains("every 6h")
            && detail.contains("all users"),
        "{detail}"
    );
}

#[tokio::test]
async fn a_bad_schedule_or_scope_is_refused_with_its_explanation_and_changes_nothing() {
    let f = Fixture::new().await;
    let admin = caller(Role::Administrator);

    for bad in ["every 2m", "61 * * * *", "every fortnight"] {
        let expected = tenantlink_backup::Schedule::parse(bad)
            .unwrap_err()
            .to_string();
        let (field, message) = invalid_field(
            f.policies
                .create(&admin, f.organization, input("Mail", bad))
                .await,
        );
        assert_eq!(field, "schedule");
        assert_eq!(message, expected, "the parse error verbatim");
    }
    let (field, message) = invalid_field(
        f.policies
            .create(
                &admin,
                f.organization,
                PolicyInput {
                    scope: BackupScope::Users(vec!["adele".into()]),
                    ..input("Mail", "every 6h")
                },
            )
            .await,
    );
    assert_eq!(field, "scope");
    assert!(
        message.contains("\"adele\" is not a user principal name"),
        "{message}"
    );
    let (field, _) = invalid_field(
        f.policies
            .create(
                &admin,
                f.organization,
                PolicyInput {
                    scope: BackupScope::Users(vec!["  ".into()]),
                    ..input("Mail", "every 6h")
                },
            )
            .await,
    );
    assert_eq!(field, "scope");
    let (field, _) = invalid_field(
        f.policies
            .create(&admin, f.organization, input("   ", "every 6h"))
            .await,
    );
    assert_eq!(field, "name");
    assert!(
        f.policies
            .list(&admin, f.organization)
            .await
            .unwrap()
            .is_empty()
    );

    // An edit with a bad schedule leaves the policy as it was.
    let policy = f
        .policies
        .create(&admin, f.organization, input("Mail", ""))
        .await
        .unwrap();
    assert_eq!(policy.next_due_at, None, "blank: Run now only");
    invalid_field(
        f.policies
            .update(&admin, policy.id, input("Renamed", "every 1 hour"))
            .await,
    );
    let unchanged = f.policies.policy(&admin, policy.id).await.unwrap().policy;
    assert_eq!(unchanged, policy);
    assert_eq!(f.audit_actions().await, ["policy_created"]);

    assert!(matches!(
        f.policies
            .create(
                &admin,
                tenantlink_service::OrganizationId::new(),
                input("Mail", "")
            )
            .await,
        Err(ServiceError::NotFound { .. })
    ));
}

#[tokio::test]
async fn viewers_only_read_operators_also_run_and_only_administrators_change() {
    let f = Fixture::new().await;
    let admin = caller(Role::Administrator);
    let operator = caller(Role::Operator);
    let viewer = caller(Role::Viewer);
    let policy = f
        .policies
        .create(&admin, f.organization, input("Mail", ""))
        .await
        .unwrap();

    assert_eq!(
        f.policies
            .list(&viewer, f.organization)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(
        f.policies
            .runs(&viewer, policy.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        f.policies.run_now(&viewer, policy.id).await,
        Err(ServiceError::Forbidden { .. })
    ));
    for denied in [
        f.policies
            .create(&operator, f.organization, input("Other", ""))
            .await
            .map(drop),
        f.policies
            .update(&operator, policy.id, input("Renamed", ""))
            .await
            .map(drop),
        f.policies
            .set_enabled(&operator, policy.id, false)
            .await
            .map(drop),
        f.policies.delete(&operator, policy.id).await,
        f.policies.delete(&viewer, policy.id).await,
    ] {
        assert!(
            matches!(&denied, Err(ServiceError::Forbidden { action }) if action.contains("backup policies")),
            "{denied:?}"
        );
    }
    assert_eq!(
        f.policies.policy(&viewer, policy.id).await.unwrap().policy,
        policy,
        "nothing changed"
    );

    f.executor.gate.add_permits(1);
    let run = f.policies.run_now(&operator, policy.id).await.unwrap();
    assert_eq!(run.trigger, RunTrigger::Manual);
    f.executor.finished.notified().await;
    assert_eq!(
        f.audit_actions().await,
        ["policy_created", "policy_run_started"]
    );
    let entries = f.audit.audit(1).await.unwrap();
    assert_eq!(entries[0].actor, "operator-user");
}

#[tokio::test]
async fn run_now_answers_with_the_running_run_and_a_second_run_now_is_a_conflict() {
    let f = Fixture::new().await;
    let admin = caller(Role::Administrator);
    let policy = f
        .policies
        .create(&admin, f.organization, input("Mail", ""))
        .await
        .unwrap();

    // The gate is closed: the run cannot end, yet Run now has answered.
    let run = f.policies.run_now(&admin, policy.id).await.unwrap();
    assert_eq!(run.status, RunStatus::Running);
    assert_eq!(run.policy_id, policy.id);
    let overview = f.policies.policy(&admin, policy.id).await.unwrap();
    assert!(overview.running());

    match f.policies.run_now(&admin, policy.id).await {
        Err(ServiceError::Conflict { detail }) => {
            assert!(detail.contains("already running"), "{detail}")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(matches!(
        f.policies.delete(&admin, policy.id).await,
        Err(ServiceError::Conflict { .. })
    ));

    f.executor.gate.add_permits(1);
    f.executor.finished.notified().await;
    let detail = f.policies.run(&admin, run.id).await.unwrap();
    assert_eq!(detail.run.status, RunStatus::Success);
    assert_eq!(detail.run.items_new, 3);
    assert_eq!(detail.policy_name, "Mail");
    assert!(!detail.credential_problem);
    let log = f.policies.runs(&admin, policy.id).await.unwrap();
    assert_eq!(log.iter().map(|r| r.id).collect::<Vec<_>>(), [run.id]);
}

#[tokio::test]
async fn a_credential_failure_links_the_certificate_page_and_the_connection_shows_broken() {
    let f = Fixture::new().await;
    let admin = caller(Role::Administrator);
    let policy = f
        .policies
        .create(&admin, f.organization, input("Mail", ""))
        .await
        .unwrap();
    let page = tenantlink_backup::certificate_page(f.organization);
    assert_eq!(
        page,
        format!("/organizations/{}/settings/system", f.organization)
    );

    let connection = f.policies.connection(&admin, f.organization).await.unwrap();
    assert_eq!(connection.state, ConnectionState::Unknown);

    // What the runner records for AADSTS700027 (its text is RunFailure::job_log_text).
    let text = format!(
        "Entra ID: AADSTS700027: Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: 'ABC123']\nThe certificate has expired.\nWhat to do: Generate a new certificate ({page})"
    );
    let run = f
        .store
        .start_run(policy.id, RunTrigger::Scheduled, f.clock.now())
        .await
        .unwrap();
    f.store
        .finish_run(
            run.id,
            &RunSummary {
                status: RunStatus::Failed,
                users: 0,
                items_new: 0,
                items_changed: 0,
                error_text: Some(text.clone()),
            },
            f.clock.now(),
        )
        .await
        .unwrap();
    f.store
        .set_connection_state(
            f.organization,
            ConnectionState::Broken,
            Some(&text),
            f.clock.now(),
        )
        .await
        .unwrap();

    let detail = f.policies.run(&caller(Role::Viewer), run.id).await.unwrap();
    assert!(detail.credential_problem);
    assert_eq!(detail.certificate_page, page);
    assert_eq!(detail.run.error_text.as_deref(), Some(text.as_str()));
    let connection = f.policies.connection(&admin, f.organization).await.unwrap();
    assert_eq!(connection.state, ConnectionState::Broken);
    assert_eq!(connection.last_error.as_deref(), Some(text.as_str()));
    let overview = f.policies.policy(&admin, policy.id).await.unwrap();
    assert_eq!(overview.last_run.unwrap().status, RunStatus::Failed);
}
