//! The small decisions of the certificate workflows, as pure functions over stored state and
//! `now`: no repository, no directory, no clock read. In the manner of cert-manager's renewal
//! policies, each answers one question and is tested on its own with fixed times; the workflow
//! files ask them in order and do the I/O.

use super::{ConnectSettings, ProofPolicy};
use crate::model::{CertificateId, Organization};
use crate::operation::{Operation, OperationKind, OperationStep};
use crate::ports::{DirectoryError, DirectoryErrorKind, ProvenToken};
use std::time::Duration as StdDuration;
use time::{Duration, OffsetDateTime};

#[cfg(test)]
mod tests;

/// Whether `operation` still waits for a device sign-in whose code has expired, so nobody can
/// complete it any more.
pub(super) fn sign_in_expired(operation: &Operation, now: OffsetDateTime) -> bool {
    operation.step == OperationStep::AwaitingSignIn
        && operation
            .sign_in
            .as_ref()
            .is_some_and(|prompt| prompt.expires_at <= now)
}

/// Whether the organization's active certificate is no longer the one `operation` started from,
/// so its activation (a compare-and-swap from that one) cannot succeed.
pub(super) fn superseded(operation: &Operation, organization: &Organization) -> bool {
    organization.active_certificate != operation.replaces
}

/// Whether an operation at `step` may be cancelled: only before a certificate is on its way to
/// the application. From then on it ends by itself once Entra ID accepts or refuses the key, and
/// cancelling midway would leave a key on the application that tenantlink no longer tracks.
pub(super) fn may_cancel(step: OperationStep) -> bool {
    matches!(
        step,
        OperationStep::AwaitingSignIn | OperationStep::SignedIn
    )
}

/// Whether the next move from `step` needs the device code or the delegated token, which live
/// only in the memory of the instance holding the sign-in (Connect registers with the token
/// until its owner is added).
pub(super) fn needs_sign_in_secrets(step: OperationStep) -> bool {
    matches!(
        step,
        OperationStep::AwaitingSignIn | OperationStep::SignedIn
    ) || is_registering(step)
}

/// Whether `step` is one of Connect's registration steps (before its certificate exists).
pub(super) fn is_registering(step: OperationStep) -> bool {
    matches!(
        step,
        OperationStep::ApplicationCreated
            | OperationStep::ServicePrincipalCreated
            | OperationStep::PermissionsGranted
            | OperationStep::OwnerAdded
    )
}

/// The other instance holding `operation`'s sign-in secrets, if that is not `this_instance`.
/// Operations without a recorded holder count as this instance's (the behaviour before holders
/// were recorded), so a restart still ends them as lost.
pub(super) fn held_elsewhere<'a>(
    operation: &'a Operation,
    this_instance: Option<&str>,
) -> Option<&'a str> {
    let holder = operation.sign_in_holder.as_deref()?;
    (this_instance != Some(holder)).then_some(holder)
}

/// Whether the token endpoint may be asked about a device sign-in again: Entra answers
/// `slow_down` (and may throttle the tenant) when asked more often than its interval.
pub(super) fn device_code_poll_due(next_poll_at: OffsetDateTime, now: OffsetDateTime) -> bool {
    next_poll_at <= now
}

/// When the token endpoint may be asked next after asking at `now`. An interval too large to
/// represent falls back to Entra's usual 5 seconds rather than never polling again.
pub(super) fn next_device_code_poll(now: OffsetDateTime, interval: StdDuration) -> OffsetDateTime {
    now + Duration::try_from(interval).unwrap_or(Duration::seconds(5))
}

/// How long to wait before proof attempt `attempt + 1` after attempt `attempt` failed with
/// `err`; `None` when the proof should stop: the refusal will not change by waiting, or the
/// attempts are used up. A new key takes a while to propagate through Entra ID, so the first
/// refusals are expected; the backoff is bounded so a key that never works ends the operation.
pub(super) fn proof_retry_delay(
    policy: &ProofPolicy,
    err: &DirectoryError,
    attempt: u32,
) -> Option<StdDuration> {
    if !err.is_retryable_proof_failure() || attempt >= policy.attempts {
        return None;
    }
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    Some(
        policy
            .first_delay
            .saturating_mul(factor)
            .min(policy.max_delay),
    )
}

/// For a Connect proof, why the issued `token` does not count yet: it lacks some of the
/// permissions Connect consented (`connect.permissions`), because Entra issues tokens without a
/// consent that is still propagating, and a backup run with such a token would be refused.
/// `None` when it counts: another kind of operation (its permissions are not tenantlink's to
/// know), every permission present, or a token that cannot be read (nothing to judge by, so
/// the lenient answer).
pub(super) fn consent_pending(
    kind: OperationKind,
    connect: &ConnectSettings,
    token: &ProvenToken,
) -> Option<DirectoryError> {
    if kind != OperationKind::Connect {
        return None;
    }
    let roles = token.roles.as_ref()?;
    let missing: Vec<&str> = connect
        .permissions
        .iter()
        .filter(|wanted| !roles.iter().any(|role| role.eq_ignore_ascii_case(wanted)))
        .map(String::as_str)
        .collect();
    (!missing.is_empty()).then(|| {
        DirectoryError::new(
            DirectoryErrorKind::ConsentPending,
            None,
            format!(
                "The app-only token does not carry {} yet: the admin consent is still propagating through Entra ID.",
                missing.join(", ")
            ),
            "Wait a few minutes and Reconnect the organization; if it persists, check the application's permissions in the Microsoft Entra admin center (Enterprise applications → the backup application → Permissions).",
        )
    })
}

/// Who carries an unfinished operation, as seen from `this_instance` at `now`.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Holder<'a> {
    /// This instance (or nobody recorded: the single-instance behaviour).
    ThisInstance,
    /// Another instance that sent a heartbeat within `stale_after`.
    Live(&'a str),
    /// Another instance silent for longer than `stale_after`: killed, or cut off from the
    /// database. Its operation may be taken over or abandoned.
    Gone(&'a str),
}

pub(super) fn holder<'a>(
    operation: &'a Operation,
    this_instance: Option<&str>,
    now: OffsetDateTime,
    stale_after: StdDuration,
) -> Holder<'a> {
    match held_elsewhere(operation, this_instance) {
        None => Holder::ThisInstance,
        Some(other) if holder_gone(operation.heartbeat_at, now, stale_after) => Holder::Gone(other),
        Some(other) => Holder::Live(other),
    }
}

/// Whether a holder whose last heartbeat was at `heartbeat_at` is gone at `now`. No heartbeat
/// at all (an operation recorded before heartbeats existed) counts as gone: no running
/// instance would leave its operation without one for long.
pub(super) fn holder_gone(
    heartbeat_at: Option<OffsetDateTime>,
    now: OffsetDateTime,
    stale_after: StdDuration,
) -> bool {
    let Some(beat) = heartbeat_at else {
        return true;
    };
    let stale_after = Duration::try_from(stale_after).unwrap_or(Duration::MAX);
    // Beyond the representable range means never stale.
    beat.checked_add(stale_after)
        .is_some_and(|until| until <= now)
}

/// Whether a signed-in operation has waited so long for its next step (Generate, or the upload)
/// that its delegated token must not be used any more: the token expires with the operation.
pub(super) fn signed_in_expired(
    operation: &Operation,
    now: OffsetDateTime,
    lifetime: StdDuration,
) -> bool {
    let lifetime = Duration::try_from(lifetime).unwrap_or(Duration::MAX);
    operation.step == OperationStep::SignedIn
        && operation
            .updated_at
            .checked_add(lifetime)
            .is_some_and(|until| until <= now)
}

/// Why an administrator may not abandon an operation, if they may not.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum AbandonRefusal<'a> {
    Finished,
    /// Its holder is alive and carries it: cancel it there, or wait.
    Carried(&'a str),
    /// A task of this instance carries it right now.
    RunningHere,
}

/// Whether an administrator may end `operation` as abandoned: only when nothing carries it any
/// more (its holder is gone, or it is this instance's and no task of ours runs it). Safe even
/// against a holder that comes back: the activation is a compare-and-swap on the version,
/// which abandoning changes.
pub(super) fn may_abandon<'a>(
    operation: &'a Operation,
    holder: Holder<'a>,
    running_here: bool,
) -> Result<(), AbandonRefusal<'a>> {
    if operation.is_finished() {
        return Err(AbandonRefusal::Finished);
    }
    match holder {
        Holder::Live(other) => Err(AbandonRefusal::Carried(other)),
        Holder::ThisInstance if running_here => Err(AbandonRefusal::RunningHere),
        Holder::ThisInstance | Holder::Gone(_) => Ok(()),
    }
}

/// What an instance does with an unfinished operation it finds at start-up or in its sweep.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Resumption<'a> {
    /// Another live instance carries it, sign-in secrets and all.
    LeaveToHolder(&'a str),
    /// It waited for the sign-in, whose secrets died with the process holding them.
    EndInterrupted,
    /// Its certificate may be on the application: a successful token proof shows it is (the
    /// attach may or may not have reached Graph), a refused one fails it cleanly.
    ProveAndActivate,
    /// A rotation: it needs no delegated secrets, so it rolls forward from its stored step
    /// (reading the application first where addKey may or may not have reached Graph).
    RollRotationForward,
    /// Nothing to do (already finished).
    Nothing,
}

/// What to do with `operation` given who holds it. An operation of a gone holder is treated
/// like this instance's own (after the caller took it over by compare-and-swap).
pub(super) fn resumption<'a>(operation: &'a Operation, holder: Holder<'a>) -> Resumption<'a> {
    if let Holder::Live(other) = holder {
        return Resumption::LeaveToHolder(other);
    }
    match operation.step {
        OperationStep::CertificateStored | OperationStep::KeyAdded | OperationStep::Attached
            if operation.kind == OperationKind::Rotate =>
        {
            Resumption::RollRotationForward
        }
        OperationStep::AwaitingSignIn | OperationStep::SignedIn => Resumption::EndInterrupted,
        // Registration goes on with the delegated token only; what it made is reused by the
        // next Connect (found by marker), so ending it loses nothing.
        OperationStep::ApplicationCreated
        | OperationStep::ServicePrincipalCreated
        | OperationStep::PermissionsGranted
        | OperationStep::OwnerAdded => Resumption::EndInterrupted,
        OperationStep::CertificateStored | OperationStep::KeyAdded | OperationStep::Attached => {
            Resumption::ProveAndActivate
        }
        OperationStep::Succeeded | OperationStep::Failed | OperationStep::Cancelled => {
            Resumption::Nothing
        }
    }
}

/// The certificate to discard once `operation` is stored as failed: the one it created or
/// uploaded, which never became active (activation and success are one compare-and-swap, so a
/// failed operation's certificate was never the organization's). Discarding tells the store it
/// never will, and frees its thumbprint so the same file can be uploaded again (the store keeps
/// one live certificate per thumbprint).
pub(super) fn certificate_to_discard(operation: &Operation) -> Option<CertificateId> {
    (operation.step == OperationStep::Failed)
        .then_some(operation.certificate)
        .flatten()
}
