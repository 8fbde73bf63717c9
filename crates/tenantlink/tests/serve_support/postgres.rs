//! The serve tests' PostgreSQL: a throw-away `TestDatabase` per test server (the suites fail
//! loudly without `TENANTLINK_TEST_POSTGRES_URL` unless skipped on purpose, see
//! [`required_server_url`]), read back with `pg_dump` for secret scans.

use std::process::Command;

pub use tenantlink_test_support::TestDatabase;
pub use tenantlink_test_support::postgres::required_server_url;

/// Everything in the database as text, the way someone with database access sees it:
/// `pg_dump`'s plain output (bytea columns as hex), or, without `pg_dump`, a `COPY` of every
/// table of the public schema.
pub fn dump(database: &TestDatabase) -> Vec<u8> {
    match Command::new("pg_dump")
        .args(["--no-owner", "--dbname", database.url()])
        .output()
    {
        Ok(output) => {
            assert!(
                output.status.success(),
                "pg_dump {}: {}",
                database.name(),
                String::from_utf8_lossy(&output.stderr)
            );
            output.stdout
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => copy_every_table(database),
        Err(err) => panic!("run pg_dump: {err}"),
    }
}

fn copy_every_table(database: &TestDatabase) -> Vec<u8> {
    let tables = psql(
        database.url(),
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    let mut all = Vec::new();
    for table in String::from_utf8_lossy(&tables)
        .lines()
        .filter(|t| !t.is_empty())
    {
        all.extend(psql(
            database.url(),
            &format!("COPY public.\"{table}\" TO STDOUT"),
        ));
    }
    assert!(
        !all.is_empty(),
        "the database {} has no rows",
        database.name()
    );
    all
}

/// Runs one statement; returns its unaligned, tuples-only output.
fn psql(url: &str, sql: &str) -> Vec<u8> {
    let output = Command::new("psql")
        .args([
            "--no-psqlrc",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "--dbname",
        ])
        .arg(url)
        .arg("-c")
        .arg(sql)
        .output()
        .unwrap_or_else(|e| {
            panic!("run psql (PostgreSQL's client; scripts/test installs it): {e}")
        });
    assert!(
        output.status.success(),
        "psql {sql:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}
