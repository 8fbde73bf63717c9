//! The notices the workflows tell at the point of change: rotation failed or needing an
//! administrator, connection broken and restored.

use super::notice_world;
use tenantlink_service::fakes::FakeDirectory;
use tenantlink_service::notices::EventType;
use tenantlink_service::{OperationStep, Role};

const HOOK: &str = "https://hooks.example/rotation";

#[tokio::test]
async fn a_failed_rotation_is_told_as_failed_then_as_needing_an_administrator() {
    let w = notice_world().await;
    w.world.generate_active("alice").await;
    w.webhook(
        HOOK,
        &[
            EventType::RotationFailed,
            EventType::RotationNeedsAdministrator,
        ],
    )
    .await;

    w.world
        .directory
        .fail_next_add_key(FakeDirectory::unavailable());
    let failed = w.world.rotate("alice").await;
    assert_eq!(failed.step, OperationStep::Failed);
    w.advance(time::Duration::minutes(1));
    w.world
        .directory
        .fail_next_add_key(FakeDirectory::quota_exceeded());
    let refused = w.world.rotate("alice").await;
    assert_eq!(refused.step, OperationStep::Failed);
    w.notices.dispatch_once().await;

    let bodies = w.bodies(HOOK);
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["rotation.failed", "rotation.needs_administrator"]);
    let retried = bodies[0]["data"]["what_to_do"].as_str().unwrap();
    assert!(retried.contains("tenantlink tries again at"), "{retried}");
    let reason = bodies[1]["data"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("Directory_ResourceSizeExceeded"),
        "{reason}"
    );
    let active = w.world.active().await;
    assert_eq!(
        bodies[1]["data"]["certificate"]["sha1_thumbprint"], active.sha1_thumbprint,
        "the certificate still in use"
    );
    assert_eq!(
        bodies[1]["data"]["organization"]["id"],
        w.world.org.to_string()
    );
}

#[tokio::test]
async fn a_connection_that_breaks_and_comes_back_is_told_once_each() {
    let w = notice_world().await;
    let thumbprint = w.world.generate_active("alice").await;
    w.webhook(
        HOOK,
        &[EventType::ConnectionBroken, EventType::ConnectionRestored],
    )
    .await;
    // Connected: checking again says nothing.
    let check = || async {
        w.advance(time::Duration::minutes(1));
        w.world.check_connection(Role::Operator).await.unwrap();
    };
    check().await;
    w.world.directory.detach_thumbprint(&thumbprint);
    check().await;
    // Still broken: nothing new.
    check().await;
    w.world.directory.attach_thumbprint(&thumbprint);
    check().await;
    w.notices.dispatch_once().await;

    let bodies = w.bodies(HOOK);
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["connection.broken", "connection.restored"]);
    let reason = bodies[0]["data"]["reason"].as_str().unwrap();
    assert!(reason.contains("Contoso"), "{reason}");
    assert_eq!(
        bodies[0]["data"]["certificate"]["sha1_thumbprint"],
        thumbprint
    );
    assert_eq!(
        bodies[1]["data"]["link"],
        format!("https://tl.example/organizations/{}", w.world.org)
    );
    // The watcher adds that the certificate is not attached, once, while it was refused — the
    // proof is accepted again now, so nothing.
    w.notices.watch_once().await;
    assert_eq!(
        w.recorded().await,
        [EventType::ConnectionBroken, EventType::ConnectionRestored]
    );
}
