//! What the administrator should do about the failures of the app-only rotation calls (read the
//! application, addKey, removeKey), and of Connect's registration calls (at the end). The general texts (sign-in, attach, token proof) live in
//! `tenantlink_service::remediation`; these are the ones only a rotation meets, so they name the
//! rotation's own remedies (the renewal policy, Rotate now, the Generate workflow as the fallback).
//!
//! Each says what a person can do; where nobody needs to act (throttling, an outage) it says so,
//! because whether and when to try again is the service's decision, not the directory's.

/// 429: Graph throttles the application or tenant (directory write quotas).
pub(crate) const THROTTLED: &str = "Nothing to do now: Microsoft Graph is throttling this application's directory requests and said when to come back; tenantlink waits that long before the next attempt. If it lasts for hours, look for other tools writing to this tenant's directory with the same application.";

/// 5xx, a refused connection or a timeout.
pub(crate) const UNAVAILABLE: &str = "Nothing to do now: Microsoft Graph or Entra ID could not be reached or answered with an outage; tenantlink tries again later. If it persists, check this server's network access to the Microsoft endpoints and the Microsoft 365 service health page.";

/// `Directory_ResourceSizeExceeded`: the application object is full.
pub(crate) const QUOTA_EXCEEDED: &str = "In Entra ID → App registrations → the backup application → Certificates & secrets, delete the certificates and client secrets the application no longer uses (never the active certificate shown on tenantlink's certificate page), then select Rotate now.";

/// addKey/removeKey refused the proof signed by the current certificate.
pub(crate) const PROOF_REJECTED: &str = "The certificate that signed the request is no longer a valid key of the app registration (expired, removed, or not yet propagated). If tenantlink's certificate page shows it expired or not attached, generate a new certificate in Settings → System → SSL Certificate (this needs an administrator's sign-in); otherwise select Rotate now again in a few minutes.";

/// `asymmetricKeyLifetime` refused the new certificate.
pub(crate) const POLICY_KEY_LIFETIME: &str = "The tenant's app-management policy allows shorter certificate lifetimes than the renewal policy asks for: lower the lifetime of new certificates in the organization's renewal policy to at most the maximum Graph names, or ask the tenant administrator to exempt the backup application.";

/// `trustedCertificateAuthority` refused the (self-signed) new certificate.
pub(crate) const POLICY_TRUSTED_CA: &str = "The tenant accepts only certificates issued by a trusted certificate authority, so a generated self-signed certificate cannot be added: upload a CA-issued certificate in Settings → System → SSL Certificate and set the renewal policy for uploaded certificates to warn instead of rotating, or ask the tenant administrator to exempt the backup application.";

/// Another app-management restriction.
pub(crate) const POLICY_OTHER: &str = "A restriction of the tenant's app-management policy refused the certificate (Graph's message names it): ask the tenant administrator to adjust the policy or exempt the backup application, then select Rotate now.";

/// 403 on an app-only call: the application may not read itself.
pub(crate) const APP_ONLY_PRIVILEGES: &str = "Grant the backup application the Microsoft Graph application permission Application.ReadWrite.OwnedBy with admin consent (Entra ID → App registrations → the backup application → API permissions) and make the application an owner of itself, or grant Application.ReadWrite.All.";

// Connect's registration calls, with the administrator's delegated token.

/// 403 on finding, creating or owning the application, or creating its service principal.
pub(crate) const SETUP_REGISTER_ROLE: &str = "The account that signed in may not register applications in this tenant. Sign in with a Global Administrator, or an account holding both Application Administrator (or Cloud Application Administrator) and Privileged Role Administrator, then Reconnect the organization: what was registered so far is reused.";

/// 403 on granting admin consent (appRoleAssignedTo on Microsoft Graph).
pub(crate) const SETUP_CONSENT_ROLE: &str = "Granting admin consent to Microsoft Graph application permissions needs Global Administrator or Privileged Role Administrator (Application Administrator is not enough). Sign in with such an account and Reconnect the organization: the application already registered is reused, and only the missing consent is granted.";

/// 403 naming a policy: the tenant blocks the consent (or the registration) by policy.
pub(crate) const SETUP_CONSENT_POLICY: &str = "A tenant policy blocks this (Graph's message names it): ask a Global Administrator to allow the backup application's permissions, or to grant admin consent to it in Entra ID → Enterprise applications → the backup application → Permissions, then Reconnect the organization.";

/// `Directory_QuotaExceeded`: no more applications may be created.
pub(crate) const SETUP_OBJECT_LIMIT: &str = "The tenant (or the account that signed in) may create no more directory objects. Delete app registrations that are no longer used (Entra ID → App registrations → All applications, then purge them from Deleted applications: deleted ones count for 30 days), or sign in with an administrator, then Reconnect the organization.";
