//! Test doubles: an in-memory [`Repository`] + [`AccountRepository`] and a scripted
//! [`Directory`]. The sleeper that advances a manual clock instead of sleeping is
//! `tenantlink_clock::RecordingSleeper` (this feature turns on its `test-util`).

use crate::accounts::random_secret;
use crate::assertion_profile::AssertionProfile;
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::model::Role;
use crate::model::{
    CertificateId, CertificateSource, ConnectionState, NewOrganization, Organization,
    OrganizationId, StoredCertificate, UserId, UserRecord,
};
use crate::operation::{Operation, OperationId, SignInPrompt};
use crate::ports::{
    AccountRepository, ApiTokenRecord, Application, ApplicationKey, BoxFuture, CredentialRefusal,
    DelegatedToken, DeviceCode, DeviceSignIn, Directory, DirectoryError, DirectoryErrorKind,
    RepoResult, Repository, RepositoryError, SessionRecord, SignInPoll,
};
use crate::proof::CredentialProof;
use crate::secret::SecretString;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration as StdDuration;
use tenantlink_certificate::{Certificate, Credential, PrivateKey};
use tenantlink_clock::ManualClock;
use time::{Duration, OffsetDateTime};

/// Secrets are kept only as SHA-256 digests, like the SQL store does.
fn digest(secret: &SecretString) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.expose().as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------

#[derive(Debug, Default)]
struct MemoryState {
    organizations: Vec<Organization>,
    certificates: Vec<(StoredCertificate, Vec<u8>)>,
    operations: HashMap<OperationId, Operation>,
    audit: Vec<AuditEntry>,
    users: Vec<UserRecord>,
    sessions: HashMap<[u8; 32], (UserId, OffsetDateTime)>,
    api_tokens: HashMap<[u8; 32], ApiTokenRecord>,
    login_failures: Vec<(String, OffsetDateTime)>,
    /// Certificates the service discarded, in order. The service's model has no certificate
    /// state (the store keeps `discarded` in its own column), so this is all there is to see.
    discarded: Vec<CertificateId>,
}

/// Everything in one mutex; the same invariants the SQL store enforces (one unfinished operation
/// per organization, compare-and-swap activation and operation updates).
#[derive(Debug, Default, Clone)]
pub struct MemoryRepository {
    state: Arc<Mutex<MemoryState>>,
}

fn ready<'a, T: Send + 'a>(value: T) -> BoxFuture<'a, T> {
    Box::pin(std::future::ready(value))
}

fn activate_locked(
    state: &mut MemoryState,
    operation: &Operation,
    now: OffsetDateTime,
) -> RepoResult<Operation> {
    let certificate = operation
        .certificate
        .ok_or_else(|| RepositoryError::conflict("the operation has no certificate"))?;
    let stored_version = state
        .operations
        .get(&operation.id)
        .map(|o| o.version)
        .ok_or_else(|| RepositoryError::not_found(format!("operation {}", operation.id)))?;
    if stored_version != operation.version {
        return Err(RepositoryError::conflict("the operation changed"));
    }
    let org = state
        .organizations
        .iter_mut()
        .find(|o| o.id == operation.organization)
        .ok_or_else(|| RepositoryError::not_found("organization"))?;
    if org.active_certificate != operation.replaces {
        return Err(RepositoryError::conflict("the active certificate changed"));
    }
    org.active_certificate = Some(certificate);
    if let Some((cert, _)) = state
        .certificates
        .iter_mut()
        .find(|(c, _)| c.id == certificate)
    {
        cert.activated_at = Some(now);
    }
    let mut done = operation.clone();
    done.step = crate::operation::OperationStep::Succeeded;
    done.version += 1;
    done.updated_at = now;
    state.operations.insert(done.id, done.clone());
    Ok(done)
}

impl MemoryRepository {
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes `certificate` active directly, as another instance's operation would have.
    pub fn force_activate(
        &self,
        organization: OrganizationId,
        certificate: CertificateId,
        now: OffsetDateTime,
    ) {
        let mut state = lock(&self.state);
        if let Some(org) = state
            .organizations
            .iter_mut()
            .find(|o| o.id == organization)
        {
            org.active_certificate = Some(certificate);
        }
        if let Some((cert, _)) = state
            .certificates
            .iter_mut()
            .find(|(c, _)| c.id == certificate)
        {
            cert.activated_at = Some(now);
        }
    }

    /// Inserts an unfinished operation directly, bypassing the one-at-a-time check, as another
    /// instance winning a race against this one's start would have.
    pub fn insert_operation_elsewhere(&self, operation: Operation) {
        lock(&self.state).operations.insert(operation.id, operation);
    }

    /// The certificates [`Repository::discard_certificate`] was called for, in order.
    pub fn discarded_certificates(&self) -> Vec<CertificateId> {
        lock(&self.state).discarded.clone()
    }

    /// Every stored private key, to check that nothing else leaks them.
    pub fn stored_private_keys(&self) -> Vec<Vec<u8>> {
        lock(&self.state)
            .certificates
            .iter()
            .map(|(_, key)| key.clone())
            .collect()
    }
}

impl Repository for MemoryRepository {
    fn organizations(&self) -> BoxFuture<'_, RepoResult<Vec<Organization>>> {
        ready(Ok(lock(&self.state).organizations.clone()))
    }

    fn organization(&self, id: OrganizationId) -> BoxFuture<'_, RepoResult<Organization>> {
        let found = lock(&self.state)
            .organizations
            .iter()
            .find(|o| o.id == id)
            .cloned()
            .ok_or_else(|| RepositoryError::not_found(format!("organization {id}")));
        ready(found)
    }

    fn add_organization(
        &self,
        new: NewOrganization,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        let mut state = lock(&self.state);
        if state
            .organizations
            .iter()
            .any(|o| o.tenant.eq_ignore_ascii_case(&new.tenant) && o.app_id == new.app_id)
        {
            return ready(Err(RepositoryError::conflict(format!(
                "organization {} with application {} already exists",
                new.tenant, new.app_id
            ))));
        }
        let organization = Organization {
            id: OrganizationId::new(),
            name: new.name,
            tenant: new.tenant,
            cloud: new.cloud,
            app_id: new.app_id,
            app_object_id: None,
            active_certificate: None,
            connection: ConnectionState::Unknown,
            last_error: None,
            assertion_profile: AssertionProfile::default(),
            created_at: now,
        };
        state.organizations.push(organization.clone());
        ready(Ok(organization))
    }

    fn set_app_object_id<'a>(
        &'a self,
        id: OrganizationId,
        object_id: &'a str,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = match state.organizations.iter_mut().find(|o| o.id == id) {
            Some(org) => {
                org.app_object_id = Some(object_id.to_owned());
                Ok(())
            }
            None => Err(RepositoryError::not_found(format!("organization {id}"))),
        };
        ready(result)
    }

    fn set_connection_state<'a>(
        &'a self,
        organization: OrganizationId,
        connection: ConnectionState,
        last_error: Option<&'a str>,
        _at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = match state
            .organizations
            .iter_mut()
            .find(|o| o.id == organization)
        {
            Some(org) => {
                org.connection = connection;
                org.last_error = last_error.map(str::to_owned);
                Ok(())
            }
            None => Err(RepositoryError::not_found(format!(
                "organization {organization}"
            ))),
        };
        ready(result)
    }

    fn set_assertion_profile(
        &self,
        organization: OrganizationId,
        profile: AssertionProfile,
        _at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        let mut state = lock(&self.state);
        let result = match state
            .organizations
            .iter_mut()
            .find(|o| o.id == organization)
        {
            Some(org) => {
                org.assertion_profile = profile;
                Ok(org.clone())
            }
            None => Err(RepositoryError::not_found(format!(
                "organization {organization}"
            ))),
        };
        ready(result)
    }

    fn certificates(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        let mut list: Vec<_> = lock(&self.state)
            .certificates
            .iter()
            .filter(|(c, _)| c.organization == organization)
            .map(|(c, _)| c.clone())
            .collect();
        list.reverse();
        ready(Ok(list))
    }

    fn certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<StoredCertificate>> {
        let found = lock(&self.state)
            .certificates
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(c, _)| c.clone())
            .ok_or_else(|| RepositoryError::not_found(format!("certificate {id}")));
        ready(found)
    }

    fn save_certificate<'a>(
        &'a self,
        organization: OrganizationId,
        credential: &'a Credential,
        source: CertificateSource,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<StoredCertificate>> {
        let certificate = credential.certificate();
        let stored = StoredCertificate {
            id: CertificateId::new(),
            organization,
            source,
            subject: certificate.subject().to_owned(),
            sha1_hex: certificate.thumbprints().sha1_hex(),
            sha256_hex: certificate.thumbprints().sha256_hex(),
            not_before: certificate.not_before(),
            not_after: certificate.not_after(),
            der: certificate.der().to_vec(),
            created_at: now,
            activated_at: None,
            last_proof: None,
        };
        lock(&self.state).certificates.push((
            stored.clone(),
            credential.private_key().pkcs8_der().to_vec(),
        ));
        ready(Ok(stored))
    }

    fn private_key(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<PrivateKey>> {
        let found = lock(&self.state)
            .certificates
            .iter()
            .find(|(c, _)| c.id == id)
            .map(|(_, key)| key.clone());
        let result = match found {
            Some(der) => PrivateKey::from_pkcs8_der(&der)
                .map_err(|e| RepositoryError::storage("read a private key", e)),
            None => Err(RepositoryError::not_found(format!("certificate {id}"))),
        };
        ready(result)
    }

    fn discard_certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = if state.certificates.iter().any(|(c, _)| c.id == id) {
            state.discarded.push(id);
            Ok(())
        } else {
            Err(RepositoryError::not_found(format!("certificate {id}")))
        };
        ready(result)
    }

    fn activate<'a>(
        &'a self,
        operation: &'a Operation,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        let mut state = lock(&self.state);
        let result = activate_locked(&mut state, operation, now);
        ready(result)
    }

    fn create_operation<'a>(
        &'a self,
        operation: &'a Operation,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        let mut state = lock(&self.state);
        if let Some(other) = state
            .operations
            .values()
            .find(|o| o.organization == operation.organization && !o.is_finished())
        {
            return ready(Err(RepositoryError::conflict(format!(
                "operation {} started by {} is still running for this organization",
                other.id, other.started_by
            ))));
        }
        state.operations.insert(operation.id, operation.clone());
        ready(Ok(operation.clone()))
    }

    fn operation(&self, id: OperationId) -> BoxFuture<'_, RepoResult<Operation>> {
        let found = lock(&self.state)
            .operations
            .get(&id)
            .cloned()
            .ok_or_else(|| RepositoryError::not_found(format!("operation {id}")));
        ready(found)
    }

    fn update_operation<'a>(&'a self, operation: &'a Operation) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = match state.operations.get_mut(&operation.id) {
            Some(stored) if stored.version + 1 == operation.version => {
                *stored = operation.clone();
                Ok(())
            }
            Some(_) => Err(RepositoryError::conflict(format!(
                "operation {} was changed by another request",
                operation.id
            ))),
            None => Err(RepositoryError::not_found(format!(
                "operation {}",
                operation.id
            ))),
        };
        ready(result)
    }

    fn unfinished_operations(&self) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        ready(Ok(lock(&self.state)
            .operations
            .values()
            .filter(|o| !o.is_finished())
            .cloned()
            .collect()))
    }

    fn operations(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        let mut list: Vec<_> = lock(&self.state)
            .operations
            .values()
            .filter(|o| o.organization == organization)
            .cloned()
            .collect();
        list.sort_by_key(|o| std::cmp::Reverse(o.started_at));
        ready(Ok(list))
    }

    fn record_proof<'a>(
        &'a self,
        certificate: CertificateId,
        proof: &'a CredentialProof,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = match state
            .certificates
            .iter_mut()
            .find(|(c, _)| c.id == certificate)
        {
            Some((stored, _)) => {
                // Like the SQL store: a later answer already recorded is kept.
                if stored
                    .last_proof
                    .as_ref()
                    .is_none_or(|last| last.checked_at <= proof.checked_at)
                {
                    stored.last_proof = Some(proof.clone());
                }
                Ok(())
            }
            None => Err(RepositoryError::not_found(format!(
                "certificate {certificate}"
            ))),
        };
        ready(result)
    }

    fn append_audit(&self, entry: NewAuditEntry) -> BoxFuture<'_, RepoResult<()>> {
        let mut state = lock(&self.state);
        let id = state.audit.len() as i64 + 1;
        state.audit.push(AuditEntry {
            id,
            at: entry.at,
            actor: entry.actor,
            action: entry.action.as_str().to_owned(),
            organization: entry.organization,
            thumbprints: entry.thumbprints,
            outcome: entry.outcome.as_str().to_owned(),
            detail: entry.detail,
        });
        ready(Ok(()))
    }

    fn audit(&self, limit: u32) -> BoxFuture<'_, RepoResult<Vec<AuditEntry>>> {
        ready(Ok(lock(&self.state)
            .audit
            .iter()
            .rev()
            .take(limit as usize)
            .cloned()
            .collect()))
    }
}

impl AccountRepository for MemoryRepository {
    fn user_by_name<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<UserRecord>>> {
        ready(Ok(lock(&self.state)
            .users
            .iter()
            .find(|u| u.username == username)
            .cloned()))
    }

    fn users(&self) -> BoxFuture<'_, RepoResult<Vec<UserRecord>>> {
        ready(Ok(lock(&self.state).users.clone()))
    }

    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password: &'a SecretString,
        role: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>> {
        let hash = match crate::accounts::hash_password(password) {
            Ok(hash) => hash,
            Err(err) => return ready(Err(RepositoryError::storage("hash the password", err))),
        };
        let mut state = lock(&self.state);
        if state.users.iter().any(|u| u.username == username) {
            return ready(Err(RepositoryError::conflict(format!(
                "user {username} already exists"
            ))));
        }
        let user = UserRecord {
            id: UserId::new(),
            username: username.to_owned(),
            role,
            password_hash: hash,
            created_at: now,
        };
        state.users.push(user.clone());
        ready(Ok(user))
    }

    fn create_session(
        &self,
        user: UserId,
        _now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<SecretString>> {
        let token = random_secret("");
        lock(&self.state)
            .sessions
            .insert(digest(&token), (user, expires_at));
        ready(Ok(token))
    }

    fn session<'a>(
        &'a self,
        token: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<SessionRecord>>> {
        let state = lock(&self.state);
        let found = state
            .sessions
            .get(&digest(token))
            .filter(|(_, expires_at)| *expires_at > now)
            .and_then(|(user, expires_at)| {
                state
                    .users
                    .iter()
                    .find(|u| u.id == *user)
                    .map(|user| SessionRecord {
                        user: user.clone(),
                        expires_at: *expires_at,
                    })
            });
        ready(Ok(found))
    }

    fn delete_session<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, RepoResult<()>> {
        lock(&self.state).sessions.remove(&digest(token));
        ready(Ok(()))
    }

    fn create_api_token<'a>(
        &'a self,
        record: &'a ApiTokenRecord,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<SecretString>> {
        let token = random_secret("tl_");
        lock(&self.state)
            .api_tokens
            .insert(digest(&token), record.clone());
        ready(Ok(token))
    }

    fn api_token<'a>(
        &'a self,
        token: &'a SecretString,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<ApiTokenRecord>>> {
        ready(Ok(lock(&self.state)
            .api_tokens
            .get(&digest(token))
            .cloned()))
    }

    fn record_login_failure<'a>(
        &'a self,
        username: &'a str,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        lock(&self.state)
            .login_failures
            .push((username.to_owned(), at));
        ready(Ok(()))
    }

    fn login_failures_since<'a>(
        &'a self,
        username: &'a str,
        since: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u32>> {
        let count = lock(&self.state)
            .login_failures
            .iter()
            .filter(|(name, at)| name == username && *at > since)
            .count();
        ready(Ok(u32::try_from(count).unwrap_or(u32::MAX)))
    }

    fn clear_login_failures<'a>(&'a self, username: &'a str) -> BoxFuture<'a, RepoResult<()>> {
        lock(&self.state)
            .login_failures
            .retain(|(name, _)| name != username);
        ready(Ok(()))
    }
}

// ---------------------------------------------------------------------------------------------

/// A directory whose answers the test scripts: sign-ins are approved or declined by the test,
/// attaching records thumbprints, and token proofs succeed once the key is attached (optionally
/// after a number of refusals, imitating propagation delay).
#[derive(Debug, Clone)]
pub struct FakeDirectory {
    state: Arc<Mutex<FakeDirectoryState>>,
    clock: Arc<ManualClock>,
}

/// Something the test runs while a device sign-in is being requested.
type Hook = Box<dyn FnOnce() + Send>;

#[derive(Default)]
struct FakeDirectoryState {
    /// Device sign-ins requested so far (also numbers the codes).
    next_code: u32,
    sign_in_polls: u32,
    application_reads: u32,
    during_next_sign_in: Option<Hook>,
    /// device code → outcome the test chose (None = still pending)
    sign_ins: HashMap<String, Option<Result<(), DirectoryError>>>,
    user_codes: HashMap<String, String>,
    attached: Vec<String>,
    attach_error: Option<DirectoryError>,
    refusals_before_accepting: VecDeque<DirectoryError>,
    proof_attempts: u32,
    tokens_issued: Vec<String>,
}

/// Counts only: the state holds device codes and tokens, which must not reach a log or an assertion
/// message even in tests (and `Workflows`' own `Debug` includes its directory).
impl std::fmt::Debug for FakeDirectoryState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeDirectoryState")
            .field("device_sign_ins", &self.next_code)
            .field("sign_in_polls", &self.sign_in_polls)
            .field("application_reads", &self.application_reads)
            .field("attached", &self.attached)
            .field("proof_attempts", &self.proof_attempts)
            .finish_non_exhaustive()
    }
}

pub const FAKE_APP_NAME: &str = "Contoso Backup";
pub const FAKE_APP_OBJECT_ID: &str = "6f1c2a34-0000-4000-8000-00000000ab01";

impl FakeDirectory {
    pub fn new(clock: Arc<ManualClock>) -> Self {
        Self {
            state: Arc::default(),
            clock,
        }
    }

    /// Approves the sign-in shown with `user_code`.
    pub fn approve(&self, user_code: &str) {
        self.decide(user_code, Ok(()));
    }

    pub fn decline(&self, user_code: &str) {
        self.decide(
            user_code,
            Err(DirectoryError::new(
                DirectoryErrorKind::SignInDeclined,
                Some("AADSTS70000".into()),
                "The person at the sign-in page declined the request.",
                "Start again and accept the sign-in request.",
            )),
        );
    }

    fn decide(&self, user_code: &str, outcome: Result<(), DirectoryError>) {
        let mut state = lock(&self.state);
        if let Some(device_code) = state.user_codes.get(user_code).cloned() {
            state.sign_ins.insert(device_code, Some(outcome));
        }
    }

    /// Attaches a thumbprint as if an administrator had uploaded it in Entra ID.
    pub fn attach_thumbprint(&self, sha1_hex: &str) {
        lock(&self.state)
            .attached
            .push(sha1_hex.to_ascii_uppercase());
    }

    pub fn attached(&self) -> Vec<String> {
        lock(&self.state).attached.clone()
    }

    /// Removes a thumbprint from the application, as an administrator deleting the key in Entra
    /// ID (or Graph `removeKey`) would; later proofs with it are refused as not registered.
    pub fn detach_thumbprint(&self, sha1_hex: &str) {
        lock(&self.state)
            .attached
            .retain(|t| !t.eq_ignore_ascii_case(sha1_hex));
    }

    /// The next proof fails with `error`, whatever the key.
    pub fn fail_next_proof(&self, error: DirectoryError) {
        lock(&self.state).refusals_before_accepting.push_back(error);
    }

    pub fn fail_next_attach(&self, error: DirectoryError) {
        lock(&self.state).attach_error = Some(error);
    }

    /// The next `count` proofs are refused with AADSTS700027 even for attached keys.
    pub fn refuse_proofs(&self, count: usize) {
        let mut state = lock(&self.state);
        for _ in 0..count {
            state.refusals_before_accepting.push_back(key_not_found());
        }
    }

    pub fn proof_attempts(&self) -> u32 {
        lock(&self.state).proof_attempts
    }

    /// How many device sign-ins were requested (each one is a device code from Entra).
    pub fn device_sign_ins_started(&self) -> u32 {
        lock(&self.state).next_code
    }

    /// How many times the token endpoint was asked about a device sign-in.
    pub fn sign_in_polls(&self) -> u32 {
        lock(&self.state).sign_in_polls
    }

    /// How many times the application was read through Graph.
    pub fn application_reads(&self) -> u32 {
        lock(&self.state).application_reads
    }

    /// Runs `hook` inside the next device sign-in request, e.g. to let another instance start
    /// an operation between the service's check and its insert.
    pub fn during_next_device_sign_in(&self, hook: impl FnOnce() + Send + 'static) {
        lock(&self.state).during_next_sign_in = Some(Box::new(hook));
    }

    /// Tokens the fake handed out, to check they never leak.
    pub fn tokens_issued(&self) -> Vec<String> {
        lock(&self.state).tokens_issued.clone()
    }
}

fn key_not_found() -> DirectoryError {
    DirectoryError::new(
        DirectoryErrorKind::CredentialRejected,
        Some("AADSTS700027".into()),
        "AADSTS700027: The certificate with identifier used to sign the client assertion is not registered on application.",
        "Attach the certificate to the application, or wait a minute for Entra ID to propagate it.",
    )
    .with_refusal(CredentialRefusal::KeyNotRegistered)
}

impl Directory for FakeDirectory {
    fn start_device_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
    ) -> BoxFuture<'a, Result<DeviceSignIn, DirectoryError>> {
        let hook = lock(&self.state).during_next_sign_in.take();
        if let Some(hook) = hook {
            hook();
        }
        let mut state = lock(&self.state);
        state.next_code += 1;
        let user_code = format!("FAKE{:04}", state.next_code);
        let device_code = format!("device-code-secret-{}", state.next_code);
        state.sign_ins.insert(device_code.clone(), None);
        state
            .user_codes
            .insert(user_code.clone(), device_code.clone());
        ready(Ok(DeviceSignIn {
            prompt: SignInPrompt {
                user_code,
                verification_uri: "https://login.example.test/device".into(),
                expires_at: self.clock_now() + Duration::minutes(15),
            },
            device_code: DeviceCode(SecretString::new(device_code)),
            interval: StdDuration::from_secs(5),
        }))
    }

    fn poll_device_sign_in<'a>(
        &'a self,
        _organization: &'a Organization,
        device_code: &'a DeviceCode,
    ) -> BoxFuture<'a, Result<SignInPoll, DirectoryError>> {
        let mut state = lock(&self.state);
        state.sign_in_polls += 1;
        let result = match state.sign_ins.get(device_code.0.expose()).cloned() {
            Some(None) => Ok(SignInPoll::Pending),
            Some(Some(Ok(()))) => {
                let token = format!("delegated-token-{}", device_code.0.expose());
                state.tokens_issued.push(token.clone());
                Ok(SignInPoll::SignedIn {
                    token: DelegatedToken(SecretString::new(token)),
                    account: Some("admin@contoso.example".into()),
                })
            }
            Some(Some(Err(err))) => Err(err),
            None => Err(DirectoryError::new(
                DirectoryErrorKind::SignInExpired,
                Some("AADSTS70019".into()),
                "The device code is unknown or expired.",
                "Start again.",
            )),
        };
        ready(result)
    }

    fn application<'a>(
        &'a self,
        organization: &'a Organization,
        _token: &'a DelegatedToken,
    ) -> BoxFuture<'a, Result<Application, DirectoryError>> {
        let mut state = lock(&self.state);
        state.application_reads += 1;
        ready(Ok(Application {
            object_id: FAKE_APP_OBJECT_ID.into(),
            app_id: organization.app_id.clone(),
            display_name: FAKE_APP_NAME.into(),
            keys: state
                .attached
                .iter()
                .enumerate()
                .map(|(i, thumbprint)| ApplicationKey {
                    key_id: format!("key-{i}"),
                    thumbprint_sha1: thumbprint.clone(),
                    display_name: None,
                    end: None,
                })
                .collect(),
        }))
    }

    fn attach_certificate<'a>(
        &'a self,
        _organization: &'a Organization,
        _token: &'a DelegatedToken,
        certificate: &'a Certificate,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let mut state = lock(&self.state);
        if let Some(err) = state.attach_error.take() {
            return ready(Err(err));
        }
        state.attached.push(certificate.thumbprints().sha1_hex());
        ready(Ok(()))
    }

    fn prove_app_only<'a>(
        &'a self,
        _organization: &'a Organization,
        credential: &'a Credential,
    ) -> BoxFuture<'a, Result<(), DirectoryError>> {
        let mut state = lock(&self.state);
        state.proof_attempts += 1;
        if let Some(refusal) = state.refusals_before_accepting.pop_front() {
            return ready(Err(refusal));
        }
        let thumbprint = credential.certificate().thumbprints().sha1_hex();
        if state.attached.contains(&thumbprint) {
            ready(Ok(()))
        } else {
            ready(Err(key_not_found()))
        }
    }
}

impl FakeDirectory {
    fn clock_now(&self) -> OffsetDateTime {
        use tenantlink_clock::Clock;
        self.clock.now()
    }
}
