//! The in-memory [`Repository`] + [`AccountRepository`]: everything in one mutex, held to the
//! store's behaviour by the contract suite ([`super::contract`]).

use super::{lock, ready};
use crate::accounts::random_secret;
use crate::assertion_profile::AssertionProfile;
use crate::audit::{AuditEntry, NewAuditEntry};
use crate::model::ApiTokenId;
use crate::model::Role;
use crate::model::{
    CertificateId, CertificateSource, CertificateState, ConnectionState, NewOrganization,
    Organization, OrganizationId, StoredCertificate, UserId, UserRecord,
};
use crate::operation::{Operation, OperationId, OperationKind, OperationStep};
use crate::ports::{
    AccountRepository, ApiTokenRecord, BoxFuture, NewApiToken, RepoResult, Repository,
    RepositoryError, SessionRecord, SignInFailures, TokenWithOwner, UserChange,
};
use crate::proof::CredentialProof;
use crate::renewal::{RenewalPolicy, RenewalRecord, RenewalState};
use crate::secret::SecretString;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tenantlink_certificate::{Credential, PrivateKey};
use time::OffsetDateTime;

mod fleet;
mod notices;
mod sign_in_records;

/// Secrets are kept only as SHA-256 digests, like the SQL store does.
fn digest(secret: &SecretString) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.expose().as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[derive(Debug, Default)]
struct MemoryState {
    organizations: Vec<Organization>,
    certificates: Vec<(StoredCertificate, Vec<u8>)>,
    operations: HashMap<OperationId, Operation>,
    audit: Vec<AuditEntry>,
    users: Vec<UserRecord>,
    sessions: HashMap<[u8; 32], (UserId, OffsetDateTime)>,
    /// By the digest of the secret, in creation order.
    api_tokens: Vec<([u8; 32], ApiTokenRecord)>,
    /// By (user name, client address).
    sign_in_failures: HashMap<(String, String), SignInFailures>,
    /// Certificates discarded (pending → discarded), in order; their state says so too, this
    /// keeps the order for tests.
    discarded: Vec<CertificateId>,
    /// The next operation update to this step fails as a storage error (a database hiccup).
    fail_update_to: Option<OperationStep>,
    renewals: HashMap<OrganizationId, RenewalRecord>,
    /// Renewal claims: organization → (holder, until).
    renewal_claims: HashMap<OrganizationId, (String, OffsetDateTime)>,
    notices: notices::NoticeState,
    /// Backup runs as the fleet sees them (see `fleet.rs`), in the order added.
    backup_runs: Vec<(OrganizationId, crate::fleet::LastBackup)>,
}

/// Everything in one mutex; the same invariants the SQL store enforces (one unfinished operation
/// per organization, compare-and-swap activation and operation updates, allowed steps, the
/// same listing orders), held to them by the contract suite ([`super::contract`]).
#[derive(Debug, Default, Clone)]
pub struct MemoryRepository {
    state: Arc<Mutex<MemoryState>>,
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
    let pending = state.certificates.iter().any(|(c, _)| {
        c.id == certificate
            && c.organization == operation.organization
            && c.state == CertificateState::Pending
    });
    if !pending {
        return Err(RepositoryError::conflict(format!(
            "certificate {certificate} is not pending"
        )));
    }
    org.active_certificate = Some(certificate);
    for (cert, _) in state.certificates.iter_mut() {
        if cert.id == certificate {
            cert.state = CertificateState::Active;
            cert.activated_at = Some(now);
        } else if Some(cert.id) == operation.replaces {
            cert.state = CertificateState::Retired;
            cert.retired_at = Some(now);
        }
    }
    let stored = state
        .operations
        .get_mut(&operation.id)
        .ok_or_else(|| RepositoryError::not_found(format!("operation {}", operation.id)))?;
    stored.step = OperationStep::Succeeded;
    stored.certificate = Some(certificate);
    stored.version += 1;
    stored.updated_at = now;
    Ok(stored.clone())
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
        let mut previous = None;
        if let Some(org) = state
            .organizations
            .iter_mut()
            .find(|o| o.id == organization)
        {
            previous = org.active_certificate.replace(certificate);
        }
        for (cert, _) in state.certificates.iter_mut() {
            if cert.id == certificate {
                cert.state = CertificateState::Active;
                cert.activated_at = Some(now);
            } else if Some(cert.id) == previous {
                cert.state = CertificateState::Retired;
                cert.retired_at = Some(now);
            }
        }
    }

    /// Inserts an unfinished operation directly, bypassing the one-at-a-time check, as another
    /// instance winning a race against this one's start would have.
    pub fn insert_operation_elsewhere(&self, operation: Operation) {
        lock(&self.state).operations.insert(operation.id, operation);
    }

    /// The next [`Repository::update_operation`] that moves an operation to `step` fails with a
    /// storage error and changes nothing, as a database write that failed would.
    pub fn fail_next_update_to(&self, step: OperationStep) {
        lock(&self.state).fail_update_to = Some(step);
    }

    /// The certificates [`Repository::discard_certificate`] discarded, in order.
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
        let mut list = lock(&self.state).organizations.clone();
        list.sort_by(|a, b| (&a.name, a.id).cmp(&(&b.name, b.id)));
        ready(Ok(list))
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
        let organization = new.added(OrganizationId::new(), now);
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

    fn set_application<'a>(
        &'a self,
        id: OrganizationId,
        app_id: &'a str,
        object_id: &'a str,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Organization>> {
        let mut state = lock(&self.state);
        let Some(tenant) = state
            .organizations
            .iter()
            .find(|o| o.id == id)
            .map(|o| (o.tenant.clone(), o.cloud))
        else {
            return ready(Err(RepositoryError::not_found(format!(
                "organization {id}"
            ))));
        };
        if state.organizations.iter().any(|o| {
            o.id != id
                && o.cloud == tenant.1
                && o.tenant.eq_ignore_ascii_case(&tenant.0)
                && o.app_id == app_id
        }) {
            return ready(Err(RepositoryError::conflict(format!(
                "organization {} with application {app_id} already exists",
                tenant.0
            ))));
        }
        let org = state
            .organizations
            .iter_mut()
            .find(|o| o.id == id)
            .expect("found just above");
        org.app_id = app_id.to_owned();
        org.app_object_id = Some(object_id.to_owned());
        ready(Ok(org.clone()))
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
        list.sort_by(|a, b| b.created_at.cmp(&a.created_at).then(a.id.cmp(&b.id)));
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
            sha1_thumbprint: certificate.thumbprints().sha1_hex(),
            sha256_thumbprint: certificate.thumbprints().sha256_hex(),
            not_before: certificate.not_before(),
            not_after: certificate.not_after(),
            der: certificate.der().to_vec(),
            state: CertificateState::Pending,
            created_at: now,
            activated_at: None,
            retired_at: None,
            key_removed_at: None,
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
        let result = match state.certificates.iter_mut().find(|(c, _)| c.id == id) {
            Some((cert, _)) if cert.state == CertificateState::Pending => {
                cert.state = CertificateState::Discarded;
                state.discarded.push(id);
                Ok(())
            }
            Some(_) => Err(RepositoryError::conflict(format!(
                "certificate {id} is not pending (it was already activated, retired or discarded)"
            ))),
            None => Err(RepositoryError::not_found(format!("certificate {id}"))),
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
        if state.operations.contains_key(&operation.id) {
            return ready(Err(RepositoryError::conflict(format!(
                "operation {} already exists",
                operation.id
            ))));
        }
        let mut created = operation.clone();
        created.replaces = state
            .organizations
            .iter()
            .find(|o| o.id == operation.organization)
            .and_then(|o| o.active_certificate);
        created.sha1_thumbprint = thumbprint_of(&state, created.certificate);
        state.operations.insert(created.id, created.clone());
        ready(Ok(created))
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
        if state.fail_update_to == Some(operation.step) {
            state.fail_update_to = None;
            return ready(Err(RepositoryError::storage(
                "update the operation",
                "the test made this write fail",
            )));
        }
        let certificate = operation.certificate.or_else(|| {
            state
                .operations
                .get(&operation.id)
                .and_then(|o| o.certificate)
        });
        let thumbprint = thumbprint_of(&state, certificate);
        let result = match state.operations.get_mut(&operation.id) {
            Some(stored)
                if stored.version + 1 == operation.version
                    && stored.step.may_become(operation.step) =>
            {
                // What the SQL store writes: the changing fields; a field set once is kept.
                stored.step = operation.step;
                stored.updated_at = operation.updated_at;
                stored.version = operation.version;
                if operation.signed_in_as.is_some() {
                    stored.signed_in_as.clone_from(&operation.signed_in_as);
                }
                if operation.failure.is_some() {
                    stored.failure.clone_from(&operation.failure);
                }
                stored.certificate = certificate;
                stored.sha1_thumbprint = thumbprint;
                Ok(())
            }
            Some(stored) if stored.version + 1 == operation.version => {
                Err(RepositoryError::conflict(format!(
                    "operation {} is {} and cannot become {}",
                    operation.id,
                    stored.step.as_str(),
                    operation.step.as_str()
                )))
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

    fn heartbeat<'a>(
        &'a self,
        holder: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>> {
        let mut state = lock(&self.state);
        let mut count = 0;
        for operation in state.operations.values_mut() {
            if !operation.is_finished() && operation.sign_in_holder.as_deref() == Some(holder) {
                operation.heartbeat_at = Some(now);
                count += 1;
            }
        }
        ready(Ok(count))
    }

    fn take_over<'a>(
        &'a self,
        operation: &'a Operation,
        new_holder: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        let mut state = lock(&self.state);
        let result = match state.operations.get_mut(&operation.id) {
            Some(stored)
                if !stored.is_finished()
                    && stored.version == operation.version
                    && stored.sign_in_holder == operation.sign_in_holder =>
            {
                stored.sign_in_holder = Some(new_holder.to_owned());
                stored.heartbeat_at = Some(now);
                stored.version += 1;
                Ok(stored.clone())
            }
            Some(_) => Err(RepositoryError::conflict(format!(
                "operation {} changed or was taken over meanwhile",
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
        let mut list: Vec<_> = lock(&self.state)
            .operations
            .values()
            .filter(|o| !o.is_finished())
            .cloned()
            .collect();
        list.sort_by_key(|o| (o.started_at, o.id));
        ready(Ok(list))
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
        list.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(a.id.cmp(&b.id)));
        ready(Ok(list))
    }

    fn record_proof<'a>(
        &'a self,
        certificate: CertificateId,
        proof: &'a CredentialProof,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        let mut state = lock(&self.state);
        let result = match state
            .certificates
            .iter_mut()
            .find(|(c, _)| c.id == certificate)
        {
            Some((stored, _)) => {
                // Like the SQL store: a later answer already recorded is kept.
                let newer = stored
                    .last_proof
                    .as_ref()
                    .is_none_or(|last| last.checked_at <= proof.checked_at);
                if newer {
                    stored.last_proof = Some(proof.clone());
                }
                Ok(newer)
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
            outcome: entry.outcome,
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

    fn renewal(&self, organization: OrganizationId) -> BoxFuture<'_, RepoResult<RenewalRecord>> {
        let state = lock(&self.state);
        ready(renewal_of(&state, organization))
    }

    fn set_renewal_policy<'a>(
        &'a self,
        organization: OrganizationId,
        policy: &'a RenewalPolicy,
        _at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<RenewalRecord>> {
        let mut state = lock(&self.state);
        let result = renewal_of(&state, organization).map(|mut record| {
            record.policy = policy.clone();
            state.renewals.insert(organization, record.clone());
            record
        });
        ready(result)
    }

    fn set_renewal_state<'a>(
        &'a self,
        organization: OrganizationId,
        renewal: &'a RenewalState,
        _at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = renewal_of(&state, organization).map(|mut record| {
            record.state = renewal.clone();
            state.renewals.insert(organization, record);
        });
        ready(result)
    }

    fn claim_renewal<'a>(
        &'a self,
        organization: OrganizationId,
        holder: &'a str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        let mut state = lock(&self.state);
        if let Err(err) = renewal_of(&state, organization) {
            return ready(Err(err));
        }
        let free = match state.renewal_claims.get(&organization) {
            None => true,
            Some((current, expires)) => current == holder || *expires < now,
        };
        if free {
            state
                .renewal_claims
                .insert(organization, (holder.to_owned(), until));
        }
        ready(Ok(free))
    }

    fn release_renewal<'a>(
        &'a self,
        organization: OrganizationId,
        holder: &'a str,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        if state
            .renewal_claims
            .get(&organization)
            .is_some_and(|(current, _)| current == holder)
        {
            state.renewal_claims.remove(&organization);
        }
        ready(Ok(()))
    }

    fn keys_to_remove(&self) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        let state = lock(&self.state);
        let rotated_out: Vec<CertificateId> = state
            .operations
            .values()
            .filter(|o| o.kind == OperationKind::Rotate && o.step == OperationStep::Succeeded)
            .filter_map(|o| o.replaces)
            .collect();
        let mut found: Vec<StoredCertificate> = state
            .certificates
            .iter()
            .map(|(c, _)| c)
            .filter(|c| {
                c.state == CertificateState::Retired
                    && c.key_removed_at.is_none()
                    && rotated_out.contains(&c.id)
            })
            .cloned()
            .collect();
        found.sort_by_key(|c| (c.retired_at, c.created_at));
        ready(Ok(found))
    }

    fn organization_keys_to_remove(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        let listed = self.keys_to_remove();
        Box::pin(async move {
            let mut found = listed.await?;
            found.retain(|c| c.organization == organization);
            Ok(found)
        })
    }

    fn mark_key_removed(
        &self,
        certificate: CertificateId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = match state
            .certificates
            .iter_mut()
            .find(|(c, _)| c.id == certificate)
        {
            Some((cert, _)) => {
                cert.key_removed_at.get_or_insert(at);
                Ok(())
            }
            None => Err(RepositoryError::not_found(format!(
                "certificate {certificate}"
            ))),
        };
        ready(result)
    }
}

/// The stored record, or the defaults for a known organization without one.
fn renewal_of(state: &MemoryState, organization: OrganizationId) -> RepoResult<RenewalRecord> {
    if !state.organizations.iter().any(|o| o.id == organization) {
        return Err(RepositoryError::not_found(format!(
            "organization {organization}"
        )));
    }
    Ok(state
        .renewals
        .get(&organization)
        .cloned()
        .unwrap_or_default())
}

fn thumbprint_of(state: &MemoryState, certificate: Option<CertificateId>) -> Option<String> {
    let certificate = certificate?;
    state
        .certificates
        .iter()
        .find(|(c, _)| c.id == certificate)
        .map(|(c, _)| c.sha1_thumbprint.clone())
}

impl AccountRepository for MemoryRepository {
    fn user_by_name<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<UserRecord>>> {
        ready(Ok(lock(&self.state)
            .users
            .iter()
            .find(|u| u.username == username && !u.disabled)
            .cloned()))
    }

    fn user(&self, id: UserId) -> BoxFuture<'_, RepoResult<Option<UserRecord>>> {
        ready(Ok(lock(&self.state)
            .users
            .iter()
            .find(|u| u.id == id)
            .cloned()))
    }

    fn users(&self) -> BoxFuture<'_, RepoResult<Vec<UserRecord>>> {
        let mut list = lock(&self.state).users.clone();
        list.sort_by(|a, b| a.username.cmp(&b.username));
        ready(Ok(list))
    }

    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        role: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>> {
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
            password_hash: password_hash.to_owned(),
            disabled: false,
            created_at: now,
        };
        state.users.push(user.clone());
        ready(Ok(user))
    }

    fn update_user<'a>(
        &'a self,
        id: UserId,
        change: &'a UserChange,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>> {
        let mut state = lock(&self.state);
        let Some(index) = state.users.iter().position(|u| u.id == id) else {
            return ready(Err(RepositoryError::not_found(format!("user {id}"))));
        };
        let mut changed = state.users[index].clone();
        if let Some(role) = change.role {
            changed.role = role;
        }
        if let Some(disabled) = change.disabled {
            changed.disabled = disabled;
        }
        if let Some(hash) = &change.password_hash {
            changed.password_hash = hash.clone();
        }
        let administrators = state
            .users
            .iter()
            .map(|u| if u.id == id { &changed } else { u })
            .filter(|u| u.role == Role::Administrator && !u.disabled)
            .count();
        if administrators == 0 {
            return ready(Err(RepositoryError::conflict(
                "no enabled administrator would remain",
            )));
        }
        state.users[index] = changed.clone();
        ready(Ok(changed))
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
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<SessionRecord>>> {
        let state = lock(&self.state);
        let found = state
            .sessions
            .get(&digest(token))
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

    fn delete_sessions_of(&self, user: UserId) -> BoxFuture<'_, RepoResult<u64>> {
        let mut state = lock(&self.state);
        let before = state.sessions.len();
        state.sessions.retain(|_, (owner, _)| *owner != user);
        ready(Ok(count(before - state.sessions.len())))
    }

    fn create_api_token<'a>(
        &'a self,
        new: &'a NewApiToken,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<(SecretString, ApiTokenRecord)>> {
        let token = random_secret("");
        let record = ApiTokenRecord {
            id: ApiTokenId::new(),
            name: new.name.clone(),
            role: new.role,
            owner: Some(new.owner),
            created_by: new.created_by.clone(),
            created_at: now,
            expires_at: Some(new.expires_at),
            last_used_at: None,
            revoked_at: None,
        };
        lock(&self.state)
            .api_tokens
            .push((digest(&token), record.clone()));
        ready(Ok((token, record)))
    }

    fn api_token<'a>(
        &'a self,
        token: &'a SecretString,
    ) -> BoxFuture<'a, RepoResult<Option<TokenWithOwner>>> {
        let state = lock(&self.state);
        let hash = digest(token);
        let found = state
            .api_tokens
            .iter()
            .find(|(h, _)| *h == hash)
            .map(|(_, record)| {
                let owner = state
                    .users
                    .iter()
                    .find(|u| Some(u.id) == record.owner)
                    .cloned();
                (record.clone(), owner)
            });
        ready(Ok(found))
    }

    fn record_api_token_use(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>> {
        if let Some((_, record)) = lock(&self.state)
            .api_tokens
            .iter_mut()
            .find(|(_, r)| r.id == id)
        {
            record.last_used_at = Some(at);
        }
        ready(Ok(()))
    }

    fn api_tokens(&self) -> BoxFuture<'_, RepoResult<Vec<ApiTokenRecord>>> {
        let mut list: Vec<ApiTokenRecord> = lock(&self.state)
            .api_tokens
            .iter()
            .map(|(_, r)| r.clone())
            .collect();
        list.sort_by(|a, b| {
            (a.created_at, a.id.to_string()).cmp(&(b.created_at, b.id.to_string()))
        });
        ready(Ok(list))
    }

    fn revoke_api_token(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<ApiTokenRecord>> {
        let mut state = lock(&self.state);
        let Some((_, record)) = state.api_tokens.iter_mut().find(|(_, r)| r.id == id) else {
            return ready(Err(RepositoryError::not_found(format!("API token {id}"))));
        };
        record.revoked_at = record.revoked_at.or(Some(at));
        ready(Ok(record.clone()))
    }

    fn revoke_api_tokens_of(
        &self,
        owner: UserId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<u64>> {
        let mut revoked = 0;
        for (_, record) in lock(&self.state).api_tokens.iter_mut() {
            if record.owner == Some(owner) && record.revoked_at.is_none() {
                record.revoked_at = Some(at);
                revoked += 1;
            }
        }
        ready(Ok(revoked))
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}
