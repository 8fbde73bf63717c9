//! Generate's RSA key generation and Import's PKCS#12 key derivation run on the service's bounded
//! heavy-work pool, not on the async thread that awaits them: with the pool's only permit taken,
//! both wait for it (and finish once it is free).

mod support;

use std::sync::mpsc;
use support::{admin, world};
use tenantlink_certificate::{GenerateOptions, export_pkcs12, generate};
use tenantlink_service::{
    HeavyWork, Operation, OperationKind, OperationStep, SecretString, ServiceResult,
};
use time::macros::datetime;
use tokio::task::JoinHandle;

/// Takes the pool's only permit until the returned sender is used.
async fn occupy(heavy: &HeavyWork) -> (mpsc::Sender<()>, JoinHandle<ServiceResult<()>>) {
    let (release, released) = mpsc::channel::<()>();
    let blocker = tokio::spawn({
        let heavy = heavy.clone();
        async move { heavy.run(move || released.recv().unwrap()).await }
    });
    while heavy.available() > 0 {
        tokio::task::yield_now().await;
    }
    (release, blocker)
}

/// Waits until `task` either queues for the pool or ends without it.
async fn queued_or_finished(heavy: &HeavyWork, task: &JoinHandle<ServiceResult<Operation>>) {
    while heavy.waiting() == 0 && !task.is_finished() {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generate_creates_its_key_on_the_heavy_work_pool() {
    let w = world().await;
    let heavy = HeavyWork::new(1);
    let workflows = w.workflows.clone().with_heavy_work(heavy.clone());
    let op = w.signed_in("alice", OperationKind::Generate).await;
    let (release, blocker) = occupy(&heavy).await;

    let generating = tokio::spawn(async move { workflows.generate(&admin("alice"), op.id).await });
    queued_or_finished(&heavy, &generating).await;
    assert!(
        !generating.is_finished(),
        "key generation waits for the pool instead of running on the async thread"
    );
    assert_eq!(heavy.waiting(), 1);

    release.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    let done = generating.await.unwrap().unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_reads_the_pfx_on_the_heavy_work_pool() {
    let w = world().await;
    let credential =
        generate(&GenerateOptions::default(), datetime!(2026-03-01 09:00 UTC)).unwrap();
    let bytes = export_pkcs12(&credential, &SecretString::from("s3cret-pfx")).unwrap();
    w.directory
        .attach_thumbprint(&credential.certificate().thumbprints().sha1_hex());
    let heavy = HeavyWork::new(1);
    let workflows = w.workflows.clone().with_heavy_work(heavy.clone());
    let op = w.signed_in("alice", OperationKind::Upload).await;
    let (release, blocker) = occupy(&heavy).await;

    let importing = tokio::spawn(async move {
        let password = Some(SecretString::from("s3cret-pfx"));
        workflows
            .import(&admin("alice"), op.id, &bytes, password)
            .await
    });
    queued_or_finished(&heavy, &importing).await;
    assert!(
        !importing.is_finished(),
        "the PKCS#12 derivation waits for the pool instead of running on the async thread"
    );
    assert_eq!(heavy.waiting(), 1);

    release.send(()).unwrap();
    blocker.await.unwrap().unwrap();
    let done = importing.await.unwrap().unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
}
