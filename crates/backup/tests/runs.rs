//! Backup runs against the in-process sandbox tenant over HTTPS, with a real store.

mod support;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration as StdDuration;

use support::{Backend, RETRIES, World};
use tenantlink_backup::{BoxFuture, FailureStage, PageIndexed, RunObserver};
use tenantlink_clock::Clock;
use tenantlink_service::{BackupScope, ConnectionState, RunStatus, RunTrigger};
use time::Duration;

/// Messages in each sandbox sample mailbox (see the sandbox's mail module).
const SAMPLE_MESSAGES: u64 = 57;

async fn backs_up_the_sample_mail_then_only_what_changed(backend: Backend) {
    let world = World::start(backend).await;
    let (_, signer) = world.attach_new_certificate(30).await;
    let policy = world.policy(BackupScope::AllUsers).await;

    let first = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&signer),
            RunTrigger::Manual,
        )
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Success, "{:?}", first.failure);
    let users = world.user_ids(&signer).await;
    assert_eq!(first.users as usize, users.len());
    assert!(
        first.users >= 2,
        "the sandbox has an administrator and a user"
    );
    assert_eq!(first.mailboxes_completed, first.users);
    assert_eq!(first.items_new, SAMPLE_MESSAGES * u64::from(first.users));
    assert_eq!(first.certificate_thumbprint, Some(signer.sha1_hex()));

    for (user, items) in world.items_per_user(&signer).await {
        assert_eq!(items.len() as u64, SAMPLE_MESSAGES, "mailbox of {user}");
        let ids: HashSet<_> = items.iter().map(|i| &i.message_id).collect();
        assert_eq!(ids.len(), items.len(), "no duplicate message ids");
        let item = &items[0];
        assert!(!item.subject.is_empty() && item.sender.contains('@'));
        assert_eq!(item.content_hash.len(), 32);
        assert!(item.size > 0);
        assert!(
            world
                .store
                .delta_link(policy.id, &user)
                .await
                .unwrap()
                .is_some()
        );
    }
    let org = world.organization_now().await;
    assert_eq!(org.connection, ConnectionState::Connected);

    let second = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&signer),
            RunTrigger::Scheduled,
        )
        .await
        .unwrap();
    assert_eq!(second.status, RunStatus::Success);
    assert_eq!(
        (
            second.items_new,
            second.items_changed,
            second.items_unchanged
        ),
        (0, 0, 0),
        "the delta link returns only changes, and the sample mailbox did not change"
    );
    let log = world.store.runs(policy.id, 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert!(
        log.iter()
            .all(|r| r.status == RunStatus::Success && r.finished_at.is_some())
    );
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_backs_up_the_sample_mail_then_only_what_changed_sqlite() {
    backs_up_the_sample_mail_then_only_what_changed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_backs_up_the_sample_mail_then_only_what_changed_postgres() {
    backs_up_the_sample_mail_then_only_what_changed(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_fails_with_aadsts700027_and_a_new_one_recovers() {
    let world = World::start(Backend::Sqlite).await;
    let (_, old) = world.attach_new_certificate(30).await;
    let policy = world.policy(BackupScope::AllUsers).await;
    let first = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&old),
            RunTrigger::Scheduled,
        )
        .await
        .unwrap();
    assert_eq!(first.status, RunStatus::Success);

    world.clock.advance(Duration::days(31));
    assert!(world.clock.now() > old.not_after());
    let failed = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&old),
            RunTrigger::Scheduled,
        )
        .await
        .unwrap();
    assert_eq!(failed.status, RunStatus::Failed);
    let failure = failed.failure.clone().expect("a failure");
    assert_eq!(failure.stage, FailureStage::Authentication);
    assert_eq!(failure.code.as_deref(), Some("AADSTS700027"));
    assert!(
        failure.message.contains("The key used is expired."),
        "{}",
        failure.message
    );
    assert_eq!(failure.client_thumbprint, Some(old.sha1_hex()));
    assert!(failure.credential_problem);
    let link = format!("/organizations/{}/settings/system", world.organization.id);
    assert_eq!(failure.remediation_link.as_deref(), Some(link.as_str()));
    assert!(failure.remediation.contains("Generate a new certificate"));

    let logged = world.store.run(failed.run_id).await.unwrap();
    assert_eq!(logged.status, RunStatus::Failed);
    let text = logged.error_text.expect("the job log keeps the error");
    assert!(text.contains("AADSTS700027") && text.contains("The key used is expired."));
    assert!(text.contains(&old.sha1_hex()) && text.contains(&link));
    let org = world.organization_now().await;
    assert_eq!(org.connection, ConnectionState::Broken);
    assert!(org.last_error.unwrap().contains("AADSTS700027"));

    // The administrator generates a new certificate (attached next to the expired one).
    let (_, new) = world.attach_new_certificate(365).await;
    let recovered = world
        .runner
        .run(&policy, &world.organization, Ok(&new), RunTrigger::Manual)
        .await
        .unwrap();
    assert_eq!(
        recovered.status,
        RunStatus::Success,
        "{:?}",
        recovered.failure
    );
    assert_eq!(recovered.certificate_thumbprint, Some(new.sha1_hex()));
    assert_eq!(
        (
            recovered.items_new,
            recovered.items_changed,
            recovered.items_unchanged
        ),
        (0, 0, 0),
        "only what changed since the last successful run is read"
    );
    let org = world.organization_now().await;
    assert_eq!(org.connection, ConnectionState::Connected);
    assert_eq!(org.last_error, None);
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_503_during_a_run_are_retried() {
    let world = World::start(Backend::Sqlite).await;
    let (_, signer) = world.attach_new_certificate(30).await;
    let policy = world.policy(BackupScope::AllUsers).await;
    world
        .fault_on_mail(
            serde_json::json!({"kind": "status", "status": 429, "retry_after_seconds": 7}),
            1,
        )
        .await;
    world
        .fault_on_mail(serde_json::json!({"kind": "status", "status": 503}), 2)
        .await;
    let report = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&signer),
            RunTrigger::Manual,
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.failure);
    assert_eq!(report.items_new, SAMPLE_MESSAGES * u64::from(report.users));
    let waits = world.sleeper.waits();
    assert!(
        waits.contains(&StdDuration::from_secs(7)),
        "Retry-After honoured: {waits:?}"
    );
    assert!(waits.len() >= 3, "one wait per retried response: {waits:?}");
    world.shutdown().await;
}

/// After the first page of the first mailbox, the connection starts dropping for longer than
/// the transport retries.
#[derive(Debug)]
struct DropConnectionsAfterFirstPage {
    control: reqwest::Client,
    faults_url: String,
    armed: AtomicBool,
}

impl RunObserver for DropConnectionsAfterFirstPage {
    fn page_indexed<'a>(&'a self, progress: &'a PageIndexed) -> BoxFuture<'a, ()> {
        Box::pin(async move {
            if progress.page == 1 && !self.armed.swap(true, Ordering::SeqCst) {
                let route = format!(
                    "/v1.0/users/{}/mailFolders/inbox/messages/delta",
                    progress.user_id
                );
                let response = self
                    .control
                    .post(&self.faults_url)
                    .json(
                        &serde_json::json!({"route": route, "kind": "drop", "count": RETRIES + 1}),
                    )
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
            }
        })
    }
}

/// The page read before the drop is stored in its own transaction and kept; the next run
/// re-reads it without duplicates.
async fn dropped_connection_midway_resumes_without_duplicates(backend: Backend) {
    let mut world = World::start(backend).await;
    let (_, signer) = world.attach_new_certificate(30).await;
    let policy = world.policy(BackupScope::AllUsers).await;
    let observer = Arc::new(DropConnectionsAfterFirstPage {
        control: world.control.clone(),
        faults_url: format!("{}/faults", world.info().control_base.clone().unwrap()),
        armed: AtomicBool::new(false),
    });
    world.runner = world.runner.clone().with_observer(observer);

    let interrupted = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&signer),
            RunTrigger::Scheduled,
        )
        .await
        .unwrap();
    assert_eq!(interrupted.status, RunStatus::Warning, "{:?}", interrupted);
    assert_eq!(interrupted.mailboxes_completed, interrupted.users - 1);
    let problem = &interrupted.problems[0];
    assert!(matches!(problem.stage, FailureStage::Mailbox { .. }));
    assert!(!problem.credential_problem);
    let complete_mailboxes = u64::from(interrupted.users - 1) * SAMPLE_MESSAGES;
    let read_before_the_drop = interrupted.items_new - complete_mailboxes;
    assert!(
        read_before_the_drop > 0 && read_before_the_drop < SAMPLE_MESSAGES,
        "the interrupted mailbox kept its first page: {read_before_the_drop}"
    );

    let resumed = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&signer),
            RunTrigger::Scheduled,
        )
        .await
        .unwrap();
    assert_eq!(resumed.status, RunStatus::Success, "{:?}", resumed.failure);
    assert_eq!(resumed.items_new, SAMPLE_MESSAGES - read_before_the_drop);
    assert_eq!(
        resumed.items_unchanged, read_before_the_drop,
        "re-read, not duplicated"
    );
    for (user, items) in world.items_per_user(&signer).await {
        let ids: HashSet<_> = items.iter().map(|i| &i.message_id).collect();
        assert_eq!(items.len() as u64, SAMPLE_MESSAGES, "mailbox of {user}");
        assert_eq!(ids.len(), items.len());
    }
    world.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_midway_resumes_without_duplicates_sqlite() {
    dropped_connection_midway_resumes_without_duplicates(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_midway_resumes_without_duplicates_postgres() {
    dropped_connection_midway_resumes_without_duplicates(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_user_in_scope_is_a_warning_and_no_certificate_is_a_failure() {
    let world = World::start(Backend::Sqlite).await;
    let (_, signer) = world.attach_new_certificate(30).await;
    let admin = format!("admin@{}", world.info().tenant_domain);
    let ghost = format!("ghost@{}", world.info().tenant_domain);
    let policy = world
        .policy(BackupScope::Users(vec![admin.clone(), ghost.clone()]))
        .await;
    let report = world
        .runner
        .run(
            &policy,
            &world.organization,
            Ok(&signer),
            RunTrigger::Manual,
        )
        .await
        .unwrap();
    assert_eq!(report.status, RunStatus::Warning);
    assert_eq!((report.users, report.items_new), (1, SAMPLE_MESSAGES));
    assert!(report.problems[0].message.contains(&ghost));

    let no_certificate = world
        .runner
        .run(
            &policy,
            &world.organization,
            Err(tenantlink_backup::RunFailure::no_certificate(
                world.organization.id,
            )),
            RunTrigger::Manual,
        )
        .await
        .unwrap();
    assert_eq!(no_certificate.status, RunStatus::Failed);
    assert_eq!(
        no_certificate.failure.unwrap().stage,
        FailureStage::Credential
    );
    let org = world.organization_now().await;
    assert_eq!(org.connection, ConnectionState::Broken);
    world.shutdown().await;
}
