//! The browser sign-in (authorization code with PKCE) of Generate and Upload, on the fakes: a
//! blocked device code flow offers it, a completed one continues the operation exactly as a
//! device sign-in does, and a forged, replayed or refused callback changes nothing but the
//! attempt's explanation.

mod support;

use support::{World, admin, world};
use tenantlink_service::browser_sign_in::OAuthCallback;
use tenantlink_service::fakes::DeviceCodeBlock;
use tenantlink_service::{Operation, OperationKind, OperationStep, SecretString, ServiceError};

const REDIRECT: &str = "https://tenantlink.example/oauth/callback";

async fn browser_world() -> World {
    let mut w = world().await;
    w.workflows = w.workflows.clone().with_browser_redirect_uri(REDIRECT);
    w
}

fn session(value: &str) -> SecretString {
    SecretString::new(value.to_owned())
}

/// Starts the browser sign-in of `op` from session "s1" and returns the `state` it sent.
async fn start_browser(w: &World, op: &Operation) -> String {
    let url = w
        .workflows
        .start_browser_sign_in(&admin("ann"), op.id, Some(session("s1")))
        .await
        .expect("browser sign-in starts");
    let seen = w.directory.authorize_requests();
    let last = seen.last().expect("an /authorize URL");
    assert_eq!(last.url, url);
    assert_eq!(last.redirect_uri, REDIRECT);
    assert!(last.state.starts_with(&format!("{}.", op.id)));
    last.state.clone()
}

fn callback(state: &str, code: &str) -> OAuthCallback {
    OAuthCallback {
        state: Some(state.to_owned()),
        code: Some(SecretString::new(code.to_owned())),
        ..OAuthCallback::default()
    }
}

async fn step(w: &World, op: &Operation) -> OperationStep {
    w.workflows
        .operation(&admin("ann"), op.id)
        .await
        .unwrap()
        .step
}

#[tokio::test]
async fn a_blocked_device_code_request_offers_the_browser_which_continues_to_an_active_certificate()
{
    let w = browser_world().await;
    w.directory
        .block_device_code(Some(DeviceCodeBlock::Request));
    let op = w
        .workflows
        .start(&admin("ann"), w.org, OperationKind::Generate)
        .await
        .expect("the operation starts without a device code");
    assert_eq!(op.step, OperationStep::AwaitingSignIn);
    assert!(op.sign_in.is_none(), "no device code to show");
    let methods = w
        .workflows
        .sign_in_methods(&admin("ann"), op.id)
        .await
        .unwrap();
    let blocked = methods.device_code_blocked.expect("blocked is recorded");
    assert_eq!(blocked.code, "device_code_blocked");
    assert!(
        blocked
            .message
            .contains("Device code sign-in is blocked in this tenant")
    );
    assert!(blocked.message.contains("AADSTS53003"));
    assert!(
        blocked
            .remediation
            .contains("Sign in with the browser instead")
    );

    let state = start_browser(&w, &op).await;
    let code = w.directory.approve_browser(&state);
    let signed_in = w
        .workflows
        .complete_browser_sign_in(callback(&state, &code), Some(&session("s1")))
        .await
        .expect("callback accepted");
    assert_eq!(signed_in.step, OperationStep::SignedIn);
    assert_eq!(
        signed_in.signed_in_as.as_deref(),
        Some("admin@contoso.example")
    );

    let done = w
        .workflows
        .generate(&admin("ann"), op.id)
        .await
        .expect("generate");
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let active = w.active().await;
    assert_eq!(Some(active.id), done.certificate);
}

#[tokio::test]
async fn a_device_code_blocked_at_sign_in_stops_polling_and_keeps_the_operation_waiting() {
    let w = browser_world().await;
    w.directory.block_device_code(Some(DeviceCodeBlock::SignIn));
    let op = w.start("ann", OperationKind::Upload).await;
    // The poll task meets AADSTS53003 and ends without failing the operation.
    let op = w.workflows.settled(&admin("ann"), op.id).await.unwrap();
    assert_eq!(op.step, OperationStep::AwaitingSignIn);
    assert!(op.failure.is_none());
    let methods = w
        .workflows
        .sign_in_methods(&admin("ann"), op.id)
        .await
        .unwrap();
    assert!(methods.device_code_blocked.is_some());

    let state = start_browser(&w, &op).await;
    let code = w.directory.approve_browser(&state);
    let op = w
        .workflows
        .complete_browser_sign_in(callback(&state, &code), Some(&session("s1")))
        .await
        .unwrap();
    assert_eq!(op.step, OperationStep::SignedIn);
}

#[tokio::test]
async fn a_mismatched_unknown_or_foreign_session_state_is_refused_and_changes_nothing() {
    let w = browser_world().await;
    let op = w.start("ann", OperationKind::Generate).await;
    let state = start_browser(&w, &op).await;
    let code = w.directory.approve_browser(&state);
    let forged = format!("{}.not-the-random-part", op.id);
    for (bad, binding) in [
        (forged.as_str(), Some(session("s1"))),
        ("garbage", Some(session("s1"))),
        ("", Some(session("s1"))),
        (state.as_str(), Some(session("another-session"))),
        (state.as_str(), None),
    ] {
        let refused = w
            .workflows
            .complete_browser_sign_in(callback(bad, &code), binding.as_ref())
            .await;
        assert!(
            matches!(&refused, Err(ServiceError::Invalid { field, .. }) if field == "state"),
            "{bad}: {refused:?}"
        );
    }
    assert_eq!(w.directory.code_redemptions(), 0, "no code reached Entra");
    assert_eq!(step(&w, &op).await, OperationStep::AwaitingSignIn);
    // The real callback still works afterwards.
    let op = w
        .workflows
        .complete_browser_sign_in(callback(&state, &code), Some(&session("s1")))
        .await
        .unwrap();
    assert_eq!(op.step, OperationStep::SignedIn);
}

#[tokio::test]
async fn a_replayed_callback_is_refused_before_reaching_entra() {
    let w = browser_world().await;
    let op = w.start("ann", OperationKind::Generate).await;
    let state = start_browser(&w, &op).await;
    let code = w.directory.approve_browser(&state);
    w.workflows
        .complete_browser_sign_in(callback(&state, &code), Some(&session("s1")))
        .await
        .unwrap();
    // The same callback again: its state was used up.
    let again = w
        .workflows
        .complete_browser_sign_in(callback(&state, &code), Some(&session("s1")))
        .await;
    assert!(
        matches!(&again, Err(ServiceError::Invalid { field, .. }) if field == "state"),
        "{again:?}"
    );
    assert_eq!(w.directory.code_redemptions(), 1);
    assert_eq!(step(&w, &op).await, OperationStep::SignedIn);
}

#[tokio::test]
async fn a_code_used_twice_across_attempts_ends_that_attempt_with_entras_refusal() {
    let w = browser_world().await;
    let op = w.start("ann", OperationKind::Generate).await;
    let first = start_browser(&w, &op).await;
    let code = w.directory.approve_browser(&first);
    // A newer attempt replaces the first; the old code is presented with the new state.
    let second = start_browser(&w, &op).await;
    let op_after = w
        .workflows
        .complete_browser_sign_in(callback(&second, &code), Some(&session("s1")))
        .await
        .unwrap();
    assert_eq!(op_after.step, OperationStep::AwaitingSignIn);
    let failure = w
        .workflows
        .sign_in_methods(&admin("ann"), op.id)
        .await
        .unwrap()
        .browser_failure
        .expect("the attempt's failure is explained");
    assert_eq!(failure.code, "code_refused:AADSTS501481");
    // The first state is no longer accepted (replaced).
    let stale = w
        .workflows
        .complete_browser_sign_in(callback(&first, &code), Some(&session("s1")))
        .await;
    assert!(matches!(stale, Err(ServiceError::Invalid { .. })));

    // And redeeming the same code once more: already redeemed (AADSTS54005).
    let third = start_browser(&w, &op).await;
    w.workflows
        .complete_browser_sign_in(callback(&third, &code), Some(&session("s1")))
        .await
        .unwrap();
    let failure = w
        .workflows
        .sign_in_methods(&admin("ann"), op.id)
        .await
        .unwrap()
        .browser_failure
        .unwrap();
    assert_eq!(failure.code, "code_refused:AADSTS54005");
    assert_eq!(step(&w, &op).await, OperationStep::AwaitingSignIn);
}

#[tokio::test]
async fn access_denied_and_consent_required_end_the_attempt_explained() {
    let w = browser_world().await;
    let op = w.start("ann", OperationKind::Generate).await;
    for (error, description, code, remedy) in [
        (
            "access_denied",
            "AADSTS65004: User declined to consent to access the app.",
            "authorize:access_denied",
            "accept the sign-in",
        ),
        (
            "consent_required",
            "AADSTS65001: The user or administrator has not consented to use the application.",
            "authorize:consent_required",
            "admin consent",
        ),
    ] {
        let state = start_browser(&w, &op).await;
        let after = w
            .workflows
            .complete_browser_sign_in(
                OAuthCallback {
                    state: Some(state),
                    error: Some(error.into()),
                    error_description: Some(description.into()),
                    ..OAuthCallback::default()
                },
                Some(&session("s1")),
            )
            .await
            .unwrap();
        assert_eq!(after.step, OperationStep::AwaitingSignIn);
        assert!(after.failure.is_none(), "the operation itself did not fail");
        let failure = w
            .workflows
            .sign_in_methods(&admin("ann"), op.id)
            .await
            .unwrap()
            .browser_failure
            .unwrap();
        assert_eq!(failure.code, code);
        assert!(failure.message.contains(description), "{}", failure.message);
        assert!(
            failure.remediation.contains(remedy),
            "{}",
            failure.remediation
        );
    }
    assert_eq!(w.directory.code_redemptions(), 0);
}

#[tokio::test]
async fn an_id_token_for_another_nonce_is_not_used() {
    let w = browser_world().await;
    let op = w.start("ann", OperationKind::Generate).await;
    let state = start_browser(&w, &op).await;
    let code = w.directory.approve_browser(&state);
    w.directory.answer_with_nonce("somebody-elses-nonce");
    let after = w
        .workflows
        .complete_browser_sign_in(callback(&state, &code), Some(&session("s1")))
        .await
        .unwrap();
    assert_eq!(after.step, OperationStep::AwaitingSignIn);
    let failure = w
        .workflows
        .sign_in_methods(&admin("ann"), op.id)
        .await
        .unwrap()
        .browser_failure
        .unwrap();
    assert_eq!(failure.code, "nonce_mismatch");
    let generate = w.workflows.generate(&admin("ann"), op.id).await;
    assert!(generate.is_err(), "not signed in: {generate:?}");
}

#[tokio::test]
async fn without_a_public_url_the_browser_sign_in_says_how_to_configure_it() {
    let w = world().await;
    let op = w.start("ann", OperationKind::Generate).await;
    let refused = w
        .workflows
        .start_browser_sign_in(&admin("ann"), op.id, None)
        .await;
    assert!(
        matches!(&refused, Err(ServiceError::Invalid { message, .. }) if message.contains("public_url")),
        "{refused:?}"
    );
    assert!(w.directory.authorize_requests().is_empty());
}
