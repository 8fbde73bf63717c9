//! Due deliveries, claims, attempts and the endpoint's failing mark, enabled and deleted.

use super::{NoticeSubject, T0, endpoint, make_failing, minutes, notice, organization, record};
use crate::notices::{
    AttemptNext, AttemptRecord, DeliveryId, DeliveryStatus, EventType, FAILING_AFTER, NewNotice,
};
use crate::ports::RepositoryError;
use time::Duration;

fn attempt(at: time::OffsetDateTime, next: AttemptNext) -> AttemptRecord {
    let delivered = next == AttemptNext::Delivered;
    AttemptRecord {
        at,
        status_code: Some(if delivered { 204 } else { 503 }),
        error: (!delivered).then(|| "HTTP 503 Service Unavailable".to_owned()),
        next,
    }
}

pub(super) async fn due_deliveries_are_pending_due_and_unclaimed_oldest_due_first(
    repo: &dyn NoticeSubject,
) {
    endpoint(repo, "ops", &[EventType::RotationFailed]).await;
    let mut ids = Vec::new();
    for (occurrence, at) in [
        ("late", minutes(10)),
        ("early", minutes(2)),
        ("mid", minutes(5)),
    ] {
        let d = record(
            repo,
            &notice(occurrence, EventType::RotationFailed, None, at),
        )
        .await;
        ids.push((occurrence, d[0].id));
    }
    let id = |name: &str| ids.iter().find(|(n, _)| *n == name).unwrap().1;
    let due = |now, limit| async move {
        repo.due_deliveries(now, limit)
            .await
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect::<Vec<DeliveryId>>()
    };
    assert!(due(minutes(1), 10).await.is_empty());
    assert_eq!(
        due(minutes(5), 10).await,
        [id("early"), id("mid")],
        "due at or before now"
    );
    assert_eq!(
        due(minutes(10), 2).await,
        [id("early"), id("mid")],
        "the limit"
    );
    assert_eq!(
        due(minutes(10), 10).await,
        [id("early"), id("mid"), id("late")]
    );
    // A running claim hides it; an expired one does not.
    assert!(
        repo.claim_delivery(id("early"), "a", minutes(10), minutes(20))
            .await
            .unwrap()
    );
    assert_eq!(due(minutes(20), 10).await, [id("mid"), id("late")]);
    assert_eq!(
        due(minutes(21), 10).await,
        [id("early"), id("mid"), id("late")]
    );
    // Delivered or failed: never due again.
    repo.record_attempt(id("mid"), &attempt(minutes(11), AttemptNext::Delivered), 3)
        .await
        .unwrap();
    repo.record_attempt(id("late"), &attempt(minutes(11), AttemptNext::GiveUp), 3)
        .await
        .unwrap();
    assert_eq!(due(minutes(30), 10).await, [id("early")]);
    // A retry is due at its new time, in the order of that time.
    repo.record_attempt(
        id("early"),
        &attempt(minutes(12), AttemptNext::RetryAt(minutes(40))),
        3,
    )
    .await
    .unwrap();
    assert!(due(minutes(39), 10).await.is_empty());
    let listed = repo.due_deliveries(minutes(40), 10).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, id("early"));
    assert_eq!(listed[0].notice.occurrence, "early");
}

pub(super) async fn a_delivery_has_one_claim_holder_until_the_claim_expires(
    repo: &dyn NoticeSubject,
) {
    endpoint(repo, "ops", &[EventType::RotationFailed]).await;
    let d = record(repo, &notice("x", EventType::RotationFailed, None, T0)).await;
    let id = d[0].id;
    let now = minutes(1);
    let until = minutes(6);
    assert!(repo.claim_delivery(id, "a", now, until).await.unwrap());
    assert!(
        !repo.claim_delivery(id, "b", now, until).await.unwrap(),
        "another holder's claim runs"
    );
    assert!(
        repo.claim_delivery(id, "a", now, until).await.unwrap(),
        "the holder may renew its claim"
    );
    assert!(
        !repo.claim_delivery(id, "b", until, until).await.unwrap(),
        "at its expiry it still holds"
    );
    let after = until + Duration::seconds(1);
    assert!(
        repo.claim_delivery(id, "b", after, after + Duration::minutes(5))
            .await
            .unwrap(),
        "an expired claim is taken"
    );
    assert!(!repo.claim_delivery(id, "a", after, after).await.unwrap());
    // Recording the attempt frees the claim: a retry may be claimed by anyone.
    repo.record_attempt(id, &attempt(after, AttemptNext::RetryAt(minutes(30))), 3)
        .await
        .unwrap();
    assert!(
        repo.claim_delivery(id, "a", after, minutes(30))
            .await
            .unwrap()
    );
    // Delivered: no longer pending, nobody claims it.
    repo.record_attempt(id, &attempt(minutes(31), AttemptNext::Delivered), 3)
        .await
        .unwrap();
    assert!(
        !repo
            .claim_delivery(id, "a", minutes(32), minutes(40))
            .await
            .unwrap()
    );
    assert!(matches!(
        repo.claim_delivery(DeliveryId::new(), "a", now, until)
            .await,
        Err(RepositoryError::NotFound { .. })
    ));
}

pub(super) async fn an_attempt_is_counted_and_retries_delivers_or_gives_up(
    repo: &dyn NoticeSubject,
) {
    let org = organization(repo, "Contoso").await;
    let hook = endpoint(repo, "ops", &[EventType::RotationFailed]).await;
    let first = record(
        repo,
        &notice("a", EventType::RotationFailed, Some(org.id), T0),
    )
    .await;
    let id = first[0].id;

    let retry = attempt(minutes(1), AttemptNext::RetryAt(minutes(5)));
    let after_retry = repo.record_attempt(id, &retry, 3).await.unwrap();
    assert_eq!(after_retry.status, DeliveryStatus::Pending);
    assert_eq!(after_retry.attempts, 1);
    assert_eq!(after_retry.next_attempt_at, minutes(5));
    assert_eq!(after_retry.last_attempt_at, Some(minutes(1)));
    assert_eq!(after_retry.last_status_code, Some(503));
    assert_eq!(
        after_retry.last_error.as_deref(),
        Some("HTTP 503 Service Unavailable")
    );
    assert_eq!(after_retry.delivered_at, None);
    assert_eq!(
        repo.deliveries(Some(hook.id), 10).await.unwrap(),
        [after_retry.clone()]
    );
    assert_eq!(
        repo.webhook(hook.id).await.unwrap().consecutive_failures,
        0,
        "a retry is not a failure of the endpoint"
    );

    let delivered = repo
        .record_attempt(id, &attempt(minutes(5), AttemptNext::Delivered), 3)
        .await
        .unwrap();
    assert_eq!(delivered.status, DeliveryStatus::Delivered);
    assert_eq!(delivered.attempts, 2);
    assert_eq!(delivered.delivered_at, Some(minutes(5)));
    assert_eq!(delivered.last_status_code, Some(204));
    assert_eq!(delivered.last_error, None);
    assert_eq!(delivered.notice, first[0].notice);

    let second = record(
        repo,
        &notice("b", EventType::RotationFailed, Some(org.id), T0),
    )
    .await;
    let given_up = repo
        .record_attempt(second[0].id, &attempt(minutes(2), AttemptNext::GiveUp), 3)
        .await
        .unwrap();
    assert_eq!(given_up.status, DeliveryStatus::Failed);
    assert_eq!(given_up.attempts, 1);
    assert_eq!(given_up.delivered_at, None);
    // The log: newest first, per endpoint or all.
    let log: Vec<DeliveryId> = repo
        .deliveries(Some(hook.id), 10)
        .await
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(log, [second[0].id, id]);
    assert_eq!(repo.deliveries(None, 1).await.unwrap(), [given_up]);
    assert!(matches!(
        repo.record_attempt(DeliveryId::new(), &retry, 3).await,
        Err(RepositoryError::NotFound { .. })
    ));
}

pub(super) async fn an_endpoint_fails_after_give_ups_in_a_row_and_a_delivery_resets_it(
    repo: &dyn NoticeSubject,
) {
    let hook = endpoint(repo, "ops", &[EventType::RotationFailed]).await;
    let mut n = 0;
    let mut next_delivery = || {
        n += 1;
        notice(&format!("n{n}"), EventType::RotationFailed, None, T0)
    };
    let give_up = |at| attempt(at, AttemptNext::GiveUp);
    // Two give-ups, then a delivery: the count starts again.
    for i in 0..2 {
        let d = record(repo, &next_delivery()).await;
        repo.record_attempt(d[0].id, &give_up(minutes(i)), FAILING_AFTER)
            .await
            .unwrap();
    }
    let read = repo.webhook(hook.id).await.unwrap();
    assert_eq!((read.consecutive_failures, read.failing_since), (2, None));
    let d = record(repo, &next_delivery()).await;
    repo.record_attempt(
        d[0].id,
        &attempt(minutes(3), AttemptNext::Delivered),
        FAILING_AFTER,
    )
    .await
    .unwrap();
    assert_eq!(repo.webhook(hook.id).await.unwrap().consecutive_failures, 0);

    // `failing_after` give-ups in a row: failing since the last one.
    for i in 0..FAILING_AFTER {
        let d = record(repo, &next_delivery()).await;
        repo.record_attempt(d[0].id, &give_up(minutes(10 + i64::from(i))), FAILING_AFTER)
            .await
            .unwrap();
    }
    let read = repo.webhook(hook.id).await.unwrap();
    assert_eq!(read.consecutive_failures, FAILING_AFTER);
    let failing_since = minutes(10 + i64::from(FAILING_AFTER) - 1);
    assert_eq!(read.failing_since, Some(failing_since));
    assert!(read.enabled, "failing is not disabled");
    // Failing: new notices skip it.
    assert!(record(repo, &next_delivery()).await.is_empty());

    // A further give-up (a delivery already queued) counts, and keeps the first time.
    let test = NewNotice {
        only_webhook: Some(hook.id),
        ..notice("test", EventType::Test, None, T0)
    };
    let queued = record(repo, &test).await;
    repo.record_attempt(queued[0].id, &give_up(minutes(30)), FAILING_AFTER)
        .await
        .unwrap();
    let read = repo.webhook(hook.id).await.unwrap();
    assert_eq!(read.consecutive_failures, FAILING_AFTER + 1);
    assert_eq!(read.failing_since, Some(failing_since));

    // A test event delivered: no longer failing, and it receives notices again.
    let test = NewNotice {
        only_webhook: Some(hook.id),
        ..notice("test 2", EventType::Test, None, T0)
    };
    let queued = record(repo, &test).await;
    repo.record_attempt(
        queued[0].id,
        &attempt(minutes(31), AttemptNext::Delivered),
        FAILING_AFTER,
    )
    .await
    .unwrap();
    let read = repo.webhook(hook.id).await.unwrap();
    assert_eq!((read.consecutive_failures, read.failing_since), (0, None));
    assert_eq!(record(repo, &next_delivery()).await.len(), 1);
}

pub(super) async fn enabling_clears_failing_and_disabling_fails_pending_deliveries(
    repo: &dyn NoticeSubject,
) {
    let hook = endpoint(repo, "ops", &[EventType::RotationFailed]).await;
    let other = endpoint(repo, "other", &[EventType::RotationFailed]).await;
    make_failing(repo, hook.id).await;
    let enabled = repo.set_webhook_enabled(hook.id, true, T0).await.unwrap();
    assert!(enabled.enabled);
    assert_eq!(
        (enabled.consecutive_failures, enabled.failing_since),
        (0, None)
    );
    assert_eq!(repo.webhook(hook.id).await.unwrap(), enabled);

    let queued = record(repo, &notice("a", EventType::RotationFailed, None, T0)).await;
    assert_eq!(queued.len(), 2, "both receive it again");
    let disabled = repo
        .set_webhook_enabled(hook.id, false, minutes(1))
        .await
        .unwrap();
    assert!(!disabled.enabled);
    assert_eq!(repo.webhook(hook.id).await.unwrap(), disabled);
    let of_hook = repo.deliveries(Some(hook.id), 10).await.unwrap();
    assert_eq!(of_hook[0].status, DeliveryStatus::Failed, "pending fails");
    assert!(of_hook[0].last_error.is_some(), "the log says why");
    let of_other = repo.deliveries(Some(other.id), 10).await.unwrap();
    assert_eq!(
        of_other[0].status,
        DeliveryStatus::Pending,
        "others untouched"
    );
    assert_eq!(repo.due_deliveries(minutes(1), 10).await.unwrap().len(), 1);
    // Disabled: new notices skip it; enabled again, it receives them.
    assert_eq!(
        record(repo, &notice("b", EventType::RotationFailed, None, T0))
            .await
            .len(),
        1
    );
    repo.set_webhook_enabled(hook.id, true, minutes(2))
        .await
        .unwrap();
    assert_eq!(
        record(repo, &notice("c", EventType::RotationFailed, None, T0))
            .await
            .len(),
        2
    );
    assert!(matches!(
        repo.set_webhook_enabled(crate::notices::WebhookId::new(), true, T0)
            .await,
        Err(RepositoryError::NotFound { .. })
    ));
}

pub(super) async fn a_deleted_endpoint_fails_its_pending_deliveries_and_keeps_its_log(
    repo: &dyn NoticeSubject,
) {
    let hook = endpoint(repo, "ops", &[EventType::RotationFailed]).await;
    let kept = endpoint(repo, "kept", &[]).await;
    let delivered = record(repo, &notice("a", EventType::RotationFailed, None, T0)).await;
    repo.record_attempt(
        delivered[0].id,
        &attempt(minutes(1), AttemptNext::Delivered),
        3,
    )
    .await
    .unwrap();
    let pending = record(repo, &notice("b", EventType::RotationFailed, None, T0)).await;

    repo.delete_webhook(hook.id).await.unwrap();
    let log = repo.deliveries(Some(hook.id), 10).await.unwrap();
    assert_eq!(
        log.iter().map(|d| (d.id, d.status)).collect::<Vec<_>>(),
        [
            (pending[0].id, DeliveryStatus::Failed),
            (delivered[0].id, DeliveryStatus::Delivered)
        ],
        "the log stays, newest first"
    );
    assert!(
        repo.due_deliveries(minutes(5), 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(matches!(
        repo.webhook(hook.id).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.webhook_secret(hook.id).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.delete_webhook(hook.id).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert!(matches!(
        repo.set_webhook_enabled(hook.id, true, T0).await,
        Err(RepositoryError::NotFound { .. })
    ));
    assert_eq!(repo.webhooks().await.unwrap(), [kept]);
    // New notices do not reach it.
    assert!(
        record(repo, &notice("c", EventType::RotationFailed, None, T0))
            .await
            .is_empty()
    );
}
