//! Sign-in cannot be used against the service: oversized input writes nothing, a stranger's
//! guesses slow down only that stranger (per user name *and* address), parallel guesses are
//! counted before any password is checked, audit quotes are bounded, and what sign-ins leave
//! behind is pruned on the injected sleeper. All on the in-memory repository and a manual clock.

use std::net::IpAddr;
use std::sync::Arc;
use tenantlink_clock::{Clock, ManualClock, RecordingSleeper};
use tenantlink_service::fakes::MemoryRepository;
use tenantlink_service::{
    Accounts, AuditAction, ClientAddress, LoginThrottle, MAX_AUDIT_DETAIL_BYTES, NewAuditEntry,
    PRUNE_EVERY, Repository, Role, SecretString, ServiceError, SignInRecords, TRUNCATED_MARKER,
    quote_bounded,
};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

const START: OffsetDateTime = datetime!(2026-12-02 10:00 UTC);
const ADMIN_PASSWORD: &str = "the administrator's own password";

struct World {
    repository: MemoryRepository,
    clock: Arc<ManualClock>,
    accounts: Accounts,
}

async fn world() -> World {
    let repository = MemoryRepository::new();
    let clock = Arc::new(ManualClock::at(START));
    let accounts = Accounts::new(
        Arc::new(repository.clone()),
        Arc::new(repository.clone()),
        clock.clone(),
        LoginThrottle::default(),
    );
    accounts
        .ensure_user(
            "admin",
            &SecretString::new(ADMIN_PASSWORD),
            Role::Administrator,
        )
        .await
        .unwrap();
    World {
        repository,
        clock,
        accounts,
    }
}

fn from(address: &str) -> ClientAddress {
    ClientAddress::from_peer(Some(address.parse::<IpAddr>().unwrap()))
}

fn wrong() -> SecretString {
    SecretString::new("not the password at all")
}

async fn audit_rows(repository: &MemoryRepository) -> usize {
    repository.audit(1000).await.unwrap().len()
}

#[tokio::test]
async fn a_two_megabyte_user_name_or_password_is_refused_and_writes_nothing() {
    let w = world().await;
    let rows_before = audit_rows(&w.repository).await;
    let huge = "a".repeat(2 * 1024 * 1024);
    let refused = w.accounts.log_in(&huge, &wrong(), from("192.0.2.66")).await;
    assert!(
        matches!(&refused, Err(ServiceError::Invalid { field, message })
            if field == "username" && message.contains("256 bytes")),
        "{refused:?}"
    );
    let refused = w
        .accounts
        .log_in(
            "admin",
            &SecretString::new(huge.clone()),
            from("192.0.2.66"),
        )
        .await;
    assert!(
        matches!(&refused, Err(ServiceError::Invalid { field, .. }) if field == "password"),
        "{refused:?}"
    );
    assert_eq!(audit_rows(&w.repository).await, rows_before, "no audit row");
    for name in [huge.as_str(), "admin"] {
        assert_eq!(
            w.repository
                .sign_in_failures(name, &from("192.0.2.66").key())
                .await
                .unwrap(),
            None,
            "no failure record"
        );
    }
    // Just below the limit is an ordinary (wrong) sign-in.
    let longest = "é".repeat(128);
    assert!(matches!(
        w.accounts
            .log_in(&longest, &wrong(), from("192.0.2.66"))
            .await,
        Err(ServiceError::BadCredentials)
    ));
}

#[tokio::test]
async fn twenty_wrong_guesses_for_admin_from_one_address_do_not_stop_admin_from_another() {
    let w = world().await;
    let mut checked = 0;
    for _ in 0..20 {
        match w
            .accounts
            .log_in("admin", &wrong(), from("192.0.2.66"))
            .await
        {
            Err(ServiceError::BadCredentials) => checked += 1,
            Err(ServiceError::Throttled { .. }) => {}
            other => panic!("{other:?}"),
        }
        w.clock.advance(Duration::seconds(1));
    }
    assert!(checked >= 3, "the free tries were checked: {checked}");
    assert!(checked < 20, "the stranger was slowed down: {checked}");

    let signed_in = w
        .accounts
        .log_in(
            "admin",
            &SecretString::new(ADMIN_PASSWORD),
            from("198.51.100.10"),
        )
        .await
        .expect("the administrator signs in from their own address");
    assert_eq!(signed_in.caller.name, "admin");
    // The stranger still waits.
    assert!(matches!(
        w.accounts
            .log_in(
                "admin",
                &SecretString::new(ADMIN_PASSWORD),
                from("192.0.2.66")
            )
            .await,
        Err(ServiceError::Throttled { .. })
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn parallel_wrong_passwords_are_counted_before_any_password_is_checked() {
    let w = world().await;
    let start = Arc::new(tokio::sync::Barrier::new(12));
    let attempts: Vec<_> = (0..12)
        .map(|_| {
            let (accounts, start) = (w.accounts.clone(), start.clone());
            tokio::spawn(async move {
                start.wait().await;
                accounts.log_in("admin", &wrong(), from("192.0.2.66")).await
            })
        })
        .collect();
    let (mut checked, mut throttled) = (0, 0);
    for attempt in attempts {
        match attempt.await.unwrap() {
            Err(ServiceError::BadCredentials) => checked += 1,
            Err(ServiceError::Throttled { .. }) => throttled += 1,
            other => panic!("{other:?}"),
        }
    }
    let free = LoginThrottle::default().free_failures;
    assert_eq!(
        checked, free,
        "only the free tries reached password verification"
    );
    assert_eq!(throttled, 12 - free);
    let record = w
        .repository
        .sign_in_failures("admin", &from("192.0.2.66").key())
        .await
        .unwrap()
        .expect("a record");
    assert_eq!(record.failures, free, "every checked password was counted");
}

#[test]
fn the_delay_doubles_after_the_free_failures_up_to_its_cap() {
    let schedule = LoginThrottle::default();
    let delays: Vec<i64> = (0..=14)
        .map(|n| schedule.delay_after(n).whole_seconds())
        .collect();
    assert_eq!(
        delays,
        [0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]
    );
    assert_eq!(schedule.delay_after(u32::MAX), Duration::minutes(15));
}

#[test]
fn the_wait_is_measured_from_the_last_failure_on_the_given_clock() {
    let schedule = LoginThrottle::default();
    let clock = ManualClock::at(START);
    let last = clock.now();
    assert_eq!(schedule.wait(2, last, clock.now()), None, "still free");
    assert_eq!(
        schedule.wait(5, last, clock.now()),
        Some(Duration::seconds(4))
    );
    clock.advance(Duration::milliseconds(3500));
    assert_eq!(
        schedule.wait(5, last, clock.now()),
        Some(Duration::milliseconds(500))
    );
    clock.advance(Duration::milliseconds(500));
    assert_eq!(schedule.wait(5, last, clock.now()), None);
    // Another instance's clock ahead of ours never makes the wait longer than the schedule's.
    assert_eq!(
        schedule.wait(5, clock.now() + Duration::hours(1), clock.now()),
        Some(Duration::seconds(4))
    );
    // A day later the pair is forgotten and starts over.
    assert_eq!(schedule.next_failure_count(30, last, clock.now()), 31);
    clock.advance(Duration::hours(24));
    assert_eq!(schedule.wait(30, last, clock.now()), None);
    assert_eq!(schedule.next_failure_count(30, last, clock.now()), 1);
}

#[tokio::test]
async fn a_pair_waits_out_its_delay_and_its_right_password_clears_it() {
    let w = world().await;
    let stranger = from("192.0.2.66");
    for _ in 0..3 {
        assert!(matches!(
            w.accounts.log_in("admin", &wrong(), stranger).await,
            Err(ServiceError::BadCredentials)
        ));
    }
    let rows = audit_rows(&w.repository).await;
    assert!(matches!(
        w.accounts.log_in("admin", &wrong(), stranger).await,
        Err(ServiceError::Throttled {
            retry_after_seconds: 1
        })
    ));
    assert_eq!(audit_rows(&w.repository).await, rows + 1, "one bounded row");
    w.clock.advance(Duration::seconds(1));
    assert!(matches!(
        w.accounts.log_in("admin", &wrong(), stranger).await,
        Err(ServiceError::BadCredentials)
    ));
    assert!(matches!(
        w.accounts
            .log_in("admin", &SecretString::new(ADMIN_PASSWORD), stranger)
            .await,
        Err(ServiceError::Throttled {
            retry_after_seconds: 2
        })
    ));
    w.clock.advance(Duration::seconds(2));
    w.accounts
        .log_in("admin", &SecretString::new(ADMIN_PASSWORD), stranger)
        .await
        .expect("after the wait the right password works");
    assert_eq!(
        w.repository
            .sign_in_failures("admin", &stranger.key())
            .await
            .unwrap(),
        None,
        "cleared"
    );
}

#[test]
fn audit_quotes_are_cut_on_a_character_boundary_with_a_marker() {
    assert_eq!(quote_bounded("short".into(), 64), "short");
    // 'é' is two bytes: a cut in the middle of one moves back to its start.
    let quoted = quote_bounded("é".repeat(100), 2 + 1 + TRUNCATED_MARKER.len());
    assert_eq!(quoted, format!("é{TRUNCATED_MARKER}"));

    let entry = NewAuditEntry {
        at: START,
        actor: "x".repeat(10_000),
        action: AuditAction::SignIn,
        organization: None,
        thumbprints: vec!["AB".repeat(1000); 100],
        outcome: tenantlink_service::AuditOutcome::Failure,
        detail: Some("ü".repeat(1_000_000)),
    }
    .capped();
    assert!(entry.actor.len() <= 256 && entry.actor.ends_with(TRUNCATED_MARKER));
    let detail = entry.detail.unwrap();
    assert!(detail.len() <= MAX_AUDIT_DETAIL_BYTES && detail.ends_with(TRUNCATED_MARKER));
    assert!(entry.thumbprints.len() <= 8);
    assert!(entry.thumbprints.iter().all(|t| t.len() <= 128));
}

#[tokio::test]
async fn pruning_runs_on_the_injected_sleeper_and_removes_old_failures_and_expired_sessions() {
    let w = world().await;
    let stranger = from("192.0.2.66");
    let _ = w.accounts.log_in("admin", &wrong(), stranger).await;
    let session = w
        .accounts
        .log_in(
            "admin",
            &SecretString::new(ADMIN_PASSWORD),
            from("198.51.100.10"),
        )
        .await
        .unwrap();
    assert!(
        w.repository
            .sign_in_failures("admin", &stranger.key())
            .await
            .unwrap()
            .is_some()
    );

    // Each wait moves the manual clock; the loop stops once a day and an hour have passed.
    let sleeper = RecordingSleeper::advancing(w.clock.clone());
    let clock = w.clock.clone();
    let until = START + Duration::hours(25);
    let shutdown = std::future::poll_fn(move |_| {
        if clock.now() >= until {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    });
    w.accounts
        .keep_pruning(Arc::new(sleeper.clone()), PRUNE_EVERY, shutdown)
        .await;

    let waits = sleeper.waits();
    assert_eq!(waits.len(), 25 * 6, "every ten minutes for 25 hours");
    assert!(waits.iter().all(|wait| *wait == PRUNE_EVERY));
    assert_eq!(
        w.repository
            .sign_in_failures("admin", &stranger.key())
            .await
            .unwrap(),
        None,
        "the failure a day old is gone"
    );
    // Gone, not merely expired: even asked as of the start it is not found.
    assert!(
        tenantlink_service::AccountRepository::session(&w.repository, &session.token, START)
            .await
            .unwrap()
            .is_none()
    );
}
