//! Test databases: a fresh SQLite file in a temp dir, or a fresh PostgreSQL database
//! (`tenantlink_test_support::TestDatabase`: a random name, dropped afterwards even when the test
//! panics).

#![allow(dead_code)]

pub mod fixtures;
pub mod old_rows;

use std::path::PathBuf;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use tenantlink_store::{BackendKind, Store};
use tenantlink_test_support::TestDatabase;

pub struct TestDb {
    pub store: Store,
    pub url: String,
    sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<TestDatabase>,
}

/// A fresh database with no tables yet, for tests that prepare an older schema before the
/// store migrates it.
pub struct EmptyDb {
    pub kind: BackendKind,
    pub url: String,
    sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<TestDatabase>,
}

impl EmptyDb {
    pub async fn new(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Sqlite => {
                let dir = tempfile::tempdir().expect("create a temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("tenantlink.db").display()
                );
                Self {
                    kind,
                    url,
                    sqlite_dir: Some(dir),
                    postgres: None,
                }
            }
            BackendKind::Postgres => {
                let database = TestDatabase::create();
                Self {
                    kind,
                    url: database.url().to_owned(),
                    sqlite_dir: None,
                    postgres: Some(database),
                }
            }
        }
    }

    /// Applies only the first migration, as a database created before 0002 has it.
    pub async fn apply_initial_schema(&self) {
        self.apply_migrations_through(1).await;
    }

    /// Applies migrations 0001 to `last`, as a database created by that release has them.
    /// Descriptions and SQL are the store's own, so the store later applies only the rest.
    pub async fn apply_migrations_through(&self, last: i64) {
        use sqlx::migrate::{Migration, MigrationType, Migrator};
        let sqlite = [
            (
                "initial",
                include_str!("../../migrations/sqlite/0001_initial.sql"),
            ),
            (
                "operation fields and proofs",
                include_str!("../../migrations/sqlite/0002_operation_fields_and_proofs.sql"),
            ),
            (
                "due policies order",
                include_str!("../../migrations/sqlite/0003_due_policies_order.sql"),
            ),
            (
                "operation sign-in holder",
                include_str!("../../migrations/sqlite/0004_operation_sign_in_holder.sql"),
            ),
            (
                "the service's words",
                include_str!("../../migrations/sqlite/0005_service_words.sql"),
            ),
            (
                "organization assertion profile",
                include_str!("../../migrations/sqlite/0006_organization_assertion_profile.sql"),
            ),
            (
                "sign-in failures per user name and address",
                include_str!("../../migrations/sqlite/0007_sign_in_failures.sql"),
            ),
            (
                "api token owner",
                include_str!("../../migrations/sqlite/0008_api_token_owner.sql"),
            ),
            (
                "operation heartbeat",
                include_str!("../../migrations/sqlite/0009_operation_heartbeat.sql"),
            ),
            (
                "private key binding",
                include_str!("../../migrations/sqlite/0010_key_binding.sql"),
            ),
            (
                "renewal",
                include_str!("../../migrations/sqlite/0011_renewal.sql"),
            ),
            (
                "rotation",
                include_str!("../../migrations/sqlite/0012_rotation.sql"),
            ),
            (
                "notices",
                include_str!("../../migrations/sqlite/0013_notices.sql"),
            ),
        ];
        let postgres = [
            (
                "initial",
                include_str!("../../migrations/postgres/0001_initial.sql"),
            ),
            (
                "operation fields and proofs",
                include_str!("../../migrations/postgres/0002_operation_fields_and_proofs.sql"),
            ),
            (
                "due policies order",
                include_str!("../../migrations/postgres/0003_due_policies_order.sql"),
            ),
            (
                "operation sign-in holder",
                include_str!("../../migrations/postgres/0004_operation_sign_in_holder.sql"),
            ),
            (
                "the service's words",
                include_str!("../../migrations/postgres/0005_service_words.sql"),
            ),
            (
                "organization assertion profile",
                include_str!("../../migrations/postgres/0006_organization_assertion_profile.sql"),
            ),
            (
                "sign-in failures per user name and address",
                include_str!("../../migrations/postgres/0007_sign_in_failures.sql"),
            ),
            (
                "api token owner",
                include_str!("../../migrations/postgres/0008_api_token_owner.sql"),
            ),
            (
                "operation heartbeat",
                include_str!("../../migrations/postgres/0009_operation_heartbeat.sql"),
            ),
            (
                "private key binding",
                include_str!("../../migrations/postgres/0010_key_binding.sql"),
            ),
            (
                "renewal",
                include_str!("../../migrations/postgres/0011_renewal.sql"),
            ),
            (
                "rotation",
                include_str!("../../migrations/postgres/0012_rotation.sql"),
            ),
            (
                "notices",
                include_str!("../../migrations/postgres/0013_notices.sql"),
            ),
        ];
        let files = match self.kind {
            BackendKind::Sqlite => sqlite,
            BackendKind::Postgres => postgres,
        };
        let migrator = Migrator::with_migrations(
            (1..=last)
                .zip(files)
                .map(|(version, (description, sql))| {
                    Migration::new(
                        version,
                        description.into(),
                        MigrationType::Simple,
                        sqlx::SqlSafeStr::into_sql_str(sql),
                        false,
                    )
                })
                .collect(),
        );
        match self.kind {
            BackendKind::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await.expect("connect");
                migrator.run(&pool).await.expect("apply the old migrations");
                pool.close().await;
            }
            BackendKind::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await.expect("connect");
                migrator.run(&pool).await.expect("apply the old migrations");
                pool.close().await;
            }
        }
    }

    pub async fn raw_execute(&self, sql: &str, params: &[RawParam]) -> Result<u64, sqlx::Error> {
        raw_execute(self.kind, &self.url, sql, params).await
    }

    /// Opens the store, which applies every pending migration.
    pub async fn open(self) -> TestDb {
        let store = Store::open(&self.url).await.expect("open the store");
        TestDb {
            store,
            url: self.url,
            sqlite_dir: self.sqlite_dir,
            postgres: self.postgres,
        }
    }
}

impl TestDb {
    pub async fn new(kind: BackendKind) -> Self {
        EmptyDb::new(kind).await.open().await
    }

    pub async fn sqlite() -> Self {
        Self::new(BackendKind::Sqlite).await
    }

    pub async fn postgres() -> Self {
        Self::new(BackendKind::Postgres).await
    }

    pub fn kind(&self) -> BackendKind {
        self.store.backend_kind()
    }

    /// Path of the SQLite database file (SQLite only).
    pub fn sqlite_path(&self) -> Option<PathBuf> {
        self.sqlite_dir
            .as_ref()
            .map(|d| d.path().join("tenantlink.db"))
    }

    /// Runs raw SQL with bound text/blob parameters on a separate connection, the way an
    /// attacker or a careless operator with database access would.
    pub async fn raw_execute(&self, sql: &str, params: &[RawParam]) -> Result<u64, sqlx::Error> {
        raw_execute(self.kind(), &self.url, sql, params).await
    }

    /// Reads the first column of the row `sql` selects with `$1` = `id` (a blob, an integer…).
    pub async fn raw_value<T>(&self, sql: &str, id: &str) -> T
    where
        T: Send + Unpin,
        T: for<'r> sqlx::Decode<'r, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite>,
        T: for<'r> sqlx::Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
    {
        use sqlx::Row as _;
        match self.kind() {
            BackendKind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .bind(id.to_owned())
                    .fetch_one(&mut conn)
                    .await
                    .expect("read the value");
                row.get(0)
            }
            BackendKind::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("connect");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .bind(id.to_owned())
                    .fetch_one(&mut conn)
                    .await
                    .expect("read the value");
                row.get(0)
            }
        }
    }

    /// Every blob in a column, concatenated (to scan a table for plaintext).
    pub async fn raw_all_blobs(&self, sql: &str) -> Vec<Vec<u8>> {
        use sqlx::Row as _;
        match self.kind() {
            BackendKind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url)
                    .await
                    .expect("connect");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .expect("read blobs");
                rows.iter().map(|r| r.get(0)).collect()
            }
            BackendKind::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("connect");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_all(&mut conn)
                    .await
                    .expect("read blobs");
                rows.iter().map(|r| r.get(0)).collect()
            }
        }
    }
}

async fn raw_execute(
    kind: BackendKind,
    url: &str,
    sql: &str,
    params: &[RawParam],
) -> Result<u64, sqlx::Error> {
    macro_rules! run {
        ($conn:expr) => {{
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()));
            for p in params {
                query = match p {
                    RawParam::Text(t) => query.bind(t.clone()),
                    RawParam::Blob(b) => query.bind(b.clone()),
                };
            }
            let result = query.execute(&mut $conn).await;
            let _ = $conn.close().await;
            result.map(|r| r.rows_affected())
        }};
    }
    match kind {
        BackendKind::Sqlite => {
            let mut conn = sqlx::SqliteConnection::connect(url).await?;
            run!(conn)
        }
        BackendKind::Postgres => {
            let mut conn = PgConnection::connect(url).await?;
            run!(conn)
        }
    }
}

pub enum RawParam {
    Text(String),
    Blob(Vec<u8>),
}

/// Instantiates each named async test fn (taking `&TestDb`) once per backend.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::harness::TestDb::new(tenantlink_store::BackendKind::Sqlite).await;
                    super::$name(&db).await;
                    db.store.close().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::harness::TestDb::new(tenantlink_store::BackendKind::Postgres).await;
                    super::$name(&db).await;
                    db.store.close().await;
                }
            )*
        }
    };
}
