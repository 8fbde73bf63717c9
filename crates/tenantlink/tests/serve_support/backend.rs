//! One test deployment of `tenantlink serve`: a data directory, and the database the service
//! stores into — SQLite in the data directory, or a fresh PostgreSQL database. Scenarios are
//! written once and run on both (see [`on_both_backends!`](crate::on_both_backends)).

use super::postgres::{self, TestDatabase, required_server_url};
use super::{Server, ServerOptions};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Field order matters for dropping: the data directory goes before the database.
pub struct Deployment {
    pub backend: Backend,
    dir: tempfile::TempDir,
    pub postgres: Option<TestDatabase>,
}

impl Deployment {
    /// `None` only for PostgreSQL with `TENANTLINK_SKIP_POSTGRES=1`; see [`required_server_url`].
    pub fn new(backend: Backend) -> Option<Self> {
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(TestDatabase::create_on(&required_server_url()?)),
        };
        Some(Self {
            backend,
            dir: tempfile::tempdir().expect("temp dir"),
            postgres,
        })
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// A scratch directory beside the data directory (PFX files and the like).
    pub fn scratch_dir(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("scratch dir");
        dir
    }

    pub fn options(&self) -> ServerOptions {
        ServerOptions {
            database_url: self.postgres.as_ref().map(|db| db.url().to_owned()),
            ..ServerOptions::default()
        }
    }

    pub fn start(&self) -> Server {
        Server::start_with(&self.data_dir(), self.options())
    }

    /// What the database holds, as files or a dump: the SQLite database with its WAL and
    /// shared-memory files, or the PostgreSQL dump.
    pub fn database_contents(&self) -> Vec<(String, Vec<u8>)> {
        match &self.postgres {
            Some(database) => vec![(
                format!("pg_dump of {}", database.name()),
                postgres::dump(database),
            )],
            None => {
                let contents: Vec<(String, Vec<u8>)> =
                    ["tenantlink.db", "tenantlink.db-wal", "tenantlink.db-shm"]
                        .into_iter()
                        .filter_map(|name| {
                            std::fs::read(self.data_dir().join(name))
                                .ok()
                                .map(|bytes| (name.to_owned(), bytes))
                        })
                        .collect();
                assert!(
                    contents.iter().any(|(name, _)| name == "tenantlink.db"),
                    "no SQLite database in {}",
                    self.data_dir().display()
                );
                contents
            }
        }
    }
}

/// Writes a scenario `async fn name(backend: Backend)` into two tests, `name::sqlite` and
/// `name::postgres`.
#[macro_export]
macro_rules! on_both_backends {
    ($($scenario:ident),* $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test(flavor = "multi_thread")]
                async fn sqlite() {
                    super::$scenario($crate::serve_support::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread")]
                async fn postgres() {
                    super::$scenario($crate::serve_support::Backend::Postgres).await
                }
            }
        )*
    };
}
