//! Notices: nobody is surprised by an expiring certificate or a failed rotation. Events are
//! recorded once per occurrence in a durable outbox ([`NoticeRepository`]) and delivered through
//! webhooks (Standard Webhooks) and e-mail ([`NoticeSender`]) with retries.
//!
//! - [`event`]: the event types and their payload,
//! - [`ports`]: the outbox and the senders.

pub mod event;
pub mod ports;

pub use event::{
    EventType, NewNotice, Notice, NoticeCertificate, NoticeData, NoticeId, NoticeOrganization,
    WebhookBody,
};
pub use ports::{
    AttemptNext, AttemptRecord, Delivery, DeliveryChannel, DeliveryId, DeliveryStatus,
    EmailMessage, EmailMode, NewWebhookEndpoint, NoticeRepository, NoticeSender, NoticeSettings,
    SendError, WebhookEndpoint, WebhookId, WebhookMessage,
};

/// Deliveries given up in a row after which an endpoint is marked failing.
pub const FAILING_AFTER: u32 = 3;

/// The default `certificate.expiring` thresholds, days before the end.
pub const DEFAULT_EXPIRY_THRESHOLDS_DAYS: [u32; 4] = [30, 14, 7, 1];
