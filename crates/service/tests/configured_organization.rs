//! The organization a service starts with is added once, by `system`, and found again at every
//! later start instead of being added beside itself.

use std::sync::Arc;
use tenantlink_clock::{ManualClock, RecordingSleeper};
use tenantlink_service::fakes::{FakeDirectory, MemoryRepository};
use tenantlink_service::{
    AuditAction, Cloud, NewOrganization, Repository, Workflows, WorkflowsConfig,
};
use time::macros::datetime;

const APP_ID: &str = "11111111-2222-4333-8444-555555555555";

fn workflows(repository: &MemoryRepository) -> Workflows {
    let clock = Arc::new(ManualClock::at(datetime!(2026-03-01 10:00 UTC)));
    Workflows::new(
        Arc::new(repository.clone()),
        Arc::new(FakeDirectory::new(clock.clone())),
        clock.clone(),
        Arc::new(RecordingSleeper::advancing(clock)),
        WorkflowsConfig::default(),
    )
}

fn sandbox(tenant: &str) -> NewOrganization {
    NewOrganization {
        name: "Sandbox (contoso.example)".into(),
        tenant: tenant.into(),
        cloud: Cloud::Sandbox,
        app_id: APP_ID.into(),
    }
}

#[tokio::test]
async fn the_first_start_adds_it_with_its_known_object_id_and_later_starts_find_it() {
    let repository = MemoryRepository::new();
    let added = workflows(&repository)
        .ensure_configured_organization(
            sandbox("0c1e3b3e-1111-4222-8333-444455556666"),
            Some("object-1"),
        )
        .await
        .unwrap();
    let stored = repository.organization(added.id).await.unwrap();
    assert_eq!(stored.app_object_id.as_deref(), Some("object-1"));
    let audit = repository.audit(10).await.unwrap();
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].action, AuditAction::OrganizationAdded.as_str());
    assert_eq!(audit[0].actor, "system");

    // A restart (a new process, a new sandbox tenant id) finds the same organization.
    let found = workflows(&repository)
        .ensure_configured_organization(
            sandbox("7d2f4c4f-1111-4222-8333-444455556666"),
            Some("object-2"),
        )
        .await
        .unwrap();
    assert_eq!(found.id, added.id);
    assert_eq!(repository.organizations().await.unwrap().len(), 1);
    assert_eq!(
        repository
            .organization(added.id)
            .await
            .unwrap()
            .app_object_id
            .as_deref(),
        Some("object-1"),
        "nothing is changed on an organization found again"
    );
    assert_eq!(repository.audit(10).await.unwrap().len(), 1);
}
