//! The service's [`Repository`] and [`AccountRepository`] over the store. Rows already are the
//! service's types; what is left here is sealing private keys with the master key, turning the
//! whole-operation writes of the port into the store's compare-and-swap update, and naming
//! errors in the port's terms. No business rule lives here (those are in the service).
//!
//! Why a struct holding the [`Store`] and the [`MasterKey`] instead of a key inside `Store`:
//! opening, migrating, readiness probes and `admin rotate-master-key` (which needs two keys)
//! use the store without one key; only the port's `save_certificate` and `private_key` need
//! it, so the key is joined to the store exactly where the port is built.

use std::sync::Arc;

use tenantlink_certificate::{Credential, PrivateKey};
use tenantlink_service::renewal::{RenewalPolicy, RenewalRecord, RenewalState};
use tenantlink_service::{
    AccountRepository, ApiTokenId, ApiTokenRecord, AssertionProfile, AuditEntry, AuditFilter,
    BoxFuture, CertificateId, CertificateSource, ConnectionState, CredentialProof, NewAuditEntry,
    NewOrganization, Operation, OperationId, Organization, OrganizationId, RepoResult, Repository,
    RepositoryError, Role, SecretString, SessionRecord, StoredCertificate, UserId, UserRecord,
};
use tenantlink_service::{NewApiToken, TokenWithOwner, UserChange};
use time::OffsetDateTime;

use crate::certificates::NewCertificate;
use crate::error::StoreError;
use crate::master_key::MasterKey;
use crate::operations::{Activation, OperationUpdate};
use crate::{Store, StoreResult};

/// The store with the master key that seals its private keys: what the service runs on.
#[derive(Debug, Clone)]
pub struct StoreRepository {
    store: Store,
    master_key: Arc<MasterKey>,
}

impl StoreRepository {
    pub fn new(store: Store, master_key: Arc<MasterKey>) -> Self {
        Self { store, master_key }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn master_key(&self) -> &MasterKey {
        &self.master_key
    }
}

/// A store error in the port's terms: missing rows are `NotFound`, lost compare-and-swaps,
/// refused steps and duplicates are `Conflict`, the rest is `Storage` naming what was tried.
fn port_error(action: &'static str) -> impl Fn(StoreError) -> RepositoryError {
    move |err| match err {
        StoreError::NotFound { entity, id } => RepositoryError::not_found(format!("{entity} {id}")),
        StoreError::Conflict(conflict) => RepositoryError::conflict(conflict.to_string()),
        StoreError::AlreadyExists { .. } | StoreError::InvalidTransition { .. } => {
            RepositoryError::conflict(err.to_string())
        }
        other => RepositoryError::storage(action, other),
    }
}

pub(crate) trait InPort<T> {
    fn port(self, action: &'static str) -> RepoResult<T>;
}

impl<T> InPort<T> for StoreResult<T> {
    fn port(self, action: &'static str) -> RepoResult<T> {
        self.map_err(port_error(action))
    }
}

impl Repository for StoreRepository {
    fn organizations(&self) -> BoxFuture<'_, RepoResult<Vec<Organization>>> {
        Box::pin(async move { self.store.organizations().await.port("list organizations") })
    }

    fn organization(&self, id: OrganizationId) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            self.store
                .organization(id)
                .await
                .port("read the organization")
        })
    }

    fn add_organization(
        &self,
        new: NewOrganization,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            self.store
                .create_organization(new, now)
                .await
                .port("add the organization")
        })
    }

    fn set_app_object_id<'a>(
        &'a self,
        id: OrganizationId,
        object_id: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .set_app_object_id(id, object_id, now)
                .await
                .port("record the application object id")
        })
    }

    fn set_application<'a>(
        &'a self,
        id: OrganizationId,
        app_id: &'a str,
        object_id: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Organization>> {
        Box::pin(async move {
            self.store
                .set_application(id, app_id, object_id, now)
                .await
                .port("record the application")
        })
    }

    fn set_assertion_profile(
        &self,
        organization: OrganizationId,
        profile: AssertionProfile,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            self.store
                .set_assertion_profile(organization, profile, at)
                .await
                .port("change the assertion profile")
        })
    }

    fn set_connection_state<'a>(
        &'a self,
        organization: OrganizationId,
        state: ConnectionState,
        last_error: Option<&'a str>,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .set_connection_state(organization, state, last_error, at)
                .await
                .port("record the connection state")
        })
    }

    fn certificates(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        Box::pin(async move {
            self.store
                .certificates(organization)
                .await
                .port("list certificates")
        })
    }

    fn certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<StoredCertificate>> {
        Box::pin(async move {
            self.store
                .certificate(id)
                .await
                .port("read the certificate")
        })
    }

    fn save_certificate<'a>(
        &'a self,
        organization: OrganizationId,
        credential: &'a Credential,
        source: CertificateSource,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<StoredCertificate>> {
        Box::pin(async move {
            let certificate = credential.certificate();
            let thumbprints = certificate.thumbprints();
            self.store
                .insert_certificate(
                    &self.master_key,
                    NewCertificate {
                        organization,
                        sha1: *thumbprints.sha1(),
                        sha256: *thumbprints.sha256(),
                        subject: certificate.subject().to_owned(),
                        not_before: certificate.not_before(),
                        not_after: certificate.not_after(),
                        source,
                        der: certificate.der().to_vec(),
                        private_key_pkcs8: credential.private_key().pkcs8_der(),
                    },
                    now,
                )
                .await
                .port("store the certificate")
        })
    }

    fn private_key(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<PrivateKey>> {
        Box::pin(async move {
            let der = self
                .store
                .certificate_private_key(&self.master_key, id)
                .await
                .port("decrypt the private key")?;
            PrivateKey::from_pkcs8_der(&der)
                .map_err(|e| RepositoryError::storage("read the private key", e))
        })
    }

    fn discard_certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .discard_certificate(id)
                .await
                .port("discard the certificate")
        })
    }

    fn activate<'a>(
        &'a self,
        operation: &'a Operation,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        Box::pin(async move {
            let certificate = operation
                .certificate
                .ok_or_else(|| RepositoryError::conflict("the operation has no certificate"))?;
            self.store
                .activate_certificate(
                    Activation {
                        organization: operation.organization,
                        operation: operation.id,
                        expected_step: operation.step,
                        expected_version: operation.version,
                        certificate,
                        expected_active: operation.replaces,
                    },
                    now,
                )
                .await
                .port("activate the certificate")?;
            self.store
                .operation(operation.id)
                .await
                .port("read the operation")
        })
    }

    fn create_operation<'a>(
        &'a self,
        operation: &'a Operation,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        Box::pin(async move {
            self.store
                .create_operation(operation)
                .await
                .port("create the operation")
        })
    }

    fn operation(&self, id: OperationId) -> BoxFuture<'_, RepoResult<Operation>> {
        Box::pin(async move { self.store.operation(id).await.port("read the operation") })
    }

    fn update_operation<'a>(&'a self, operation: &'a Operation) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            let expected = operation.version.checked_sub(1).ok_or_else(|| {
                RepositoryError::conflict(format!(
                    "operation {} has version 0, which no stored operation has",
                    operation.id
                ))
            })?;
            self.store
                .update_operation(
                    operation.id,
                    expected,
                    OperationUpdate {
                        step: Some(operation.step),
                        // The prompt and its holder are recorded at creation and never change.
                        sign_in: None,
                        sign_in_holder: None,
                        signed_in_as: operation.signed_in_as.clone(),
                        certificate: operation.certificate,
                        failure: operation.failure.clone(),
                    },
                    operation.updated_at,
                )
                .await
                .port("update the operation")?;
            Ok(())
        })
    }

    fn heartbeat<'a>(
        &'a self,
        holder: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u64>> {
        Box::pin(async move {
            self.store
                .heartbeat_operations(holder, now)
                .await
                .port("record the operations' heartbeat")
        })
    }

    fn take_over<'a>(
        &'a self,
        operation: &'a Operation,
        new_holder: &'a str,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        Box::pin(async move {
            self.store
                .take_over_operation(
                    operation.id,
                    operation.version,
                    operation.sign_in_holder.as_deref(),
                    new_holder,
                    now,
                )
                .await
                .port("take the operation over")
        })
    }

    fn unfinished_operations(&self) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        Box::pin(async move {
            self.store
                .unfinished_operations()
                .await
                .port("list unfinished operations")
        })
    }

    fn operations(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        Box::pin(async move {
            self.store
                .operations(organization)
                .await
                .port("list operations")
        })
    }

    fn record_proof<'a>(
        &'a self,
        certificate: CertificateId,
        proof: &'a CredentialProof,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        Box::pin(async move {
            self.store
                .record_certificate_proof(certificate, proof)
                .await
                .port("record the certificate's proof")
        })
    }

    fn append_audit(&self, entry: NewAuditEntry) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .append_audit(&entry)
                .await
                .port("append to the audit log")?;
            Ok(())
        })
    }

    fn audit(&self, limit: u32) -> BoxFuture<'_, RepoResult<Vec<AuditEntry>>> {
        Box::pin(async move {
            self.store
                .audit_entries(&AuditFilter::newest(limit))
                .await
                .port("read the audit log")
        })
    }

    fn renewal(&self, organization: OrganizationId) -> BoxFuture<'_, RepoResult<RenewalRecord>> {
        Box::pin(async move {
            self.store
                .renewal(organization)
                .await
                .port("read the renewal policy")
        })
    }

    fn set_renewal_policy<'a>(
        &'a self,
        organization: OrganizationId,
        policy: &'a RenewalPolicy,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<RenewalRecord>> {
        Box::pin(async move {
            self.store
                .set_renewal_policy(organization, policy, at)
                .await
                .port("change the renewal policy")
        })
    }

    fn set_renewal_state<'a>(
        &'a self,
        organization: OrganizationId,
        state: &'a RenewalState,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .set_renewal_state(organization, state, at)
                .await
                .port("record the renewal state")
        })
    }

    fn claim_renewal<'a>(
        &'a self,
        organization: OrganizationId,
        holder: &'a str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        Box::pin(async move {
            self.store
                .claim_renewal(organization, holder, now, until)
                .await
                .port("claim the renewal")
        })
    }

    fn release_renewal<'a>(
        &'a self,
        organization: OrganizationId,
        holder: &'a str,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .release_renewal(organization, holder)
                .await
                .port("release the renewal claim")
        })
    }

    fn keys_to_remove(&self) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        Box::pin(async move {
            self.store
                .keys_to_remove()
                .await
                .port("list keys to remove")
        })
    }

    fn organization_keys_to_remove(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        Box::pin(async move {
            self.store
                .organization_keys_to_remove(organization)
                .await
                .port("list the organization's keys to remove")
        })
    }

    fn mark_key_removed(
        &self,
        certificate: CertificateId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .mark_key_removed(certificate, at)
                .await
                .port("mark the key removed")
        })
    }
}

impl AccountRepository for StoreRepository {
    fn user_by_name<'a>(
        &'a self,
        username: &'a str,
    ) -> BoxFuture<'a, RepoResult<Option<UserRecord>>> {
        Box::pin(async move {
            Ok(self
                .store
                .user_by_username(username)
                .await
                .port("read the user")?
                .filter(|u| !u.disabled))
        })
    }

    fn user(&self, id: UserId) -> BoxFuture<'_, RepoResult<Option<UserRecord>>> {
        Box::pin(async move { self.store.user(id).await.port("read the user") })
    }

    fn users(&self) -> BoxFuture<'_, RepoResult<Vec<UserRecord>>> {
        Box::pin(async move { self.store.users().await.port("list users") })
    }

    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password_hash: &'a str,
        role: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>> {
        Box::pin(async move {
            self.store
                .create_user(username, password_hash, role, now)
                .await
                .port("create the user")
        })
    }

    fn update_user<'a>(
        &'a self,
        id: UserId,
        change: &'a UserChange,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>> {
        Box::pin(async move {
            self.store
                .update_user(id, change, now)
                .await
                .port("change the user")
        })
    }

    fn create_session(
        &self,
        user: UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<SecretString>> {
        Box::pin(async move {
            self.store
                .create_session(user, now, expires_at)
                .await
                .port("create the session")
        })
    }

    fn session<'a>(
        &'a self,
        token: &'a SecretString,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<SessionRecord>>> {
        Box::pin(async move { self.store.session(token).await.port("read the session") })
    }

    fn delete_session<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .delete_session(token)
                .await
                .port("end the session")
        })
    }

    fn delete_sessions_of(&self, user: UserId) -> BoxFuture<'_, RepoResult<u64>> {
        Box::pin(async move {
            self.store
                .delete_sessions_of(user)
                .await
                .port("end the user's sessions")
        })
    }

    fn create_api_token<'a>(
        &'a self,
        new: &'a NewApiToken,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<(SecretString, ApiTokenRecord)>> {
        Box::pin(async move {
            self.store
                .create_api_token(new, now)
                .await
                .port("create the API token")
        })
    }

    fn api_token<'a>(
        &'a self,
        token: &'a SecretString,
    ) -> BoxFuture<'a, RepoResult<Option<TokenWithOwner>>> {
        Box::pin(async move { self.store.api_token(token).await.port("read the API token") })
    }

    fn record_api_token_use(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .record_api_token_use(id, at)
                .await
                .port("record the API token's use")
        })
    }

    fn api_tokens(&self) -> BoxFuture<'_, RepoResult<Vec<ApiTokenRecord>>> {
        Box::pin(async move { self.store.api_tokens().await.port("list API tokens") })
    }

    fn revoke_api_token(
        &self,
        id: ApiTokenId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<ApiTokenRecord>> {
        Box::pin(async move {
            self.store
                .revoke_api_token(id, at)
                .await
                .port("revoke the API token")
        })
    }

    fn revoke_api_tokens_of(
        &self,
        owner: UserId,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<u64>> {
        Box::pin(async move {
            self.store
                .revoke_api_tokens_of(owner, at)
                .await
                .port("revoke the user's API tokens")
        })
    }
}
