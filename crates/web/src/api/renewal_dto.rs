//! The renewal policy and status in the API's JSON: the `renewal_policy` of an organization
//! (read with GET, changed with PATCH) and the `renewal` object of its certificate resource.

use crate::renewal_view::{PreviousKey, reason_name, what_to_do};
use serde::Serialize;
use serde_json::Value;
use tenantlink_service::renewal::{
    RenewalFailure, RenewalPolicy, RenewalPolicyChange, RenewalStatus,
};
use time::OffsetDateTime;
use utoipa::ToSchema;

/// An organization's certificate renewal policy. Durations are in seconds.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalPolicyDto {
    /// Whether tenantlink renews the certificate by itself.
    pub automatic: bool,
    /// Lifetime of new certificates in days; `null` is the configured `validity_days`.
    pub lifetime_days: Option<u32>,
    /// The tenant's maximum certificate lifetime, if it declares one; new certificates never
    /// last longer.
    pub tenant_max_lifetime_days: Option<u32>,
    /// The share of the lifetime after which renewal is due, as a fraction (`"2/3"`).
    #[schema(example = "2/3")]
    pub renew_at_fraction: String,
    /// Renewal happens up to this much before the planned point (the same on every instance).
    pub jitter_seconds: i64,
    pub backoff_base_seconds: i64,
    pub backoff_cap_seconds: i64,
    /// For an uploaded (CA-issued) active certificate: `warn_only` (default) or `rotate`.
    #[schema(example = "warn_only")]
    pub uploaded: String,
}

impl From<&RenewalPolicy> for RenewalPolicyDto {
    fn from(p: &RenewalPolicy) -> Self {
        Self {
            automatic: p.automatic,
            lifetime_days: p.lifetime_days,
            tenant_max_lifetime_days: p.tenant_max_lifetime_days,
            renew_at_fraction: p.renew_at.to_string(),
            jitter_seconds: p.jitter.whole_seconds(),
            backoff_base_seconds: p.backoff_base.whole_seconds(),
            backoff_cap_seconds: p.backoff_cap.whole_seconds(),
            uploaded: p.uploaded.as_str().to_owned(),
        }
    }
}

/// What renewal does about the organization now.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalDto {
    pub automatic: bool,
    /// `not_due`, `due`, `backing_off`, `needs_administrator` or `disabled`.
    #[schema(example = "not_due")]
    pub state: String,
    /// For `needs_administrator`: `no_active_certificate`, `active_expired`, `not_attached`,
    /// `uploaded_warn_only` or `refused_by_directory`.
    pub reason: Option<String>,
    /// What an administrator should do, for `needs_administrator`.
    pub explanation: Option<String>,
    /// When the next renewal (or, backing off, the next attempt) is planned.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_renewal_at: Option<OffsetDateTime>,
    pub failed_attempts: u32,
    pub last_failure: Option<RenewalFailureDto>,
    /// The key a rotation retired, while it is still on the application beside the new one.
    pub previous_key: Option<PreviousKeyDto>,
}

/// The previous key during the overlap: still attached, so tokens signed with it keep working
/// until tenantlink removes it.
#[derive(Debug, Serialize, ToSchema)]
pub struct PreviousKeyDto {
    /// Upper-case hex, as Entra ID shows it.
    pub sha1_thumbprint: String,
    /// When the new certificate replaced it as the active one.
    #[serde(with = "time::serde::rfc3339")]
    pub retired_at: OffsetDateTime,
    /// When tenantlink plans to remove it from the application (`removeKey`); `null` when not
    /// known yet.
    #[serde(with = "time::serde::rfc3339::option")]
    pub planned_removal_at: Option<OffsetDateTime>,
}

impl From<&PreviousKey> for PreviousKeyDto {
    fn from(k: &PreviousKey) -> Self {
        Self {
            sha1_thumbprint: k.sha1_thumbprint.clone(),
            retired_at: k.retired_at,
            planned_removal_at: k.planned_removal,
        }
    }
}

/// The last failed attempt, with Microsoft's code and message verbatim.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenewalFailureDto {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub code: String,
    pub message: String,
    /// Whether trying again can help (tenantlink then retries by itself).
    pub retryable: bool,
    /// What an administrator should do about it.
    pub what_to_do: String,
}

impl From<&RenewalFailure> for RenewalFailureDto {
    fn from(f: &RenewalFailure) -> Self {
        Self {
            at: f.at,
            code: f.code.clone(),
            message: f.message.clone(),
            retryable: f.retryable,
            what_to_do: what_to_do(f).to_owned(),
        }
    }
}

impl RenewalDto {
    pub fn new(s: &RenewalStatus, previous_key: Option<&PreviousKey>) -> Self {
        let reason = s.administrator_reason();
        Self {
            automatic: s.automatic,
            state: s.decision.as_str().to_owned(),
            reason: reason.map(reason_name),
            explanation: reason.map(|r| r.explanation().to_owned()),
            next_renewal_at: s.decision.next_renewal_at(),
            failed_attempts: s.failed_attempts,
            last_failure: s.last_failure.as_ref().map(RenewalFailureDto::from),
            previous_key: previous_key.map(PreviousKeyDto::from),
        }
    }
}

/// A refused `renewal_policy` value: the field as the API names it, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct RefusedField {
    pub field: String,
    pub message: String,
}

impl From<RefusedField> for tenantlink_service::ServiceError {
    fn from(r: RefusedField) -> Self {
        Self::Invalid {
            field: r.field,
            message: r.message,
        }
    }
}

fn refused(key: &str, message: impl Into<String>) -> RefusedField {
    RefusedField {
        field: format!("renewal_policy.{key}"),
        message: format!("renewal_policy.{key} {}", message.into()),
    }
}

/// Reads the PATCH body's `renewal_policy` object key by key, so that a value of the wrong type
/// is refused naming its own field (serde's messages name only the type).
pub fn renewal_policy_change(value: &Value) -> Result<RenewalPolicyChange, RefusedField> {
    let Some(object) = value.as_object() else {
        return Err(RefusedField {
            field: "renewal_policy".into(),
            message: "renewal_policy must be an object".into(),
        });
    };
    let mut change = RenewalPolicyChange::default();
    for (key, value) in object {
        match key.as_str() {
            "automatic" => {
                change.automatic = Some(
                    value
                        .as_bool()
                        .ok_or_else(|| refused(key, "must be true or false"))?,
                )
            }
            "lifetime_days" => change.lifetime_days = Some(optional_days(key, value)?),
            "tenant_max_lifetime_days" => {
                change.tenant_max_lifetime_days = Some(optional_days(key, value)?)
            }
            "renew_at_fraction" => {
                let text = value
                    .as_str()
                    .ok_or_else(|| refused(key, "must be a fraction such as \"2/3\""))?;
                change.renew_at = Some(text.parse().map_err(
                    |e: tenantlink_service::renewal::PolicyError| RefusedField {
                        field: format!("renewal_policy.{}", e.field),
                        message: e.to_string(),
                    },
                )?);
            }
            "jitter_seconds" => change.jitter_seconds = Some(seconds(key, value)?),
            "backoff_base_seconds" => change.backoff_base_seconds = Some(seconds(key, value)?),
            "backoff_cap_seconds" => change.backoff_cap_seconds = Some(seconds(key, value)?),
            "uploaded" => {
                let text = value.as_str().unwrap_or_default();
                change.uploaded = Some(
                    text.parse()
                        .map_err(|_| refused(key, "must be \"warn_only\" or \"rotate\""))?,
                );
            }
            _ => return Err(refused(key, "is not a renewal policy setting")),
        }
    }
    Ok(change)
}

fn optional_days(key: &str, value: &Value) -> Result<Option<u32>, RefusedField> {
    if value.is_null() {
        return Ok(None);
    }
    value
        .as_u64()
        .and_then(|days| u32::try_from(days).ok())
        .map(Some)
        .ok_or_else(|| {
            refused(
                key,
                "must be a whole number of days, or null for the default",
            )
        })
}

fn seconds(key: &str, value: &Value) -> Result<i64, RefusedField> {
    value
        .as_i64()
        .ok_or_else(|| refused(key, "must be a whole number of seconds"))
}
