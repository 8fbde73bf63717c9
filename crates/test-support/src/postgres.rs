//! A throw-away PostgreSQL database: created with a unique name on the server that
//! `TENANTLINK_TEST_POSTGRES_URL` names, handed out by URL, and dropped with its guard (also when
//! the test panics).
//!
//! Creating and dropping run on a helper thread with their own runtime, so the same guard serves
//! synchronous tests, async tests on either tokio flavour, and `Drop` (which cannot await).

use sqlx::Connection as _;
use sqlx::postgres::PgConnection;

/// The variable naming the server (`postgres://user@host:port/database`, trust auth or a
/// password in the URL) on which tests may create databases. `scripts/test` and CI set it.
pub const SERVER_VARIABLE: &str = "TENANTLINK_TEST_POSTGRES_URL";

/// The server `scripts/test` starts when the variable is not set.
pub const LOCAL_SERVER: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// Set to `1` to skip the suites that ask for [`required_server_url`] on purpose.
pub const SKIP_VARIABLE: &str = "TENANTLINK_SKIP_POSTGRES";

/// `TENANTLINK_TEST_POSTGRES_URL`, or the local server `scripts/test` starts: for suites that
/// always run their PostgreSQL cases and fail (naming the fix) when no server answers.
pub fn server_url() -> String {
    configured_server().unwrap_or_else(|| LOCAL_SERVER.to_owned())
}

/// `TENANTLINK_TEST_POSTGRES_URL`; `None` when the PostgreSQL cases are skipped on purpose with
/// `TENANTLINK_SKIP_POSTGRES=1`. Anything else panics: a PostgreSQL test that quietly passes
/// without a database proves nothing.
pub fn required_server_url() -> Option<String> {
    if let Some(url) = configured_server() {
        return Some(url);
    }
    if std::env::var(SKIP_VARIABLE).as_deref() == Ok("1") {
        eprintln!("{SKIP_VARIABLE}=1: this PostgreSQL variant is skipped");
        return None;
    }
    panic!(
        "{SERVER_VARIABLE} is not set. The PostgreSQL variants need a server where they may \
         create databases: run scripts/test (it starts PostgreSQL and sets {LOCAL_SERVER}), \
         export {SERVER_VARIABLE} yourself, or set {SKIP_VARIABLE}=1 to skip them on purpose."
    )
}

fn configured_server() -> Option<String> {
    std::env::var(SERVER_VARIABLE)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// A fresh, empty database `tenantlink_test_<random>` that exists for this value's lifetime.
#[derive(Debug)]
pub struct TestDatabase {
    server_url: String,
    name: String,
    url: String,
}

impl TestDatabase {
    /// A database on [`server_url`].
    pub fn create() -> Self {
        Self::create_on(&server_url())
    }

    /// A database on the server at `server_url`.
    ///
    /// # Panics
    /// When `server_url` is not a URL, the server does not answer, or refuses the database:
    /// the message names the fix.
    pub fn create_on(server_url: &str) -> Self {
        let name = format!("tenantlink_test_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(server_url)
            .unwrap_or_else(|e| panic!("{SERVER_VARIABLE}={server_url:?} is not a URL: {e}"));
        url.set_path(&format!("/{name}"));
        let created = on_own_runtime({
            let server_url = server_url.to_owned();
            let statement = format!("CREATE DATABASE {name}");
            move || execute(server_url, statement)
        });
        if let Err(error) = created {
            panic!(
                "PostgreSQL at {server_url} cannot create a test database ({error}). Run \
                 scripts/test (it starts or installs PostgreSQL), or point {SERVER_VARIABLE} at \
                 a server with trust auth."
            );
        }
        Self {
            server_url: server_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    /// The URL to connect to this database with.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // FORCE: a killed server's or a leaked pool's connections may still be open.
        let server_url = self.server_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let _ = on_own_runtime(move || execute(server_url, statement));
    }
}

/// Runs one statement on its own connection.
async fn execute(server_url: String, statement: String) -> Result<(), sqlx::Error> {
    let mut connection = PgConnection::connect(&server_url).await?;
    let outcome = sqlx::query(sqlx::AssertSqlSafe(statement))
        .execute(&mut connection)
        .await;
    let _ = connection.close().await;
    outcome.map(drop)
}

/// Runs `work` to completion on a new thread with a current-thread runtime: a test's runtime
/// cannot block on async work from inside (nor from `Drop`), and a synchronous test has none.
fn on_own_runtime<F, Fut>(work: F) -> Fut::Output
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future,
    Fut::Output: Send + 'static,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime for the test database")
            .block_on(work())
    })
    .join()
    .expect("the test database thread panicked")
}
