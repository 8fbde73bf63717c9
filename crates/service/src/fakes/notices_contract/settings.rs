//! Endpoints as listed and their secrets; the notice settings and the recipients.

use super::{NoticeSubject, T0, endpoint, organization};
use crate::model::OrganizationId;
use crate::notices::{EmailMode, EventType, NoticeSettings, WebhookId};
use crate::ports::RepositoryError;

pub(super) async fn endpoints_are_listed_oldest_first_and_keep_their_secret(
    repo: &dyn NoticeSubject,
) {
    assert!(repo.webhooks().await.unwrap().is_empty());
    let first = endpoint(
        repo,
        "first",
        &[
            EventType::CertificateExpiring,
            EventType::RotationNeedsAdministrator,
        ],
    )
    .await;
    assert_eq!(first.url, "https://first.example/hooks");
    assert_eq!(first.description, "first's receiver");
    assert_eq!(
        first.event_types,
        [
            EventType::CertificateExpiring,
            EventType::RotationNeedsAdministrator
        ]
    );
    assert!(first.enabled);
    assert_eq!((first.consecutive_failures, first.failing_since), (0, None));
    assert_eq!((first.created_by.as_str(), first.created_at), ("alice", T0));
    let second = repo
        .create_webhook(
            &crate::notices::NewWebhookEndpoint {
                url: "http://127.0.0.1:9000/hook".into(),
                description: String::new(),
                event_types: Vec::new(),
                created_by: "bob".into(),
            },
            &"whsec_second".into(),
            T0 + time::Duration::minutes(1),
        )
        .await
        .unwrap();
    assert_eq!(
        repo.webhooks().await.unwrap(),
        [first.clone(), second.clone()]
    );
    assert_eq!(repo.webhook(second.id).await.unwrap(), second);
    assert_eq!(
        repo.webhook_secret(first.id).await.unwrap().expose(),
        "whsec_first"
    );
    assert_eq!(
        repo.webhook_secret(second.id).await.unwrap().expose(),
        "whsec_second"
    );
    let unknown = WebhookId::new();
    assert!(matches!(
        repo.webhook(unknown).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.webhook_secret(unknown).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.delete_webhook(unknown).await,
        Err(RepositoryError::NotFound { .. })
    ));
}

pub(super) async fn settings_start_at_the_defaults_and_are_written_and_read_back(
    repo: &dyn NoticeSubject,
) {
    use EventType::*;
    let defaults = repo.notice_settings().await.unwrap();
    assert_eq!(
        defaults,
        NoticeSettings {
            expiry_thresholds_days: vec![30, 14, 7, 1],
            default_recipients: Vec::new(),
            email_mode: EmailMode::Immediate,
            digest_hour_utc: 8,
            email_event_types: vec![
                CertificateExpiring,
                CertificateExpired,
                CertificateNotAttached,
                RotationSucceeded,
                RotationFailed,
                RotationNeedsAdministrator,
                ConnectionBroken,
                ConnectionRestored,
                BackupCredentialFailed,
            ],
        }
    );
    assert_eq!(defaults, NoticeSettings::default());
    let custom = NoticeSettings {
        expiry_thresholds_days: vec![60, 21, 3],
        default_recipients: vec!["ops@msp.example".into(), "noc@msp.example".into()],
        email_mode: EmailMode::DailyDigest,
        digest_hour_utc: 23,
        email_event_types: vec![CertificateExpired, Test],
    };
    repo.set_notice_settings(&custom, T0).await.unwrap();
    assert_eq!(repo.notice_settings().await.unwrap(), custom);
    let emptied = NoticeSettings {
        expiry_thresholds_days: Vec::new(),
        default_recipients: Vec::new(),
        email_mode: EmailMode::Immediate,
        digest_hour_utc: 0,
        email_event_types: Vec::new(),
    };
    repo.set_notice_settings(&emptied, T0).await.unwrap();
    assert_eq!(
        repo.notice_settings().await.unwrap(),
        emptied,
        "empty lists stay empty"
    );
}

pub(super) async fn recipients_are_per_organization_and_need_a_known_organization(
    repo: &dyn NoticeSubject,
) {
    let contoso = organization(repo, "Contoso").await;
    let fabrikam = organization(repo, "Fabrikam").await;
    assert!(
        repo.organization_recipients(contoso.id)
            .await
            .unwrap()
            .is_empty()
    );
    let list = vec![
        "it@contoso.example".to_owned(),
        "cto@contoso.example".into(),
    ];
    repo.set_organization_recipients(contoso.id, &list, T0)
        .await
        .unwrap();
    assert_eq!(
        repo.organization_recipients(contoso.id).await.unwrap(),
        list
    );
    assert!(
        repo.organization_recipients(fabrikam.id)
            .await
            .unwrap()
            .is_empty()
    );
    let replaced = vec!["helpdesk@contoso.example".to_owned()];
    repo.set_organization_recipients(contoso.id, &replaced, T0)
        .await
        .unwrap();
    assert_eq!(
        repo.organization_recipients(contoso.id).await.unwrap(),
        replaced
    );
    repo.set_organization_recipients(contoso.id, &[], T0)
        .await
        .unwrap();
    assert!(
        repo.organization_recipients(contoso.id)
            .await
            .unwrap()
            .is_empty()
    );
    let unknown = OrganizationId::new();
    assert!(matches!(
        repo.organization_recipients(unknown).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.set_organization_recipients(unknown, &list, T0).await,
        Err(RepositoryError::NotFound { .. })
    ));
}
