//! The audit trail: who did what, when, to which organization and thumbprints. Never secrets:
//! entries are built from typed fields, not from free text that could carry a token.

use crate::model::{OrganizationId, parse_as_str};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    SignIn,
    SignOut,
    OrganizationAdded,
    AssertionProfileChanged,
    RenewalPolicyChanged,
    OperationStarted,
    DeviceSignInCompleted,
    CertificateGenerated,
    CertificateAttached,
    CertificateUploaded,
    CertificateActivated,
    /// A rotation activated its new certificate (thumbprints: new, then old).
    CertificateRotated,
    /// A rotation took a retired key off the application (thumbprint: the removed one).
    KeyRemoved,
    /// A rotation attempt failed (detail: Graph's or Entra's code and message).
    RotationFailed,
    ConnectionChecked,
    /// Connect registered the backup application, or found the one an earlier attempt
    /// registered (detail: its appId, and created or reused; then each step's outcome).
    ApplicationRegistered,
    OperationFailed,
    OperationCancelled,
    ApiTokenCreated,
    ApiTokenRevoked,
    UserCreated,
    UserRoleChanged,
    UserDisabled,
    UserEnabled,
    PasswordReset,
    PasswordChanged,
    SessionsEnded,
    PolicyCreated,
    PolicyChanged,
    PolicyEnabled,
    PolicyDisabled,
    PolicyDeleted,
    PolicyRunStarted,
    WebhookCreated,
    WebhookEnabled,
    WebhookDisabled,
    WebhookDeleted,
    /// "Send a test event" (outcome: whether the endpoint accepted it).
    WebhookTested,
    NoticeSettingsChanged,
    NoticeRecipientsChanged,
}

impl AuditAction {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SignIn => "sign_in",
            Self::SignOut => "sign_out",
            Self::OrganizationAdded => "organization_added",
            Self::AssertionProfileChanged => "assertion_profile_changed",
            Self::RenewalPolicyChanged => "renewal_policy_changed",
            Self::OperationStarted => "operation_started",
            Self::DeviceSignInCompleted => "device_sign_in_completed",
            Self::CertificateGenerated => "certificate_generated",
            Self::CertificateAttached => "certificate_attached",
            Self::CertificateUploaded => "certificate_uploaded",
            Self::CertificateActivated => "certificate_activated",
            Self::CertificateRotated => "certificate_rotated",
            Self::KeyRemoved => "key_removed",
            Self::RotationFailed => "rotation_failed",
            Self::ConnectionChecked => "connection_checked",
            Self::ApplicationRegistered => "application_registered",
            Self::OperationFailed => "operation_failed",
            Self::OperationCancelled => "operation_cancelled",
            Self::ApiTokenCreated => "api_token_created",
            Self::ApiTokenRevoked => "api_token_revoked",
            Self::UserCreated => "user_created",
            Self::UserRoleChanged => "user_role_changed",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::SessionsEnded => "sessions_ended",
            Self::PolicyCreated => "policy_created",
            Self::PolicyChanged => "policy_changed",
            Self::PolicyEnabled => "policy_enabled",
            Self::PolicyDisabled => "policy_disabled",
            Self::PolicyDeleted => "policy_deleted",
            Self::PolicyRunStarted => "policy_run_started",
            Self::WebhookCreated => "webhook_created",
            Self::WebhookEnabled => "webhook_enabled",
            Self::WebhookDisabled => "webhook_disabled",
            Self::WebhookDeleted => "webhook_deleted",
            Self::WebhookTested => "webhook_tested",
            Self::NoticeSettingsChanged => "notice_settings_changed",
            Self::NoticeRecipientsChanged => "notice_recipients_changed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        ALL_ACTIONS.into_iter().find(|a| a.as_str() == text)
    }
}

const ALL_ACTIONS: [AuditAction; 40] = [
    AuditAction::SignIn,
    AuditAction::SignOut,
    AuditAction::OrganizationAdded,
    AuditAction::AssertionProfileChanged,
    AuditAction::RenewalPolicyChanged,
    AuditAction::OperationStarted,
    AuditAction::DeviceSignInCompleted,
    AuditAction::CertificateGenerated,
    AuditAction::CertificateAttached,
    AuditAction::CertificateUploaded,
    AuditAction::CertificateActivated,
    AuditAction::CertificateRotated,
    AuditAction::KeyRemoved,
    AuditAction::RotationFailed,
    AuditAction::ConnectionChecked,
    AuditAction::ApplicationRegistered,
    AuditAction::OperationFailed,
    AuditAction::OperationCancelled,
    AuditAction::ApiTokenCreated,
    AuditAction::ApiTokenRevoked,
    AuditAction::UserCreated,
    AuditAction::UserRoleChanged,
    AuditAction::UserDisabled,
    AuditAction::UserEnabled,
    AuditAction::PasswordReset,
    AuditAction::PasswordChanged,
    AuditAction::SessionsEnded,
    AuditAction::PolicyCreated,
    AuditAction::PolicyChanged,
    AuditAction::PolicyEnabled,
    AuditAction::PolicyDisabled,
    AuditAction::PolicyDeleted,
    AuditAction::PolicyRunStarted,
    AuditAction::WebhookCreated,
    AuditAction::WebhookEnabled,
    AuditAction::WebhookDisabled,
    AuditAction::WebhookDeleted,
    AuditAction::WebhookTested,
    AuditAction::NoticeSettingsChanged,
    AuditAction::NoticeRecipientsChanged,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    Success,
    Failure,
    /// Refused for lack of permission (recorded by the web front end).
    Denied,
}

impl AuditOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Denied => "denied",
        }
    }
}

parse_as_str!(AuditOutcome {
    Success,
    Failure,
    Denied
});

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: AuditAction,
    pub organization: Option<OrganizationId>,
    pub thumbprints: Vec<String>,
    pub outcome: AuditOutcome,
    /// A short explanation (error code and message); built by the service, never from secrets.
    pub detail: Option<String>,
}

/// The most of an actor (a user name as typed at sign-in, a token's name) an entry quotes.
pub const MAX_AUDIT_ACTOR_BYTES: usize = 256;
/// The most of a detail an entry quotes.
pub const MAX_AUDIT_DETAIL_BYTES: usize = 1024;
/// The most thumbprints an entry lists, and the most of each it quotes.
const MAX_AUDIT_THUMBPRINTS: usize = 8;
const MAX_AUDIT_THUMBPRINT_BYTES: usize = 128;
/// Ends a quote that was cut, so a reader knows the text went on.
pub const TRUNCATED_MARKER: &str = "…[truncated]";

impl NewAuditEntry {
    /// The entry with every quoted text within its cap: what an outsider typed (a user name at
    /// sign-in) or what a remote answered (an error text) cannot make the audit log grow by more
    /// than a bounded row. Every audit helper applies this before appending.
    pub fn capped(mut self) -> Self {
        self.actor = quote_bounded(self.actor, MAX_AUDIT_ACTOR_BYTES);
        self.detail = self
            .detail
            .map(|detail| quote_bounded(detail, MAX_AUDIT_DETAIL_BYTES));
        self.thumbprints.truncate(MAX_AUDIT_THUMBPRINTS);
        self.thumbprints = std::mem::take(&mut self.thumbprints)
            .into_iter()
            .map(|t| quote_bounded(t, MAX_AUDIT_THUMBPRINT_BYTES))
            .collect();
        self
    }
}

/// `text` if it has at most `max_bytes` bytes; else its start, cut on a character boundary, and
/// [`TRUNCATED_MARKER`], together at most `max_bytes` bytes.
pub fn quote_bounded(text: String, max_bytes: usize) -> String {
    if text.len() <= max_bytes {
        return text;
    }
    let mut cut = max_bytes.saturating_sub(TRUNCATED_MARKER.len());
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    let mut quoted = text;
    quoted.truncate(cut);
    quoted.push_str(TRUNCATED_MARKER);
    quoted
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    /// An [`AuditAction`] name, or an action recorded by another part of the product.
    pub action: String,
    pub organization: Option<OrganizationId>,
    pub thumbprints: Vec<String>,
    pub outcome: AuditOutcome,
    pub detail: Option<String>,
}

/// Which entries to list, newest first; page with `before`. Every field left `None` matches all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub organization: Option<OrganizationId>,
    pub actor: Option<String>,
    /// An exact action name, or a prefix ending in `_` (`certificate_` for every certificate
    /// action). Matched literally and case-sensitively.
    pub action: Option<String>,
    pub outcome: Option<AuditOutcome>,
    pub since: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    /// Only entries with an id below this one (the previous page's last id).
    pub before: Option<i64>,
    /// At most this many entries; 0 means [`AuditFilter::DEFAULT_LIMIT`].
    pub limit: u32,
}

impl AuditFilter {
    pub const DEFAULT_LIMIT: u32 = 100;

    /// The newest `limit` entries.
    pub fn newest(limit: u32) -> Self {
        Self {
            limit,
            ..Self::default()
        }
    }

    /// The action prefix (an `action` ending in `_`), or `None` for an exact action.
    pub fn action_prefix(&self) -> Option<&str> {
        self.action.as_deref().filter(|a| a.ends_with('_'))
    }

    /// The exact action (an `action` not ending in `_`).
    pub fn exact_action(&self) -> Option<&str> {
        self.action.as_deref().filter(|a| !a.ends_with('_'))
    }

    /// `limit`, with 0 meaning the default.
    pub fn effective_limit(&self) -> u32 {
        if self.limit == 0 {
            Self::DEFAULT_LIMIT
        } else {
            self.limit
        }
    }
}
