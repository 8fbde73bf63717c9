//! The organization's assertion profile: RS256 + x5t until an administrator changes it; the
//! change is audited (from → to) and read back with the organization.

mod support;

use support::{admin, caller, world};
use tenantlink_service::{AssertionProfile, AuditAction, Repository, Role, ServiceError};

#[tokio::test]
async fn an_administrator_switches_the_profile_and_the_change_is_audited() {
    let w = world().await;
    let before = w
        .workflows
        .organization(&admin("ann"), w.org)
        .await
        .unwrap();
    assert_eq!(before.assertion_profile, AssertionProfile::Rs256X5t);

    let changed = w
        .workflows
        .set_assertion_profile(&admin("ann"), w.org, AssertionProfile::Ps256X5tS256)
        .await
        .unwrap();
    assert_eq!(changed.assertion_profile, AssertionProfile::Ps256X5tS256);
    let read = w
        .workflows
        .organization(&admin("ann"), w.org)
        .await
        .unwrap();
    assert_eq!(read.assertion_profile, AssertionProfile::Ps256X5tS256);

    let audit = w.repository.audit(10).await.unwrap();
    let entries: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::AssertionProfileChanged.as_str())
        .collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (entries[0].actor.as_str(), entries[0].outcome.as_str()),
        ("ann", "success")
    );
    assert_eq!(entries[0].organization, Some(w.org));
    assert_eq!(entries[0].detail.as_deref(), Some("Contoso: rs256 → ps256"));

    // Setting what it already is changes nothing and audits nothing.
    w.workflows
        .set_assertion_profile(&admin("ann"), w.org, AssertionProfile::Ps256X5tS256)
        .await
        .unwrap();
    let audit = w.repository.audit(10).await.unwrap();
    assert_eq!(
        audit
            .iter()
            .filter(|e| e.action == AuditAction::AssertionProfileChanged.as_str())
            .count(),
        1
    );
}

#[tokio::test]
async fn only_administrators_may_change_it() {
    let w = world().await;
    for role in [Role::Viewer, Role::Operator] {
        let err = w
            .workflows
            .set_assertion_profile(&caller(role), w.org, AssertionProfile::Ps256X5tS256)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Forbidden { .. }),
            "{role:?}: {err:?}"
        );
    }
    let read = w
        .workflows
        .organization(&admin("ann"), w.org)
        .await
        .unwrap();
    assert_eq!(read.assertion_profile, AssertionProfile::Rs256X5t);
}

#[tokio::test]
async fn an_unknown_organization_is_not_found() {
    let w = world().await;
    let err = w
        .workflows
        .set_assertion_profile(
            &admin("ann"),
            tenantlink_service::OrganizationId::new(),
            AssertionProfile::Ps256X5tS256,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ServiceError::NotFound { .. }), "{err:?}");
}
