//! Notices: nobody is surprised by an expiring certificate or a failed rotation. Events are
//! recorded once per occurrence in a durable outbox ([`NoticeRepository`]) and delivered through
//! webhooks (Standard Webhooks) and e-mail ([`NoticeSender`]) with retries.
//!
//! - [`event`]: the event types and their payload,
//! - [`ports`]: the outbox and the senders,
//! - [`watch`]: what the fleet's certificates call for (expiring, expired, not attached),
//! - [`emit`]: what a point of change says (rotation, connection, backup), recorded through
//!   [`NoticeRecorder`] by the workflows and the backup runner,
//! - [`dispatch`] with [`backoff`]: delivery with retries; [`render`]: the messages,
//! - [`Notices`] (`service`, `webhooks`, `settings`): the administrator's API and the loops.

mod backoff;
pub mod dispatch;
pub mod emit;
pub mod event;
mod links;
mod payload;
pub mod ports;
mod recorder;
pub mod render;
mod service;
mod settings;
pub mod validate;
pub mod watch;
mod webhooks;

pub use backoff::{MAX_ATTEMPTS, RETRY_SCHEDULE, after_failure};
pub use dispatch::{BATCH, CLAIM_FOR, DispatchReport};
pub use emit::BackupCredentialFailure;
pub use links::PortalLinks;
pub use payload::{days_left, moment_text};
pub use recorder::NoticeRecorder;
pub use service::{
    DEFAULT_DISPATCH_EVERY, DEFAULT_WATCH_EVERY, Notices, NoticesConfig, WatchReport,
};
pub use settings::MAX_NOTICES;
pub use webhooks::{
    MAX_LOG_ENTRIES, NewWebhook, SECRET_BYTES, SECRET_PREFIX, WebhookCreated, new_webhook_secret,
};

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

fn lock<T>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
