//! Graph's and Entra's refusals during a rotation: each fails the operation with its code and
//! what to do, leaves the active certificate in use, records the attempt in the renewal state
//! (retryable or not, as the catalogue says; `Retry-After` kept), and takes an added key off the
//! application again.

mod support;

use std::time::Duration as StdDuration;
use support::{World, admin, world};
use tenantlink_service::fakes::{FakeCall, FakeDirectory};
use tenantlink_service::renewal::{AdministratorReason, RenewalDecision, RenewalPolicyChange};
use tenantlink_service::{
    AuditAction, CertificateState, Operation, OperationStep, Repository, ServiceError,
};
use time::Duration;

/// Asserts the rotation failed with a code starting `code`, the old certificate still active
/// and alone on the application, and its certificate discarded; returns the failure's
/// remediation.
async fn assert_failed_cleanly(w: &World, done: &Operation, old: &str, code: &str) -> String {
    assert_eq!(done.step, OperationStep::Failed);
    let failure = done.failure.as_ref().expect("a failure");
    assert!(failure.code.starts_with(code), "{failure:?}");
    assert_eq!(w.active().await.sha1_thumbprint, old);
    assert_eq!(w.directory.attached(), vec![old.to_owned()]);
    let certificate = w
        .repository
        .certificate(done.certificate.unwrap())
        .await
        .unwrap();
    assert_eq!(certificate.state, CertificateState::Discarded);
    let audited = w.audited(AuditAction::RotationFailed).await;
    assert!(
        audited
            .last()
            .and_then(|e| e.detail.as_deref())
            .is_some_and(|d| d.starts_with(code)),
        "{audited:?}"
    );
    assert!(w.can_sign_in().await);
    failure.remediation.clone()
}

#[tokio::test]
async fn a_429_with_retry_after_is_retryable_and_keeps_graphs_wait() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    w.directory
        .fail_next_add_key(FakeDirectory::throttled(StdDuration::from_secs(120)));
    let done = w.rotate("ann").await;
    let remediation = assert_failed_cleanly(&w, &done, &old, "directory_throttled").await;
    assert!(remediation.contains("slow down"), "{remediation}");

    let state = w.repository.renewal(w.org).await.unwrap().state;
    let failure = state.last_failure.clone().unwrap();
    assert_eq!(state.failed_attempts, 1);
    assert_eq!(failure.code, "TooManyRequests");
    assert_eq!(failure.message, "Too many requests.");
    assert!(failure.retryable);
    assert_eq!(
        state.retry_not_before,
        Some(failure.at + Duration::seconds(120))
    );
    // A refused addKey did not add the key: no read, no removal.
    assert_eq!(w.directory.calls(FakeCall::RemoveKey), 0);
}

#[tokio::test]
async fn a_503_from_add_key_is_retryable_and_the_application_is_checked_for_the_key() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    w.directory.fail_next_add_key(FakeDirectory::unavailable());
    let done = w.rotate("ann").await;
    assert_failed_cleanly(&w, &done, &old, "directory_unavailable").await;
    let state = w.repository.renewal(w.org).await.unwrap().state;
    let failure = state.last_failure.unwrap();
    assert_eq!(failure.code, "directory_unavailable");
    assert!(failure.retryable);
    assert_eq!(state.retry_not_before, None);
    // A 503 may come after Graph applied the write: the application was read to find out.
    assert_eq!(w.directory.calls(FakeCall::ApplicationAppOnly), 1);

    // The next attempt succeeds and clears the failure.
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let state = w.repository.renewal(w.org).await.unwrap().state;
    assert_eq!((state.failed_attempts, state.last_failure), (0, None));
}

#[tokio::test]
async fn a_503_while_reading_the_key_back_is_waited_out() {
    let w = world().await;
    w.generate_active("ann").await;
    w.directory
        .fail_next_application_read(FakeDirectory::unavailable());
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.directory.calls(FakeCall::ApplicationAppOnly), 2);
}

#[tokio::test]
async fn a_propagation_delay_is_waited_out_on_the_sleeper() {
    let w = world().await;
    w.generate_active("ann").await;
    let before = w.now();
    w.directory.propagation_delay(3);
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    // Three reads did not list the key, then three proofs were refused: waited on the
    // injected sleeper (which moved the manual clock), never slept.
    assert_eq!(w.directory.calls(FakeCall::ApplicationAppOnly), 4);
    assert_eq!(w.directory.calls(FakeCall::AddKey), 1);
    assert!(w.now() - before >= Duration::seconds(2 + 4 + 8));
    assert!(w.can_sign_in().await);
}

#[tokio::test]
async fn a_key_entra_never_accepts_is_taken_off_again_with_the_active_certificates_proof() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    // Every proof of the default policy (7) is refused as "key not found".
    w.directory.before_next(FakeCall::ProveAppOnly, {
        let directory = w.directory.clone();
        move || directory.refuse_proofs(7)
    });
    let done = w.rotate("ann").await;
    assert_failed_cleanly(&w, &done, &old, "token_refused:credential_rejected").await;
    let new = done.sha1_thumbprint.clone().unwrap();
    let removed = w.audited(AuditAction::KeyRemoved).await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].thumbprints, vec![new]);
    let failure = w
        .repository
        .renewal(w.org)
        .await
        .unwrap()
        .state
        .last_failure
        .unwrap();
    assert_eq!(failure.code, "AADSTS700027");
    assert!(failure.retryable, "retried a few times");
}

#[tokio::test]
async fn a_tenant_lifetime_policy_refusal_needs_an_administrator_until_the_lifetime_is_shortened() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    w.directory.refuse_lifetimes_over(180);
    w.clock.advance(Duration::days(244));
    let started = w.workflows.start_scheduled_rotation(w.org).await.unwrap();
    let done = w.workflows.operation_settled(started.id).await.unwrap();
    let remediation = assert_failed_cleanly(&w, &done, &old, "policy_rejected").await;
    assert!(remediation.contains("lifetime_days"), "{remediation}");

    let failure = w
        .repository
        .renewal(w.org)
        .await
        .unwrap()
        .state
        .last_failure
        .unwrap();
    assert!(!failure.retryable);
    assert!(
        failure.message.contains("maximum lifetime"),
        "{}",
        failure.message
    );
    let status = w
        .workflows
        .renewal_status(&admin("ann"), w.org)
        .await
        .unwrap();
    assert_eq!(
        status.decision,
        RenewalDecision::NeedsAdministrator {
            reason: AdministratorReason::RefusedByDirectory
        }
    );
    // The scheduler does not try again by itself...
    let err = w
        .workflows
        .start_scheduled_rotation(w.org)
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::Conflict { .. }), "{err:?}");
    assert_eq!(w.directory.calls(FakeCall::AddKey), 1);

    // ...until the administrator shortens the lifetime and rotates.
    let shorter = RenewalPolicyChange {
        lifetime_days: Some(Some(90)),
        ..RenewalPolicyChange::default()
    };
    w.workflows
        .set_renewal_policy(&admin("ann"), w.org, &shorter)
        .await
        .unwrap();
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let active = w.active().await;
    assert_eq!(active.not_after - active.not_before, Duration::days(90));
}

#[tokio::test]
async fn too_many_keys_is_not_retried_and_says_to_remove_unused_ones() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    w.directory.limit_keys(1);
    let done = w.rotate("ann").await;
    let remediation = assert_failed_cleanly(
        &w,
        &done,
        &old,
        "directory_quota_exceeded:Directory_ResourceSizeExceeded",
    )
    .await;
    assert!(remediation.contains("Remove unused"), "{remediation}");
    let failure = w
        .repository
        .renewal(w.org)
        .await
        .unwrap()
        .state
        .last_failure
        .unwrap();
    assert_eq!(failure.code, "Directory_ResourceSizeExceeded");
    assert!(!failure.retryable);
}

#[tokio::test]
async fn a_refused_proof_of_the_active_certificate_is_not_retried() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    w.directory
        .fail_next_add_key(tenantlink_service::DirectoryError::new(
            tenantlink_service::DirectoryErrorKind::ProofRejected,
            Some("Authentication_MissingOrMalformed".into()),
            "Access Token missing or malformed.",
            "",
        ));
    let done = w.rotate("ann").await;
    let remediation = assert_failed_cleanly(&w, &done, &old, "proof_rejected").await;
    assert!(remediation.contains("Generate or upload"), "{remediation}");
    let failure = w
        .repository
        .renewal(w.org)
        .await
        .unwrap()
        .state
        .last_failure
        .unwrap();
    assert!(!failure.retryable);
}

#[tokio::test]
async fn failures_count_up_and_a_success_resets_them() {
    let w = world().await;
    w.generate_active("ann").await;
    for expected in 1..=2 {
        w.directory.fail_next_add_key(FakeDirectory::unavailable());
        w.rotate("ann").await;
        let state = w.repository.renewal(w.org).await.unwrap().state;
        assert_eq!(state.failed_attempts, expected);
    }
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded);
    let state = w.repository.renewal(w.org).await.unwrap().state;
    assert_eq!(state.failed_attempts, 0);
    assert_eq!(state.last_failure, None);
    assert_eq!(state.retry_not_before, None);
}
