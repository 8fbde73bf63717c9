//! The service's `Repository` over a real store, for the backup tests: the organizations, the
//! active certificate and its private key, the proofs and the connection state live in the
//! store (so the tests read what a run wrote there); the audit log is an in-memory one the tests
//! read back.
//!
//! Temporary bridge: until `tenantlink-store` implements `Repository` itself (issue #10, item 1),
//! only what backup needs is mapped. Once the store implements it, [`repository`] becomes
//! `Arc::new(store.clone())` and this file goes.
#![allow(dead_code)]

use std::sync::Arc;

use tenantlink_certificate::{Credential, PrivateKey};
use tenantlink_service::fakes::MemoryRepository;
use tenantlink_service::{
    AssertionProfile, AuditEntry, BoxFuture, CertificateId, CertificateSource, ConnectionState,
    CredentialProof, NewAuditEntry, NewOrganization, Operation, OperationId, Organization,
    OrganizationId, ProofOutcome, ProofSource, RepoResult, Repository, RepositoryError,
    StoredCertificate,
};
use tenantlink_store as store;
use time::OffsetDateTime;

#[derive(Debug)]
pub struct StoreRepository {
    store: store::Store,
    master_key: Arc<store::MasterKey>,
    audit: MemoryRepository,
}

/// The repository the backup crate is given in the tests.
pub fn repository(store: &store::Store, master_key: Arc<store::MasterKey>) -> Arc<StoreRepository> {
    Arc::new(StoreRepository {
        store: store.clone(),
        master_key,
        audit: MemoryRepository::new(),
    })
}

/// The store's organization id of a service id.
pub fn store_id(id: OrganizationId) -> store::OrganizationId {
    store::OrganizationId::from(id.0)
}

/// The service's organization id of a store id.
pub fn service_id(id: store::OrganizationId) -> OrganizationId {
    OrganizationId(id.as_uuid())
}

fn repo_error(action: &'static str) -> impl Fn(store::StoreError) -> RepositoryError {
    move |error| match error {
        store::StoreError::NotFound { entity, id } => {
            RepositoryError::not_found(format!("{entity} {id}"))
        }
        store::StoreError::Conflict(c) => RepositoryError::conflict(c.to_string()),
        other => RepositoryError::storage(action, other),
    }
}

fn not_bridged<T: Send + 'static>(what: &'static str) -> BoxFuture<'static, RepoResult<T>> {
    Box::pin(async move {
        Err(RepositoryError::storage(
            what,
            "not used by the backup tests",
        ))
    })
}

impl StoreRepository {
    async fn organization_of(&self, org: store::Organization) -> RepoResult<Organization> {
        let active = self
            .store
            .active_certificate(org.id)
            .await
            .map_err(repo_error("read the active certificate"))?;
        Ok(Organization {
            id: service_id(org.id),
            name: org.display_name,
            tenant: org.tenant,
            cloud: org.cloud,
            app_id: org.backup_app_id,
            app_object_id: org.app_object_id,
            active_certificate: active.map(|c| CertificateId(c.id.as_uuid())),
            connection: match org.connection_state {
                store::ConnectionState::Unknown => ConnectionState::Unknown,
                store::ConnectionState::Connected => ConnectionState::Connected,
                store::ConnectionState::Broken => ConnectionState::Broken,
            },
            last_error: org.last_error,
            assertion_profile: match org.assertion_profile {
                store::AssertionProfile::Rs256 => AssertionProfile::Rs256X5t,
                store::AssertionProfile::Ps256 => AssertionProfile::Ps256X5tS256,
            },
            created_at: org.created_at,
        })
    }
}

impl Repository for StoreRepository {
    fn organizations(&self) -> BoxFuture<'_, RepoResult<Vec<Organization>>> {
        not_bridged("list organizations")
    }

    fn organization(&self, id: OrganizationId) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            let org = self
                .store
                .organization(store_id(id))
                .await
                .map_err(repo_error("read the organization"))?;
            self.organization_of(org).await
        })
    }

    fn add_organization(
        &self,
        _new: NewOrganization,
        _now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        not_bridged("add an organization")
    }

    fn set_app_object_id<'a>(
        &'a self,
        _id: OrganizationId,
        _object_id: &'a str,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        not_bridged("record the application object id")
    }

    fn set_assertion_profile(
        &self,
        _organization: OrganizationId,
        _profile: AssertionProfile,
        _at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        not_bridged("change the assertion profile")
    }

    fn set_connection_state<'a>(
        &'a self,
        organization: OrganizationId,
        state: ConnectionState,
        last_error: Option<&'a str>,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            let state = match state {
                ConnectionState::Unknown => store::ConnectionState::Unknown,
                ConnectionState::Connected => store::ConnectionState::Connected,
                ConnectionState::Broken => store::ConnectionState::Broken,
            };
            self.store
                .set_connection_state(store_id(organization), state, last_error, at)
                .await
                .map_err(repo_error("record the connection state"))
        })
    }

    fn certificates(
        &self,
        _organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        not_bridged("list certificates")
    }

    fn certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<StoredCertificate>> {
        Box::pin(async move {
            let record = self
                .store
                .certificate(store::CertificateId::from(id.0))
                .await
                .map_err(repo_error("read the certificate"))?;
            Ok(StoredCertificate {
                id,
                organization: service_id(record.organization_id),
                source: match record.source {
                    store::CertificateSource::Generated => CertificateSource::Generated,
                    store::CertificateSource::Uploaded => CertificateSource::Uploaded,
                },
                subject: record.subject,
                sha1_hex: record.sha1_thumbprint,
                sha256_hex: record.sha256_thumbprint,
                not_before: record.not_before,
                not_after: record.not_after,
                der: record.public_der,
                created_at: record.created_at,
                activated_at: record.activated_at,
                // The tests read proofs from the store itself.
                last_proof: None,
            })
        })
    }

    fn save_certificate<'a>(
        &'a self,
        _organization: OrganizationId,
        _credential: &'a Credential,
        _source: CertificateSource,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<StoredCertificate>> {
        not_bridged("save a certificate")
    }

    fn private_key(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<PrivateKey>> {
        Box::pin(async move {
            let der = self
                .store
                .certificate_private_key(&self.master_key, store::CertificateId::from(id.0))
                .await
                .map_err(repo_error("decrypt the private key"))?;
            PrivateKey::from_pkcs8_der(&der)
                .map_err(|e| RepositoryError::storage("read the private key", e))
        })
    }

    fn discard_certificate(&self, _id: CertificateId) -> BoxFuture<'_, RepoResult<()>> {
        not_bridged("discard a certificate")
    }

    fn activate<'a>(
        &'a self,
        _operation: &'a Operation,
        _now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        not_bridged("activate a certificate")
    }

    fn create_operation<'a>(
        &'a self,
        _operation: &'a Operation,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        not_bridged("create an operation")
    }

    fn operation(&self, _id: OperationId) -> BoxFuture<'_, RepoResult<Operation>> {
        not_bridged("read an operation")
    }

    fn update_operation<'a>(&'a self, _operation: &'a Operation) -> BoxFuture<'a, RepoResult<()>> {
        not_bridged("update an operation")
    }

    fn unfinished_operations(&self) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        not_bridged("list unfinished operations")
    }

    fn operations(
        &self,
        _organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        not_bridged("list operations")
    }

    /// Only the proof: the connection state is the service's rule's to set.
    fn record_proof<'a>(
        &'a self,
        certificate: CertificateId,
        proof: &'a CredentialProof,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            let proof = store::CertificateProof {
                outcome: match proof.outcome {
                    ProofOutcome::Accepted => store::ProofOutcome::Accepted,
                    ProofOutcome::KeyNotRegistered => store::ProofOutcome::KeyNotRegistered,
                    ProofOutcome::KeyExpired => store::ProofOutcome::KeyExpired,
                    ProofOutcome::Refused => store::ProofOutcome::Refused,
                },
                source: match proof.source {
                    ProofSource::Activation => store::ProofSource::Activation,
                    ProofSource::ConnectionCheck => store::ProofSource::ConnectionCheck,
                    ProofSource::BackupRun => store::ProofSource::BackupRun,
                },
                detail: proof.detail.clone(),
                at: proof.checked_at,
            };
            self.store
                .record_certificate_proof(store::CertificateId::from(certificate.0), &proof)
                .await
                .map_err(repo_error("record the certificate's proof"))?;
            Ok(())
        })
    }

    fn append_audit(&self, entry: NewAuditEntry) -> BoxFuture<'_, RepoResult<()>> {
        self.audit.append_audit(entry)
    }

    fn audit(&self, limit: u32) -> BoxFuture<'_, RepoResult<Vec<AuditEntry>>> {
        self.audit.audit(limit)
    }
}
