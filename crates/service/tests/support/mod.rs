//! The world the workflow tests share: the in-memory repository, the scripted directory and a
//! manual clock (no test sleeps), with one organization.

#![allow(dead_code)] // each test file uses a different part

use std::sync::Arc;
use tenantlink_certificate::{GenerateOptions, export_pkcs12, generate};
use tenantlink_clock::{Clock, ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{self, FakeDirectory, MemoryRepository};
use tenantlink_service::{
    Caller, CallerVia, CertificatePage, CertificateSource, Operation, OperationKind, OperationStep,
    OrganizationId, Repository, Role, SecretString, ServiceResult, StoredCertificate, Workflows,
    WorkflowsConfig,
};
use time::OffsetDateTime;
use time::macros::datetime;

pub const START: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);

pub struct World {
    pub clock: Arc<ManualClock>,
    pub repository: MemoryRepository,
    pub directory: FakeDirectory,
    pub workflows: Workflows,
    pub org: OrganizationId,
}

pub fn admin(name: &str) -> Caller {
    Caller {
        name: name.to_owned(),
        role: Role::Administrator,
        via: CallerVia::ApiToken,
        csrf_token: None,
        account: None,
    }
}

pub fn caller(role: Role) -> Caller {
    Caller {
        role,
        ..admin(&format!("{}-user", role.as_str()))
    }
}

pub async fn world() -> World {
    let clock = Arc::new(ManualClock::at(START));
    let repository = MemoryRepository::new();
    let directory = FakeDirectory::new(clock.clone());
    let workflows = Workflows::new(
        Arc::new(repository.clone()),
        Arc::new(directory.clone()),
        clock.clone(),
        Arc::new(RecordingSleeper::advancing(clock.clone())),
        WorkflowsConfig::default(),
    );
    let org = workflows
        .add_organization(&admin("setup"), fakes::new_organization())
        .await
        .expect("organization")
        .id;
    World {
        clock,
        repository,
        directory,
        workflows,
        org,
    }
}

impl World {
    pub fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    pub async fn start(&self, who: &str, kind: OperationKind) -> Operation {
        let op = self
            .workflows
            .start(&admin(who), self.org, kind)
            .await
            .expect("start");
        assert_eq!(op.step, OperationStep::AwaitingSignIn);
        op
    }

    /// Starts an operation and completes its device sign-in.
    pub async fn signed_in(&self, who: &str, kind: OperationKind) -> Operation {
        let op = self.start(who, kind).await;
        self.directory
            .approve(&op.sign_in.as_ref().expect("prompt").user_code);
        // The sign-in is noticed by the operation's background task: wait for it.
        let op = self
            .workflows
            .settled(&admin(who), op.id)
            .await
            .expect("poll");
        assert_eq!(op.step, OperationStep::SignedIn, "{:?}", op.failure);
        op
    }

    /// **Check connection** as a caller with `role`.
    pub async fn check_connection(&self, role: Role) -> ServiceResult<CertificatePage> {
        self.workflows
            .check_connection(&caller(role), self.org)
            .await
    }

    /// Makes another certificate active, as an operation on another instance would have.
    pub async fn activate_elsewhere(&self) -> StoredCertificate {
        let other = generate(&GenerateOptions::default(), self.now()).unwrap();
        let stored = self
            .repository
            .save_certificate(self.org, &other, CertificateSource::Uploaded, self.now())
            .await
            .unwrap();
        self.repository
            .force_activate(self.org, stored.id, self.now());
        stored
    }

    /// As if the process stopped right after attaching `op`'s new certificate: saved, listed
    /// on the application, and the operation at `attached`. Returns the certificate.
    pub async fn stopped_after_attaching(&self, op: Operation) -> StoredCertificate {
        let mine = generate(&GenerateOptions::default(), self.now()).unwrap();
        let mine = self
            .repository
            .save_certificate(self.org, &mine, CertificateSource::Generated, self.now())
            .await
            .unwrap();
        self.directory.attach_thumbprint(&mine.sha1_thumbprint);
        let attached = Operation {
            step: OperationStep::Attached,
            version: op.version + 1,
            certificate: Some(mine.id),
            sha1_thumbprint: Some(mine.sha1_thumbprint.clone()),
            ..op
        };
        self.repository.update_operation(&attached).await.unwrap();
        mine
    }

    /// A .pfx (password `pw`) whose key the application already lists.
    pub fn attached_pfx(&self) -> Vec<u8> {
        let credential = generate(&GenerateOptions::default(), self.now()).unwrap();
        self.directory
            .attach_thumbprint(&credential.certificate().thumbprints().sha1_hex());
        export_pkcs12(&credential, &SecretString::from("pw")).unwrap()
    }

    /// The service as a fresh process starts it over the same repository, directory and clock.
    pub fn restarted(&self) -> Workflows {
        Workflows::new(
            Arc::new(self.repository.clone()),
            Arc::new(self.directory.clone()),
            self.clock.clone(),
            Arc::new(RecordingSleeper::advancing(self.clock.clone())),
            WorkflowsConfig::default(),
        )
    }

    /// A second organization, in tenant `{name}.onmicrosoft.com` (lower case), on the same
    /// repository, directory and workflows (the fake directory's one application serves both).
    pub async fn another_organization(&self, name: &str) -> World {
        let org = self
            .workflows
            .add_organization(
                &admin("setup"),
                tenantlink_service::NewOrganization {
                    name: name.to_owned(),
                    tenant: format!("{}.onmicrosoft.com", name.to_lowercase()),
                    ..fakes::new_organization()
                },
            )
            .await
            .expect("organization")
            .id;
        World {
            clock: self.clock.clone(),
            repository: self.repository.clone(),
            directory: self.directory.clone(),
            workflows: self.workflows.clone(),
            org,
        }
    }

    /// Generates and activates a certificate; returns its SHA-1 thumbprint.
    pub async fn generate_active(&self, who: &str) -> String {
        let op = self.signed_in(who, OperationKind::Generate).await;
        let done = self
            .workflows
            .generate(&admin(who), op.id)
            .await
            .expect("generate");
        assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
        done.sha1_thumbprint.expect("thumbprint")
    }
}

// --- rotation ---------------------------------------------------------------------------------

impl World {
    /// Starts "Rotate now" as administrator `who` and waits for the rotation's outcome.
    pub async fn rotate(&self, who: &str) -> Operation {
        let started = self
            .workflows
            .rotate_now(&admin(who), self.org)
            .await
            .expect("rotate now");
        assert_eq!(started.kind, OperationKind::Rotate);
        assert_eq!(started.step, OperationStep::CertificateStored);
        self.workflows
            .operation_settled(started.id)
            .await
            .expect("settled")
    }

    /// The organization's active certificate.
    pub async fn active(&self) -> StoredCertificate {
        let org = self.repository.organization(self.org).await.unwrap();
        self.repository
            .certificate(org.active_certificate.expect("an active certificate"))
            .await
            .unwrap()
    }

    /// Whether the organization can get an app-only token now (Check connection succeeds and
    /// the application still lists the active key).
    pub async fn can_sign_in(&self) -> bool {
        let active = self.active().await;
        let listed = self.directory.attached().contains(&active.sha1_thumbprint);
        let checked = self.check_connection(Role::Operator).await.is_ok();
        let org = self.repository.organization(self.org).await.unwrap();
        listed && checked && org.connection == tenantlink_service::ConnectionState::Connected
    }

    /// The audit entries with `action`, oldest first.
    pub async fn audited(
        &self,
        action: tenantlink_service::AuditAction,
    ) -> Vec<tenantlink_service::AuditEntry> {
        let mut entries: Vec<_> = self
            .repository
            .audit(1000)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.action == action.as_str())
            .collect();
        entries.reverse();
        entries
    }
}
