//! The first app-only token of a Connect must carry every consented permission: Entra issues
//! tokens without a consent that is still propagating, and a backup run with such a token would
//! be refused. Connect waits for it with the proof's bounded retries, and only then counts the
//! organization as connected.

use crate::world::world;
use tenantlink_service::OperationStep;

const ALL: &[&str] = &[
    "User.Read.All",
    "Mail.Read",
    "Application.ReadWrite.OwnedBy",
];

#[tokio::test]
async fn connect_waits_until_the_token_carries_every_consented_permission() {
    let w = world();
    let op = w.connect_signed_in().await;
    w.directory.issue_tokens_with_roles(&[
        &[],
        &["User.Read.All", "Application.ReadWrite.OwnedBy"],
        ALL,
    ]);
    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(
        w.directory.proof_attempts(),
        3,
        "two tokens lacked a consent, the third carried all"
    );
    let org = w.organization(op.organization).await;
    assert_eq!(org.active_certificate, done.certificate);
}

#[tokio::test]
async fn a_consent_that_never_reaches_the_token_fails_the_proof_naming_the_permission() {
    let w = world();
    let op = w.connect_signed_in().await;
    let without_mail: &[&str] = &["User.Read.All", "Application.ReadWrite.OwnedBy"];
    w.directory.issue_tokens_with_roles(&[without_mail; 20]);
    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Failed);
    let why = done.failure.expect("failure");
    assert_eq!(why.code, "token_refused:consent_pending");
    assert!(
        why.message
            .contains("after 7 attempts: The app-only token does not carry Mail.Read yet"),
        "{}",
        why.message
    );
    assert!(why.remediation.contains("Reconnect"), "{}", why.remediation);
    assert_eq!(w.directory.proof_attempts(), 7, "the proof policy's bound");
    let org = w.organization(op.organization).await;
    assert_eq!(org.active_certificate, None, "not connected");
}
