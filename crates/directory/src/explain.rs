//! Entra's and Graph's failures as the workflows see them: a [`DirectoryError`] of a kind the
//! workflows act on, with Entra's verbatim text, the entra crate's summary and the service's
//! remediation (the texts that name tenantlink's screens live in `tenantlink_service::remediation`).

use tenantlink_entra::{
    AadstsKind, DeviceFlowError, Error as EntraClientError, GraphErrorKind, KeyRejectionReason,
};
use tenantlink_service::{CredentialRefusal, DirectoryError, DirectoryErrorKind};

/// Entra's verbatim text plus its explanation (summary and the service's remediation), classified
/// for the workflows.
pub(crate) fn explain(err: EntraClientError) -> DirectoryError {
    let explanation = tenantlink_service::remediation::explain(&err);
    let aadsts = |e: &tenantlink_entra::EntraError| e.codes.first().map(|c| format!("AADSTS{c}"));
    let (kind, code) = match &err {
        EntraClientError::DeviceFlow(DeviceFlowError::Declined(e)) => {
            (DirectoryErrorKind::SignInDeclined, aadsts(e))
        }
        EntraClientError::DeviceFlow(DeviceFlowError::Expired(e)) => {
            (DirectoryErrorKind::SignInExpired, aadsts(e))
        }
        EntraClientError::DeviceFlow(DeviceFlowError::ExpiredLocally { .. }) => {
            (DirectoryErrorKind::SignInExpired, None)
        }
        EntraClientError::DeviceFlow(_) => (DirectoryErrorKind::Other, None),
        EntraClientError::Entra(e) => {
            let code = aadsts(e);
            let kind = match &e.kind {
                AadstsKind::AssertionKeyRejected(_) => DirectoryErrorKind::CredentialRejected,
                AadstsKind::ApplicationNotFound => DirectoryErrorKind::ApplicationNotFound,
                _ => DirectoryErrorKind::Other,
            };
            (kind, code)
        }
        EntraClientError::Graph(e) => {
            let kind = match e.kind {
                GraphErrorKind::AuthorizationDenied => DirectoryErrorKind::InsufficientPrivileges,
                GraphErrorKind::CredentialPolicyViolation => DirectoryErrorKind::PolicyRejected,
                GraphErrorKind::NotFound => DirectoryErrorKind::ApplicationNotFound,
                GraphErrorKind::Throttled => DirectoryErrorKind::Unavailable,
                _ => DirectoryErrorKind::Other,
            };
            (kind, Some(e.code.clone()))
        }
        EntraClientError::Transport(_) => (DirectoryErrorKind::Unavailable, None),
        _ => (DirectoryErrorKind::Other, None),
    };
    let explained = DirectoryError::new(
        kind,
        code,
        format!("{} {err}", explanation.summary),
        explanation.remediation,
    );
    match refusal(&err) {
        Some(refusal) => explained.with_refusal(refusal),
        None => explained,
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
