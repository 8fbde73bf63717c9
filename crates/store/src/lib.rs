//! tenantlink-store: persistence for the tenantlink service.
//!
//! One [`Store`] facade over SQLite (default) or PostgreSQL, opened by URL. Rows decode
//! straight into the service's types (`tenantlink_service::{Organization, StoredCertificate,
//! Operation, …}`), and [`StoreRepository`] is the service's `Repository` and
//! `AccountRepository` over it. Every method takes the time from its caller (the store never
//! reads the clock), and a stored value that does not parse is [`StoreError::Corrupt`], naming
//! its table and column. The store enforces the service's invariants in the database itself where a race could break
//! them: one active certificate and one unfinished certificate operation per organization,
//! one running backup per policy, an append-only audit log. Private keys are encrypted at rest under a [`MasterKey`].
//!
//! See `docs/storage.md` for the schema and the reasons behind it.

mod audit;
mod backup;
mod certificates;
mod crypto;
mod db;
mod error;
mod fleet;
mod hex;
mod key_binding;
mod login_attempts;
mod master_key;
mod notices;
mod operations;
mod organizations;
mod private_keys;
mod proofs;
mod renewal;
mod repository;
mod tokens;
mod users;

pub use certificates::NewCertificate;
pub use crypto::CryptoError;
pub use db::{BackendKind, OpenOptions};
pub use error::{Conflict, StoreError, StoreResult};
pub use master_key::{MASTER_KEY_FILE, MasterKey, MasterKeyError, MasterKeyId};
pub use operations::{Activation, OperationUpdate};
pub use repository::StoreRepository;
pub use tokens::{BearerSecret, SecretHash};

use db::{Backend, with_pool};

/// Handle to the database. Cheap to clone (it wraps a connection pool).
#[derive(Clone)]
pub struct Store {
    backend: Backend,
}

/// Shows only the backend: connection options can carry a database password.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend_kind())
            .finish()
    }
}

impl Store {
    /// Opens `sqlite://PATH?mode=rwc` or `postgres://...` and applies pending migrations.
    pub async fn open(url: &str) -> StoreResult<Self> {
        Self::open_with(url, &OpenOptions::default()).await
    }

    pub async fn open_with(url: &str, options: &OpenOptions) -> StoreResult<Self> {
        let store = Self {
            backend: db::connect(url, options).await?,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Opens (creating if needed) the SQLite database at `path` and applies pending
    /// migrations. Prefer this to building a `sqlite://` URL from a path.
    pub async fn open_sqlite_file(
        path: &std::path::Path,
        options: &OpenOptions,
    ) -> StoreResult<Self> {
        let store = Self {
            backend: db::connect_sqlite_file(path, options).await?,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies migrations not yet applied. Idempotent.
    pub async fn migrate(&self) -> StoreResult<()> {
        db::migrate(&self.backend).await
    }

    pub fn backend_kind(&self) -> BackendKind {
        match self.backend {
            Backend::Sqlite(_) => BackendKind::Sqlite,
            Backend::Postgres(_) => BackendKind::Postgres,
        }
    }

    /// Checks that the database answers; for readiness probes.
    pub async fn ping(&self) -> StoreResult<()> {
        with_pool!(self, |pool| {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err(StoreError::db("ping the database"))?;
        });
        Ok(())
    }

    /// Closes every pooled connection, waiting for those in use.
    pub async fn close(&self) {
        with_pool!(self, |pool| pool.close().await)
    }
}
