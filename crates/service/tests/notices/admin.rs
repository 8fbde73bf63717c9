//! The administrator's API: the secret shown once, the URL rule, permissions, the test event,
//! settings and recipients, and every change audited.

use super::notice_world;
use crate::support::{admin, caller};
use base64::Engine as _;
use tenantlink_service::notices::{
    DeliveryStatus, EmailMode, EventType, NewWebhook, NoticeSettings,
};
use tenantlink_service::{AuditAction, AuditOutcome, Role, ServiceError};

const HOOK: &str = "https://hooks.example/admin";

fn new_webhook(url: &str) -> NewWebhook {
    NewWebhook {
        url: url.into(),
        description: "on-call".into(),
        event_types: Some(vec![EventType::CertificateExpiring]),
    }
}

#[tokio::test]
async fn the_secret_is_standard_webhooks_shaped_and_never_shown_again() {
    let w = notice_world().await;
    let created = w
        .notices
        .create_webhook(&admin("alice"), &new_webhook(HOOK))
        .await
        .unwrap();
    let secret = created.secret.expose().to_owned();
    let key = secret.strip_prefix("whsec_").expect("whsec_ prefix");
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(key)
        .expect("base64");
    assert_eq!(bytes.len(), 32);
    assert_eq!(created.endpoint.url, HOOK);
    assert_eq!(created.endpoint.created_by, "alice");
    assert!(
        !format!("{created:?}").contains(key),
        "Debug hides the secret"
    );
    let other = w
        .notices
        .create_webhook(&admin("alice"), &new_webhook("https://hooks.example/two"))
        .await
        .unwrap();
    assert_ne!(other.secret.expose(), secret);

    // Listing, reading and the audit log never carry it.
    let listed = w.notices.webhooks(&caller(Role::Viewer)).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(!format!("{listed:?}").contains(key));
    let audit = w.world.repository_audit_text().await;
    assert!(!audit.contains(key));
    assert!(audit.contains(HOOK), "{audit}");
}

#[tokio::test]
async fn only_https_or_loopback_http_is_accepted_and_types_must_be_chosen() {
    let w = notice_world().await;
    for bad in [
        "http://hooks.example/x",
        "https://u:p@hooks.example/",
        "not a url",
    ] {
        let refused = w
            .notices
            .create_webhook(&admin("alice"), &new_webhook(bad))
            .await
            .unwrap_err();
        assert!(
            matches!(&refused, ServiceError::Invalid { field, .. } if field == "url"),
            "{bad}: {refused:?}"
        );
    }
    let unchosen = NewWebhook {
        event_types: None,
        ..new_webhook(HOOK)
    };
    let refused = w
        .notices
        .create_webhook(&admin("alice"), &unchosen)
        .await
        .unwrap_err();
    assert!(matches!(refused, ServiceError::Invalid { ref field, .. } if field == "event_types"));
    let none = NewWebhook {
        event_types: Some(vec![]),
        ..new_webhook("http://127.0.0.1:9999/hook")
    };
    let created = w
        .notices
        .create_webhook(&admin("alice"), &none)
        .await
        .unwrap();
    assert!(created.endpoint.event_types.is_empty());
    assert!(w.notices.webhooks(&admin("alice")).await.unwrap().len() == 1);
}

#[tokio::test]
async fn changes_need_manage_notices_and_viewing_needs_view() {
    let w = notice_world().await;
    let (endpoint, _) = w.webhook(HOOK, &[EventType::RotationFailed]).await;
    for role in [Role::Viewer, Role::Operator] {
        let who = caller(role);
        let forbidden =
            |r: Result<_, ServiceError>| matches!(r, Err(ServiceError::Forbidden { .. }));
        assert!(forbidden(
            w.notices
                .create_webhook(&who, &new_webhook(HOOK))
                .await
                .map(|_| ())
        ));
        assert!(forbidden(
            w.notices
                .set_webhook_enabled(&who, endpoint.id, false)
                .await
                .map(|_| ())
        ));
        assert!(forbidden(w.notices.delete_webhook(&who, endpoint.id).await));
        assert!(forbidden(
            w.notices
                .send_test_event(&who, endpoint.id)
                .await
                .map(|_| ())
        ));
        let settings = w.notices.notice_settings(&who).await.unwrap();
        assert!(forbidden(
            w.notices
                .set_notice_settings(&who, &settings)
                .await
                .map(|_| ())
        ));
        assert!(forbidden(
            w.notices
                .set_organization_recipients(&who, w.world.org, &["a@example.com".into()])
                .await
                .map(|_| ())
        ));
        // Viewing is allowed.
        w.notices.webhooks(&who).await.unwrap();
        w.notices.webhook(&who, endpoint.id).await.unwrap();
        w.notices
            .deliveries(&who, Some(endpoint.id), 10)
            .await
            .unwrap();
        w.notices
            .organization_recipients(&who, w.world.org)
            .await
            .unwrap();
        w.notices.notices(&who, None, 10).await.unwrap();
    }
    assert!(
        w.notices
            .webhook(&admin("alice"), endpoint.id)
            .await
            .unwrap()
            .enabled
    );
}

#[tokio::test]
async fn every_change_is_audited() {
    let w = notice_world().await;
    let (endpoint, _) = w.webhook(HOOK, &[EventType::RotationFailed]).await;
    let alice = admin("alice");
    w.notices
        .set_webhook_enabled(&alice, endpoint.id, false)
        .await
        .unwrap();
    // Setting what is set audits nothing.
    w.notices
        .set_webhook_enabled(&alice, endpoint.id, false)
        .await
        .unwrap();
    w.notices
        .set_webhook_enabled(&alice, endpoint.id, true)
        .await
        .unwrap();
    w.notices
        .send_test_event(&alice, endpoint.id)
        .await
        .unwrap();
    w.notices.delete_webhook(&alice, endpoint.id).await.unwrap();
    let settings = NoticeSettings {
        expiry_thresholds_days: vec![7, 30],
        default_recipients: vec!["ops@example.com".into()],
        email_mode: EmailMode::DailyDigest,
        digest_hour_utc: 6,
        email_event_types: vec![EventType::CertificateExpired],
    };
    let stored = w
        .notices
        .set_notice_settings(&alice, &settings)
        .await
        .unwrap();
    assert_eq!(stored.expiry_thresholds_days, [30, 7]);
    assert_eq!(w.notices.notice_settings(&alice).await.unwrap(), stored);
    w.notices
        .set_notice_settings(&alice, &settings)
        .await
        .unwrap();
    w.notices
        .set_organization_recipients(&alice, w.world.org, &["it@contoso.example".into()])
        .await
        .unwrap();
    assert_eq!(
        w.notices
            .organization_recipients(&alice, w.world.org)
            .await
            .unwrap(),
        ["it@contoso.example"]
    );

    for (action, count) in [
        (AuditAction::WebhookCreated, 1),
        (AuditAction::WebhookDisabled, 1),
        (AuditAction::WebhookEnabled, 1),
        (AuditAction::WebhookTested, 1),
        (AuditAction::WebhookDeleted, 1),
        (AuditAction::NoticeSettingsChanged, 1),
        (AuditAction::NoticeRecipientsChanged, 1),
    ] {
        let entries = w.world.audited(action).await;
        assert_eq!(entries.len(), count, "{action:?}");
        assert_eq!(entries[0].actor, "alice");
        assert_eq!(entries[0].outcome, AuditOutcome::Success);
    }
    let changed = &w.world.audited(AuditAction::NoticeSettingsChanged).await[0];
    let detail = changed.detail.as_deref().unwrap();
    assert!(
        detail.contains("from thresholds [30, 14, 7, 1]"),
        "{detail}"
    );
    assert!(detail.contains("to thresholds [30, 7]"), "{detail}");
    let recipients = &w.world.audited(AuditAction::NoticeRecipientsChanged).await[0];
    assert_eq!(recipients.organization, Some(w.world.org));
}

#[tokio::test]
async fn a_test_event_is_delivered_at_once_and_its_outcome_returned() {
    let w = notice_world().await;
    // No event types: only test events.
    let (endpoint, secret) = w.webhook(HOOK, &[]).await;
    let delivery = w
        .notices
        .send_test_event(&admin("alice"), endpoint.id)
        .await
        .unwrap();
    assert_eq!(delivery.status, DeliveryStatus::Delivered);
    assert_eq!(delivery.last_status_code, Some(200));
    let sent = w.sender.webhooks();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].secret, secret.expose());
    assert_eq!(w.bodies(HOOK)[0]["type"], "tenantlink.test");

    // A receiver that refuses: the outcome says so, audited as a failure, not retried.
    w.sender.take_down(HOOK, 401);
    let refused = w
        .notices
        .send_test_event(&admin("alice"), endpoint.id)
        .await
        .unwrap();
    assert_eq!(refused.status, DeliveryStatus::Failed);
    assert_eq!(refused.last_status_code, Some(401));
    assert!(refused.last_error.as_deref().unwrap().contains("401"));
    let tested = w.world.audited(AuditAction::WebhookTested).await;
    assert_eq!(
        tested.iter().map(|e| e.outcome).collect::<Vec<_>>(),
        [AuditOutcome::Success, AuditOutcome::Failure]
    );
    w.advance(time::Duration::hours(24));
    w.notices.dispatch_once().await;
    assert_eq!(w.sender.webhooks().len(), 2, "a test is tried once");

    // A disabled endpoint is not tested.
    w.notices
        .set_webhook_enabled(&admin("alice"), endpoint.id, false)
        .await
        .unwrap();
    let conflict = w
        .notices
        .send_test_event(&admin("alice"), endpoint.id)
        .await
        .unwrap_err();
    assert!(
        matches!(conflict, ServiceError::Conflict { .. }),
        "{conflict:?}"
    );
}
