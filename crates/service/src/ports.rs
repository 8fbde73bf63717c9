//! The outside worlds the service depends on, one trait each. Object-safe (boxed futures) so the
//! binary can choose implementations at run time and tests can pass fakes.

use crate::assertion_profile::AssertionProfile;
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::model::{
    ApiTokenId, CertificateId, CertificateSource, ConnectionState, NewOrganization, Organization,
    OrganizationId, Role, StoredCertificate, UserId, UserRecord,
};
use crate::operation::{Operation, OperationId, SignInPrompt};
use crate::proof::CredentialProof;
use crate::renewal::{RenewalPolicy, RenewalRecord, RenewalState};
use crate::secret::SecretString;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration as StdDuration;
use tenantlink_certificate::{Certificate, Credential, PrivateKey};
use time::OffsetDateTime;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

// ---------------------------------------------------------------------------------------------
// Directory: Entra ID + Microsoft Graph
// ---------------------------------------------------------------------------------------------

/// Entra ID and Graph as the workflows need them. The real implementation and the sandbox tenant
/// share one client; only base URLs differ.
pub trait Directory: Send + Sync + Debug + 'static {
    /// Starts a device sign-in against the organization's tenant.
    fn start_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>>;

    /// Starts a device sign-in for `purpose`: a [`SignInPurpose::Setup`] sign-in (Connect) also
    /// asks for the delegated scope that grants admin consent. The default serves directories
    /// whose one sign-in covers both (test doubles).
    fn start_device_sign_in_for<'a>(
        &'a self,
        organization: &'a Organization,
        purpose: SignInPurpose,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        let _ = purpose;
        self.start_device_sign_in(organization)
    }

    /// Asks the token endpoint once whether the person has signed in.
    fn poll_device_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>>;

    /// Reads the backup application (by `appId`) with the delegated token.
    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>>;

    /// Adds `certificate` to the application's keys by read–merge–write–verify, never removing
    /// another key.
    fn attach_certificate<'a>(
        &'a self,
        organization: &'a Organization,
        token: &'a DelegatedToken,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>>;

    /// Obtains one app-only token with `credential`: the proof that Entra accepts it.
    fn prove_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<ProvenToken, DirectoryError>>;

    /// Reads the backup application, keys included, app-only: the token is obtained with
    /// `credential` (no delegated sign-in). Rotation uses it to verify an added key and to find
    /// the key id of the one it removes.
    fn application_app_only<'a>(
        &'a self,
        organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>>;

    /// Graph `addKey`: adds `certificate` to the application's keys, proven by `signer` (a
    /// currently valid certificate the application lists; its app-only token too). Returns the
    /// key Graph added.
    fn add_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a Credential,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<ApplicationKey, DirectoryError>>;

    /// Graph `removeKey`: takes the key `key_id` off the application, proven by `signer`.
    fn remove_key<'a>(
        &'a self,
        organization: &'a Organization,
        signer: &'a Credential,
        key_id: &'a str,
    ) -> BoxFuture<'a, Result<(), DirectoryError>>;

    /// The `/authorize` URL of a browser sign-in (authorization code with PKCE S256) against
    /// the organization's tenant, for the same client and scopes as the device sign-in.
    fn browser_sign_in_url(
        &self,
        organization: &Organization,
        request: &crate::browser_sign_in::AuthorizeParameters,
    ) -> Result<String, DirectoryError>;

    /// Redeems a browser sign-in's one-time code with its PKCE verifier.
    fn redeem_browser_sign_in<'a>(
        &'a self,
        organization: &'a Organization,
        redemption: &'a crate::browser_sign_in::CodeRedemption,
    ) -> BoxFuture<'a, Result<crate::browser_sign_in::BrowserSignedIn, DirectoryError>>;
}

/// What a delegated sign-in is for, which decides the scopes it asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignInPurpose {
    /// Reading and updating an existing application's keys (Generate, Upload): Microsoft
    /// Graph's delegated `Application.ReadWrite.All`.
    #[default]
    ManageKeys,
    /// Registering the backup application and granting admin consent to its application
    /// permissions (Connect, Reconnect): also `AppRoleAssignment.ReadWrite.All`.
    Setup,
}

impl SignInPurpose {
    /// The purpose of an operation of `kind`'s sign-in.
    pub fn of(kind: crate::operation::OperationKind) -> Self {
        match kind {
            crate::operation::OperationKind::Connect => Self::Setup,
            _ => Self::ManageKeys,
        }
    }
}

/// The secret device code of a device sign-in; only the token endpoint sees it.
#[derive(Debug, Clone)]
pub struct DeviceCode(pub SecretString);

/// A delegated token from a device sign-in; lives only as long as its operation needs it.
#[derive(Debug, Clone)]
pub struct DelegatedToken(pub SecretString);

#[derive(Debug, Clone)]
pub struct DeviceSignIn {
    pub prompt: SignInPrompt,
    pub device_code: DeviceCode,
    /// How often the token endpoint may be asked.
    pub interval: StdDuration,
}

#[derive(Debug, Clone)]
pub enum SignInPoll {
    Pending,
    SignedIn {
        token: DelegatedToken,
        account: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
    pub keys: Vec<ApplicationKey>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApplicationKey {
    pub key_id: String,
    /// Upper-case hex SHA-1 thumbprint (Graph's `customKeyIdentifier`).
    pub sha1_thumbprint: String,
    pub display_name: Option<String>,
    pub end: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryErrorKind {
    SignInDeclined,
    SignInExpired,
    InsufficientPrivileges,
    /// A tenant policy (e.g. app management policy) refused the certificate.
    PolicyRejected,
    /// Entra refused the credential; may be propagation delay right after attaching.
    CredentialRejected,
    ApplicationNotFound,
    /// 5xx, network: worth retrying.
    Unavailable,
    /// 429: the directory asks to slow down (see [`DirectoryError::retry_after`]).
    Throttled,
    /// Graph `Directory_ResourceSizeExceeded`: the application holds too many keys.
    QuotaExceeded,
    /// Graph refused the proof of possession of addKey/removeKey
    /// (`Authentication_MissingOrMalformed`): the signing certificate is not a valid key of
    /// the application, or the proof is malformed.
    ProofRejected,
    /// A Conditional Access policy (AADSTS53003) refused the sign-in: for a device sign-in, the
    /// tenant blocks the device code flow, and the browser sign-in is the way on.
    SignInBlocked,
    /// The browser sign-in's code was refused: already used (AADSTS54005), expired (AADSTS70008)
    /// or issued for another attempt (AADSTS501481).
    CodeRefused,
    /// An app-only token was issued but lacks application permissions consented moments ago:
    /// Entra issues tokens without a consent that is still propagating.
    ConsentPending,
    Other,
}

/// Why Entra refused a certificate (AADSTS700027's reason), as the directory understood it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CredentialRefusal {
    /// "Key not found": the application does not list the certificate.
    KeyNotRegistered,
    /// "Key expired" (or not yet valid) on the application.
    KeyExpired,
    /// Another reason, e.g. a signature Entra could not verify.
    Other,
}

/// What the app-only token of a proof says of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvenToken {
    /// Its `roles` claim: the application permissions it carries (empty when it has none).
    /// `None` when the token could not be read (an opaque token): nothing is known then.
    pub roles: Option<Vec<String>>,
}

/// An explained failure from Entra or Graph: Entra's code and text plus what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DirectoryError {
    pub kind: DirectoryErrorKind,
    /// `AADSTS…` or Graph error code, when there is one.
    pub code: Option<String>,
    pub message: String,
    pub remediation: String,
    /// For a refused client assertion: why Entra refused the key.
    pub refusal: Option<CredentialRefusal>,
    /// How long the directory asked to wait before the next request (`Retry-After`).
    pub retry_after: Option<StdDuration>,
}

impl DirectoryError {
    pub fn new(
        kind: DirectoryErrorKind,
        code: Option<String>,
        message: impl Into<String>,
        remediation: impl Into<String>,
    ) -> Self {
        Self {
            kind,
            code,
            message: message.into(),
            remediation: remediation.into(),
            refusal: None,
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, wait: StdDuration) -> Self {
        self.retry_after = Some(wait);
        self
    }

    pub fn with_refusal(mut self, refusal: CredentialRefusal) -> Self {
        self.refusal = Some(refusal);
        self
    }

    /// Whether retrying the token proof may help (the new key is still propagating, or a
    /// transient failure).
    pub fn is_retryable_proof_failure(&self) -> bool {
        matches!(
            self.kind,
            DirectoryErrorKind::CredentialRejected
                | DirectoryErrorKind::ConsentPending
                | DirectoryErrorKind::Unavailable
                | DirectoryErrorKind::Throttled
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Repository: organizations, certificates, operations, audit
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RepositoryError {
    #[error("{what} not found")]
    NotFound { what: String },
    /// A compare-and-swap lost: someone else changed the row first.
    #[error("conflict: {detail}")]
    Conflict { detail: String },
    #[error("storage failed while trying to {action}: {detail}")]
    Storage { action: String, detail: String },
}

impl RepositoryError {
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::Conflict {
            detail: detail.into(),
        }
    }
    pub fn storage(action: impl Into<String>, detail: impl ToString) -> Self {
        Self::Storage {
            action: action.into(),
            detail: detail.to_string(),
        }
    }
}

pub type RepoResult<T> = Result<T, RepositoryError>;

/// Durable state of organizations, certificates, operations and the audit trail. Every
/// implementation keeps the same promises, checked by one contract suite
/// (`fakes::contract`, behind the `fakes` feature) against the in-memory fake and both SQL
/// databases.
pub trait Repository: Send + Sync + Debug + 'static {
    /// By name, then id.
    fn organizations(&self) -> BoxFuture<'_, RepoResult<Vec<Organization>>>;
    fn organization(&self, id: OrganizationId) -> BoxFuture<'_, RepoResult<Organization>>;
    fn add_organization(
        &self,
        new: NewOrganization,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>>;
    fn set_app_object_id<'a>(
        &'a self,
        id: OrganizationId,
        object_id: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>>;
    /// Records the backup application Connect registered (or found) for the organization: its
    /// `appId` and object id, replacing what was recorded (empty before the first Connect; a
    /// deleted application's after a Reconnect registered a new one). Returns it changed.
    /// `Conflict` when another organization already records that application in that tenant.
    fn set_application<'a>(
        &'a self,
        id: OrganizationId,
        app_id: &'a str,
        object_id: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Organization>>;
    /// Changes how the organization's client assertions are shaped; returns it changed.
    fn set_assertion_profile(
        &self,
        organization: OrganizationId,
        profile: AssertionProfile,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>>;
    /// Records whether the organization's credential last worked (see
    /// [`crate::connection_after_proof`]); `last_error` is Entra's message, or `None`.
    fn set_connection_state<'a>(
        &'a self,
        organization: OrganizationId,
        state: ConnectionState,
        last_error: Option<&'a str>,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>>;

    /// Certificates of an organization, newest first (public parts only).
    fn certificates(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>>;
    fn certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<StoredCertificate>>;
    /// Stores a certificate with its private key (encrypted at rest by the implementation).
    fn save_certificate<'a>(
        &'a self,
        organization: OrganizationId,
        credential: &'a Credential,
        source: CertificateSource,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<StoredCertificate>>;
    /// The decrypted private key, to sign client assertions.
    fn private_key(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<PrivateKey>>;
    /// Marks a pending certificate discarded (its operation failed). A certificate that is not
    /// pending (active, retired, already discarded) is left alone: `Conflict`.
    fn discard_certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<()>>;
    /// Atomically makes the operation's certificate active and the operation succeeded, only if
    /// the organization's active certificate is still `operation.replaces` and the operation is
    /// still at its version; otherwise `Conflict` and nothing changes.
    fn activate<'a>(
        &'a self,
        operation: &'a Operation,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>>;

    /// Inserts a new operation as given, except that `replaces` becomes the organization's
    /// active certificate at this moment (activation swaps only from it); fails with `Conflict`
    /// while another unfinished operation exists for the same organization.
    fn create_operation<'a>(
        &'a self,
        operation: &'a Operation,
    ) -> BoxFuture<'a, RepoResult<Operation>>;
    fn operation(&self, id: OperationId) -> BoxFuture<'_, RepoResult<Operation>>;
    /// Writes `operation` if the stored version is `operation.version - 1` (else `Conflict`)
    /// and its step may follow the stored one ([`crate::OperationStep::may_become`], else
    /// `Conflict`). The sign-in prompt and holder are kept as stored, and a field set once
    /// (who signed in, the certificate, the failure) is never cleared.
    fn update_operation<'a>(&'a self, operation: &'a Operation) -> BoxFuture<'a, RepoResult<()>>;
    /// Records that `holder` is alive and still carries its unfinished operations: sets their
    /// `heartbeat_at` to `now` (nothing else, not the version). Returns how many.
    fn heartbeat<'a>(
        &'a self,
        holder: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>>;
    /// Makes `new_holder` the holder of `operation`, with a heartbeat at `now`, only if the
    /// stored operation is unfinished, still at `operation.version` and still held by
    /// `operation.sign_in_holder` (else `Conflict` and nothing changes); bumps the version.
    /// Of two instances taking over the same operation, exactly one wins.
    fn take_over<'a>(
        &'a self,
        operation: &'a Operation,
        new_holder: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>>;
    /// Oldest first.
    fn unfinished_operations(&self) -> BoxFuture<'_, RepoResult<Vec<Operation>>>;
    /// Newest first.
    fn operations(&self, organization: OrganizationId)
    -> BoxFuture<'_, RepoResult<Vec<Operation>>>;

    /// Records `proof` as the certificate's latest app-only proof unless a later one is already
    /// recorded; returns whether it was recorded. Nothing else changes: the connection state
    /// follows from the proof in the service ([`crate::record_proof`]).
    fn record_proof<'a>(
        &'a self,
        certificate: CertificateId,
        proof: &'a CredentialProof,
    ) -> BoxFuture<'a, RepoResult<bool>>;

    fn append_audit(&self, entry: NewAuditEntry) -> BoxFuture<'_, RepoResult<()>>;
    /// Newest first.
    fn audit(&self, limit: u32) -> BoxFuture<'_, RepoResult<Vec<AuditEntry>>>;

    /// The organization's renewal policy and state: the default policy and an empty state until
    /// either is first set. `NotFound` for an unknown organization.
    fn renewal(&self, organization: OrganizationId) -> BoxFuture<'_, RepoResult<RenewalRecord>>;
    /// Replaces the organization's renewal policy (already validated by the service), keeping
    /// its state; returns both.
    fn set_renewal_policy<'a>(
        &'a self,
        organization: OrganizationId,
        policy: &'a RenewalPolicy,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<RenewalRecord>>;
    /// Replaces the organization's renewal state, keeping its policy.
    fn set_renewal_state<'a>(
        &'a self,
        organization: OrganizationId,
        state: &'a RenewalState,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>>;

    /// Claims the organization's renewal for `holder` until `until`: `true` when it was free,
    /// its claim had expired (before `now`), or `holder` already held it; `false` while another
    /// holder's claim runs. Atomic in the database, so of several instances exactly one wins.
    fn claim_renewal<'a>(
        &'a self,
        organization: OrganizationId,
        holder: &'a str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>>;
    /// Gives up `holder`'s claim (nothing when another holder has it).
    fn release_renewal<'a>(
        &'a self,
        organization: OrganizationId,
        holder: &'a str,
    ) -> BoxFuture<'a, RepoResult<()>>;

    /// Retired certificates whose key tenantlink may still have to take off the application:
    /// replaced by a succeeded `rotate` operation and not yet marked removed. Only these are
    /// ever removed; keys of the application tenantlink did not rotate out are never touched.
    fn keys_to_remove(&self) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>>;
    /// [`Repository::keys_to_remove`] of one organization.
    fn organization_keys_to_remove(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>>;
    /// Records that the certificate's key is off the application (removed, or found absent).
    fn mark_key_removed(
        &self,
        certificate: CertificateId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>>;
}

// ---------------------------------------------------------------------------------------------
// Accounts: users, sessions, API tokens, login throttling
// ---------------------------------------------------------------------------------------------

/// A session with its user, as stored. Whether it still counts (expired? user disabled?) is
/// the service's decision, so the repository returns it either way.
#[derive(Debug, Clone)]
pub struct SessionRecord {
    pub user: UserRecord,
    pub expires_at: OffsetDateTime,
}

/// An API token as stored: never its secret (only a hash of it is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRecord {
    pub id: ApiTokenId,
    pub name: String,
    pub role: Role,
    /// The account the token acts for: when that account is disabled or deleted, the token stops
    /// working. `None` only for tokens from before accounts owned tokens (migration 0008 revoked
    /// those whose account could not be found).
    pub owner: Option<UserId>,
    /// Who created it, as the audit log names them (`alice`, `token:ci`).
    pub created_by: String,
    pub created_at: OffsetDateTime,
    /// As stored; `None` only for tokens from before expiries were required, which expire a
    /// year after their creation (see [`ApiTokenRecord::expires`]).
    pub expires_at: Option<OffsetDateTime>,
    pub last_used_at: Option<OffsetDateTime>,
    pub revoked_at: Option<OffsetDateTime>,
}

impl ApiTokenRecord {
    /// When the token stops working: its expiry, or for a token from before expiries were
    /// required, the longest lifetime a token may have, counted from its creation.
    pub fn expires(&self) -> OffsetDateTime {
        self.expires_at
            .unwrap_or(self.created_at + crate::accounts::MAX_TOKEN_LIFETIME)
    }

    /// Neither revoked nor expired at `now` (its owner's account is checked separately).
    pub fn is_live_at(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires() > now
    }
}

/// A stored token with its owner's account (`None` when it has none, or it was deleted).
pub type TokenWithOwner = (ApiTokenRecord, Option<UserRecord>);

#[derive(Debug, Clone)]
pub struct NewApiToken {
    pub name: String,
    pub role: Role,
    pub owner: UserId,
    pub created_by: String,
    pub expires_at: OffsetDateTime,
}

/// A change to one account; `None` keeps the value.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct UserChange {
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    /// Argon2id PHC string, made by the service.
    pub password_hash: Option<String>,
}

/// Without the password hash (it allows offline guessing).
impl std::fmt::Debug for UserChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserChange")
            .field("role", &self.role)
            .field("disabled", &self.disabled)
            .field(
                "password_hash",
                &self.password_hash.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// Session ids and API tokens are generated by the repository and kept there only as hashes;
/// the secret is returned once, to be handed to its holder. Passwords arrive already hashed.
pub trait AccountRepository: SignInRecords + Send + Sync + Debug + 'static {
    /// An enabled user by name.
    fn user_by_name<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<UserRecord>>>;
    /// Any user, enabled or not.
    fn user(&self, id: UserId) -> BoxFuture<'_, RepoResult<Option<UserRecord>>>;
    /// All users, enabled or not, by name.
    fn users(&self) -> BoxFuture<'_, RepoResult<Vec<UserRecord>>>;
    /// Creates a user with an Argon2id PHC string. A taken name is a conflict.
    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        role: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>>;
    /// Applies `change` and returns the user as it is now. Refused as a conflict, changing
    /// nothing, when afterwards no enabled administrator would remain: checked in the same
    /// transaction as the write, so two administrators demoting each other at once cannot
    /// both succeed.
    fn update_user<'a>(
        &'a self,
        id: UserId,
        change: &'a UserChange,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>>;

    fn create_session(
        &self,
        user: UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<SecretString>>;
    /// The session for a presented secret, expired or not, whatever its user's state.
    fn session<'a>(
        &'a self,
        token: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<SessionRecord>>>;
    fn delete_session<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, RepoResult<()>>;
    /// Ends every session of `user`; returns how many there were.
    fn delete_sessions_of(&self, user: UserId) -> BoxFuture<'_, RepoResult<u64>>;

    /// Stores a new token and returns its secret, once, with the record.
    fn create_api_token<'a>(
        &'a self,
        new: &'a NewApiToken,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<(SecretString, ApiTokenRecord)>>;
    /// The token for a presented secret, revoked or expired or not, with its owner (if any).
    fn api_token<'a>(
        &'a self,
        token: &'a SecretString,
    ) -> BoxFuture<'a, RepoResult<Option<TokenWithOwner>>>;
    /// Records that a token was accepted at `at`.
    fn record_api_token_use(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>>;
    /// Every token (revoked ones too), oldest first.
    fn api_tokens(&self) -> BoxFuture<'_, RepoResult<Vec<ApiTokenRecord>>>;
    /// Revokes one token (revoking again keeps the first time) and returns it.
    fn revoke_api_token(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<ApiTokenRecord>>;
    /// Revokes every live token owned by `owner`; returns how many.
    fn revoke_api_tokens_of(
        &self,
        owner: UserId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<u64>>;
}

/// What a (user name, client address) pair's wrong passwords have cost so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInFailures {
    /// At least 1: a pair without failures has no record.
    pub failures: u32,
    pub last_failure_at: OffsetDateTime,
}

/// What sign-ins leave behind: failure counts per (user name, client address) and sessions. The
/// count is written before the password is checked, by compare-and-swap, so parallel attempts
/// cannot all pass the check before any is counted (see `docs/service.md`, "Sign-in limits").
pub trait SignInRecords: Send + Sync + Debug + 'static {
    fn sign_in_failures<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<SignInFailures>>>;
    /// Sets the pair's count to `next` and its last failure to `at`, only if the stored count is
    /// still `seen` (0: no record); returns whether it did. Atomic in every implementation.
    fn count_sign_in_failure<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
        seen: u32,
        next: u32,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>>;
    /// Forgets the pair's failures (after its right password).
    fn clear_sign_in_failures<'a>(
        &'a self,
        username: &'a str,
        address: &'a str,
    ) -> BoxFuture<'a, RepoResult<()>>;
    /// Drops the records whose last failure is before `before`; returns how many.
    fn prune_sign_in_failures(&self, before: OffsetDateTime) -> BoxFuture<'_, RepoResult<u64>>;
    /// Drops the sessions that expired at or before `now`; returns how many.
    fn prune_expired_sessions(&self, now: OffsetDateTime) -> BoxFuture<'_, RepoResult<u64>>;
}
