//! The administrator's webhook endpoints: create (the signing secret is returned once, never
//! again), list, read, enable/disable, delete, send a test event, and the delivery log. Viewing
//! needs `View`; every change needs `ManageNotices` and is audited.

use super::dispatch::Attempted;
use super::event::{EventType, NewNotice, NoticeData, NoticeId};
use super::ports::{Delivery, DeliveryStatus, NewWebhookEndpoint, WebhookEndpoint, WebhookId};
use super::service::Notices;
use super::validate;
use crate::accounts::{Caller, Permission};
use crate::audit::{AuditAction, AuditOutcome};
use crate::error::{ServiceError, ServiceResult};
use crate::secret::SecretString;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Random bytes of a signing secret: 32, the HMAC-SHA256 block-size half and what the Standard
/// Webhooks reference libraries generate (24–64 are accepted by receivers).
pub const SECRET_BYTES: usize = 32;
/// The prefix Standard Webhooks secrets carry; the key is the base64 after it.
pub const SECRET_PREFIX: &str = "whsec_";
/// The most delivery-log entries one read returns.
pub const MAX_LOG_ENTRIES: u32 = 500;
/// How often "send a test event" looks again at a test delivery the dispatcher claimed first,
/// and how many times: 30 s in all, three times the webhook sender's timeout.
const SETTLED_POLL: std::time::Duration = std::time::Duration::from_millis(250);
const SETTLED_POLLS: u32 = 120;

/// A webhook endpoint as the administrator asks for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhook {
    pub url: String,
    pub description: String,
    /// `None` is refused; `Some(vec![])` explicitly receives nothing but test events.
    pub event_types: Option<Vec<EventType>>,
}

/// A created endpoint with its signing secret — the one time the secret is shown.
#[derive(Debug)]
pub struct WebhookCreated {
    pub endpoint: WebhookEndpoint,
    /// `whsec_` + base64 of [`SECRET_BYTES`] random bytes. Never returned again.
    pub secret: SecretString,
}

/// A new signing secret.
pub fn new_webhook_secret() -> SecretString {
    let mut bytes = zeroize::Zeroizing::new([0u8; SECRET_BYTES]);
    // The system RNG failing is not recoverable; aws-lc aborts in that case anyway.
    aws_lc_rs::rand::fill(bytes.as_mut()).expect("system random number generator");
    SecretString::new(format!(
        "{SECRET_PREFIX}{}",
        STANDARD.encode(bytes.as_ref())
    ))
}

fn types_text(types: &[EventType]) -> String {
    if types.is_empty() {
        "no event types".to_owned()
    } else {
        types
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

impl Notices {
    pub async fn create_webhook(
        &self,
        caller: &Caller,
        new: &NewWebhook,
    ) -> ServiceResult<WebhookCreated> {
        caller.require(Permission::ManageNotices)?;
        let url = validate::webhook_url(&new.url)?;
        let description = validate::description(&new.description)?;
        let event_types = validate::event_types("event_types", new.event_types.as_deref())?;
        let secret = new_webhook_secret();
        let endpoint = self
            .notices
            .create_webhook(
                &NewWebhookEndpoint {
                    url,
                    description,
                    event_types,
                    created_by: caller.name.clone(),
                },
                &secret,
                self.now(),
            )
            .await?;
        self.audit(
            caller,
            AuditAction::WebhookCreated,
            None,
            AuditOutcome::Success,
            format!(
                "webhook {} to {} for {}",
                endpoint.id,
                endpoint.url,
                types_text(&endpoint.event_types)
            ),
        )
        .await;
        Ok(WebhookCreated { endpoint, secret })
    }

    /// Oldest first.
    pub async fn webhooks(&self, caller: &Caller) -> ServiceResult<Vec<WebhookEndpoint>> {
        caller.require(Permission::View)?;
        Ok(self.notices.webhooks().await?)
    }

    pub async fn webhook(&self, caller: &Caller, id: WebhookId) -> ServiceResult<WebhookEndpoint> {
        caller.require(Permission::View)?;
        Ok(self.notices.webhook(id).await?)
    }

    /// Enables (which also clears a failing mark) or disables (which fails its pending
    /// deliveries) an endpoint. Setting what is already set changes and audits nothing.
    pub async fn set_webhook_enabled(
        &self,
        caller: &Caller,
        id: WebhookId,
        enabled: bool,
    ) -> ServiceResult<WebhookEndpoint> {
        caller.require(Permission::ManageNotices)?;
        let current = self.notices.webhook(id).await?;
        if current.enabled == enabled && (!enabled || current.failing_since.is_none()) {
            return Ok(current);
        }
        let changed = self
            .notices
            .set_webhook_enabled(id, enabled, self.now())
            .await?;
        let (action, what) = if enabled {
            (AuditAction::WebhookEnabled, "enabled")
        } else {
            (AuditAction::WebhookDisabled, "disabled")
        };
        self.audit(
            caller,
            action,
            None,
            AuditOutcome::Success,
            format!("webhook {id} to {} {what}", changed.url),
        )
        .await;
        Ok(changed)
    }

    /// Deletes an endpoint: its pending deliveries fail; its log stays readable.
    pub async fn delete_webhook(&self, caller: &Caller, id: WebhookId) -> ServiceResult<()> {
        caller.require(Permission::ManageNotices)?;
        let endpoint = self.notices.webhook(id).await?;
        self.notices.delete_webhook(id).await?;
        self.audit(
            caller,
            AuditAction::WebhookDeleted,
            None,
            AuditOutcome::Success,
            format!("webhook {id} to {}", endpoint.url),
        )
        .await;
        Ok(())
    }

    /// "Send a test event": records a `tenantlink.test` notice for this endpoint only and
    /// delivers it at once (one attempt; whatever the endpoint's subscriptions, also while it
    /// is marked failing — a success clears the mark). A failed test is given up at once and
    /// counts like any give-up toward [`super::FAILING_AFTER`]. Returns the delivery as
    /// recorded: its status, the endpoint's status code, the error.
    pub async fn send_test_event(&self, caller: &Caller, id: WebhookId) -> ServiceResult<Delivery> {
        caller.require(Permission::ManageNotices)?;
        let endpoint = self.notices.webhook(id).await?;
        if !endpoint.enabled {
            return Err(ServiceError::Conflict {
                detail: format!(
                    "the webhook to {} is disabled; enable it before sending a test event",
                    endpoint.url
                ),
            });
        }
        let now = self.now();
        let notice = NewNotice {
            occurrence: format!("tenantlink.test:{}", uuid::Uuid::new_v4()),
            event_type: EventType::Test,
            organization: None,
            occurred_at: now,
            data: NoticeData {
                organization: None,
                certificate: None,
                threshold_days: None,
                days_left: None,
                reason: "A test event sent from tenantlink to check this endpoint.".to_owned(),
                what_to_do: None,
                link: self.links.notice_settings(),
            },
            only_webhook: Some(id),
        };
        let recorded = self
            .notices
            .record_notice(&notice)
            .await?
            .ok_or_else(|| ServiceError::Internal("the test notice was not recorded".into()))?;
        let delivery = self.test_delivery(id, recorded.id).await?;
        let delivery = match self.attempt(delivery).await {
            Attempted::Recorded(delivery) => *delivery,
            // The dispatcher's pass found the new delivery due and claimed it first: its one
            // attempt is the test (a test event is given up at once), so wait for its outcome.
            Attempted::ClaimedElsewhere => self.settled_test_delivery(id, recorded.id).await?,
            Attempted::Failed => {
                return Err(ServiceError::Internal(
                    "the test event could not be sent; the service log has the cause".into(),
                ));
            }
        };
        let (outcome, detail) = match delivery.status {
            DeliveryStatus::Delivered => (
                AuditOutcome::Success,
                format!(
                    "webhook {id} to {} answered {}",
                    endpoint.url,
                    delivery.last_status_code.unwrap_or_default()
                ),
            ),
            _ => (
                AuditOutcome::Failure,
                format!(
                    "webhook {id} to {}: {}",
                    endpoint.url,
                    delivery.last_error.as_deref().unwrap_or("failed")
                ),
            ),
        };
        self.audit(caller, AuditAction::WebhookTested, None, outcome, detail)
            .await;
        Ok(delivery)
    }

    /// The delivery of the test notice `notice` to the endpoint `id`.
    async fn test_delivery(&self, id: WebhookId, notice: NoticeId) -> ServiceResult<Delivery> {
        self.notices
            .deliveries(Some(id), MAX_LOG_ENTRIES)
            .await?
            .into_iter()
            .find(|d| d.notice.id == notice)
            .ok_or_else(|| {
                ServiceError::Internal(format!(
                    "the test notice {notice} has no delivery to the webhook {id}"
                ))
            })
    }

    /// The test delivery once the dispatcher's attempt at it is recorded, read again every
    /// [`SETTLED_POLL`] on the injected sleeper; given up after [`SETTLED_POLLS`] reads, which
    /// outlast a sender's timeout.
    async fn settled_test_delivery(
        &self,
        id: WebhookId,
        notice: NoticeId,
    ) -> ServiceResult<Delivery> {
        for _ in 0..SETTLED_POLLS {
            self.sleeper.sleep(SETTLED_POLL).await;
            let delivery = self.test_delivery(id, notice).await?;
            if delivery.status != DeliveryStatus::Pending {
                return Ok(delivery);
            }
        }
        Err(ServiceError::Internal(format!(
            "the test event to the webhook {id} was being sent by another pass, whose outcome was not recorded in time; see its delivery log"
        )))
    }

    /// The delivery log, newest first; `webhook` narrows to one endpoint.
    pub async fn deliveries(
        &self,
        caller: &Caller,
        webhook: Option<WebhookId>,
        limit: u32,
    ) -> ServiceResult<Vec<Delivery>> {
        caller.require(Permission::View)?;
        if let Some(id) = webhook {
            // A NotFound for an unknown endpoint, rather than an empty log.
            self.notices.webhook(id).await?;
        }
        let limit = limit.clamp(1, MAX_LOG_ENTRIES);
        Ok(self.notices.deliveries(webhook, limit).await?)
    }
}
