//! The watcher: one notice per threshold in each channel, nothing twice after a restart,
//! nothing for a certificate rotation replaced.

use super::{NoticeWorld, notice_world, notices_over};
use tenantlink_service::notices::EventType;
use time::Duration;

const HOOK: &str = "https://hooks.example/expiry";

async fn expiring_world() -> (NoticeWorld, time::OffsetDateTime) {
    let w = notice_world().await;
    w.world.generate_active("alice").await;
    w.renewal_off().await;
    w.webhook(
        HOOK,
        &[
            EventType::CertificateExpiring,
            EventType::CertificateExpired,
        ],
    )
    .await;
    w.email(
        &["ops@example.com"],
        &[
            EventType::CertificateExpiring,
            EventType::CertificateExpired,
        ],
        None,
    )
    .await;
    let end = w.world.active().await.not_after;
    (w, end)
}

#[tokio::test]
async fn thresholds_give_exactly_one_notice_each_in_each_channel() {
    let (w, end) = expiring_world().await;
    w.set_time(end - Duration::days(31));
    w.pass().await;
    assert!(w.sender.webhooks().is_empty() && w.sender.emails().is_empty());

    let mut expected: Vec<u32> = Vec::new();
    for (days, threshold) in [(30, 30), (29, 30), (14, 14), (10, 14), (7, 7), (1, 1)] {
        w.set_time(end - Duration::days(days));
        // Several passes at the same moment send nothing more.
        w.pass().await;
        w.pass().await;
        if expected.last() != Some(&threshold) {
            expected.push(threshold);
        }
        let thresholds: Vec<u64> = w
            .bodies(HOOK)
            .iter()
            .map(|b| b["data"]["threshold_days"].as_u64().unwrap())
            .collect();
        assert_eq!(
            thresholds,
            expected.iter().map(|t| u64::from(*t)).collect::<Vec<_>>()
        );
        assert_eq!(
            w.sender.emails().len(),
            expected.len(),
            "{days} days before"
        );
    }
    let last = &w.bodies(HOOK)[3];
    assert_eq!(last["type"], "certificate.expiring");
    assert_eq!(last["data"]["organization"]["name"], "Contoso");
    assert_eq!(last["data"]["days_left"], 1);
    assert_eq!(
        last["data"]["link"],
        format!(
            "https://tl.example/organizations/{}/settings/system",
            w.world.org
        )
    );
    let email = &w.sender.emails()[3].message;
    assert_eq!(email.to, ["ops@example.com"]);
    assert_eq!(
        email.subject,
        "[tenantlink] The certificate of Contoso ends in 1 day"
    );

    // Past the end: expired, once.
    w.set_time(end + Duration::hours(1));
    w.pass().await;
    w.set_time(end + Duration::days(2));
    w.pass().await;
    let types: Vec<String> = w
        .bodies(HOOK)
        .iter()
        .map(|b| b["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.len(), 5);
    assert_eq!(types[4], "certificate.expired");
    assert_eq!(w.sender.emails().len(), 5);
}

#[tokio::test]
async fn a_restarted_service_sends_nothing_twice() {
    let (w, end) = expiring_world().await;
    w.set_time(end - Duration::days(14));
    w.pass().await;
    assert_eq!(w.sender.accepted_by(HOOK).len(), 1);
    assert_eq!(w.sender.emails().len(), 1);

    // A new process on the same database (its occurrence cache empty).
    let restarted = notices_over(&w.world.repository, &w.sender, &w.world.clock);
    let report = restarted.watch_once().await;
    assert_eq!((report.due, report.recorded), (1, 0));
    let dispatched = restarted.dispatch_once().await;
    assert_eq!(dispatched.due, 0);
    assert_eq!(w.sender.accepted_by(HOOK).len(), 1);
    assert_eq!(w.sender.emails().len(), 1);

    // The next threshold still comes, once.
    w.set_time(end - Duration::days(7));
    restarted.watch_once().await;
    restarted.dispatch_once().await;
    w.pass().await;
    assert_eq!(w.sender.accepted_by(HOOK).len(), 2);
    assert_eq!(w.sender.emails().len(), 2);
}

#[tokio::test]
async fn a_certificate_rotation_replaced_sends_nothing_and_the_rotation_is_told() {
    let w = notice_world().await;
    w.world.generate_active("alice").await;
    w.webhook(
        HOOK,
        &[EventType::CertificateExpiring, EventType::RotationSucceeded],
    )
    .await;
    let old = w.world.active().await;
    w.set_time(old.not_after - Duration::days(40));
    let rotated = w.world.rotate("alice").await;
    assert_eq!(
        rotated.step,
        tenantlink_service::OperationStep::Succeeded,
        "{:?}",
        rotated.failure
    );
    let new = w.world.active().await;
    assert_ne!(new.id, old.id);

    for days in [30, 14, 7, 1] {
        w.set_time(old.not_after - Duration::days(days));
        w.pass().await;
    }
    w.set_time(old.not_after + Duration::days(1));
    w.pass().await;
    let bodies = w.bodies(HOOK);
    assert_eq!(bodies.len(), 1, "{bodies:?}");
    assert_eq!(bodies[0]["type"], "rotation.succeeded");
    assert_eq!(
        bodies[0]["data"]["certificate"]["sha1_thumbprint"],
        new.sha1_thumbprint
    );
    assert_eq!(
        w.recorded().await,
        [EventType::RotationSucceeded],
        "nothing about the retired certificate"
    );
}
