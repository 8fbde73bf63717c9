//! `{:?}` of every service type that holds a secret (device code, delegated token, session
//! cookie, API token, CSRF token, password hash) leaves the secret out, so a `tracing` field or
//! an assertion message cannot leak it.

mod support;

use std::sync::Arc;
use std::time::Duration as StdDuration;
use support::{START, admin, world};
use tenantlink_service::fakes::MemoryRepository;
use tenantlink_service::{
    Accounts, ClientAddress, DelegatedToken, DeviceCode, DeviceSignIn, LoginOutcome, LoginThrottle,
    OperationKind, Role, SecretString, SignInPoll, SignInPrompt,
};

const SECRET: &str = "s3cr3t-value-that-must-not-show";

fn assert_hidden(debug: String, secret: &str) {
    assert!(!secret.is_empty());
    assert!(!debug.contains(secret), "secret visible in: {debug}");
}

#[test]
fn device_codes_tokens_and_their_containers_hide_the_secret() {
    let code = DeviceCode(SecretString::new(SECRET));
    let token = DelegatedToken(SecretString::new(SECRET));
    assert_hidden(format!("{:?}", SecretString::new(SECRET)), SECRET);
    assert_hidden(format!("{code:?}"), SECRET);
    assert_hidden(format!("{token:?}"), SECRET);
    assert_hidden(format!("{code:#?} {token:#?}"), SECRET);
    let sign_in = DeviceSignIn {
        prompt: SignInPrompt {
            user_code: "ABCD1234".into(),
            verification_uri: "https://login.example.test/device".into(),
            expires_at: START,
        },
        device_code: code,
        interval: StdDuration::from_secs(5),
    };
    let debug = format!("{sign_in:?}");
    assert_hidden(debug.clone(), SECRET);
    assert!(
        debug.contains("ABCD1234"),
        "the user code is not secret: {debug}"
    );
    let poll = SignInPoll::SignedIn {
        token,
        account: Some("admin@contoso.example".into()),
    };
    assert_hidden(format!("{poll:?}"), SECRET);
}

#[tokio::test]
async fn workflows_holding_a_device_code_and_a_delegated_token_hide_them() {
    let w = world().await;
    let waiting = w.start("alice", OperationKind::Generate).await;
    assert_hidden(format!("{:?}", w.workflows), "device-code-secret");
    w.directory
        .approve(&waiting.sign_in.as_ref().unwrap().user_code);
    w.workflows
        .operation(&admin("alice"), waiting.id)
        .await
        .unwrap();
    let tokens = w.directory.tokens_issued();
    assert_eq!(tokens.len(), 1, "the sign-in produced a delegated token");
    let debug = format!("{:?}", w.workflows);
    assert_hidden(debug.clone(), &tokens[0]);
    assert_hidden(debug, "device-code-secret");
}

#[tokio::test]
async fn sessions_api_tokens_callers_and_users_hide_their_secrets() {
    let repository = MemoryRepository::new();
    let clock = Arc::new(tenantlink_clock::ManualClock::at(START));
    let accounts = Accounts::new(
        Arc::new(repository.clone()),
        Arc::new(repository.clone()),
        clock,
        LoginThrottle::default(),
    );
    let password = SecretString::new("a long enough password");
    accounts
        .ensure_user("alice", &password, Role::Administrator)
        .await
        .unwrap();
    let session = accounts
        .log_in("alice", &password, ClientAddress::Unknown)
        .await
        .unwrap();
    let cookie = session.token.expose().to_owned();
    let csrf = session.caller.csrf_token.clone().expect("csrf token");
    for debug in [
        format!("{session:?}"),
        format!("{:?}", LoginOutcome::SignedIn(session)),
    ] {
        assert_hidden(debug.clone(), &cookie);
        assert_hidden(debug, &csrf);
    }

    let caller = accounts
        .session_caller(&SecretString::new(cookie.clone()))
        .await
        .unwrap()
        .expect("live session");
    let debug = format!("{caller:?}");
    assert_hidden(debug.clone(), &csrf);
    assert!(debug.contains("alice"), "{debug}");

    let issued = accounts
        .issue_api_token(&caller, "ci", Role::Viewer, None)
        .await
        .unwrap();
    assert_hidden(format!("{issued:?}"), issued.token.expose());

    use tenantlink_service::AccountRepository;
    let user = repository.user_by_name("alice").await.unwrap().unwrap();
    assert!(user.password_hash.starts_with("$argon2id$"));
    let debug = format!("{user:?}");
    assert_hidden(debug.clone(), &user.password_hash);
    assert_hidden(debug, "a long enough password");
}
