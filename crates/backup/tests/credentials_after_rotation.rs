//! After a rotation activates its certificate, backup runs sign with the new one at once: the
//! credential source hands it out (a new active certificate has a new id), and the token cache,
//! keyed by the certificate's thumbprint, does not serve the token obtained with the old one.

mod support;

use std::sync::Arc;

use support::{Backend, World};
use tenantlink_backup::{CredentialSource, RepositoryCredentials, RunnerConfig};
use tenantlink_certificate::Credential;
use tenantlink_clock::Clock;
use tenantlink_entra::{CacheKey, SigningCertificate, TenantId};
use tenantlink_service::fakes;
use tenantlink_service::{
    CertificateSource, Operation, OperationKind, OperationStep, Organization, Repository,
};

/// Stores `credential` and activates it through the service's port the way an operation of
/// `kind` does (a rotation walks `certificate_stored → key_added → attached`, then activates).
async fn activate(world: &World, credential: &Credential, kind: OperationKind) {
    let repository = &world.repository;
    let now = world.clock.now();
    let stored = repository
        .save_certificate(
            world.organization.id,
            credential,
            CertificateSource::Generated,
            now,
        )
        .await
        .unwrap();
    let mut operation = repository
        .create_operation(&Operation {
            kind,
            step: OperationStep::CertificateStored,
            certificate: Some(stored.id),
            started_by: "renewal".into(),
            ..fakes::operation(world.organization.id, now)
        })
        .await
        .unwrap();
    let steps: &[OperationStep] = match kind {
        OperationKind::Rotate => &[OperationStep::KeyAdded, OperationStep::Attached],
        _ => &[OperationStep::Attached],
    };
    for step in steps {
        operation.step = *step;
        operation.version += 1;
        repository.update_operation(&operation).await.unwrap();
    }
    let activated = repository.activate(&operation, now).await.unwrap();
    assert_eq!(activated.step, OperationStep::Succeeded);
}

fn cache_key(organization: &Organization, signer: &SigningCertificate) -> CacheKey {
    let tenant = TenantId::parse(&organization.tenant).unwrap();
    CacheKey::new(
        tenant.as_str(),
        &organization.app_id,
        &RunnerConfig::default().graph_scope,
        *signer.sha1(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_rotation_runs_sign_with_the_new_certificate_and_never_reuse_the_old_token() {
    let world = World::start(Backend::Sqlite).await;
    let (old_credential, old) = world.attach_new_certificate(365).await;
    activate(&world, &old_credential, OperationKind::Generate).await;
    let credentials = RepositoryCredentials::new(world.repository.clone());

    let before = world.organization_now().await;
    let signer = credentials
        .active_credential(&before)
        .await
        .unwrap()
        .expect("an active certificate");
    assert_eq!(signer.sha1_hex(), old.sha1_hex());
    let old_token = world.runner.authenticate(&before, &signer).await.unwrap();
    let cache = world.runner.token_client().cache();
    assert!(
        cache
            .get_fresh(&cache_key(&before, &old), world.clock.now())
            .is_some()
    );

    // The rotation: the new key is on the application (addKey) and activated by the service.
    let (new_credential, new) = world.attach_new_certificate(365).await;
    activate(&world, &new_credential, OperationKind::Rotate).await;

    let after = world.organization_now().await;
    assert_ne!(after.active_certificate, before.active_certificate);
    let signer = credentials
        .active_credential(&after)
        .await
        .unwrap()
        .expect("an active certificate");
    assert_eq!(
        signer.sha1_hex(),
        new.sha1_hex(),
        "the parsed old certificate is not handed out again"
    );
    let new_token = world.runner.authenticate(&after, &signer).await.unwrap();
    assert!(!Arc::ptr_eq(&old_token, &new_token));
    assert_ne!(
        new_token.access_token.expose(),
        old_token.access_token.expose(),
        "a token obtained with the old certificate is not served for the new one"
    );
    let now = world.clock.now();
    assert!(cache.get_fresh(&cache_key(&after, &new), now).is_some());
    assert!(
        cache.get_fresh(&cache_key(&after, &old), now).is_none(),
        "the old certificate's entry is dropped with the first request of the new one"
    );
    world.shutdown().await;
}
