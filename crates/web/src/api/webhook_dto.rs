//! JSON shapes of webhook endpoints and their delivery log. The signing secret appears only in
//! [`WebhookCreatedDto`], the answer to the creation; delivery bodies are never returned.

use super::event_dto::{EventTypeName, type_names};
use serde::{Deserialize, Serialize};
use tenantlink_service::notices::{Delivery, WebhookCreated, WebhookEndpoint};
use time::OffsetDateTime;
use utoipa::ToSchema;
use uuid::Uuid;

/// Unknown fields are refused: a misspelt `event_types` must not silently subscribe to every
/// event.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookRequest {
    /// `https://…`; plain `http://` only to a loopback receiver (`127.0.0.1`, `::1`,
    /// `localhost`). No user name or password in it.
    #[schema(example = "https://hooks.example.com/tenantlink")]
    pub url: String,
    /// One line, at most 200 characters.
    #[serde(default)]
    pub description: String,
    /// The event types to receive; absent or `null`: every type (except the test event, which
    /// "send a test event" delivers whatever is chosen); `[]`: none but test events.
    #[serde(default)]
    #[schema(value_type = Option<Vec<EventTypeName>>)]
    pub event_types: Option<Vec<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookDto {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    #[schema(value_type = Vec<EventTypeName>)]
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Set when deliveries kept failing: no new deliveries until it is enabled again or a test
    /// event succeeds.
    #[serde(with = "time::serde::rfc3339::option")]
    pub failing_since: Option<OffsetDateTime>,
    /// Deliveries given up in a row (reset by a success).
    pub consecutive_failures: u32,
    pub created_by: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl From<WebhookEndpoint> for WebhookDto {
    fn from(e: WebhookEndpoint) -> Self {
        Self {
            id: e.id.0,
            url: e.url,
            description: e.description,
            event_types: type_names(&e.event_types),
            enabled: e.enabled,
            failing_since: e.failing_since,
            consecutive_failures: e.consecutive_failures,
            created_by: e.created_by,
            created_at: e.created_at,
        }
    }
}

/// The created endpoint with its signing secret — shown this once, never again.
#[derive(Serialize, ToSchema)]
pub struct WebhookCreatedDto {
    #[serde(flatten)]
    pub endpoint: WebhookDto,
    /// `whsec_` + base64 of 32 random bytes; the HMAC key is the base64-decoded part.
    #[schema(example = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]
    pub secret: String,
}

impl std::fmt::Debug for WebhookCreatedDto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookCreatedDto")
            .field("endpoint", &self.endpoint)
            .finish_non_exhaustive()
    }
}

impl From<WebhookCreated> for WebhookCreatedDto {
    fn from(created: WebhookCreated) -> Self {
        Self {
            secret: created.secret.expose().to_owned(),
            endpoint: created.endpoint.into(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookListDto {
    /// Oldest first.
    pub webhooks: Vec<WebhookDto>,
}

/// One delivery of one notice through one channel (what was sent is not kept here: the notice
/// is at `/api/v1/notices`).
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryDto {
    pub id: Uuid,
    /// The notice, and the `webhook-id` header of every attempt.
    pub notice_id: Uuid,
    #[schema(value_type = EventTypeName)]
    pub event_type: String,
    pub organization_id: Option<Uuid>,
    /// `webhook` or `email`.
    #[schema(example = "webhook")]
    pub channel: String,
    pub webhook_id: Option<Uuid>,
    /// `pending` (waiting for `next_attempt_at`), `delivered` or `failed` (given up).
    #[schema(example = "delivered")]
    pub status: String,
    pub attempts: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_attempt_at: Option<OffsetDateTime>,
    /// The HTTP status of the last attempt, when the endpoint answered.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, in a sentence.
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
}

impl From<Delivery> for DeliveryDto {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id.0,
            notice_id: d.notice.id.0,
            event_type: d.notice.event_type.as_str().to_owned(),
            organization_id: d.notice.organization.map(|o| o.0),
            channel: d.channel.as_str().to_owned(),
            webhook_id: d.webhook.map(|w| w.0),
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_attempt_at: d.last_attempt_at,
            last_status_code: d.last_status_code,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryListDto {
    /// Newest first.
    pub deliveries: Vec<DeliveryDto>,
}
