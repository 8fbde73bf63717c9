//! The backup runner's notices against the sandbox tenant and a real store: a run Entra refuses
//! tells `connection.broken` and `backup.credential_failed`; the run that works again tells
//! `connection.restored`.

mod support;

use support::{Backend, World};
use tenantlink_backup::{BackupRunner, RunReport};
use tenantlink_entra::SigningCertificate;
use tenantlink_service::notices::{EventType, NoticeRecorder, NoticeRepository, PortalLinks};
use tenantlink_service::{BackupPolicy, BackupScope, RunStatus, RunTrigger};
use time::Duration;

async fn run(
    runner: &BackupRunner,
    world: &World,
    policy: &BackupPolicy,
    signer: &SigningCertificate,
) -> RunReport {
    runner
        .run(
            policy,
            &world.organization,
            Ok(signer),
            RunTrigger::Scheduled,
        )
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_run_tells_broken_and_credential_failed_and_a_working_one_restored() {
    let world = World::start(Backend::Sqlite).await;
    let recorder = NoticeRecorder::new(
        world.repository.clone(),
        PortalLinks::new(Some("https://tl.example")),
    );
    let runner = world.runner.clone().with_notices(recorder);
    let (_, old) = world.attach_new_certificate(30).await;
    let policy = world.policy(BackupScope::AllUsers).await;
    assert_eq!(
        run(&runner, &world, &policy, &old).await.status,
        RunStatus::Success
    );

    world.clock.advance(Duration::days(31));
    let failed = run(&runner, &world, &policy, &old).await;
    assert_eq!(failed.status, RunStatus::Failed);
    // A second refused run: broken already, so no second `connection.broken`.
    let failed_again = run(&runner, &world, &policy, &old).await;
    assert_eq!(failed_again.status, RunStatus::Failed);
    let (_, new) = world.attach_new_certificate(365).await;
    assert_eq!(
        run(&runner, &world, &policy, &new).await.status,
        RunStatus::Success
    );

    let mut notices = world.repository.notices(None, 50).await.unwrap();
    notices.reverse();
    let types: Vec<EventType> = notices.iter().map(|n| n.event_type).collect();
    assert_eq!(
        types,
        [
            EventType::ConnectionBroken,
            EventType::BackupCredentialFailed,
            EventType::BackupCredentialFailed,
            EventType::ConnectionRestored,
        ]
    );
    let refused = &notices[1];
    assert_eq!(
        refused.occurrence,
        format!("backup.credential_failed:{}", failed.run_id)
    );
    assert!(
        refused.data.reason.contains("AADSTS700027"),
        "{}",
        refused.data.reason
    );
    assert_eq!(
        refused.data.link,
        format!("https://tl.example/organizations/{}", world.organization.id)
    );
    assert!(refused.data.what_to_do.is_some());
    assert_eq!(
        refused.data.organization.as_ref().unwrap().id,
        world.organization.id
    );
}
