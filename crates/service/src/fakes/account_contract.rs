//! The contract of [`AccountRepository`]'s account and token lifecycle: the same cases run
//! against the in-memory fake (this crate's tests) and SQLite and PostgreSQL (the store's tests).
//! Each case takes a fresh, empty repository. Run them all with [`ACCOUNT_CASES`].

use crate::model::{ApiTokenId, Role, UserId};
use crate::ports::{
    AccountRepository, BoxFuture, NewApiToken, RepoResult, RepositoryError, UserChange,
};
use crate::secret::SecretString;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// One case: its name and the check, given a fresh repository.
pub type AccountCase = (
    &'static str,
    for<'a> fn(&'a dyn AccountRepository) -> BoxFuture<'a, ()>,
);

macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        /// Every case of the account contract.
        pub const ACCOUNT_CASES: &[AccountCase] =
            &[$((stringify!($name), |repo| Box::pin($name(repo)))),+];
    };
}

cases!(
    users_are_created_once_and_listed_by_name,
    user_changes_apply_and_keep_an_enabled_administrator,
    sessions_are_read_whatever_their_state_and_end_per_user,
    api_tokens_are_read_with_their_owner_and_revoked_one_or_all,
);

const T0: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);
/// Any PHC-shaped string: the repository stores what the service hashed.
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

fn is_conflict<T: std::fmt::Debug>(result: &RepoResult<T>) -> bool {
    matches!(result, Err(RepositoryError::Conflict { .. }))
}

fn is_not_found<T: std::fmt::Debug>(result: &RepoResult<T>) -> bool {
    matches!(result, Err(RepositoryError::NotFound { .. }))
}

async fn user(repo: &dyn AccountRepository, name: &str, role: Role) -> UserId {
    repo.create_user(name, PHC, role, T0).await.unwrap().id
}

fn disable() -> UserChange {
    UserChange {
        disabled: Some(true),
        ..UserChange::default()
    }
}

async fn users_are_created_once_and_listed_by_name(repo: &dyn AccountRepository) {
    let zoe = repo
        .create_user("zoe", PHC, Role::Administrator, T0)
        .await
        .unwrap();
    assert_eq!(
        (zoe.password_hash.as_str(), zoe.disabled, zoe.created_at),
        (PHC, false, T0)
    );
    user(repo, "adam", Role::Viewer).await;
    assert!(is_conflict(
        &repo.create_user("zoe", PHC, Role::Viewer, T0).await
    ));
    let names: Vec<String> = repo
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .collect();
    assert_eq!(names, ["adam", "zoe"]);
    assert_eq!(repo.user(zoe.id).await.unwrap(), Some(zoe.clone()));
    assert_eq!(repo.user(UserId::new()).await.unwrap(), None);
    assert_eq!(repo.user_by_name("zoe").await.unwrap(), Some(zoe));
}

async fn user_changes_apply_and_keep_an_enabled_administrator(repo: &dyn AccountRepository) {
    let root = user(repo, "root", Role::Administrator).await;
    let bob = user(repo, "bob", Role::Operator).await;
    let at = T0 + Duration::minutes(1);

    // The only enabled administrator can be neither demoted nor disabled: nothing changes.
    let demote = UserChange {
        role: Some(Role::Viewer),
        ..UserChange::default()
    };
    assert!(is_conflict(&repo.update_user(root, &demote, at).await));
    assert!(is_conflict(&repo.update_user(root, &disable(), at).await));
    let unchanged = repo.user(root).await.unwrap().unwrap();
    assert_eq!(
        (unchanged.role, unchanged.disabled),
        (Role::Administrator, false)
    );

    let change = UserChange {
        role: Some(Role::Administrator),
        password_hash: Some("$argon2id$other".into()),
        ..UserChange::default()
    };
    let promoted = repo.update_user(bob, &change, at).await.unwrap();
    assert_eq!(
        (promoted.role, promoted.password_hash.as_str()),
        (Role::Administrator, "$argon2id$other")
    );
    let disabled = repo.update_user(root, &disable(), at).await.unwrap();
    assert!(disabled.disabled);
    assert_eq!(disabled.role, Role::Administrator, "the rest is kept");
    assert_eq!(
        repo.user_by_name("root").await.unwrap(),
        None,
        "by name finds enabled users only"
    );
    assert!(repo.user(root).await.unwrap().unwrap().disabled);
    // A disabled administrator does not count: bob is now the last one.
    assert!(is_conflict(&repo.update_user(bob, &demote, at).await));
    let enable = UserChange {
        disabled: Some(false),
        ..UserChange::default()
    };
    assert!(!repo.update_user(root, &enable, at).await.unwrap().disabled);
    assert!(is_not_found(
        &repo.update_user(UserId::new(), &enable, at).await
    ));
}

async fn sessions_are_read_whatever_their_state_and_end_per_user(repo: &dyn AccountRepository) {
    let root = user(repo, "root", Role::Administrator).await;
    let bob = user(repo, "bob", Role::Viewer).await;
    let expires = T0 + Duration::hours(8);
    let first = repo.create_session(bob, T0, expires).await.unwrap();
    let second = repo.create_session(bob, T0, expires).await.unwrap();
    let roots = repo.create_session(root, T0, expires).await.unwrap();
    assert_ne!(first.expose(), second.expose());

    let read = repo
        .session(&first, T0)
        .await
        .unwrap()
        .expect("the session");
    assert_eq!((read.user.id, read.expires_at), (bob, expires));
    let late = repo
        .session(&first, expires + Duration::hours(1))
        .await
        .unwrap();
    assert!(
        late.is_some(),
        "expired sessions are the service's to refuse"
    );
    repo.update_user(bob, &disable(), T0).await.unwrap();
    let of_disabled = repo.session(&first, T0).await.unwrap().expect("still read");
    assert!(of_disabled.user.disabled);
    assert!(
        repo.session(&SecretString::new("forged"), T0)
            .await
            .unwrap()
            .is_none()
    );

    assert_eq!(repo.delete_sessions_of(bob).await.unwrap(), 2);
    assert!(repo.session(&second, T0).await.unwrap().is_none());
    assert!(
        repo.session(&roots, T0).await.unwrap().is_some(),
        "others stay"
    );
    assert_eq!(repo.delete_sessions_of(bob).await.unwrap(), 0);
    repo.delete_session(&roots).await.unwrap();
    assert!(repo.session(&roots, T0).await.unwrap().is_none());
}

async fn api_tokens_are_read_with_their_owner_and_revoked_one_or_all(repo: &dyn AccountRepository) {
    let root = user(repo, "root", Role::Administrator).await;
    let bob = user(repo, "bob", Role::Administrator).await;
    let new = |name: &str, owner: UserId, at: OffsetDateTime| NewApiToken {
        name: name.to_owned(),
        role: Role::Operator,
        owner,
        created_by: "root".into(),
        expires_at: at + Duration::days(90),
    };
    let (ci_secret, ci) = repo
        .create_api_token(&new("ci", bob, T0), T0)
        .await
        .unwrap();
    assert_eq!(
        (
            ci.owner,
            ci.created_at,
            ci.expires_at,
            ci.last_used_at,
            ci.revoked_at
        ),
        (Some(bob), T0, Some(T0 + Duration::days(90)), None, None)
    );
    let later = T0 + Duration::minutes(1);
    let (_, deploy) = repo
        .create_api_token(&new("deploy", bob, later), later)
        .await
        .unwrap();
    let (root_secret, roots) = repo
        .create_api_token(
            &new("mine", root, later + Duration::minutes(1)),
            later + Duration::minutes(1),
        )
        .await
        .unwrap();

    let (found, owner) = repo
        .api_token(&ci_secret)
        .await
        .unwrap()
        .expect("the token");
    assert_eq!(found, ci);
    assert_eq!(owner.map(|o| o.username), Some("bob".into()));
    assert!(
        repo.api_token(&SecretString::new("forged"))
            .await
            .unwrap()
            .is_none()
    );
    repo.record_api_token_use(ci.id, later).await.unwrap();
    let listed = repo.api_tokens().await.unwrap();
    assert_eq!(
        listed.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["ci", "deploy", "mine"],
        "oldest first"
    );
    assert_eq!(listed[0].last_used_at, Some(later));

    let revoked = repo.revoke_api_token(deploy.id, later).await.unwrap();
    assert_eq!(revoked.revoked_at, Some(later));
    let again = repo
        .revoke_api_token(deploy.id, later + Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(
        again.revoked_at,
        Some(later),
        "the first revocation is kept"
    );
    assert!(is_not_found(
        &repo.revoke_api_token(ApiTokenId::new(), later).await
    ));

    let at = later + Duration::hours(2);
    assert_eq!(
        repo.revoke_api_tokens_of(bob, at).await.unwrap(),
        1,
        "only live ones"
    );
    let (ci_now, _) = repo.api_token(&ci_secret).await.unwrap().unwrap();
    assert_eq!(ci_now.revoked_at, Some(at), "still read, revoked");
    let (mine, _) = repo.api_token(&root_secret).await.unwrap().unwrap();
    assert_eq!(mine.revoked_at, None, "other owners' tokens stay");
    assert_eq!(mine.id, roots.id);
}
