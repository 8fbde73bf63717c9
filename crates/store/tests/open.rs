//! Opening a store: URL handling and SQLite connection settings.

use sqlx::Connection as _;
use sqlx::Row as _;
use tenantlink_store::{BackendKind, Store, StoreError};

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
