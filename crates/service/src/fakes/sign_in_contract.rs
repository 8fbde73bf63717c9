//! The contract of [`SignInRecords`] (part of every [`AccountRepository`]): run against the
//! in-memory fake (this crate's tests) and against SQLite and PostgreSQL (the store's tests).
//! Each case takes a fresh, empty repository. Run them all with [`SIGN_IN_CASES`].

use crate::model::Role;
use crate::ports::{AccountRepository, BoxFuture, SignInFailures};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// One case: its name and the check, given a fresh repository.
pub type SignInCase = (
    &'static str,
    for<'a> fn(&'a dyn AccountRepository) -> BoxFuture<'a, ()>,
);

macro_rules! cases {
    ($($name:ident),+ $(,)?) => {
        /// Every case of the contract.
        pub const SIGN_IN_CASES: &[SignInCase] =
            &[$((stringify!($name), |repo| Box::pin($name(repo)))),+];
    };
}

cases!(
    failures_are_counted_per_name_and_address_by_compare_and_swap,
    clearing_forgets_one_pair_only,
    pruning_drops_old_failure_records_and_expired_sessions_only,
);

const T0: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);
/// A stored password hash; these cases never check it.
const PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

async fn failures(repo: &dyn AccountRepository, name: &str, address: &str) -> Option<u32> {
    repo.sign_in_failures(name, address)
        .await
        .expect("read failures")
        .map(|r| r.failures)
}

async fn failures_are_counted_per_name_and_address_by_compare_and_swap(
    repo: &dyn AccountRepository,
) {
    assert_eq!(
        repo.sign_in_failures("admin", "192.0.2.1").await.unwrap(),
        None
    );
    assert!(
        repo.count_sign_in_failure("admin", "192.0.2.1", 0, 1, T0)
            .await
            .unwrap(),
        "the first failure creates the record"
    );
    // A second attempt that also saw no record loses: it must read again and decide again.
    assert!(
        !repo
            .count_sign_in_failure("admin", "192.0.2.1", 0, 1, T0)
            .await
            .unwrap()
    );
    assert!(
        !repo
            .count_sign_in_failure("admin", "192.0.2.1", 2, 3, T0)
            .await
            .unwrap(),
        "a stale count loses"
    );
    let later = T0 + Duration::seconds(5);
    assert!(
        repo.count_sign_in_failure("admin", "192.0.2.1", 1, 2, later)
            .await
            .unwrap()
    );
    assert_eq!(
        repo.sign_in_failures("admin", "192.0.2.1").await.unwrap(),
        Some(SignInFailures {
            failures: 2,
            last_failure_at: later
        })
    );
    // Restarting a forgotten record is a swap too (the rule chooses `next`).
    assert!(
        repo.count_sign_in_failure("admin", "192.0.2.1", 2, 1, later)
            .await
            .unwrap()
    );
    assert_eq!(failures(repo, "admin", "192.0.2.1").await, Some(1));
    // Other pairs are their own.
    assert_eq!(failures(repo, "admin", "192.0.2.2").await, None);
    assert_eq!(failures(repo, "alice", "192.0.2.1").await, None);
}

async fn clearing_forgets_one_pair_only(repo: &dyn AccountRepository) {
    for (name, address) in [
        ("admin", "192.0.2.1"),
        ("admin", "192.0.2.2"),
        ("alice", "192.0.2.1"),
    ] {
        assert!(
            repo.count_sign_in_failure(name, address, 0, 1, T0)
                .await
                .unwrap()
        );
    }
    repo.clear_sign_in_failures("admin", "192.0.2.1")
        .await
        .unwrap();
    repo.clear_sign_in_failures("nobody", "192.0.2.9")
        .await
        .expect("clearing what is not there is not an error");
    assert_eq!(failures(repo, "admin", "192.0.2.1").await, None);
    assert_eq!(failures(repo, "admin", "192.0.2.2").await, Some(1));
    assert_eq!(failures(repo, "alice", "192.0.2.1").await, Some(1));
}

async fn pruning_drops_old_failure_records_and_expired_sessions_only(repo: &dyn AccountRepository) {
    let old = T0 - Duration::hours(30);
    assert!(
        repo.count_sign_in_failure("old", "192.0.2.1", 0, 1, old)
            .await
            .unwrap()
    );
    assert!(
        repo.count_sign_in_failure("recent", "192.0.2.1", 0, 1, T0)
            .await
            .unwrap()
    );
    assert_eq!(
        repo.prune_sign_in_failures(T0 - Duration::hours(24))
            .await
            .unwrap(),
        1
    );
    assert_eq!(failures(repo, "old", "192.0.2.1").await, None);
    assert_eq!(failures(repo, "recent", "192.0.2.1").await, Some(1));

    let user = repo
        .create_user("alice", PHC, Role::Viewer, T0)
        .await
        .expect("create a user");
    let expired = repo
        .create_session(user.id, T0, T0 + Duration::hours(1))
        .await
        .unwrap();
    let live = repo
        .create_session(user.id, T0, T0 + Duration::hours(8))
        .await
        .unwrap();
    let now = T0 + Duration::hours(2);
    assert_eq!(repo.prune_expired_sessions(now).await.unwrap(), 1);
    assert_eq!(repo.prune_expired_sessions(now).await.unwrap(), 0);
    assert!(repo.session(&live, now).await.unwrap().is_some());
    // Gone, not merely expired: even a clock set back does not find it.
    assert!(repo.session(&expired, T0).await.unwrap().is_none());
}
