//! A fresh PostgreSQL database per test server, created and dropped with `psql` (the test command
//! installs PostgreSQL and its client tools), and read back with `pg_dump` for secret scans.

use std::process::Command;

/// `TENANTLINK_TEST_POSTGRES_URL`, or `None` when the PostgreSQL variants are explicitly skipped
/// with `TENANTLINK_SKIP_POSTGRES=1`. Anything else fails loudly: a PostgreSQL test that quietly
/// passes without a database proves nothing.
pub fn admin_url() -> Option<String> {
    match std::env::var("TENANTLINK_TEST_POSTGRES_URL") {
        Ok(url) if !url.trim().is_empty() => Some(url),
        _ if std::env::var("TENANTLINK_SKIP_POSTGRES").as_deref() == Ok("1") => {
            eprintln!("TENANTLINK_SKIP_POSTGRES=1: this PostgreSQL variant is skipped");
            None
        }
        _ => panic!(
            "TENANTLINK_TEST_POSTGRES_URL is not set. The PostgreSQL variants of the serve tests \
             need a server where they may create databases: run scripts/test (it starts \
             PostgreSQL and sets postgres://postgres@127.0.0.1:5432/postgres), export \
             TENANTLINK_TEST_POSTGRES_URL yourself, or set TENANTLINK_SKIP_POSTGRES=1 to skip \
             them on purpose."
        ),
    }
}

/// A database `tl_<random>` that exists for this value's lifetime.
#[derive(Debug)]
pub struct PostgresDatabase {
    admin_url: String,
    pub name: String,
    /// The URL the service connects to.
    pub url: String,
}

impl PostgresDatabase {
    pub fn create(admin_url: &str) -> Self {
        let name = format!("tl_{}", uuid::Uuid::new_v4().simple());
        let mut url = url::Url::parse(admin_url).unwrap_or_else(|e| {
            panic!("TENANTLINK_TEST_POSTGRES_URL={admin_url:?} is not a URL: {e}")
        });
        url.set_path(&format!("/{name}"));
        psql(admin_url, &format!("CREATE DATABASE {name}"));
        Self {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        }
    }

    /// Everything in the database as text, the way someone with database access sees it:
    /// `pg_dump`'s plain output (bytea columns as hex), or, without `pg_dump`, a `COPY` of every
    /// table of the public schema.
    pub fn dump(&self) -> Vec<u8> {
        match Command::new("pg_dump")
            .args(["--no-owner", "--dbname", &self.url])
            .output()
        {
            Ok(output) => {
                assert!(
                    output.status.success(),
                    "pg_dump {}: {}",
                    self.name,
                    String::from_utf8_lossy(&output.stderr)
                );
                output.stdout
            }
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => self.copy_every_table(),
            Err(err) => panic!("run pg_dump: {err}"),
        }
    }

    fn copy_every_table(&self) -> Vec<u8> {
        let tables = psql(
            &self.url,
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
        );
        let mut all = Vec::new();
        for table in String::from_utf8_lossy(&tables)
            .lines()
            .filter(|t| !t.is_empty())
        {
            all.extend(psql(
                &self.url,
                &format!("COPY public.\"{table}\" TO STDOUT"),
            ));
        }
        assert!(!all.is_empty(), "the database {} has no rows", self.name);
        all
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        // FORCE: a killed server's connections may not have been noticed by PostgreSQL yet.
        let _ = Command::new("psql")
            .args(["--no-psqlrc", "-q", "-v", "ON_ERROR_STOP=1", "--dbname"])
            .arg(&self.admin_url)
            .arg("-c")
            .arg(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .output();
    }
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
