//! Each decision on fixed times and hand-built state: no clock, no sleeping, no I/O.

use super::*;
use crate::model::OrganizationId;
use crate::operation::SignInPrompt;
use crate::ports::DirectoryErrorKind;
use time::macros::datetime;

const STARTED: OffsetDateTime = datetime!(2026-03-01 10:00 UTC);
const CODE_EXPIRES: OffsetDateTime = datetime!(2026-03-01 10:15 UTC);

const ALL_STEPS: [OperationStep; 7] = [
    OperationStep::AwaitingSignIn,
    OperationStep::SignedIn,
    OperationStep::CertificateStored,
    OperationStep::Attached,
    OperationStep::Succeeded,
    OperationStep::Failed,
    OperationStep::Cancelled,
];

fn operation(step: OperationStep) -> Operation {
    Operation {
        step,
        sign_in: Some(SignInPrompt {
            user_code: "FAKE0001".into(),
            verification_uri: "https://login.example.test/device".into(),
            expires_at: CODE_EXPIRES,
        }),
        ..crate::fakes::operation(OrganizationId::new(), STARTED)
    }
}

fn held_by(holder: &str, step: OperationStep) -> Operation {
    Operation {
        sign_in_holder: Some(holder.into()),
        heartbeat_at: Some(STARTED),
        ..operation(step)
    }
}

/// How long a holder may be silent before it counts as gone, in these tests.
const STALE_AFTER: StdDuration = StdDuration::from_secs(120);

fn holder_at<'a>(op: &'a Operation, this: Option<&str>, now: OffsetDateTime) -> Holder<'a> {
    holder(op, this, now, STALE_AFTER)
}

fn organization(active: Option<CertificateId>) -> Organization {
    Organization {
        active_certificate: active,
        created_at: STARTED,
        ..crate::fakes::organization()
    }
}

fn refusal(kind: DirectoryErrorKind) -> DirectoryError {
    DirectoryError::new(kind, Some("AADSTS700027".into()), "refused", "wait")
}

// --- is the sign-in expired -------------------------------------------------------------------

#[test]
fn a_sign_in_code_is_usable_until_the_moment_it_expires() {
    let waiting = operation(OperationStep::AwaitingSignIn);
    assert!(!sign_in_expired(&waiting, STARTED));
    assert!(!sign_in_expired(
        &waiting,
        CODE_EXPIRES - Duration::seconds(1)
    ));
    assert!(
        sign_in_expired(&waiting, CODE_EXPIRES),
        "expiry is inclusive"
    );
    assert!(sign_in_expired(&waiting, CODE_EXPIRES + Duration::days(1)));
}

#[test]
fn only_an_operation_still_waiting_for_the_sign_in_can_have_it_expire() {
    for step in ALL_STEPS {
        let late = CODE_EXPIRES + Duration::hours(1);
        assert_eq!(
            sign_in_expired(&operation(step), late),
            step == OperationStep::AwaitingSignIn,
            "{step:?}"
        );
    }
}

#[test]
fn a_sign_in_without_a_prompt_never_expires_by_itself() {
    let no_prompt = Operation {
        sign_in: None,
        ..operation(OperationStep::AwaitingSignIn)
    };
    assert!(!sign_in_expired(
        &no_prompt,
        CODE_EXPIRES + Duration::days(365)
    ));
}

// --- has the active certificate been superseded ----------------------------------------------

#[test]
fn the_active_certificate_is_superseded_once_it_differs_from_the_one_replaced() {
    let previous = CertificateId::new();
    let other = CertificateId::new();
    let replacing = Operation {
        replaces: Some(previous),
        ..operation(OperationStep::SignedIn)
    };
    assert!(!superseded(&replacing, &organization(Some(previous))));
    assert!(superseded(&replacing, &organization(Some(other))));
    assert!(superseded(&replacing, &organization(None)));
}

#[test]
fn a_first_certificate_is_superseded_when_another_one_became_active_meanwhile() {
    let first = operation(OperationStep::SignedIn);
    assert!(!superseded(&first, &organization(None)));
    assert!(superseded(
        &first,
        &organization(Some(CertificateId::new()))
    ));
}

// --- may this step be cancelled ---------------------------------------------------------------

#[test]
fn only_the_sign_in_steps_may_be_cancelled() {
    for step in ALL_STEPS {
        assert_eq!(
            may_cancel(step),
            matches!(
                step,
                OperationStep::AwaitingSignIn | OperationStep::SignedIn
            ),
            "{step:?}"
        );
    }
}

#[test]
fn the_sign_in_steps_are_the_ones_needing_the_in_memory_secrets() {
    for step in ALL_STEPS {
        assert_eq!(
            needs_sign_in_secrets(step),
            matches!(
                step,
                OperationStep::AwaitingSignIn | OperationStep::SignedIn
            ),
            "{step:?}"
        );
    }
}

// --- is the sign-in held elsewhere ------------------------------------------------------------

#[test]
fn a_sign_in_recorded_by_another_instance_is_held_elsewhere() {
    let op = held_by("instance-a", OperationStep::SignedIn);
    assert_eq!(held_elsewhere(&op, Some("instance-b")), Some("instance-a"));
    assert_eq!(
        held_elsewhere(&op, None),
        Some("instance-a"),
        "an unnamed instance holds no one's secrets"
    );
}

#[test]
fn a_sign_in_recorded_by_this_instance_is_not_held_elsewhere() {
    let op = held_by("instance-a", OperationStep::SignedIn);
    assert_eq!(held_elsewhere(&op, Some("instance-a")), None);
}

#[test]
fn a_sign_in_without_a_recorded_holder_counts_as_this_instances() {
    let op = operation(OperationStep::AwaitingSignIn);
    assert_eq!(held_elsewhere(&op, Some("instance-a")), None);
    assert_eq!(held_elsewhere(&op, None), None);
}

// --- is a device-code poll due ----------------------------------------------------------------

#[test]
fn the_token_endpoint_is_asked_once_per_interval() {
    let asked = STARTED;
    let next = next_device_code_poll(asked, StdDuration::from_secs(5));
    assert_eq!(next, datetime!(2026-03-01 10:00:05 UTC));
    assert!(!device_code_poll_due(next, asked));
    assert!(!device_code_poll_due(next, asked + Duration::seconds(4)));
    assert!(device_code_poll_due(next, asked + Duration::seconds(5)));
    assert!(device_code_poll_due(next, asked + Duration::minutes(3)));
}

#[test]
fn a_new_sign_in_may_be_polled_at_once() {
    assert!(device_code_poll_due(STARTED, STARTED));
}

#[test]
fn an_interval_too_large_to_represent_falls_back_to_five_seconds() {
    let next = next_device_code_poll(STARTED, StdDuration::MAX);
    assert_eq!(next, STARTED + Duration::seconds(5));
}

// --- proof retry delay ------------------------------------------------------------------------

#[test]
fn proof_retries_back_off_exponentially_up_to_the_cap() {
    let policy = ProofPolicy::default();
    let propagating = refusal(DirectoryErrorKind::CredentialRejected);
    let delays: Vec<_> = (1..policy.attempts)
        .map(|attempt| proof_retry_delay(&policy, &propagating, attempt).map(|d| d.as_secs()))
        .collect();
    assert_eq!(
        delays,
        [2, 4, 8, 16, 20, 20].map(Some),
        "seven attempts, six waits"
    );
}

#[test]
fn the_last_attempt_is_not_followed_by_a_wait() {
    let policy = ProofPolicy::default();
    let propagating = refusal(DirectoryErrorKind::CredentialRejected);
    assert_eq!(
        proof_retry_delay(&policy, &propagating, policy.attempts),
        None
    );
    assert_eq!(
        proof_retry_delay(&policy, &propagating, policy.attempts + 1),
        None
    );
}

#[test]
fn an_unreachable_entra_is_retried_like_a_propagating_key() {
    let policy = ProofPolicy::default();
    let unavailable = refusal(DirectoryErrorKind::Unavailable);
    assert_eq!(
        proof_retry_delay(&policy, &unavailable, 1),
        Some(StdDuration::from_secs(2))
    );
}

#[test]
fn a_refusal_that_waiting_cannot_change_stops_at_once() {
    let policy = ProofPolicy::default();
    for kind in [
        DirectoryErrorKind::InsufficientPrivileges,
        DirectoryErrorKind::PolicyRejected,
        DirectoryErrorKind::ApplicationNotFound,
        DirectoryErrorKind::SignInDeclined,
        DirectoryErrorKind::Other,
    ] {
        assert_eq!(
            proof_retry_delay(&policy, &refusal(kind), 1),
            None,
            "{kind:?}"
        );
    }
}

#[test]
fn a_huge_attempt_count_saturates_at_the_cap_instead_of_overflowing() {
    let policy = ProofPolicy {
        attempts: u32::MAX,
        ..ProofPolicy::default()
    };
    let propagating = refusal(DirectoryErrorKind::CredentialRejected);
    assert_eq!(
        proof_retry_delay(&policy, &propagating, 200),
        Some(policy.max_delay)
    );
}

// --- what a starting instance does with unfinished operations --------------------------------

#[test]
fn after_a_restart_sign_ins_end_and_stored_or_attached_certificates_are_proven() {
    let expected = [
        (OperationStep::AwaitingSignIn, Resumption::EndInterrupted),
        (OperationStep::SignedIn, Resumption::EndInterrupted),
        (
            OperationStep::CertificateStored,
            Resumption::ProveAndActivate,
        ),
        (OperationStep::Attached, Resumption::ProveAndActivate),
        (OperationStep::Succeeded, Resumption::Nothing),
        (OperationStep::Failed, Resumption::Nothing),
        (OperationStep::Cancelled, Resumption::Nothing),
    ];
    for (step, resumption_expected) in expected {
        let op = operation(step);
        assert_eq!(
            resumption(&op, holder_at(&op, None, STARTED)),
            resumption_expected,
            "{step:?}"
        );
        let mine = held_by("instance-a", step);
        assert_eq!(
            resumption(&mine, holder_at(&mine, Some("instance-a"), STARTED)),
            resumption_expected,
            "{step:?}, this instance's previous incarnation"
        );
    }
}

#[test]
fn after_a_restart_another_live_instances_operations_are_left_alone() {
    for step in ALL_STEPS {
        let theirs = held_by("instance-a", step);
        assert_eq!(
            resumption(&theirs, holder_at(&theirs, Some("instance-b"), STARTED)),
            Resumption::LeaveToHolder("instance-a"),
            "{step:?}"
        );
    }
}

#[test]
fn a_gone_holders_operations_are_resumed_like_ones_own() {
    let later = STARTED + Duration::minutes(5);
    for (step, expected) in [
        (OperationStep::AwaitingSignIn, Resumption::EndInterrupted),
        (OperationStep::SignedIn, Resumption::EndInterrupted),
        (OperationStep::Attached, Resumption::ProveAndActivate),
    ] {
        let theirs = held_by("instance-a", step);
        assert_eq!(
            resumption(&theirs, holder_at(&theirs, Some("instance-b"), later)),
            expected,
            "{step:?}"
        );
    }
}

// --- heartbeats: is the holder gone? -----------------------------------------------------------

#[test]
fn a_holder_is_gone_only_once_silent_for_longer_than_stale_after() {
    let beat = Some(STARTED);
    assert!(!holder_gone(beat, STARTED, STALE_AFTER));
    assert!(!holder_gone(
        beat,
        STARTED + Duration::seconds(119),
        STALE_AFTER
    ));
    assert!(holder_gone(
        beat,
        STARTED + Duration::seconds(120),
        STALE_AFTER
    ));
    assert!(holder_gone(None, STARTED, STALE_AFTER), "never beat: gone");
    assert!(
        !holder_gone(beat, STARTED + Duration::days(365), StdDuration::MAX),
        "an absurd setting means never stale, not a panic"
    );
}

#[test]
fn holder_names_this_instance_a_live_other_or_a_gone_one() {
    let theirs = held_by("instance-a", OperationStep::Attached);
    assert_eq!(
        holder_at(&theirs, Some("instance-a"), STARTED + Duration::hours(1)),
        Holder::ThisInstance
    );
    assert_eq!(
        holder_at(&theirs, Some("instance-b"), STARTED + Duration::seconds(30)),
        Holder::Live("instance-a")
    );
    assert_eq!(
        holder_at(&theirs, Some("instance-b"), STARTED + Duration::minutes(3)),
        Holder::Gone("instance-a")
    );
    let nobodys = operation(OperationStep::Attached);
    assert_eq!(
        holder_at(&nobodys, Some("instance-b"), STARTED),
        Holder::ThisInstance
    );
}

// --- abandoning and the signed-in lifetime ------------------------------------------------------

#[test]
fn only_an_operation_nothing_carries_may_be_abandoned() {
    let theirs = held_by("instance-a", OperationStep::Attached);
    let soon = STARTED + Duration::seconds(30);
    let later = STARTED + Duration::minutes(3);
    assert_eq!(
        may_abandon(&theirs, holder_at(&theirs, Some("b"), soon), false),
        Err(AbandonRefusal::Carried("instance-a"))
    );
    assert_eq!(
        may_abandon(&theirs, holder_at(&theirs, Some("b"), later), false),
        Ok(())
    );
    assert_eq!(
        may_abandon(&theirs, holder_at(&theirs, Some("instance-a"), soon), true),
        Err(AbandonRefusal::RunningHere)
    );
    assert_eq!(
        may_abandon(&theirs, holder_at(&theirs, Some("instance-a"), soon), false),
        Ok(()),
        "ours, but no task carries it any more"
    );
    let done = held_by("instance-a", OperationStep::Succeeded);
    assert_eq!(
        may_abandon(&done, holder_at(&done, Some("b"), later), false),
        Err(AbandonRefusal::Finished)
    );
}

#[test]
fn a_signed_in_operation_expires_with_its_token_lifetime() {
    let lifetime = StdDuration::from_secs(3600);
    let signed_in = operation(OperationStep::SignedIn);
    assert!(!signed_in_expired(
        &signed_in,
        STARTED + Duration::minutes(59),
        lifetime
    ));
    assert!(signed_in_expired(
        &signed_in,
        STARTED + Duration::minutes(60),
        lifetime
    ));
    let attached = operation(OperationStep::Attached);
    assert!(
        !signed_in_expired(&attached, STARTED + Duration::days(1), lifetime),
        "past the sign-in, the token is no longer needed"
    );
}

// --- which certificate a failure discards -----------------------------------------------------

#[test]
fn a_failed_operation_discards_the_certificate_it_holds() {
    let certificate = CertificateId::new();
    let failed = Operation {
        certificate: Some(certificate),
        ..operation(OperationStep::Failed)
    };
    assert_eq!(certificate_to_discard(&failed), Some(certificate));
}

#[test]
fn nothing_is_discarded_without_a_certificate_or_a_failure() {
    assert_eq!(
        certificate_to_discard(&operation(OperationStep::Failed)),
        None
    );
    let certificate = CertificateId::new();
    for step in ALL_STEPS {
        if step == OperationStep::Failed {
            continue;
        }
        let holding = Operation {
            certificate: Some(certificate),
            ..operation(step)
        };
        assert_eq!(certificate_to_discard(&holding), None, "{step:?}");
    }
}

#[test]
fn an_unfinished_rotation_rolls_forward_at_every_step_it_can_stop_at() {
    let later = STARTED + Duration::minutes(5);
    for step in [
        OperationStep::CertificateStored,
        OperationStep::KeyAdded,
        OperationStep::Attached,
    ] {
        let rotation = Operation {
            kind: crate::operation::OperationKind::Rotate,
            sign_in: None,
            ..operation(step)
        };
        assert_eq!(
            resumption(&rotation, holder_at(&rotation, None, STARTED)),
            Resumption::RollRotationForward,
            "{step:?}"
        );
        let theirs = Operation {
            sign_in_holder: Some("instance-a".into()),
            heartbeat_at: Some(STARTED),
            ..rotation.clone()
        };
        assert_eq!(
            resumption(&theirs, holder_at(&theirs, Some("instance-b"), later)),
            Resumption::RollRotationForward,
            "{step:?}, taken over from a silent instance: never ended as interrupted"
        );
        assert_eq!(
            resumption(&theirs, holder_at(&theirs, Some("instance-b"), STARTED)),
            Resumption::LeaveToHolder("instance-a"),
            "{step:?}, while its holder is alive"
        );
    }
}

fn token(roles: Option<&[&str]>) -> ProvenToken {
    ProvenToken {
        roles: roles.map(|roles| roles.iter().map(|r| (*r).to_owned()).collect()),
    }
}

#[test]
fn a_connect_token_without_a_consented_permission_is_consent_pending_naming_it() {
    let connect = ConnectSettings::default();
    let pending = consent_pending(
        OperationKind::Connect,
        &connect,
        &token(Some(&["user.read.all", "Application.ReadWrite.OwnedBy"])),
    )
    .expect("Mail.Read is missing");
    assert_eq!(pending.kind, DirectoryErrorKind::ConsentPending);
    assert!(pending.is_retryable_proof_failure());
    assert!(
        pending.message.contains("does not carry Mail.Read yet"),
        "{}",
        pending.message
    );
    let none_yet = consent_pending(OperationKind::Connect, &connect, &token(Some(&[]))).unwrap();
    assert!(
        none_yet
            .message
            .contains("User.Read.All, Mail.Read, Application.ReadWrite.OwnedBy"),
        "{}",
        none_yet.message
    );
}

#[test]
fn a_token_counts_with_every_permission_unreadable_or_outside_connect() {
    let connect = ConnectSettings::default();
    let all = token(Some(&[
        "Mail.Read",
        "Application.ReadWrite.OwnedBy",
        "User.Read.All",
        "Files.Read.All",
    ]));
    assert_eq!(
        consent_pending(OperationKind::Connect, &connect, &all),
        None
    );
    assert_eq!(
        consent_pending(OperationKind::Connect, &connect, &token(None)),
        None,
        "an opaque token: nothing to judge by"
    );
    for kind in [
        OperationKind::Generate,
        OperationKind::Upload,
        OperationKind::Rotate,
    ] {
        assert_eq!(
            consent_pending(kind, &connect, &token(Some(&[]))),
            None,
            "{kind:?}: an application added by hand has whatever permissions it was given"
        );
    }
}
