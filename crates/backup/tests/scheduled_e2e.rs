//! The engine side of the product's workflow 4, end to end: the scheduler runs a policy with the
//! organization's active certificate from the store (decrypted with the master key); the
//! sandbox clock passes the certificate's end; the next scheduled run fails with AADSTS700027;
//! a new certificate is activated; Run now succeeds and reads only what changed.

mod support;

use std::sync::Arc;

use support::{Backend, World};
use tenantlink_backup::{Dispatch, RepositoryCredentials, RunnerExecutor, Scheduler};
use tenantlink_certificate::Credential;
use tenantlink_clock::Clock;
use tenantlink_service::fakes;
use tenantlink_service::{
    BackupScope, CertificateId, CertificateSource, Cloud, ConnectionState, NewBackupPolicy,
    Operation, OperationStep, ProofOutcome, ProofSource, RunStatus, RunTrigger,
};
use tenantlink_store::{Activation, MasterKey, NewCertificate};
use time::Duration;

async fn store_and_activate(
    world: &World,
    key: &MasterKey,
    credential: &Credential,
    previous: Option<CertificateId>,
) -> CertificateId {
    let certificate = credential.certificate();
    let now = world.clock.now();
    let record = world
        .store
        .insert_certificate(
            key,
            NewCertificate {
                organization: world.organization.id,
                sha1: *certificate.thumbprints().sha1(),
                sha256: *certificate.thumbprints().sha256(),
                subject: certificate.subject().to_owned(),
                not_before: certificate.not_before(),
                not_after: certificate.not_after(),
                source: CertificateSource::Generated,
                der: certificate.der().to_vec(),
                private_key_pkcs8: credential.private_key().pkcs8_der(),
            },
            now,
        )
        .await
        .unwrap();
    let operation = world
        .store
        .create_operation(&Operation {
            started_by: "admin".into(),
            ..fakes::operation(world.organization.id, now)
        })
        .await
        .unwrap();
    world
        .store
        .activate_certificate(
            Activation {
                organization: world.organization.id,
                operation: operation.id,
                expected_step: OperationStep::AwaitingSignIn,
                expected_version: operation.version,
                certificate: record.id,
                expected_active: previous,
            },
            now,
        )
        .await
        .unwrap();
    record.id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_runs_fail_on_expiry_and_run_now_recovers_with_the_new_certificate() {
    let world = World::start(Backend::Sqlite).await;
    let master_key = world.master_key.clone();
    let (old_credential, old) = world.attach_new_certificate(30).await;
    let old_id = store_and_activate(&world, &master_key, &old_credential, None).await;

    let credentials = Arc::new(RepositoryCredentials::new(world.repository.clone()));
    let executor = Arc::new(RunnerExecutor::new(
        world.repository.clone(),
        world.runner.clone(),
        credentials,
    ));
    let scheduler = Scheduler::new(
        Arc::new(world.store.clone()),
        world.shared_clock(),
        executor,
    );
    let policy = world
        .store
        .create_policy(
            NewBackupPolicy {
                organization_id: world.organization.id,
                name: "Every hour".into(),
                schedule: "every 1h".into(),
                scope: BackupScope::AllUsers,
                enabled: true,
                next_due_at: scheduler.initial_due("every 1h").unwrap(),
            },
            world.clock.now(),
        )
        .await
        .unwrap();

    let scheduled = run_due(&scheduler).await;
    assert_eq!(
        scheduled.status,
        RunStatus::Success,
        "{:?}",
        scheduled.failure
    );
    assert_eq!(scheduled.trigger, RunTrigger::Scheduled);
    assert!(scheduled.items_new > 0);
    assert_eq!(scheduled.certificate_thumbprint, Some(old.sha1_hex()));
    assert_eq!(
        proof_of(&world, old_id).await,
        (ProofOutcome::Accepted, ProofSource::BackupRun),
        "the run's token request is the certificate's latest proof"
    );

    world.clock.advance(Duration::days(31));
    let expired = run_due(&scheduler).await;
    assert_eq!(expired.status, RunStatus::Failed);
    let failure = expired.failure.expect("failure");
    assert_eq!(failure.code.as_deref(), Some("AADSTS700027"));
    assert!(failure.message.contains("The key used is expired."));
    assert_eq!(failure.client_thumbprint, Some(old.sha1_hex()));
    let org = world.organization_now().await;
    assert_eq!(org.connection, ConnectionState::Broken);
    assert_eq!(
        proof_of(&world, old_id).await,
        (ProofOutcome::KeyExpired, ProofSource::BackupRun),
        "Entra's reason is kept for the certificate page"
    );

    let (new_credential, new) = world.attach_new_certificate(365).await;
    let new_id = store_and_activate(&world, &master_key, &new_credential, Some(old_id)).await;
    let recovered = scheduler.run_now(policy.id).await.unwrap();
    assert_eq!(
        recovered.status,
        RunStatus::Success,
        "{:?}",
        recovered.failure
    );
    assert_eq!(recovered.trigger, RunTrigger::Manual);
    assert_eq!(recovered.certificate_thumbprint, Some(new.sha1_hex()));
    assert_eq!((recovered.items_new, recovered.items_changed), (0, 0));
    let org = world.organization_now().await;
    assert_eq!(org.connection, ConnectionState::Connected);
    assert_eq!(
        proof_of(&world, new_id).await,
        (ProofOutcome::Accepted, ProofSource::BackupRun)
    );

    let log = world.store.runs(policy.id, 10).await.unwrap();
    let statuses: Vec<_> = log.iter().rev().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        vec![RunStatus::Success, RunStatus::Failed, RunStatus::Success]
    );
    world.shutdown().await;
}

async fn proof_of(world: &World, certificate: CertificateId) -> (ProofOutcome, ProofSource) {
    let proof = world
        .store
        .certificate(certificate)
        .await
        .unwrap()
        .last_proof
        .expect("a proof is recorded");
    (proof.outcome, proof.source)
}

async fn run_due(scheduler: &Scheduler) -> tenantlink_backup::RunReport {
    let mut dispatched = scheduler.tick().await.unwrap();
    assert_eq!(dispatched.len(), 1, "exactly the one policy is due");
    match dispatched.remove(0) {
        Dispatch::Started { run, .. } => run.await.unwrap().unwrap(),
        other => panic!("not started: {other:?}"),
    }
}

/// `serve` backs up each organization from its own cloud: the runner is chosen by the
/// organization's cloud, and an organization of a cloud without one gets a job-log entry
/// saying so, without blaming its certificate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_go_to_the_runner_of_the_organizations_cloud() {
    let world = World::start(Backend::Sqlite).await;
    let master_key = world.master_key.clone();
    let (credential, _) = world.attach_new_certificate(30).await;
    store_and_activate(&world, &master_key, &credential, None).await;
    let credentials = Arc::new(RepositoryCredentials::new(world.repository.clone()));
    let policy = world.policy(BackupScope::AllUsers).await;
    let routed = |clouds: &[Cloud]| {
        let runners = clouds
            .iter()
            .map(|cloud| (*cloud, world.runner.clone()))
            .collect();
        let executor =
            RunnerExecutor::by_cloud(world.repository.clone(), runners, credentials.clone());
        Scheduler::new(
            Arc::new(world.store.clone()),
            world.shared_clock(),
            Arc::new(executor),
        )
    };

    // The world's organization is of the sandbox cloud.
    let report = routed(&[Cloud::Global, Cloud::Sandbox])
        .start_now(policy.id)
        .await
        .unwrap()
        .report
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.status, RunStatus::Success, "{:?}", report.failure);
    assert!(report.items_new > 0);

    let report = routed(&[Cloud::Global, Cloud::UsGov])
        .start_now(policy.id)
        .await
        .unwrap()
        .report
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.status, RunStatus::Failed);
    let failure = report.failure.expect("the reason is in the job log");
    assert!(
        failure
            .message
            .contains("no endpoints for the cloud 'sandbox'"),
        "{failure:?}"
    );
    assert!(!failure.credential_problem, "{failure:?}");
    let organization = world.organization_now().await;
    assert_ne!(
        organization.connection,
        ConnectionState::Broken,
        "a configuration gap does not mark the certificate's connection broken"
    );
    world.shutdown().await;
}
