//! JSON shapes of the notice settings, an organization's recipients and the notices recorded.
//! Text and numbers are parsed into the service's types here, at the edge; each refusal names
//! the field and what is allowed. The service validates the rest (ranges, addresses).

use super::event_dto::{EventTypeName, NoticeDataDto, parse_event_types, type_names};
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use tenantlink_service::ServiceError;
use tenantlink_service::notices::validate::MAX_THRESHOLD_DAYS;
use tenantlink_service::notices::{EmailMode, Notice, NoticeSettings};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

fn invalid(field: &str, message: String) -> ApiError {
    ApiError(ServiceError::Invalid {
        field: field.to_owned(),
        message,
    })
}

/// The instance-wide notice settings, as read and as replaced with PUT (every field required).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeSettingsDto {
    /// Days before a certificate's end at which `certificate.expiring` is sent: 1 to 365, each
    /// once, at most 10; stored descending.
    #[schema(value_type = Vec<u32>, example = json!([30, 14, 7, 1]))]
    pub expiry_thresholds_days: Vec<i64>,
    /// Who gets e-mail for an organization without its own recipients (at most 50).
    #[schema(example = json!(["ops@example.com"]))]
    pub default_recipients: Vec<String>,
    /// `immediate` (one message per notice) or `daily_digest` (one message a day per recipient
    /// list, at `digest_hour_utc`).
    #[schema(example = "immediate")]
    pub email_mode: String,
    /// 0 to 23.
    #[schema(value_type = u8, example = 7)]
    pub digest_hour_utc: i64,
    /// The event types e-mail is sent for (`tenantlink.test` is not one).
    #[schema(value_type = Vec<EventTypeName>)]
    pub email_event_types: Vec<String>,
}

impl From<NoticeSettings> for NoticeSettingsDto {
    fn from(s: NoticeSettings) -> Self {
        Self {
            expiry_thresholds_days: s
                .expiry_thresholds_days
                .into_iter()
                .map(i64::from)
                .collect(),
            default_recipients: s.default_recipients,
            email_mode: s.email_mode.as_str().to_owned(),
            digest_hour_utc: i64::from(s.digest_hour_utc),
            email_event_types: type_names(&s.email_event_types),
        }
    }
}

impl TryFrom<NoticeSettingsDto> for NoticeSettings {
    type Error = ApiError;

    fn try_from(dto: NoticeSettingsDto) -> Result<Self, ApiError> {
        let field = "expiry_thresholds_days";
        let expiry_thresholds_days = dto
            .expiry_thresholds_days
            .iter()
            .map(|&days| {
                u32::try_from(days).map_err(|_| {
                    invalid(
                        field,
                        format!(
                            "{field}: each threshold must be between 1 and {MAX_THRESHOLD_DAYS} days, not {days}"
                        ),
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        let email_mode = dto.email_mode.parse::<EmailMode>().map_err(|_| {
            invalid(
                "email_mode",
                format!(
                    "email_mode is {}, not {:?}",
                    EmailMode::ALL
                        .iter()
                        .map(|m| m.as_str())
                        .collect::<Vec<_>>()
                        .join(" or "),
                    dto.email_mode
                ),
            )
        })?;
        let digest_hour_utc = u8::try_from(dto.digest_hour_utc).map_err(|_| {
            invalid(
                "digest_hour_utc",
                format!(
                    "digest_hour_utc must be an hour between 0 and 23 (UTC), not {}",
                    dto.digest_hour_utc
                ),
            )
        })?;
        Ok(Self {
            expiry_thresholds_days,
            default_recipients: dto.default_recipients,
            email_mode,
            digest_hour_utc,
            email_event_types: parse_event_types("email_event_types", &dto.email_event_types)?,
        })
    }
}

/// An organization's own e-mail recipients; `[]`: the default recipients apply.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecipientsDto {
    #[schema(example = json!(["it@contoso.example"]))]
    pub recipients: Vec<String>,
}

/// One recorded notice (an event occurrence) with the payload every channel carries.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeDto {
    /// The `webhook-id` of its webhook deliveries.
    pub id: Uuid,
    #[schema(value_type = EventTypeName)]
    pub event_type: String,
    pub organization_id: Option<Uuid>,
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    pub data: NoticeDataDto,
}

impl From<Notice> for NoticeDto {
    fn from(n: Notice) -> Self {
        Self {
            id: n.id.0,
            event_type: n.event_type.as_str().to_owned(),
            organization_id: n.organization.map(|o| o.0),
            occurred_at: n.occurred_at,
            data: NoticeDataDto::from(&n.data),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeListDto {
    /// Newest first.
    pub notices: Vec<NoticeDto>,
}
