//! Connect and Reconnect that succeed.

use crate::world::{TENANT, world};
use tenantlink_service::{
    AuditAction, ConnectionState, OperationStep, RegistrationCall, Repository, SignInPurpose,
    application_marker,
};

#[tokio::test]
async fn connect_registers_consents_owns_and_activates_the_first_certificate() {
    let w = world();
    let op = w.connect_signed_in().await;
    // Stored at once, without an application; not connected yet.
    let before = w.organization(op.organization).await;
    assert_eq!(before.app_id, "");
    assert_eq!(before.tenant, TENANT);
    assert_eq!(before.name, "Fabrikam");
    assert_eq!(before.active_certificate, None);
    // The sign-in asked for the scopes that register applications and grant consent.
    assert_eq!(w.directory.sign_in_purposes(), vec![SignInPurpose::Setup]);

    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);

    let apps = w.registrar.applications();
    assert_eq!(apps.len(), 1);
    let app = &apps[0];
    assert_eq!(app.display_name, "tenantlink backup");
    assert_eq!(app.tags, vec![application_marker(op.organization)]);
    assert_eq!(
        app.required.len(),
        3,
        "requiredResourceAccess lists the permissions"
    );
    let principal = w
        .registrar
        .principal_of(&app.app_id)
        .expect("service principal");
    assert!(app.owners.contains(&principal), "it owns itself");
    assert_eq!(
        w.registrar.granted(&app.app_id),
        vec![
            "Application.ReadWrite.OwnedBy",
            "Mail.Read",
            "User.Read.All"
        ]
    );

    let org = w.organization(op.organization).await;
    assert_eq!(org.app_id, app.app_id);
    assert_eq!(org.app_object_id.as_deref(), Some(app.object_id.as_str()));
    let active = org.active_certificate.expect("an active certificate");
    assert_eq!(done.certificate, Some(active));
    assert_eq!(org.connection, ConnectionState::Connected);
    let thumbprint = done.sha1_thumbprint.expect("thumbprint");
    assert_eq!(w.directory.attached(), vec![thumbprint]);

    let audit = w.repository.audit(50).await.unwrap();
    let registered: Vec<_> = audit
        .iter()
        .filter(|e| e.action == AuditAction::ApplicationRegistered.as_str())
        .filter_map(|e| e.detail.clone())
        .collect();
    assert!(
        registered
            .iter()
            .any(|d| d.contains(&app.app_id) && d.contains("registered")),
        "{registered:?}"
    );
    assert!(
        registered.iter().any(|d| d.contains(
            "admin consent granted: User.Read.All, Mail.Read, Application.ReadWrite.OwnedBy"
        )),
        "{registered:?}"
    );
}

#[tokio::test]
async fn reconnect_after_the_application_was_deleted_registers_a_new_one_and_replaces_the_certificate()
 {
    let w = world();
    let first = w.connected().await;
    w.registrar.delete_application(&first.app_id);

    let op = w.reconnect_signed_in(first.id).await;
    assert_eq!(op.replaces, first.active_certificate);
    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);

    let apps = w.registrar.applications();
    assert_eq!(apps.len(), 1, "the deleted one stays deleted");
    assert_ne!(apps[0].app_id, first.app_id);
    assert_eq!(w.registrar.calls(RegistrationCall::CreateApplication), 2);
    let org = w.organization(first.id).await;
    assert_eq!(
        org.app_id, apps[0].app_id,
        "the organization follows the new application"
    );
    assert_ne!(org.active_certificate, first.active_certificate);
    assert_eq!(w.registrar.granted(&org.app_id).len(), 3);
}

#[tokio::test]
async fn reconnect_grants_a_revoked_consent_again_and_reuses_the_application() {
    let w = world();
    let first = w.connected().await;
    w.registrar.revoke(&first.app_id, "Mail.Read");
    assert_eq!(w.registrar.granted(&first.app_id).len(), 2);

    let op = w.reconnect_signed_in(first.id).await;
    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.registrar.calls(RegistrationCall::CreateApplication), 1);
    assert_eq!(w.registrar.applications().len(), 1);
    assert_eq!(
        w.registrar.granted(&first.app_id),
        vec![
            "Application.ReadWrite.OwnedBy",
            "Mail.Read",
            "User.Read.All"
        ]
    );
    let audit = w.repository.audit(50).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.detail.as_deref() == Some("admin consent granted: Mail.Read"))
    );
    assert!(
        audit
            .iter()
            .any(|e| e.detail.as_deref().is_some_and(|d| d.contains("(reused)")))
    );
}

#[tokio::test]
async fn reconnect_of_an_organization_added_by_hand_finds_its_application_by_id() {
    let w = world();
    // An application registered by hand (no marker), the organization added with its id.
    let first = w.connected().await;
    let app_id = first.app_id.clone();
    w.registrar.untag(&app_id);
    let op = w.reconnect_signed_in(first.id).await;
    let done = w.steps(op.id).await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(w.registrar.applications().len(), 1);
    assert_eq!(w.organization(first.id).await.app_id, app_id);
}
