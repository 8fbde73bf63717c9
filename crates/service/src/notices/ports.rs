//! The notices' two outside worlds: where notices, endpoints and deliveries are kept (a durable
//! outbox: recorded in one transaction with their deliveries, so nothing is lost on a crash and
//! nothing is sent twice after a restart) and how a message leaves (webhook, SMTP).

use super::event::{EventType, NewNotice, Notice, NoticeId};
use crate::model::{OrganizationId, parse_as_str};
use crate::ports::{BoxFuture, RepoResult};
use crate::secret::SecretString;

use time::OffsetDateTime;

crate::model::model_id!(
    /// One webhook endpoint.
    WebhookId
);
crate::model::model_id!(
    /// One delivery of one notice through one channel.
    DeliveryId
);

/// A webhook endpoint as stored (never its secret).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: WebhookId,
    /// HTTPS, or HTTP on a loopback address only (checked by the service before it is stored).
    pub url: String,
    pub description: String,
    /// The event types it receives; empty means none (a test event is sent regardless).
    pub event_types: Vec<EventType>,
    pub enabled: bool,
    /// Set when deliveries kept failing ([`super::FAILING_AFTER`] given up in a row): no new
    /// deliveries until an administrator enables it again or a test event succeeds.
    pub failing_since: Option<OffsetDateTime>,
    /// Deliveries given up in a row (reset by a success).
    pub consecutive_failures: u32,
    pub created_by: String,
    pub created_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookEndpoint {
    pub url: String,
    pub description: String,
    pub event_types: Vec<EventType>,
    pub created_by: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryChannel {
    Webhook,
    Email,
}

impl DeliveryChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Email => "email",
        }
    }
}

parse_as_str!(DeliveryChannel { Webhook, Email });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Waiting for its next attempt at `next_attempt_at`.
    Pending,
    Delivered,
    /// Given up after the last attempt of the schedule, or its endpoint was deleted/disabled.
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
        }
    }
}

parse_as_str!(DeliveryStatus {
    Pending,
    Delivered,
    Failed
});

/// One delivery: a notice through one channel (one webhook endpoint, or e-mail to a list of
/// recipients fixed when the notice was recorded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: DeliveryId,
    pub notice: Notice,
    pub channel: DeliveryChannel,
    /// For a webhook delivery.
    pub webhook: Option<WebhookId>,
    /// For an e-mail delivery.
    pub recipients: Vec<String>,
    pub status: DeliveryStatus,
    pub attempts: u32,
    pub next_attempt_at: OffsetDateTime,
    pub last_attempt_at: Option<OffsetDateTime>,
    /// The HTTP status of the last webhook attempt, when the endpoint answered.
    pub last_status_code: Option<u16>,
    /// Why the last attempt failed, in a sentence (never a secret).
    pub last_error: Option<String>,
    pub delivered_at: Option<OffsetDateTime>,
}

/// The outcome of one attempt, as the dispatcher decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    pub at: OffsetDateTime,
    pub status_code: Option<u16>,
    pub error: Option<String>,
    pub next: AttemptNext,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptNext {
    Delivered,
    RetryAt(OffsetDateTime),
    GiveUp,
}

/// How e-mail notices are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmailMode {
    /// One message per notice, at once.
    #[default]
    Immediate,
    /// One message a day per recipient list, at [`NoticeSettings::digest_hour_utc`].
    DailyDigest,
}

impl EmailMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Immediate => "immediate",
            Self::DailyDigest => "daily_digest",
        }
    }
}

parse_as_str!(EmailMode {
    Immediate,
    DailyDigest
});

/// Instance-wide notice settings (validated by the service before they are stored).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeSettings {
    /// Days before a certificate's end at which `certificate.expiring` is sent, descending.
    pub expiry_thresholds_days: Vec<u32>,
    /// Who gets e-mail for an organization without its own recipients.
    pub default_recipients: Vec<String>,
    pub email_mode: EmailMode,
    pub digest_hour_utc: u8,
    /// The event types e-mail is sent for.
    pub email_event_types: Vec<EventType>,
}

/// Notices, webhook endpoints, deliveries and notice settings. Kept by the same database as the
/// rest; held to one contract suite (`fakes::notices_contract`) on the memory fake, SQLite and
/// PostgreSQL.
pub trait NoticeRepository: Send + Sync + std::fmt::Debug + 'static {
    /// Records the notice unless its `occurrence` was recorded before (then `None`, nothing
    /// changes). In the same transaction, creates its deliveries, due at `occurred_at`: one per
    /// enabled, not failing webhook endpoint subscribed to its type (or only `only_webhook`,
    /// whatever its subscriptions), and one e-mail delivery when the type is in the e-mail event
    /// types and the organization's recipients (else the default ones) are not empty — unless
    /// `only_webhook` is set. In daily-digest mode the e-mail delivery is due at the next digest
    /// hour instead.
    fn record_notice<'a>(
        &'a self,
        notice: &'a NewNotice,
    ) -> BoxFuture<'a, RepoResult<Option<Notice>>>;
    fn notice(&self, id: NoticeId) -> BoxFuture<'_, RepoResult<Notice>>;
    /// Newest first; `organization` narrows to one.
    fn notices(
        &self,
        organization: Option<OrganizationId>,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Notice>>>;

    /// Stores a new endpoint with its signing secret (encrypted at rest by the implementation).
    fn create_webhook<'a>(
        &'a self,
        new: &'a NewWebhookEndpoint,
        secret: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<WebhookEndpoint>>;
    /// Oldest first.
    fn webhooks(&self) -> BoxFuture<'_, RepoResult<Vec<WebhookEndpoint>>>;
    fn webhook(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<WebhookEndpoint>>;
    /// The decrypted signing secret, to sign a delivery.
    fn webhook_secret(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<SecretString>>;
    /// Enables or disables it. Enabling also clears `failing_since` and the failure count;
    /// disabling fails its pending deliveries. Returns it changed.
    fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<WebhookEndpoint>>;
    /// Deletes it; its pending deliveries fail, its delivery log stays readable.
    fn delete_webhook(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<()>>;

    /// Pending deliveries due at `now` whose claim is free or expired, oldest due first.
    fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Delivery>>>;
    /// Claims a pending delivery for `holder` until `until`; `false` when another holder's
    /// claim runs or it is no longer pending. Atomic, so of several instances one sends it.
    fn claim_delivery<'a>(
        &'a self,
        id: DeliveryId,
        holder: &'a str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>>;
    /// Records one attempt (counts it, sets status/next attempt, frees the claim). For a
    /// webhook delivery it also updates the endpoint: a delivery resets its failure count and
    /// `failing_since`; a give-up adds one, and sets `failing_since` when the count reaches
    /// `failing_after`.
    fn record_attempt<'a>(
        &'a self,
        id: DeliveryId,
        attempt: &'a AttemptRecord,
        failing_after: u32,
    ) -> BoxFuture<'a, RepoResult<Delivery>>;
    /// Newest first; `webhook` narrows to one endpoint's log.
    fn deliveries(
        &self,
        webhook: Option<WebhookId>,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Delivery>>>;

    /// The defaults until first set.
    fn notice_settings(&self) -> BoxFuture<'_, RepoResult<NoticeSettings>>;
    fn set_notice_settings<'a>(
        &'a self,
        settings: &'a NoticeSettings,
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>>;
    /// The organization's own e-mail recipients (empty: the default ones apply).
    fn organization_recipients(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<String>>>;
    fn set_organization_recipients<'a>(
        &'a self,
        organization: OrganizationId,
        recipients: &'a [String],
        at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>>;
}

/// One signed-to-be webhook request: the adapter signs `id.timestamp.body` (Standard Webhooks).
#[derive(Debug, Clone)]
pub struct WebhookMessage {
    /// `webhook-id`: the notice id, the same on every retry.
    pub id: String,
    /// `webhook-timestamp`: the attempt's time.
    pub timestamp: OffsetDateTime,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct EmailMessage {
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Why a message did not leave or was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SendError {
    /// The receiver's HTTP status, when it answered (a non-2xx answer is an error too).
    pub status_code: Option<u16>,
    /// In a sentence, for the delivery log (never a secret).
    pub message: String,
}

/// How notices leave: one implementation per channel in `tenantlink-notify`; a recording fake in
/// tests. It sends; whether and when to try again is the dispatcher's decision.
pub trait NoticeSender: Send + Sync + std::fmt::Debug + 'static {
    /// POSTs the message to `url`, signed with `secret`; `Ok(status)` for a 2xx answer.
    fn send_webhook<'a>(
        &'a self,
        url: &'a str,
        secret: &'a SecretString,
        message: &'a WebhookMessage,
    ) -> BoxFuture<'a, Result<u16, SendError>>;
    /// `Err` when no SMTP server is configured, too.
    fn send_email<'a>(&'a self, message: &'a EmailMessage) -> BoxFuture<'a, Result<(), SendError>>;
}

impl Default for NoticeSettings {
    /// What an instance starts with: the default thresholds, no default recipients, one
    /// message per notice at once (digest at 08:00 UTC when switched on), e-mail for every
    /// event type but the test event (which goes to one webhook only).
    fn default() -> Self {
        Self {
            expiry_thresholds_days: super::DEFAULT_EXPIRY_THRESHOLDS_DAYS.to_vec(),
            default_recipients: Vec::new(),
            email_mode: EmailMode::Immediate,
            digest_hour_utc: 8,
            email_event_types: EventType::ALL
                .iter()
                .copied()
                .filter(|t| *t != EventType::Test)
                .collect(),
        }
    }
}

impl NoticeSettings {
    /// When an e-mail delivery of a notice that occurred at `occurred_at` is due: at once, or
    /// in daily-digest mode at the first digest hour (`HH:00:00` UTC) at or after it.
    pub fn email_due_at(&self, occurred_at: OffsetDateTime) -> OffsetDateTime {
        match self.email_mode {
            EmailMode::Immediate => occurred_at,
            EmailMode::DailyDigest => {
                let utc = occurred_at.to_offset(time::UtcOffset::UTC);
                let hour = time::Time::from_hms(self.digest_hour_utc.min(23), 0, 0)
                    .unwrap_or(time::Time::MIDNIGHT);
                let today = utc.replace_time(hour);
                if today >= utc {
                    today
                } else {
                    today + time::Duration::days(1)
                }
            }
        }
    }
}

/// A delivery a notice gets when it is recorded (see [`NoticeRepository::record_notice`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub channel: DeliveryChannel,
    pub webhook: Option<WebhookId>,
    pub recipients: Vec<String>,
    pub due_at: OffsetDateTime,
}

/// The fan-out rule of [`NoticeRepository::record_notice`], so every implementation applies the
/// same one: `endpoints` are the existing (not deleted) ones, `organization_recipients` the
/// notice's organization's own. `NotFound` when `only_webhook` names no existing endpoint.
pub fn plan_deliveries(
    notice: &NewNotice,
    endpoints: &[WebhookEndpoint],
    settings: &NoticeSettings,
    organization_recipients: &[String],
) -> RepoResult<Vec<PlannedDelivery>> {
    let webhook = |id: WebhookId| PlannedDelivery {
        channel: DeliveryChannel::Webhook,
        webhook: Some(id),
        recipients: Vec::new(),
        due_at: notice.occurred_at,
    };
    if let Some(only) = notice.only_webhook {
        // The test event: to that endpoint whatever its subscriptions or state, so a failing
        // endpoint can be tried (a success clears its failing mark).
        return match endpoints.iter().find(|e| e.id == only) {
            Some(endpoint) => Ok(vec![webhook(endpoint.id)]),
            None => Err(crate::ports::RepositoryError::not_found(format!(
                "webhook endpoint {only}"
            ))),
        };
    }
    let mut planned: Vec<PlannedDelivery> = endpoints
        .iter()
        .filter(|e| e.enabled && e.failing_since.is_none())
        .filter(|e| e.event_types.contains(&notice.event_type))
        .map(|e| webhook(e.id))
        .collect();
    let recipients = if organization_recipients.is_empty() {
        &settings.default_recipients
    } else {
        organization_recipients
    };
    if settings.email_event_types.contains(&notice.event_type) && !recipients.is_empty() {
        planned.push(PlannedDelivery {
            channel: DeliveryChannel::Email,
            webhook: None,
            recipients: recipients.to_vec(),
            due_at: settings.email_due_at(notice.occurred_at),
        });
    }
    Ok(planned)
}
