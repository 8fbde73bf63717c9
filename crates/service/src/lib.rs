//! tenantlink-service: what the administrator can do, without HTTP.
//!
//! The service talks to three outside worlds through traits, so every workflow is testable with
//! fakes and runs unchanged against the real parts:
//! - [`Directory`]: Entra ID + Microsoft Graph (device sign-in, application keys, app-only tokens),
//! - [`Repository`] and [`AccountRepository`]: durable state,
//! - [`tenantlink_clock::Clock`] and [`tenantlink_clock::Sleeper`]: time.
//!
//! The two certificate workflows (generate, upload) are durable state machines ([`Operation`]):
//! every step is persisted before the next begins, so a restart resumes or fails them cleanly,
//! and the active certificate changes only through a compare-and-swap after a token proof.

mod accounts;
mod assertion_profile;
mod audit;
pub mod backup;
pub mod browser_sign_in;
mod certificate_page;
mod cloud;
mod error;
pub mod fleet;
mod heavy;
mod model;
pub mod notices;
pub mod observe;
mod operation;
mod ports;
mod proof;
pub mod registrar;
pub mod remediation;
pub mod renewal;
mod secret;
mod workflows;

#[cfg(feature = "fakes")]
pub mod fakes;

pub use accounts::{
    Accounts, ApiTokenIssued, Caller, CallerAccount, CallerVia, ClientAddress,
    DEFAULT_TOKEN_LIFETIME, LoginOutcome, LoginThrottle, MAX_PASSWORD_LEN,
    MAX_SIGN_IN_USERNAME_BYTES, MAX_TOKEN_LIFETIME, MAX_USERNAME_LEN, MIN_PASSWORD_CHARS,
    PRUNE_EVERY, Permission, Pruned, SessionIssued, login_csrf_token_for, new_login_csrf_secret,
    random_secret, sign_in_username,
};
pub use assertion_profile::{AssertionProfile, UnknownAssertionProfile};
pub use audit::{
    AuditAction, AuditEntry, AuditFilter, AuditOutcome, MAX_AUDIT_ACTOR_BYTES,
    MAX_AUDIT_DETAIL_BYTES, NewAuditEntry, TRUNCATED_MARKER, quote_bounded,
};
pub use backup::{
    BackupPolicy, BackupRepository, BackupRun, BackupScope, DeltaLink, MailboxItem,
    NewBackupPolicy, PolicyId, RunId, RunStatus, RunSummary, RunTrigger, UpsertOutcome,
};
pub use certificate_page::{
    CertificatePage, CertificateStatus, CertificateView, EXPIRING_SOON_DAYS, LastCheck,
};
pub use cloud::Cloud;
pub use error::{ServiceError, ServiceResult};
pub use heavy::HeavyWork;
pub use model::{
    ApiTokenId, CertificateId, CertificateSource, CertificateState, ConnectionState,
    NewOrganization, Organization, OrganizationId, Role, StoredCertificate, UnknownValue, UserId,
    UserRecord,
};
pub use operation::{
    Operation, OperationFailure, OperationId, OperationKind, OperationStep, SignInPrompt,
};
pub use ports::{
    AccountRepository, ApiTokenRecord, Application, ApplicationKey, BoxFuture, CredentialRefusal,
    DelegatedToken, DeviceCode, DeviceSignIn, Directory, DirectoryError, DirectoryErrorKind,
    NewApiToken, ProvenToken, RepoResult, Repository, RepositoryError, SessionRecord,
    SignInFailures, SignInPoll, SignInPurpose, SignInRecords, TokenWithOwner, UserChange,
};
pub use proof::{CredentialProof, ProofOutcome, ProofSource, connection_after_proof, record_proof};
pub use registrar::{
    ApplicationRequest, GraphPermission, GraphPermissions, RegisteredApp, Registrar,
    RegistrationCall, application_marker,
};
pub use secret::SecretString;
pub use workflows::{
    ConnectRequest, ConnectSettings, DEFAULT_OVERLAP_GRACE, HoldingPolicy, KeyRemoval,
    KeyRemovalReport, ProofPolicy, RENEWAL_ACTOR, Workflows, WorkflowsConfig,
    is_configured_organization, is_tenant_reference, key_removal, planned_key_removal,
};
