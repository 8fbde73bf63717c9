//! Connecting, migrating, and the small amount of glue that lets one body of SQL serve
//! both SQLite and PostgreSQL.
//!
//! Why not sqlx's `Any` driver: it cannot decode SQLite booleans, drops the SQLite connect
//! options (WAL, busy timeout) and would hide backend-specific errors. Instead every query
//! is written once with `$N` placeholders (which SQLite also understands) and the
//! `with_pool!` macro expands the same body for each concrete pool type.

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr};
use time::OffsetDateTime;

use crate::error::{StoreError, StoreResult};

/// How long a SQLite writer waits for another writer before reporting "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Which database a [`crate::Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BackendKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, Clone)]
pub(crate) enum Backend {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Options for [`crate::Store::open_with`].
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Upper bound of pooled connections.
    pub max_connections: u32,
}

impl Default for OpenOptions {
    fn default() -> Self {
        Self { max_connections: 8 }
    }
}

/// Expands `$body` once per backend with `$pool` bound to the concrete pool, so queries are
/// type-checked against each driver while the SQL text is shared.
macro_rules! with_pool {
    ($store:expr, |$pool:ident| $body:expr) => {
        match &$store.backend {
            $crate::db::Backend::Sqlite($pool) => $body,
            $crate::db::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

pub(crate) async fn connect(url: &str, options: &OpenOptions) -> StoreResult<Backend> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or("");
    match scheme {
        "sqlite" => {
            let connect =
                SqliteConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
                    scheme: scheme.to_owned(),
                    source,
                })?;
            connect_sqlite(connect, options).await
        }
        "postgres" | "postgresql" => {
            let connect =
                PgConnectOptions::from_str(url).map_err(|source| StoreError::InvalidUrl {
                    scheme: scheme.to_owned(),
                    source,
                })?;
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections)
                .connect_with(connect)
                .await
                .map_err(StoreError::Connect)?;
            Ok(Backend::Postgres(pool))
        }
        other => Err(StoreError::UnsupportedUrl {
            scheme: other.to_owned(),
        }),
    }
}

/// Opens (creating if needed) a SQLite file by path, sidestepping URL escaping of paths
/// that contain `?`, `#`, `%` or spaces.
pub(crate) async fn connect_sqlite_file(
    path: &std::path::Path,
    options: &OpenOptions,
) -> StoreResult<Backend> {
    let connect = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    connect_sqlite(connect, options).await
}

async fn connect_sqlite(
    connect: SqliteConnectOptions,
    options: &OpenOptions,
) -> StoreResult<Backend> {
    let connect = connect
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let pool = SqlitePoolOptions::new()
        .max_connections(options.max_connections)
        .connect_with(connect)
        .await
        .map_err(StoreError::Connect)?;
    Ok(Backend::Sqlite(pool))
}

/// Migrations are embedded at compile time so the binary needs no migrations folder.
/// Never edit an applied migration (sqlx refuses a changed checksum): add the next one.
fn migrator(kind: BackendKind) -> Migrator {
    let files: [(i64, &'static str, &'static str); 15] = match kind {
        BackendKind::Sqlite => [
            (
                1,
                "initial",
                include_str!("../migrations/sqlite/0001_initial.sql"),
            ),
            (
                2,
                "operation fields and proofs",
                include_str!("../migrations/sqlite/0002_operation_fields_and_proofs.sql"),
            ),
            (
                3,
                "due policies order",
                include_str!("../migrations/sqlite/0003_due_policies_order.sql"),
            ),
            (
                4,
                "operation sign-in holder",
                include_str!("../migrations/sqlite/0004_operation_sign_in_holder.sql"),
            ),
            (
                5,
                "the service's words",
                include_str!("../migrations/sqlite/0005_service_words.sql"),
            ),
            (
                6,
                "organization assertion profile",
                include_str!("../migrations/sqlite/0006_organization_assertion_profile.sql"),
            ),
            (
                7,
                "sign-in failures per user name and address",
                include_str!("../migrations/sqlite/0007_sign_in_failures.sql"),
            ),
            (
                8,
                "api token owner",
                include_str!("../migrations/sqlite/0008_api_token_owner.sql"),
            ),
            (
                9,
                "operation heartbeat",
                include_str!("../migrations/sqlite/0009_operation_heartbeat.sql"),
            ),
            (
                10,
                "private key binding",
                include_str!("../migrations/sqlite/0010_key_binding.sql"),
            ),
            (
                11,
                "renewal",
                include_str!("../migrations/sqlite/0011_renewal.sql"),
            ),
            (
                12,
                "rotation",
                include_str!("../migrations/sqlite/0012_rotation.sql"),
            ),
            (
                13,
                "notices",
                include_str!("../migrations/sqlite/0013_notices.sql"),
            ),
            (
                14,
                "connect",
                include_str!("../migrations/sqlite/0014_connect.sql"),
            ),
            (
                15,
                "fleet revisions",
                include_str!("../migrations/sqlite/0015_fleet_revisions.sql"),
            ),
        ],
        BackendKind::Postgres => [
            (
                1,
                "initial",
                include_str!("../migrations/postgres/0001_initial.sql"),
            ),
            (
                2,
                "operation fields and proofs",
                include_str!("../migrations/postgres/0002_operation_fields_and_proofs.sql"),
            ),
            (
                3,
                "due policies order",
                include_str!("../migrations/postgres/0003_due_policies_order.sql"),
            ),
            (
                4,
                "operation sign-in holder",
                include_str!("../migrations/postgres/0004_operation_sign_in_holder.sql"),
            ),
            (
                5,
                "the service's words",
                include_str!("../migrations/postgres/0005_service_words.sql"),
            ),
            (
                6,
                "organization assertion profile",
                include_str!("../migrations/postgres/0006_organization_assertion_profile.sql"),
            ),
            (
                7,
                "sign-in failures per user name and address",
                include_str!("../migrations/postgres/0007_sign_in_failures.sql"),
            ),
            (
                8,
                "api token owner",
                include_str!("../migrations/postgres/0008_api_token_owner.sql"),
            ),
            (
                9,
                "operation heartbeat",
                include_str!("../migrations/postgres/0009_operation_heartbeat.sql"),
            ),
            (
                10,
                "private key binding",
                include_str!("../migrations/postgres/0010_key_binding.sql"),
            ),
            (
                11,
                "renewal",
                include_str!("../migrations/postgres/0011_renewal.sql"),
            ),
            (
                12,
                "rotation",
                include_str!("../migrations/postgres/0012_rotation.sql"),
            ),
            (
                13,
                "notices",
                include_str!("../migrations/postgres/0013_notices.sql"),
            ),
            (
                14,
                "connect",
                include_str!("../migrations/postgres/0014_connect.sql"),
            ),
            (
                15,
                "fleet revisions",
                include_str!("../migrations/postgres/0015_fleet_revisions.sql"),
            ),
        ],
    };
    Migrator::with_migrations(
        files
            .into_iter()
            .map(|(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

pub(crate) async fn migrate(backend: &Backend) -> StoreResult<()> {
    match backend {
        Backend::Sqlite(pool) => migrator(BackendKind::Sqlite).run(pool).await?,
        Backend::Postgres(pool) => migrator(BackendKind::Postgres).run(pool).await?,
    }
    Ok(())
}

/// Uniform column access over both row types, so record decoding is written once.
/// Errors name the column (and the table, for rows read through [`in_table`]); a value that
/// does not parse (an id, an enum, a negative version) is [`StoreError::Corrupt`], never a
/// default.
pub(crate) trait Columns {
    fn get_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    fn get_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    fn get_blob(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error>;
    fn get_flag(&self, column: &str) -> Result<bool, sqlx::Error>;

    /// The table the row comes from, for error messages; empty when unknown.
    fn table(&self) -> &'static str {
        ""
    }

    fn corrupt(&self, column: &'static str, value: impl Into<String>) -> StoreError {
        StoreError::Corrupt {
            table: self.table(),
            column,
            value: value.into(),
        }
    }

    fn opt_text(&self, column: &'static str) -> StoreResult<Option<String>> {
        self.get_text(column).map_err(StoreError::decode(column))
    }
    fn text(&self, column: &'static str) -> StoreResult<String> {
        self.opt_text(column)?
            .ok_or_else(|| self.corrupt(column, "NULL"))
    }
    fn opt_int(&self, column: &'static str) -> StoreResult<Option<i64>> {
        self.get_int(column).map_err(StoreError::decode(column))
    }
    fn int(&self, column: &'static str) -> StoreResult<i64> {
        self.opt_int(column)?
            .ok_or_else(|| self.corrupt(column, "NULL"))
    }
    /// A count or version: never negative.
    fn unsigned(&self, column: &'static str) -> StoreResult<u64> {
        let value = self.int(column)?;
        u64::try_from(value).map_err(|_| self.corrupt(column, value.to_string()))
    }
    fn blob(&self, column: &'static str) -> StoreResult<Vec<u8>> {
        self.get_blob(column)
            .map_err(StoreError::decode(column))?
            .ok_or_else(|| self.corrupt(column, "NULL"))
    }
    fn flag(&self, column: &'static str) -> StoreResult<bool> {
        self.get_flag(column).map_err(StoreError::decode(column))
    }
    fn time(&self, column: &'static str) -> StoreResult<OffsetDateTime> {
        let micros = self.int(column)?;
        from_micros(micros).ok_or_else(|| self.corrupt(column, micros.to_string()))
    }
    fn opt_time(&self, column: &'static str) -> StoreResult<Option<OffsetDateTime>> {
        match self.opt_int(column)? {
            None => Ok(None),
            Some(micros) => from_micros(micros)
                .map(Some)
                .ok_or_else(|| self.corrupt(column, micros.to_string())),
        }
    }
    /// A text column holding one of a closed set of values (an enum or a typed id).
    fn parsed<T: FromStr>(&self, column: &'static str) -> StoreResult<T> {
        let raw = self.text(column)?;
        raw.parse().map_err(|_| self.corrupt(column, raw))
    }
    fn opt_parsed<T: FromStr>(&self, column: &'static str) -> StoreResult<Option<T>> {
        match self.opt_text(column)? {
            None => Ok(None),
            Some(raw) => match raw.parse() {
                Ok(value) => Ok(Some(value)),
                Err(_) => Err(self.corrupt(column, raw)),
            },
        }
    }
}

/// A row of `table`: its decoding errors name the table.
pub(crate) struct InTable<'r, R> {
    table: &'static str,
    row: &'r R,
}

pub(crate) fn in_table<'r, R: Columns>(table: &'static str, row: &'r R) -> InTable<'r, R> {
    InTable { table, row }
}

impl<R: Columns> Columns for InTable<'_, R> {
    fn get_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.row.get_text(column)
    }
    fn get_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.row.get_int(column)
    }
    fn get_blob(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        self.row.get_blob(column)
    }
    fn get_flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.row.get_flag(column)
    }
    fn table(&self) -> &'static str {
        self.table
    }
}

/// The columns of one table inside a joined row, where each was selected as `<prefix><name>`
/// (a join's tables share column names such as `id`): the table's own decoder reads them by
/// their plain names.
pub(crate) struct Prefixed<'r, R> {
    prefix: &'static str,
    row: &'r R,
}

pub(crate) fn prefixed<'r, R: Columns>(prefix: &'static str, row: &'r R) -> Prefixed<'r, R> {
    Prefixed { prefix, row }
}

impl<R: Columns> Prefixed<'_, R> {
    /// `<prefix><column>`, built on the stack: a fleet read looks up some 40 columns in each of
    /// thousands of rows, and a heap string per lookup would cost more than the lookup.
    fn with_name<T>(&self, column: &str, read: impl FnOnce(&str) -> T) -> T {
        let mut buffer = [0u8; 64];
        let (prefix, column) = (self.prefix.as_bytes(), column.as_bytes());
        let length = prefix.len() + column.len();
        if length > buffer.len() {
            return read(&format!(
                "{}{}",
                self.prefix,
                String::from_utf8_lossy(column)
            ));
        }
        buffer[..prefix.len()].copy_from_slice(prefix);
        buffer[prefix.len()..length].copy_from_slice(column);
        // Two valid UTF-8 strings joined are valid UTF-8.
        read(std::str::from_utf8(&buffer[..length]).unwrap_or_default())
    }
}

impl<R: Columns> Columns for Prefixed<'_, R> {
    fn get_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
        self.with_name(column, |name| self.row.get_text(name))
    }
    fn get_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
        self.with_name(column, |name| self.row.get_int(name))
    }
    fn get_blob(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
        self.with_name(column, |name| self.row.get_blob(name))
    }
    fn get_flag(&self, column: &str) -> Result<bool, sqlx::Error> {
        self.with_name(column, |name| self.row.get_flag(name))
    }
    fn table(&self) -> &'static str {
        self.row.table()
    }
}

/// `columns` (comma-separated plain names) as `<alias>.<name> AS <prefix><name>`, for a join
/// read back through [`prefixed`].
pub(crate) fn aliased(alias: &str, prefix: &str, columns: &str) -> String {
    columns
        .split(',')
        .map(str::trim)
        .filter(|name| !name.is_empty())
        .map(|name| format!("{alias}.{name} AS {prefix}{name}"))
        .collect::<Vec<_>>()
        .join(", ")
}

macro_rules! impl_columns {
    ($row:ty) => {
        impl Columns for $row {
            fn get_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn get_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn get_blob(&self, column: &str) -> Result<Option<Vec<u8>>, sqlx::Error> {
                self.try_get(column)
            }
            fn get_flag(&self, column: &str) -> Result<bool, sqlx::Error> {
                self.try_get(column)
            }
        }
    };
}
impl_columns!(SqliteRow);
impl_columns!(PgRow);

/// Timestamps are stored as unix microseconds: portable across both backends, ordered
/// correctly by plain integer comparison, and wide enough for X.509's 9999-12-31.
pub(crate) fn to_micros(at: OffsetDateTime) -> StoreResult<i64> {
    i64::try_from(at.unix_timestamp_nanos() / 1_000)
        .map_err(|_| StoreError::TimestampOutOfRange { at })
}

pub(crate) fn opt_to_micros(at: Option<OffsetDateTime>) -> StoreResult<Option<i64>> {
    at.map(to_micros).transpose()
}

pub(crate) fn from_micros(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
}
