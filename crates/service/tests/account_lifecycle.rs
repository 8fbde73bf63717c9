//! Accounts and API tokens have a lifecycle: disable, reset, change one's own password, end
//! sessions, revoke and expire tokens, each audited; nobody can lock everyone out by disabling or
//! demoting the last Administrator; a token never acts above, nor outlives, its owner's account.

use std::sync::Arc;
use tenantlink_clock::ManualClock;
use tenantlink_service::fakes::MemoryRepository;
use tenantlink_service::{
    Accounts, Caller, ClientAddress, LoginThrottle, Repository, Role, SecretString, ServiceError,
    UserRecord,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const START: OffsetDateTime = datetime!(2026-12-01 09:00 UTC);

struct World {
    clock: Arc<ManualClock>,
    repository: MemoryRepository,
    accounts: Accounts,
}

fn world() -> World {
    let repository = MemoryRepository::new();
    let clock = Arc::new(ManualClock::at(START));
    let accounts = Accounts::new(
        Arc::new(repository.clone()),
        Arc::new(repository.clone()),
        clock.clone(),
        LoginThrottle::default(),
    );
    World {
        clock,
        repository,
        accounts,
    }
}

fn secret(text: &str) -> SecretString {
    SecretString::new(text)
}

const PASSWORD: &str = "a long enough password";

impl World {
    async fn user(&self, name: &str, role: Role) -> UserRecord {
        self.accounts
            .create_user(name, &secret(PASSWORD), role, "test")
            .await
            .unwrap()
    }

    /// Signs in and returns the session cookie with its caller.
    async fn sign_in(&self, name: &str, password: &str) -> (SecretString, Caller) {
        let issued = self
            .accounts
            .log_in(
                name,
                &secret(password),
                tenantlink_service::ClientAddress::Unknown,
            )
            .await
            .unwrap();
        (issued.token, issued.caller)
    }

    async fn session_works(&self, cookie: &SecretString) -> bool {
        self.accounts
            .session_caller(cookie)
            .await
            .unwrap()
            .is_some()
    }

    async fn token_works(&self, token: &SecretString) -> bool {
        self.accounts.token_caller(token).await.unwrap().is_some()
    }

    async fn actions(&self) -> Vec<(String, String, String)> {
        let mut entries = self.repository.audit(1000).await.unwrap();
        entries.reverse();
        entries
            .into_iter()
            .map(|e| (e.actor, e.action, e.outcome.as_str().to_owned()))
            .collect()
    }

    async fn last_action(&self) -> (String, String, String) {
        self.actions().await.pop().expect("an audit entry")
    }
}

fn is_conflict<T: std::fmt::Debug>(result: &Result<T, ServiceError>) -> bool {
    matches!(result, Err(ServiceError::Conflict { .. }))
}

#[tokio::test]
async fn a_disabled_users_session_and_tokens_stop_working_at_once() {
    let w = world();
    w.user("root", Role::Administrator).await;
    let alice = w.user("alice", Role::Administrator).await;
    let (root_cookie, root) = w.sign_in("root", PASSWORD).await;
    let (alice_cookie, alice_caller) = w.sign_in("alice", PASSWORD).await;
    let token = w
        .accounts
        .issue_api_token(&alice_caller, "ci", Role::Operator, None)
        .await
        .unwrap()
        .token;
    // A token made with alice's token is alice's too.
    let token_caller = w.accounts.token_caller(&token).await.unwrap().unwrap();
    assert_eq!(token_caller.role, Role::Operator);
    let admin_token = w
        .accounts
        .issue_api_token(&alice_caller, "deploy", Role::Administrator, None)
        .await
        .unwrap()
        .token;
    let admin_token_caller = w
        .accounts
        .token_caller(&admin_token)
        .await
        .unwrap()
        .unwrap();
    let minted = w
        .accounts
        .issue_api_token(&admin_token_caller, "minted", Role::Viewer, None)
        .await
        .unwrap()
        .token;
    assert!(w.session_works(&alice_cookie).await && w.token_works(&minted).await);

    w.accounts.disable_user(&root, alice.id).await.unwrap();
    assert_eq!(
        w.last_action().await,
        ("root".into(), "user_disabled".into(), "success".into())
    );

    assert!(!w.session_works(&alice_cookie).await, "session ended");
    for token in [&token, &admin_token, &minted] {
        assert!(!w.token_works(token).await, "token stopped");
    }
    assert!(w.session_works(&root_cookie).await, "others are untouched");
    assert!(matches!(
        w.accounts
            .log_in("alice", &secret(PASSWORD), ClientAddress::Unknown)
            .await,
        Err(ServiceError::BadCredentials)
    ));

    // Enabled again, alice signs in, but her revoked tokens stay revoked.
    w.accounts.enable_user(&root, alice.id).await.unwrap();
    assert_eq!(w.last_action().await.1, "user_enabled");
    w.sign_in("alice", PASSWORD).await;
    assert!(!w.token_works(&token).await);
}

#[tokio::test]
async fn tokens_of_an_account_stop_when_it_is_disabled_even_if_not_revoked() {
    // The owner check itself, not only the revocation that disabling does.
    let w = world();
    w.user("root", Role::Administrator).await;
    let alice = w.user("alice", Role::Administrator).await;
    let (_, alice_caller) = w.sign_in("alice", PASSWORD).await;
    let token = w
        .accounts
        .issue_api_token(&alice_caller, "ci", Role::Viewer, None)
        .await
        .unwrap()
        .token;
    use tenantlink_service::{AccountRepository, UserChange};
    let change = UserChange {
        disabled: Some(true),
        ..UserChange::default()
    };
    w.repository
        .update_user(alice.id, &change, START)
        .await
        .unwrap();
    assert!(!w.token_works(&token).await);
}

#[tokio::test]
async fn a_revoked_or_expired_token_stops_working() {
    let w = world();
    w.user("root", Role::Administrator).await;
    let (_, root) = w.sign_in("root", PASSWORD).await;
    let short = w
        .accounts
        .issue_api_token(&root, "short", Role::Viewer, Some(Duration::days(1)))
        .await
        .unwrap();
    assert_eq!(short.record.expires_at, Some(START + Duration::days(1)));
    let default = w
        .accounts
        .issue_api_token(&root, "default", Role::Viewer, None)
        .await
        .unwrap();
    assert_eq!(
        default.record.expires_at,
        Some(START + Duration::days(90)),
        "90 days unless chosen"
    );
    assert!(matches!(
        w.accounts
            .issue_api_token(&root, "long", Role::Viewer, Some(Duration::days(366)))
            .await,
        Err(ServiceError::Invalid { .. })
    ));

    assert!(w.token_works(&short.token).await);
    w.accounts
        .revoke_api_token(&root, default.record.id)
        .await
        .unwrap();
    assert!(!w.token_works(&default.token).await, "revoked");
    assert_eq!(
        w.last_action().await,
        ("root".into(), "api_token_revoked".into(), "success".into())
    );
    w.clock.advance(Duration::days(1));
    assert!(!w.token_works(&short.token).await, "expired");

    let listed = w.accounts.api_tokens(&root).await.unwrap();
    assert_eq!(listed.len(), 2);
    let listed = |name: &str| listed.iter().find(|t| t.name == name).cloned().unwrap();
    assert!(listed("short").last_used_at.is_some(), "use is recorded");
    assert!(listed("default").revoked_at.is_some());
}

#[tokio::test]
async fn a_token_cannot_mint_a_higher_role_token_nor_one_that_outlives_it() {
    let w = world();
    w.user("root", Role::Administrator).await;
    let alice = w.user("alice", Role::Administrator).await;
    let (_, root) = w.sign_in("root", PASSWORD).await;
    let (_, alice_caller) = w.sign_in("alice", PASSWORD).await;
    let admin_token = w
        .accounts
        .issue_api_token(
            &alice_caller,
            "deploy",
            Role::Administrator,
            Some(Duration::days(10)),
        )
        .await
        .unwrap();
    let token_caller = w
        .accounts
        .token_caller(&admin_token.token)
        .await
        .unwrap()
        .unwrap();

    // Not after its own expiry: a longer lifetime is refused, the default shortened to fit.
    assert!(matches!(
        w.accounts
            .issue_api_token(&token_caller, "x", Role::Viewer, Some(Duration::days(11)))
            .await,
        Err(ServiceError::Invalid { .. })
    ));
    let defaulted = w
        .accounts
        .issue_api_token(&token_caller, "x", Role::Viewer, None)
        .await
        .unwrap();
    assert_eq!(defaulted.record.expires_at, admin_token.record.expires_at);
    assert_eq!(defaulted.record.owner, Some(alice.id));
    assert_eq!(defaulted.record.created_by, "token:deploy");

    // Alice demoted: her Administrator token acts as an Operator and mints nothing.
    w.accounts
        .change_role(&root, alice.id, Role::Operator)
        .await
        .unwrap();
    let demoted = w
        .accounts
        .token_caller(&admin_token.token)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(demoted.role, Role::Operator);
    assert!(matches!(
        w.accounts
            .issue_api_token(&demoted, "y", Role::Administrator, None)
            .await,
        Err(ServiceError::Forbidden { .. })
    ));
    // And a caller never issues above its own role.
    let (_, operator_session) = w.sign_in("alice", PASSWORD).await;
    assert!(matches!(
        w.accounts
            .issue_api_token(&operator_session, "z", Role::Administrator, None)
            .await,
        Err(ServiceError::Forbidden { .. })
    ));
}

#[tokio::test]
async fn changing_ones_own_password_requires_the_current_one() {
    let w = world();
    w.user("root", Role::Administrator).await;
    w.user("bob", Role::Viewer).await;
    let (bob_cookie, bob) = w.sign_in("bob", PASSWORD).await;
    let new = secret("a brand new password");

    let wrong = w
        .accounts
        .change_own_password(&bob, &secret("not the password"), &new)
        .await;
    assert!(
        matches!(&wrong, Err(ServiceError::Invalid { field, .. }) if field == "current_password"),
        "{wrong:?}"
    );
    assert_eq!(
        w.last_action().await,
        ("bob".into(), "password_changed".into(), "failure".into())
    );
    assert!(w.session_works(&bob_cookie).await, "nothing changed");
    w.sign_in("bob", PASSWORD).await;

    w.accounts
        .change_own_password(&bob, &secret(PASSWORD), &new)
        .await
        .unwrap();
    assert_eq!(
        w.last_action().await,
        ("bob".into(), "password_changed".into(), "success".into())
    );
    assert!(!w.session_works(&bob_cookie).await, "sessions end");
    assert!(
        w.accounts
            .log_in("bob", &secret(PASSWORD), ClientAddress::Unknown)
            .await
            .is_err()
    );
    w.sign_in("bob", "a brand new password").await;

    // An API token knows no password and cannot change one.
    let (_, root) = w.sign_in("root", PASSWORD).await;
    let token = w
        .accounts
        .issue_api_token(&root, "ci", Role::Viewer, None)
        .await
        .unwrap();
    let token_caller = w
        .accounts
        .token_caller(&token.token)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        w.accounts
            .change_own_password(&token_caller, &secret(PASSWORD), &new)
            .await,
        Err(ServiceError::Forbidden { .. })
    ));
}

#[tokio::test]
async fn a_reset_by_an_administrator_ends_the_users_sessions() {
    let w = world();
    w.user("root", Role::Administrator).await;
    let bob = w.user("bob", Role::Viewer).await;
    let (_, root) = w.sign_in("root", PASSWORD).await;
    let (bob_cookie, bob_caller) = w.sign_in("bob", PASSWORD).await;

    assert!(matches!(
        w.accounts
            .reset_password(&bob_caller, bob.id, &secret("another long password"))
            .await,
        Err(ServiceError::Forbidden { .. })
    ));
    assert!(matches!(
        w.accounts
            .reset_password(&root, bob.id, &secret("short"))
            .await,
        Err(ServiceError::Invalid { .. })
    ));
    assert!(w.session_works(&bob_cookie).await);

    w.accounts
        .reset_password(&root, bob.id, &secret("another long password"))
        .await
        .unwrap();
    assert!(!w.session_works(&bob_cookie).await);
    assert_eq!(
        w.last_action().await,
        ("root".into(), "password_reset".into(), "success".into())
    );
    w.sign_in("bob", "another long password").await;

    let (bob_cookie, _) = w.sign_in("bob", "another long password").await;
    assert_eq!(w.accounts.end_sessions(&root, bob.id).await.unwrap(), 2);
    assert!(!w.session_works(&bob_cookie).await);
    assert_eq!(w.last_action().await.1, "sessions_ended");
}

#[tokio::test]
async fn the_last_enabled_administrator_cannot_be_disabled_or_demoted() {
    let w = world();
    let root = w.user("root", Role::Administrator).await;
    let (_, root_caller) = w.sign_in("root", PASSWORD).await;
    assert!(is_conflict(
        &w.accounts.disable_user(&root_caller, root.id).await
    ));
    assert!(is_conflict(
        &w.accounts
            .change_role(&root_caller, root.id, Role::Operator)
            .await
    ));

    // With a second Administrator, one of them may go; then the other is the last.
    let alice = w.user("alice", Role::Administrator).await;
    w.accounts
        .change_role(&root_caller, root.id, Role::Operator)
        .await
        .unwrap();
    assert_eq!(w.last_action().await.1, "user_role_changed");
    let (_, alice_caller) = w.sign_in("alice", PASSWORD).await;
    assert!(is_conflict(
        &w.accounts.disable_user(&alice_caller, alice.id).await
    ));
    // A disabled Administrator does not count.
    let carol = w.user("carol", Role::Administrator).await;
    w.accounts
        .disable_user(&alice_caller, carol.id)
        .await
        .unwrap();
    assert!(is_conflict(
        &w.accounts
            .change_role(&alice_caller, alice.id, Role::Viewer)
            .await
    ));
}

#[tokio::test]
async fn only_administrators_manage_accounts_and_each_action_is_audited() {
    let w = world();
    w.user("root", Role::Administrator).await;
    let bob = w.user("bob", Role::Operator).await;
    let (_, root) = w.sign_in("root", PASSWORD).await;
    let (_, bob_caller) = w.sign_in("bob", PASSWORD).await;
    assert!(matches!(
        w.accounts.users(&bob_caller).await,
        Err(ServiceError::Forbidden { .. })
    ));
    assert!(matches!(
        w.accounts.disable_user(&bob_caller, bob.id).await,
        Err(ServiceError::Forbidden { .. })
    ));
    assert!(matches!(
        w.accounts.api_tokens(&bob_caller).await,
        Err(ServiceError::Forbidden { .. })
    ));

    let before = w.actions().await.len();
    let carol = w
        .accounts
        .add_user(&root, "carol", &secret(PASSWORD), Role::Viewer)
        .await
        .unwrap();
    w.accounts
        .change_role(&root, carol.id, Role::Operator)
        .await
        .unwrap();
    w.accounts
        .reset_password(&root, carol.id, &secret("carols new password"))
        .await
        .unwrap();
    w.accounts.end_sessions(&root, carol.id).await.unwrap();
    w.accounts.disable_user(&root, carol.id).await.unwrap();
    w.accounts.enable_user(&root, carol.id).await.unwrap();
    let token = w
        .accounts
        .issue_api_token(&root, "ci", Role::Viewer, None)
        .await
        .unwrap();
    w.accounts
        .revoke_api_token(&root, token.record.id)
        .await
        .unwrap();
    let written: Vec<String> = w.actions().await[before..]
        .iter()
        .map(|(actor, action, _)| format!("{actor} {action}"))
        .collect();
    assert_eq!(
        written,
        [
            "root user_created",
            "root user_role_changed",
            "root password_reset",
            "root sessions_ended",
            "root user_disabled",
            "root user_enabled",
            "root api_token_created",
            "root api_token_revoked",
        ]
    );
    let users = w.accounts.users(&root).await.unwrap();
    assert_eq!(
        users
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bob", "carol", "root"]
    );
}
