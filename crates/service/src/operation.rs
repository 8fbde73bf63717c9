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

use crate::model::{CertificateId, OrganizationId, model_id};
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
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Generate => "generate",
            Self::Upload => "upload",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "generate" => Some(Self::Generate),
            "upload" => Some(Self::Upload),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OperationStep {
    AwaitingSignIn,
    SignedIn,
    /// Generate only: key and certificate exist (encrypted in the repository), not yet attached.
    CertificateStored,
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
            Self::CertificateStored => "certificate_stored",
            Self::Attached => "attached",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            Self::AwaitingSignIn,
            Self::SignedIn,
            Self::CertificateStored,
            Self::Attached,
            Self::Succeeded,
            Self::Failed,
            Self::Cancelled,
        ]
        .into_iter()
        .find(|step| step.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, Self::Succeeded | Self::Failed | Self::Cancelled)
    }
}

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
    pub thumbprint_sha1: Option<String>,
    /// The active certificate when this operation started: activation swaps only from it.
    pub replaces: Option<CertificateId>,
    pub failure: Option<OperationFailure>,
    /// The tenantlink instance (its stable id) whose memory holds this operation's device code
    /// and delegated token, which are never stored. Other instances sharing the database show
    /// the operation as stored and refuse the steps that need those secrets, instead of ending
    /// it as lost. `None`: started by a `Workflows` without an instance id, or before the store
    /// recorded holders; any instance then treats missing secrets as lost (a restart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sign_in_holder: Option<String>,
}

impl Operation {
    pub fn is_finished(&self) -> bool {
        self.step.is_finished()
    }
}
