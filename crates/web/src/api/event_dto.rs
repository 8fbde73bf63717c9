//! The event types and the event payload in the API's JSON and OpenAPI document: the webhook
//! body (`{"type", "timestamp", "data"}`) and its `data`, mirrored from the service's
//! `NoticeData` (which does not depend on utoipa). The mirror is checked against the service's
//! own serialization in the tests below, so the schema cannot drift from what receivers get.

use crate::error::ApiError;
use serde::Serialize;
use std::borrow::Cow;
use tenantlink_service::ServiceError;
use tenantlink_service::notices::{EventType, NoticeCertificate, NoticeData, NoticeOrganization};
use time::OffsetDateTime;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};
use uuid::Uuid;

/// The schema of an event type name: a string, one of the service's names (generated from
/// [`EventType::ALL`], so a new type appears here without a second list).
#[derive(Debug)]
pub struct EventTypeName;

impl PartialSchema for EventTypeName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .enum_values(Some(EventType::ALL.iter().map(|t| t.as_str())))
            .description(Some(
                "An event type. `tenantlink.test` is sent by \"send a test event\" only and cannot be subscribed to.",
            ))
            .into()
    }
}

impl ToSchema for EventTypeName {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("EventTypeName")
    }
}

/// The types an endpoint or e-mail may subscribe to: every type but the test event.
pub fn subscribable() -> impl Iterator<Item = EventType> {
    EventType::ALL
        .iter()
        .copied()
        .filter(|t| *t != EventType::Test)
}

/// Parses event type names at the edge; an unknown one is refused naming the field and the
/// names accepted.
pub fn parse_event_types(field: &str, names: &[String]) -> Result<Vec<EventType>, ApiError> {
    names
        .iter()
        .map(|name| {
            name.parse::<EventType>().map_err(|_| {
                let allowed = subscribable()
                    .map(EventType::as_str)
                    .collect::<Vec<_>>()
                    .join(", ");
                ApiError(ServiceError::Invalid {
                    field: field.to_owned(),
                    message: format!(
                        "{field}: {name:?} is not an event type; use one of {allowed}"
                    ),
                })
            })
        })
        .collect()
}

pub fn type_names(types: &[EventType]) -> Vec<String> {
    types.iter().map(|t| t.as_str().to_owned()).collect()
}

/// The JSON body of every webhook delivery (Standard Webhooks), signed as described in
/// `docs/notices.md`. E-mail carries the same `data`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventDto {
    #[serde(rename = "type")]
    #[schema(value_type = EventTypeName, example = "certificate.expiring")]
    pub event_type: String,
    /// When the event occurred (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    pub data: NoticeDataDto,
}

/// What an event is about and what to do: the same for every channel.
#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeDataDto {
    /// `null` only for a test event.
    pub organization: Option<NoticeOrganizationDto>,
    pub certificate: Option<NoticeCertificateDto>,
    /// For `certificate.expiring`: the threshold crossed (days before the end).
    pub threshold_days: Option<u32>,
    /// Whole days until the certificate's end at the moment of the event (negative once
    /// expired).
    pub days_left: Option<i64>,
    /// What happened, in a sentence (Entra's or Graph's code and message where there is one).
    pub reason: String,
    /// What to do about it; `null` when nothing is to be done (e.g. rotation succeeded).
    pub what_to_do: Option<String>,
    /// The portal page that fixes it (absolute when `[notices] public_url` is set).
    pub link: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeOrganizationDto {
    pub id: Uuid,
    pub name: String,
    /// The tenant (domain or id) as the organization was added.
    pub tenant: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NoticeCertificateDto {
    /// Upper-case hex SHA-1, as Entra ID shows it.
    #[schema(example = "3F2A9C4E5B6D7E8F90A1B2C3D4E5F60718293A4B")]
    pub sha1_thumbprint: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

impl From<&NoticeOrganization> for NoticeOrganizationDto {
    fn from(o: &NoticeOrganization) -> Self {
        Self {
            id: o.id.0,
            name: o.name.clone(),
            tenant: o.tenant.clone(),
        }
    }
}

impl From<&NoticeCertificate> for NoticeCertificateDto {
    fn from(c: &NoticeCertificate) -> Self {
        Self {
            sha1_thumbprint: c.sha1_thumbprint.clone(),
            not_before: c.not_before,
            not_after: c.not_after,
        }
    }
}

impl From<&NoticeData> for NoticeDataDto {
    fn from(d: &NoticeData) -> Self {
        Self {
            organization: d.organization.as_ref().map(Into::into),
            certificate: d.certificate.as_ref().map(Into::into),
            threshold_days: d.threshold_days,
            days_left: d.days_left,
            reason: d.reason.clone(),
            what_to_do: d.what_to_do.clone(),
            link: d.link.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tenantlink_service::OrganizationId;
    use tenantlink_service::notices::WebhookBody;
    use time::macros::datetime;

    fn data() -> NoticeData {
        NoticeData {
            organization: Some(NoticeOrganization {
                id: OrganizationId(Uuid::new_v4()),
                name: "Contoso".into(),
                tenant: "contoso.onmicrosoft.com".into(),
            }),
            certificate: Some(NoticeCertificate {
                sha1_thumbprint: "AB".repeat(20),
                not_before: datetime!(2026-01-01 00:00 UTC),
                not_after: datetime!(2026-12-31 12:00 UTC),
            }),
            threshold_days: Some(14),
            days_left: Some(13),
            reason: "expires in 13 days".into(),
            what_to_do: Some("rotate it".into()),
            link: "https://tenantlink.example.com/organizations/x".into(),
        }
    }

    #[test]
    fn the_documented_body_is_what_receivers_get() {
        let data = data();
        let at = datetime!(2026-12-17 12:00 UTC);
        let sent = serde_json::to_value(WebhookBody {
            event_type: EventType::CertificateExpiring,
            timestamp: at,
            data: &data,
        })
        .unwrap();
        let documented = serde_json::to_value(WebhookEventDto {
            event_type: EventType::CertificateExpiring.as_str().to_owned(),
            timestamp: at,
            data: NoticeDataDto::from(&data),
        })
        .unwrap();
        assert_eq!(sent, documented);

        let mut empty = data;
        empty.organization = None;
        empty.certificate = None;
        assert_eq!(
            serde_json::to_value(&empty).unwrap(),
            serde_json::to_value(NoticeDataDto::from(&empty)).unwrap()
        );
    }

    #[test]
    fn event_types_parse_at_the_edge_naming_the_field() {
        let names = vec![
            "rotation.failed".to_owned(),
            "certificate.expiring".to_owned(),
        ];
        assert_eq!(
            parse_event_types("event_types", &names).unwrap(),
            vec![EventType::RotationFailed, EventType::CertificateExpiring]
        );
        let ApiError(ServiceError::Invalid { field, message }) =
            parse_event_types("email_event_types", &["certificate.expire".to_owned()]).unwrap_err()
        else {
            panic!("not an invalid-input error");
        };
        assert_eq!(field, "email_event_types");
        assert!(message.contains("\"certificate.expire\""), "{message}");
        assert!(message.contains("certificate.expiring"), "{message}");
        assert!(!message.contains("tenantlink.test"), "{message}");
    }
}
