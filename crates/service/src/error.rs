use crate::operation::{OperationId, OperationStep};
use crate::ports::{DirectoryError, RepositoryError};

/// Failures of service calls, each with enough context for the one place in the web crate that
/// turns errors into responses.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{what} was not found")]
    NotFound { what: String },
    #[error("you are not allowed to {action}; ask an administrator")]
    Forbidden { action: String },
    #[error("{message}")]
    Invalid { field: String, message: String },
    #[error("operation {id} is {step}, so it cannot {action}")]
    WrongStep {
        id: OperationId,
        step: &'static str,
        action: &'static str,
    },
    #[error("{detail}")]
    Conflict { detail: String },
    #[error("{0}")]
    Directory(#[from] DirectoryError),
    #[error("{0}")]
    Repository(RepositoryError),
    #[error(
        "too many failed sign-ins for this account from your address; try again in {retry_after_seconds} seconds"
    )]
    Throttled { retry_after_seconds: u64 },
    #[error("the user name or password is wrong")]
    BadCredentials,
    /// A fault inside this process (a worker thread panicked, a pool closed); never the caller's.
    #[error("{0}")]
    Internal(String),
}

impl ServiceError {
    pub fn wrong_step(id: OperationId, step: OperationStep, action: &'static str) -> Self {
        Self::WrongStep {
            id,
            step: step.as_str(),
            action,
        }
    }
}

impl From<RepositoryError> for ServiceError {
    fn from(err: RepositoryError) -> Self {
        match err {
            RepositoryError::NotFound { what } => Self::NotFound { what },
            RepositoryError::Conflict { detail } => Self::Conflict { detail },
            other => Self::Repository(other),
        }
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
