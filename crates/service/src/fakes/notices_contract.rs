//! The contract of [`NoticeRepository`]: every promise of its documentation, run against the
//! in-memory fake (this crate's tests) and SQLite and PostgreSQL (the store's tests), so the
//! dispatcher and watcher tests on the fake hold for the database. Each case takes a fresh,
//! empty repository. Run them all with [`NOTICE_CASES`].
//!
//! - here: recording (once per occurrence) and the fan-out to webhooks and e-mail,
//! - [`deliveries`]: due deliveries, claims, attempts, endpoints failing, enabled, deleted,
//! - [`settings`]: endpoints listed, secrets, settings and recipients.

mod deliveries;
mod settings;

use crate::model::{NewOrganization, Organization, OrganizationId};
use crate::notices::{
    Delivery, DeliveryChannel, DeliveryStatus, EmailMode, EventType, NewNotice, NewWebhookEndpoint,
    NoticeData, NoticeRepository, NoticeSettings, WebhookEndpoint, WebhookId,
};
use crate::ports::{BoxFuture, Repository, RepositoryError};
use crate::secret::SecretString;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// What the notices contract runs on: the repository (for organizations) and its notices.
pub trait NoticeSubject: Repository + NoticeRepository {}
impl<T: Repository + NoticeRepository> NoticeSubject for T {}

/// One case: its name and the check, given a fresh repository.
pub type NoticeCase = (
    &'static str,
    for<'a> fn(&'a dyn NoticeSubject) -> BoxFuture<'a, ()>,
);

macro_rules! cases {
    ($($name:path),+ $(,)?) => {
        /// Every case of the notices contract.
        pub const NOTICE_CASES: &[NoticeCase] =
            &[$((stringify!($name), |repo| Box::pin($name(repo)))),+];
    };
}

cases!(
    a_notice_is_recorded_once_per_occurrence,
    notices_are_listed_newest_first_and_by_organization,
    a_notice_of_an_unknown_organization_is_not_found,
    a_notice_fans_out_to_enabled_not_failing_subscribed_endpoints_only,
    only_webhook_delivers_to_that_endpoint_whatever_its_subscriptions_and_no_email,
    email_goes_to_the_organizations_recipients_else_the_default_ones,
    email_needs_its_event_type_and_some_recipients,
    in_digest_mode_email_is_due_at_the_next_digest_hour,
    deliveries::due_deliveries_are_pending_due_and_unclaimed_oldest_due_first,
    deliveries::a_delivery_has_one_claim_holder_until_the_claim_expires,
    deliveries::an_attempt_is_counted_and_retries_delivers_or_gives_up,
    deliveries::an_endpoint_fails_after_give_ups_in_a_row_and_a_delivery_resets_it,
    deliveries::enabling_clears_failing_and_disabling_fails_pending_deliveries,
    deliveries::a_deleted_endpoint_fails_its_pending_deliveries_and_keeps_its_log,
    settings::endpoints_are_listed_oldest_first_and_keep_their_secret,
    settings::settings_start_at_the_defaults_and_are_written_and_read_back,
    settings::recipients_are_per_organization_and_need_a_known_organization,
);

const T0: OffsetDateTime = datetime!(2026-12-01 09:30:00 UTC);

fn minutes(n: i64) -> OffsetDateTime {
    T0 + Duration::minutes(n)
}

async fn organization(repo: &dyn NoticeSubject, name: &str) -> Organization {
    repo.add_organization(
        NewOrganization {
            name: name.to_owned(),
            tenant: format!("{}.example", name.to_ascii_lowercase()),
            ..super::fixtures::new_organization()
        },
        T0,
    )
    .await
    .expect("add an organization")
}

fn data(reason: &str) -> NoticeData {
    NoticeData {
        organization: None,
        certificate: None,
        threshold_days: Some(14),
        days_left: Some(13),
        reason: reason.to_owned(),
        what_to_do: Some("Rotate the certificate.".into()),
        link: "https://tenantlink.example/organizations".into(),
    }
}

fn notice(
    occurrence: &str,
    event_type: EventType,
    organization: Option<OrganizationId>,
    at: OffsetDateTime,
) -> NewNotice {
    NewNotice {
        occurrence: occurrence.to_owned(),
        event_type,
        organization,
        occurred_at: at,
        data: data(occurrence),
        only_webhook: None,
    }
}

async fn endpoint(repo: &dyn NoticeSubject, name: &str, types: &[EventType]) -> WebhookEndpoint {
    repo.create_webhook(
        &NewWebhookEndpoint {
            url: format!("https://{name}.example/hooks"),
            description: format!("{name}'s receiver"),
            event_types: types.to_vec(),
            created_by: "alice".into(),
        },
        &SecretString::new(format!("whsec_{name}")),
        T0,
    )
    .await
    .expect("create a webhook endpoint")
}

/// Records `new` (which must be new) and returns its deliveries.
async fn record(repo: &dyn NoticeSubject, new: &NewNotice) -> Vec<Delivery> {
    let recorded = repo
        .record_notice(new)
        .await
        .expect("record")
        .expect("a new occurrence");
    let mut list: Vec<Delivery> = repo
        .deliveries(None, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|d| d.notice.id == recorded.id)
        .collect();
    list.sort_by_key(|d| (d.channel == DeliveryChannel::Email, d.webhook));
    list
}

fn webhooks_of(deliveries: &[Delivery]) -> Vec<WebhookId> {
    let mut ids: Vec<WebhookId> = deliveries.iter().filter_map(|d| d.webhook).collect();
    ids.sort();
    ids
}

fn sorted(mut ids: Vec<WebhookId>) -> Vec<WebhookId> {
    ids.sort();
    ids
}

async fn set_settings(repo: &dyn NoticeSubject, settings: NoticeSettings) {
    repo.set_notice_settings(&settings, T0).await.unwrap();
}

fn with_default_recipients(recipients: &[&str]) -> NoticeSettings {
    NoticeSettings {
        default_recipients: recipients.iter().map(|r| (*r).to_owned()).collect(),
        ..NoticeSettings::default()
    }
}

/// Makes `webhook` failing: `FAILING_AFTER` deliveries of it given up in a row.
async fn make_failing(repo: &dyn NoticeSubject, webhook: WebhookId) {
    for i in 0..crate::notices::FAILING_AFTER {
        let test = NewNotice {
            only_webhook: Some(webhook),
            ..notice(&format!("failing:{webhook}:{i}"), EventType::Test, None, T0)
        };
        let delivery = record(repo, &test).await.remove(0);
        repo.record_attempt(
            delivery.id,
            &crate::notices::AttemptRecord {
                at: minutes(1),
                status_code: Some(500),
                error: Some("HTTP 500".into()),
                next: crate::notices::AttemptNext::GiveUp,
            },
            crate::notices::FAILING_AFTER,
        )
        .await
        .unwrap();
    }
    assert!(repo.webhook(webhook).await.unwrap().failing_since.is_some());
}

// ---------------------------------------------------------------------------------- cases

async fn a_notice_is_recorded_once_per_occurrence(repo: &dyn NoticeSubject) {
    let org = organization(repo, "Contoso").await;
    let hook = endpoint(repo, "ops", &[EventType::CertificateExpiring]).await;
    let new = notice(
        "expiring:cert-1:14",
        EventType::CertificateExpiring,
        Some(org.id),
        T0,
    );
    let recorded = repo.record_notice(&new).await.unwrap().expect("recorded");
    assert_eq!(
        (
            &recorded.occurrence,
            recorded.event_type,
            recorded.organization,
            recorded.occurred_at,
            &recorded.data
        ),
        (
            &new.occurrence,
            new.event_type,
            new.organization,
            new.occurred_at,
            &new.data
        )
    );
    assert_eq!(repo.notice(recorded.id).await.unwrap(), recorded);

    // Again (a pass run twice, or on another instance), even with other data: nothing changes.
    let again = NewNotice {
        occurred_at: minutes(5),
        data: data("another reason"),
        ..new.clone()
    };
    assert_eq!(repo.record_notice(&again).await.unwrap(), None);
    assert_eq!(repo.notices(None, 10).await.unwrap(), [recorded.clone()]);
    let deliveries = repo.deliveries(None, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1, "no second delivery: {deliveries:?}");
    assert_eq!(deliveries[0].webhook, Some(hook.id));
    assert_eq!(deliveries[0].notice, recorded);

    // Another occurrence of the same type is a notice of its own.
    let next = notice(
        "expiring:cert-1:7",
        EventType::CertificateExpiring,
        Some(org.id),
        minutes(1),
    );
    assert!(repo.record_notice(&next).await.unwrap().is_some());
    assert!(matches!(
        repo.notice(crate::notices::NoticeId::new()).await,
        Err(RepositoryError::NotFound { .. })
    ));
}

async fn notices_are_listed_newest_first_and_by_organization(repo: &dyn NoticeSubject) {
    let contoso = organization(repo, "Contoso").await;
    let fabrikam = organization(repo, "Fabrikam").await;
    let mut recorded = Vec::new();
    for (occurrence, org, at) in [
        ("a", Some(contoso.id), minutes(1)),
        ("b", Some(fabrikam.id), minutes(3)),
        ("c", None, minutes(2)),
        ("d", Some(contoso.id), minutes(4)),
    ] {
        let new = notice(occurrence, EventType::RotationSucceeded, org, at);
        recorded.push(repo.record_notice(&new).await.unwrap().unwrap());
    }
    let occurrences = |list: Vec<crate::notices::Notice>| -> Vec<String> {
        list.into_iter().map(|n| n.occurrence).collect()
    };
    assert_eq!(
        occurrences(repo.notices(None, 10).await.unwrap()),
        ["d", "b", "c", "a"]
    );
    assert_eq!(
        occurrences(repo.notices(None, 2).await.unwrap()),
        ["d", "b"]
    );
    assert_eq!(
        occurrences(repo.notices(Some(contoso.id), 10).await.unwrap()),
        ["d", "a"]
    );
    assert_eq!(
        repo.notices(Some(fabrikam.id), 10).await.unwrap(),
        [recorded[1].clone()]
    );
}

async fn a_notice_of_an_unknown_organization_is_not_found(repo: &dyn NoticeSubject) {
    let new = notice(
        "expired:x",
        EventType::CertificateExpired,
        Some(OrganizationId::new()),
        T0,
    );
    assert!(matches!(
        repo.record_notice(&new).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(repo.notices(None, 10).await.unwrap().is_empty());
}

async fn a_notice_fans_out_to_enabled_not_failing_subscribed_endpoints_only(
    repo: &dyn NoticeSubject,
) {
    use EventType::*;
    let org = organization(repo, "Contoso").await;
    let subscribed = endpoint(repo, "subscribed", &[CertificateExpiring, RotationFailed]).await;
    let also = endpoint(repo, "also", &[CertificateExpiring]).await;
    let other_type = endpoint(repo, "other", &[RotationFailed]).await;
    endpoint(repo, "nothing", &[]).await;
    let disabled = endpoint(repo, "disabled", &[CertificateExpiring]).await;
    repo.set_webhook_enabled(disabled.id, false, T0)
        .await
        .unwrap();
    let failing = endpoint(repo, "failing", &[CertificateExpiring]).await;
    make_failing(repo, failing.id).await;
    let deleted = endpoint(repo, "deleted", &[CertificateExpiring]).await;
    repo.delete_webhook(deleted.id).await.unwrap();

    let deliveries = record(
        repo,
        &notice("expiring:1:30", CertificateExpiring, Some(org.id), T0),
    )
    .await;
    assert_eq!(
        webhooks_of(&deliveries),
        sorted(vec![subscribed.id, also.id])
    );
    for d in &deliveries {
        assert_eq!(d.channel, DeliveryChannel::Webhook);
        assert_eq!(d.status, DeliveryStatus::Pending);
        assert_eq!(d.next_attempt_at, T0, "due when it occurred");
        assert_eq!(
            (d.attempts, d.last_attempt_at, d.delivered_at),
            (0, None, None)
        );
        assert_eq!((&d.last_status_code, &d.last_error), (&None, &None));
        assert!(d.recipients.is_empty());
    }
    let deliveries = record(repo, &notice("failed:1", RotationFailed, Some(org.id), T0)).await;
    assert_eq!(
        webhooks_of(&deliveries),
        sorted(vec![subscribed.id, other_type.id])
    );
    // Nobody subscribed, no e-mail recipients: recorded, without deliveries.
    assert!(
        record(repo, &notice("restored:1", ConnectionRestored, None, T0))
            .await
            .is_empty()
    );
}

async fn only_webhook_delivers_to_that_endpoint_whatever_its_subscriptions_and_no_email(
    repo: &dyn NoticeSubject,
) {
    let org = organization(repo, "Contoso").await;
    set_settings(repo, with_default_recipients(&["ops@contoso.example"])).await;
    let target = endpoint(repo, "target", &[]).await;
    let bystander = endpoint(repo, "bystander", &[EventType::CertificateExpiring]).await;
    let only = |occurrence: &str, event_type| NewNotice {
        only_webhook: Some(target.id),
        ..notice(occurrence, event_type, Some(org.id), T0)
    };
    let deliveries = record(repo, &only("test:1", EventType::Test)).await;
    assert_eq!(webhooks_of(&deliveries), [target.id]);
    // A subscribed type with e-mail recipients: still only the one endpoint.
    let deliveries = record(repo, &only("test:2", EventType::CertificateExpiring)).await;
    assert_eq!(webhooks_of(&deliveries), [target.id]);
    assert_eq!(deliveries.len(), 1, "no e-mail: {deliveries:?}");
    // A failing endpoint can be tested (a success is what clears it).
    make_failing(repo, target.id).await;
    let deliveries = record(repo, &only("test:3", EventType::Test)).await;
    assert_eq!(webhooks_of(&deliveries), [target.id]);

    // An endpoint that does not exist (or no longer does): nothing is recorded.
    repo.delete_webhook(target.id).await.unwrap();
    let gone = only("test:4", EventType::Test);
    assert!(matches!(
        repo.record_notice(&gone).await,
        Err(RepositoryError::NotFound { .. })
    ));
    let retried = NewNotice {
        only_webhook: Some(bystander.id),
        ..gone
    };
    assert!(
        repo.record_notice(&retried).await.unwrap().is_some(),
        "the refused occurrence was not taken"
    );
}

async fn email_goes_to_the_organizations_recipients_else_the_default_ones(
    repo: &dyn NoticeSubject,
) {
    let own = organization(repo, "Contoso").await;
    let without = organization(repo, "Fabrikam").await;
    set_settings(
        repo,
        with_default_recipients(&["ops@msp.example", "noc@msp.example"]),
    )
    .await;
    let own_list = vec![
        "it@contoso.example".to_owned(),
        "cto@contoso.example".into(),
    ];
    repo.set_organization_recipients(own.id, &own_list, T0)
        .await
        .unwrap();
    let defaults = vec!["ops@msp.example".to_owned(), "noc@msp.example".into()];

    for (occurrence, org, expected) in [
        ("a", Some(own.id), &own_list),
        ("b", Some(without.id), &defaults),
        ("c", None, &defaults),
    ] {
        let deliveries = record(
            repo,
            &notice(occurrence, EventType::CertificateExpired, org, T0),
        )
        .await;
        assert_eq!(deliveries.len(), 1, "{occurrence}: {deliveries:?}");
        let email = &deliveries[0];
        assert_eq!(email.channel, DeliveryChannel::Email);
        assert_eq!(email.webhook, None);
        assert_eq!(&email.recipients, expected, "{occurrence}");
        assert_eq!(email.status, DeliveryStatus::Pending);
        assert_eq!(email.next_attempt_at, T0, "immediate mode: due at once");
    }
    // Recipients are fixed when the notice is recorded.
    repo.set_organization_recipients(own.id, &[], T0)
        .await
        .unwrap();
    let first = repo.deliveries(None, 10).await.unwrap();
    assert!(first.iter().any(|d| d.recipients == own_list));
    let now_default = record(
        repo,
        &notice("d", EventType::CertificateExpired, Some(own.id), T0),
    )
    .await;
    assert_eq!(now_default[0].recipients, defaults);
}

async fn email_needs_its_event_type_and_some_recipients(repo: &dyn NoticeSubject) {
    let org = organization(repo, "Contoso").await;
    // No recipients anywhere: no e-mail delivery.
    assert!(
        record(
            repo,
            &notice("a", EventType::CertificateExpired, Some(org.id), T0)
        )
        .await
        .is_empty()
    );
    set_settings(
        repo,
        NoticeSettings {
            email_event_types: vec![EventType::CertificateExpired],
            ..with_default_recipients(&["ops@msp.example"])
        },
    )
    .await;
    assert!(
        record(
            repo,
            &notice("b", EventType::RotationSucceeded, Some(org.id), T0)
        )
        .await
        .is_empty(),
        "not an e-mail event type"
    );
    assert_eq!(
        record(
            repo,
            &notice("c", EventType::CertificateExpired, Some(org.id), T0)
        )
        .await
        .len(),
        1
    );
    // The default e-mail types leave out the test event.
    set_settings(repo, with_default_recipients(&["ops@msp.example"])).await;
    assert!(
        record(repo, &notice("d", EventType::Test, None, T0))
            .await
            .is_empty()
    );
}

async fn in_digest_mode_email_is_due_at_the_next_digest_hour(repo: &dyn NoticeSubject) {
    let org = organization(repo, "Contoso").await;
    let hook = endpoint(repo, "ops", &[EventType::CertificateExpiring]).await;
    set_settings(
        repo,
        NoticeSettings {
            email_mode: EmailMode::DailyDigest,
            digest_hour_utc: 8,
            ..with_default_recipients(&["ops@msp.example"])
        },
    )
    .await;
    for (occurrence, at, due) in [
        // After today's digest hour: tomorrow's.
        (
            "a",
            datetime!(2026-12-01 09:30 UTC),
            datetime!(2026-12-02 08:00 UTC),
        ),
        // Before it: today's.
        (
            "b",
            datetime!(2026-12-01 07:15 UTC),
            datetime!(2026-12-01 08:00 UTC),
        ),
        // Exactly at it: this one.
        (
            "c",
            datetime!(2026-12-01 08:00 UTC),
            datetime!(2026-12-01 08:00 UTC),
        ),
    ] {
        let deliveries = record(
            repo,
            &notice(occurrence, EventType::CertificateExpiring, Some(org.id), at),
        )
        .await;
        assert_eq!(deliveries.len(), 2, "{occurrence}");
        assert_eq!(deliveries[0].webhook, Some(hook.id));
        assert_eq!(deliveries[0].next_attempt_at, at, "webhooks are not held");
        assert_eq!(deliveries[1].channel, DeliveryChannel::Email);
        assert_eq!(deliveries[1].next_attempt_at, due, "{occurrence}");
    }
}
