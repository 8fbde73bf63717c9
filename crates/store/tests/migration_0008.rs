//! Migration 0008 on a database written by the previous release (schema 0006): API tokens get
//! the account they act for (their owner), found by their creator's name; tokens whose creator
//! is no account (made with a token, or by a removed user) are revoked; sessions lose the
//! unused CSRF hash and still read back.

mod harness;

use std::sync::Arc;

use harness::{EmptyDb, RawParam};
use tenantlink_service::{AccountRepository, Role, SecretString, UserId};
use tenantlink_store::{BackendKind, BearerSecret, MasterKey, StoreRepository};
use time::OffsetDateTime;
use time::macros::datetime;

const T0: OffsetDateTime = datetime!(2026-12-01 09:00:00 UTC);

fn micros(at: OffsetDateTime) -> i64 {
    i64::try_from(at.unix_timestamp_nanos() / 1000).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_tokens_get_their_owner_or_are_revoked() {
    tokens_get_their_owner_or_are_revoked(BackendKind::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_tokens_get_their_owner_or_are_revoked() {
    tokens_get_their_owner_or_are_revoked(BackendKind::Postgres).await;
}

async fn tokens_get_their_owner_or_are_revoked(kind: BackendKind) {
    let db = EmptyDb::new(kind).await;
    db.apply_migrations_through(6).await;
    let alice = UserId::new();
    db.raw_execute(
        &format!(
            "INSERT INTO users (id, username, password_hash, role, disabled, created_at, \
             updated_at) VALUES ($1, 'alice', '$argon2id$stored', 'administrator', false, {0}, {0})",
            micros(T0)
        ),
        &[RawParam::Text(alice.to_string())],
    )
    .await
    .expect("insert a user");
    let secret = |n: u8| SecretString::new(format!("secret-{n}"));
    for (n, created_by) in [(1, "alice"), (2, "token:ci"), (3, "bob")] {
        db.raw_execute(
            &format!(
                "INSERT INTO api_tokens (id, token_hash, name, role, created_by, created_at) \
                 VALUES ($1, $2, $3, 'operator', $4, {})",
                micros(T0)
            ),
            &[
                RawParam::Text(uuid::Uuid::new_v4().to_string()),
                RawParam::Blob(BearerSecret::hash_of(&secret(n)).as_bytes().to_vec()),
                RawParam::Text(format!("token{n}")),
                RawParam::Text(created_by.into()),
            ],
        )
        .await
        .expect("insert an API token");
    }
    let session = SecretString::new("session-secret");
    db.raw_execute(
        &format!(
            "INSERT INTO sessions (id_hash, user_id, csrf_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, {}, {})",
            micros(T0),
            micros(T0 + time::Duration::hours(8))
        ),
        &[
            RawParam::Blob(BearerSecret::hash_of(&session).as_bytes().to_vec()),
            RawParam::Text(alice.to_string()),
            RawParam::Blob(vec![9; 32]),
        ],
    )
    .await
    .expect("insert a session");

    let db = db.open().await; // applies 0008
    let repo = StoreRepository::new(db.store.clone(), Arc::new(MasterKey::generate().unwrap()));
    let (alices, owner) = repo.api_token(&secret(1)).await.unwrap().unwrap();
    assert_eq!(alices.owner, Some(alice));
    assert_eq!(alices.revoked_at, None, "still works");
    assert_eq!(owner.map(|o| o.username), Some("alice".into()));
    for n in [2, 3] {
        let (orphan, owner) = repo.api_token(&secret(n)).await.unwrap().unwrap();
        assert_eq!((orphan.owner, owner), (None, None), "token{n}");
        assert_eq!(orphan.revoked_at, Some(T0), "token{n} revoked");
        assert_eq!(orphan.role, Role::Operator);
    }
    let read = repo.session(&session, T0).await.unwrap().expect("session");
    assert_eq!(read.user.id, alice);
    db.store.close().await;
}
