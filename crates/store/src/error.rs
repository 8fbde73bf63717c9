//! Errors of the store. Every variant names what was being done, so a caller can turn it
//! into a specific message without parsing text.

use time::OffsetDateTime;

use crate::crypto::CryptoError;
use crate::master_key::MasterKeyError;
use tenantlink_service::OperationStep;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "unsupported database URL scheme {scheme:?}: use sqlite://PATH?mode=rwc or postgres://USER@HOST/DB"
    )]
    UnsupportedUrl { scheme: String },
    #[error("invalid {scheme} database URL: {source}")]
    InvalidUrl {
        scheme: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot connect to the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database error while trying to {action}: {source}")]
    Database {
        action: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("cannot {action}: it would duplicate an existing record ({constraint})")]
    AlreadyExists {
        action: &'static str,
        constraint: String,
    },
    #[error("cannot {action}: a referenced record does not exist")]
    MissingReference { action: &'static str },
    #[error("{entity} {id} not found")]
    NotFound { entity: &'static str, id: String },
    #[error("{0}")]
    Conflict(#[from] Conflict),
    #[error(
        "operation {operation} is {from} and cannot become {to}{}",
        final_note(.from)
    )]
    InvalidTransition {
        operation: String,
        from: OperationStep,
        to: OperationStep,
    },
    /// A stored value that does not parse (an id, an enum, a version, a timestamp, JSON):
    /// reported, never replaced by a default.
    #[error(
        "stored value {value:?} in {table}.{column} is not valid; the database was modified outside tenantlink"
    )]
    Corrupt {
        table: &'static str,
        column: &'static str,
        value: String,
    },
    #[error("cannot read column {column}: {source}")]
    Decode {
        column: &'static str,
        #[source]
        source: sqlx::Error,
    },
    #[error("operation version {version} is outside the storable range")]
    VersionOutOfRange { version: u64 },
    #[error("timestamp {at} is outside the storable range")]
    TimestampOutOfRange { at: OffsetDateTime },
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error(transparent)]
    MasterKey(#[from] MasterKeyError),
    #[error("the system random number generator failed")]
    Random,
    #[error("cannot encode {what} as JSON: {source}")]
    Encode {
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
}

/// A compare-and-swap lost against a concurrent change; nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Conflict {
    #[error(
        "the organization's active certificate changed since this operation started (expected {expected}); nothing was activated"
    )]
    ActiveCertificateChanged { expected: String },
    #[error("operation {operation} is no longer at step {expected}; nothing was changed")]
    OperationStepChanged { operation: String, expected: String },
    #[error(
        "operation {operation} was changed by someone else (expected version {expected}); reload and retry"
    )]
    OperationVersionChanged { operation: String, expected: u64 },
    #[error(
        "another certificate operation ({operation}, started by {started_by}) is still unfinished for this organization; finish or cancel it before starting a new one"
    )]
    OperationInProgress {
        operation: String,
        started_by: String,
    },
    #[error("operation {operation} is leased by another worker until its lease expires")]
    OperationLeased { operation: String },
    #[error(
        "certificate {certificate} is not pending (it was already activated, retired or discarded)"
    )]
    CertificateNotPending { certificate: String },
    #[error("no enabled administrator would remain; make another account an administrator first")]
    LastAdministrator,
    #[error("policy {policy} already has a run in progress")]
    RunInProgress { policy: String },
    #[error("run {run} is already finished")]
    RunFinished { run: String },
}

fn final_note(from: &OperationStep) -> &'static str {
    if from.is_finished() {
        " (a finished operation never changes again)"
    } else {
        ""
    }
}

impl StoreError {
    /// Maps a driver error, recognising constraint violations so callers get a specific
    /// error instead of a generic database failure.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| match &source {
            sqlx::Error::Database(e) if e.is_unique_violation() => StoreError::AlreadyExists {
                action,
                constraint: e.constraint().unwrap_or("unique constraint").to_owned(),
            },
            sqlx::Error::Database(e) if e.is_foreign_key_violation() => {
                StoreError::MissingReference { action }
            }
            _ => StoreError::Database { action, source },
        }
    }

    pub(crate) fn decode(column: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError {
        move |source| StoreError::Decode { column, source }
    }

    pub(crate) fn not_found(entity: &'static str, id: impl ToString) -> StoreError {
        StoreError::NotFound {
            entity,
            id: id.to_string(),
        }
    }

    /// True when the error is a unique-constraint violation (a lost race on an invariant).
    pub fn is_already_exists(&self) -> bool {
        matches!(self, StoreError::AlreadyExists { .. })
    }
}
