//! The throw-away database exists, empty and reachable at its URL, for exactly its guard's
//! lifetime — from a synchronous test and from inside a tokio runtime alike. Needs the server
//! of `TENANTLINK_TEST_POSTGRES_URL` (or the local one `scripts/test` starts).

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use tenantlink_test_support::TestDatabase;
use tenantlink_test_support::postgres::server_url;

async fn exists(name: &str) -> bool {
    let mut server = PgConnection::connect(&server_url()).await.expect("server");
    let found: Option<i32> = sqlx::query_scalar("SELECT 1 FROM pg_database WHERE datname = $1")
        .bind(name)
        .fetch_optional(&mut server)
        .await
        .expect("query pg_database");
    let _ = server.close().await;
    found.is_some()
}

#[tokio::test(flavor = "current_thread")]
async fn a_database_lives_as_long_as_its_guard_and_is_empty() {
    let database = TestDatabase::create();
    assert!(database.name().starts_with("tenantlink_test_"));
    assert!(database.url().ends_with(&format!("/{}", database.name())));
    assert!(exists(database.name()).await);

    // Reachable at its URL, with no tables yet; a connection left open does not stop the drop.
    let mut open = PgConnection::connect(database.url())
        .await
        .expect("connect");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
    )
    .fetch_one(&mut open)
    .await
    .unwrap();
    assert_eq!(tables, 0);

    let name = database.name().to_owned();
    drop(database);
    assert!(!exists(&name).await, "{name} was dropped with its guard");
}

#[test]
fn a_synchronous_test_gets_a_distinct_database_each_time() {
    let first = TestDatabase::create();
    let second = TestDatabase::create();
    assert_ne!(first.name(), second.name());
    assert_ne!(first.url(), second.url());
}
