//! The service's secrets are the workspace's one secret type; re-exported so that callers of the
//! service name it `tenantlink_service::SecretString` without another dependency.

pub use tenantlink_secret::SecretString;
