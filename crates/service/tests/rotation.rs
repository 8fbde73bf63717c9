//! Rotation end to end against the in-memory repository and the scripted directory: the new key
//! is added, listed, proven and activated; the old one stays through its overlap and is removed
//! after it; and rotation refuses early, before any Graph call, when it cannot help.

mod support;

use std::time::Duration as StdDuration;
use support::{admin, caller, world};
use tenantlink_service::fakes::{FakeCall, FakeDirectory};
use tenantlink_service::{
    AuditAction, CertificateState, KeyRemovalReport, OperationStep, RENEWAL_ACTOR, Repository,
    Role, ServiceError,
};
use time::Duration;

#[tokio::test]
async fn a_rotation_adds_proves_and_activates_a_new_key_and_removes_the_old_after_its_overlap() {
    let w = world().await;
    let old = w.generate_active("ann").await;

    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(done.started_by, "ann");
    let new = w.active().await;
    assert_ne!(new.sha1_thumbprint, old);
    assert_eq!(
        done.sha1_thumbprint.as_deref(),
        Some(new.sha1_thumbprint.as_str())
    );
    assert_eq!(w.directory.calls(FakeCall::AddKey), 1);

    // The overlap: both keys on the application, the old one retired and waiting.
    assert_eq!(
        w.directory.attached(),
        vec![old.clone(), new.sha1_thumbprint.clone()]
    );
    let rotated = w.audited(AuditAction::CertificateRotated).await;
    assert_eq!(rotated.len(), 1);
    assert_eq!(
        rotated[0].thumbprints,
        vec![new.sha1_thumbprint.clone(), old.clone()]
    );
    assert_eq!(rotated[0].actor, "ann");
    assert!(
        w.audited(AuditAction::CertificateActivated).await.len() == 1,
        "only Generate's activation is audited as certificate_activated; the rotation's is certificate_rotated"
    );
    let state = w.repository.renewal(w.org).await.unwrap().state;
    assert_eq!(state.failed_attempts, 0);
    assert_eq!(state.last_failure, None);
    assert_eq!(state.last_attempt_at, Some(w.now()));

    let early = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(
        early,
        KeyRemovalReport {
            removed: 0,
            waiting: 1,
            failed: 0,
            retry_after: None
        }
    );
    assert_eq!(w.directory.attached().len(), 2);
    let retired = w.repository.keys_to_remove().await.unwrap();
    assert_eq!(
        tenantlink_service::planned_key_removal(&retired[0], Some(&new), w_grace()),
        Some(retired[0].retired_at.unwrap() + Duration::hours(72))
    );

    w.clock.advance(Duration::hours(72));
    let after = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(
        after,
        KeyRemovalReport {
            removed: 1,
            waiting: 0,
            failed: 0,
            retry_after: None
        }
    );
    assert_eq!(w.directory.attached(), vec![new.sha1_thumbprint.clone()]);
    let removed = w.audited(AuditAction::KeyRemoved).await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].thumbprints, vec![old.clone()]);
    assert_eq!(removed[0].actor, RENEWAL_ACTOR);
    assert!(w.repository.keys_to_remove().await.unwrap().is_empty());
    let old_stored = w
        .repository
        .certificates(w.org)
        .await
        .unwrap()
        .into_iter()
        .find(|c| c.sha1_thumbprint == old)
        .unwrap();
    assert_eq!(old_stored.state, CertificateState::Retired);
    assert_eq!(old_stored.key_removed_at, Some(w.now()));
    assert!(w.can_sign_in().await);

    // A later sweep has nothing left to do.
    assert_eq!(
        w.workflows.remove_retired_keys().await.unwrap(),
        KeyRemovalReport::default()
    );
}

fn w_grace() -> StdDuration {
    tenantlink_service::WorkflowsConfig::default().overlap_grace
}

#[tokio::test]
async fn three_rotations_in_a_row_never_leave_more_than_two_keys_on_the_application() {
    let w = world().await;
    let mut thumbprints = vec![w.generate_active("ann").await];
    for _ in 0..3 {
        let done = w.rotate("ann").await;
        assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
        thumbprints.push(done.sha1_thumbprint.unwrap());
        w.clock.advance(Duration::hours(73));
        let swept = w.workflows.remove_retired_keys().await.unwrap();
        assert_eq!(swept.removed, 1);
        assert!(w.can_sign_in().await);
    }
    assert_eq!(w.directory.most_keys(), 2);
    assert_eq!(w.directory.attached(), vec![thumbprints[3].clone()]);
    let rotated = w.audited(AuditAction::CertificateRotated).await;
    let pairs: Vec<Vec<String>> = rotated.into_iter().map(|e| e.thumbprints).collect();
    assert_eq!(
        pairs,
        vec![
            vec![thumbprints[1].clone(), thumbprints[0].clone()],
            vec![thumbprints[2].clone(), thumbprints[1].clone()],
            vec![thumbprints[3].clone(), thumbprints[2].clone()],
        ]
    );
    let removed: Vec<Vec<String>> = w
        .audited(AuditAction::KeyRemoved)
        .await
        .into_iter()
        .map(|e| e.thumbprints)
        .collect();
    assert_eq!(
        removed,
        vec![
            vec![thumbprints[0].clone()],
            vec![thumbprints[1].clone()],
            vec![thumbprints[2].clone()]
        ]
    );
}

#[tokio::test]
async fn the_old_key_stays_until_its_own_end_while_the_new_one_has_no_accepted_token() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded);
    // Entra later refuses the new key (Check connection records it): the old one must stay.
    w.directory.refuse_proofs(1);
    w.check_connection(Role::Operator).await.unwrap();
    w.clock.advance(Duration::days(10));
    let swept = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(
        swept,
        KeyRemovalReport {
            removed: 0,
            waiting: 1,
            failed: 0,
            retry_after: None
        }
    );
    assert!(w.directory.attached().contains(&old));
}

#[tokio::test]
async fn a_429_from_remove_key_stops_the_sweep_and_reports_the_wait() {
    // Two organizations with a rotated-out key each (one organization never has two: a
    // rotation takes the earlier one off before it adds its key).
    let w = world().await;
    let other = w.another_organization("Fabrikam").await;
    let first = w.generate_active("ann").await;
    w.rotate("ann").await;
    let second = other.generate_active("ann").await;
    other.rotate("ann").await;
    w.clock.advance(Duration::hours(73));
    w.directory
        .fail_next_remove_key(FakeDirectory::throttled(StdDuration::from_secs(60)));

    let throttled = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(
        throttled,
        KeyRemovalReport {
            removed: 0,
            waiting: 0,
            failed: 1,
            retry_after: Some(StdDuration::from_secs(60))
        }
    );
    // The second retired key was not tried: more writes would only earn more 429s.
    assert_eq!(w.directory.calls(FakeCall::RemoveKey), 1);
    assert!(w.directory.attached().contains(&first));
    assert!(w.directory.attached().contains(&second));

    let later = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(
        (later.removed, later.failed, later.retry_after),
        (2, 0, None)
    );
    assert!(!w.directory.attached().contains(&first));
    assert!(!w.directory.attached().contains(&second));
}

#[tokio::test]
async fn a_second_rotation_during_the_overlap_takes_the_earlier_rotations_key_off_first() {
    let w = world().await;
    let first = w.generate_active("ann").await;
    let second = w.rotate("ann").await.sha1_thumbprint.unwrap();
    // Well inside the first rotation's overlap (72 hours), an administrator rotates again.
    w.clock.advance(Duration::hours(1));
    let done = w.rotate("bob").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let third = done.sha1_thumbprint.unwrap();

    assert_eq!(w.directory.attached(), vec![second.clone(), third.clone()]);
    assert_eq!(w.directory.most_keys(), 2);
    let removed = w.audited(AuditAction::KeyRemoved).await;
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].thumbprints, vec![first]);
    assert_eq!(removed[0].actor, "bob");
    let detail = removed[0].detail.as_deref().unwrap_or_default();
    assert!(
        detail.contains("a new rotation started during its overlap"),
        "{detail}"
    );
    // The key the second rotation retired now has the overlap.
    let waiting = w
        .repository
        .organization_keys_to_remove(w.org)
        .await
        .unwrap();
    assert_eq!(
        waiting
            .iter()
            .map(|c| &c.sha1_thumbprint)
            .collect::<Vec<_>>(),
        vec![&second]
    );
    assert!(w.can_sign_in().await);
}

#[tokio::test]
async fn a_refused_removal_before_a_second_rotation_fails_it_before_add_key() {
    let w = world().await;
    let first = w.generate_active("ann").await;
    let second = w.rotate("ann").await.sha1_thumbprint.unwrap();
    w.directory
        .fail_next_remove_key(FakeDirectory::throttled(StdDuration::from_secs(60)));

    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Failed);
    let failure = done.failure.expect("failure");
    assert!(
        failure
            .message
            .contains("removeKey of an earlier rotation's key"),
        "{}",
        failure.message
    );
    // No addKey: the application still holds the two keys it had, the active one in use.
    assert_eq!(w.directory.calls(FakeCall::AddKey), 1);
    assert_eq!(w.directory.attached(), vec![first.clone(), second.clone()]);
    assert_eq!(w.active().await.sha1_thumbprint, second);
    let state = w.repository.renewal(w.org).await.unwrap().state;
    assert_eq!(state.failed_attempts, 1);
    assert_eq!(
        state.retry_not_before,
        Some(w.now() + Duration::seconds(60))
    );
    assert!(w.can_sign_in().await);

    // Once Graph lets it, the next rotation takes the old key off and adds its own.
    w.clock.advance(Duration::seconds(61));
    let done = w.rotate("ann").await;
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    assert_eq!(
        w.directory.attached(),
        vec![second, done.sha1_thumbprint.unwrap()]
    );
}

#[tokio::test]
async fn a_key_already_gone_from_the_application_counts_as_removed() {
    let w = world().await;
    let old = w.generate_active("ann").await;
    w.rotate("ann").await;
    w.directory.detach_thumbprint(&old);
    w.clock.advance(Duration::hours(72));
    let swept = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(swept.removed, 1);
    assert_eq!(w.directory.calls(FakeCall::RemoveKey), 0);
    let removed = w.audited(AuditAction::KeyRemoved).await;
    assert_eq!(removed[0].detail.as_deref(), Some("already absent"));
    assert_eq!(removed[0].thumbprints, vec![old]);
}

#[tokio::test]
async fn keys_the_rotation_did_not_retire_are_never_removed() {
    let w = world().await;
    // A key an administrator uploaded in Entra ID by hand, and Generate replacing a certificate:
    // neither is tenantlink's to remove.
    w.directory
        .attach_thumbprint("0123456789ABCDEF0123456789ABCDEF01234567");
    let first = w.generate_active("ann").await;
    let second = w.generate_active("ann").await;
    w.clock.advance(Duration::days(400));
    let swept = w.workflows.remove_retired_keys().await.unwrap();
    assert_eq!(swept, KeyRemovalReport::default());
    assert_eq!(w.directory.calls(FakeCall::RemoveKey), 0);
    let attached = w.directory.attached();
    assert!(attached.contains(&first) && attached.contains(&second));
    assert!(attached.contains(&"0123456789ABCDEF0123456789ABCDEF01234567".to_owned()));
}

#[tokio::test]
async fn the_scheduler_rotates_only_when_renewal_is_due_and_as_renewal() {
    let w = world().await;
    w.generate_active("ann").await;
    let err = w
        .workflows
        .start_scheduled_rotation(w.org)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict { detail } if detail.contains("not due")),
        "{err:?}"
    );
    assert_eq!(w.directory.calls(FakeCall::AddKey), 0);

    // Two thirds of the default 365 days (jitter only moves it earlier).
    w.clock.advance(Duration::days(244));
    let started = w.workflows.start_scheduled_rotation(w.org).await.unwrap();
    assert_eq!(started.started_by, RENEWAL_ACTOR);
    let done = w.workflows.operation_settled(started.id).await.unwrap();
    assert_eq!(done.step, OperationStep::Succeeded, "{:?}", done.failure);
    let rotated = w.audited(AuditAction::CertificateRotated).await;
    assert_eq!(rotated[0].actor, RENEWAL_ACTOR);
    // The new certificate starts a new lifetime: nothing due any more.
    assert!(w.workflows.start_scheduled_rotation(w.org).await.is_err());
}

#[tokio::test]
async fn rotate_now_is_for_administrators() {
    let w = world().await;
    w.generate_active("ann").await;
    for role in [Role::Viewer, Role::Operator] {
        let err = w
            .workflows
            .rotate_now(&caller(role), w.org)
            .await
            .unwrap_err();
        assert!(
            matches!(err, ServiceError::Forbidden { .. }),
            "{role:?}: {err:?}"
        );
    }
    assert_eq!(w.directory.calls(FakeCall::AddKey), 0);
}

#[tokio::test]
async fn without_an_active_certificate_rotation_refuses_and_points_to_generate_or_upload() {
    let w = world().await;
    let err = w
        .workflows
        .rotate_now(&admin("ann"), w.org)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict { detail } if detail.contains("No certificate is active") && detail.contains("Generate or upload")),
        "{err:?}"
    );
    assert!(w.repository.certificates(w.org).await.unwrap().is_empty());
    assert!(w.repository.operations(w.org).await.unwrap().is_empty());
}

#[tokio::test]
async fn an_expired_active_certificate_is_refused_before_anything_is_asked_of_graph() {
    let w = world().await;
    w.generate_active("ann").await;
    let proofs = w.directory.proof_attempts();
    w.clock.advance(Duration::days(366));
    let err = w
        .workflows
        .rotate_now(&admin("ann"), w.org)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict { detail } if detail.contains("expired") && detail.contains("Generate or upload")),
        "{err:?}"
    );
    assert_eq!(w.directory.calls(FakeCall::AddKey), 0);
    assert_eq!(w.directory.calls(FakeCall::ApplicationAppOnly), 0);
    assert_eq!(w.directory.proof_attempts(), proofs);
    assert_eq!(w.repository.certificates(w.org).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_certificate_entra_says_is_not_attached_is_refused_as_such() {
    let w = world().await;
    let active = w.generate_active("ann").await;
    w.directory.detach_thumbprint(&active);
    w.check_connection(Role::Operator).await.unwrap();
    let err = w
        .workflows
        .rotate_now(&admin("ann"), w.org)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict { detail } if detail.contains("no longer lists")),
        "{err:?}"
    );
    assert_eq!(w.directory.calls(FakeCall::AddKey), 0);
}

#[tokio::test]
async fn a_second_rotation_is_refused_while_one_runs() {
    let w = world().await;
    w.generate_active("ann").await;
    let hung = w.directory.hang_next(
        FakeCall::AddKey,
        tenantlink_service::fakes::HangPoint::BeforeEffect,
    );
    let first = w.workflows.rotate_now(&admin("ann"), w.org).await.unwrap();
    hung.reached().await;
    let err = w
        .workflows
        .rotate_now(&admin("bob"), w.org)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ServiceError::Conflict { detail } if detail.contains(&first.id.to_string())),
        "{err:?}"
    );
    // Only the first rotation's certificate was ever created.
    assert_eq!(w.repository.certificates(w.org).await.unwrap().len(), 2);
}
