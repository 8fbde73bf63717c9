//! What an administrator should do about an Entra ID or Graph failure, naming tenantlink's own
//! screens (Settings → System → SSL Certificate, the Organizations page, an organization's
//! assertion profile) and the Entra admin center's. The entra client knows what a failure means
//! (its kinds and one-sentence summaries) but not tenantlink's screens; the texts that name them
//! belong here, keyed by the client's error kinds. The portal, the job log and the CLI all show
//! these same texts.

use tenantlink_entra::{
    AadstsKind, DeviceFlowError, EntraError, Error, GraphErrorKind, KeyRejectionReason,
    KeyUpdateError, TransportError,
};

/// A plain-language account of an error: what it means and what the administrator should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    pub summary: &'static str,
    pub remediation: &'static str,
}

/// The summary (from the client) and the remediation (from here) of any client error.
pub fn explain(error: &Error) -> Explanation {
    Explanation {
        summary: error.summary(),
        remediation: remediation(error),
    }
}

/// The same for an Entra error body on its own (backup's run report reads those).
pub fn explain_entra(error: &EntraError) -> Explanation {
    Explanation {
        summary: error.summary(),
        remediation: aadsts(&error.kind),
    }
}

/// What to do about `error`.
pub fn remediation(error: &Error) -> &'static str {
    match error {
        Error::Endpoint(_) => {
            "Check the organization's cloud or authority URL in Settings → System and correct it."
        }
        Error::Transport(e) => transport(e),
        Error::Entra(e) => aadsts(&e.kind),
        Error::Graph(e) => graph(e.kind),
        Error::DeviceFlow(e) => device_flow(e),
        Error::Credential(_) => {
            "Generate a new certificate in Settings → System → SSL Certificate, or upload a valid RSA certificate of at least 2048 bits."
        }
        Error::KeyUpdate(e) => key_update(e),
        Error::UnexpectedResponse { .. } => {
            "Retry later; if it persists, send the job log (it holds the request id) to support."
        }
    }
}

fn transport(error: &TransportError) -> &'static str {
    match error {
        TransportError::CaFile { .. } | TransportError::Client(_) => {
            "Point the CA file setting at a readable PEM file of CA certificates."
        }
        _ => {
            "Check this server's network, proxy and firewall access to the Microsoft endpoints, then retry."
        }
    }
}

fn aadsts(kind: &AadstsKind) -> &'static str {
    const NEW_CERT: &str = "Generate a new certificate in Settings → System → SSL Certificate (or upload one that is attached to the app registration).";
    match kind {
        AadstsKind::AssertionKeyRejected(r) => match r.reason {
            KeyRejectionReason::KeyExpired => {
                "Generate a new certificate in Settings → System → SSL Certificate."
            }
            KeyRejectionReason::KeyNotFound => NEW_CERT,
            KeyRejectionReason::SignatureMismatch | KeyRejectionReason::Unknown => {
                "Check that the uploaded .pfx holds the private key of the attached certificate, or generate a new certificate in Settings → System → SSL Certificate."
            }
        },
        AadstsKind::AssertionOutsideTimeRange => {
            "Compare the server's clock with the \"Current time\" in Entra's message, synchronise it with NTP (on Linux `timedatectl` shows whether it is synchronised), then retry the job."
        }
        AadstsKind::ApplicationNotFound => {
            "Compare the tenant and application (client) id shown for this organization on the Organizations page with Entra ID → App registrations → <app> → Overview (Application (client) ID, Directory (tenant) ID); if the app is registered in another tenant, an administrator of this tenant must grant it admin consent so that it appears under Entra ID → Enterprise applications."
        }
        AadstsKind::TenantNotFound => {
            "Compare the tenant and cloud shown for this organization on the Organizations page with Entra ID → Overview (Tenant ID, primary domain) of the intended tenant; a US Government or China tenant needs that cloud, not the global one."
        }
        AadstsKind::WeakRsaKey => {
            "Generate a new certificate in Settings → System → SSL Certificate (tenantlink uses 2048 bits or more)."
        }
        AadstsKind::NoKeyIdentifierInAssertion => {
            "Switch the organization's assertion profile to RS256 (x5t) under Assertion profile on the organization's page (Organizations → <organization>) and report the problem to support."
        }
        AadstsKind::UnsupportedSigningAlgorithm => {
            "Switch the organization's assertion profile (RS256 or PS256) under Assertion profile on the organization's page (Organizations → <organization>), then check the connection again."
        }
        AadstsKind::InvalidClientSecret => {
            "tenantlink signs with the certificate on the certificate page (Settings → System → SSL Certificate); generate one there if none is attached. A tool that does use a secret must send its Value, not its Secret ID (Entra ID → App registrations → <app> → Certificates & secrets → Client secrets)."
        }
        AadstsKind::ClientSecretExpired => {
            "Generate a certificate on the certificate page (Settings → System → SSL Certificate) so tenantlink signs with it, and remove or renew the expired secrets in Entra ID → App registrations → <app> → Certificates & secrets → Client secrets."
        }
        AadstsKind::BlockedByConditionalAccess => {
            "In Entra ID → Monitoring & health → Sign-in logs, find the failed sign-in by the correlation id in Entra's message and open its Conditional Access tab to see which policy blocked it; an administrator can exclude this account or application from that policy (Entra ID → Protection → Conditional Access → Policies). Without device sign-in: attach the certificate in Entra ID → App registrations → <app> → Certificates & secrets → Certificates → Upload certificate, then use Upload a custom certificate on the certificate page (Settings → System → SSL Certificate)."
        }
        AadstsKind::ConsentRequired => {
            "An administrator opens Entra ID → Enterprise applications → <the application named in Entra's message> → Permissions and selects Grant admin consent for the tenant (or Entra ID → App registrations → <app> → API permissions → Grant admin consent), covering the permissions listed there, then starts the sign-in or job again."
        }
        AadstsKind::MfaRequired => {
            "Start the sign-in again and complete the multi-factor prompt at the verification page; if none appears, find the sign-in by the correlation id in Entra ID → Monitoring & health → Sign-in logs, whose Conditional Access tab names the policy that requires it."
        }
        AadstsKind::MfaRegistrationRequired => {
            "Sign in with that account at My Sign-Ins → Security info (https://aka.ms/mysecurityinfo) and add a method, or have an administrator set one in Entra ID → Users → <user> → Authentication methods; then start the sign-in again."
        }
        AadstsKind::UserNotAssigned => {
            "An administrator assigns the account, or a group it is a direct member of, in Entra ID → Enterprise applications → <the application named in Entra's message> → Users and groups → Add user/group (or sets Properties → Assignment required to No); then start the sign-in again."
        }
        AadstsKind::UserFromOtherTenant => {
            "Start the sign-in again and, at the verification page, sign in with a work account of the organization's tenant (the tenant shown for this organization on the Organizations page); use a private browser window if another account is signed in there already."
        }
        AadstsKind::ResourceNotFound => {
            "Check that the cloud and tenant shown for this organization on the Organizations page match the tenant's Entra ID → Overview (a US Government or China tenant needs that cloud's Graph); if they do, an administrator selects Grant admin consent in Entra ID → Enterprise applications → <app> → Permissions."
        }
        AadstsKind::InvalidGrant => {
            "Start the sign-in again and enter the new code; if it fails the same way, an administrator selects Grant admin consent in Entra ID → Enterprise applications → <app> → Permissions."
        }
        AadstsKind::AuthorizationPending | AadstsKind::SlowDown => {
            "Enter the code at the verification page and finish signing in."
        }
        AadstsKind::DeviceCodeExpired => {
            "Start again with Generate a new certificate or Upload a custom certificate to get a fresh code."
        }
        AadstsKind::AuthorizationDeclined => {
            "Start the sign-in again and approve it with an account allowed to manage the app registration."
        }
        AadstsKind::BadVerificationCode => {
            "Start the sign-in again and enter the new code exactly as shown."
        }
        AadstsKind::AuthorizationCodeReplayed
        | AadstsKind::AuthorizationCodeExpired
        | AadstsKind::PkceVerifierMismatch => {
            "Choose \"Sign in with the browser instead\" again on the operation's page: each attempt gets a fresh code."
        }
        AadstsKind::Other => {
            "Follow Entra's message; if unclear, send the job log (with the trace id) to support."
        }
    }
}

fn device_flow(error: &DeviceFlowError) -> &'static str {
    match error {
        DeviceFlowError::Declined(e)
        | DeviceFlowError::Expired(e)
        | DeviceFlowError::BadVerificationCode(e) => aadsts(&e.kind),
        DeviceFlowError::ExpiredLocally { .. } => aadsts(&AadstsKind::DeviceCodeExpired),
        DeviceFlowError::Cancelled => "Start the sign-in again when ready.",
    }
}

fn key_update(error: &KeyUpdateError) -> &'static str {
    match error {
        KeyUpdateError::KeepsChanging { .. } | KeyUpdateError::VerificationFailed { .. } => {
            "Check the app registration's certificates in Entra ID, then retry Generate a new certificate in Settings → System → SSL Certificate."
        }
        KeyUpdateError::AlreadyAttached { .. } => {
            "Nothing to add; use Upload a custom certificate to make it active."
        }
        KeyUpdateError::KeyNotAttached(_) => "Nothing to remove; refresh the certificate list.",
    }
}

fn graph(kind: GraphErrorKind) -> &'static str {
    match kind {
        GraphErrorKind::AuthorizationDenied => {
            "Sign in again with an owner of the app registration or an Application/Cloud Application Administrator."
        }
        GraphErrorKind::NotFound => {
            "Check the application (client) id of the organization in Settings → Organizations."
        }
        GraphErrorKind::MissingOrMalformedToken => {
            "Sign in again; for automatic rotation, generate a new certificate in Settings → System → SSL Certificate."
        }
        GraphErrorKind::CredentialPolicyViolation => {
            "Generate a new certificate with a shorter validity in Settings → System → SSL Certificate, or ask the tenant administrator about the app management policy."
        }
        GraphErrorKind::Throttled => "Wait a few minutes and retry.",
        GraphErrorKind::BadRequest | GraphErrorKind::Other => {
            "Follow Graph's message; if unclear, send the job log (with the request id) to support."
        }
    }
}
