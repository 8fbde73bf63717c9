//! Test databases: a fresh SQLite file in a temp dir, or a fresh PostgreSQL database with a
//! random name that is dropped afterwards (even when the test panics).

#![allow(dead_code)]

use std::path::PathBuf;

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;
use tenantlink_store::{BackendKind, Store};

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

pub struct TestDb {
    pub store: Store,
    pub url: String,
    sqlite_dir: Option<tempfile::TempDir>,
    postgres: Option<PgDatabase>,
}

struct PgDatabase {
    admin_url: String,
    name: String,
}

impl TestDb {
    pub async fn new(kind: BackendKind) -> Self {
        match kind {
            BackendKind::Sqlite => Self::sqlite().await,
            BackendKind::Postgres => Self::postgres().await,
        }
    }

    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("create a temp dir");
        let url = format!(
            "sqlite://{}?mode=rwc",
            dir.path().join("tenantlink.db").display()
        );
        let store = Store::open(&url).await.expect("open the SQLite store");
        Self {
            store,
            url,
            sqlite_dir: Some(dir),
            postgres: None,
        }
    }

    pub async fn postgres() -> Self {
        let admin_url = std::env::var("TENANTLINK_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let mut admin = PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
            panic!(
                "PostgreSQL is unreachable at {admin_url} ({e}). The storage tests need it: run \
                 scripts/test (it starts or installs PostgreSQL), or point \
                 TENANTLINK_TEST_POSTGRES_URL at a server with trust auth."
            )
        });
        let name = format!("tenantlink_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create the test database");
        let _ = admin.close().await;
        let database = PgDatabase {
            admin_url: admin_url.clone(),
            name: name.clone(),
        };
        let url = with_database(&admin_url, &name);
        let store = Store::open(&url).await.expect("open the PostgreSQL store");
        Self {
            store,
            url,
            sqlite_dir: None,
            postgres: Some(database),
        }
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
        match self.kind() {
            BackendKind::Sqlite => {
                let mut conn = sqlx::SqliteConnection::connect(&self.url).await?;
                run!(conn)
            }
            BackendKind::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await?;
                run!(conn)
            }
        }
    }

    /// Reads one blob column of one row.
    pub async fn raw_blob(&self, sql: &str, id: &str) -> Vec<u8> {
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
                    .expect("read blob");
                row.get(0)
            }
            BackendKind::Postgres => {
                let mut conn = PgConnection::connect(&self.url).await.expect("connect");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .bind(id.to_owned())
                    .fetch_one(&mut conn)
                    .await
                    .expect("read blob");
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

pub enum RawParam {
    Text(String),
    Blob(Vec<u8>),
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot block on async work; a helper
        // thread with its own runtime removes the database, also after a panic.
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&admin_url).await {
                    let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                    )))
                    .execute(&mut admin)
                    .await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = dropper.join();
    }
}

fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_end = base
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| base[start..].find('/').map(|i| start + i))
        .unwrap_or(base.len());
    let mut out = format!("{}/{}", &base[..authority_end], database);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
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
