//! "Not attached" and **Check connection**: the certificate page reports what Entra said at the
//! active certificate's latest app-only proof (activation, Check connection), and when.

mod support;

use support::{caller, world};
use tenantlink_clock::Clock;
use tenantlink_service::fakes::fixtures::CONTOSO_APP_ID as APP_ID;
use tenantlink_service::{
    AuditAction, CertificateStatus, CredentialRefusal, DirectoryError, DirectoryErrorKind,
    ProofOutcome, ProofSource, Repository, Role, ServiceError,
};

#[tokio::test]
async fn activation_records_an_accepted_proof_shown_on_the_page() {
    let w = world().await;
    w.generate_active("admin").await;
    let activated_at = w.clock.now();
    let page = w
        .workflows
        .certificate_page(&caller(Role::Viewer), w.org)
        .await
        .unwrap();
    assert_eq!(page.status, CertificateStatus::Valid);
    let check = page.last_check.expect("the activation proof is recorded");
    assert_eq!(
        (check.outcome, check.source, check.checked_at),
        (
            ProofOutcome::Accepted,
            ProofSource::Activation,
            activated_at
        )
    );
    assert_eq!(check.remediation, None);
}

#[tokio::test]
async fn check_connection_after_the_key_was_removed_says_not_attached_and_what_to_do() {
    let w = world().await;
    let thumbprint = w.generate_active("admin").await;
    w.clock.advance(time::Duration::hours(3));
    // Someone deletes the key from the application in Entra ID.
    w.directory.detach_thumbprint(&thumbprint);
    let attempts = w.directory.proof_attempts();

    let page = w
        .check_connection(Role::Operator)
        .await
        .expect("an operator may check");
    assert_eq!(
        w.directory.proof_attempts(),
        attempts + 1,
        "one token request"
    );
    assert_eq!(page.status, CertificateStatus::NotAttached);
    let active = page.active.as_ref().expect("still the active certificate");
    assert_eq!(active.sha1_thumbprint, thumbprint);
    assert_eq!(active.status, CertificateStatus::NotAttached);
    let check = page.last_check.as_ref().expect("recorded");
    assert_eq!(
        (check.outcome, check.source, check.checked_at),
        (
            ProofOutcome::KeyNotRegistered,
            ProofSource::ConnectionCheck,
            w.clock.now()
        )
    );
    assert!(
        check.explanation.contains("Not attached"),
        "{}",
        check.explanation
    );
    assert!(check.explanation.contains(&thumbprint));
    assert!(check.explanation.contains(APP_ID));
    let remediation = check.remediation.as_deref().expect("what to do");
    assert!(
        remediation.contains("Generate a new certificate"),
        "{remediation}"
    );
    assert!(
        remediation.contains("Upload a custom certificate"),
        "{remediation}"
    );
    assert!(
        check
            .detail
            .as_deref()
            .unwrap_or("")
            .contains("AADSTS700027")
    );

    // Recorded, not computed per request: a plain page view says the same.
    let again = w
        .workflows
        .certificate_page(&caller(Role::Viewer), w.org)
        .await
        .unwrap();
    assert_eq!(again.status, CertificateStatus::NotAttached);

    let audit = w.repository.audit(10).await.unwrap();
    let entry = audit
        .iter()
        .find(|e| e.action == AuditAction::ConnectionChecked.as_str())
        .expect("audited");
    assert_eq!(
        (entry.actor.as_str(), entry.outcome.as_str()),
        ("operator-user", "failure")
    );
    assert_eq!(entry.thumbprints, vec![thumbprint.clone()]);
    assert_eq!(entry.detail.as_deref(), Some("key_not_registered"));

    // Re-attached in Entra ID: the next check says so (the latest answer wins).
    w.clock.advance(time::Duration::minutes(5));
    w.directory.attach_thumbprint(&thumbprint);
    let page = w.check_connection(Role::Administrator).await.unwrap();
    assert_eq!(page.status, CertificateStatus::Valid);
    assert_eq!(
        page.last_check.map(|c| c.outcome),
        Some(ProofOutcome::Accepted)
    );
}

#[tokio::test]
async fn a_new_certificate_replaces_the_not_attached_state() {
    let w = world().await;
    let old = w.generate_active("admin").await;
    w.directory.detach_thumbprint(&old);
    assert_eq!(
        w.check_connection(Role::Operator).await.unwrap().status,
        CertificateStatus::NotAttached
    );
    w.clock.advance(time::Duration::minutes(1));
    let new = w.generate_active("admin").await;
    let page = w
        .workflows
        .certificate_page(&caller(Role::Viewer), w.org)
        .await
        .unwrap();
    assert_eq!(page.active.as_ref().unwrap().sha1_thumbprint, new);
    assert_eq!(page.status, CertificateStatus::Valid);
    assert_eq!(
        page.last_check.map(|c| c.source),
        Some(ProofSource::Activation)
    );
    let previous = page
        .previous
        .iter()
        .find(|c| c.sha1_thumbprint == old)
        .expect("listed as previous");
    assert_eq!(previous.status, CertificateStatus::NotAttached);
}

#[tokio::test]
async fn a_key_entra_calls_expired_is_shown_as_expired() {
    let w = world().await;
    w.generate_active("admin").await;
    w.directory.fail_next_proof(
        DirectoryError::new(
            DirectoryErrorKind::CredentialRejected,
            Some("AADSTS700027".into()),
            "AADSTS700027: The certificate with identifier used to sign the client assertion is expired on application.",
            "Generate a new certificate.",
        )
        .with_refusal(CredentialRefusal::KeyExpired),
    );
    let page = w.check_connection(Role::Operator).await.unwrap();
    assert_eq!(page.status, CertificateStatus::Expired);
    let check = page.last_check.unwrap();
    assert_eq!(check.outcome, ProofOutcome::KeyExpired);
    assert!(
        check
            .remediation
            .unwrap()
            .contains("Generate a new certificate")
    );
}

#[tokio::test]
async fn check_connection_needs_an_operator_and_an_active_certificate() {
    let w = world().await;
    match w.check_connection(Role::Viewer).await {
        Err(ServiceError::Forbidden { action }) => assert!(action.contains("check the connection")),
        other => panic!("a viewer must be refused: {other:?}"),
    }
    match w.check_connection(Role::Operator).await {
        Err(ServiceError::Conflict { detail }) => {
            assert!(detail.contains("no active certificate"), "{detail}");
            assert!(detail.contains("Generate a new certificate"), "{detail}");
        }
        other => panic!("nothing to check: {other:?}"),
    }
    assert_eq!(w.directory.proof_attempts(), 0, "Entra was not asked");
}

#[tokio::test]
async fn when_entra_cannot_be_reached_nothing_is_recorded() {
    let w = world().await;
    w.generate_active("admin").await;
    let before = w
        .workflows
        .certificate_page(&caller(Role::Viewer), w.org)
        .await
        .unwrap()
        .last_check
        .unwrap();
    w.clock.advance(time::Duration::minutes(1));
    w.directory.fail_next_proof(DirectoryError::new(
        DirectoryErrorKind::Unavailable,
        None,
        "The sign-in service could not be reached.",
        "Try again later.",
    ));
    match w.check_connection(Role::Operator).await {
        Err(ServiceError::Directory(err)) => assert_eq!(err.kind, DirectoryErrorKind::Unavailable),
        other => panic!("the error must be returned: {other:?}"),
    }
    let after = w
        .workflows
        .certificate_page(&caller(Role::Viewer), w.org)
        .await
        .unwrap();
    assert_eq!(after.status, CertificateStatus::Valid);
    let after = after.last_check.unwrap();
    assert_eq!(
        (after.outcome, after.source, after.checked_at),
        (before.outcome, before.source, before.checked_at),
        "the earlier answer stands"
    );
}
