//! A certificate operation: one run of "Generate a new certificate" or "Upload a custom
//! certificate", persisted after every step so that a restart resumes or fails it cleanly.
//!
//! ```text
//! AwaitingSignIn ─► SignedIn ─► CertificateStored ─► Attached ─► Succeeded
//!        │              │               │                │
//!        └──────────────┴───────────────┴────────────────┴─────► Failed / Cancelled
//! ```
//! Generate: `CertificateStored` = key and certificate created (not yet on the application).
//! Upload: the file is validated and Graph has confirmed the key is attached, so it goes straight
//! to `Attached`. Only `Attached` → `Succeeded` changes the active certificate, after a token proof.
//! Rotate (no sign-in, app-only through Graph `addKey`): `CertificateStored` → `KeyAdded` (addKey
//! answered, proven by the active certificate) → `Attached` (read back: the application lists it).
//! Connect (a sign-in that may register applications and grant admin consent):
//! `SignedIn` → `ApplicationCreated` → `ServicePrincipalCreated` → `PermissionsGranted` →
//! `OwnerAdded`, then Generate's `CertificateStored` → `Attached` → `Succeeded`. Each of the
//! first four means "exists now" (created, or found from an earlier attempt and reused).

use crate::model::{CertificateId, OrganizationId, model_id, parse_as_str};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

model_id!(
    /// One run of a certificate workflow.
    OperationId
);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationKind {
    Generate,
    Upload,
    /// Renewal without an administrator: a new certificate added through Graph `addKey`,
    /// proven by the active one.
    Rotate,
    /// "Connect an organization" (and Reconnect): register the backup application, its
    /// service principal, admin consent and ownership with the sign-in, then Generate's steps.
    Connect,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generate => "generate",
            Self::Upload => "upload",
            Self::Rotate => "rotate",
            Self::Connect => "connect",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "generate" => Some(Self::Generate),
            "upload" => Some(Self::Upload),
            "rotate" => Some(Self::Rotate),
            "connect" => Some(Self::Connect),
            _ => None,
        }
    }
}

parse_as_str!(OperationKind {
    Generate,
    Upload,
    Rotate,
    Connect
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationStep {
    AwaitingSignIn,
    SignedIn,
    /// Connect only: the backup application registration exists (created, or the one an
    /// earlier attempt created, found by its marker) and the organization records its ids.
    ApplicationCreated,
    /// Connect only: the application has its service principal in the tenant.
    ServicePrincipalCreated,
    /// Connect only: every configured Microsoft Graph application permission is consented
    /// (an app role assignment on Graph's service principal).
    PermissionsGranted,
    /// Connect only: the service principal owns the application, so the application's own
    /// app-only token may read and roll its keys (`Application.ReadWrite.OwnedBy`).
    OwnerAdded,
    /// Generate and Connect: key and certificate exist (encrypted in the repository), not yet attached.
    CertificateStored,
    /// Rotate only: Graph's addKey answered for the new certificate; reading the application
    /// back to see it listed remains.
    KeyAdded,
    /// The certificate is on the application; the token proof and activation remain.
    Attached,
    Succeeded,
    Failed,
    Cancelled,
}

impl OperationStep {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwaitingSignIn => "awaiting_sign_in",
            Self::SignedIn => "signed_in",
            Self::ApplicationCreated => "application_created",
            Self::ServicePrincipalCreated => "service_principal_created",
            Self::PermissionsGranted => "permissions_granted",
            Self::OwnerAdded => "owner_added",
            Self::CertificateStored => "certificate_stored",
            Self::KeyAdded => "key_added",
            Self::Attached => "attached",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|step| step.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }

    /// The steps a stored operation may move from into `self` by an update:
    ///
    /// ```text
    /// awaiting_sign_in ─► signed_in ─► certificate_stored ─► attached ─► (activate) succeeded
    ///                        └─────────────────────────────► attached
    /// (rotate, created at certificate_stored) certificate_stored ─► key_added ─► attached
    /// (connect) signed_in ─► application_created ─► service_principal_created
    ///           ─► permissions_granted ─► owner_added ─► certificate_stored
    /// any unfinished ─► failed;   awaiting_sign_in / signed_in ─► cancelled
    /// ```
    ///
    /// Staying at a step is allowed (e.g. recording the sign-in prompt). `succeeded` is reached
    /// only through [`crate::Repository::activate`], and a finished step is never left. Repositories
    /// refuse any other change.
    pub fn reachable_from(self) -> &'static [OperationStep] {
        use OperationStep::*;
        match self {
            AwaitingSignIn => &[AwaitingSignIn],
            SignedIn => &[AwaitingSignIn, SignedIn],
            ApplicationCreated => &[SignedIn, ApplicationCreated],
            ServicePrincipalCreated => &[ApplicationCreated, ServicePrincipalCreated],
            PermissionsGranted => &[ServicePrincipalCreated, PermissionsGranted],
            OwnerAdded => &[PermissionsGranted, OwnerAdded],
            CertificateStored => &[SignedIn, OwnerAdded, CertificateStored],
            KeyAdded => &[CertificateStored, KeyAdded],
            Attached => &[SignedIn, CertificateStored, KeyAdded, Attached],
            Failed => &[
                AwaitingSignIn,
                SignedIn,
                ApplicationCreated,
                ServicePrincipalCreated,
                PermissionsGranted,
                OwnerAdded,
                CertificateStored,
                KeyAdded,
                Attached,
            ],
            Cancelled => &[AwaitingSignIn, SignedIn],
            Succeeded => &[],
        }
    }

    /// Whether an update may move an operation from `self` to `next`.
    pub fn may_become(self, next: OperationStep) -> bool {
        next.reachable_from().contains(&self)
    }
}

parse_as_str!(OperationStep {
    AwaitingSignIn,
    SignedIn,
    ApplicationCreated,
    ServicePrincipalCreated,
    PermissionsGranted,
    OwnerAdded,
    CertificateStored,
    KeyAdded,
    Attached,
    Succeeded,
    Failed,
    Cancelled
});

/// What the administrator needs to complete the device sign-in. The device code itself is a
/// secret and is never part of this record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInPrompt {
    pub user_code: String,
    pub verification_uri: String,
    pub expires_at: OffsetDateTime,
}

/// Why an operation ended without activating: a stable code, the explanation and what to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OperationFailure {
    pub code: String,
    pub message: String,
    pub remediation: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operation {
    pub id: OperationId,
    pub organization: OrganizationId,
    pub kind: OperationKind,
    pub step: OperationStep,
    pub started_by: String,
    pub started_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    /// Bumped on every persisted change; updates are compare-and-swap on it.
    pub version: u64,
    pub sign_in: Option<SignInPrompt>,
    /// Who signed in at the device page (user principal name), once known.
    pub signed_in_as: Option<String>,
    pub certificate: Option<CertificateId>,
    pub sha1_thumbprint: Option<String>,
    /// The active certificate when this operation started: activation swaps only from it.
    pub replaces: Option<CertificateId>,
    pub failure: Option<OperationFailure>,
    /// The tenantlink instance (its stable id) holding this operation: its memory holds the
    /// device code and delegated token (never stored) and its background task carries the
    /// operation's steps. Other instances sharing the database show the operation as stored and
    /// refuse the steps that need those secrets, instead of ending it as lost, until the holder
    /// stops sending heartbeats (then they may take it over, or an administrator abandon it).
    /// `None`: started by a `Workflows` without an instance id, or before the store recorded
    /// holders; any instance then treats missing secrets as lost (a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_holder: Option<String>,
    /// When the holder last said it is alive (it refreshes this while it runs); `None` before
    /// heartbeats were recorded. A holder silent for longer than the configured time is gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<OffsetDateTime>,
}

impl Operation {
    pub fn is_finished(&self) -> bool {
        self.step.is_finished()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OperationStep::*;

    #[test]
    fn steps_move_forward_or_end_and_finished_ones_never_change() {
        let allowed = [
            (AwaitingSignIn, AwaitingSignIn),
            (AwaitingSignIn, SignedIn),
            (SignedIn, SignedIn),
            (SignedIn, CertificateStored),
            (SignedIn, Attached),
            (CertificateStored, CertificateStored),
            (CertificateStored, Attached),
            (CertificateStored, KeyAdded),
            (KeyAdded, KeyAdded),
            (KeyAdded, Attached),
            (KeyAdded, Failed),
            (Attached, Attached),
            (SignedIn, ApplicationCreated),
            (ApplicationCreated, ApplicationCreated),
            (ApplicationCreated, ServicePrincipalCreated),
            (ServicePrincipalCreated, ServicePrincipalCreated),
            (ServicePrincipalCreated, PermissionsGranted),
            (PermissionsGranted, PermissionsGranted),
            (PermissionsGranted, OwnerAdded),
            (OwnerAdded, OwnerAdded),
            (OwnerAdded, CertificateStored),
            (ApplicationCreated, Failed),
            (ServicePrincipalCreated, Failed),
            (PermissionsGranted, Failed),
            (OwnerAdded, Failed),
            (AwaitingSignIn, Failed),
            (SignedIn, Failed),
            (CertificateStored, Failed),
            (Attached, Failed),
            (AwaitingSignIn, Cancelled),
            (SignedIn, Cancelled),
        ];
        for from in OperationStep::ALL {
            for to in OperationStep::ALL {
                assert_eq!(
                    from.may_become(*to),
                    allowed.contains(&(*from, *to)),
                    "{from:?} -> {to:?}"
                );
            }
        }
    }

    #[test]
    fn stored_words_parse_back_and_the_old_ones_do_not() {
        for step in OperationStep::ALL {
            assert_eq!(step.as_str().parse::<OperationStep>(), Ok(*step));
            assert_eq!(OperationStep::parse(step.as_str()), Some(*step));
        }
        for old in ["awaiting_input", "attaching", "proving"] {
            assert!(old.parse::<OperationStep>().is_err(), "{old}");
        }
        for kind in OperationKind::ALL {
            assert_eq!(kind.as_str().parse::<OperationKind>(), Ok(*kind));
        }
    }
}
