//! [`NoticeRepository`] of the in-memory repository: notices, deliveries and endpoints in the
//! one mutex, so recording a notice with its deliveries and claiming a delivery are atomic, as
//! the SQL store's transaction and single-statement claim are.

use super::{MemoryRepository, MemoryState};
use crate::fakes::{lock, ready};
use crate::model::OrganizationId;
use crate::notices::ports::plan_deliveries;
use crate::notices::{
    AttemptNext, AttemptRecord, Delivery, DeliveryChannel, DeliveryId, DeliveryStatus, NewNotice,
    NewWebhookEndpoint, Notice, NoticeId, NoticeRepository, NoticeSettings, WebhookEndpoint,
    WebhookId,
};
use crate::ports::{BoxFuture, RepoResult, RepositoryError};
use crate::secret::SecretString;
use std::collections::HashMap;
use time::OffsetDateTime;

/// The notices' part of the state. Vectors keep creation order, which "newest first" reverses.
#[derive(Debug, Default)]
pub(super) struct NoticeState {
    notices: Vec<Notice>,
    deliveries: Vec<StoredDelivery>,
    /// Deleted endpoints stay (flagged) so their delivery log keeps its endpoint.
    webhooks: Vec<StoredWebhook>,
    settings: Option<NoticeSettings>,
    recipients: HashMap<OrganizationId, Vec<String>>,
    /// Set by [`MemoryRepository::refuse_next_delivery_claim_of`]: a holder whose next claim is
    /// refused as if another holder had claimed the delivery a moment before.
    refuse_next_claim_of: Option<String>,
}

#[derive(Debug)]
struct StoredWebhook {
    endpoint: WebhookEndpoint,
    secret: Option<SecretString>,
    deleted: bool,
}

#[derive(Debug)]
struct StoredDelivery {
    delivery: Delivery,
    /// (holder, until)
    claim: Option<(String, OffsetDateTime)>,
}

impl NoticeState {
    fn live_webhook(&mut self, id: WebhookId) -> RepoResult<&mut StoredWebhook> {
        self.webhooks
            .iter_mut()
            .find(|w| w.endpoint.id == id && !w.deleted)
            .ok_or_else(|| RepositoryError::not_found(format!("webhook endpoint {id}")))
    }

    /// Fails the endpoint's pending deliveries (it was disabled or deleted).
    fn fail_pending_of(&mut self, id: WebhookId, why: &str) {
        for stored in &mut self.deliveries {
            let d = &mut stored.delivery;
            if d.webhook == Some(id) && d.status == DeliveryStatus::Pending {
                d.status = DeliveryStatus::Failed;
                d.last_error = Some(why.to_owned());
                stored.claim = None;
            }
        }
    }
}

fn known_organization(state: &MemoryState, id: OrganizationId) -> RepoResult<()> {
    if state.organizations.iter().any(|o| o.id == id) {
        Ok(())
    } else {
        Err(RepositoryError::not_found(format!("organization {id}")))
    }
}

fn record_locked(state: &mut MemoryState, new: &NewNotice) -> RepoResult<Option<Notice>> {
    if let Some(org) = new.organization {
        known_organization(state, org)?;
    }
    let notices = &mut state.notices;
    if notices
        .notices
        .iter()
        .any(|n| n.occurrence == new.occurrence)
    {
        return Ok(None);
    }
    let endpoints: Vec<WebhookEndpoint> = notices
        .webhooks
        .iter()
        .filter(|w| !w.deleted)
        .map(|w| w.endpoint.clone())
        .collect();
    let settings = notices.settings.clone().unwrap_or_default();
    let own = new
        .organization
        .and_then(|org| notices.recipients.get(&org).cloned())
        .unwrap_or_default();
    let planned = plan_deliveries(new, &endpoints, &settings, &own)?;
    let notice = Notice {
        id: NoticeId::new(),
        occurrence: new.occurrence.clone(),
        event_type: new.event_type,
        organization: new.organization,
        occurred_at: new.occurred_at,
        data: new.data.clone(),
    };
    notices.notices.push(notice.clone());
    for plan in planned {
        notices.deliveries.push(StoredDelivery {
            delivery: Delivery {
                id: DeliveryId::new(),
                notice: notice.clone(),
                channel: plan.channel,
                webhook: plan.webhook,
                recipients: plan.recipients,
                status: DeliveryStatus::Pending,
                attempts: 0,
                next_attempt_at: plan.due_at,
                last_attempt_at: None,
                last_status_code: None,
                last_error: None,
                delivered_at: None,
            },
            claim: None,
        });
    }
    Ok(Some(notice))
}

impl MemoryRepository {
    /// The next delivery claim by `holder` is refused, as when another instance's dispatcher
    /// claimed that delivery a moment before (the race of two processes, made deterministic;
    /// the delivery itself stays unclaimed, for that other dispatcher's pass to take).
    pub fn refuse_next_delivery_claim_of(&self, holder: &str) {
        lock(&self.state).notices.refuse_next_claim_of = Some(holder.to_owned());
    }
}

fn attempt_locked(
    notices: &mut NoticeState,
    id: DeliveryId,
    attempt: &AttemptRecord,
    failing_after: u32,
) -> RepoResult<Delivery> {
    let stored = notices
        .deliveries
        .iter_mut()
        .find(|d| d.delivery.id == id)
        .ok_or_else(|| RepositoryError::not_found(format!("delivery {id}")))?;
    stored.claim = None;
    let d = &mut stored.delivery;
    let was_pending = d.status == DeliveryStatus::Pending;
    d.attempts += 1;
    d.last_attempt_at = Some(attempt.at);
    d.last_status_code = attempt.status_code;
    d.last_error.clone_from(&attempt.error);
    match attempt.next {
        AttemptNext::Delivered => {
            d.status = DeliveryStatus::Delivered;
            d.delivered_at = Some(attempt.at);
        }
        // A delivery failed meanwhile (its endpoint was disabled or deleted) stays failed.
        AttemptNext::RetryAt(at) if was_pending => d.next_attempt_at = at,
        AttemptNext::RetryAt(_) => {}
        AttemptNext::GiveUp => d.status = DeliveryStatus::Failed,
    }
    let delivery = d.clone();
    if let (DeliveryChannel::Webhook, Some(webhook)) = (delivery.channel, delivery.webhook)
        && let Some(w) = notices
            .webhooks
            .iter_mut()
            .find(|w| w.endpoint.id == webhook)
    {
        let endpoint = &mut w.endpoint;
        match attempt.next {
            AttemptNext::Delivered => {
                endpoint.consecutive_failures = 0;
                endpoint.failing_since = None;
            }
            AttemptNext::GiveUp => {
                endpoint.consecutive_failures += 1;
                if endpoint.consecutive_failures >= failing_after {
                    endpoint.failing_since.get_or_insert(attempt.at);
                }
            }
            AttemptNext::RetryAt(_) => {}
        }
    }
    Ok(delivery)
}

impl NoticeRepository for MemoryRepository {
    fn record_notice<'a>(
        &'a self,
        notice: &'a NewNotice,
    ) -> BoxFuture<'a, RepoResult<Option<Notice>>> {
        let mut state = lock(&self.state);
        ready(record_locked(&mut state, notice))
    }

    fn notice(&self, id: NoticeId) -> BoxFuture<'_, RepoResult<Notice>> {
        let found = lock(&self.state)
            .notices
            .notices
            .iter()
            .find(|n| n.id == id)
            .cloned()
            .ok_or_else(|| RepositoryError::not_found(format!("notice {id}")));
        ready(found)
    }

    fn notices(
        &self,
        organization: Option<OrganizationId>,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Notice>>> {
        let state = lock(&self.state);
        let mut list: Vec<(usize, &Notice)> = state
            .notices
            .notices
            .iter()
            .enumerate()
            .filter(|(_, n)| organization.is_none() || n.organization == organization)
            .collect();
        list.sort_by(|(ia, a), (ib, b)| (b.occurred_at, ib).cmp(&(a.occurred_at, ia)));
        ready(Ok(list
            .into_iter()
            .take(limit as usize)
            .map(|(_, n)| n.clone())
            .collect()))
    }

    fn create_webhook<'a>(
        &'a self,
        new: &'a NewWebhookEndpoint,
        secret: &'a SecretString,
        now: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<WebhookEndpoint>> {
        let endpoint = WebhookEndpoint {
            id: WebhookId::new(),
            url: new.url.clone(),
            description: new.description.clone(),
            event_types: new.event_types.clone(),
            enabled: true,
            failing_since: None,
            consecutive_failures: 0,
            created_by: new.created_by.clone(),
            created_at: now,
        };
        lock(&self.state).notices.webhooks.push(StoredWebhook {
            endpoint: endpoint.clone(),
            secret: Some(secret.clone()),
            deleted: false,
        });
        ready(Ok(endpoint))
    }

    fn webhooks(&self) -> BoxFuture<'_, RepoResult<Vec<WebhookEndpoint>>> {
        let mut list: Vec<WebhookEndpoint> = lock(&self.state)
            .notices
            .webhooks
            .iter()
            .filter(|w| !w.deleted)
            .map(|w| w.endpoint.clone())
            .collect();
        list.sort_by_key(|w| (w.created_at, w.id));
        ready(Ok(list))
    }

    fn webhook(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<WebhookEndpoint>> {
        let mut state = lock(&self.state);
        ready(state.notices.live_webhook(id).map(|w| w.endpoint.clone()))
    }

    fn webhook_secret(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<SecretString>> {
        let mut state = lock(&self.state);
        let found = state.notices.live_webhook(id).and_then(|w| {
            w.secret
                .clone()
                .ok_or_else(|| RepositoryError::not_found(format!("webhook endpoint {id}")))
        });
        ready(found)
    }

    fn set_webhook_enabled(
        &self,
        id: WebhookId,
        enabled: bool,
        _now: OffsetDateTime,
    ) -> BoxFuture<'_, RepoResult<WebhookEndpoint>> {
        let mut state = lock(&self.state);
        let notices = &mut state.notices;
        let changed = match notices.live_webhook(id) {
            Ok(w) => {
                w.endpoint.enabled = enabled;
                if enabled {
                    w.endpoint.failing_since = None;
                    w.endpoint.consecutive_failures = 0;
                }
                w.endpoint.clone()
            }
            Err(err) => return ready(Err(err)),
        };
        if !enabled {
            notices.fail_pending_of(id, "the endpoint was disabled");
        }
        ready(Ok(changed))
    }

    fn delete_webhook(&self, id: WebhookId) -> BoxFuture<'_, RepoResult<()>> {
        let mut state = lock(&self.state);
        let notices = &mut state.notices;
        match notices.live_webhook(id) {
            Ok(w) => {
                w.deleted = true;
                w.secret = None;
            }
            Err(err) => return ready(Err(err)),
        }
        notices.fail_pending_of(id, "the endpoint was deleted");
        ready(Ok(()))
    }

    fn due_deliveries(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Delivery>>> {
        let state = lock(&self.state);
        let mut due: Vec<&Delivery> = state
            .notices
            .deliveries
            .iter()
            .filter(|d| {
                d.delivery.status == DeliveryStatus::Pending
                    && d.delivery.next_attempt_at <= now
                    && d.claim.as_ref().is_none_or(|(_, until)| *until < now)
            })
            .map(|d| &d.delivery)
            .collect();
        due.sort_by_key(|d| d.next_attempt_at);
        ready(Ok(due.into_iter().take(limit as usize).cloned().collect()))
    }

    fn claim_delivery<'a>(
        &'a self,
        id: DeliveryId,
        holder: &'a str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<bool>> {
        let mut state = lock(&self.state);
        if state.notices.refuse_next_claim_of.as_deref() == Some(holder) {
            state.notices.refuse_next_claim_of = None;
            return ready(Ok(false));
        }
        let Some(stored) = state
            .notices
            .deliveries
            .iter_mut()
            .find(|d| d.delivery.id == id)
        else {
            return ready(Err(RepositoryError::not_found(format!("delivery {id}"))));
        };
        let free = stored.delivery.status == DeliveryStatus::Pending
            && stored
                .claim
                .as_ref()
                .is_none_or(|(current, expires)| current == holder || *expires < now);
        if free {
            stored.claim = Some((holder.to_owned(), until));
        }
        ready(Ok(free))
    }

    fn record_attempt<'a>(
        &'a self,
        id: DeliveryId,
        attempt: &'a AttemptRecord,
        failing_after: u32,
    ) -> BoxFuture<'a, RepoResult<Delivery>> {
        let mut state = lock(&self.state);
        ready(attempt_locked(
            &mut state.notices,
            id,
            attempt,
            failing_after,
        ))
    }

    fn deliveries(
        &self,
        webhook: Option<WebhookId>,
        limit: u32,
    ) -> BoxFuture<'_, RepoResult<Vec<Delivery>>> {
        let list = lock(&self.state)
            .notices
            .deliveries
            .iter()
            .rev()
            .map(|d| &d.delivery)
            .filter(|d| webhook.is_none() || d.webhook == webhook)
            .take(limit as usize)
            .cloned()
            .collect();
        ready(Ok(list))
    }

    fn notice_settings(&self) -> BoxFuture<'_, RepoResult<NoticeSettings>> {
        ready(Ok(lock(&self.state)
            .notices
            .settings
            .clone()
            .unwrap_or_default()))
    }

    fn set_notice_settings<'a>(
        &'a self,
        settings: &'a NoticeSettings,
        _at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        lock(&self.state).notices.settings = Some(settings.clone());
        ready(Ok(()))
    }

    fn organization_recipients(
        &self,
        organization: OrganizationId,
    ) -> BoxFuture<'_, RepoResult<Vec<String>>> {
        let state = lock(&self.state);
        let found = known_organization(&state, organization).map(|()| {
            state
                .notices
                .recipients
                .get(&organization)
                .cloned()
                .unwrap_or_default()
        });
        ready(found)
    }

    fn set_organization_recipients<'a>(
        &'a self,
        organization: OrganizationId,
        recipients: &'a [String],
        _at: OffsetDateTime,
    ) -> BoxFuture<'a, RepoResult<()>> {
        let mut state = lock(&self.state);
        let result = known_organization(&state, organization).map(|()| {
            state
                .notices
                .recipients
                .insert(organization, recipients.to_vec());
        });
        ready(result)
    }
}
