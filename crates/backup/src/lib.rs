//! Backup policies, the part of tenantlink that depends on the certificate: schedules, the
//! scheduler, and incremental mailbox backup runs through Microsoft Graph.
//!
//! - [`schedule`]: parse a policy's schedule (blank, interval, cron) and compute when it is due.
//! - [`Scheduler`]: finds due policies with the injected clock, never runs one policy twice at
//!   once, catches up after downtime with one run, and offers Run now.
//! - [`Policies`]: what the portal and the REST API call — policies of an organization with
//!   authorization, validation and audit, Run now, the job log, the connection state.
//! - [`BackupRunner`]: one run — app-only token with the organization's certificate through the
//!   shared token cache, users in scope, each mailbox through Graph's delta query, the job log.
//!
//! Backup goes through the same doors as the certificate workflows: its records and its storage
//! port ([`tenantlink_service::BackupRepository`]) are the service's, organizations, certificates
//! and private keys come through the service's [`tenantlink_service::Repository`], and a run's
//! verdict on the credential goes through the service's proof rule
//! ([`tenantlink_service::record_proof`]). `tenantlink-store` implements both ports. Entra and
//! Graph are reached through `tenantlink-entra`'s transport (retries, `Retry-After`) and token
//! cache (single flight).

pub mod credentials;
pub mod graph;
pub mod item;
mod notices;
pub mod policies;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod scheduler;
mod verdict;

pub use credentials::{CredentialError, CredentialSource, RepositoryCredentials};
pub use graph::{Continuation, DeltaPage, GraphReader, GraphUser};
pub use policies::{Connection, Policies, PolicyInput, PolicyOverview, RunDetail};
pub use report::{FailureStage, RunFailure, RunReport, certificate_page};
pub use runner::{
    BackupRunner, BoxFuture, GRAPH_DEFAULT_SCOPE, PageIndexed, RunError, RunObserver, RunnerConfig,
};
pub use schedule::{Schedule, ScheduleError, next_due};
pub use scheduler::{
    DEFAULT_MAX_CONCURRENT_RUNS, DEFAULT_RUN_STALE_AFTER, Dispatch, PolicyExecutor, RunnerExecutor,
    Scheduler, StartedRun,
};
