//! Entra's and Graph's failures as the workflows see them: a [`DirectoryError`] of a kind the
//! workflows act on, with Graph's (or Entra's) code verbatim, its text, the wait it asked for,
//! and what to do (the texts that name tenantlink's screens live in
//! `tenantlink_service::remediation`; the rotation's own in [`crate::remediations`]).
//!
//! This only classifies. Whether a kind is worth another attempt, and when, is the service's
//! decision (its renewal catalogue); `retry_after` is passed on as Graph gave it.

use crate::remediations;
use tenantlink_entra::{
    AadstsKind, DeviceFlowError, Error as EntraClientError, GraphError, GraphErrorKind,
    KeyRejectionReason, PolicyRestriction,
};
use tenantlink_service::{CredentialRefusal, DirectoryError, DirectoryErrorKind};

/// AADSTS7000229: the application has no service principal the token endpoint knows yet.
const MISSING_SERVICE_PRINCIPAL: u64 = 7000229;

/// Which call failed: the same Graph answer means different things (a refused token on a read,
/// a refused proof on addKey) and needs a different remedy (a delegated administrator has other
/// permissions than the application itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Call {
    /// Sign-in, reads and writes with an administrator's delegated token.
    Delegated,
    /// The app-only token and the application's read of itself.
    AppOnly,
    /// addKey / removeKey, proven by a certificate of the application.
    KeyWrite,
}

/// A failure of a delegated call (sign-in, attach) or of the token proof.
pub(crate) fn explain(err: EntraClientError) -> DirectoryError {
    explain_call(err, Call::Delegated)
}

/// Entra's verbatim text plus its explanation, classified for the workflows.
pub(crate) fn explain_call(err: EntraClientError, call: Call) -> DirectoryError {
    let explanation = tenantlink_service::remediation::explain(&err);
    let (kind, code, retry_after, remediation) = match &err {
        EntraClientError::Graph(e) => {
            let kind = graph_kind(e, call);
            let code = (!e.code.is_empty()).then(|| e.code.clone());
            let remediation = rotation_remediation(e, kind);
            (kind, code, e.retry_after, remediation)
        }
        EntraClientError::Entra(e) => {
            let kind = match (&e.kind, e.http_status) {
                (_, 429) => DirectoryErrorKind::Throttled,
                (_, 500..=599) => DirectoryErrorKind::Unavailable,
                (AadstsKind::AssertionKeyRejected(_), _) => DirectoryErrorKind::CredentialRejected,
                // "missing service principal in the tenant": right after Connect created it,
                // the service principal is still propagating to the token endpoint.
                _ if e.codes.contains(&MISSING_SERVICE_PRINCIPAL) => {
                    DirectoryErrorKind::CredentialRejected
                }
                (AadstsKind::ApplicationNotFound, _) => DirectoryErrorKind::ApplicationNotFound,
                (AadstsKind::BlockedByConditionalAccess, _) => DirectoryErrorKind::SignInBlocked,
                (
                    AadstsKind::AuthorizationCodeReplayed
                    | AadstsKind::AuthorizationCodeExpired
                    | AadstsKind::PkceVerifierMismatch,
                    _,
                ) => DirectoryErrorKind::CodeRefused,
                _ => DirectoryErrorKind::Other,
            };
            let remediation = match kind {
                DirectoryErrorKind::Throttled => Some(remediations::THROTTLED),
                DirectoryErrorKind::Unavailable => Some(remediations::UNAVAILABLE),
                _ => None,
            };
            (kind, aadsts(e), e.retry_after, remediation)
        }
        EntraClientError::DeviceFlow(e) => (device_flow_kind(e), device_flow_code(e), None, None),
        EntraClientError::Transport(_) => (
            DirectoryErrorKind::Unavailable,
            None,
            None,
            Some(remediations::UNAVAILABLE),
        ),
        _ => (DirectoryErrorKind::Other, None, None, None),
    };
    // An administrator at the Generate workflow gets the service's texts, which name that
    // workflow's screens; the rotation's remedies are for the calls nobody is watching.
    let remediation = remediation.filter(|_| call != Call::Delegated);
    let mut explained = DirectoryError::new(
        kind,
        code,
        format!("{} {err}", explanation.summary),
        remediation.unwrap_or(explanation.remediation),
    );
    explained.retry_after = retry_after;
    match refusal(&err) {
        Some(refusal) => explained.with_refusal(refusal),
        None => explained,
    }
}

fn graph_kind(e: &GraphError, call: Call) -> DirectoryErrorKind {
    if e.is_throttled() {
        return DirectoryErrorKind::Throttled;
    }
    if e.is_unavailable() {
        return DirectoryErrorKind::Unavailable;
    }
    if e.is_quota_exceeded() {
        return DirectoryErrorKind::QuotaExceeded;
    }
    match e.kind {
        GraphErrorKind::AuthorizationDenied => DirectoryErrorKind::InsufficientPrivileges,
        GraphErrorKind::CredentialPolicyViolation => DirectoryErrorKind::PolicyRejected,
        GraphErrorKind::NotFound => DirectoryErrorKind::ApplicationNotFound,
        // On addKey/removeKey the bearer token was just issued; what Graph refuses is the proof.
        GraphErrorKind::MissingOrMalformedToken if call == Call::KeyWrite => {
            DirectoryErrorKind::ProofRejected
        }
        _ => DirectoryErrorKind::Other,
    }
}

/// The rotation's own remedy where the general one (written for an administrator at the
/// Generate workflow) would point the wrong way; `None` keeps the general one.
fn rotation_remediation(e: &GraphError, kind: DirectoryErrorKind) -> Option<&'static str> {
    match kind {
        DirectoryErrorKind::Throttled => Some(remediations::THROTTLED),
        DirectoryErrorKind::Unavailable => Some(remediations::UNAVAILABLE),
        DirectoryErrorKind::QuotaExceeded => Some(remediations::QUOTA_EXCEEDED),
        DirectoryErrorKind::ProofRejected => Some(remediations::PROOF_REJECTED),
        DirectoryErrorKind::PolicyRejected => Some(match e.policy_restriction() {
            Some(PolicyRestriction::KeyLifetime) => remediations::POLICY_KEY_LIFETIME,
            Some(PolicyRestriction::TrustedCertificateAuthority) => remediations::POLICY_TRUSTED_CA,
            _ => remediations::POLICY_OTHER,
        }),
        DirectoryErrorKind::InsufficientPrivileges => Some(remediations::APP_ONLY_PRIVILEGES),
        _ => None,
    }
}

fn aadsts(e: &tenantlink_entra::EntraError) -> Option<String> {
    e.codes.first().map(|c| format!("AADSTS{c}"))
}

fn device_flow_kind(e: &DeviceFlowError) -> DirectoryErrorKind {
    match e {
        DeviceFlowError::Declined(_) => DirectoryErrorKind::SignInDeclined,
        DeviceFlowError::Expired(_) | DeviceFlowError::ExpiredLocally { .. } => {
            DirectoryErrorKind::SignInExpired
        }
        _ => DirectoryErrorKind::Other,
    }
}

fn device_flow_code(e: &DeviceFlowError) -> Option<String> {
    match e {
        DeviceFlowError::Declined(e) | DeviceFlowError::Expired(e) => aadsts(e),
        _ => None,
    }
}

/// AADSTS700027's reason, which tells "not attached" from "expired" on the certificate page.
fn refusal(err: &EntraClientError) -> Option<CredentialRefusal> {
    let EntraClientError::Entra(e) = err else {
        return None;
    };
    let AadstsKind::AssertionKeyRejected(rejection) = &e.kind else {
        return None;
    };
    Some(match rejection.reason {
        KeyRejectionReason::KeyNotFound => CredentialRefusal::KeyNotRegistered,
        KeyRejectionReason::KeyExpired => CredentialRefusal::KeyExpired,
        _ => CredentialRefusal::Other,
    })
}

#[cfg(test)]
#[path = "explain_tests.rs"]
mod tests;
