//! Opening a store: URL handling and SQLite connection settings.

use sqlx::Connection as _;
use sqlx::Row as _;
use tenantlink_store::{BackendKind, OpenOptions, Store, StoreError};

#[tokio::test]
async fn unsupported_url_scheme_is_refused_by_name() {
    match Store::open("mysql://root@localhost/db").await {
        Err(StoreError::UnsupportedUrl { scheme }) => assert_eq!(scheme, "mysql"),
        other => panic!("expected UnsupportedUrl, got {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_store_uses_write_ahead_logging() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::open(&url).await.unwrap();
    assert_eq!(store.backend_kind(), BackendKind::Sqlite);
    assert_eq!(format!("{store:?}"), "Store { backend: Sqlite }");
    store.ping().await.unwrap();

    // journal_mode=WAL is persistent in the file, so a plain connection sees it.
    let mut raw = sqlx::SqliteConnection::connect(&url).await.unwrap();
    let row = sqlx::query("PRAGMA journal_mode")
        .fetch_one(&mut raw)
        .await
        .unwrap();
    assert_eq!(row.get::<String, _>(0), "wal");
    raw.close().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn sqlite_file_path_with_url_metacharacters_opens_and_persists() {
    let dir = tempfile::tempdir().unwrap();
    let nested = dir.path().join("data dir #1?x=%20");
    std::fs::create_dir(&nested).unwrap();
    let path = nested.join("tenantlink.db");
    let store = Store::open_sqlite_file(&path, &OpenOptions::default())
        .await
        .unwrap();
    store.ping().await.unwrap();
    let users = store.users().await.unwrap();
    assert!(users.is_empty());
    store.close().await;
    assert!(
        path.is_file(),
        "the database is created at exactly the given path"
    );
    let reopened = Store::open_sqlite_file(&path, &OpenOptions::default())
        .await
        .unwrap();
    reopened.migrate().await.unwrap();
    reopened.close().await;
}

/// `sslmode` (and `sslrootcert`) in a PostgreSQL URL are the connection's TLS settings: a URL
/// that demands a verified server certificate against a CA the client cannot load fails to
/// open, where the same URL without them opens.
#[tokio::test]
async fn postgres_sslmode_in_the_url_is_honoured() {
    if tenantlink_test_support::postgres::required_server_url().is_none() {
        return;
    }
    let database = tenantlink_test_support::TestDatabase::create();
    let url = database.url();
    let plain = Store::open(url).await.expect("opens without TLS demands");
    plain.close().await;
    let separator = if url.contains('?') { '&' } else { '?' };
    let demanding = format!(
        "{url}{separator}sslmode=verify-full&sslrootcert=/nonexistent/tenantlink-db-ca.pem"
    );
    let err = Store::open(&demanding)
        .await
        .expect_err("verify-full with an unreadable CA must not connect");
    assert!(
        matches!(err, StoreError::Connect(_)),
        "expected a connection error, got {err:?}"
    );
}
