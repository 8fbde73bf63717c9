//! The dispatcher: retries per schedule, giving up, an endpoint marked failing, a deleted
//! endpoint, the daily digest.

use super::{NoticeWorld, notice_world};
use crate::support::admin;
use tenantlink_service::fakes::http_error;
use tenantlink_service::notices::{
    DeliveryStatus, EventType, FAILING_AFTER, MAX_ATTEMPTS, NewNotice, NoticeData, RETRY_SCHEDULE,
};
use time::{Duration, OffsetDateTime};

const HOOK: &str = "https://hooks.example/ops";

fn notice(w: &NoticeWorld, occurrence: &str, event_type: EventType) -> NewNotice {
    NewNotice {
        occurrence: occurrence.into(),
        event_type,
        organization: Some(w.world.org),
        occurred_at: w.now(),
        data: NoticeData {
            organization: None,
            certificate: None,
            threshold_days: None,
            days_left: None,
            reason: format!("{occurrence} happened"),
            what_to_do: Some("Do something.".into()),
            link: "https://tl.example/organizations".into(),
        },
        only_webhook: None,
    }
}

async fn record(w: &NoticeWorld, occurrence: &str, event_type: EventType) {
    assert!(
        w.notices
            .recorder()
            .record(&notice(w, occurrence, event_type))
            .await
    );
}

#[tokio::test]
async fn a_500_is_retried_on_schedule_and_then_delivered_with_the_same_id() {
    let w = notice_world().await;
    let (endpoint, secret) = w.webhook(HOOK, &[EventType::ConnectionBroken]).await;
    w.sender
        .answer_next(HOOK, [Err(http_error(500)), Err(http_error(502))]);
    record(&w, "broken-1", EventType::ConnectionBroken).await;
    let first = w.now();

    let report = w.notices.dispatch_once().await;
    assert_eq!((report.due, report.retrying), (1, 1));
    let log = w
        .notices
        .deliveries(&admin("alice"), Some(endpoint.id), 10)
        .await
        .unwrap();
    assert_eq!(log[0].status, DeliveryStatus::Pending);
    assert_eq!(log[0].attempts, 1);
    assert_eq!(log[0].last_status_code, Some(500));
    assert_eq!(log[0].next_attempt_at, first + RETRY_SCHEDULE[0]);

    // Not before its time.
    w.advance(RETRY_SCHEDULE[0] - Duration::seconds(1));
    assert_eq!(w.notices.dispatch_once().await.due, 0);
    w.advance(Duration::seconds(1));
    assert_eq!(w.notices.dispatch_once().await.retrying, 1);
    w.advance(RETRY_SCHEDULE[1]);
    assert_eq!(w.notices.dispatch_once().await.delivered, 1);

    let log = w
        .notices
        .deliveries(&admin("alice"), Some(endpoint.id), 10)
        .await
        .unwrap();
    assert_eq!(log[0].status, DeliveryStatus::Delivered);
    assert_eq!(log[0].attempts, 3);
    assert_eq!(log[0].last_status_code, Some(200));
    let sent = w.sender.webhooks();
    assert_eq!(sent.len(), 3);
    assert!(sent.iter().all(|s| s.message.id == sent[0].message.id));
    assert!(sent.iter().all(|s| s.message.body == sent[0].message.body));
    assert!(sent.iter().all(|s| s.secret == secret.expose()));
    assert_eq!(sent[0].message.id, log[0].notice.id.to_string());
    assert!(sent[1].message.timestamp > sent[0].message.timestamp);
    assert_eq!(w.bodies(HOOK)[0]["type"], "connection.broken");
}

/// Runs the dispatcher through the whole schedule.
async fn through_the_schedule(w: &NoticeWorld) {
    for wait in std::iter::once(Duration::ZERO).chain(RETRY_SCHEDULE) {
        w.advance(wait);
        w.notices.dispatch_once().await;
    }
}

#[tokio::test]
async fn an_endpoint_that_keeps_failing_is_marked_failing_and_gets_no_new_deliveries() {
    let w = notice_world().await;
    let (endpoint, _) = w.webhook(HOOK, &[EventType::RotationFailed]).await;
    let healthy = "https://hooks.example/healthy";
    let (other, _) = w.webhook(healthy, &[EventType::RotationFailed]).await;
    w.sender.take_down(HOOK, 503);

    for round in 0..FAILING_AFTER {
        record(&w, &format!("failed-{round}"), EventType::RotationFailed).await;
        through_the_schedule(&w).await;
        let endpoint = w
            .notices
            .webhook(&admin("alice"), endpoint.id)
            .await
            .unwrap();
        assert_eq!(endpoint.consecutive_failures, round + 1);
        assert_eq!(
            endpoint.failing_since.is_some(),
            round + 1 == FAILING_AFTER,
            "after {} give-ups",
            round + 1
        );
    }
    let attempts = w.sender.webhooks().iter().filter(|s| s.url == HOOK).count();
    assert_eq!(attempts, (FAILING_AFTER * MAX_ATTEMPTS) as usize);
    let log = w
        .notices
        .deliveries(&admin("alice"), Some(endpoint.id), 50)
        .await
        .unwrap();
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Failed));

    // Marked failing: a new notice reaches the healthy endpoint only.
    record(&w, "failed-late", EventType::RotationFailed).await;
    through_the_schedule(&w).await;
    let after = w.sender.webhooks().iter().filter(|s| s.url == HOOK).count();
    assert_eq!(after, attempts, "no new attempt to the failing endpoint");
    assert_eq!(
        w.sender.accepted_by(healthy).len(),
        FAILING_AFTER as usize + 1
    );
    let log = w
        .notices
        .deliveries(&admin("alice"), Some(other.id), 50)
        .await
        .unwrap();
    assert!(log.iter().all(|d| d.status == DeliveryStatus::Delivered));

    // Enabling it again clears the mark; new notices reach it once it is up.
    w.sender.bring_up(HOOK);
    let enabled = w
        .notices
        .set_webhook_enabled(&admin("alice"), endpoint.id, true)
        .await
        .unwrap();
    assert_eq!(
        (enabled.failing_since, enabled.consecutive_failures),
        (None, 0)
    );
    record(&w, "failed-after-fix", EventType::RotationFailed).await;
    w.notices.dispatch_once().await;
    assert_eq!(w.sender.accepted_by(HOOK).len(), 1);
}

#[tokio::test]
async fn a_deleted_or_disabled_endpoints_deliveries_fail_and_nothing_is_sent() {
    let w = notice_world().await;
    let (deleted, _) = w.webhook(HOOK, &[EventType::ConnectionBroken]).await;
    let disabled_url = "https://hooks.example/disabled";
    let (disabled, _) = w
        .webhook(disabled_url, &[EventType::ConnectionBroken])
        .await;
    w.sender.answer_next(HOOK, [Err(http_error(500))]);
    record(&w, "broken-1", EventType::ConnectionBroken).await;
    w.notices.dispatch_once().await;
    w.notices
        .delete_webhook(&admin("alice"), deleted.id)
        .await
        .unwrap();
    w.notices
        .set_webhook_enabled(&admin("alice"), disabled.id, false)
        .await
        .unwrap();
    through_the_schedule(&w).await;
    assert_eq!(
        w.sender.webhooks().iter().filter(|s| s.url == HOOK).count(),
        1
    );
    // The disabled one had been delivered before it was disabled; a new notice skips it.
    record(&w, "broken-2", EventType::ConnectionBroken).await;
    through_the_schedule(&w).await;
    assert_eq!(
        w.sender
            .webhooks()
            .iter()
            .filter(|s| s.url == disabled_url)
            .count(),
        1
    );
    let log = w
        .notices
        .deliveries(&admin("alice"), None, 50)
        .await
        .unwrap();
    let of_deleted: Vec<_> = log
        .iter()
        .filter(|d| d.webhook == Some(deleted.id))
        .collect();
    assert_eq!(of_deleted.len(), 1);
    assert_eq!(of_deleted[0].status, DeliveryStatus::Failed);
}

fn next_hour(at: OffsetDateTime, hour: u8) -> OffsetDateTime {
    let day = at.replace_time(time::Time::from_hms(hour, 0, 0).unwrap());
    if day > at {
        day
    } else {
        day + Duration::days(1)
    }
}

#[tokio::test]
async fn a_daily_digest_sends_one_message_per_recipient_list() {
    let w = notice_world().await;
    w.email(
        &["ops@example.com"],
        &[EventType::RotationFailed, EventType::ConnectionBroken],
        Some(7),
    )
    .await;
    record(&w, "a", EventType::RotationFailed).await;
    w.advance(Duration::minutes(5));
    record(&w, "b", EventType::ConnectionBroken).await;
    w.advance(Duration::minutes(5));
    record(&w, "c", EventType::RotationFailed).await;
    // Not an e-mail type: not in the digest.
    record(&w, "d", EventType::RotationSucceeded).await;

    w.notices.dispatch_once().await;
    assert!(
        w.sender.emails().is_empty(),
        "nothing before the digest hour"
    );
    let digest_at = next_hour(w.now(), 7);
    w.set_time(digest_at - Duration::seconds(1));
    w.notices.dispatch_once().await;
    assert!(w.sender.emails().is_empty());
    w.set_time(digest_at);
    let report = w.notices.dispatch_once().await;
    assert_eq!((report.delivered, report.emails_sent), (3, 1));
    let emails = w.sender.emails();
    assert_eq!(emails.len(), 1);
    let digest = &emails[0].message;
    assert_eq!(digest.to, ["ops@example.com"]);
    assert!(
        digest.subject.contains("Daily digest: 3 notices"),
        "{}",
        digest.subject
    );
    for reason in ["a happened", "b happened", "c happened"] {
        assert!(digest.text.contains(reason), "{reason} in {}", digest.text);
        assert!(digest.html.contains(reason));
    }
    assert!(!digest.text.contains("d happened"));
    w.advance(Duration::days(1));
    w.notices.dispatch_once().await;
    assert_eq!(w.sender.emails().len(), 1, "each notice once");
}

#[tokio::test]
async fn an_organization_with_its_own_recipients_gets_its_own_digest() {
    let w = notice_world().await;
    w.email(&["ops@example.com"], &[EventType::RotationFailed], Some(7))
        .await;
    let fabrikam = w
        .world
        .workflows
        .add_organization(
            &admin("alice"),
            tenantlink_service::NewOrganization {
                name: "Fabrikam".into(),
                tenant: "fabrikam.onmicrosoft.com".into(),
                ..tenantlink_service::fakes::new_organization()
            },
        )
        .await
        .unwrap()
        .id;
    w.notices
        .set_organization_recipients(&admin("alice"), fabrikam, &["it@fabrikam.example".into()])
        .await
        .unwrap();
    record(&w, "contoso-1", EventType::RotationFailed).await;
    record(&w, "contoso-2", EventType::RotationFailed).await;
    let mut theirs = notice(&w, "fabrikam-1", EventType::RotationFailed);
    theirs.organization = Some(fabrikam);
    assert!(w.notices.recorder().record(&theirs).await);
    w.set_time(next_hour(w.now(), 7));
    w.notices.dispatch_once().await;
    let mut sent: Vec<(Vec<String>, String)> = w
        .sender
        .emails()
        .into_iter()
        .map(|e| (e.message.to, e.message.subject))
        .collect();
    sent.sort();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, ["it@fabrikam.example"]);
    assert_eq!(sent[1].0, ["ops@example.com"]);
    assert!(sent[1].1.contains("2 notices"), "{}", sent[1].1);
}

#[tokio::test]
async fn a_failed_email_is_retried_like_a_webhook() {
    let w = notice_world().await;
    w.email(&["ops@example.com"], &[EventType::RotationFailed], None)
        .await;
    w.sender
        .answer_next_emails([Err(tenantlink_service::notices::SendError {
            status_code: None,
            message: "connection refused".into(),
        })]);
    record(&w, "a", EventType::RotationFailed).await;
    assert_eq!(w.notices.dispatch_once().await.retrying, 1);
    w.advance(RETRY_SCHEDULE[0]);
    let report = w.notices.dispatch_once().await;
    assert_eq!((report.delivered, report.emails_sent), (1, 1));
    assert_eq!(w.sender.emails().len(), 2);
}
