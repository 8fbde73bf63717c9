//! The API's JSON shapes, documented for OpenAPI. Built from service records; never carry secrets.

use serde::{Deserialize, Serialize};
use tenantlink_service::{
    AssertionProfile, AuditEntry, CertificatePage, CertificateView, LastCheck, Operation,
    Organization, Role,
};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Serialize, ToSchema)]
pub struct OrganizationDto {
    pub id: Uuid,
    pub name: String,
    pub tenant: String,
    pub cloud: String,
    pub app_id: String,
    pub app_object_id: Option<String>,
    pub active_certificate: Option<Uuid>,
    /// How client assertions are signed for this organization: `rs256` (RS256 with the SHA-1
    /// `x5t`, the default) or `ps256` (PS256 with the SHA-256 `x5t#S256`). Changed with PATCH.
    #[schema(value_type = String, example = "rs256")]
    pub assertion_profile: AssertionProfile,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether backup runs last signed in with the organization's credential: `connected`,
    /// `broken` or `unknown` (no run yet). Given by the organization list and read; omitted
    /// where the organization is embedded in another answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "connected")]
    pub connection: Option<String>,
    /// How its certificate is renewed; given where `connection` is, changed with PATCH.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renewal_policy: Option<super::renewal_dto::RenewalPolicyDto>,
}

impl From<Organization> for OrganizationDto {
    fn from(o: Organization) -> Self {
        Self {
            id: o.id.0,
            name: o.name,
            tenant: o.tenant,
            cloud: o.cloud.as_str().to_owned(),
            app_id: o.app_id,
            app_object_id: o.app_object_id,
            active_certificate: o.active_certificate.map(|c| c.0),
            assertion_profile: o.assertion_profile,
            created_at: o.created_at,
            connection: None,
            renewal_policy: None,
        }
    }
}

/// `PATCH /api/v1/organizations/{id}`: the settings an administrator may change; an absent key
/// is left as it is.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganizationChange {
    /// `rs256` (RS256 + `x5t`) or `ps256` (PS256 + `x5t#S256`).
    #[serde(default)]
    #[schema(value_type = Option<String>, example = "ps256")]
    pub assertion_profile: Option<AssertionProfile>,
    /// Some of the renewal policy's settings (those of `renewal_policy` in the answer); a left
    /// out setting stays as it is, `null` lifetimes return to the default.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub renewal_policy: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewOrganizationRequest {
    #[serde(default)]
    pub name: String,
    /// Tenant GUID or domain (`contoso.onmicrosoft.com`).
    pub tenant: String,
    /// `global`, `usgov`, `china` or `sandbox`.
    pub cloud: String,
    /// The backup application's (client) id.
    pub app_id: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificateDto {
    pub id: Uuid,
    pub subject: String,
    /// Upper-case hex, as Entra ID shows it.
    pub sha1_thumbprint: String,
    pub sha256_thumbprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_from: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub valid_to: OffsetDateTime,
    pub days_left: i64,
    /// `generated` or `uploaded`.
    pub source: String,
    /// `valid`, `expiring_soon`, `expired`, `not_attached` or `none`.
    pub state: String,
    pub active: bool,
}

impl From<&CertificateView> for CertificateDto {
    fn from(c: &CertificateView) -> Self {
        Self {
            id: c.id.0,
            subject: c.subject.clone(),
            sha1_thumbprint: c.sha1_thumbprint.clone(),
            sha256_thumbprint: c.sha256_thumbprint.clone(),
            valid_from: c.valid_from,
            valid_to: c.valid_to,
            days_left: c.days_left,
            source: c.source.as_str().to_owned(),
            state: c.status.as_str().to_owned(),
            active: c.active,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CertificatePageDto {
    pub organization: OrganizationDto,
    /// `valid`, `expiring_soon`, `expired`, `not_attached` or `none`.
    pub state: String,
    pub active: Option<CertificateDto>,
    /// What Entra said at the active certificate's latest app-only proof, and when.
    pub last_check: Option<LastCheckDto>,
    pub previous: Vec<CertificateDto>,
    /// When the certificate is renewed and what renewal is doing now.
    pub renewal: Option<super::renewal_dto::RenewalDto>,
}

/// The latest app-only token request made with the active certificate.
#[derive(Debug, Serialize, ToSchema)]
pub struct LastCheckDto {
    /// `accepted`, `key_not_registered`, `key_expired` or `refused`.
    pub outcome: String,
    /// `activation`, `connection_check` or `backup_run`.
    pub source: String,
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    pub explanation: String,
    pub remediation: Option<String>,
    /// Entra's message, verbatim.
    pub detail: Option<String>,
}

impl From<&LastCheck> for LastCheckDto {
    fn from(c: &LastCheck) -> Self {
        Self {
            outcome: c.outcome.as_str().to_owned(),
            source: c.source.as_str().to_owned(),
            checked_at: c.checked_at,
            explanation: c.explanation.clone(),
            remediation: c.remediation.clone(),
            detail: c.detail.clone(),
        }
    }
}

impl From<CertificatePage> for CertificatePageDto {
    fn from(p: CertificatePage) -> Self {
        Self {
            state: p.status.as_str().to_owned(),
            active: p.active.as_ref().map(CertificateDto::from),
            last_check: p.last_check.as_ref().map(LastCheckDto::from),
            previous: p.previous.iter().map(CertificateDto::from).collect(),
            organization: p.organization.into(),
            renewal: None,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct StartOperationRequest {
    /// `generate` or `upload`.
    pub kind: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SignInPromptDto {
    pub user_code: String,
    pub verification_uri: String,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct FailureDto {
    pub code: String,
    pub message: String,
    pub remediation: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OperationDto {
    pub id: Uuid,
    pub organization: Uuid,
    /// `generate`, `upload`, `rotate` or `connect`.
    pub kind: String,
    /// `awaiting_sign_in`, `signed_in`, `application_created`, `service_principal_created`,
    /// `permissions_granted`, `owner_added` (connect only), `certificate_stored`, `key_added`
    /// (rotate only), `attached`, `succeeded`, `failed`, `cancelled`.
    pub step: String,
    pub started_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    pub sign_in: Option<SignInPromptDto>,
    pub signed_in_as: Option<String>,
    pub certificate: Option<Uuid>,
    pub sha1_thumbprint: Option<String>,
    pub failure: Option<FailureDto>,
    /// The id of the tenantlink instance whose memory holds this operation's device sign-in
    /// (the id its `serve` prints at start-up). When several instances share one database,
    /// only that instance can advance the sign-in, Generate or Import; the others show the
    /// operation as stored and answer those steps with 409. `null` for operations started
    /// before holders were recorded. An identifier, not a secret; set by the server only.
    #[schema(read_only, example = "5f0c2d9e-8a41-4c7b-9e0f-3b6d1a2c4e5f")]
    pub sign_in_holder: Option<String>,
    /// When the holding instance last said it still carries this operation. A holder silent
    /// for longer than the configured time is gone: another instance takes the operation over,
    /// or an administrator may abandon it (`POST /api/v1/operations/{id}/abandon`).
    #[serde(with = "time::serde::rfc3339::option")]
    #[schema(read_only)]
    pub heartbeat_at: Option<OffsetDateTime>,
}

impl From<Operation> for OperationDto {
    fn from(o: Operation) -> Self {
        Self {
            id: o.id.0,
            organization: o.organization.0,
            kind: o.kind.as_str().to_owned(),
            step: o.step.as_str().to_owned(),
            started_by: o.started_by,
            started_at: o.started_at,
            updated_at: o.updated_at,
            sign_in: o.sign_in.map(|p| SignInPromptDto {
                user_code: p.user_code,
                verification_uri: p.verification_uri,
                expires_at: p.expires_at,
            }),
            signed_in_as: o.signed_in_as,
            certificate: o.certificate.map(|c| c.0),
            sha1_thumbprint: o.sha1_thumbprint,
            failure: o.failure.map(|f| FailureDto {
                code: f.code,
                message: f.message,
                remediation: f.remediation,
            }),
            sign_in_holder: o.sign_in_holder,
            heartbeat_at: o.heartbeat_at,
        }
    }
}

/// The multipart body of `import`.
#[derive(Debug, ToSchema)]
#[allow(dead_code)]
pub struct ImportForm {
    /// The PKCS#12 file (.pfx / .p12) with the certificate and its private key.
    #[schema(value_type = String, format = Binary)]
    pub file: Vec<u8>,
    /// Only if the file was exported with a password. Used once, never stored.
    pub password: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditEntryDto {
    pub id: i64,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: String,
    pub action: String,
    pub organization: Option<Uuid>,
    pub thumbprints: Vec<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    pub detail: Option<String>,
}

impl From<AuditEntry> for AuditEntryDto {
    fn from(e: AuditEntry) -> Self {
        Self {
            id: e.id,
            at: e.at,
            actor: e.actor,
            action: e.action,
            organization: e.organization.map(|o| o.0),
            thumbprints: e.thumbprints,
            outcome: e.outcome.as_str().to_owned(),
            detail: e.detail,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeDto {
    pub name: String,
    pub role: String,
    /// For cookie-authenticated calls: send as `X-CSRF-Token` on state-changing requests.
    pub csrf_token: Option<String>,
}

pub fn role_name(role: Role) -> String {
    role.as_str().to_owned()
}
