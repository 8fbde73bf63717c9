//! The service's [`Repository`] and [`AccountRepository`] over tenantlink-store (SQLite or
//! PostgreSQL). Private keys are sealed with the master key by the store; this adapter only maps
//! records between the two vocabularies.

use std::sync::Arc;
use tenantlink_certificate::{Credential, PrivateKey};
use tenantlink_service::{
    AccountRepository, ApiTokenRecord, AssertionProfile, AuditEntry, BoxFuture, CertificateId,
    CertificateSource, ConnectionState, CredentialProof, NewAuditEntry, NewOrganization, Operation,
    OperationFailure, OperationId, OperationKind, OperationStep, Organization, OrganizationId,
    ProofOutcome, ProofSource, RepoResult, Repository, RepositoryError, Role, SecretString,
    SessionRecord, SignInPrompt, StoredCertificate, UserId, UserRecord,
};
use tenantlink_store as store;
use time::OffsetDateTime;

#[derive(Debug, Clone)]
pub struct StoreRepository {
    store: store::Store,
    master_key: Arc<store::MasterKey>,
}

impl StoreRepository {
    pub fn new(store: store::Store, master_key: Arc<store::MasterKey>) -> Self {
        Self { store, master_key }
    }
}

fn map_err(action: &'static str) -> impl Fn(store::StoreError) -> RepositoryError {
    move |err| match err {
        store::StoreError::NotFound { entity, id } => {
            RepositoryError::not_found(format!("{entity} {id}"))
        }
        store::StoreError::Conflict(c) => RepositoryError::conflict(c.to_string()),
        store::StoreError::AlreadyExists { .. } | store::StoreError::InvalidTransition { .. } => {
            RepositoryError::conflict(err.to_string())
        }
        other => RepositoryError::storage(action, other),
    }
}

fn uuid_of(text: impl ToString) -> uuid::Uuid {
    // Ids round-trip through their canonical text form in both crates.
    uuid::Uuid::parse_str(&text.to_string()).unwrap_or_default()
}

fn assertion_profile_of(profile: store::AssertionProfile) -> AssertionProfile {
    match profile {
        store::AssertionProfile::Rs256 => AssertionProfile::Rs256X5t,
        store::AssertionProfile::Ps256 => AssertionProfile::Ps256X5tS256,
    }
}

fn stored_assertion_profile(profile: AssertionProfile) -> store::AssertionProfile {
    match profile {
        AssertionProfile::Rs256X5t => store::AssertionProfile::Rs256,
        AssertionProfile::Ps256X5tS256 => store::AssertionProfile::Ps256,
    }
}

fn org_id(id: OrganizationId) -> store::OrganizationId {
    store::OrganizationId::from(id.0)
}
fn cert_id(id: CertificateId) -> store::CertificateId {
    store::CertificateId::from(id.0)
}
fn op_id(id: OperationId) -> store::OperationId {
    store::OperationId::from(id.0)
}

fn certificate_of(record: store::CertificateRecord) -> StoredCertificate {
    StoredCertificate {
        id: CertificateId(uuid_of(record.id)),
        organization: OrganizationId(uuid_of(record.organization_id)),
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
        last_proof: record.last_proof.map(|p| CredentialProof {
            outcome: match p.outcome {
                store::ProofOutcome::Accepted => ProofOutcome::Accepted,
                store::ProofOutcome::KeyNotRegistered => ProofOutcome::KeyNotRegistered,
                store::ProofOutcome::KeyExpired => ProofOutcome::KeyExpired,
                store::ProofOutcome::Refused => ProofOutcome::Refused,
            },
            source: match p.source {
                store::ProofSource::Activation => ProofSource::Activation,
                store::ProofSource::ConnectionCheck => ProofSource::ConnectionCheck,
                store::ProofSource::BackupRun => ProofSource::BackupRun,
            },
            checked_at: p.at,
            detail: p.detail,
        }),
    }
}

fn store_proof(proof: &CredentialProof) -> store::CertificateProof {
    store::CertificateProof {
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
    }
}

fn step_of(state: store::OperationState) -> OperationStep {
    match state {
        store::OperationState::AwaitingSignIn => OperationStep::AwaitingSignIn,
        store::OperationState::AwaitingInput => OperationStep::SignedIn,
        store::OperationState::Attaching => OperationStep::CertificateStored,
        store::OperationState::Proving => OperationStep::Attached,
        store::OperationState::Succeeded => OperationStep::Succeeded,
        store::OperationState::Failed => OperationStep::Failed,
        store::OperationState::Cancelled => OperationStep::Cancelled,
    }
}

fn state_of(step: OperationStep) -> store::OperationState {
    match step {
        OperationStep::AwaitingSignIn => store::OperationState::AwaitingSignIn,
        OperationStep::SignedIn => store::OperationState::AwaitingInput,
        OperationStep::CertificateStored => store::OperationState::Attaching,
        OperationStep::Attached => store::OperationState::Proving,
        OperationStep::Succeeded => store::OperationState::Succeeded,
        OperationStep::Failed => store::OperationState::Failed,
        OperationStep::Cancelled => store::OperationState::Cancelled,
    }
}

impl StoreRepository {
    async fn operation_of(&self, op: store::Operation) -> RepoResult<Operation> {
        let thumbprint = match op.new_certificate_id {
            Some(id) => Some(
                self.store
                    .certificate(id)
                    .await
                    .map_err(map_err("read the operation's certificate"))?
                    .sha1_thumbprint,
            ),
            None => None,
        };
        let failure = op.error.map(|e| OperationFailure {
            code: e.kind,
            message: e.message,
            remediation: e.remediation.unwrap_or_default(),
        });
        Ok(Operation {
            id: OperationId(uuid_of(op.id)),
            organization: OrganizationId(uuid_of(op.organization_id)),
            kind: match op.kind {
                store::OperationKind::Generate => OperationKind::Generate,
                store::OperationKind::Upload => OperationKind::Upload,
            },
            step: step_of(op.state),
            started_by: op.started_by,
            started_at: op.created_at,
            updated_at: op.updated_at,
            version: u64::try_from(op.version).unwrap_or_default(),
            sign_in: op.device_sign_in.as_ref().map(|s| SignInPrompt {
                user_code: s.user_code.clone(),
                verification_uri: s.verification_uri.clone(),
                expires_at: s.expires_at,
            }),
            signed_in_as: op.signed_in_as,
            certificate: op.new_certificate_id.map(|c| CertificateId(uuid_of(c))),
            thumbprint_sha1: thumbprint,
            replaces: op.expected_active_id.map(|c| CertificateId(uuid_of(c))),
            failure,
            sign_in_holder: op.sign_in_holder,
        })
    }

    async fn organization_of(&self, org: store::Organization) -> RepoResult<Organization> {
        let active = self
            .store
            .active_certificate(org.id)
            .await
            .map_err(map_err("read the active certificate"))?;
        Ok(Organization {
            id: OrganizationId(uuid_of(org.id)),
            name: org.display_name,
            tenant: org.tenant,
            cloud: org.cloud,
            app_id: org.backup_app_id,
            app_object_id: org.app_object_id,
            active_certificate: active.map(|c| CertificateId(uuid_of(c.id))),
            connection: match org.connection_state {
                store::ConnectionState::Unknown => ConnectionState::Unknown,
                store::ConnectionState::Connected => ConnectionState::Connected,
                store::ConnectionState::Broken => ConnectionState::Broken,
            },
            last_error: org.last_error,
            assertion_profile: assertion_profile_of(org.assertion_profile),
            created_at: org.created_at,
        })
    }
}

impl Repository for StoreRepository {
    fn organizations(&self) -> BoxFuture<'_, RepoResult<Vec<Organization>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for org in self
                .store
                .organizations()
                .await
                .map_err(map_err("list organizations"))?
            {
                out.push(self.organization_of(org).await?);
            }
            Ok(out)
        })
    }

    fn organization(&self, id: OrganizationId) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            let org = self
                .store
                .organization(org_id(id))
                .await
                .map_err(map_err("read the organization"))?;
            self.organization_of(org).await
        })
    }

    fn add_organization(
        &self,
        new: NewOrganization,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            let org = self
                .store
                .create_organization(
                    store::NewOrganization {
                        tenant: new.tenant,
                        cloud: new.cloud,
                        backup_app_id: new.app_id,
                        app_object_id: None,
                        display_name: new.name,
                    },
                    now,
                )
                .await
                .map_err(map_err("add the organization"))?;
            self.organization_of(org).await
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
                .set_app_object_id(org_id(id), object_id, now)
                .await
                .map_err(map_err("record the application object id"))
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
            let state = match state {
                ConnectionState::Unknown => store::ConnectionState::Unknown,
                ConnectionState::Connected => store::ConnectionState::Connected,
                ConnectionState::Broken => store::ConnectionState::Broken,
            };
            self.store
                .set_connection_state(org_id(organization), state, last_error, at)
                .await
                .map_err(map_err("record the connection state"))
        })
    }

    fn set_assertion_profile(
        &self,
        organization: OrganizationId,
        profile: AssertionProfile,
        at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<Organization>> {
        Box::pin(async move {
            let org = self
                .store
                .set_assertion_profile(org_id(organization), stored_assertion_profile(profile), at)
                .await
                .map_err(map_err("change the assertion profile"))?;
            self.organization_of(org).await
        })
    }

    fn certificates(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<StoredCertificate>>> {
        Box::pin(async move {
            let mut list: Vec<_> = self
                .store
                .certificates(org_id(organization))
                .await
                .map_err(map_err("list certificates"))?
                .into_iter()
                .map(certificate_of)
                .collect();
            list.sort_by_key(|c| std::cmp::Reverse(c.created_at));
            Ok(list)
        })
    }

    fn certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<StoredCertificate>> {
        Box::pin(async move {
            self.store
                .certificate(cert_id(id))
                .await
                .map(certificate_of)
                .map_err(map_err("read the certificate"))
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
            let record = self
                .store
                .insert_certificate(
                    &self.master_key,
                    store::NewCertificate {
                        organization_id: org_id(organization),
                        sha1: *thumbprints.sha1(),
                        sha256: *thumbprints.sha256(),
                        subject: certificate.subject().to_owned(),
                        not_before: certificate.not_before(),
                        not_after: certificate.not_after(),
                        source: match source {
                            CertificateSource::Generated => store::CertificateSource::Generated,
                            CertificateSource::Uploaded => store::CertificateSource::Uploaded,
                        },
                        public_der: certificate.der().to_vec(),
                        private_key_pkcs8: credential.private_key().pkcs8_der(),
                    },
                    now,
                )
                .await
                .map_err(map_err("store the certificate"))?;
            Ok(certificate_of(record))
        })
    }

    fn private_key(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<PrivateKey>> {
        Box::pin(async move {
            let der = self
                .store
                .certificate_private_key(&self.master_key, cert_id(id))
                .await
                .map_err(map_err("decrypt the private key"))?;
            PrivateKey::from_pkcs8_der(&der)
                .map_err(|e| RepositoryError::storage("read the private key", e))
        })
    }

    fn discard_certificate(&self, id: CertificateId) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .discard_certificate(cert_id(id))
                .await
                .map_err(map_err("discard the certificate"))
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
                    store::Activation {
                        organization_id: org_id(operation.organization),
                        operation_id: op_id(operation.id),
                        expected_operation_state: state_of(operation.step),
                        certificate_id: cert_id(certificate),
                        expected_active: operation.replaces.map(cert_id),
                    },
                    now,
                )
                .await
                .map_err(map_err("activate the certificate"))?;
            let stored = self
                .store
                .operation(op_id(operation.id))
                .await
                .map_err(map_err("read the operation"))?;
            self.operation_of(stored).await
        })
    }

    fn create_operation<'a>(
        &'a self,
        operation: &'a Operation,
    ) -> BoxFuture<'a, RepoResult<Operation>> {
        Box::pin(async move {
            let organization = org_id(operation.organization);
            // The database allows one unfinished operation per organization (a partial unique
            // index); a second one is refused as a conflict naming the one in the way.
            let created = self
                .store
                .create_operation(
                    store::NewOperation {
                        organization_id: organization,
                        kind: match operation.kind {
                            OperationKind::Generate => store::OperationKind::Generate,
                            OperationKind::Upload => store::OperationKind::Upload,
                        },
                        started_by: operation.started_by.clone(),
                        step: "waiting for the device sign-in".into(),
                    },
                    operation.started_at,
                )
                .await
                .map_err(map_err("create the operation"))?;
            let with_prompt = self
                .store
                .update_operation(
                    created.id,
                    created.version,
                    store::OperationUpdate {
                        device_sign_in: operation.sign_in.as_ref().map(|p| store::DeviceSignIn {
                            user_code: p.user_code.clone(),
                            verification_uri: p.verification_uri.clone(),
                            expires_at: p.expires_at,
                        }),
                        // Which instance holds the device code: others must not end it as lost.
                        sign_in_holder: operation.sign_in_holder.clone(),
                        ..Default::default()
                    },
                    operation.started_at,
                )
                .await
                .map_err(map_err("record the sign-in code"))?;
            self.operation_of(with_prompt).await
        })
    }

    fn operation(&self, id: OperationId) -> BoxFuture<'_, RepoResult<Operation>> {
        Box::pin(async move {
            let op = self
                .store
                .operation(op_id(id))
                .await
                .map_err(map_err("read the operation"))?;
            self.operation_of(op).await
        })
    }

    fn update_operation<'a>(&'a self, operation: &'a Operation) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            let error = operation.failure.as_ref().map(|f| store::OperationError {
                kind: f.code.clone(),
                message: f.message.clone(),
                remediation: Some(f.remediation.clone()).filter(|r| !r.is_empty()),
            });
            let expected = i64::try_from(operation.version.saturating_sub(1)).unwrap_or_default();
            self.store
                .update_operation(
                    op_id(operation.id),
                    expected,
                    store::OperationUpdate {
                        state: Some(state_of(operation.step)),
                        step: Some(operation.step.as_str().replace('_', " ")),
                        device_sign_in: None,
                        signed_in_as: operation.signed_in_as.clone(),
                        new_certificate_id: operation.certificate.map(cert_id),
                        error,
                        // Set at creation and never changed (None keeps the stored value).
                        sign_in_holder: None,
                    },
                    operation.updated_at,
                )
                .await
                .map_err(map_err("update the operation"))?;
            Ok(())
        })
    }

    fn unfinished_operations(&self) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for op in self
                .store
                .resumable_operations(OffsetDateTime::UNIX_EPOCH)
                .await
                .map_err(map_err("list unfinished operations"))?
            {
                out.push(self.operation_of(op).await?);
            }
            Ok(out)
        })
    }

    fn operations(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<Operation>>> {
        Box::pin(async move {
            let mut out = Vec::new();
            for op in self
                .store
                .operations(org_id(organization))
                .await
                .map_err(map_err("list operations"))?
            {
                out.push(self.operation_of(op).await?);
            }
            out.sort_by_key(|o| std::cmp::Reverse(o.started_at));
            Ok(out)
        })
    }

    /// Also the organization's connection state when the certificate is its active one: a
    /// token issued means connected, a refusal broken with Entra's message (as backup runs do).
    fn record_proof<'a>(
        &'a self,
        certificate: CertificateId,
        proof: &'a CredentialProof,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            let recorded = self
                .store
                .record_certificate_proof(cert_id(certificate), &store_proof(proof))
                .await
                .map_err(map_err("record the certificate's proof"))?;
            let record = self
                .store
                .certificate(cert_id(certificate))
                .await
                .map_err(map_err("read the certificate"))?;
            if recorded && record.state == store::CertificateState::Active {
                let (state, error) = match proof.outcome {
                    ProofOutcome::Accepted => (store::ConnectionState::Connected, None),
                    _ => (store::ConnectionState::Broken, proof.detail.as_deref()),
                };
                self.store
                    .set_connection_state(record.organization_id, state, error, proof.checked_at)
                    .await
                    .map_err(map_err("record the connection state"))?;
            }
            Ok(())
        })
    }

    fn append_audit(&self, entry: NewAuditEntry) -> BoxFuture<'_, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .append_audit(store::NewAuditEvent {
                    at: entry.at,
                    actor: entry.actor,
                    organization_id: entry.organization.map(org_id),
                    action: entry.action.as_str().to_owned(),
                    outcome: match entry.outcome {
                        tenantlink_service::AuditOutcome::Success => store::AuditOutcome::Success,
                        tenantlink_service::AuditOutcome::Failure => store::AuditOutcome::Failure,
                    },
                    thumbprints: entry.thumbprints,
                    details: match entry.detail {
                        Some(detail) => serde_json::json!({ "detail": detail }),
                        None => serde_json::json!({}),
                    },
                })
                .await
                .map_err(map_err("append to the audit log"))?;
            Ok(())
        })
    }

    fn audit(&self, limit: u32) -> BoxFuture<'_, RepoResult<Vec<AuditEntry>>> {
        Box::pin(async move {
            let events = self
                .store
                .audit_events(&store::AuditFilter {
                    limit,
                    ..Default::default()
                })
                .await
                .map_err(map_err("read the audit log"))?;
            Ok(events
                .into_iter()
                .map(|e| AuditEntry {
                    id: e.id.0,
                    at: e.at,
                    actor: e.actor,
                    action: e.action,
                    organization: e.organization_id.map(|o| OrganizationId(uuid_of(o))),
                    thumbprints: e.thumbprints,
                    outcome: e.outcome.as_str().to_owned(),
                    detail: e
                        .details
                        .get("detail")
                        .and_then(|d| d.as_str())
                        .map(str::to_owned),
                })
                .collect())
        })
    }
}

fn role_of(role: store::Role) -> Role {
    match role {
        store::Role::Administrator => Role::Administrator,
        store::Role::Operator => Role::Operator,
        store::Role::Viewer => Role::Viewer,
    }
}

fn store_role(role: Role) -> store::Role {
    match role {
        Role::Administrator => store::Role::Administrator,
        Role::Operator => store::Role::Operator,
        Role::Viewer => store::Role::Viewer,
    }
}

fn user_of(user: store::User) -> UserRecord {
    UserRecord {
        id: UserId(uuid_of(user.id)),
        username: user.username,
        role: role_of(user.role),
        password_hash: user.password_hash.as_str().to_owned(),
        created_at: user.created_at,
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
                .map_err(map_err("read the user"))?
                .filter(|u| !u.disabled)
                .map(user_of))
        })
    }

    fn users(&self) -> BoxFuture<'_, RepoResult<Vec<UserRecord>>> {
        Box::pin(async move {
            Ok(self
                .store
                .users()
                .await
                .map_err(map_err("list users"))?
                .into_iter()
                .map(user_of)
                .collect())
        })
    }

    fn create_user<'a>(
        &'a self,
        username: &'a str,
        password: &'a SecretString,
        role: Role,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<UserRecord>> {
        Box::pin(async move {
            let hash = store::PasswordHash::new(password.expose())
                .map_err(map_err("hash the password"))?;
            self.store
                .create_user(username, &hash, store_role(role), now)
                .await
                .map(user_of)
                .map_err(map_err("create the user"))
        })
    }

    fn create_session(
        &self,
        user: UserId,
        now: OffsetDateTime,
        expires_at: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<SecretString>> {
        Box::pin(async move {
            let issued = self
                .store
                .create_session(store::UserId::from(user.0), now, expires_at)
                .await
                .map_err(map_err("create the session"))?;
            Ok(SecretString::new(issued.session_secret.expose()))
        })
    }

    fn session<'a>(
        &'a self,
        token: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<SessionRecord>>> {
        Box::pin(async move {
            let presented = store::BearerSecret::from_presented(token.expose());
            Ok(self
                .store
                .session(&presented, now)
                .await
                .map_err(map_err("read the session"))?
                .map(|(session, user)| SessionRecord {
                    user: user_of(user),
                    expires_at: session.expires_at,
                }))
        })
    }

    fn delete_session<'a>(&'a self, token: &'a SecretString) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            let presented = store::BearerSecret::from_presented(token.expose());
            self.store
                .delete_session(&presented)
                .await
                .map_err(map_err("end the session"))
        })
    }

    fn create_api_token<'a>(
        &'a self,
        record: &'a ApiTokenRecord,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<SecretString>> {
        Box::pin(async move {
            let issued = self
                .store
                .create_api_token(
                    &record.name,
                    store_role(record.role),
                    &record.created_by,
                    now,
                    record.expires_at,
                )
                .await
                .map_err(map_err("create the API token"))?;
            Ok(SecretString::new(issued.secret.expose()))
        })
    }

    fn api_token<'a>(
        &'a self,
        token: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<Option<ApiTokenRecord>>> {
        Box::pin(async move {
            let presented = store::BearerSecret::from_presented(token.expose());
            Ok(self
                .store
                .authenticate_api_token(&presented, now)
                .await
                .map_err(map_err("check the API token"))?
                .map(|t| ApiTokenRecord {
                    name: t.label,
                    role: role_of(t.role),
                    created_by: t.created_by,
                    expires_at: t.expires_at,
                }))
        })
    }

    fn record_login_failure<'a>(
        &'a self,
        username: &'a str,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .record_login_failure(username, "", at)
                .await
                .map_err(map_err("record a failed sign-in"))
        })
    }

    fn login_failures_since<'a>(
        &'a self,
        username: &'a str,
        since: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<u32>> {
        Box::pin(async move {
            let counts = self
                .store
                .login_failures(username, "", since)
                .await
                .map_err(map_err("count failed sign-ins"))?;
            Ok(u32::try_from(counts.for_username).unwrap_or(u32::MAX))
        })
    }

    fn clear_login_failures<'a>(&'a self, username: &'a str) -> BoxFuture<'a, RepoResult<()>> {
        Box::pin(async move {
            self.store
                .clear_login_failures(username)
                .await
                .map_err(map_err("clear failed sign-ins"))
        })
    }
}
