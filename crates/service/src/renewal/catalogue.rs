//! What a Graph or Entra refusal means for renewal: whether trying again can help, and what an
//! administrator should do. A pure table over the error's kind and its Graph/AADSTS code, so the
//! rotation workflow, the renewal state and the certificate page all explain one refusal alike.
//!
//! The code is looked at first: an adapter may map a code it does not know to `Other`, but
//! `Directory_ResourceSizeExceeded` means too many keys whatever kind it arrived as.

use crate::ports::{DirectoryError, DirectoryErrorKind};

/// How many failed rotations in a row a refused new key (`CredentialRejected` after the proof's
/// own propagation retries) is tried again before an administrator is asked to look: Entra has
/// been seen to take 18 s, never hours, so a key refused across several attempts will not work.
pub const CREDENTIAL_REJECTED_ATTEMPTS: u32 = 3;

/// One line of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatalogueEntry {
    /// Whether a later attempt (after the backoff, and after `Retry-After` when given) can help.
    pub retryable: bool,
    /// When retryable only a few times: the attempts after which it no longer is.
    pub retry_limit: Option<u32>,
    /// What to do about it, in a sentence or two, for the administrator.
    pub what_to_do: &'static str,
}

impl CatalogueEntry {
    /// Whether the failure that makes `failed_attempts` in a row is still worth retrying.
    pub fn retryable_after(&self, failed_attempts: u32) -> bool {
        self.retryable && self.retry_limit.is_none_or(|limit| failed_attempts < limit)
    }
}

const THROTTLED: CatalogueEntry = CatalogueEntry {
    retryable: true,
    retry_limit: None,
    what_to_do: "Microsoft Graph asked tenantlink to slow down; the rotation is tried again after the time it asked to wait. Nothing to do unless it keeps happening (then fewer rotations in flight help: renewal max_in_flight).",
};
const UNAVAILABLE: CatalogueEntry = CatalogueEntry {
    retryable: true,
    retry_limit: None,
    what_to_do: "Microsoft Entra ID or Graph could not be reached or answered with a server error; the rotation is tried again with backoff. Nothing to do unless it keeps happening.",
};
const QUOTA_EXCEEDED: CatalogueEntry = CatalogueEntry {
    retryable: false,
    retry_limit: None,
    what_to_do: "The application holds too many keys (Directory_ResourceSizeExceeded). Remove unused certificates and secrets of the application in the Microsoft Entra admin center (App registrations → Certificates & secrets), then rotate again.",
};
const POLICY_REJECTED: CatalogueEntry = CatalogueEntry {
    retryable: false,
    retry_limit: None,
    what_to_do: "A policy of the tenant refused the new certificate: its lifetime is longer than the tenant's app-management policy allows, or the tenant requires certificates from a trusted certificate authority. Shorten lifetime_days in the renewal policy below the tenant's maximum (and set tenant_max_lifetime_days), or upload a CA-issued certificate.",
};
const PROOF_REJECTED: CatalogueEntry = CatalogueEntry {
    retryable: false,
    retry_limit: None,
    what_to_do: "Graph refused the proof signed by the active certificate: the application no longer lists it as a valid key, so tenantlink cannot add a key by itself. Generate or upload a certificate while signed in as an administrator of the tenant.",
};
const INSUFFICIENT_PRIVILEGES: CatalogueEntry = CatalogueEntry {
    retryable: false,
    retry_limit: None,
    what_to_do: "The directory refused the request for lack of permission. Check that the application may read and roll its own keys (no permission is needed for its own addKey; reading it app-only needs Application.ReadWrite.OwnedBy with the application as its own owner), then rotate again.",
};
const CREDENTIAL_REJECTED: CatalogueEntry = CatalogueEntry {
    retryable: true,
    retry_limit: Some(CREDENTIAL_REJECTED_ATTEMPTS),
    what_to_do: "Entra ID refused an app-only token with the certificate even after waiting for the key to propagate. tenantlink tries a few more times; if it keeps failing, check the application's certificates in the Microsoft Entra admin center, or generate a certificate while signed in.",
};
const CONSENT_PENDING: CatalogueEntry = CatalogueEntry {
    retryable: true,
    retry_limit: Some(CREDENTIAL_REJECTED_ATTEMPTS),
    what_to_do: "Entra ID issued tokens without some of the application permissions consented for the backup application, even after waiting for the consent to propagate. Check the application's permissions in the Microsoft Entra admin center (Enterprise applications → the backup application → Permissions), then Reconnect the organization.",
};
const APPLICATION_NOT_FOUND: CatalogueEntry = CatalogueEntry {
    retryable: false,
    retry_limit: None,
    what_to_do: "The application was not found in the tenant. Check the organization's application id, or whether the app registration was deleted.",
};
const SIGN_IN: CatalogueEntry = CatalogueEntry {
    retryable: false,
    retry_limit: None,
    what_to_do: "Rotation needs no sign-in; this answer is unexpected. Generate or upload a certificate while signed in as an administrator of the tenant.",
};
const OTHER: CatalogueEntry = CatalogueEntry {
    retryable: true,
    retry_limit: None,
    what_to_do: "Microsoft Entra ID or Graph refused the request for a reason tenantlink does not know; it is tried again with backoff. If it keeps failing, read the message and check the application in the Microsoft Entra admin center.",
};

/// The catalogue's answer for `err`.
pub fn catalogue_entry(err: &DirectoryError) -> CatalogueEntry {
    entry_for(err.kind, err.code.as_deref())
}

/// The catalogue's answer for a kind and a Graph/AADSTS code.
pub fn entry_for(kind: DirectoryErrorKind, code: Option<&str>) -> CatalogueEntry {
    if let Some(entry) = code.and_then(entry_for_code) {
        return entry;
    }
    match kind {
        DirectoryErrorKind::Throttled => THROTTLED,
        DirectoryErrorKind::Unavailable => UNAVAILABLE,
        DirectoryErrorKind::QuotaExceeded => QUOTA_EXCEEDED,
        DirectoryErrorKind::PolicyRejected => POLICY_REJECTED,
        DirectoryErrorKind::ProofRejected => PROOF_REJECTED,
        DirectoryErrorKind::InsufficientPrivileges => INSUFFICIENT_PRIVILEGES,
        DirectoryErrorKind::CredentialRejected => CREDENTIAL_REJECTED,
        DirectoryErrorKind::ConsentPending => CONSENT_PENDING,
        DirectoryErrorKind::ApplicationNotFound => APPLICATION_NOT_FOUND,
        DirectoryErrorKind::SignInDeclined
        | DirectoryErrorKind::SignInExpired
        | DirectoryErrorKind::SignInBlocked
        | DirectoryErrorKind::CodeRefused => SIGN_IN,
        DirectoryErrorKind::Other => OTHER,
    }
}

/// What to do about a failure as the renewal state recorded it (its `code`: Graph's or
/// Entra's code, or the kind's word when there was none), for the certificate page.
pub fn what_to_do_for_recorded(code: &str) -> Option<&'static str> {
    entry_for_code(code)
        .or_else(|| kind_from_word(code).map(|kind| entry_for(kind, None)))
        .map(|entry| entry.what_to_do)
}

/// The kind's stable word, as operation failures and the renewal state record it when Graph
/// gave no code.
pub fn kind_word(kind: DirectoryErrorKind) -> &'static str {
    match kind {
        DirectoryErrorKind::SignInDeclined => "sign_in_declined",
        DirectoryErrorKind::SignInExpired => "sign_in_expired",
        DirectoryErrorKind::InsufficientPrivileges => "insufficient_privileges",
        DirectoryErrorKind::PolicyRejected => "policy_rejected",
        DirectoryErrorKind::CredentialRejected => "credential_rejected",
        DirectoryErrorKind::ApplicationNotFound => "application_not_found",
        DirectoryErrorKind::Unavailable => "directory_unavailable",
        DirectoryErrorKind::Throttled => "directory_throttled",
        DirectoryErrorKind::QuotaExceeded => "directory_quota_exceeded",
        DirectoryErrorKind::ProofRejected => "proof_rejected",
        DirectoryErrorKind::SignInBlocked => "sign_in_blocked",
        DirectoryErrorKind::CodeRefused => "code_refused",
        DirectoryErrorKind::ConsentPending => "consent_pending",
        DirectoryErrorKind::Other => "directory_error",
    }
}

const ALL_KINDS: [DirectoryErrorKind; 14] = [
    DirectoryErrorKind::SignInBlocked,
    DirectoryErrorKind::CodeRefused,
    DirectoryErrorKind::SignInDeclined,
    DirectoryErrorKind::SignInExpired,
    DirectoryErrorKind::InsufficientPrivileges,
    DirectoryErrorKind::PolicyRejected,
    DirectoryErrorKind::CredentialRejected,
    DirectoryErrorKind::ApplicationNotFound,
    DirectoryErrorKind::Unavailable,
    DirectoryErrorKind::Throttled,
    DirectoryErrorKind::QuotaExceeded,
    DirectoryErrorKind::ProofRejected,
    DirectoryErrorKind::ConsentPending,
    DirectoryErrorKind::Other,
];

fn kind_from_word(word: &str) -> Option<DirectoryErrorKind> {
    ALL_KINDS.into_iter().find(|kind| kind_word(*kind) == word)
}

/// The codes whose meaning does not depend on how the adapter classified them.
fn entry_for_code(code: &str) -> Option<CatalogueEntry> {
    let entry = match code {
        "Directory_ResourceSizeExceeded" => QUOTA_EXCEEDED,
        "Authentication_MissingOrMalformed" => PROOF_REJECTED,
        "Authorization_RequestDenied" => INSUFFICIENT_PRIVILEGES,
        // The legacy directory's throttling code, and the 429 codes Graph has been seen to use.
        "Request_ThrottledTemporarily" | "TooManyRequests" => THROTTLED,
        "Request_ResourceNotFound" => APPLICATION_NOT_FOUND,
        _ => return None,
    };
    Some(entry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn error(kind: DirectoryErrorKind, code: Option<&str>) -> DirectoryError {
        DirectoryError::new(kind, code.map(str::to_owned), "refused", "adapter's advice")
    }

    #[test]
    fn throttling_is_retried_and_keeps_its_retry_after() {
        let err =
            error(DirectoryErrorKind::Throttled, None).with_retry_after(Duration::from_secs(30));
        let entry = catalogue_entry(&err);
        assert!(entry.retryable && entry.retry_limit.is_none());
        assert!(entry.what_to_do.contains("slow down"));
        assert_eq!(err.retry_after, Some(Duration::from_secs(30)));
        for code in ["Request_ThrottledTemporarily", "TooManyRequests"] {
            assert_eq!(
                entry_for(DirectoryErrorKind::Other, Some(code)),
                THROTTLED,
                "{code}"
            );
        }
    }

    #[test]
    fn an_outage_is_retried() {
        let entry = catalogue_entry(&error(DirectoryErrorKind::Unavailable, None));
        assert!(entry.retryable_after(100));
    }

    #[test]
    fn too_many_keys_is_not_retried_and_says_to_remove_unused_keys() {
        for kind in [DirectoryErrorKind::QuotaExceeded, DirectoryErrorKind::Other] {
            let entry = catalogue_entry(&error(kind, Some("Directory_ResourceSizeExceeded")));
            assert!(!entry.retryable, "{kind:?}");
            assert!(entry.what_to_do.contains("Remove unused"), "{kind:?}");
        }
        assert_eq!(
            entry_for(DirectoryErrorKind::QuotaExceeded, None),
            QUOTA_EXCEEDED
        );
    }

    #[test]
    fn a_tenant_policy_refusal_is_not_retried_and_names_both_fixes() {
        let entry = catalogue_entry(&error(DirectoryErrorKind::PolicyRejected, None));
        assert!(!entry.retryable_after(0));
        assert!(entry.what_to_do.contains("lifetime_days"));
        assert!(entry.what_to_do.contains("CA-issued"));
    }

    #[test]
    fn a_refused_proof_of_the_active_certificate_needs_an_administrator() {
        for (kind, code) in [
            (DirectoryErrorKind::ProofRejected, None),
            (
                DirectoryErrorKind::Other,
                Some("Authentication_MissingOrMalformed"),
            ),
        ] {
            let entry = catalogue_entry(&error(kind, code));
            assert!(!entry.retryable, "{kind:?}");
            assert!(entry.what_to_do.contains("Generate or upload"));
        }
    }

    #[test]
    fn missing_privileges_are_not_retried() {
        for (kind, code) in [
            (DirectoryErrorKind::InsufficientPrivileges, None),
            (
                DirectoryErrorKind::Other,
                Some("Authorization_RequestDenied"),
            ),
        ] {
            assert_eq!(catalogue_entry(&error(kind, code)), INSUFFICIENT_PRIVILEGES);
        }
    }

    #[test]
    fn a_refused_new_key_is_retried_only_a_few_times() {
        let entry = catalogue_entry(&error(
            DirectoryErrorKind::CredentialRejected,
            Some("AADSTS700027"),
        ));
        assert!(entry.retryable);
        assert!(entry.retryable_after(1));
        assert!(entry.retryable_after(CREDENTIAL_REJECTED_ATTEMPTS - 1));
        assert!(!entry.retryable_after(CREDENTIAL_REJECTED_ATTEMPTS));
    }

    #[test]
    fn an_unknown_refusal_is_retried_cautiously() {
        let entry = catalogue_entry(&error(DirectoryErrorKind::Other, Some("Something_New")));
        assert_eq!(entry, OTHER);
        assert!(entry.retryable_after(10));
    }

    #[test]
    fn a_missing_application_and_sign_in_answers_are_not_retried() {
        for kind in [
            DirectoryErrorKind::ApplicationNotFound,
            DirectoryErrorKind::SignInDeclined,
            DirectoryErrorKind::SignInExpired,
        ] {
            assert!(!catalogue_entry(&error(kind, None)).retryable, "{kind:?}");
        }
    }

    #[test]
    fn a_recorded_code_or_kind_word_finds_its_advice_again() {
        assert_eq!(
            what_to_do_for_recorded("Directory_ResourceSizeExceeded"),
            Some(QUOTA_EXCEEDED.what_to_do)
        );
        for kind in ALL_KINDS {
            assert_eq!(
                what_to_do_for_recorded(kind_word(kind)),
                Some(entry_for(kind, None).what_to_do),
                "{kind:?}"
            );
        }
        assert_eq!(what_to_do_for_recorded("generate_failed"), None);
    }
}
