//! The world the workflow tests share: the in-memory repository, the scripted directory and a
//! manual clock (no test sleeps), with one organization.

#![allow(dead_code)] // each test file uses a different part

use std::sync::Arc;
use tenantlink_clock::{Clock, ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{self, FakeDirectory, MemoryRepository};
use tenantlink_service::{
    Caller, CallerVia, Operation, OperationKind, OperationStep, OrganizationId, Role, Workflows,
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
        let op = self
            .workflows
            .operation(&admin(who), op.id)
            .await
            .expect("poll");
        assert_eq!(op.step, OperationStep::SignedIn);
        op
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
