//! The world the Connect tests share: no organization yet, a fake tenant, a manual clock.

use std::sync::Arc;
use tenantlink_clock::{ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{FakeDirectory, FakeRegistrar, MemoryRepository};
use tenantlink_service::{
    Caller, CallerVia, Cloud, ConnectRequest, Operation, OperationId, OperationKind, OperationStep,
    Organization, OrganizationId, Repository, Role, Workflows, WorkflowsConfig,
};
use time::macros::datetime;

pub const TENANT: &str = "fabrikam.onmicrosoft.com";

pub struct World {
    pub clock: Arc<ManualClock>,
    pub repository: MemoryRepository,
    pub directory: FakeDirectory,
    pub registrar: FakeRegistrar,
    pub workflows: Workflows,
}

pub fn admin() -> Caller {
    caller(Role::Administrator)
}

pub fn caller(role: Role) -> Caller {
    Caller {
        name: format!("{}-user", role.as_str()),
        role,
        via: CallerVia::ApiToken,
        csrf_token: None,
        account: None,
    }
}

pub fn request() -> ConnectRequest {
    ConnectRequest {
        tenant: TENANT.into(),
        cloud: Cloud::Sandbox,
        name: Some("Fabrikam".into()),
    }
}

pub fn world() -> World {
    let clock = Arc::new(ManualClock::at(datetime!(2026-12-03 09:00 UTC)));
    let repository = MemoryRepository::new();
    let directory = FakeDirectory::new(clock.clone());
    let registrar = FakeRegistrar::new();
    World {
        workflows: service(&repository, &directory, &registrar, &clock),
        clock,
        repository,
        directory,
        registrar,
    }
}

/// The service over these parts, as a process starts it.
fn service(
    repository: &MemoryRepository,
    directory: &FakeDirectory,
    registrar: &FakeRegistrar,
    clock: &Arc<ManualClock>,
) -> Workflows {
    Workflows::new(
        Arc::new(repository.clone()),
        Arc::new(directory.clone()),
        clock.clone(),
        Arc::new(RecordingSleeper::advancing(clock.clone())),
        WorkflowsConfig::default(),
    )
    .with_registrar(Arc::new(registrar.clone()))
}

impl World {
    /// The service as a fresh process starts it over the same repository, directory and tenant
    /// (the sign-ins of the previous one are gone with it).
    pub fn restarted(&self) -> Workflows {
        service(
            &self.repository,
            &self.directory,
            &self.registrar,
            &self.clock,
        )
    }

    /// Completes the device sign-in of `started` and waits until it is noticed.
    pub async fn sign_in(&self, started: &Operation) -> Operation {
        self.directory
            .approve(&started.sign_in.as_ref().expect("a device code").user_code);
        let op = self
            .workflows
            .settled(&admin(), started.id)
            .await
            .expect("settled");
        assert_eq!(op.step, OperationStep::SignedIn, "{:?}", op.failure);
        op
    }

    /// "Connect an organization", signed in.
    pub async fn connect_signed_in(&self) -> Operation {
        let started = self
            .workflows
            .start_connect(&admin(), request())
            .await
            .expect("connect");
        assert_eq!(started.kind, OperationKind::Connect);
        assert_eq!(started.step, OperationStep::AwaitingSignIn);
        self.sign_in(&started).await
    }

    /// "Reconnect" `organization`, signed in.
    pub async fn reconnect_signed_in(&self, organization: OrganizationId) -> Operation {
        let started = self
            .workflows
            .start_reconnect(&admin(), organization)
            .await
            .expect("reconnect");
        assert_eq!(started.kind, OperationKind::Connect);
        self.sign_in(&started).await
    }

    /// Runs the Connect steps of signed-in `id` to their outcome.
    pub async fn steps(&self, id: OperationId) -> Operation {
        self.workflows
            .connect_steps(&admin(), id)
            .await
            .expect("connect steps")
    }

    pub async fn organization(&self, id: OrganizationId) -> Organization {
        self.repository.organization(id).await.unwrap()
    }

    /// Connects the tenant to the end; returns the organization as stored.
    pub async fn connected(&self) -> Organization {
        let op = self.connect_signed_in().await;
        let done = self.steps(op.id).await;
        assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
        self.organization(op.organization).await
    }
}
